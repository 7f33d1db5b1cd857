package commands_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// must returns a command's result, failing the test on an error.
func must[T any](t *testing.T, cmd interface{ Result() (T, error) }) T {
	t.Helper()
	v, err := cmd.Result()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// text returns a generic command's reply as a string.
func text(t *testing.T, cmd *redis.Cmd) string {
	t.Helper()
	v, err := cmd.Text()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const errWrongTypeText = "WRONGTYPE Operation against a key holding the wrong kind of value"

func TestHashBasics(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if n := must(t, c.HSet(ctx, "h", "a", "1", "b", "2")); n != 2 {
			t.Fatalf("HSET = %d, want 2", n)
		}
		if n := must(t, c.HSet(ctx, "h", "a", "one", "c", "3")); n != 1 {
			t.Fatalf("HSET update = %d, want 1", n)
		}
		if v := must(t, c.HGet(ctx, "h", "a")); v != "one" {
			t.Fatalf("HGET = %q", v)
		}
		if err := c.HGet(ctx, "h", "zz").Err(); err != redis.Nil {
			t.Fatalf("HGET missing field = %v", err)
		}
		if err := c.HGet(ctx, "nokey", "a").Err(); err != redis.Nil {
			t.Fatalf("HGET missing key = %v", err)
		}
		vals := must(t, c.HMGet(ctx, "h", "a", "zz", "c"))
		if len(vals) != 3 || vals[0] != "one" || vals[1] != nil || vals[2] != "3" {
			t.Fatalf("HMGET = %v", vals)
		}
		if n := must(t, c.HLen(ctx, "h")); n != 3 {
			t.Fatalf("HLEN = %d", n)
		}
		if n := must(t, c.HLen(ctx, "nokey")); n != 0 {
			t.Fatalf("HLEN missing = %d", n)
		}
		if n := must(t, c.HStrLen(ctx, "h", "a")); n != 3 {
			t.Fatalf("HSTRLEN = %d", n)
		}
		if n := must(t, c.HStrLen(ctx, "h", "zz")); n != 0 {
			t.Fatalf("HSTRLEN missing = %d", n)
		}
		if !must(t, c.HExists(ctx, "h", "b")) || must(t, c.HExists(ctx, "h", "zz")) {
			t.Fatal("HEXISTS wrong")
		}
		if k := sorted(must(t, c.HKeys(ctx, "h"))); !slices.Equal(k, []string{"a", "b", "c"}) {
			t.Fatalf("HKEYS = %v", k)
		}
		if v := sorted(must(t, c.HVals(ctx, "h"))); !slices.Equal(v, []string{"2", "3", "one"}) {
			t.Fatalf("HVALS = %v", v)
		}
		all := must(t, c.HGetAll(ctx, "h"))
		if len(all) != 3 || all["a"] != "one" || all["b"] != "2" || all["c"] != "3" {
			t.Fatalf("HGETALL = %v", all)
		}
		if all := must(t, c.HGetAll(ctx, "nokey")); len(all) != 0 {
			t.Fatalf("HGETALL missing = %v", all)
		}
		if must(t, c.HSetNX(ctx, "h", "a", "x")) {
			t.Fatal("HSETNX on an existing field set it")
		}
		if !must(t, c.HSetNX(ctx, "h", "d", "4")) || !must(t, c.HSetNX(ctx, "new", "f", "v")) {
			t.Fatal("HSETNX on a new field did not set it")
		}
		if ok := must(t, c.HMSet(ctx, "h", "e", "5")); !ok {
			t.Fatal("HMSET failed")
		}
		if n := must(t, c.HDel(ctx, "h", "a", "zz", "b")); n != 2 {
			t.Fatalf("HDEL = %d", n)
		}
		if n := must(t, c.HLen(ctx, "h")); n != 3 {
			t.Fatalf("HLEN after HDEL = %d", n)
		}
		if n := must(t, c.HDel(ctx, "nokey", "a")); n != 0 {
			t.Fatalf("HDEL missing = %d", n)
		}
		// Removing the last field removes the key: it can take another type.
		must(t, c.HDel(ctx, "h", "c", "d", "e"))
		if n := must(t, c.HLen(ctx, "h")); n != 0 {
			t.Fatalf("HLEN of emptied hash = %d", n)
		}
		if n := must(t, c.SAdd(ctx, "h", "m")); n != 1 {
			t.Fatalf("SADD over an emptied hash = %d", n)
		}
	})
}

