package commands_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

func wantRange(t *testing.T, ctx context.Context, c *redis.Client, key string, want ...string) {
	t.Helper()
	got, err := c.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s: %v", key, err)
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("LRANGE %s = %q, want %q", key, got, want)
	}
}

// wantGone checks that key does not exist: GET answers nil for a missing
// key and WRONGTYPE for a list.
func wantGone(t *testing.T, ctx context.Context, c *redis.Client, key string) {
	t.Helper()
	if err := c.Get(ctx, key).Err(); err != redis.Nil {
		t.Fatalf("GET %s = %v, want nil: the emptied list should be gone", key, err)
	}
}

func TestListPushPopRange(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if n, err := c.RPush(ctx, "l", "a", "b", "c").Result(); err != nil || n != 3 {
			t.Fatalf("RPUSH = %d, %v", n, err)
		}
		if n, err := c.LPush(ctx, "l", "y", "z").Result(); err != nil || n != 5 {
			t.Fatalf("LPUSH = %d, %v", n, err)
		}
		wantRange(t, ctx, c, "l", "z", "y", "a", "b", "c")
		if n, _ := c.LLen(ctx, "l").Result(); n != 5 {
			t.Fatalf("LLEN = %d", n)
		}
		for _, tc := range []struct {
			start, stop int64
			want        []string
		}{
			{1, 2, []string{"y", "a"}},
			{-2, -1, []string{"b", "c"}},
			{-100, 100, []string{"z", "y", "a", "b", "c"}},
			{3, 1, []string{}},
			{5, 10, []string{}},
			{0, -6, []string{}},
		} {
			got, err := c.LRange(ctx, "l", tc.start, tc.stop).Result()
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("LRANGE %d %d = %q, %v; want %q", tc.start, tc.stop, got, err, tc.want)
			}
		}
		if v, _ := c.LIndex(ctx, "l", -1).Result(); v != "c" {
			t.Fatalf("LINDEX -1 = %q", v)
		}
		if err := c.LIndex(ctx, "l", 5).Err(); err != redis.Nil {
			t.Fatalf("LINDEX 5 = %v", err)
		}
		if v, _ := c.LPop(ctx, "l").Result(); v != "z" {
			t.Fatalf("LPOP = %q", v)
		}
		if v, _ := c.RPop(ctx, "l").Result(); v != "c" {
			t.Fatalf("RPOP = %q", v)
		}
		if v, _ := c.RPopCount(ctx, "l", 2).Result(); !slices.Equal(v, []string{"b", "a"}) {
			t.Fatalf("RPOP 2 = %q", v)
		}
		// COUNT 0 on a live list is an empty array; on a missing key a null.
		if v, err := c.LPopCount(ctx, "l", 0).Result(); err != nil || len(v) != 0 {
			t.Fatalf("LPOP 0 = %q, %v", v, err)
		}
		if v, _ := c.LPopCount(ctx, "l", 10).Result(); !slices.Equal(v, []string{"y"}) {
			t.Fatalf("LPOP 10 = %q", v)
		}
		wantGone(t, ctx, c, "l")
		if err := c.LPopCount(ctx, "l", 2).Err(); err != redis.Nil {
			t.Fatalf("LPOP missing 2 = %v", err)
		}
		if err := c.LPopCount(ctx, "l", 0).Err(); err != redis.Nil {
			t.Fatalf("LPOP missing 0 = %v", err)
		}
		if err := c.LPop(ctx, "l").Err(); err != redis.Nil {
			t.Fatalf("LPOP missing = %v", err)
		}
		wantErr(t, c.Do(ctx, "lpop", "l", "-1").Err(), "ERR value is out of range, must be positive")
		wantErr(t, c.Do(ctx, "lpop", "l", "x").Err(), "ERR value is out of range, must be positive")
		wantErr(t, c.Do(ctx, "lpop", "l", "1", "2").Err(), "ERR wrong number of arguments for 'lpop' command")
		if n, _ := c.LPushX(ctx, "l", "a").Result(); n != 0 {
			t.Fatalf("LPUSHX missing = %d", n)
		}
		c.RPush(ctx, "l", "m")
		if n, _ := c.RPushX(ctx, "l", "n", "o").Result(); n != 3 {
			t.Fatalf("RPUSHX = %d", n)
		}
		if n, _ := c.LPushX(ctx, "l", "k").Result(); n != 4 {
			t.Fatalf("LPUSHX = %d", n)
		}
		wantRange(t, ctx, c, "l", "k", "m", "n", "o")
	})
}

