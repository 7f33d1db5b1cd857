package lualib_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestRecord rewrites testdata/*.txt from a redis-server it starts, when
// SHOAL_LUALIB_RECORD=1: every snippet runs there as EVAL "<prelude><snippet>" 0.
// The recordings in the repository came from redis-server 7.0.15; the test
// refuses another version.
func TestRecord(t *testing.T) {
	if os.Getenv("SHOAL_LUALIB_RECORD") != "1" {
		t.Skip("set SHOAL_LUALIB_RECORD=1 to re-record the golden files from redis-server")
	}
	bin := testutil.RequireTool(t, "redis-server")
	port := testutil.FreePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer c.Close()
	ctx := context.Background()
	// Poll until the server answers; it needs a moment to listen.
	var info string
	for i := 0; ; i++ {
		var err error
		if info, err = c.Info(ctx, "server").Result(); err == nil {
			break
		} else if i == 500 {
			t.Fatalf("redis-server did not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Contains(strings.Split(strings.ReplaceAll(info, "\r", ""), "\n"), "redis_version:7.0.15") {
		t.Fatalf("the recordings come from redis-server 7.0.15; this one says:\n%s", info)
	}
	for _, lib := range libraries {
		results := map[string]string{}
		for _, lc := range lib.cases {
			// SCRIPT FLUSH makes a new Lua interpreter, so that settings such
			// as cjson.encode_max_depth do not carry over, as in the test.
			if err := c.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			v, err := c.Eval(ctx, prelude+lc.script, nil).Result()
			if err != nil {
				t.Fatalf("%s %s: %v", lib.file, lc.name, err)
			}
			s, ok := v.(string)
			if !ok {
				t.Fatalf("%s %s: redis-server answered %T %v, not a string", lib.file, lc.name, v, v)
			}
			results[lc.name] = s
		}
		if err := writeGolden(lib.file, lib.cases, results); err != nil {
			t.Fatal(err)
		}
	}
}
