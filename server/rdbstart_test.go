package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// TestRDBLoadedAtStartAsRedis: a store without keys loads the dump.rdb
// its folder holds at start, as redis-server loads its RDB: the keys of
// every type, their digest and INFO's load counts equal redis-server's.
// A file the store loaded or wrote itself does not load again (a restart
// after FLUSHALL brings nothing back); another copied in does. A file
// that does not load stops the start, again at the next one, until it is
// gone.
func TestRDBLoadedAtStartAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	rdir := t.TempDir()
	rc := testutil.StartRedisServer(t, rdir, "--enable-debug-command", "yes").Client(t, 0)
	for _, cmd := range [][]any{
		{"DEBUG", "SET-ACTIVE-EXPIRE", "0"},
		{"SET", "s", "v"}, {"SET", "n", "12345"}, {"SET", "gone", "x", "PX", "1"},
		{"RPUSH", "l", "a", "b", "c"}, {"HSET", "h", "f", "1", "g", "2"},
		{"SADD", "set", "1", "2", "x"}, {"SADD", "ints", "1", "2", "3"},
		{"ZADD", "z", "1.5", "m", "2", "n"}, {"XADD", "x", "1-1", "f", "v"},
		{"SET", "ttl", "v", "EXAT", "4102444800"}, {"SELECT", "3"}, {"SET", "other", "db"},
		{"SAVE"},
	} {
		if err := rc.Do(ctx, cmd...).Err(); err != nil {
			t.Fatal(cmd, err)
		}
	}
	rdb, err := os.ReadFile(filepath.Join(rdir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	// What redis-server makes of the file at its start.
	loaded := t.TempDir()
	if err := os.WriteFile(filepath.Join(loaded, "dump.rdb"), rdb, 0o644); err != nil {
		t.Fatal(err)
	}
	r0 := testutil.StartRedisServer(t, loaded, "--enable-debug-command", "yes").Client(t, 0)
	want := r0.Do(ctx, "DEBUG", "DIGEST").String()

	cfg := testutil.Config(t)
	if err := os.WriteFile(filepath.Join(cfg.Dir, "dump.rdb"), rdb, 0o644); err != nil {
		t.Fatal(err)
	}
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	if got := c.Do(ctx, "DEBUG", "DIGEST").String(); got != want {
		t.Errorf("loaded at start: %s, redis-server had %s", got, want)
	}
	for _, f := range []string{"rdb_last_load_keys_loaded:", "rdb_last_load_keys_expired:"} {
		if g, w := infoLine(c.Info(ctx, "persistence").Val(), f), infoLine(r0.Info(ctx, "persistence").Val(), f); g != w || g == "" {
			t.Errorf("INFO %s%s, redis-server %s", f, g, w)
		}
	}
	c.FlushAll(ctx)
	s.Close()
	s = testutil.Start(t, cfg)
	c = testutil.Client(t, s, 2)
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Errorf("a restart loaded the file again: %d keys", n)
	}
	// A file the store wrote itself does not come back either.
	c.Set(ctx, "mine", "1", 0)
	c.Save(ctx)
	c.FlushAll(ctx)
	s.Close()
	s = testutil.Start(t, cfg)
	if n := testutil.Client(t, s, 2).DBSize(ctx).Val(); n != 0 {
		t.Errorf("a restart after SAVE and FLUSHALL loaded the saved file: %d keys", n)
	}
	s.Close()
	// Another file copied into the folder of a store without keys loads
	// at the next start, as redis-server would load it.
	if err := os.WriteFile(filepath.Join(cfg.Dir, "dump.rdb"), rdb, 0o644); err != nil {
		t.Fatal(err)
	}
	s = testutil.Start(t, cfg)
	if got := testutil.Client(t, s, 2).Do(ctx, "DEBUG", "DIGEST").String(); got != want {
		t.Errorf("a file copied in: %s, redis-server had %s", got, want)
	}
	s.Close()

	bad := testutil.Config(t)
	broken := append([]byte(nil), rdb...)
	broken[len(broken)/2] ^= 0xff
	if err := os.WriteFile(filepath.Join(bad.Dir, "dump.rdb"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		if _, err := server.New(bad, server.Options{Logger: quiet}); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("a start on a corrupt RDB: %v", err)
		}
	}
	os.Remove(filepath.Join(bad.Dir, "dump.rdb"))
	s = testutil.Start(t, bad)
	if n := testutil.Client(t, s, 2).DBSize(ctx).Val(); n != 0 {
		t.Errorf("after the corrupt file went: %d keys", n)
	}
}

