package commands_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// must returns a call's value, failing the test on its error:
// zmust(c.ZCard(ctx, "z").Result())(t).
func zmust[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// wantErr runs a raw command and checks its error text.
func wantDoErrCtx(t *testing.T, ctx context.Context, c *redis.Client, want string, args ...any) {
	t.Helper()
	err := c.Do(ctx, args...).Err()
	if err == nil || err.Error() != want {
		t.Fatalf("%v: err = %v, want %q", args, err, want)
	}
}

func zs(pairs ...any) []redis.Z {
	var out []redis.Z
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, redis.Z{Member: pairs[i], Score: toF(pairs[i+1])})
	}
	return out
}

func toF(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic("score")
}

func TestZAddAndScores(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		eq(t, "ZADD", zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2, "c", 3)...).Result())(t), int64(3))
		eq(t, "ZADD again", zmust(c.ZAdd(ctx, "z", zs("a", 1, "d", 4)...).Result())(t), int64(1))
		eq(t, "ZCARD", zmust(c.ZCard(ctx, "z").Result())(t), int64(4))
		eq(t, "ZCARD missing", zmust(c.ZCard(ctx, "nokey").Result())(t), int64(0))
		eq(t, "ZSCORE", zmust(c.ZScore(ctx, "z", "b").Result())(t), 2.0)
		if err := c.ZScore(ctx, "z", "nope").Err(); err != redis.Nil {
			t.Fatalf("ZSCORE missing member: %v", err)
		}
		if err := c.ZScore(ctx, "nokey", "a").Err(); err != redis.Nil {
			t.Fatalf("ZSCORE missing key: %v", err)
		}
		eq(t, "ZMSCORE", zmust(c.ZMScore(ctx, "z", "a", "d").Result())(t), []float64{1, 4})
		raw := zmust(c.Do(ctx, "zmscore", "z", "a", "nope").Slice())(t)
		if len(raw) != 2 || raw[1] != nil {
			t.Fatalf("ZMSCORE with a missing member = %#v", raw)
		}

		// CH counts changed scores; GT/LT only move one way.
		eq(t, "ZADD CH", zmust(c.ZAddArgs(ctx, "z", redis.ZAddArgs{Ch: true, Members: zs("a", 10, "b", 2, "e", 5)}).Result())(t), int64(2))
		eq(t, "ZADD GT", zmust(c.ZAddArgs(ctx, "z", redis.ZAddArgs{GT: true, Ch: true, Members: zs("a", 5, "c", 30)}).Result())(t), int64(1))
		eq(t, "ZADD LT", zmust(c.ZAddArgs(ctx, "z", redis.ZAddArgs{LT: true, Ch: true, Members: zs("a", 5, "c", 40)}).Result())(t), int64(1))
		eq(t, "ZADD XX on new", zmust(c.ZAddXX(ctx, "z", zs("new", 1)...).Result())(t), int64(0))
		eq(t, "ZADD NX on old", zmust(c.ZAddNX(ctx, "z", zs("a", 99)...).Result())(t), int64(0))
		eq(t, "scores", zmust(c.ZMScore(ctx, "z", "a", "c").Result())(t), []float64{5, 30})
		eq(t, "ZADD XX on missing key", zmust(c.ZAddXX(ctx, "nokey", zs("a", 1)...).Result())(t), int64(0))
		eq(t, "missing key stays missing", zmust(c.Do(ctx, "zcard", "nokey").Int64())(t), int64(0))

		// Duplicates in one call: the last score wins, counted once.
		eq(t, "ZADD dup", zmust(c.Do(ctx, "zadd", "dup", 1, "m", 2, "m").Int64())(t), int64(1))
		eq(t, "dup score", zmust(c.ZScore(ctx, "dup", "m").Result())(t), 2.0)

		// INCR and ZINCRBY.
		eq(t, "ZADD INCR", zmust(c.ZAddArgsIncr(ctx, "z", redis.ZAddArgs{Members: zs("a", 1.5)}).Result())(t), 6.5)
		eq(t, "ZINCRBY", zmust(c.ZIncrBy(ctx, "z", -0.5, "a").Result())(t), 6.0)
		eq(t, "ZINCRBY new", zmust(c.ZIncrBy(ctx, "z", 2.25, "f").Result())(t), 2.25)
		if err := c.ZAddArgsIncr(ctx, "z", redis.ZAddArgs{NX: true, Members: zs("a", 1)}).Err(); err != redis.Nil {
			t.Fatalf("ZADD NX INCR existing: %v", err)
		}
		if err := c.ZAddArgsIncr(ctx, "z", redis.ZAddArgs{GT: true, Members: zs("a", -1)}).Err(); err != redis.Nil {
			t.Fatalf("ZADD GT INCR down: %v", err)
		}
		eq(t, "INCR to inf", zmust(c.ZIncrBy(ctx, "z", math.Inf(1), "a").Result())(t), math.Inf(1))
		wantDoErrCtx(t, ctx, c, "ERR resulting score is not a number (NaN)", "zincrby", "z", "-inf", "a")
		wantDoErrCtx(t, ctx, c, "ERR resulting score is not a number (NaN)", "zadd", "z", "incr", "-inf", "a")

		// Score text: shortest round-trip form, inf.
		zmust(c.ZAdd(ctx, "f", zs("x", 1.5, "y", 3, "i", math.Inf(-1))...).Result())(t)
		if c.Options().Protocol == 2 {
			eq(t, "RESP2 score", zmust(c.Do(ctx, "zscore", "f", "x").Text())(t), "1.5")
			eq(t, "RESP2 score int", zmust(c.Do(ctx, "zscore", "f", "y").Text())(t), "3")
			eq(t, "RESP2 score inf", zmust(c.Do(ctx, "zscore", "f", "i").Text())(t), "-inf")
		} else {
			eq(t, "RESP3 score", zmust(c.Do(ctx, "zscore", "f", "x").Result())(t), any(1.5))
		}

		// ZREM deletes the key with its last member.
		eq(t, "ZREM", zmust(c.ZRem(ctx, "f", "x", "x", "nope").Result())(t), int64(1))
		eq(t, "ZREM rest", zmust(c.ZRem(ctx, "f", "y", "i").Result())(t), int64(2))
		eq(t, "TYPE after", zmust(c.Do(ctx, "zcard", "f").Int64())(t), int64(0))
		eq(t, "ZREM missing", zmust(c.ZRem(ctx, "nokey", "a").Result())(t), int64(0))
		eq(t, "re-add after delete", zmust(c.ZAdd(ctx, "f", zs("q", 1)...).Result())(t), int64(1))
		eq(t, "fresh set", zmust(c.ZRange(ctx, "f", 0, -1).Result())(t), []string{"q"})
	})
}

func TestZAddErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		wantDoErrCtx(t, ctx, c, "ERR XX and NX options at the same time are not compatible", "zadd", "z", "nx", "xx", 1, "a")
		wantDoErrCtx(t, ctx, c, "ERR GT, LT, and/or NX options at the same time are not compatible", "zadd", "z", "gt", "nx", 1, "a")
		wantDoErrCtx(t, ctx, c, "ERR GT, LT, and/or NX options at the same time are not compatible", "zadd", "z", "gt", "lt", 1, "a")
		wantDoErrCtx(t, ctx, c, "ERR INCR option supports a single increment-element pair", "zadd", "z", "incr", 1, "a", 2, "b")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zadd", "z", 1, "a", 2)
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zadd", "z", "nx", "ch", "xx")
		wantDoErrCtx(t, ctx, c, "ERR value is not a valid float", "zadd", "z", "x", "a")
		wantDoErrCtx(t, ctx, c, "ERR value is not a valid float", "zadd", "z", "nan", "a")
		wantDoErrCtx(t, ctx, c, "ERR value is not a valid float", "zincrby", "z", "x", "a")
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'zadd' command", "zadd", "z", 1)
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'zincrby' command", "zincrby", "z", 1)
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'zrem' command", "zrem", "z")
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'zcard' command", "zcard")
		eq(t, "nothing created", zmust(c.ZCard(ctx, "z").Result())(t), int64(0))
	})
}

func TestZSetWrongType(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.Set(ctx, "s", "str", 0).Result())(t)
		zmust(c.ZAdd(ctx, "z", zs("a", 1)...).Result())(t)
		const wt = "WRONGTYPE Operation against a key holding the wrong kind of value"
		for _, args := range [][]any{
			{"zadd", "s", 1, "a"}, {"zincrby", "s", 1, "a"}, {"zrem", "s", "a"}, {"zcard", "s"},
			{"zcount", "s", 0, 1}, {"zlexcount", "s", "-", "+"}, {"zscore", "s", "a"}, {"zmscore", "s", "a"},
			{"zrank", "s", "a"}, {"zrevrank", "s", "a", "withscore"}, {"zrange", "s", 0, -1},
			{"zrangebyscore", "s", 0, 1}, {"zrevrangebylex", "s", "+", "-"}, {"zrangestore", "d", "s", 0, -1},
			{"zremrangebyrank", "s", 0, -1}, {"zremrangebyscore", "s", 0, 1}, {"zremrangebylex", "s", "-", "+"},
			{"zpopmin", "s"}, {"zpopmax", "s", 2}, {"zmpop", 2, "nokey", "s", "min"}, {"zrandmember", "s"},
			{"zunion", 2, "z", "s"}, {"zinter", 2, "z", "s"}, {"zdiff", 2, "z", "s"}, {"zunionstore", "d", 2, "z", "s"},
			{"zintercard", 2, "z", "s"}, {"zscan", "s", 0}, {"bzpopmin", "s", 0}, {"bzmpop", 0, 1, "s", "max"},
		} {
			wantDoErrCtx(t, ctx, c, wt, args...)
		}
		eq(t, "string untouched", zmust(c.Get(ctx, "s").Result())(t), "str")
		// A STORE destination of another type is overwritten.
		eq(t, "ZUNIONSTORE over string", zmust(c.ZUnionStore(ctx, "s", &redis.ZStore{Keys: []string{"z"}}).Result())(t), int64(1))
		eq(t, "now a zset", zmust(c.ZRange(ctx, "s", 0, -1).Result())(t), []string{"a"})
	})
}