func TestListRawNulls(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	for _, tc := range []struct{ cmd, want string }{
		{"RPUSH l a\r\n", ":1\r\n"},
		{"LPOP l 0\r\n", "*0\r\n"},
		{"LPOP nope 0\r\n", "*-1\r\n"},
		{"LPOP nope\r\n", "$-1\r\n"},
		{"LPOS l zz COUNT 0\r\n", "*0\r\n"},
		{"LPOS nope a COUNT 1\r\n", "*0\r\n"},
		{"LPOS nope a\r\n", "$-1\r\n"},
		{"LMPOP 1 nope LEFT\r\n", "*-1\r\n"},
		{"RPOPLPUSH nope x\r\n", "$-1\r\n"},
		{"BLPOP nope 0.01\r\n", "*-1\r\n"},
		{"BLMOVE nope x LEFT LEFT 0.01\r\n", "*-1\r\n"},
		{"BRPOPLPUSH nope x 0.01\r\n", "*-1\r\n"},
		{"BLMPOP 0.01 1 nope LEFT\r\n", "*-1\r\n"},
		{"HELLO 3\r\n", ""},
		{"LPOP nope 2\r\n", "_\r\n"},
		{"BLPOP nope 0.01\r\n", "_\r\n"},
	} {
		r.Send(tc.cmd)
		got, err := r.ReadReply()
		if err != nil {
			t.Fatalf("%q: %v", tc.cmd, err)
		}
		if tc.want != "" && got != tc.want {
			t.Fatalf("%q = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func TestListEdit(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.RPush(ctx, "l", "a", "b", "c", "a", "b", "a")

		// LINSERT
		if n, _ := c.LInsertBefore(ctx, "l", "b", "X").Result(); n != 7 {
			t.Fatalf("LINSERT BEFORE = %d", n)
		}
		if n, _ := c.LInsertAfter(ctx, "l", "a", "Y").Result(); n != 8 {
			t.Fatalf("LINSERT AFTER = %d", n)
		}
		wantRange(t, ctx, c, "l", "a", "Y", "X", "b", "c", "a", "b", "a")
		if n, _ := c.LInsertAfter(ctx, "l", "zz", "Y").Result(); n != -1 {
			t.Fatalf("LINSERT missing pivot = %d", n)
		}
		if n, _ := c.LInsertAfter(ctx, "nope", "a", "Y").Result(); n != 0 {
			t.Fatalf("LINSERT missing key = %d", n)
		}
		wantErr(t, c.Do(ctx, "linsert", "l", "middle", "a", "b").Err(), "ERR syntax error")

		// LREM from the head, the tail, all.
		if n, _ := c.LRem(ctx, "l", -2, "a").Result(); n != 2 {
			t.Fatalf("LREM -2 = %d", n)
		}
		wantRange(t, ctx, c, "l", "a", "Y", "X", "b", "c", "b")
		if n, _ := c.LRem(ctx, "l", 1, "b").Result(); n != 1 {
			t.Fatalf("LREM 1 = %d", n)
		}
		wantRange(t, ctx, c, "l", "a", "Y", "X", "c", "b")
		c.RPush(ctx, "l", "Y", "Y")
		if n, _ := c.LRem(ctx, "l", 0, "Y").Result(); n != 3 {
			t.Fatalf("LREM 0 = %d", n)
		}
		wantRange(t, ctx, c, "l", "a", "X", "c", "b")
		if n, _ := c.LRem(ctx, "nope", 0, "Y").Result(); n != 0 {
			t.Fatalf("LREM missing = %d", n)
		}

		// LSET
		if err := c.LSet(ctx, "l", -1, "B").Err(); err != nil {
			t.Fatal(err)
		}
		wantErr(t, c.LSet(ctx, "l", 4, "x").Err(), "ERR index out of range")
		wantErr(t, c.LSet(ctx, "l", -5, "x").Err(), "ERR index out of range")
		wantErr(t, c.LSet(ctx, "nope", 0, "x").Err(), "ERR no such key")
		wantRange(t, ctx, c, "l", "a", "X", "c", "B")

		// LTRIM
		c.LTrim(ctx, "l", 1, -2)
		wantRange(t, ctx, c, "l", "X", "c")
		c.LTrim(ctx, "l", -100, 100)
		wantRange(t, ctx, c, "l", "X", "c")
		if err := c.LTrim(ctx, "l", 1, 0).Err(); err != nil {
			t.Fatal(err)
		}
		wantGone(t, ctx, c, "l")
		if err := c.LTrim(ctx, "nope", 0, 1).Err(); err != nil {
			t.Fatal(err)
		}
		c.RPush(ctx, "l", "a", "b", "c")
		c.LTrim(ctx, "l", 5, 10)
		wantGone(t, ctx, c, "l")
	})
}

func TestListLpos(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.RPush(ctx, "l", "a", "b", "c", "a", "b", "a")
		for _, tc := range []struct {
			args []any
			want any
		}{
			{[]any{"a"}, int64(0)},
			{[]any{"a", "rank", "2"}, int64(3)},
			{[]any{"a", "rank", "-1"}, int64(5)},
			{[]any{"a", "rank", "-3"}, int64(0)},
			{[]any{"a", "rank", "4"}, nil},
			{[]any{"zz"}, nil},
			{[]any{"a", "count", "0"}, []any{int64(0), int64(3), int64(5)}},
			{[]any{"a", "count", "2", "rank", "-1"}, []any{int64(5), int64(3)}},
			{[]any{"a", "count", "0", "maxlen", "4"}, []any{int64(0), int64(3)}},
			{[]any{"a", "count", "0", "maxlen", "3"}, []any{int64(0)}},
			{[]any{"a", "rank", "-1", "maxlen", "1"}, int64(5)},
			{[]any{"b", "rank", "-1", "maxlen", "1"}, nil},
			{[]any{"zz", "count", "5"}, []any{}},
		} {
			got, err := c.Do(ctx, append([]any{"lpos", "l"}, tc.args...)...).Result()
			if tc.want == nil {
				if err != redis.Nil {
					t.Fatalf("LPOS %v = %v, %v; want nil", tc.args, got, err)
				}
				continue
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("LPOS %v = %v, %v; want %v", tc.args, got, err, tc.want)
			}
		}
		if got, err := c.Do(ctx, "lpos", "nope", "a", "count", "1").Result(); err != nil || len(got.([]any)) != 0 {
			t.Fatalf("LPOS missing COUNT = %v, %v", got, err)
		}
		if err := c.Do(ctx, "lpos", "nope", "a").Err(); err != redis.Nil {
			t.Fatalf("LPOS missing = %v", err)
		}
		wantErr(t, c.Do(ctx, "lpos", "l", "a", "rank", "0").Err(),
			"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
		wantErr(t, c.Do(ctx, "lpos", "l", "a", "count", "-1").Err(), "ERR COUNT can't be negative")
		wantErr(t, c.Do(ctx, "lpos", "l", "a", "maxlen", "-1").Err(), "ERR MAXLEN can't be negative")
		wantErr(t, c.Do(ctx, "lpos", "l", "a", "rank", "x").Err(), "ERR value is not an integer or out of range")
		wantErr(t, c.Do(ctx, "lpos", "l", "a", "rank").Err(), "ERR syntax error")
		wantErr(t, c.Do(ctx, "lpos", "l", "a", "foo", "1").Err(), "ERR syntax error")
	})
}

