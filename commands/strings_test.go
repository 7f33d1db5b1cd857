package commands_test

import (
	"io"
	"log/slog"
	"math/big"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// clock is a settable clock for expiry tests.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Ms() int64               { return c.Now().UnixMilli() }

// tester drives one server over one protocol.
type tester struct {
	t   *testing.T
	s   *server.Server
	c   *redis.Client
	clk *clock
}

// errReply is an expected error reply, by its full text.
type errReply string

// both runs f over RESP2 and RESP3, each against a fresh server whose
// clock the test controls.
func both(t *testing.T, f func(x *tester)) {
	t.Parallel()
	for _, proto := range []int{2, 3} {
		t.Run(map[int]string{2: "resp2", 3: "resp3"}[proto], func(t *testing.T) {
			clk := newClock()
			s, err := server.New(testutil.Config(t), server.Options{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			f(&tester{t: t, s: s, c: testutil.Client(t, s, proto), clk: clk})
		})
	}
}

// do runs a command and checks its reply: nil wants a null, errReply an
// error, int an integer, anything else the go-redis value.
func (x *tester) do(want any, args ...any) {
	x.t.Helper()
	got, err := x.c.Do(testutil.Ctx(x.t), args...).Result()
	switch w := want.(type) {
	case errReply:
		if err == nil || err.Error() != string(w) {
			x.t.Fatalf("%v = %#v, %v; want error %q", args, got, err, w)
		}
	case nil:
		if err != redis.Nil {
			x.t.Fatalf("%v = %#v, %v; want null", args, got, err)
		}
	case int:
		if err != nil || got != int64(w) {
			x.t.Fatalf("%v = %#v, %v; want %d", args, got, err, w)
		}
	default:
		if err != nil || !reflect.DeepEqual(got, want) {
			x.t.Fatalf("%v = %#v, %v; want %#v", args, got, err, want)
		}
	}
}

// expireAt reads key's stored deadline (Unix ms; 0 none, -1 absent).
func (x *tester) expireAt(key string) int64 {
	x.t.Helper()
	k, err := x.s.Store().NewTx().Lookup(0, []byte(key))
	if err != nil {
		x.t.Fatal(err)
	}
	if !k.Live {
		return -1
	}
	return k.Meta.ExpireAt
}

// makeHash stores a one-field hash at key, through the storage layer.
func (x *tester) makeHash(key string) {
	x.t.Helper()
	tx := x.s.Store().NewTx()
	name := []byte(key)
	tx.Lock(0, name)
	k, err := tx.Lookup(0, name)
	if err != nil {
		x.t.Fatal(err)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		x.t.Fatal(err)
	}
	tx.SetMember(storage.MemberKey(nil, k, 'f', []byte("field")), []byte("value"))
	tx.SetSize(k, 1)
	if err := tx.Commit(); err != nil {
		x.t.Fatal(err)
	}
}

func (x *tester) isHash(key string) bool {
	k, err := x.s.Store().NewTx().Lookup(0, []byte(key))
	return err == nil && k.Type() == encoding.TypeHash
}

const errWrongType = errReply("WRONGTYPE Operation against a key holding the wrong kind of value")

func TestStringCommandTable(t *testing.T) {
	// What COMMAND INFO says on Redis 7.
	want := []struct {
		name              string
		arity             int
		flags             string
		first, last, step int
		acl               string
	}{
		{"get", 2, "readonly fast", 1, 1, 1, "read string fast"},
		{"set", -3, "write denyoom", 1, 1, 1, "write string slow"},
		{"setnx", 3, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"setex", 4, "write denyoom", 1, 1, 1, "write string slow"},
		{"psetex", 4, "write denyoom", 1, 1, 1, "write string slow"},
		{"mget", -2, "readonly fast", 1, -1, 1, "read string fast"},
		{"mset", -3, "write denyoom", 1, -1, 2, "write string slow"},
		{"msetnx", -3, "write denyoom", 1, -1, 2, "write string slow"},
		{"getset", 3, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"getdel", 2, "write fast", 1, 1, 1, "write string fast"},
		{"getex", -2, "write fast", 1, 1, 1, "write string fast"},
		{"append", 3, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"strlen", 2, "readonly fast", 1, 1, 1, "read string fast"},
		{"incr", 2, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"decr", 2, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"incrby", 3, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"decrby", 3, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"incrbyfloat", 3, "write denyoom fast", 1, 1, 1, "write string fast"},
		{"getrange", 4, "readonly", 1, 1, 1, "read string slow"},
		{"setrange", 4, "write denyoom", 1, 1, 1, "write string slow"},
		{"substr", 4, "readonly", 1, 1, 1, "read string slow"},
		{"lcs", -3, "readonly", 1, 2, 1, "read string slow"},
	}
	tab := commands.Default()
	for _, w := range want {
		c := tab.Lookup([]byte(w.name))
		if c == nil {
			t.Errorf("%s: missing", w.name)
			continue
		}
		if c.Arity != w.arity || strings.Join(c.Flags.Names(), " ") != w.flags ||
			c.FirstKey != w.first || c.LastKey != w.last || c.Step != w.step ||
			strings.Join(c.ACL, " ") != w.acl || c.Group != "string" ||
			c.Summary == "" || c.Since == "" || c.Complexity == "" {
			t.Errorf("%s: arity %d flags %v keys %d,%d,%d acl %v group %q", w.name, c.Arity, c.Flags.Names(),
				c.FirstKey, c.LastKey, c.Step, c.ACL, c.Group)
		}
	}
}

func TestSet(t *testing.T) {
	both(t, func(x *tester) {
		x.do("OK", "set", "k", "v")
		x.do("v", "get", "k")
		x.do(nil, "get", "missing")

		// NX, XX and GET.
		x.do(nil, "set", "k", "v2", "nx")
		x.do("OK", "set", "k", "v2", "xx")
		x.do(nil, "set", "new", "v", "xx")
		x.do("v2", "set", "k", "v3", "nx", "get")
		x.do("v2", "set", "k", "v3", "get", "get")
		x.do("v3", "set", "k", "v4", "xx", "get")
		x.do(nil, "set", "fresh", "v", "nx", "get")
		x.do("v", "get", "fresh")
		x.do(nil, "set", "k", "v", "nx", "nx")

		// Expiry options.
		now := x.clk.Ms()
		x.do("OK", "set", "k", "v", "ex", "10")
		if got := x.expireAt("k"); got != now+10_000 {
			x.t.Fatalf("EX 10: expireAt %d, want %d", got, now+10_000)
		}
		x.do("OK", "set", "k", "v", "px", "100", "px", "2500") // a repeated unit: last wins
		if got := x.expireAt("k"); got != now+2500 {
			x.t.Fatalf("PX 2500: expireAt %d", got)
		}
		x.do("OK", "set", "k", "v2", "keepttl")
		if got := x.expireAt("k"); got != now+2500 {
			x.t.Fatalf("KEEPTTL: expireAt %d", got)
		}
		x.do("OK", "set", "k", "v3")
		if got := x.expireAt("k"); got != 0 {
			x.t.Fatalf("SET keeps a TTL: %d", got)
		}
		x.do("OK", "set", "k", "v", "exat", now/1000+100)
		if got := x.expireAt("k"); got != (now/1000+100)*1000 {
			x.t.Fatalf("EXAT: expireAt %d", got)
		}
		x.do("OK", "set", "k", "v", "pxat", now+1234)
		if got := x.expireAt("k"); got != now+1234 {
			x.t.Fatalf("PXAT: expireAt %d", got)
		}
		x.do("OK", "set", "k", "v", "exat", "1") // already past: gone
		x.do(nil, "get", "k")

		// Errors, in Redis's order: syntax, then the expiry value, then the type.
		x.do(errReply("ERR syntax error"), "set", "k", "v", "ex", "abc", "nx", "xx")
		x.do(errReply("ERR syntax error"), "set", "k", "v", "ex", "10", "px", "10")
		x.do(errReply("ERR syntax error"), "set", "k", "v", "px", "10", "keepttl")
		x.do(errReply("ERR syntax error"), "set", "k", "v", "keepttl", "exat", "10")
		x.do(errReply("ERR syntax error"), "set", "k", "v", "xx", "nx")
		x.do(errReply("ERR syntax error"), "set", "k", "v", "ex")
		x.do(errReply("ERR syntax error"), "set", "k", "v", "bogus")
		x.do(errReply("ERR value is not an integer or out of range"), "set", "k", "v", "ex", "abc")
		x.do(errReply("ERR invalid expire time in 'set' command"), "set", "k", "v", "ex", "0")
		x.do(errReply("ERR invalid expire time in 'set' command"), "set", "k", "v", "px", "-5")
		x.do(errReply("ERR invalid expire time in 'set' command"), "set", "k", "v", "ex", "9223372036854775807")
		x.do(errReply("ERR invalid expire time in 'set' command"), "set", "k", "v", "px", "9223372036854775807")
		x.do(errReply("ERR wrong number of arguments for 'set' command"), "set", "k")

		x.makeHash("h")
		x.do(errWrongType, "set", "h", "v", "get")
		x.do(errReply("ERR invalid expire time in 'set' command"), "set", "h", "v", "ex", "0", "get")
		x.do(nil, "set", "h", "v", "nx")
		x.do(errWrongType, "get", "h")
		x.do("OK", "set", "h", "v") // SET replaces any type
		x.do("v", "get", "h")
	})
}

func TestSetnxSetex(t *testing.T) {
	both(t, func(x *tester) {
		x.do(1, "setnx", "k", "a")
		x.do(0, "setnx", "k", "b")
		x.do("a", "get", "k")
		x.makeHash("h")
		x.do(0, "setnx", "h", "b")

		now := x.clk.Ms()
		x.do("OK", "setex", "k", "10", "v")
		x.do("v", "get", "k")
		if got := x.expireAt("k"); got != now+10_000 {
			x.t.Fatalf("SETEX: expireAt %d", got)
		}
		x.do("OK", "psetex", "k", "1500", "w")
		if got := x.expireAt("k"); got != now+1500 {
			x.t.Fatalf("PSETEX: expireAt %d", got)
		}
		x.do("OK", "setex", "h", "10", "v") // overwrites a hash
		x.do("v", "get", "h")

		x.do(errReply("ERR invalid expire time in 'setex' command"), "setex", "k", "0", "v")
		x.do(errReply("ERR invalid expire time in 'setex' command"), "setex", "k", "-1", "v")
		x.do(errReply("ERR invalid expire time in 'psetex' command"), "psetex", "k", "0", "v")
		x.do(errReply("ERR invalid expire time in 'setex' command"), "setex", "k", "9223372036854775807", "v")
		x.do(errReply("ERR value is not an integer or out of range"), "setex", "k", "abc", "v")
		x.do(errReply("ERR value is not an integer or out of range"), "psetex", "k", "1.5", "v")
		x.do(errReply("ERR wrong number of arguments for 'setex' command"), "setex", "k", "10")
		x.do(errReply("ERR wrong number of arguments for 'psetex' command"), "psetex", "k")
		x.do(errReply("ERR wrong number of arguments for 'setnx' command"), "setnx", "k")
	})
}

// Long strings are cached as their header alone: every command that reads
// one must still see its whole value, and overwrites that skip the value
// must keep the expiry index and key counts right.
func TestLongStringsThroughHotCache(t *testing.T) {
	both(t, func(x *tester) {
		long := func(c byte, n int) string { return strings.Repeat(string(c), n) }
		a, b := long('a', 1000), long('b', 2000)
		x.do("OK", "set", "k", a, "ex", "100")
		x.do(a, "get", "k")
		now := x.clk.Ms()
		x.do("OK", "set", "k", b, "keepttl")
		if got := x.expireAt("k"); got != now+100_000 {
			x.t.Fatalf("SET KEEPTTL over a long string: expireAt %d, want %d", got, now+100_000)
		}
		x.do(b, "get", "k")
		x.do(b, "set", "k", a, "get")
		x.do(int(len(a)+1), "append", "k", "z")
		x.do(a+"z", "get", "k")
		x.do(0, "setnx", "k", "short")
		x.do("OK", "setex", "k", "5", b)
		x.do([]any{nil, b}, "mget", "nope", "k")
		x.do("OK", "mset", "k", "short", "k2", a)
		x.do(0, "msetnx", "k2", "x", "k3", "y")
		x.do([]any{"short", a}, "mget", "k", "k2")
		x.do(int(2), "dbsize")
		x.do(int(-1), "ttl", "k")
		x.do("OK", "set", "k3", b, "px", "500")
		x.clk.Advance(time.Second)
		x.do(nil, "get", "k3")
		x.do("OK", "set", "k3", a)
		x.do(a, "get", "k3")
		x.do(int(3), "dbsize")
	})
}

func TestExpiryFollowsClock(t *testing.T) {
	both(t, func(x *tester) {
		x.do("OK", "set", "k", "5", "px", "1000")
		x.clk.Advance(999 * time.Millisecond)
		x.do("5", "get", "k")
		x.do(6, "incr", "k")
		x.clk.Advance(time.Millisecond)
		x.do(nil, "get", "k")
		x.do(1, "incr", "k") // an expired key counts from 0, without TTL
		if got := x.expireAt("k"); got != 0 {
			x.t.Fatalf("INCR of an expired key kept a TTL: %d", got)
		}
		x.do("OK", "setex", "s", "1", "v")
		x.clk.Advance(time.Second)
		x.do(1, "setnx", "s", "w")
		x.do("w", "get", "s")
	})
}

func TestMgetMset(t *testing.T) {
	both(t, func(x *tester) {
		x.do("OK", "mset", "a", "1", "b", "2")
		x.makeHash("h")
		x.do([]any{"1", "2", nil, nil}, "mget", "a", "b", "h", "nope")
		x.do("OK", "mset", "a", "x", "a", "y") // the last value wins
		x.do("y", "get", "a")

		x.do("OK", "setex", "t", "100", "v")
		x.do("OK", "mset", "t", "w")
		if got := x.expireAt("t"); got != 0 {
			x.t.Fatalf("MSET kept a TTL: %d", got)
		}

		x.do(1, "msetnx", "c", "1", "d", "2")
		x.do(0, "msetnx", "c", "9", "e", "9")
		x.do(nil, "get", "e")
		x.do(0, "msetnx", "h", "9", "f", "9")
		x.do(nil, "get", "f")
		x.do(1, "msetnx", "q", "1", "q", "2")
		x.do("2", "get", "q")

		x.do(errReply("ERR wrong number of arguments for 'mset' command"), "mset", "a", "1", "b")
		x.do(errReply("ERR wrong number of arguments for 'msetnx' command"), "msetnx", "a", "1", "b")
		x.do(errReply("ERR wrong number of arguments for 'mset' command"), "mset", "a")
		x.do(errReply("ERR wrong number of arguments for 'mget' command"), "mget")

		// Pipelined, a write and a read of the same keys see each other.
		ctx := testutil.Ctx(x.t)
		var mg *redis.SliceCmd
		_, err := x.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.MSet(ctx, "p1", "a", "p2", "b")
			p.Append(ctx, "p1", "c")
			mg = p.MGet(ctx, "p1", "p2", "p3")
			return nil
		})
		if err != nil || !reflect.DeepEqual(mg.Val(), []any{"ac", "b", nil}) {
			x.t.Fatalf("pipelined MGET = %#v, %v", mg.Val(), err)
		}
	})
}

func TestGetsetGetdelGetex(t *testing.T) {
	both(t, func(x *tester) {
		x.do(nil, "getset", "k", "a")
		x.do("a", "getset", "k", "b")
		x.do("b", "get", "k")
		x.do("OK", "setex", "k", "100", "c")
		x.do("c", "getset", "k", "d")
		if got := x.expireAt("k"); got != 0 {
			x.t.Fatalf("GETSET kept a TTL: %d", got)
		}

		x.do("d", "getdel", "k")
		x.do(nil, "getdel", "k")
		x.do(nil, "get", "k")

		now := x.clk.Ms()
		x.do("OK", "set", "k", "v")
		x.do("v", "getex", "k")
		x.do("v", "getex", "k", "ex", "10", "ex", "20")
		if got := x.expireAt("k"); got != now+20_000 {
			x.t.Fatalf("GETEX EX: expireAt %d", got)
		}
		x.do("v", "getex", "k", "px", "500")
		if got := x.expireAt("k"); got != now+500 {
			x.t.Fatalf("GETEX PX: expireAt %d", got)
		}
		x.do("v", "getex", "k", "pxat", now+700)
		if got := x.expireAt("k"); got != now+700 {
			x.t.Fatalf("GETEX PXAT: expireAt %d", got)
		}
		x.do("v", "getex", "k", "persist", "persist")
		if got := x.expireAt("k"); got != 0 {
			x.t.Fatalf("GETEX PERSIST: expireAt %d", got)
		}
		x.do("v", "getex", "k", "exat", "1") // already past: deleted
		x.do(nil, "get", "k")

		x.do("OK", "set", "k", "v")
		x.do(nil, "getex", "missing", "ex", "abc") // a missing key answers before the value is checked
		x.do(errReply("ERR syntax error"), "getex", "missing", "ex")
		x.do(errReply("ERR invalid expire time in 'getex' command"), "getex", "k", "ex", "0")
		x.do(errReply("ERR value is not an integer or out of range"), "getex", "k", "ex", "abc")
		x.do(errReply("ERR syntax error"), "getex", "k", "ex", "10", "persist")
		x.do(errReply("ERR syntax error"), "getex", "k", "persist", "px", "10")
		x.do(errReply("ERR syntax error"), "getex", "k", "ex", "10", "px", "10")
		x.do(errReply("ERR syntax error"), "getex", "k", "keepttl")
		x.do(errReply("ERR syntax error"), "getex", "k", "nx")
		x.do(errReply("ERR syntax error"), "getex", "k", "get")
		x.do(errReply("ERR wrong number of arguments for 'getex' command"), "getex")

		x.makeHash("h")
		x.do(errWrongType, "getset", "h", "v")
		x.do(errWrongType, "getdel", "h")
		x.do(errWrongType, "getex", "h")
		x.do(errWrongType, "getex", "h", "persist")
		if !x.isHash("h") {
			x.t.Fatal("a failed GETSET/GETDEL changed the hash")
		}
	})
}

func TestAppendStrlen(t *testing.T) {
	both(t, func(x *tester) {
		x.do(0, "strlen", "k")
		x.do(5, "append", "k", "hello")
		x.do(11, "append", "k", " world")
		x.do("hello world", "get", "k")
		x.do(11, "strlen", "k")
		x.do(11, "append", "k", "")

		now := x.clk.Ms()
		x.do("OK", "psetex", "t", "5000", "a")
		x.do(2, "append", "t", "b")
		if got := x.expireAt("t"); got != now+5000 {
			x.t.Fatalf("APPEND dropped the TTL: %d", got)
		}

		x.makeHash("h")
		x.do(errWrongType, "append", "h", "x")
		x.do(errWrongType, "strlen", "h")
		x.do(errReply("ERR wrong number of arguments for 'append' command"), "append", "k")
		x.do(errReply("ERR wrong number of arguments for 'strlen' command"), "strlen")
	})
}

func TestIncrDecr(t *testing.T) {
	both(t, func(x *tester) {
		x.do(1, "incr", "n")
		x.do(0, "decr", "n")
		x.do(10, "incrby", "n", "10")
		x.do(3, "decrby", "n", "7")
		x.do(-7, "incrby", "n", "-10")
		x.do("-7", "get", "n")

		x.do("OK", "set", "n", "9223372036854775807")
		x.do(errReply("ERR increment or decrement would overflow"), "incr", "n")
		x.do(errReply("ERR increment or decrement would overflow"), "incrby", "n", "1")
		x.do("OK", "set", "n", "-9223372036854775808")
		x.do(errReply("ERR increment or decrement would overflow"), "decr", "n")
		x.do(errReply("ERR increment or decrement would overflow"), "incrby", "n", "-1")
		x.do(errReply("ERR decrement would overflow"), "decrby", "n", "-9223372036854775808")
		x.do(errReply("ERR decrement would overflow"), "decrby", "fresh", "-9223372036854775808")
		x.do(-1, "decrby", "fresh", "1")
		x.do(-9223372036854775808, "decrby", "n", "0")

		for _, bad := range []string{"abc", " 1", "1 ", "01", "+1", "-0", "1.0", "", "9223372036854775808"} {
			x.do("OK", "set", "s", bad)
			x.do(errReply("ERR value is not an integer or out of range"), "incr", "s")
			x.do(errReply("ERR value is not an integer or out of range"), "decrby", "k2", bad)
		}
		x.do(errReply("ERR value is not an integer or out of range"), "incrby", "n", "9223372036854775808")

		now := x.clk.Ms()
		x.do("OK", "setex", "t", "100", "41")
		x.do(42, "incr", "t")
		x.do(40, "decrby", "t", "2")
		if got := x.expireAt("t"); got != now+100_000 {
			x.t.Fatalf("INCR dropped the TTL: %d", got)
		}

		x.makeHash("h")
		x.do(errWrongType, "incr", "h")
		x.do(errWrongType, "decrby", "h", "1")
		// The increment is checked before the key's type.
		x.do(errReply("ERR value is not an integer or out of range"), "incrby", "h", "x")

		// A pipeline of INCRs sees its own writes.
		ctx := testutil.Ctx(x.t)
		cmds, err := x.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range 100 {
				p.Incr(ctx, "p")
			}
			return nil
		})
		if err != nil || cmds[99].(*redis.IntCmd).Val() != 100 {
			x.t.Fatalf("pipelined INCR: %v", err)
		}
	})
}