func TestZRanges(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "ninf", math.Inf(-1), "pinf", math.Inf(1))...).Result())(t)
		eq(t, "ZRANGE all", zmust(c.ZRange(ctx, "z", 0, -1).Result())(t), []string{"ninf", "a", "b", "c", "d", "e", "pinf"})
		eq(t, "ZRANGE neg", zmust(c.ZRange(ctx, "z", -3, -2).Result())(t), []string{"d", "e"})
		eq(t, "ZRANGE out", zmust(c.ZRange(ctx, "z", 5, 100).Result())(t), []string{"e", "pinf"})
		eq(t, "ZRANGE empty", zmust(c.ZRange(ctx, "z", 4, 2).Result())(t), []string{})
		eq(t, "ZRANGE missing", zmust(c.ZRange(ctx, "nokey", 0, -1).Result())(t), []string{})
		eq(t, "ZREVRANGE", zmust(c.ZRevRange(ctx, "z", 0, 1).Result())(t), []string{"pinf", "e"})
		eq(t, "ZRANGE WITHSCORES", zmust(c.ZRangeWithScores(ctx, "z", 1, 2).Result())(t), zs("a", 1, "b", 2))
		eq(t, "ZREVRANGE WITHSCORES", zmust(c.ZRevRangeWithScores(ctx, "z", 0, 0).Result())(t), zs("pinf", math.Inf(1)))

		eq(t, "BYSCORE", zmust(c.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "(1", Max: "3"}).Result())(t), []string{"b", "c"})
		eq(t, "BYSCORE inf", zmust(c.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "-inf", Max: "(1"}).Result())(t), []string{"ninf"})
		eq(t, "BYSCORE limit", zmust(c.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "0", Max: "+inf", Offset: 1, Count: 2}).Result())(t), []string{"b", "c"})
		eq(t, "BYSCORE rev", zmust(c.ZRevRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "(2", Max: "4"}).Result())(t), []string{"d", "c"})
		eq(t, "BYSCORE rev scores", zmust(c.ZRevRangeByScoreWithScores(ctx, "z", &redis.ZRangeBy{Min: "2", Max: "(4", Offset: 1, Count: 5}).Result())(t), zs("b", 2))
		eq(t, "BYSCORE empty", zmust(c.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "(2", Max: "2"}).Result())(t), []string{})
		eq(t, "ZRANGE args", zmust(c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "z", Start: 4, Stop: "(1", ByScore: true, Rev: true, Offset: 0, Count: 2}).Result())(t), []string{"d", "c"})
		eq(t, "ZRANGE args scores", zmust(c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: "z", Start: -1, Stop: -1}).Result())(t), zs("pinf", math.Inf(1)))
		eq(t, "ZCOUNT", zmust(c.ZCount(ctx, "z", "(1", "+inf").Result())(t), int64(5))
		eq(t, "ZCOUNT empty", zmust(c.ZCount(ctx, "z", "3", "2").Result())(t), int64(0))
		eq(t, "ZCOUNT missing", zmust(c.ZCount(ctx, "nokey", "-inf", "+inf").Result())(t), int64(0))

		// Negative offset selects nothing; negative count means all.
		eq(t, "neg offset", zmust(c.Do(ctx, "zrangebyscore", "z", "-inf", "+inf", "limit", -1, 2).StringSlice())(t), []string{})
		eq(t, "neg count", zmust(c.Do(ctx, "zrangebyscore", "z", "4", "+inf", "limit", 1, -1).StringSlice())(t), []string{"e", "pinf"})

		// Ranks.
		eq(t, "ZRANK", zmust(c.ZRank(ctx, "z", "c").Result())(t), int64(3))
		eq(t, "ZREVRANK", zmust(c.ZRevRank(ctx, "z", "c").Result())(t), int64(3))
		eq(t, "ZRANK first", zmust(c.ZRank(ctx, "z", "ninf").Result())(t), int64(0))
		eq(t, "ZRANK WITHSCORE", zmust(c.ZRankWithScore(ctx, "z", "b").Result())(t), redis.RankScore{Rank: 2, Score: 2})
		eq(t, "ZREVRANK WITHSCORE", zmust(c.ZRevRankWithScore(ctx, "z", "pinf").Result())(t), redis.RankScore{Rank: 0, Score: math.Inf(1)})
		if err := c.ZRank(ctx, "z", "nope").Err(); err != redis.Nil {
			t.Fatalf("ZRANK missing: %v", err)
		}
		if err := c.ZRankWithScore(ctx, "nokey", "a").Err(); err != redis.Nil {
			t.Fatalf("ZRANK WITHSCORE missing: %v", err)
		}
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrank", "z", "a", "withscores")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrank", "z", "a", "withscore", "x")

		// Errors.
		wantDoErrCtx(t, ctx, c, "ERR min or max is not a float", "zrangebyscore", "z", "x", 1)
		wantDoErrCtx(t, ctx, c, "ERR min or max is not a float", "zcount", "z", "(x", 1)
		wantDoErrCtx(t, ctx, c, "ERR min or max not valid string range item", "zrangebylex", "z", "a", "+")
		wantDoErrCtx(t, ctx, c, "ERR min or max not valid string range item", "zlexcount", "z", "+a", "+")
		wantDoErrCtx(t, ctx, c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX", "zrange", "z", 0, -1, "limit", 0, 1)
		wantDoErrCtx(t, ctx, c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX", "zrange", "z", "-", "+", "bylex", "withscores")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrangebyscore", "z", 0, 1, "rev")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrangebyscore", "z", 0, 1, "limit", 0)
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrange", "z", 0, 1, "byscore", "bylex")
		wantDoErrCtx(t, ctx, c, "ERR value is not an integer or out of range", "zrange", "z", "a", 1)
		wantDoErrCtx(t, ctx, c, "ERR value is not an integer or out of range", "zrangebyscore", "z", 0, 1, "limit", "x", 1)
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'zrange' command", "zrange", "z", 0)
	})
}