func TestListMove(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.RPush(ctx, "src", "a", "b", "c")
		if v, _ := c.LMove(ctx, "src", "dst", "LEFT", "RIGHT").Result(); v != "a" {
			t.Fatalf("LMOVE = %q", v)
		}
		if v, _ := c.RPopLPush(ctx, "src", "dst").Result(); v != "c" {
			t.Fatalf("RPOPLPUSH = %q", v)
		}
		wantRange(t, ctx, c, "dst", "c", "a")
		// Rotation on one key.
		if v, _ := c.LMove(ctx, "dst", "dst", "LEFT", "RIGHT").Result(); v != "c" {
			t.Fatalf("LMOVE rotate = %q", v)
		}
		wantRange(t, ctx, c, "dst", "a", "c")
		if v, _ := c.LMove(ctx, "src", "src", "RIGHT", "LEFT").Result(); v != "b" {
			t.Fatalf("LMOVE single = %q", v)
		}
		wantRange(t, ctx, c, "src", "b")
		if v, _ := c.LMove(ctx, "src", "dst", "RIGHT", "LEFT").Result(); v != "b" {
			t.Fatalf("LMOVE last = %q", v)
		}
		wantGone(t, ctx, c, "src")
		if err := c.LMove(ctx, "src", "dst", "LEFT", "LEFT").Err(); err != redis.Nil {
			t.Fatalf("LMOVE missing = %v", err)
		}
		wantErr(t, c.Do(ctx, "lmove", "dst", "x", "up", "left").Err(), "ERR syntax error")

		// LMPOP
		c.RPush(ctx, "m", "1", "2", "3")
		kv, vals, err := c.LMPop(ctx, "right", 2, "nope", "m").Result()
		if err != nil || kv != "m" || !slices.Equal(vals, []string{"3", "2"}) {
			t.Fatalf("LMPOP = %q %q %v", kv, vals, err)
		}
		kv, vals, err = c.LMPop(ctx, "left", 10, "m").Result()
		if err != nil || kv != "m" || !slices.Equal(vals, []string{"1"}) {
			t.Fatalf("LMPOP 10 = %q %q %v", kv, vals, err)
		}
		if err := c.LMPop(ctx, "left", 1, "m", "nope").Err(); err != redis.Nil {
			t.Fatalf("LMPOP missing = %v", err)
		}
		for _, tc := range []struct {
			args []any
			err  string
		}{
			{[]any{"0", "m", "left"}, "ERR numkeys should be greater than 0"},
			{[]any{"x", "m", "left"}, "ERR numkeys should be greater than 0"},
			{[]any{"2", "m", "left"}, "ERR syntax error"},
			{[]any{"1", "m", "middle"}, "ERR syntax error"},
			{[]any{"1", "m", "left", "count", "0"}, "ERR count should be greater than 0"},
			{[]any{"1", "m", "left", "count"}, "ERR syntax error"},
			{[]any{"1", "m", "left", "count", "1", "count", "1"}, "ERR syntax error"},
		} {
			wantErr(t, c.Do(ctx, append([]any{"lmpop"}, tc.args...)...).Err(), tc.err)
		}
	})
}

