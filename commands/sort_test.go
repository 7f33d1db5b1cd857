package commands_test

import (
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// wantSort runs a SORT-family command and compares its reply with want,
// "<nil>" standing for a null.
func wantSort(t *testing.T, c *redis.Client, want []string, args ...any) {
	t.Helper()
	got, err := c.Do(testutil.Ctx(t), args...).Slice()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var s []string
	for _, v := range got {
		if v == nil {
			s = append(s, "<nil>")
		} else {
			s = append(s, v.(string))
		}
	}
	if !slices.Equal(s, want) && !(len(s) == 0 && len(want) == 0) {
		t.Fatalf("%v = %q, want %q", args, s, want)
	}
}

// The expected replies below were checked against redis-server 7.0.
func TestSort(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.RPush(ctx, "l", "3", "1", "2", "10", "-5", "2.5")
		c.RPush(ctx, "la", "b", "a", "c", "B", "")
		c.SAdd(ctx, "s", "5", "3", "9", "1")
		c.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "c"}, redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 3, Member: "a"})
		set(t, c, "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "5", "w_-5", "100")
		c.HSet(ctx, "h_3", "f", "3", "n", "three")
		c.HSet(ctx, "h_1", "f", "1", "n", "one")
		c.HSet(ctx, "h_2", "f", "2")

		wantSort(t, c, []string{"-5", "1", "2", "2.5", "3", "10"}, "sort", "l")
		wantSort(t, c, []string{"10", "3", "2.5", "2", "1", "-5"}, "sort", "l", "desc")
		wantSort(t, c, []string{"1", "2"}, "sort", "l", "limit", 1, 2)
		wantSort(t, c, []string{"1", "2", "2.5", "3", "10"}, "sort", "l", "limit", 1, -1)
		wantSort(t, c, []string{"-5", "1"}, "sort", "l", "limit", -5, 2)
		wantSort(t, c, nil, "sort", "l", "limit", 10, 2)
		wantSort(t, c, nil, "sort", "l", "limit", 0, 0)
		wantSort(t, c, []string{"", "B", "a", "b", "c"}, "sort", "la", "alpha")
		wantSort(t, c, []string{"c", "b", "a", "B", ""}, "sort", "la", "alpha", "desc")
		wantSort(t, c, []string{"1", "3", "5", "9"}, "sort", "s")
		wantSort(t, c, []string{"5", "3"}, "sort", "s", "desc", "limit", 1, 2)
		wantSort(t, c, []string{"a", "b", "c"}, "sort", "z", "alpha")

		// BY with string keys and hash fields; GET # and GET patterns.
		wantSort(t, c, []string{"2.5", "10", "1", "2", "3", "-5"}, "sort", "l", "by", "w_*")
		wantSort(t, c, []string{"2.5", "<nil>", "10", "5", "1", "10", "2", "20", "3", "30", "-5", "100"},
			"sort", "l", "by", "w_*", "get", "#", "get", "w_*")
		wantSort(t, c, []string{"<nil>", "-5", "<nil>", "10", "<nil>", "2.5", "one", "1", "<nil>", "2", "three", "3"},
			"sort", "l", "by", "h_*->f", "get", "h_*->n", "get", "#")
		wantSort(t, c, []string{"10", "-5", "2.5", "1", "2", "3"}, "sort", "l", "by", "h_*->f", "alpha")
		wantSort(t, c, []string{"<nil>", "<nil>"}, "sort", "l", "get", "nokey", "limit", 0, 2)
		wantSort(t, c, []string{"<nil>", "<nil>"}, "sort", "l", "get", "h_*", "limit", 0, 2) // a hash is no string

		// BY without '*': the key's own order, LIMIT and DESC applied to it.
		wantSort(t, c, []string{"3", "1", "2", "10", "-5", "2.5"}, "sort", "l", "by", "nosort")
		wantSort(t, c, []string{"2.5", "-5", "10", "2", "1", "3"}, "sort", "l", "by", "nosort", "desc")
		wantSort(t, c, []string{"1", "2", "10"}, "sort", "l", "by", "nosort", "limit", 1, 3)
		wantSort(t, c, []string{"-5", "10", "2"}, "sort", "l", "by", "nosort", "desc", "limit", 1, 3)
		wantSort(t, c, []string{"c", "b", "a"}, "sort", "z", "by", "nosort")
		wantSort(t, c, []string{"b"}, "sort", "z", "by", "nosort", "desc", "limit", 1, 1)
		wantSort(t, c, []string{"3", "30", "1", "10"}, "sort", "l", "by", "nosort", "get", "#", "get", "w_*", "limit", 0, 2)

		// STORE writes a list (no expiry) and replies its length.
		c.SAdd(ctx, "dst", "old")
		c.Expire(ctx, "dst", 1000e9)
		wantInt(t, c, 6, "sort", "l", "store", "dst")
		if v := c.LRange(ctx, "dst", 0, -1).Val(); !slices.Equal(v, []string{"-5", "1", "2", "2.5", "3", "10"}) {
			t.Fatalf("stored %q", v)
		}
		wantInt(t, c, -1, "ttl", "dst")
		wantInt(t, c, 4, "sort", "l", "by", "w_*", "get", "h_*->n", "limit", 0, 4, "store", "dst")
		if v := c.LRange(ctx, "dst", 0, -1).Val(); !slices.Equal(v, []string{"", "", "one", ""}) {
			t.Fatalf("stored GET %q", v)
		}
		// A set under BY nosort STORE is sorted, so what is stored does
		// not depend on the set's internal order.
		c.SAdd(ctx, "sa", "y", "x", "z")
		wantInt(t, c, 3, "sort", "sa", "by", "nosort", "store", "dst2")
		if v := c.LRange(ctx, "dst2", 0, -1).Val(); !slices.Equal(v, []string{"x", "y", "z"}) {
			t.Fatalf("stored set %q", v)
		}
		// An empty result deletes the destination.
		wantInt(t, c, 0, "sort", "missing", "store", "dst2")
		wantInt(t, c, 0, "exists", "dst2")
		wantSort(t, c, nil, "sort", "missing")

		// SORT_RO reads like SORT and refuses STORE.
		wantSort(t, c, []string{"c", "b", "a", "B", ""}, "sort_ro", "la", "desc", "alpha")
		wantDoErr(t, c, "ERR syntax error", "sort_ro", "l", "store", "dst")

		// Errors.
		c.RPush(ctx, "bad", "1", "x", "2")
		wantDoErr(t, c, "ERR One or more scores can't be converted into double", "sort", "bad")
		wantDoErr(t, c, "ERR One or more scores can't be converted into double", "sort", "la")
		set(t, c, "w_x", "abc")
		c.RPush(ctx, "lx", "x", "1")
		wantDoErr(t, c, "ERR One or more scores can't be converted into double", "sort", "lx", "by", "w_*", "store", "dst")
		wantInt(t, c, 4, "llen", "dst") // untouched
		wantSort(t, c, []string{"1", "2", "x"}, "sort", "bad", "alpha")
		set(t, c, "str", "x")
		c.HSet(ctx, "hh", "a", "b")
		wantDoErr(t, c, "WRONGTYPE Operation against a key holding the wrong kind of value", "sort", "str")
		wantDoErr(t, c, "WRONGTYPE Operation against a key holding the wrong kind of value", "sort_ro", "hh")
		wantDoErr(t, c, "ERR syntax error", "sort", "l", "foo")
		wantDoErr(t, c, "ERR syntax error", "sort", "l", "limit", 1)
		wantDoErr(t, c, "ERR syntax error", "sort", "l", "store")
		wantDoErr(t, c, "ERR syntax error", "sort", "l", "by")
		wantDoErr(t, c, "ERR syntax error", "sort", "l", "get")
		wantDoErr(t, c, "ERR value is not an integer or out of range", "sort", "l", "limit", "a", 1)
		wantDoErr(t, c, "ERR wrong number of arguments for 'sort' command", "sort")
		wantDoErr(t, c, "ERR wrong number of arguments for 'sort_ro' command", "sort_ro")
	})
}