func TestZLex(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.ZAdd(ctx, "l", zs("a", 0, "b", 0, "c", 0, "d", 0, "e", 0, "ee", 0)...).Result())(t)
		eq(t, "all", zmust(c.ZRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "-", Max: "+"}).Result())(t), []string{"a", "b", "c", "d", "e", "ee"})
		eq(t, "range", zmust(c.ZRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "(a", Max: "[c"}).Result())(t), []string{"b", "c"})
		eq(t, "limit", zmust(c.ZRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "[b", Max: "+", Offset: 1, Count: 2}).Result())(t), []string{"c", "d"})
		eq(t, "rev", zmust(c.ZRevRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "(c", Max: "[e"}).Result())(t), []string{"e", "d"})
		eq(t, "rev all", zmust(c.ZRevRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "-", Max: "+", Count: 2}).Result())(t), []string{"ee", "e"})
		eq(t, "ZRANGE BYLEX REV", zmust(c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "l", Start: "[e", Stop: "(c", ByLex: true, Rev: true}).Result())(t), []string{"e", "d"})
		eq(t, "empty - -", zmust(c.ZRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "-", Max: "-"}).Result())(t), []string{})
		eq(t, "inverted", zmust(c.ZRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "+", Max: "-"}).Result())(t), []string{})
		eq(t, "ZLEXCOUNT", zmust(c.ZLexCount(ctx, "l", "[b", "(e").Result())(t), int64(3))
		eq(t, "ZLEXCOUNT prefix", zmust(c.ZLexCount(ctx, "l", "[e", "[e\xff").Result())(t), int64(2))
		eq(t, "ZREMRANGEBYLEX", zmust(c.ZRemRangeByLex(ctx, "l", "(a", "[c").Result())(t), int64(2))
		eq(t, "after", zmust(c.ZRange(ctx, "l", 0, -1).Result())(t), []string{"a", "d", "e", "ee"})
		eq(t, "ZREMRANGEBYLEX all", zmust(c.ZRemRangeByLex(ctx, "l", "-", "+").Result())(t), int64(4))
		eq(t, "gone", zmust(c.ZCard(ctx, "l").Result())(t), int64(0))
	})
}

func TestZRemRangeAndStore(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2, "c", 3, "d", 4, "e", 5)...).Result())(t)
		eq(t, "ZREMRANGEBYRANK", zmust(c.ZRemRangeByRank(ctx, "z", 0, 1).Result())(t), int64(2))
		eq(t, "ZREMRANGEBYSCORE", zmust(c.ZRemRangeByScore(ctx, "z", "(3", "4").Result())(t), int64(1))
		eq(t, "left", zmust(c.ZRangeWithScores(ctx, "z", 0, -1).Result())(t), zs("c", 3, "e", 5))
		eq(t, "ZREMRANGEBYRANK none", zmust(c.ZRemRangeByRank(ctx, "z", 5, 9).Result())(t), int64(0))
		eq(t, "ZREMRANGEBYRANK missing", zmust(c.ZRemRangeByRank(ctx, "nokey", 0, -1).Result())(t), int64(0))
		wantDoErrCtx(t, ctx, c, "ERR value is not an integer or out of range", "zremrangebyrank", "z", "a", 1)
		wantDoErrCtx(t, ctx, c, "ERR min or max is not a float", "zremrangebyscore", "z", "a", 1)

		zmust(c.ZAdd(ctx, "src", zs("a", 1, "b", 2, "c", 3, "d", 4)...).Result())(t)
		eq(t, "ZRANGESTORE", zmust(c.ZRangeStore(ctx, "dst", redis.ZRangeArgs{Key: "src", Start: 1, Stop: 2}).Result())(t), int64(2))
		eq(t, "dst", zmust(c.ZRangeWithScores(ctx, "dst", 0, -1).Result())(t), zs("b", 2, "c", 3))
		eq(t, "ZRANGESTORE overwrites", zmust(c.ZRangeStore(ctx, "dst", redis.ZRangeArgs{Key: "src", Start: "(2", Stop: "+inf", ByScore: true, Count: 1}).Result())(t), int64(1))
		eq(t, "dst replaced", zmust(c.ZRangeWithScores(ctx, "dst", 0, -1).Result())(t), zs("c", 3))
		eq(t, "ZRANGESTORE lex rev", zmust(c.ZRangeStore(ctx, "dst", redis.ZRangeArgs{Key: "src", Start: "+", Stop: "[c", ByLex: true, Rev: true}).Result())(t), int64(2))
		eq(t, "dst lex", zmust(c.ZRange(ctx, "dst", 0, -1).Result())(t), []string{"c", "d"})
		eq(t, "ZRANGESTORE onto itself", zmust(c.ZRangeStore(ctx, "src", redis.ZRangeArgs{Key: "src", Start: 0, Stop: 0}).Result())(t), int64(1))
		eq(t, "src", zmust(c.ZRange(ctx, "src", 0, -1).Result())(t), []string{"a"})
		eq(t, "ZRANGESTORE empty deletes", zmust(c.ZRangeStore(ctx, "dst", redis.ZRangeArgs{Key: "nokey", Start: 0, Stop: -1}).Result())(t), int64(0))
		eq(t, "dst gone", zmust(c.ZCard(ctx, "dst").Result())(t), int64(0))
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrangestore", "dst", "src", 0, -1, "withscores")
	})
}