func TestListWrongType(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.Set(ctx, "s", "x", 0)
		c.RPush(ctx, "l", "a")
		const wt = "WRONGTYPE Operation against a key holding the wrong kind of value"
		for _, args := range [][]any{
			{"lpush", "s", "a"}, {"rpush", "s", "a"}, {"lpushx", "s", "a"}, {"rpushx", "s", "a"},
			{"lpop", "s"}, {"rpop", "s", "2"}, {"llen", "s"}, {"lrange", "s", "0", "-1"},
			{"lindex", "s", "0"}, {"lset", "s", "0", "a"}, {"linsert", "s", "before", "a", "b"},
			{"lrem", "s", "0", "a"}, {"ltrim", "s", "0", "1"}, {"lpos", "s", "a"},
			{"lmove", "s", "l", "left", "left"}, {"lmove", "l", "s", "left", "left"},
			{"rpoplpush", "s", "l"}, {"lmpop", "2", "nope", "s", "left"},
			{"blpop", "nope", "s", "0"}, {"brpop", "s", "0"}, {"blmove", "l", "s", "left", "left", "0"},
			{"brpoplpush", "s", "l", "0"}, {"blmpop", "0", "1", "s", "left"},
		} {
			wantErr(t, c.Do(ctx, args...).Err(), wt)
		}
		// A missing source answers null whatever the destination holds.
		if err := c.LMove(ctx, "nope", "s", "LEFT", "LEFT").Err(); err != redis.Nil {
			t.Fatalf("LMOVE nope s = %v", err)
		}
		wantRange(t, ctx, c, "l", "a")
	})
}

func TestListArgErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.RPush(ctx, "l", "a")
		for _, tc := range []struct {
			args []any
			err  string
		}{
			{[]any{"lpush", "l"}, "ERR wrong number of arguments for 'lpush' command"},
			{[]any{"lrange", "l", "0"}, "ERR wrong number of arguments for 'lrange' command"},
			{[]any{"blpop", "l"}, "ERR wrong number of arguments for 'blpop' command"},
			{[]any{"lrange", "l", "x", "1"}, "ERR value is not an integer or out of range"},
			{[]any{"lindex", "l", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"lrem", "l", "x", "a"}, "ERR value is not an integer or out of range"},
			{[]any{"ltrim", "l", "0", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"lset", "l", "x", "a"}, "ERR value is not an integer or out of range"},
			{[]any{"blpop", "l", "-1"}, "ERR timeout is negative"},
			{[]any{"blpop", "l", "abc"}, "ERR timeout is not a float or out of range"},
			{[]any{"blpop", "l", "inf"}, "ERR timeout is negative"},
			{[]any{"blpop", "l", "1e300"}, "ERR timeout is negative"},
			{[]any{"blmpop", "x", "1", "l", "left"}, "ERR timeout is not a float or out of range"},
			{[]any{"blmpop", "0", "0", "l", "left"}, "ERR numkeys should be greater than 0"},
			{[]any{"blmove", "l", "x", "left", "up", "0"}, "ERR syntax error"},
		} {
			wantErr(t, c.Do(ctx, tc.args...).Err(), tc.err)
		}
	})
}