func TestHashIncr(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if n := must(t, c.HIncrBy(ctx, "h", "n", 5)); n != 5 {
			t.Fatalf("HINCRBY new = %d", n)
		}
		if n := must(t, c.HIncrBy(ctx, "h", "n", -7)); n != -2 {
			t.Fatalf("HINCRBY = %d", n)
		}
		c.HSet(ctx, "h", "s", "abc", "big", "9223372036854775807", "f", "1.5")
		wantErr(t, c.HIncrBy(ctx, "h", "s", 1).Err(), "ERR hash value is not an integer")
		wantErr(t, c.HIncrBy(ctx, "h", "f", 1).Err(), "ERR hash value is not an integer")
		wantErr(t, c.HIncrBy(ctx, "h", "big", 1).Err(), "ERR increment or decrement would overflow")
		wantErr(t, c.Do(ctx, "hincrby", "h", "n", "x").Err(), "ERR value is not an integer or out of range")

		if v := must(t, c.HIncrByFloat(ctx, "h", "f", 0.25)); v != 1.75 {
			t.Fatalf("HINCRBYFLOAT = %v", v)
		}
		if v := text(t, c.Do(ctx, "hincrbyfloat", "h", "g", "5.0e3")); v != "5000" {
			t.Fatalf("HINCRBYFLOAT formatting = %q", v)
		}
		if v := text(t, c.Do(ctx, "hincrbyfloat", "h", "n", "0.5")); v != "-1.5" {
			t.Fatalf("HINCRBYFLOAT on an integer = %q", v)
		}
		if v := must(t, c.HGet(ctx, "h", "g")); v != "5000" {
			t.Fatalf("stored float = %q", v)
		}
		wantErr(t, c.HIncrByFloat(ctx, "h", "s", 1).Err(), "ERR hash value is not a float")
		wantErr(t, c.Do(ctx, "hincrbyfloat", "h", "f", "x").Err(), "ERR value is not a valid float")
		wantErr(t, c.Do(ctx, "hincrbyfloat", "h", "f", "inf").Err(), "ERR value is NaN or Infinity")
		// Long double, as in Redis: past a double's range is fine, past
		// a long double's is not.
		c.HSet(ctx, "h", "huge", "1e308")
		if err := c.Do(ctx, "hincrbyfloat", "h", "huge", "1e308").Err(); err != nil {
			t.Fatalf("HINCRBYFLOAT past a double's range: %v", err)
		}
		c.HSet(ctx, "h", "huge", "1e4932")
		wantErr(t, c.Do(ctx, "hincrbyfloat", "h", "huge", "1e4932").Err(), "ERR increment would produce NaN or Infinity")
	})
}

func TestHashErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.Set(ctx, "str", "v", 0)
		for _, args := range [][]any{
			{"hset", "str", "a", "1"}, {"hsetnx", "str", "a", "1"}, {"hmset", "str", "a", "1"},
			{"hget", "str", "a"}, {"hmget", "str", "a"}, {"hdel", "str", "a"}, {"hlen", "str"},
			{"hstrlen", "str", "a"}, {"hexists", "str", "a"}, {"hkeys", "str"}, {"hvals", "str"},
			{"hgetall", "str"}, {"hincrby", "str", "a", "1"}, {"hincrbyfloat", "str", "a", "1"},
			{"hrandfield", "str"}, {"hrandfield", "str", "2"}, {"hscan", "str", "0"},
		} {
			wantErr(t, c.Do(ctx, args...).Err(), errWrongTypeText)
		}
		for _, args := range [][]any{
			{"hset", "h"}, {"hset", "h", "a"}, {"hset", "h", "a", "1", "b"}, {"hmset", "h", "a"},
			{"hget", "h"}, {"hmget", "h"}, {"hdel", "h"}, {"hlen"}, {"hsetnx", "h", "a"},
			{"hincrby", "h", "a"}, {"hrandfield"}, {"hscan", "h"}, {"hgetall"},
		} {
			name := args[0].(string)
			wantErr(t, c.Do(ctx, args...).Err(), fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
		}
		c.HSet(ctx, "h", "a", "1")
		wantErr(t, c.Do(ctx, "hrandfield", "h", "x").Err(), "ERR value is not an integer or out of range")
		wantErr(t, c.Do(ctx, "hrandfield", "h", "1", "withvalue").Err(), "ERR syntax error")
		wantErr(t, c.Do(ctx, "hrandfield", "h", "1", "withvalues", "x").Err(), "ERR syntax error")
		wantErr(t, c.Do(ctx, "hrandfield", "h", "-9223372036854775807", "withvalues").Err(), "ERR value is out of range")
		wantErr(t, c.Do(ctx, "hscan", "h", "x").Err(), "ERR invalid cursor")
		wantErr(t, c.Do(ctx, "hscan", "h", "0", "count", "0").Err(), "ERR syntax error")
		wantErr(t, c.Do(ctx, "hscan", "h", "0", "count", "x").Err(), "ERR value is not an integer or out of range")
		wantErr(t, c.Do(ctx, "hscan", "h", "0", "match").Err(), "ERR syntax error")
		wantErr(t, c.Do(ctx, "hscan", "h", "0", "novalues").Err(), "ERR syntax error")
	})
}