func TestSortWeights(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		// Weights parse as C's strtod: leading blanks, hex, inf; the
		// empty string is 0. Ties fall back to the elements' bytes.
		c.RPush(ctx, "t", " 5", "0x10", "inf", "-inf", "", "1e3", ".5", "5.")
		wantSort(t, c, []string{"-inf", "", ".5", " 5", "5.", "0x10", "1e3", "inf"}, "sort", "t")
		for _, bad := range []string{"1e400", "5 ", "nan", "1e-400", " "} {
			c.Del(ctx, "b")
			c.RPush(ctx, "b", bad)
			wantDoErr(t, c, "ERR One or more scores can't be converted into double", "sort", "b")
		}
		c.RPush(ctx, "ties", "b", "a", "c", "1", "01")
		set(t, c, "w_a", "1", "w_b", "1", "w_c", "1")
		wantSort(t, c, []string{"01", "1", "a", "b", "c"}, "sort", "ties", "by", "w_*")
		wantSort(t, c, []string{"c", "b", "a", "1", "01"}, "sort", "ties", "by", "w_*", "desc")
	})
}

func TestSortKeys(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		got, err := c.CommandGetKeys(ctx, "sort", "l", "by", "x", "store", "dst", "get", "y", "store", "d2").Result()
		if err != nil || !slices.Equal(got, []string{"l", "d2"}) {
			t.Fatalf("COMMAND GETKEYS sort = %q, %v", got, err)
		}
		got, err = c.CommandGetKeys(ctx, "sort_ro", "l", "by", "x").Result()
		if err != nil || !slices.Equal(got, []string{"l"}) {
			t.Fatalf("COMMAND GETKEYS sort_ro = %q, %v", got, err)
		}
	})
}