func TestIncrbyfloat(t *testing.T) {
	both(t, func(x *tester) {
		x.do("10.5", "incrbyfloat", "f", "10.5")
		x.do("10.6", "incrbyfloat", "f", "0.1")
		x.do("0.1", "incrbyfloat", "g", "0.1")
		x.do("0.3", "incrbyfloat", "g", "0.2") // long double arithmetic, as Redis
		x.do("5000", "incrbyfloat", "e", "5.0e3")
		x.do("5000", "get", "e")
		x.do("0", "incrbyfloat", "z", "-0.0")
		x.do("1.23456789012345679", "incrbyfloat", "p", "1.23456789012345678901")
		x.do("3", "incrbyfloat", "hex", "0x1.8p1")
		x.do("3.5", "incrbyfloat", "hex", ".5")
		x.do("4.5", "incrbyfloat", "hex", "+1.")
		x.do("OK", "set", "big", "3")
		x.do("100000000000000000000", "incrbyfloat", "big", "1e20")
		x.do("OK", "set", "i", "17")
		x.do("18.25", "incrbyfloat", "i", "1.25")

		x.do(errReply("ERR increment would produce NaN or Infinity"), "incrbyfloat", "f", "inf")
		x.do(errReply("ERR increment would produce NaN or Infinity"), "incrbyfloat", "f", "-Infinity")
		x.do("OK", "set", "f", "1e4932")
		x.do(errReply("ERR increment would produce NaN or Infinity"), "incrbyfloat", "f", "1e4932")
		for _, bad := range []string{"abc", "nan", " 1", "1 ", "1e", "0x", "0b1", "1_0", "", ".", "-", "1e-5000", "1e5000"} {
			x.do(errReply("ERR value is not a valid float"), "incrbyfloat", "f", bad)
		}
		x.do("OK", "set", "s", "abc")
		x.do(errReply("ERR value is not a valid float"), "incrbyfloat", "s", "1")

		now := x.clk.Ms()
		x.do("OK", "setex", "t", "100", "1.5")
		x.do("3", "incrbyfloat", "t", "1.5")
		if got := x.expireAt("t"); got != now+100_000 {
			x.t.Fatalf("INCRBYFLOAT dropped the TTL: %d", got)
		}

		x.makeHash("h")
		// The key's type is checked before the increment.
		x.do(errWrongType, "incrbyfloat", "h", "abc")

		if v, err := x.c.IncrByFloat(testutil.Ctx(x.t), "gr", 2.5).Result(); err != nil || v != 2.5 {
			x.t.Fatalf("go-redis IncrByFloat = %v, %v", v, err)
		}
	})
}