func TestZPop(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2.5, "c", 3, "d", 4)...).Result())(t)
		eq(t, "ZPOPMIN", zmust(c.ZPopMin(ctx, "z").Result())(t), zs("a", 1))
		eq(t, "ZPOPMAX 2", zmust(c.ZPopMax(ctx, "z", 2).Result())(t), zs("d", 4, "c", 3))
		eq(t, "ZPOPMIN 0", zmust(c.ZPopMin(ctx, "z", 0).Result())(t), []redis.Z{})
		eq(t, "ZPOPMIN 10", zmust(c.ZPopMin(ctx, "z", 10).Result())(t), zs("b", 2.5))
		eq(t, "emptied", zmust(c.ZCard(ctx, "z").Result())(t), int64(0))
		eq(t, "ZPOPMIN missing", zmust(c.ZPopMin(ctx, "z").Result())(t), []redis.Z{})
		wantDoErrCtx(t, ctx, c, "ERR value is out of range, must be positive", "zpopmin", "z", -1)
		wantDoErrCtx(t, ctx, c, "ERR value is out of range, must be positive", "zpopmin", "z", "x")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zpopmin", "z", 1, 2)

		// Reply shapes: without COUNT a flat pair; with COUNT, RESP3 nests.
		zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2)...).Result())(t)
		flat := zmust(c.Do(ctx, "zpopmin", "z").Slice())(t)
		if len(flat) != 2 || flat[0] != "a" {
			t.Fatalf("ZPOPMIN reply = %#v", flat)
		}
		nested := zmust(c.Do(ctx, "zpopmin", "z", 1).Slice())(t)
		if c.Options().Protocol == 3 {
			if len(nested) != 1 || !reflect.DeepEqual(nested[0], []any{"b", 2.0}) {
				t.Fatalf("RESP3 ZPOPMIN 1 = %#v", nested)
			}
		} else if !reflect.DeepEqual(nested, []any{"b", "2"}) {
			t.Fatalf("RESP2 ZPOPMIN 1 = %#v", nested)
		}

		// ZMPOP.
		zmust(c.ZAdd(ctx, "m2", zs("x", 1, "y", 2, "z", 3)...).Result())(t)
		key, got := zmust2(t, c.ZMPop(ctx, "max", 2, "nokey", "m2").Result)
		eq(t, "ZMPOP key", key, "m2")
		eq(t, "ZMPOP", got, zs("z", 3, "y", 2))
		key, got = zmust2(t, c.ZMPop(ctx, "min", 5, "m2").Result)
		eq(t, "ZMPOP rest", got, zs("x", 1))
		if err := c.ZMPop(ctx, "min", 1, "m2", "nokey").Err(); err != redis.Nil {
			t.Fatalf("ZMPOP on empty: %v", err)
		}
		wantDoErrCtx(t, ctx, c, "ERR numkeys should be greater than 0", "zmpop", 0, "z", "min")
		wantDoErrCtx(t, ctx, c, "ERR numkeys should be greater than 0", "zmpop", "x", "z", "min")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zmpop", 5, "z", "min")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zmpop", 1, "z", "middle")
		wantDoErrCtx(t, ctx, c, "ERR count should be greater than 0", "zmpop", 1, "z", "min", "count", 0)
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zmpop", 1, "z", "min", "count", 1, "count", 2)
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'zmpop' command", "zmpop", 1, "z")
	})
}

