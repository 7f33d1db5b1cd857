package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testcluster"
	"github.com/shoaldb/shoal/internal/testutil"
)

// TestMaxmemoryRefusalsAsRedis: past maxmemory, Shoal refuses what
// redis-server 7.0.15 refuses when it can evict nothing more, with its
// replies: writes
// that may grow memory, commands queued in MULTI, an EXEC holding such a
// write, a script's first write, a script that declares it may write
// without allow-oom, FUNCTION LOAD; reads, DISCARD, an EXEC of reads and
// scripts with no-writes or allow-oom run. maxmemory 0 ends it.
func TestMaxmemoryRefusalsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		c := p.c.Conn()
		defer c.Close()
		admin := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2})
		defer admin.Close()
		run := recorder(ctx, c, &b)
		run("set", "x", "value")
		run("multi")
		run("set", "x", "queued")
		run("get", "x")
		if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
			t.Fatal(err)
		}
		run("exec")
		run("multi")
		run("get", "x")
		run("ping")
		run("exec")
		run("set", "y", "1")
		run("lpush", "l", "a")
		run("get", "x")
		run("multi")
		run("set", "x", "1")
		run("discard")
		run("eval", "return redis.call('set', 'a', 'b')", "0")
		run("eval", "redis.call('get', 'x'); return redis.call('set', 'a', 'b')", "0")
		run("eval", "#!lua\nreturn 1", "0")
		run("eval", "#!lua flags=no-writes\nreturn redis.call('get', 'x')", "0")
		run("eval", "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'allowed')", "0")
		run("function", "load", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
		if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
			t.Fatal(err)
		}
		run("set", "y", "1")
		run("get", "a")
		// Under an eviction policy too: Redis evicts every key and is
		// still over; Shoal's keys are on disk, and evicting them would
		// free nothing.
		if err := admin.Do(ctx, "config", "set", "maxmemory", "1", "maxmemory-policy", "allkeys-lru").Err(); err != nil {
			t.Fatal(err)
		}
		run("set", "z", "1")
		if err := admin.Do(ctx, "config", "set", "maxmemory", "0", "maxmemory-policy", "noeviction").Err(); err != nil {
			t.Fatal(err)
		}
		info := admin.Info(ctx, "errorstats").Val()
		for _, ln := range strings.Split(info, "\r\n") {
			if strings.HasPrefix(ln, "errorstat_OOM") {
				b.WriteString(ln + "\n")
			}
		}
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
	if !strings.Contains(got[0], `["set" "y" "1"] -> <nil> OOM command not allowed when used memory > 'maxmemory'.`) {
		t.Fatalf("no refusal:\n%s", got[0])
	}
}

// TestMaxmemoryLeavesCachesOut: the hot cache is not memory maxmemory
// bounds (it keeps within its own budget, and the data it caches is on
// disk): with a heap over maxmemory mostly of cached values, writes go
// on. The server runs as a process of its own, whose heap is its alone.
func TestMaxmemoryLeavesCachesOut(t *testing.T) {
	ctx := testutil.Ctx(t)
	node := testcluster.NewPlain(t, 1, testcluster.Options{AppendFsync: "everysec"}).Nodes[0]
	c := node.Client()
	value := strings.Repeat("v", 1000)
	for i := 0; i < 50000; i += 1000 {
		pipe := c.Pipeline()
		for j := i; j < i+1000; j++ {
			pipe.Set(ctx, fmt.Sprint("key:", j), value, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const limit = 40 << 20
	if err := c.ConfigSet(ctx, "maxmemory", fmt.Sprint(limit)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatalf("SET past maxmemory %d with %s bytes of Go heap and %s cached: %v", limit,
			infoText(t, c, "shoal_go_heap_bytes"), infoText(t, c, "shoal_hot_cache_bytes"), err)
	}
	cached, _ := strconv.ParseInt(infoText(t, c, "shoal_hot_cache_bytes"), 10, 64)
	if cached < limit {
		t.Fatalf("the hot cache holds %d bytes, less than maxmemory: the test shows nothing", cached)
	}
	if over := infoText(t, c, "shoal_maxmemory_over"); over != "0" {
		t.Fatalf("shoal_maxmemory_over:%s", over)
	}
}
