package commands_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/testutil"
)

func TestSetBasics(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if n := must(t, c.SAdd(ctx, "s", "a", "b", "c", "a")); n != 3 {
			t.Fatalf("SADD = %d", n)
		}
		if n := must(t, c.SAdd(ctx, "s", "c", "d")); n != 1 {
			t.Fatalf("SADD again = %d", n)
		}
		if n := must(t, c.SCard(ctx, "s")); n != 4 {
			t.Fatalf("SCARD = %d", n)
		}
		if n := must(t, c.SCard(ctx, "nokey")); n != 0 {
			t.Fatalf("SCARD missing = %d", n)
		}
		if !must(t, c.SIsMember(ctx, "s", "a")) || must(t, c.SIsMember(ctx, "s", "z")) || must(t, c.SIsMember(ctx, "nokey", "a")) {
			t.Fatal("SISMEMBER wrong")
		}
		if v := must(t, c.SMIsMember(ctx, "s", "a", "z", "d")); !slices.Equal(v, []bool{true, false, true}) {
			t.Fatalf("SMISMEMBER = %v", v)
		}
		if v := must(t, c.SMIsMember(ctx, "nokey", "a")); !slices.Equal(v, []bool{false}) {
			t.Fatalf("SMISMEMBER missing = %v", v)
		}
		if v := sorted(must(t, c.SMembers(ctx, "s"))); !slices.Equal(v, []string{"a", "b", "c", "d"}) {
			t.Fatalf("SMEMBERS = %v", v)
		}
		if v := must(t, c.SMembers(ctx, "nokey")); len(v) != 0 {
			t.Fatalf("SMEMBERS missing = %v", v)
		}
		if n := must(t, c.SRem(ctx, "s", "a", "z", "b")); n != 2 {
			t.Fatalf("SREM = %d", n)
		}
		if n := must(t, c.SRem(ctx, "nokey", "a")); n != 0 {
			t.Fatalf("SREM missing = %d", n)
		}
		// Removing the last member removes the key.
		must(t, c.SRem(ctx, "s", "c", "d"))
		if n := must(t, c.SCard(ctx, "s")); n != 0 {
			t.Fatalf("SCARD emptied = %d", n)
		}
		if n := must(t, c.HSet(ctx, "s", "f", "v")); n != 1 {
			t.Fatalf("HSET over an emptied set = %d", n)
		}
	})
}

func TestSetRandomAndPop(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		all := map[string]bool{}
		var members []any
		for i := range 30 {
			m := fmt.Sprint("m", i)
			all[m] = true
			members = append(members, m)
		}
		c.SAdd(ctx, "s", members...)
		if m := must(t, c.SRandMember(ctx, "s")); !all[m] {
			t.Fatalf("SRANDMEMBER = %q", m)
		}
		if err := c.SRandMember(ctx, "nokey").Err(); err != redis.Nil {
			t.Fatalf("SRANDMEMBER missing = %v", err)
		}
		if v := must(t, c.SRandMemberN(ctx, "nokey", 5)); len(v) != 0 {
			t.Fatalf("SRANDMEMBER missing count = %v", v)
		}
		for _, tc := range []struct {
			count    int64
			n        int
			distinct bool
		}{{5, 5, true}, {30, 30, true}, {100, 30, true}, {-70, 70, false}, {0, 0, true}} {
			v := must(t, c.SRandMemberN(ctx, "s", tc.count))
			if len(v) != tc.n {
				t.Fatalf("SRANDMEMBER %d gave %d", tc.count, len(v))
			}
			seen := map[string]bool{}
			for _, m := range v {
				if !all[m] || (tc.distinct && seen[m]) {
					t.Fatalf("SRANDMEMBER %d gave %v", tc.count, v)
				}
				seen[m] = true
			}
		}
		wantErr(t, c.Do(ctx, "srandmember", "s", "x").Err(), "ERR value is not an integer or out of range")
		wantErr(t, c.Do(ctx, "srandmember", "s", "-9223372036854775808").Err(), "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		wantErr(t, c.Do(ctx, "srandmember", "s", "1", "2").Err(), "ERR syntax error")

		popped := map[string]bool{}
		m := must(t, c.SPop(ctx, "s"))
		popped[m] = true
		for _, m := range must(t, c.SPopN(ctx, "s", 9)) {
			if popped[m] || !all[m] {
				t.Fatalf("SPOP count gave %q twice or unknown", m)
			}
			popped[m] = true
		}
		if len(popped) != 10 {
			t.Fatalf("popped %d", len(popped))
		}
		if n := must(t, c.SCard(ctx, "s")); n != 20 {
			t.Fatalf("SCARD after pops = %d", n)
		}
		for p := range popped {
			if must(t, c.SIsMember(ctx, "s", p)) {
				t.Fatalf("%q still a member after SPOP", p)
			}
		}
		if v := must(t, c.SPopN(ctx, "s", 0)); len(v) != 0 {
			t.Fatalf("SPOP 0 = %v", v)
		}
		if v := must(t, c.SPopN(ctx, "s", 50)); len(v) != 20 {
			t.Fatalf("SPOP all = %d members", len(v))
		}
		if n := must(t, c.SCard(ctx, "s")); n != 0 {
			t.Fatalf("SCARD after popping all = %d", n)
		}
		if err := c.SPop(ctx, "s").Err(); err != redis.Nil {
			t.Fatalf("SPOP missing = %v", err)
		}
		if v := must(t, c.SPopN(ctx, "s", 3)); len(v) != 0 {
			t.Fatalf("SPOP missing count = %v", v)
		}
		wantErr(t, c.Do(ctx, "spop", "s", "-1").Err(), "ERR value is out of range, must be positive")
		wantErr(t, c.Do(ctx, "spop", "s", "x").Err(), "ERR value is out of range, must be positive")
		wantErr(t, c.Do(ctx, "spop", "s", "1", "2").Err(), "ERR syntax error")
	})
}