func TestHRandField(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if err := c.HRandField(ctx, "nokey", 1).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Do(ctx, "hrandfield", "nokey").Err(); err != redis.Nil {
			t.Fatalf("HRANDFIELD missing key = %v", err)
		}
		if v := must(t, c.HRandField(ctx, "nokey", 3)); len(v) != 0 {
			t.Fatalf("HRANDFIELD missing key count = %v", v)
		}
		want := map[string]string{}
		for i := range 20 {
			want[fmt.Sprint("f", i)] = fmt.Sprint("v", i)
		}
		c.HSet(ctx, "h", want)
		one := text(t, c.Do(ctx, "hrandfield", "h"))
		if _, ok := want[one]; !ok {
			t.Fatalf("HRANDFIELD = %q", one)
		}
		for _, tc := range []struct {
			count    int
			n        int
			distinct bool
		}{{5, 5, true}, {20, 20, true}, {100, 20, true}, {-50, 50, false}, {0, 0, true}} {
			fs := must(t, c.HRandField(ctx, "h", tc.count))
			if len(fs) != tc.n {
				t.Fatalf("HRANDFIELD %d gave %d fields", tc.count, len(fs))
			}
			seen := map[string]bool{}
			for _, f := range fs {
				if _, ok := want[f]; !ok {
					t.Fatalf("HRANDFIELD %d gave unknown field %q", tc.count, f)
				}
				if seen[f] && tc.distinct {
					t.Fatalf("HRANDFIELD %d repeated %q", tc.count, f)
				}
				seen[f] = true
			}
		}
		for _, count := range []int{3, -30, 40} {
			kvs := must(t, c.HRandFieldWithValues(ctx, "h", count))
			n := min(count, 20)
			if count < 0 {
				n = -count
			}
			if len(kvs) != n {
				t.Fatalf("HRANDFIELD %d WITHVALUES gave %d pairs", count, len(kvs))
			}
			for _, kv := range kvs {
				if want[kv.Key] != kv.Value {
					t.Fatalf("HRANDFIELD WITHVALUES pair %q=%q", kv.Key, kv.Value)
				}
			}
		}
	})
}

func TestHScan(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		want := map[string]string{}
		args := []any{}
		// NB: more fields than hash-max-listpack-entries: a listpack is
		// answered whole (TestScanCompactWhole).
		for i := range 600 {
			f, v := fmt.Sprintf("field:%03d", i), fmt.Sprint(i)
			want[f] = v
			args = append(args, f, v)
		}
		c.HSet(ctx, "h", args...)
		got := map[string]string{}
		var cursor uint64
		calls := 0
		for {
			kv, next, err := c.HScan(ctx, "h", cursor, "", 37).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(kv)%2 != 0 || len(kv) > 2*37 {
				t.Fatalf("HSCAN page of %d items", len(kv))
			}
			for i := 0; i < len(kv); i += 2 {
				got[kv[i]] = kv[i+1]
			}
			calls++
			if cursor = next; cursor == 0 {
				break
			}
			if calls > 100 {
				t.Fatal("HSCAN does not finish")
			}
		}
		if len(got) != len(want) {
			t.Fatalf("HSCAN saw %d fields, want %d", len(got), len(want))
		}
		for f, v := range want {
			if got[f] != v {
				t.Fatalf("HSCAN %s = %q, want %q", f, got[f], v)
			}
		}
		// MATCH filters what COUNT examined; iterate to the end.
		var matched []string
		cursor = 0
		for {
			kv, next := must2(t, c.HScan(ctx, "h", cursor, "field:1?0", 50))
			for i := 0; i < len(kv); i += 2 {
				matched = append(matched, kv[i])
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		if want := []string{"field:100", "field:110", "field:120", "field:130", "field:140", "field:150", "field:160", "field:170", "field:180", "field:190"}; !slices.Equal(sorted(matched), want) {
			t.Fatalf("HSCAN MATCH = %v", matched)
		}
		kv, next := must2(t, c.HScan(ctx, "nokey", 0, "", 10))
		if len(kv) != 0 || next != 0 {
			t.Fatalf("HSCAN missing key = %v, %d", kv, next)
		}
	})
}

func must2(t *testing.T, cmd *redis.ScanCmd) ([]string, uint64) {
	t.Helper()
	kv, next, err := cmd.Result()
	if err != nil {
		t.Fatal(err)
	}
	return kv, next
}

// TestHashPipelineSeesOwnWrites runs writes and reads of one hash in one
// pipeline: the reads see the uncommitted writes of the batch.
func TestHashPipelineSeesOwnWrites(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		p := c.Pipeline()
		p.HSet(ctx, "h", "a", "1", "b", "2")
		p.HDel(ctx, "h", "a")
		p.HIncrBy(ctx, "h", "b", 3)
		getall := p.HGetAll(ctx, "h")
		hlen := p.HLen(ctx, "h")
		scan := p.HScan(ctx, "h", 0, "", 10)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if all := getall.Val(); len(all) != 1 || all["b"] != "5" {
			t.Fatalf("HGETALL in pipeline = %v", all)
		}
		if hlen.Val() != 1 {
			t.Fatalf("HLEN in pipeline = %d", hlen.Val())
		}
		if kv, _ := scan.Val(); strings.Join(kv, ",") != "b,5" {
			t.Fatalf("HSCAN in pipeline = %v", kv)
		}
	})
}
