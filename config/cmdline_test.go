package config_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// TestCommandLineErrorsAsRedis gives Shoal and redis-server 7.0.15 the
// command lines Redis's introspection suite refuses, and compares what
// each reports below its banner: the line of the configuration text the
// options became, and the reason.
func TestCommandLineErrorsAsRedis(t *testing.T) {
	bin := testutil.RequireTool(t, "redis-server")
	for _, args := range [][]string{
		{"--port"},
		{"--port", "6380", "--loglevel"},
		{"--port", "6379", "6380"},
		{"--port", "--loglevel", "verbose"},
		{"--port", "--bla", "--loglevel", "verbose"},
		{"--logfile", "--my--log--file", "--loglevel", "--bla"},
		{"--shutdown-on-sigint"},
		{"--shutdown-on-sigint", "now force", "--shutdown-on-sigterm"},
		{"--replicaof", "127.0.0.1", "abc"},
		{"--replicaof", "--127.0.0.1", "abc"},
		{"--replicaof", "--127.0.0.1", "--abc"},
		{"--maxmemory", "a b"},
		{"--save", "1 2 3"},
		{"--port 7000", "--timeout 'x"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		if err == nil {
			t.Fatalf("redis-server %q started", args)
		}
		_, redis, ok := strings.Cut(stderr.String(), "***\n")
		if !ok {
			t.Fatalf("redis-server %q: %q", args, stderr.String())
		}
		// NB: Shoal takes Redis 7.2's loglevel nothing (it reports 7.2.4).
		redis = strings.Replace(redis, "debug, verbose, notice, warning\n", "debug, verbose, notice, warning, nothing\n", 1)
		_, err = config.Load(args)
		if err == nil {
			t.Errorf("Shoal took %q", args)
			continue
		}
		if got := err.Error() + "\n"; got != redis {
			t.Errorf("%q:\nShoal:\n%s\nredis-server:\n%s", args, got, redis)
		}
	}
}

// TestCommandLineOptionsAsRedis starts redis-server with the command
// lines Redis's suite accepts (a value after its name even when it starts
// with "--", a bare --save, name and value in one word, several values in
// one word) and compares what CONFIG GET shows with what Shoal read.
func TestCommandLineOptionsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	for _, args := range [][]string{
		{"--proc-title-template", "--my--title--template", "--loglevel", "verbose"},
		{"--proc-title-template --my--title--template", "--loglevel verbose"},
		{"--save", "--loglevel", "verbose"},
		{"--loglevel", "verbose", "--save"},
		{"--save", "", "--loglevel", "verbose"},
		{"--proc-title-template", "--save", "--save", "", "--loglevel", "verbose"},
		{"--maxmemory 700mb", "--maxmemory-policy volatile-lru"},
		{"--maxmemory '700mb'", "--maxmemory-policy 'volatile-lru'"},
		{"--shutdown-on-sigint", "nosave", "force", "now", "--shutdown-on-sigterm", "nosave force"},
		{"--save", "100 100", "--save", "60", "5"},
	} {
		r := testutil.StartRedisServer(t, t.TempDir(), args...)
		c := r.Client(t, 0)
		shoal, err := config.Load(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		for _, name := range []string{"proc-title-template", "loglevel", "save", "maxmemory", "maxmemory-policy", "shutdown-on-sigint", "shutdown-on-sigterm"} {
			want := c.ConfigGet(ctx, name).Val()[name]
			if name == "save" && !strings.Contains(strings.Join(args, " "), "--save") {
				continue // Shoal's default is save "", Redis's its three rules
			}
			if got := shoal.Value(name); got != want {
				t.Errorf("%q: %s %q, redis-server %q", args, name, got, want)
			}
		}
		r.Stop()
	}
}
