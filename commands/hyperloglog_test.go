package commands_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

const notHLL = errText("WRONGTYPE Key is not a valid HyperLogLog string value.")

func hexBytes(t *testing.T, s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPfaddPfcountLayout(t *testing.T) {
	bothWithHash(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("pfadd", "x", "a", "b", "c"), int64(1)},
			{a("pfadd", "x", "a"), int64(0)},
			// The bytes redis-server 7.0 holds for the same input: a sparse
			// HLL with a stale cached cardinality...
			{a("get", "x"), hexBytes(t, "48594c4c01000000000000000000008060f38050b1844bfb80425a")},
			{a("pfcount", "x"), int64(3)},
			// ... which PFCOUNT computes and caches in the value.
			{a("get", "x"), hexBytes(t, "48594c4c01000000030000000000000060f38050b1844bfb80425a")},
			{a("pfadd", "e"), int64(1)},
			{a("pfadd", "e"), int64(0)},
			{a("pfcount", "e"), int64(0)},
			{a("pfcount", "missing"), int64(0)},
			{a("pfcount", "missing", "x"), int64(3)},
			{a("set", "str", "foo"), "OK"},
			{a("pfadd", "str", "a"), notHLL},
			{a("pfcount", "str"), notHLL},
			{a("pfcount", "x", "str"), notHLL},
			{a("pfmerge", "x", "str"), notHLL},
			{a("pfmerge", "str", "x"), notHLL},
			{a("pfadd", "hash", "a"), wrongType},
			{a("pfcount", "hash"), wrongType},
			{a("pfcount", "x", "hash"), wrongType},
			{a("pfmerge", "d", "hash"), wrongType},
			// A dense header with the wrong length is not a HyperLogLog.
			{a("set", "hd", hexBytes(t, "48594c4c000000000000000000000000")), "OK"},
			{a("pfcount", "hd"), notHLL},
			// Sparse registers that do not cover 16384 registers are corrupt.
			{a("set", "hs", hexBytes(t, "48594c4c01000000000000000000008080")), "OK"},
			{a("pfcount", "hs"), errText("INVALIDOBJ Corrupted HLL object detected")},
			{a("pfadd"), errText("ERR wrong number of arguments for 'pfadd' command")},
			{a("pfcount"), errText("ERR wrong number of arguments for 'pfcount' command")},
			{a("pfmerge"), errText("ERR wrong number of arguments for 'pfmerge' command")},
		})
	})
}

func pfaddRange(t *testing.T, c *redis.Client, key, prefix string, from, to int) {
	t.Helper()
	ctx := testutil.Ctx(t)
	for i := from; i <= to; i += 100 {
		var els []any
		for j := i; j < i+100 && j <= to; j++ {
			els = append(els, fmt.Sprintf("%s%d", prefix, j))
		}
		if err := c.PFAdd(ctx, key, els...).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// The expected counts are what redis-server 7.0 answers for the same
// PFADDs (elements "1".."10000", "a1".."a100", "b1".."b3000" and
// "c1".."c50000", added 100 at a time): the estimator and the register
// layout are Redis's, so the estimates are equal, not merely close.
func TestPfcountMatchesRedis(t *testing.T) {
	bothWithHash(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		pfaddRange(t, c, "h", "", 1, 10000)
		pfaddRange(t, c, "a", "a", 1, 100)
		pfaddRange(t, c, "b", "b", 1, 3000)
		pfaddRange(t, c, "c", "c", 1, 50000)
		for key, want := range map[string]int64{"h": 9988, "a": 99, "b": 3036, "c": 49922} {
			n, err := c.PFCount(ctx, key).Result()
			if err != nil || n != want {
				t.Fatalf("PFCOUNT %s = %d, %v; redis-server 7.0 gives %d", key, n, err, want)
			}
		}
		if n, _ := c.PFCount(ctx, "h").Result(); n < 9900 || n > 10100 {
			t.Fatalf("PFCOUNT h = %d, not within 1%% of 10000", n)
		}
		// 10000 elements make the value dense; GET shows the raw layout.
		v, err := c.Get(ctx, "h").Result()
		if err != nil || !strings.HasPrefix(v, "HYLL\x00") || len(v) != 12304 {
			t.Fatalf("GET h: %d bytes starting %q, %v", len(v), v[:min(len(v), 5)], err)
		}
		// Union of sparse and dense HLLs, with and without PFMERGE.
		if n, err := c.PFCount(ctx, "a", "b", "h").Result(); err != nil || n != 13096 {
			t.Fatalf("PFCOUNT a b h = %d, %v", n, err)
		}
		if err := c.PFMerge(ctx, "m", "a", "b").Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.PFCount(ctx, "m").Result(); err != nil || n != 3139 {
			t.Fatalf("PFCOUNT m = %d, %v", n, err)
		}
		if err := c.PFMerge(ctx, "m", "h").Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.PFCount(ctx, "m").Result(); err != nil || n != 13096 {
			t.Fatalf("PFCOUNT m after merging h = %d, %v", n, err)
		}
		if v, _ := c.Get(ctx, "m").Result(); len(v) != 12304 {
			t.Fatalf("merging a dense HLL leaves a %d-byte value, want dense", len(v))
		}
		// PFMERGE with only a destination creates an empty HLL.
		if err := c.PFMerge(ctx, "empty").Err(); err != nil {
			t.Fatal(err)
		}
		if v, _ := c.Get(ctx, "empty").Result(); v != "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff" {
			t.Fatalf("GET empty = %q", v)
		}
	})
}