func TestLongDouble(t *testing.T) {
	cases := []struct{ a, b, sum string }{
		{"0.1", "0.2", "0.3"},
		{"10.5", "0.1", "10.6"},
		{"5.0e3", "0", "5000"},
		{"-1e-20", "0", "0"},
		{"1e400", "0", "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"},
		{"0x10", "-16", "0"},
		{"1e20", "3", "100000000000000000000"},
		{"-3.75", "1", "-2.75"},
	}
	for _, c := range cases {
		a, ok1 := commands.ParseLongDouble([]byte(c.a))
		b, ok2 := commands.ParseLongDouble([]byte(c.b))
		if !ok1 || !ok2 {
			t.Fatalf("parse %q %q: %v %v", c.a, c.b, ok1, ok2)
		}
		s, ok := commands.AddLongDouble(a, b)
		if !ok {
			t.Fatalf("%s + %s overflows", c.a, c.b)
		}
		if got := string(commands.FormatLongDouble(s)); got != c.sum {
			t.Errorf("%s + %s = %s, want %s", c.a, c.b, got, c.sum)
		}
	}
	for _, bad := range []string{"", "x", "nan", "-nan", "1e", "1e+", "0x", "0xp1", ".e1", "1..2", "1e5000", "1e999999999", "1e-999999999", "0x1p-99999999999", "-1e-5000", strings.Repeat("1", 5120)} {
		if _, ok := commands.ParseLongDouble([]byte(bad)); ok {
			t.Errorf("ParseLongDouble(%q) accepted", bad)
		}
	}
	for _, good := range []string{"inf", "-INF", "+Infinity", "1e4000", "0X1P-3", "-.5", "7.", "1E+3", "0e999999999", "-0.000e-5000", "0x0p-99999999999"} {
		if _, ok := commands.ParseLongDouble([]byte(good)); !ok {
			t.Errorf("ParseLongDouble(%q) refused", good)
		}
	}
	if _, ok := commands.AddLongDouble(new(big.Float).SetInf(false), big.NewFloat(1)); ok {
		t.Error("inf + 1 accepted")
	}
}

