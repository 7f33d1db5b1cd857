package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestOOMScoreAdjAsRedis runs Shoal and redis-server 7.0.15 with the same
// oom-score-adj settings and reads each process's
// /proc/<pid>/oom_score_adj as its role and the directives change: the
// primary's score, a replica's, relative to the score it started with,
// and that score back when the directive is turned off.
func TestOOMScoreAdjAsRedis(t *testing.T) {
	redisBin := testutil.RequireTool(t, "redis-server")
	bin := buildShoal(t)
	gone := strconv.Itoa(testutil.FreePort(t)) // a primary that never answers
	run := func(name string, args ...string) []string {
		port := testutil.FreePort(t)
		dir := t.TempDir()
		args = append(args, "--port", strconv.Itoa(port), "--dir", dir, "--save", "",
			"--oom-score-adj", "absolute", "--oom-score-adj-values", "100 300 800")
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DisableIdentity: true})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for c.Ping(ctx).Err() != nil && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		score := func() string {
			b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "oom_score_adj"))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(b))
		}
		out := []string{"start " + score()}
		for _, step := range [][]any{
			{"REPLICAOF", "127.0.0.1", gone}, {"REPLICAOF", "NO", "ONE"},
			{"CONFIG", "SET", "oom-score-adj-values", "150 350 800"}, {"CONFIG", "SET", "oom-score-adj", "relative"},
			{"CONFIG", "SET", "oom-score-adj", "no"},
		} {
			err := c.Do(ctx, step...).Err()
			out = append(out, fmt.Sprintf("%v: %v %s", step, err, score()))
		}
		return out
	}
	want := run(redisBin)
	got := run(bin)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