func zmust2[A, B any](t *testing.T, f func() (A, B, error)) (A, B) {
	t.Helper()
	a, b, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestZBlockingPopsNonBlockingPart(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2)...).Result())(t)
		eq(t, "BZPOPMIN", *zmust(c.BZPopMin(ctx, time.Second, "nokey", "z").Result())(t), redis.ZWithKey{Key: "z", Z: redis.Z{Member: "a", Score: 1}})
		eq(t, "BZPOPMAX", *zmust(c.BZPopMax(ctx, time.Second, "z").Result())(t), redis.ZWithKey{Key: "z", Z: redis.Z{Member: "b", Score: 2}})
		if err := c.BZPopMin(ctx, time.Second, "z").Err(); err != redis.Nil {
			t.Fatalf("BZPOPMIN on empty: %v", err)
		}
		zmust(c.ZAdd(ctx, "z", zs("a", 1, "b", 2, "c", 3)...).Result())(t)
		key, got := zmust2(t, c.BZMPop(ctx, time.Second, "max", 2, "z").Result)
		eq(t, "BZMPOP", key, "z")
		eq(t, "BZMPOP members", got, zs("c", 3, "b", 2))
		wantDoErrCtx(t, ctx, c, "ERR timeout is not a float or out of range", "bzpopmin", "z", "x")
		wantDoErrCtx(t, ctx, c, "ERR timeout is negative", "bzpopmin", "z", -1)
		wantDoErrCtx(t, ctx, c, "ERR numkeys should be greater than 0", "bzmpop", 0, 0, "z", "min")
		wantDoErrCtx(t, ctx, c, "ERR wrong number of arguments for 'bzmpop' command", "bzmpop", 0, 1, "z")
	})
}

func TestZRandMember(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		members := map[string]float64{}
		var zsIn []redis.Z
		for i := 0; i < 20; i++ {
			m := fmt.Sprintf("m%02d", i)
			members[m] = float64(i) / 2
			zsIn = append(zsIn, redis.Z{Member: m, Score: float64(i) / 2})
		}
		zmust(c.ZAdd(ctx, "z", zsIn...).Result())(t)
		one := zmust(c.ZRandMember(ctx, "z", 1).Result())(t)
		if _, ok := members[one[0]]; !ok || len(one) != 1 {
			t.Fatalf("ZRANDMEMBER 1 = %v", one)
		}
		single := zmust(c.Do(ctx, "zrandmember", "z").Text())(t)
		if _, ok := members[single]; !ok {
			t.Fatalf("ZRANDMEMBER = %q", single)
		}
		distinct := zmust(c.ZRandMember(ctx, "z", 7).Result())(t)
		seen := map[string]bool{}
		for _, m := range distinct {
			if _, ok := members[m]; !ok || seen[m] {
				t.Fatalf("ZRANDMEMBER 7 = %v", distinct)
			}
			seen[m] = true
		}
		eq(t, "count 7", len(distinct), 7)
		all := zmust(c.ZRandMember(ctx, "z", 50).Result())(t)
		eq(t, "count > size", len(all), 20)
		rep := zmust(c.ZRandMemberWithScores(ctx, "z", -30).Result())(t)
		eq(t, "negative count", len(rep), 30)
		for _, z := range rep {
			if members[z.Member.(string)] != z.Score {
				t.Fatalf("score of %v = %v", z.Member, z.Score)
			}
		}
		eq(t, "count 0", zmust(c.ZRandMember(ctx, "z", 0).Result())(t), []string{})
		eq(t, "missing with count", zmust(c.ZRandMember(ctx, "nokey", 3).Result())(t), []string{})
		if err := c.Do(ctx, "zrandmember", "nokey").Err(); err != redis.Nil {
			t.Fatalf("ZRANDMEMBER missing: %v", err)
		}
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zrandmember", "z", 1, "withscore")
		wantDoErrCtx(t, ctx, c, "ERR value is not an integer or out of range", "zrandmember", "z", "x")
		wantDoErrCtx(t, ctx, c, "ERR value is out of range", "zrandmember", "z", "-4611686018427387905", "withscores")
	})
}

// addSet writes a Redis set directly in the set layout (member sub-keys
// with empty values), the way the set commands store them.
func addSet(t *testing.T, s *server.Server, name string, members ...string) {
	t.Helper()
	tx := s.Store().NewTx()
	tx.Lock(0, []byte(name))
	k := zmust(tx.Lookup(0, []byte(name)))(t)
	if _, err := tx.PrepareCollection(k, encoding.TypeSet); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		tx.SetMember(storage.MemberKey(nil, k, 'm', []byte(m)), nil)
	}
	tx.SetSize(k, k.Meta.Size+uint64(len(members)))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// bothWithServer is testutil.Both with access to the server.
func bothWithServer(t *testing.T, f func(t *testing.T, s *server.Server, c *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			s := testutil.Start(t, nil)
			f(t, s, testutil.Client(t, s, proto))
		})
	}
}