func TestSMove(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.SAdd(ctx, "src", "a", "b")
		c.Set(ctx, "str", "v", 0)
		if !must(t, c.SMove(ctx, "src", "dst", "a")) {
			t.Fatal("SMOVE a = false")
		}
		if must(t, c.SMove(ctx, "src", "dst", "zz")) {
			t.Fatal("SMOVE of a non-member = true")
		}
		if must(t, c.SMove(ctx, "nokey", "str", "a")) {
			t.Fatal("SMOVE from a missing key = true")
		}
		if !must(t, c.SMove(ctx, "src", "src", "b")) || must(t, c.SMove(ctx, "src", "src", "zz")) {
			t.Fatal("SMOVE onto itself wrong")
		}
		wantErr(t, c.SMove(ctx, "src", "str", "b").Err(), errWrongTypeText)
		wantErr(t, c.SMove(ctx, "str", "src", "b").Err(), errWrongTypeText)
		if !must(t, c.SMove(ctx, "src", "dst", "b")) {
			t.Fatal("SMOVE b = false")
		}
		if n := must(t, c.SCard(ctx, "src")); n != 0 {
			t.Fatalf("emptied source SCARD = %d", n)
		}
		if v := sorted(must(t, c.SMembers(ctx, "dst"))); !slices.Equal(v, []string{"a", "b"}) {
			t.Fatalf("dst = %v", v)
		}
	})
}