// TestListModel runs random edits against a slice and compares, so both
// directions of the element shifts of LINSERT and LREM and the range
// deletes of LTRIM and the pops are covered.
func TestListModel(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	rng := rand.New(rand.NewSource(1))
	var model []string
	val := func() string { return fmt.Sprint(rng.Intn(6)) }
	for step := 0; step < 600; step++ {
		var err error
		switch op := rng.Intn(9); op {
		case 0, 1:
			v := val()
			err = c.LPush(ctx, "l", v).Err()
			model = append([]string{v}, model...)
		case 2, 3:
			v := val()
			err = c.RPush(ctx, "l", v).Err()
			model = append(model, v)
		case 4:
			pivot, v := val(), "i"+val()
			after := rng.Intn(2) == 0
			if after {
				err = c.LInsertAfter(ctx, "l", pivot, v).Err()
			} else {
				err = c.LInsertBefore(ctx, "l", pivot, v).Err()
			}
			if i := slices.Index(model, pivot); i >= 0 {
				if after {
					i++
				}
				model = slices.Insert(model, i, v)
			}
		case 5:
			v, n := val(), int64(rng.Intn(5)-2)
			var got int64
			got, err = c.LRem(ctx, "l", n, v).Result()
			removed := 0
			if n >= 0 {
				for i := 0; i < len(model); {
					if model[i] == v && (n == 0 || int64(removed) < n) {
						model = slices.Delete(model, i, i+1)
						removed++
						continue
					}
					i++
				}
			} else {
				for i := len(model) - 1; i >= 0; i-- {
					if model[i] == v && int64(removed) < -n {
						model = slices.Delete(model, i, i+1)
						removed++
					}
				}
			}
			if err == nil && got != int64(removed) {
				t.Fatalf("step %d: LREM %d %s = %d, want %d", step, n, v, got, removed)
			}
		case 6:
			if len(model) > 0 {
				i := rng.Intn(len(model))
				v := "s" + val()
				err = c.LSet(ctx, "l", int64(i), v).Err()
				model[i] = v
			}
		case 7:
			if len(model) > 12 {
				from, to := rng.Intn(3), len(model)-1-rng.Intn(3)
				err = c.LTrim(ctx, "l", int64(from), int64(to)).Err()
				model = model[from : to+1]
			}
		case 8:
			n := rng.Intn(3)
			if rng.Intn(2) == 0 {
				err = c.LPopCount(ctx, "l", n).Err()
				model = model[min(n, len(model)):]
			} else {
				err = c.RPopCount(ctx, "l", n).Err()
				model = model[:len(model)-min(n, len(model))]
			}
			if err == redis.Nil {
				err = nil
			}
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		got, err := c.LRange(ctx, "l", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, model) && !(len(got) == 0 && len(model) == 0) {
			t.Fatalf("step %d: list = %q, want %q", step, got, model)
		}
	}
}

// TestListMemoryUsage checks that MEMORY USAGE of a list counts its
// elements' bytes, whatever SAMPLES, within the listpack overhead.
func TestListMemoryUsage(t *testing.T) {
	c := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := testutil.Ctx(t)
	vals := make([]any, 10000)
	for i := range vals {
		vals[i] = fmt.Sprintf("%0100d", i)
	}
	if err := c.RPush(ctx, "l", vals...).Err(); err != nil {
		t.Fatal(err)
	}
	for _, samples := range []int{0, 1, 5} {
		n, err := c.MemoryUsage(ctx, "l", samples).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n < 10000*100 || n > 10000*120 {
			t.Fatalf("MEMORY USAGE l SAMPLES %d = %d, want 10000 elements of 100 bytes and their overhead", samples, n)
		}
	}
}