func TestZSetOperations(t *testing.T) {
	bothWithServer(t, func(t *testing.T, s *server.Server, c *redis.Client) {
		ctx := testutil.Ctx(t)
		zmust(c.ZAdd(ctx, "a", zs("x", 1, "y", 2, "z", 3)...).Result())(t)
		zmust(c.ZAdd(ctx, "b", zs("y", 10, "z", 20, "w", 30)...).Result())(t)
		addSet(t, s, "set", "x", "w", "v")

		eq(t, "ZUNION", zmust(c.ZUnion(ctx, redis.ZStore{Keys: []string{"a", "b"}}).Result())(t), []string{"x", "y", "z", "w"})
		eq(t, "ZUNION WITHSCORES", zmust(c.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"a", "b"}}).Result())(t), zs("x", 1, "y", 12, "z", 23, "w", 30))
		eq(t, "ZUNION weights max", zmust(c.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"a", "b"}, Weights: []float64{2, 0.5}, Aggregate: "MAX"}).Result())(t),
			zs("x", 2, "y", 5, "z", 10, "w", 15))
		eq(t, "ZUNION with set", zmust(c.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"a", "set"}}).Result())(t), zs("v", 1, "w", 1, "x", 2, "y", 2, "z", 3))
		eq(t, "ZINTER", zmust(c.ZInterWithScores(ctx, &redis.ZStore{Keys: []string{"a", "b"}}).Result())(t), zs("y", 12, "z", 23))
		eq(t, "ZINTER min", zmust(c.ZInterWithScores(ctx, &redis.ZStore{Keys: []string{"a", "b"}, Aggregate: "MIN"}).Result())(t), zs("y", 2, "z", 3))
		eq(t, "ZINTER set", zmust(c.ZInterWithScores(ctx, &redis.ZStore{Keys: []string{"set", "b"}, Weights: []float64{5, 1}}).Result())(t), zs("w", 35))
		eq(t, "ZINTER missing", zmust(c.ZInter(ctx, &redis.ZStore{Keys: []string{"a", "nokey"}}).Result())(t), []string{})
		eq(t, "ZDIFF", zmust(c.ZDiffWithScores(ctx, "a", "b").Result())(t), zs("x", 1))
		eq(t, "ZDIFF set", zmust(c.ZDiff(ctx, "b", "set", "nokey").Result())(t), []string{"y", "z"})
		eq(t, "ZDIFF from set", zmust(c.ZDiffWithScores(ctx, "set", "a").Result())(t), zs("v", 1, "w", 1))
		eq(t, "ZINTERCARD", zmust(c.ZInterCard(ctx, 0, "a", "b").Result())(t), int64(2))
		eq(t, "ZINTERCARD limit", zmust(c.ZInterCard(ctx, 1, "a", "b").Result())(t), int64(1))
		eq(t, "ZINTERCARD set", zmust(c.ZInterCard(ctx, 0, "set", "b", "a").Result())(t), int64(0))

		// inf * 0 weights and inf + -inf sums become 0, as in Redis.
		zmust(c.ZAdd(ctx, "inf", zs("x", math.Inf(1))...).Result())(t)
		zmust(c.ZAdd(ctx, "ninf", zs("x", math.Inf(-1))...).Result())(t)
		eq(t, "inf*0", zmust(c.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"inf"}, Weights: []float64{0}}).Result())(t), zs("x", 0))
		eq(t, "inf-inf", zmust(c.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"inf", "ninf"}}).Result())(t), zs("x", 0))

		// STORE forms overwrite the destination and drop its TTL.
		zmust(c.ZAdd(ctx, "dst", zs("old", 1)...).Result())(t)
		eq(t, "ZUNIONSTORE", zmust(c.ZUnionStore(ctx, "dst", &redis.ZStore{Keys: []string{"a", "b"}, Weights: []float64{1, 2}}).Result())(t), int64(4))
		eq(t, "dst", zmust(c.ZRangeWithScores(ctx, "dst", 0, -1).Result())(t), zs("x", 1, "y", 22, "z", 43, "w", 60))
		eq(t, "ZINTERSTORE", zmust(c.ZInterStore(ctx, "dst", &redis.ZStore{Keys: []string{"dst", "a"}, Aggregate: "max"}).Result())(t), int64(3))
		eq(t, "dst inter", zmust(c.ZRangeWithScores(ctx, "dst", 0, -1).Result())(t), zs("x", 1, "y", 22, "z", 43))
		eq(t, "ZDIFFSTORE", zmust(c.ZDiffStore(ctx, "dst", "b", "a").Result())(t), int64(1))
		eq(t, "dst diff", zmust(c.ZRangeWithScores(ctx, "dst", 0, -1).Result())(t), zs("w", 30))
		eq(t, "ZINTERSTORE empty", zmust(c.ZInterStore(ctx, "dst", &redis.ZStore{Keys: []string{"a", "nokey"}}).Result())(t), int64(0))
		eq(t, "dst deleted", zmust(c.ZCard(ctx, "dst").Result())(t), int64(0))

		// Errors.
		wantDoErrCtx(t, ctx, c, "ERR at least 1 input key is needed for 'zunion' command", "zunion", 0, "a")
		wantDoErrCtx(t, ctx, c, "ERR at least 1 input key is needed for 'zunionstore' command", "zunionstore", "d", 0, "a")
		wantDoErrCtx(t, ctx, c, "ERR at least 1 input key is needed for 'zintercard' command", "zintercard", 0, "a")
		wantDoErrCtx(t, ctx, c, "ERR value is not an integer or out of range", "zinter", "x", "a")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zunion", 3, "a", "b")
		wantDoErrCtx(t, ctx, c, "ERR weight value is not a float", "zunion", 1, "a", "weights", "x")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zunion", 2, "a", "b", "weights", 1)
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zunion", 1, "a", "aggregate", "avg")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zdiff", 1, "a", "weights", 1)
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zdiffstore", "d", 1, "a", "aggregate", "sum")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zunionstore", "d", 1, "a", "withscores")
		wantDoErrCtx(t, ctx, c, "ERR LIMIT can't be negative", "zintercard", 1, "a", "limit", -1)
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zintercard", 1, "a", "limit")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zintercard", 2, "a")
	})
}

