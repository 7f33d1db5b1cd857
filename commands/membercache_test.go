package commands_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// The hot cache holds hash fields, set members and sorted-set scores. These
// cases write members by every path the cache must follow (point writes,
// copies under a new version, range tombstones of whole collections, a
// pipeline's own uncommitted writes) and read them back through it.
func TestMembersThroughHotCache(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		want := func(what string, got, want any) {
			t.Helper()
			if got != want {
				t.Fatalf("%s = %v, want %v", what, got, want)
			}
		}
		hget := func(key, field string) string {
			v, err := c.HGet(ctx, key, field).Result()
			if err == redis.Nil {
				return "(nil)"
			}
			if err != nil {
				t.Fatal(err)
			}
			return v
		}

		// Point writes and deletes.
		c.HSet(ctx, "h", "f", "1", "g", "2")
		want("HGET", hget("h", "f"), "1")
		c.HSet(ctx, "h", "f", "3")
		want("HGET after overwrite", hget("h", "f"), "3")
		c.HDel(ctx, "h", "f")
		want("HGET after HDEL", hget("h", "f"), "(nil)")
		want("HSET of a deleted field", must(t, c.HSet(ctx, "h", "f", "4")), int64(1))
		c.SAdd(ctx, "s", "m")
		want("SISMEMBER", must(t, c.SIsMember(ctx, "s", "m")), true)
		c.SRem(ctx, "s", "m")
		want("SISMEMBER after SREM", must(t, c.SIsMember(ctx, "s", "m")), false)
		want("SADD after SREM", must(t, c.SAdd(ctx, "s", "m", "n")), int64(2))
		c.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "m"})
		c.ZIncrBy(ctx, "z", 2, "m")
		want("ZSCORE", must(t, c.ZScore(ctx, "z", "m")), float64(3))

		// A collection renamed away, changed and renamed back: its members
		// come back under a new version, without the deleted one.
		c.Rename(ctx, "h", "h2")
		c.HDel(ctx, "h2", "g")
		c.HSet(ctx, "h2", "f", "5")
		c.Rename(ctx, "h2", "h")
		want("HGET g after the round trip", hget("h", "g"), "(nil)")
		want("HGET f after the round trip", hget("h", "f"), "5")
		want("HLEN after the round trip", must(t, c.HLen(ctx, "h")), int64(1))

		// A large hash deleted with one range tombstone, then rebuilt.
		var args []any
		for i := 0; i < 200; i++ {
			args = append(args, "f"+strconv.Itoa(i), "v")
		}
		c.HSet(ctx, "big", args...)
		want("HGET in a large hash", hget("big", "f7"), "v")
		c.Del(ctx, "big")
		want("HGET after DEL", hget("big", "f7"), "(nil)")
		c.HSet(ctx, "big", "f8", "w")
		want("HGET f7 in the rebuilt hash", hget("big", "f7"), "(nil)")
		want("HGET f8 in the rebuilt hash", hget("big", "f8"), "w")

		// One transaction sees its own member writes, before and after a
		// copy, a delete and a re-creation.
		cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, "t", "a", "1")
			p.HGet(ctx, "t", "a")
			p.Copy(ctx, "t", "t2", 0, false)
			p.HSet(ctx, "t2", "b", "2")
			p.HGet(ctx, "t2", "a")
			p.Del(ctx, "t")
			p.HGet(ctx, "t", "a")
			p.HSet(ctx, "t", "c", "3")
			p.HExists(ctx, "t", "a")
			p.SAdd(ctx, "ts", "x")
			p.SAdd(ctx, "ts", "x")
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		want("HGET of the pipeline's own write", cmds[1].(*redis.StringCmd).Val(), "1")
		want("HGET of a copied field", cmds[4].(*redis.StringCmd).Val(), "1")
		want("HGET after DEL in the pipeline", cmds[6].(*redis.StringCmd).Err(), redis.Nil)
		want("HEXISTS in the re-created hash", cmds[8].(*redis.BoolCmd).Val(), false)
		want("SADD of a member added in the same pipeline", cmds[10].(*redis.IntCmd).Val(), int64(0))
		want("HGET t2 b after the transaction", hget("t2", "b"), "2")
		want("HGET t c after the transaction", hget("t", "c"), "3")

		// FLUSHDB empties what the cache held.
		c.FlushDB(ctx)
		want("SISMEMBER after FLUSHDB", must(t, c.SIsMember(ctx, "s", "n")), false)
		want("HGET after FLUSHDB", hget("t2", "b"), "(nil)")
	})
}

// Readers that take no lock never see a member's value go back once they
// saw a newer one, while a writer keeps changing it.
func TestMemberReadsMonotonic(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := context.Background()
	w := testutil.Client(t, s, 2)
	const rounds = 2000
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= rounds; i++ {
			if err := w.HSet(ctx, "h", "f", strconv.Itoa(i)).Err(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	r := testutil.Client(t, s, 2)
	last := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if v := must(t, r.HGet(ctx, "h", "f")); v != strconv.Itoa(rounds) {
				t.Fatalf("HGET after the writer finished = %s, want %d", v, rounds)
			}
			return
		default:
		}
		v, err := r.HGet(ctx, "h", "f").Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(v)
		if n < last {
			t.Fatalf("HGET went back from %d to %d", last, n)
		}
		last = n
	}
}
