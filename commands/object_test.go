package commands_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

func nums(from, to int) []any {
	var out []any
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// TestObjectEncodingThresholds checks OBJECT ENCODING at the edges of the
// default thresholds, as redis-server 7.0.15 reports the same keys built by
// the same commands.
func TestObjectEncodingThresholds(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		long := func(n int) string { return strings.Repeat("x", n) }
		c.SAdd(ctx, "si512", nums(1, 512)...)
		c.SAdd(ctx, "si513", nums(1, 513)...)
		c.SAdd(ctx, "sneg", "-5", "9223372036854775807", "-9223372036854775808")
		c.SAdd(ctx, "sbig", "9223372036854775808")
		c.SAdd(ctx, "szero", "01")
		c.SAdd(ctx, "sstr", "1", "a")
		for i := 1; i <= 513; i++ {
			f := "f" + strconv.Itoa(i)
			if i <= 128 {
				c.ZAdd(ctx, "z128", redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
			}
			if i <= 129 {
				c.ZAdd(ctx, "z129", redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
			}
			if i <= 512 {
				c.HSet(ctx, "h512", f, "v")
			}
			c.HSet(ctx, "h513", f, "v")
		}
		c.HSet(ctx, "hv64", "f", long(64))
		c.HSet(ctx, "hv65", "f", long(65))
		c.HSet(ctx, "hf65", long(65), "v")
		c.ZAdd(ctx, "zm64", redis.Z{Score: 1, Member: long(64)})
		c.ZAdd(ctx, "zm65", redis.Z{Score: 1, Member: long(65)})
		c.RPush(ctx, "lsmall", "a", "b", "1")
		c.RPush(ctx, "l9k", long(9000))
		for k, want := range map[string]string{
			"si512": "intset", "si513": "hashtable", "sneg": "intset", "sbig": "hashtable", "szero": "hashtable", "sstr": "hashtable",
			"h512": "listpack", "h513": "hashtable", "hv64": "listpack", "hv65": "hashtable", "hf65": "hashtable",
			"z128": "listpack", "z129": "skiplist", "zm64": "listpack", "zm65": "skiplist",
			"lsmall": "quicklist", "l9k": "quicklist",
		} {
			if got, err := c.ObjectEncoding(ctx, k).Result(); err != nil || got != want {
				t.Errorf("OBJECT ENCODING %s = %q, %v; want %q", k, got, err, want)
			}
		}
	})
}

// oe is OBJECT ENCODING key, for run's steps.
func oe(key string) []any { return a("object", "encoding", key) }

// Each threshold: the value turns large at the configured size and stays
// so after shrinking; a value written before CONFIG SET converts at its
// next write. The replies are redis-server 7.0.15's to the same commands.

func TestHashMaxListpackEntries(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "hash-max-listpack-entries", "4"), "OK"},
			{a("hset", "h", "a", 1, "b", 2, "c", 3, "d", 4), int64(4)}, {oe("h"), "listpack"},
			{a("hset", "h", "e", 5), int64(1)}, {oe("h"), "hashtable"},
			{a("hdel", "h", "e", "d"), int64(2)}, {oe("h"), "hashtable"},
			{a("del", "h"), int64(1)},
			{a("hset", "h", "a", 1, "b", 2, "c", 3), int64(3)},
			{a("config", "set", "hash-max-ziplist-entries", "2"), "OK"}, {oe("h"), "listpack"},
			{a("hset", "h", "a", 9), int64(0)}, {oe("h"), "hashtable"},
		})
	})
}

func TestHashMaxListpackValue(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "hash-max-listpack-value", "3"), "OK"},
			{a("hset", "h", "f", "abc"), int64(1)}, {oe("h"), "listpack"},
			{a("hsetnx", "h", "f", "abcdef"), int64(0)}, {oe("h"), "listpack"},
			{a("hincrby", "h", "n", 999), int64(999)}, {oe("h"), "listpack"},
			{a("hincrby", "h", "n", 1), int64(1000)}, {oe("h"), "hashtable"},
		})
	})
}

func TestSetMaxIntsetEntries(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "set-max-intset-entries", "3"), "OK"},
			{a("sadd", "s", 1, 2, 3), int64(3)}, {oe("s"), "intset"},
			{a("sadd", "s", 4), int64(1)}, {oe("s"), "hashtable"},
			{a("srem", "s", 4, 3), int64(2)}, {oe("s"), "hashtable"},
			{a("sinterstore", "s", "s", "s"), int64(2)}, {oe("s"), "intset"},
			{a("sadd", "s", "a"), int64(1)}, {oe("s"), "hashtable"},
		})
	})
}

func TestZSetMaxListpackEntries(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "zset-max-listpack-entries", "3"), "OK"},
			{a("zadd", "z", 1, "a", 2, "b", 3, "c"), int64(3)}, {oe("z"), "listpack"},
			{a("config", "set", "zset-max-ziplist-entries", "2"), "OK"}, {oe("z"), "listpack"},
			{a("zadd", "z", 6, "a"), int64(0)}, {oe("z"), "listpack"},
			{a("zadd", "z", 4, "d"), int64(1)}, {oe("z"), "skiplist"},
			{a("zrem", "z", "d", "c"), int64(2)}, {oe("z"), "skiplist"},
			{a("zunionstore", "z", 1, "z"), int64(2)}, {oe("z"), "listpack"},
		})
	})
}

func TestZSetMaxListpackValue(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "zset-max-listpack-value", "3"), "OK"},
			{a("zadd", "z", 1, "abc"), int64(1)}, {oe("z"), "listpack"},
			{a("zadd", "z", 2, "abcd"), int64(1)}, {oe("z"), "skiplist"},
			{a("zrem", "z", "abcd"), int64(1)}, {oe("z"), "skiplist"},
		})
	})
}

// TestListMaxListpackSize: in Redis 7.0 a list is a quicklist whatever
// list-max-listpack-size makes of its nodes.
func TestListMaxListpackSize(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "list-max-listpack-size", "2"), "OK"},
			{a("rpush", "l", "a"), int64(1)}, {oe("l"), "quicklist"},
			{a("rpush", "l", "b", "c", "d"), int64(4)}, {oe("l"), "quicklist"},
		})
	})
}

// TestHllSparseMaxBytes: a sparse HyperLogLog turns dense (12304 bytes)
// when it would grow past hll-sparse-max-bytes.
func TestHllSparseMaxBytes(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("config", "set", "hll-sparse-max-bytes", "30"), "OK"},
			{a("pfadd", "hll", "a", "b", "c"), int64(1)}, {a("strlen", "hll"), int64(27)},
			{a("pfadd", "hll", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p"), int64(1)},
			{a("strlen", "hll"), int64(12304)},
		})
	})
}
