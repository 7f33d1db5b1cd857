package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestSavePointsAsRedis: with save points set, an RDB file is written in
// the background once a point's changes are made and its seconds passed;
// while the last such save failed, stop-writes-on-bgsave-error refuses
// writes and PING with Redis's MISCONF, until it is turned off or the save
// points go. The same steps on redis-server 7.0.15 give the same replies.
func TestSavePointsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	r := testutil.StartRedisServer(t, t.TempDir())
	peers := []struct {
		name, dir string
		c         *redis.Client
	}{{"shoal", cfg.Dir, testutil.Client(t, s, 2)}, {"redis", r.Dir, r.Client(t, 0)}}
	var got [][]string
	for _, p := range peers {
		var out []string
		do := func(args ...any) {
			v, err := p.c.Do(ctx, args...).Result()
			out = append(out, fmt.Sprintf("%v -> %v %v", args, v, err))
		}
		saves := func() int {
			n, _ := strconv.Atoi(infoText(t, p.c, "rdb_saves"))
			return n
		}
		do("CONFIG", "SET", "save", "1 2")
		do("SET", "a", "1")
		time.Sleep(2200 * time.Millisecond)
		out = append(out, fmt.Sprintf("one change: rdb_saves %d", saves()))
		do("SET", "b", "2")
		eventuallyTrue(t, p.name+": a save", func() bool {
			return saves() == 1 && infoText(t, p.c, "rdb_bgsave_in_progress") == "0"
		})
		out = append(out, "rdb_changes_since_last_save "+infoText(t, p.c, "rdb_changes_since_last_save"))
		if _, err := os.Stat(filepath.Join(p.dir, "dump.rdb")); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		// The next save cannot put its file in place of a folder.
		rdb := filepath.Join(p.dir, "dump.rdb")
		if err := os.Remove(rdb); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(rdb, "full"), 0o755); err != nil {
			t.Fatal(err)
		}
		do("SET", "c", "3")
		do("SET", "d", "4")
		eventuallyTrue(t, p.name+": a failed save", func() bool { return infoText(t, p.c, "rdb_last_bgsave_status") == "err" })
		do("SET", "e", "5")
		do("PING")
		do("SAVE")
		do("GET", "a")
		do("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
		do("SET", "e", "5")
		do("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
		do("INCR", "n")
		do("CONFIG", "SET", "save", "")
		do("INCR", "n")
		got = append(got, out)
	}
	for i := range got[1] {
		if i >= len(got[0]) || got[0][i] != got[1][i] {
			t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
		}
	}
}