func TestSetAlgebra(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.SAdd(ctx, "a", "1", "2", "3", "4")
		c.SAdd(ctx, "b", "3", "4", "5")
		c.SAdd(ctx, "c", "4", "6")
		c.Set(ctx, "str", "v", 0)
		check := func(name string, got []string, want ...string) {
			t.Helper()
			if got = sorted(got); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("%s = %v, want %v", name, got, want)
			}
		}
		check("SINTER", must(t, c.SInter(ctx, "a", "b")), "3", "4")
		check("SINTER 3", must(t, c.SInter(ctx, "a", "b", "c")), "4")
		check("SINTER missing", must(t, c.SInter(ctx, "a", "nokey")))
		check("SUNION", must(t, c.SUnion(ctx, "a", "b", "nokey", "c")), "1", "2", "3", "4", "5", "6")
		check("SDIFF", must(t, c.SDiff(ctx, "a", "b")), "1", "2")
		check("SDIFF 3", must(t, c.SDiff(ctx, "a", "nokey", "c")), "1", "2", "3")
		check("SDIFF missing first", must(t, c.SDiff(ctx, "nokey", "a")))
		for _, args := range [][]any{
			{"sinter", "a", "str"}, {"sinter", "nokey", "str"}, {"sunion", "nokey", "str"},
			{"sdiff", "nokey", "str"}, {"sdiff", "a", "str"}, {"sinterstore", "d", "nokey", "str"},
			{"sunionstore", "d", "a", "str"}, {"sdiffstore", "d", "a", "str"}, {"sintercard", "2", "a", "str"},
		} {
			wantErr(t, c.Do(ctx, args...).Err(), errWrongTypeText)
		}

		if n := must(t, c.SInterStore(ctx, "d", "a", "b")); n != 2 {
			t.Fatalf("SINTERSTORE = %d", n)
		}
		check("stored inter", must(t, c.SMembers(ctx, "d")), "3", "4")
		if n := must(t, c.SUnionStore(ctx, "d", "d", "c")); n != 3 {
			t.Fatalf("SUNIONSTORE onto a source = %d", n)
		}
		check("stored union", must(t, c.SMembers(ctx, "d")), "3", "4", "6")
		// The destination is overwritten whatever its type.
		c.HSet(ctx, "h", "f", "v")
		if n := must(t, c.SDiffStore(ctx, "h", "a", "b")); n != 2 {
			t.Fatalf("SDIFFSTORE over a hash = %d", n)
		}
		check("stored diff", must(t, c.SMembers(ctx, "h")), "1", "2")
		if n := must(t, c.SInterStore(ctx, "str", "a", "nokey")); n != 0 {
			t.Fatalf("empty SINTERSTORE = %d", n)
		}
		// An empty result deletes the destination: it can take another type.
		if err := c.Get(ctx, "str").Err(); err != redis.Nil {
			t.Fatalf("GET of a destination an empty result replaced = %v", err)
		}

		if n := must(t, c.SInterCard(ctx, 0, "a", "b")); n != 2 {
			t.Fatalf("SINTERCARD = %d", n)
		}
		if n := must(t, c.SInterCard(ctx, 1, "a", "b")); n != 1 {
			t.Fatalf("SINTERCARD LIMIT 1 = %d", n)
		}
		if n := must(t, c.SInterCard(ctx, 0, "a", "nokey")); n != 0 {
			t.Fatalf("SINTERCARD missing = %d", n)
		}
		wantErr(t, c.Do(ctx, "sintercard", "0", "a").Err(), "ERR numkeys should be greater than 0")
		wantErr(t, c.Do(ctx, "sintercard", "x", "a").Err(), "ERR numkeys should be greater than 0")
		wantErr(t, c.Do(ctx, "sintercard", "2", "a").Err(), "ERR Number of keys can't be greater than number of args")
		wantErr(t, c.Do(ctx, "sintercard", "1", "a", "limit", "-1").Err(), "ERR LIMIT can't be negative")
		wantErr(t, c.Do(ctx, "sintercard", "1", "a", "limit").Err(), "ERR syntax error")
		wantErr(t, c.Do(ctx, "sintercard", "1", "a", "foo").Err(), "ERR syntax error")

	})
}

