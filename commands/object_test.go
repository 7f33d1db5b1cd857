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
// default thresholds (sets, hashes and sorted sets as redis-server 7.0 and
// 7.2 report them; small lists and small non-integer sets as 7.2 does).
func TestObjectEncodingThresholds(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		long := func(n int) string { return strings.Repeat("x", n) }
		c.SAdd(ctx, "si512", nums(1, 512)...)
		c.SAdd(ctx, "si513", nums(1, 513)...)
		c.SAdd(ctx, "sneg", "-5", "9223372036854775807", "-9223372036854775808")
		c.SAdd(ctx, "sbig", "9223372036854775808")
		c.SAdd(ctx, "szero", "01")
		c.SAdd(ctx, "sstr128", nums(1, 127)...)
		c.SAdd(ctx, "sstr128", "a")
		c.SAdd(ctx, "sstr129", nums(1, 128)...)
		c.SAdd(ctx, "sstr129", "a")
		c.SAdd(ctx, "slong", long(65))
		for i := 1; i <= 129; i++ {
			if i <= 128 {
				c.HSet(ctx, "h128", "f"+strconv.Itoa(i), "v")
				c.ZAdd(ctx, "z128", redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
			}
			c.HSet(ctx, "h129", "f"+strconv.Itoa(i), "v")
			c.ZAdd(ctx, "z129", redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
		}
		c.HSet(ctx, "hv64", "f", long(64))
		c.HSet(ctx, "hv65", "f", long(65))
		c.HSet(ctx, "hf65", long(65), "v")
		c.ZAdd(ctx, "zm64", redis.Z{Score: 1, Member: long(64)})
		c.ZAdd(ctx, "zm65", redis.Z{Score: 1, Member: long(65)})
		c.RPush(ctx, "lsmall", "a", "b", "1")
		c.RPush(ctx, "lints", nums(1, 4000)...) // about 11.6 KB as a listpack
		c.RPush(ctx, "l8k", long(8000))
		c.RPush(ctx, "l9k", long(9000))
		for k, want := range map[string]string{
			"si512": "intset", "si513": "hashtable", "sneg": "intset", "sbig": "listpack", "szero": "listpack",
			"sstr128": "listpack", "sstr129": "hashtable", "slong": "hashtable",
			"h128": "listpack", "h129": "hashtable", "hv64": "listpack", "hv65": "hashtable", "hf65": "hashtable",
			"z128": "listpack", "z129": "skiplist", "zm64": "listpack", "zm65": "skiplist",
			"lsmall": "listpack", "lints": "quicklist", "l8k": "listpack", "l9k": "quicklist",
		} {
			if got, err := c.ObjectEncoding(ctx, k).Result(); err != nil || got != want {
				t.Errorf("OBJECT ENCODING %s = %q, %v; want %q", k, got, err, want)
			}
		}
	})
}