func TestGetrangeSetrange(t *testing.T) {
	both(t, func(x *tester) {
		x.do("OK", "set", "s", "Hello World")
		for _, c := range []struct {
			start, end any
			want       string
		}{
			{0, 4, "Hello"}, {0, -1, "Hello World"}, {-5, -1, "World"}, {-1, -5, ""}, {5, 3, ""},
			{-100, 100, "Hello World"}, {3, -100, ""}, {-1, 0, ""}, {0, 0, "H"},
			{"9223372036854775807", "9223372036854775807", ""}, {"-9223372036854775808", -1, "Hello World"},
		} {
			x.do(c.want, "getrange", "s", c.start, c.end)
			x.do(c.want, "substr", "s", c.start, c.end)
		}
		x.do("", "getrange", "missing", 0, -1)
		x.do("OK", "set", "e", "")
		x.do("", "getrange", "e", 0, -1)
		x.do(errReply("ERR value is not an integer or out of range"), "getrange", "s", 0, "abc")

		x.do(11, "setrange", "s", 6, "Redis")
		x.do("Hello Redis", "get", "s")
		x.do(16, "setrange", "s", 14, "!!")
		x.do("Hello Redis\x00\x00\x00!!", "get", "s")
		x.do(16, "setrange", "s", 0, "")
		x.do(0, "setrange", "m", 0, "")
		x.do(nil, "get", "m")
		x.do(6, "setrange", "m", 3, "abc")
		x.do("\x00\x00\x00abc", "get", "m")
		// Shrinking the stored text and growing it again pads with zeros.
		x.do("OK", "set", "g", "abcdef")
		x.do("OK", "set", "g", "ab")
		x.do(6, "setrange", "g", 5, "z")
		x.do("ab\x00\x00\x00z", "get", "g")

		now := x.clk.Ms()
		x.do("OK", "setex", "t", "100", "abc")
		x.do(3, "setrange", "t", 1, "x")
		if got := x.expireAt("t"); got != now+100_000 {
			x.t.Fatalf("SETRANGE dropped the TTL: %d", got)
		}

		x.do(errReply("ERR offset is out of range"), "setrange", "s", -1, "x")
		x.do(errReply("ERR value is not an integer or out of range"), "setrange", "s", "abc", "x")
		x.do(errReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), "setrange", "s", 536870912, "x")
		x.do(errReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), "setrange", "s", "9223372036854775807", "x")

		x.makeHash("h")
		x.do(errWrongType, "getrange", "h", 0, 1)
		x.do(errWrongType, "substr", "h", 0, 1)
		x.do(errReply("ERR value is not an integer or out of range"), "getrange", "h", "x", 1)
		x.do(errWrongType, "setrange", "h", 0, "x")
		x.do(errWrongType, "setrange", "h", 0, "")
		x.do(errReply("ERR wrong number of arguments for 'getrange' command"), "getrange", "s", 0)
		x.do(errReply("ERR wrong number of arguments for 'setrange' command"), "setrange", "s", 0)
	})
}