func TestSInterCardKeys(t *testing.T) {
	cmd := commands.Default().Lookup([]byte("sintercard"))
	for _, tc := range []struct {
		args []string
		want []int
	}{
		{[]string{"sintercard", "2", "a", "b", "limit", "1"}, []int{2, 3}},
		{[]string{"sintercard", "1", "a"}, []int{2}},
		{[]string{"sintercard", "3", "a"}, nil},
		{[]string{"sintercard", "0", "a"}, nil},
		{[]string{"sintercard", "x", "a"}, nil},
	} {
		var args [][]byte
		for _, a := range tc.args {
			args = append(args, []byte(a))
		}
		if got := cmd.KeyPositions(args); !slices.Equal(got, tc.want) {
			t.Errorf("keys of %v = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestSetErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		c.Set(ctx, "str", "v", 0)
		for _, args := range [][]any{
			{"sadd", "str", "a"}, {"srem", "str", "a"}, {"scard", "str"}, {"sismember", "str", "a"},
			{"smismember", "str", "a"}, {"smembers", "str"}, {"srandmember", "str"},
			{"srandmember", "str", "2"}, {"spop", "str"}, {"spop", "str", "2"}, {"sscan", "str", "0"},
		} {
			wantErr(t, c.Do(ctx, args...).Err(), errWrongTypeText)
		}
		for _, args := range [][]any{
			{"sadd", "s"}, {"srem", "s"}, {"scard"}, {"sismember", "s"}, {"smismember", "s"},
			{"smembers"}, {"srandmember"}, {"spop"}, {"smove", "a", "b"}, {"sinter"},
			{"sintercard", "1"}, {"sinterstore", "d"}, {"sunion"}, {"sunionstore", "d"},
			{"sdiff"}, {"sdiffstore", "d"}, {"sscan", "s"},
		} {
			name := args[0].(string)
			wantErr(t, c.Do(ctx, args...).Err(), fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
		}
	})
}

func TestSScan(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		var members []any
		for i := range 300 {
			members = append(members, fmt.Sprintf("m%03d", i))
		}
		members = append(members, "a*b", "a?b", "axb", "b]", "c")
		c.SAdd(ctx, "s", members...)
		scanAll := func(match string, count int64) []string {
			t.Helper()
			var out []string
			var cursor uint64
			for calls := 0; ; calls++ {
				if calls > 1000 {
					t.Fatal("SSCAN does not finish")
				}
				page, next := must2(t, c.SScan(ctx, "s", cursor, match, count))
				if int64(len(page)) > count {
					t.Fatalf("SSCAN COUNT %d page of %d", count, len(page))
				}
				out = append(out, page...)
				if cursor = next; cursor == 0 {
					return sorted(out)
				}
			}
		}
		all := scanAll("", 16)
		if len(all) != len(members) || len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Fatalf("SSCAN saw %d members, want %d", len(all), len(members))
		}
		for _, tc := range []struct {
			match string
			want  []string
		}{
			{"m29?", []string{"m290", "m291", "m292", "m293", "m294", "m295", "m296", "m297", "m298", "m299"}},
			{"m1[0-1]0", []string{"m100", "m110"}},
			{"m00[^0-8]", []string{"m009"}},
			{`a\*b`, []string{"a*b"}},
			{"a?b", []string{"a*b", "a?b", "axb"}},
			{`b\]`, []string{"b]"}},
			{"*c*", []string{"c"}},
			{"nothing*", nil},
		} {
			if got := scanAll(tc.match, 7); !slices.Equal(got, tc.want) {
				t.Fatalf("SSCAN MATCH %q = %v, want %v", tc.match, got, tc.want)
			}
		}
		page, next := must2(t, c.SScan(ctx, "nokey", 0, "", 10))
		if len(page) != 0 || next != 0 {
			t.Fatalf("SSCAN missing = %v %d", page, next)
		}
	})
}

func TestSetPipelineSeesOwnWrites(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		p := c.Pipeline()
		p.SAdd(ctx, "a", "1", "2", "3")
		p.SAdd(ctx, "b", "2", "3")
		p.SRem(ctx, "a", "3")
		inter := p.SInter(ctx, "a", "b")
		store := p.SUnionStore(ctx, "u", "a", "b")
		members := p.SMembers(ctx, "u")
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if v := inter.Val(); !slices.Equal(v, []string{"2"}) {
			t.Fatalf("SINTER in pipeline = %v", v)
		}
		if store.Val() != 3 || !slices.Equal(sorted(members.Val()), []string{"1", "2", "3"}) {
			t.Fatalf("SUNIONSTORE in pipeline = %d, %v", store.Val(), members.Val())
		}
	})
}

// TestSetConcurrentSize runs writers of one set on several connections: the
// stored count must stay the exact member count.
func TestSetConcurrentSize(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := range 200 {
				m := fmt.Sprint(i % 150) // writers overlap on members
				var err error
				if (i+w)%3 == 0 {
					err = c.SRem(ctx, "s", m).Err()
				} else {
					err = c.SAdd(ctx, "s", m, fmt.Sprint(w, ":", i)).Err()
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	card := must(t, c.SCard(ctx, "s"))
	if members := must(t, c.SMembers(ctx, "s")); int64(len(members)) != card {
		t.Fatalf("SCARD %d, SMEMBERS has %d", card, len(members))
	}
}