func TestZScan(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		want := map[string]float64{}
		var in []redis.Z
		for i := 0; i < 250; i++ {
			m := fmt.Sprintf("member:%03d", i)
			want[m] = float64(i)
			in = append(in, redis.Z{Member: m, Score: float64(i)})
		}
		zmust(c.ZAdd(ctx, "z", in...).Result())(t)
		got := map[string]float64{}
		var cursor uint64
		calls := 0
		for {
			page, next := zmust2(t, c.ZScan(ctx, "z", cursor, "", 7).Result)
			for i := 0; i < len(page); i += 2 {
				got[page[i]] = toFloat(t, page[i+1])
			}
			calls++
			if next == 0 {
				break
			}
			if calls > 1000 {
				t.Fatal("ZSCAN does not end")
			}
			cursor = next
		}
		eq(t, "ZSCAN members", got, want)

		page, next := zmust2(t, c.ZScan(ctx, "z", 0, "member:00?", 1000).Result)
		eq(t, "ZSCAN MATCH cursor", next, uint64(0))
		var names []string
		for i := 0; i < len(page); i += 2 {
			names = append(names, page[i])
		}
		sort.Strings(names)
		eq(t, "ZSCAN MATCH", names, []string{"member:000", "member:001", "member:002", "member:003", "member:004",
			"member:005", "member:006", "member:007", "member:008", "member:009"})
		page, next = zmust2(t, c.ZScan(ctx, "nokey", 0, "", 10).Result)
		eq(t, "ZSCAN missing", len(page), 0)
		eq(t, "ZSCAN missing cursor", next, uint64(0))
		wantDoErrCtx(t, ctx, c, "ERR invalid cursor", "zscan", "z", "abc")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zscan", "z", 0, "count", 0)
		wantDoErrCtx(t, ctx, c, "ERR value is not an integer or out of range", "zscan", "z", 0, "count", "x")
		wantDoErrCtx(t, ctx, c, "ERR syntax error", "zscan", "z", 0, "match")
	})
}

func toFloat(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	switch s {
	case "inf":
		return math.Inf(1)
	case "-inf":
		return math.Inf(-1)
	}
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("score %q: %v", s, err)
	}
	return f
}

func TestZSetCommandTable(t *testing.T) {
	s := testutil.Start(t, nil)
	tab := s.Table()
	cases := []struct {
		args []string
		keys []string
	}{
		{[]string{"zunionstore", "d", "2", "a", "b", "weights", "1", "2"}, []string{"d", "a", "b"}},
		{[]string{"zdiffstore", "d", "1", "a"}, []string{"d", "a"}},
		{[]string{"zinter", "2", "a", "b", "withscores"}, []string{"a", "b"}},
		{[]string{"zintercard", "3", "a", "b", "c", "limit", "1"}, []string{"a", "b", "c"}},
		{[]string{"zmpop", "2", "a", "b", "min"}, []string{"a", "b"}},
		{[]string{"bzmpop", "0", "1", "a", "max"}, []string{"a"}},
		{[]string{"bzpopmin", "a", "b", "0"}, []string{"a", "b"}},
		{[]string{"zrangestore", "d", "s", "0", "-1"}, []string{"d", "s"}},
		{[]string{"zunion", "x", "a"}, nil},
	}
	for _, tc := range cases {
		args := make([][]byte, len(tc.args))
		for i, a := range tc.args {
			args[i] = []byte(a)
		}
		cmd := tab.Lookup(args[0])
		if cmd == nil {
			t.Fatalf("%s missing from the table", tc.args[0])
		}
		var keys []string
		for _, i := range cmd.KeyPositions(args) {
			keys = append(keys, tc.args[i])
		}
		eq(t, strings.Join(tc.args, " "), keys, tc.keys)
	}
	for _, name := range []string{"zadd", "zrange", "zscan", "bzpopmax", "zrandmember"} {
		cmd := tab.Lookup([]byte(name))
		if cmd == nil || cmd.Summary == "" || !slices.Contains(cmd.ACL, "sortedset") {
			t.Fatalf("%s: incomplete table entry", name)
		}
	}
}