func infoLine(info, field string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			return v
		}
	}
	return ""
}

// TestRDBEmptyKeysSkippedAsRedis: an RDB file holding collections of no
// elements (which an old Redis bug could write) loads with those keys
// left out, on Shoal as on redis-server 7.0.15, where a DUMP payload of
// one is refused.
func TestRDBEmptyKeysSkippedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	rdb := []byte("REDIS0010")
	for _, typ := range []byte{2, 3, 4} { // a set, a sorted set, a hash, each empty
		rdb = append(rdb, typ, 5, 'e', 'm', 'p', 't', typ+'0', 0)
	}
	rdb = append(rdb, 0, 1, 'k', 1, 'v', 0xff, 0, 0, 0, 0, 0, 0, 0, 0) // k = "v", EOF, no checksum
	var got []string
	for _, start := range []func(dir string) func(args ...any) *redis.Cmd{
		func(dir string) func(args ...any) *redis.Cmd {
			cfg := testutil.Config(t)
			cfg.Dir = dir
			c := testutil.Client(t, testutil.Start(t, cfg), 2)
			return func(args ...any) *redis.Cmd { return c.Do(ctx, args...) }
		},
		func(dir string) func(args ...any) *redis.Cmd {
			c := testutil.StartRedisServer(t, dir).Client(t, 0)
			return func(args ...any) *redis.Cmd { return c.Do(ctx, args...) }
		},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), rdb, 0o644); err != nil {
			t.Fatal(err)
		}
		do := start(dir)
		info := do("INFO", "persistence").String()
		got = append(got, fmt.Sprint(do("KEYS", "*").Val(), " ", do("GET", "k").Val(), " ",
			infoLine(info, "rdb_last_load_keys_loaded:")))
	}
	if got[0] != got[1] || got[0] != "[k] v 1" {
		t.Fatalf("shoal %s, redis-server %s", got[0], got[1])
	}
}

// TestZipmapRDBLoadsAsRedis: an RDB of Redis 2.x holding a hash as a
// zipmap (type 9) loads at start on Shoal as on redis-server 7.0.15: the
// same fields, and the encoding the thresholds give (a hashtable under
// hash-max-listpack-entries 1, as convert-zipmap-hash-on-load.tcl runs it).
func TestZipmapRDBLoadsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	// REDIS0003, SELECT 0, hash "hash" as a zipmap of f1=v1, f2=v2 (the
	// value lengths followed by a free byte), EOF: Redis 2.x wrote no
	// checksum.
	rdb := []byte("REDIS0003\xfe\x00\x09\x04hash\x10\x02\x02f1\x02\x00v1\x02f2\x02\x00v2\xff\xff")
	for _, entries := range []string{"128", "1"} {
		var got []string
		for _, start := range []func(dir string) *redis.Client{
			func(dir string) *redis.Client {
				cfg := testutil.Config(t)
				cfg.Dir = dir
				cfg.HashMaxListpackEntries, _ = strconv.ParseInt(entries, 10, 64)
				return testutil.Client(t, testutil.Start(t, cfg), 2)
			},
			func(dir string) *redis.Client {
				return testutil.StartRedisServer(t, dir, "--hash-max-listpack-entries", entries).Client(t, 0)
			},
		} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), rdb, 0o644); err != nil {
				t.Fatal(err)
			}
			c := start(dir)
			got = append(got, fmt.Sprint(c.HGetAll(ctx, "hash").Val(), " ", c.ObjectEncoding(ctx, "hash").Val()))
		}
		if got[0] != got[1] || !strings.Contains(got[0], "f2:v2") {
			t.Errorf("hash-max-listpack-entries %s: shoal %s, redis-server %s", entries, got[0], got[1])
		}
	}
}
