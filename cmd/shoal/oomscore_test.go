package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestOOMScoreAdjAsRedis runs Shoal and redis-server 7.0.15 with the same
// oom-score-adj settings and reads each process's
// /proc/<pid>/oom_score_adj as its role and the directives change: the
// primary's score, a replica's, relative to the score it started with,
// and that score back when the directive is turned off.
func TestOOMScoreAdjAsRedis(t *testing.T) {
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SHOAL_REQUIRE_TOOLS") == "1" {
			t.Fatal("redis-server is required (SHOAL_REQUIRE_TOOLS=1) but not installed")
		}
		t.Skip("redis-server is not installed; install Debian's redis-server to run this test")
	}
	bin := buildShoal(t)
	free := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	gone := strconv.Itoa(free()) // a primary that never answers
	run := func(name string, args ...string) []string {
		port := free()
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
