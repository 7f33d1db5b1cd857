package commands_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestManyArgumentsLikeRedis sends commands of thousands of arguments,
// repeated members among them, to new and existing keys, in one pipeline
// and in MULTI, to Shoal and to a redis-server 7.0.15, and compares every
// reply: a collection a command creates counts each member once.
func TestManyArgumentsLikeRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	const n = 5000
	seq := func(head []any, prefix string, from, to int, pairs bool) []any {
		for i := from; i < to; i++ {
			head = append(head, prefix+strconv.Itoa(i))
			if pairs {
				head = append(head, strconv.Itoa(i%7))
			}
		}
		return head
	}
	var cmds [][]any
	add := func(c ...any) { cmds = append(cmds, c) }
	add(append(seq([]any{"SADD", "s"}, "m", 0, n, false), seq(nil, "m", 0, n/2, false)...)...)
	add(seq([]any{"SADD", "s"}, "m", n-10, n+10, false)...)
	add(append(seq([]any{"HSET", "h"}, "f", 0, n, true), seq(nil, "f", 0, 10, true)...)...)
	add(seq([]any{"HSET", "h"}, "f", n-5, n+5, true)...)
	zadd := []any{"ZADD", "z"}
	for i := range n {
		zadd = append(zadd, strconv.Itoa(i%100), "m"+strconv.Itoa(i%(n/2)))
	}
	add(zadd...)
	add("SCARD", "s")
	add("HLEN", "h")
	add("HGET", "h", "f3")
	add("ZCARD", "z")
	add("ZSCORE", "z", "m7")
	add("SADD", "k7", "x")
	add("HSET", "k9", "f", "v")
	add("SET", "k11", "v", "EX", "1000")
	add(append(seq([]any{"MSET"}, "k", 0, n, true), "k3", "last")...)
	add("TYPE", "k7")
	add("TTL", "k11")
	add("GET", "k3")
	add(seq([]any{"MSETNX"}, "k", n-1, 2*n, true)...)
	add(seq([]any{"MSETNX"}, "nx", 0, n, true)...)
	add("GET", "nx17")
	add(append(seq([]any{"DEL"}, "k", n/2, n+n/2, false), "k7", "k7")...)
	add("DBSIZE")
	add("GET", "k2600")
	add("GET", "k2400")
	add("EXISTS", "k7", "k2499", "k2500")
	add("MULTI")
	add(seq([]any{"SADD", "s2"}, "x", 0, 100, false)...)
	add(seq([]any{"SADD", "s2"}, "x", 50, 150, false)...)
	add("DEL", "s2")
	add(seq([]any{"SADD", "s2"}, "x", 0, 10, false)...)
	add("EXEC")
	add("SCARD", "s2")
	// Then, each after the last committed, so that one Tx holds each
	// block whole: writes of many keys, then others of the same keys, a
	// FLUSHDB among them; and reads of what their commits published.
	steps := [][][]any{cmds, {
		{"MULTI"}, seq([]any{"MSET"}, "m", 0, n, true), seq([]any{"DEL"}, "m", 0, n/2, false),
		{"SET", "m1", "again"}, {"EXEC"},
	}, {
		{"GET", "m1"}, {"GET", "m2"}, {"GET", "m4000"}, {"DBSIZE"},
	}, {
		{"MULTI"}, seq([]any{"MSET"}, "fl", 0, n, true), {"SET", "fl3", "again"}, {"FLUSHDB"},
		seq([]any{"SADD", "fs"}, "m", 0, 2000, false), {"GET", "fl3"}, {"EXEC"},
	}, {
		{"GET", "fl3"}, {"GET", "fl4999"}, {"GET", "k3"}, {"SCARD", "fs"}, {"DBSIZE"},
	}, {
		{"MULTI"}, seq([]any{"MSET"}, "fl", 0, n, true), {"FLUSHDB"},
		seq([]any{"MSET"}, "fl", n-2000, n, true), {"EXEC"},
	}, {
		{"GET", "fl3"}, {"GET", "fl2999"}, {"GET", "fl3000"}, {"DBSIZE"},
	}}
	run := func(c *redis.Client) []string {
		var out []string
		for _, step := range steps {
			out = append(out, send(ctx, c, step)...)
		}
		return out
	}
	want := run(redis.NewClient(&redis.Options{Addr: testutil.StartRedis(t), Protocol: 2}))
	got := run(testutil.Client(t, testutil.Start(t, nil), 2))
	cmds = slices.Concat(steps...)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%.40v: got %s, redis-server %s", cmds[i], got[i], want[i])
		}
	}
}

// send sends cmds to c as one pipeline and returns each reply as text.
func send(ctx context.Context, c *redis.Client, cmds [][]any) []string {
	p := c.Pipeline()
	for _, cmd := range cmds {
		p.Do(ctx, cmd...)
	}
	res, _ := p.Exec(ctx)
	var out []string
	for _, r := range res {
		v, err := r.(*redis.Cmd).Result()
		out = append(out, fmt.Sprint(v, err))
	}
	return out
}

// TestManyKeysStartTheirAccessClocks: a key an MSET of thousands of keys
// creates starts its access clock as a key SET creates does (OBJECT FREQ
// 5, Redis's LFU_INIT_VAL), not with the clock of a key that held its
// slot before.
func TestManyKeysStartTheirAccessClocks(t *testing.T) {
	ctx := testutil.Ctx(t)
	cfg := testutil.Config(t)
	cfg.MaxMemoryPolicy = "allkeys-lfu"
	c := testutil.Client(t, testutil.Start(t, cfg), 2)
	if err := c.ConfigSet(ctx, "lfu-log-factor", "0").Err(); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var pairs []any
	for i := range n {
		k := "k" + strconv.Itoa(i)
		pairs = append(pairs, k, "v")
		if i%500 == 0 {
			c.Set(ctx, k, "old", 0)
			for range 20 {
				c.Get(ctx, k)
			}
			if f, err := c.ObjectFreq(ctx, k).Result(); err != nil || f != 25 {
				t.Fatalf("OBJECT FREQ %s after 20 GETs: %d, %v", k, f, err)
			}
			c.Del(ctx, k)
		}
	}
	if err := c.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 250 {
		k := "k" + strconv.Itoa(i)
		if f, err := c.ObjectFreq(ctx, k).Result(); err != nil || f != 5 {
			t.Errorf("OBJECT FREQ %s after MSET: %d, %v; want 5", k, f, err)
		}
	}
}
