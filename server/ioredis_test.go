package server_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestIORedis runs testdata/ioredis/ioredis.js, a Node program on ioredis
// (the version package-lock.json pins), against a redis-server 7.0.15 and
// against Shoal, and compares what it prints step by step: strings,
// hashes, lists, sets, sorted sets, streams with consumer groups,
// pipelines, MULTI/EXEC and WATCH, Lua through defineCommand's EVALSHA
// with its EVAL fallback, scanStream, CLIENT SETNAME, pub/sub with
// keyspace events, and RESP2 invalidations on __redis__:invalidate.
func TestIORedis(t *testing.T) {
	dir, err := filepath.Abs("testdata/ioredis")
	if err != nil {
		t.Fatal(err)
	}
	node, modules := testutil.RequireNodeModules(t, dir)
	run := func(addr string) []string {
		host, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(node, filepath.Join(dir, "ioredis.js"), host, port)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ioredis against %s: %v\n%s\n%s", addr, err, out, stderr.String())
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	want := run(testutil.StartRedis(t))
	got := run(testutil.Start(t, nil).Addr())
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("step %d:\n  Shoal:        %s\n  redis-server: %s", i, g, w)
		}
	}
	if len(want) < 80 {
		t.Errorf("redis-server's run printed %d steps:\n%s", len(want), strings.Join(want, "\n"))
	}
}