func TestLCS(t *testing.T) {
	both(t, func(x *tester) {
		ctx := testutil.Ctx(x.t)
		resp3 := x.c.Options().Protocol == 3
		x.do("OK", "mset", "key1", "ohmytext", "key2", "mynewtext")
		x.do("mytext", "lcs", "key1", "key2")
		x.do(6, "lcs", "key1", "key2", "len")
		x.do(6, "lcs", "key1", "key2", "len", "len", "withmatchlen")
		x.do("", "lcs", "key1", "nokey")

		idx := func(want []any, args ...any) {
			x.t.Helper()
			got, err := x.c.Do(ctx, args...).Result()
			if err != nil {
				x.t.Fatalf("%v: %v", args, err)
			}
			if resp3 {
				m, ok := got.(map[any]any)
				if !ok || len(m) != 2 || !reflect.DeepEqual(m["matches"], want[1]) || m["len"] != want[3] {
					x.t.Fatalf("%v = %#v, want map of %#v", args, got, want)
				}
				return
			}
			if !reflect.DeepEqual(got, want) {
				x.t.Fatalf("%v = %#v, want %#v", args, got, want)
			}
		}
		r := func(a, b int64) []any { return []any{a, b} }
		idx([]any{"matches", []any{
			[]any{r(4, 7), r(5, 8)},
			[]any{r(2, 3), r(0, 1)},
		}, "len", int64(6)}, "lcs", "key1", "key2", "idx")
		idx([]any{"matches", []any{
			[]any{r(4, 7), r(5, 8), int64(4)},
		}, "len", int64(6)}, "lcs", "key1", "key2", "idx", "minmatchlen", "4", "withmatchlen")
		idx([]any{"matches", []any{
			[]any{r(4, 7), r(5, 8), int64(4)},
			[]any{r(2, 3), r(0, 1), int64(2)},
		}, "len", int64(6)}, "lcs", "key1", "key2", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "-5")
		idx([]any{"matches", []any{}, "len", int64(0)}, "lcs", "nokey", "key2", "idx")

		// go-redis's own LCS command reads both shapes.
		m, err := x.c.LCS(ctx, &redis.LCSQuery{Key1: "key1", Key2: "key2", Idx: true, WithMatchLen: true}).Result()
		if err != nil || m.Len != 6 || len(m.Matches) != 2 || m.Matches[0].Key1.Start != 4 || m.Matches[0].MatchLen != 4 {
			x.t.Fatalf("go-redis LCS IDX = %+v, %v", m, err)
		}

		x.do(errReply("ERR If you want both the length and indexes, please just use IDX."), "lcs", "key1", "key2", "idx", "len")
		x.do(errReply("ERR syntax error"), "lcs", "key1", "key2", "bogus")
		x.do(errReply("ERR syntax error"), "lcs", "key1", "key2", "minmatchlen")
		x.do(errReply("ERR value is not an integer or out of range"), "lcs", "key1", "key2", "minmatchlen", "x")
		x.makeHash("h")
		x.do(errReply("ERR The specified keys must contain string values"), "lcs", "key1", "h")
		x.do(errReply("ERR The specified keys must contain string values"), "lcs", "h", "key1", "bogus")
		x.do(errReply("ERR wrong number of arguments for 'lcs' command"), "lcs", "key1")
	})
}
