package server_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestEmptyMembersAfterRestart: a set member and a hash field with an
// empty value, read from disk after a restart, are found by every read,
// not only the first (the hot cache took the empty value for absent).
func TestEmptyMembersAfterRestart(t *testing.T) {
	ctx := testutil.Ctx(t)
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	if err := c.SAdd(ctx, "s", "m").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, "h", "f", "").Err(); err != nil {
		t.Fatal(err)
	}
	c = restart(t, s, cfg.Dir)
	for i := range 3 {
		if ok, err := c.SIsMember(ctx, "s", "m").Result(); err != nil || !ok {
			t.Fatalf("SISMEMBER %d after the restart: %v, %v", i+1, ok, err)
		}
		if ok, err := c.HExists(ctx, "h", "f").Result(); err != nil || !ok {
			t.Fatalf("HEXISTS %d after the restart: %v, %v", i+1, ok, err)
		}
	}
}

// TestManyKeysAfterRestart: MSET, MSETNX and DEL of thousands of keys,
// which read the keys the hot cache does not hold through one iterator,
// find the keys a restart left on disk, whatever their type or expiry,
// and keep the key count exact across the next restart.
func TestManyKeysAfterRestart(t *testing.T) {
	ctx := testutil.Ctx(t)
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	const n = 3000
	pairs := func(prefix string, from, to int, val string) []any {
		var args []any
		for i := from; i < to; i++ {
			args = append(args, prefix+strconv.Itoa(i), val+strconv.Itoa(i))
		}
		return args
	}
	names := func(prefix string, from, to int) []string {
		var args []string
		for i := from; i < to; i++ {
			args = append(args, prefix+strconv.Itoa(i))
		}
		return args
	}
	if err := c.MSet(ctx, pairs("k", 0, n, "old")...).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 100 {
		p := c.TxPipeline()
		p.Del(ctx, "k"+strconv.Itoa(i+1), "k"+strconv.Itoa(i+2))
		p.SAdd(ctx, "k"+strconv.Itoa(i+1), "m")
		p.HSet(ctx, "k"+strconv.Itoa(i+2), "f", "v")
		p.Expire(ctx, "k"+strconv.Itoa(i+3), time.Hour)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	reopen := func() {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		s = testutil.Start(t, cfg)
		c = testutil.Client(t, s, 2)
	}
	reopen()
	if ok, err := c.MSetNX(ctx, pairs("k", n-1, 2*n, "nx")...).Result(); err != nil || ok {
		t.Fatalf("MSETNX over an existing key after the restart: %v, %v", ok, err)
	}
	if err := c.MSet(ctx, pairs("k", n/2, 2*n, "new")...).Err(); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if got, err := c.DBSize(ctx).Result(); err != nil || got != 2*n {
			t.Fatalf("DBSIZE %s: %d, %v; want %d", when, got, err, 2*n)
		}
		for _, i := range []int{1, 2, 3, n/2 + 1, n/2 + 2, n/2 + 3, n + 7, 2*n - 1} {
			k := "k" + strconv.Itoa(i)
			want := "new" + strconv.Itoa(i)
			if i < n/2 && i%100 != 3 {
				continue
			}
			if i < n/2 {
				want = "old" + strconv.Itoa(i)
			}
			if got, err := c.Get(ctx, k).Result(); err != nil || got != want {
				t.Errorf("GET %s %s: %q, %v; want %q", k, when, got, err, want)
			}
		}
		if ttl, err := c.TTL(ctx, "k"+strconv.Itoa(n/2+3)).Result(); err != nil || ttl != -1 {
			t.Errorf("TTL of a key MSET replaced %s: %v, %v; want none", when, ttl, err)
		}
		if ttl, err := c.TTL(ctx, "k3").Result(); err != nil || ttl <= 0 {
			t.Errorf("TTL of a key MSET left alone %s: %v, %v", when, ttl, err)
		}
		if typ, err := c.Type(ctx, "k1").Result(); err != nil || typ != "set" {
			t.Errorf("TYPE k1 %s: %q, %v", when, typ, err)
		}
	}
	check("after MSET")
	reopen()
	check("after a second restart")
	reopen()
	del := append(names("k", 0, 2*n), names("absent", 0, 100)...)
	if got, err := c.Del(ctx, del...).Result(); err != nil || got != 2*n {
		t.Fatalf("DEL after the third restart: %d, %v; want %d", got, err, 2*n)
	}
	if got, err := c.DBSize(ctx).Result(); err != nil || got != 0 {
		t.Fatalf("DBSIZE after DEL: %d, %v", got, err)
	}
	if got, err := c.Exists(ctx, "k1", "k2", "k3", "k"+strconv.Itoa(n)).Result(); err != nil || got != 0 {
		t.Fatalf("EXISTS after DEL: %d, %v", got, err)
	}
}

// TestHotCacheKnowsAbsentKeys: a fresh server's hot cache knows every key
// (INFO's shoal_hot_cache_complete_shards is 256), one restarted with keys
// comes to know them again by its warm-up, and one whose keys overflow
// its hot cache stops knowing, in the shards that evicted, while every
// read still finds what was written.
func TestHotCacheKnowsAbsentKeys(t *testing.T) {
	ctx := testutil.Ctx(t)
	complete := func(c *redis.Client) string { return infoValue(t, c, "memory", "shoal_hot_cache_complete_shards") }
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	if got := complete(c); got != "256" {
		t.Fatalf("fresh server: %s complete shards, want 256", got)
	}
	const n = 2000
	var args []any
	for i := range n {
		args = append(args, "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
	if err := c.MSet(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
	c = restart(t, s, cfg.Dir)
	for deadline := time.Now().Add(30 * time.Second); complete(c) != "256"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("restarted with %d keys: %s complete shards after 30 s", n, complete(c))
		}
	}
	for i := range n + 10 {
		v, err := c.Get(ctx, "k"+strconv.Itoa(i)).Result()
		if i < n && (err != nil || v != strconv.Itoa(i)) || i >= n && err != redis.Nil {
			t.Fatalf("GET k%d = %q, %v", i, v, err)
		}
	}

	small := testutil.Config(t)
	small.HotCacheSize = 64 << 10
	c = testutil.Client(t, testutil.Start(t, small), 2)
	if err := c.MSet(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := strconv.Atoi(complete(c)); got >= 256 {
		t.Fatalf("%d keys in a 64 KiB hot cache: %d complete shards", n, got)
	}
	for i := range n + 10 {
		v, err := c.Get(ctx, "k"+strconv.Itoa(i)).Result()
		if i < n && (err != nil || v != strconv.Itoa(i)) || i >= n && err != redis.Nil {
			t.Fatalf("small cache: GET k%d = %q, %v", i, v, err)
		}
	}
}
