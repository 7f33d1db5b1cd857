package commands_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
	"github.com/shoaldb/shoal/storage/encoding"
)

// step is one command and the reply redis-server 7.0 gives it: an int64,
// a string, nil, a []any of those, or an error text.
type step struct {
	args []any
	want any
}

type errText string

func run(t *testing.T, c *redis.Client, steps []step) {
	t.Helper()
	ctx := testutil.Ctx(t)
	for _, st := range steps {
		got, err := c.Do(ctx, st.args...).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			got = errText(err.Error())
		} else if errors.Is(err, redis.Nil) {
			got = nil
		}
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", st.want) {
			t.Fatalf("%v:\n got %#v\nwant %#v", st.args, got, st.want)
		}
	}
}

func a(args ...any) []any { return args }

// startWithHash starts a server holding a hash at key "hash", for
// WRONGTYPE cases (the hash commands live in another group).
func startWithHash(t *testing.T, proto int) *redis.Client {
	s := testutil.Start(t, nil)
	putHash(t, s, "hash")
	return testutil.Client(t, s, proto)
}

func putHash(t *testing.T, s *server.Server, name string) {
	t.Helper()
	tx := s.Store().NewTx()
	tx.Lock(0, []byte(name))
	k, err := tx.Lookup(0, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	tx.SetSize(k, 1)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func bothWithHash(t *testing.T, f func(t *testing.T, c *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) { f(t, startWithHash(t, proto)) })
	}
}

const (
	wrongType = errText("WRONGTYPE Operation against a key holding the wrong kind of value")
	badOffset = errText("ERR bit offset is not an integer or out of range")
	syntaxErr = errText("ERR syntax error")
	notInt    = errText("ERR value is not an integer or out of range")
	badType   = errText("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
)

func TestSetbitGetbit(t *testing.T) {
	bothWithHash(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("setbit", "b", 7, 1), int64(0)},
			{a("setbit", "b", 7, 1), int64(1)},
			{a("setbit", "b", 100, 1), int64(0)},
			{a("get", "b"), "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08"},
			{a("getbit", "b", 7), int64(1)},
			{a("getbit", "b", 6), int64(0)},
			{a("getbit", "b", 100000), int64(0)},
			{a("getbit", "missing", 4294967295), int64(0)},
			{a("setbit", "b", 7, 0), int64(1)},
			{a("getbit", "b", 7), int64(0)},
			{a("set", "s", "foobar"), "OK"},
			{a("setbit", "s", 0, 1), int64(0)},
			{a("get", "s"), "\xe6oobar"},
			// Errors, in Redis's order: offset, then bit, then type.
			{a("getbit", "b", -1), badOffset},
			{a("getbit", "b", "x"), badOffset},
			{a("getbit", "b", 4294967296), badOffset},
			{a("setbit", "m", 4294967296, 1), badOffset},
			{a("setbit", "m", "x", 2), badOffset},
			{a("setbit", "m", 1, 2), errText("ERR bit is not an integer or out of range")},
			{a("setbit", "m", 1, "x"), errText("ERR bit is not an integer or out of range")},
			{a("setbit", "hash", 1, 1), wrongType},
			{a("getbit", "hash", 1), wrongType},
			{a("setbit", "m", 1), errText("ERR wrong number of arguments for 'setbit' command")},
			{a("getbit", "m"), errText("ERR wrong number of arguments for 'getbit' command")},
		})
	})
}

func TestBitcountBitpos(t *testing.T) {
	bothWithHash(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("set", "s", "foobar"), "OK"},
			{a("bitcount", "s"), int64(26)},
			{a("bitcount", "s", 0, 0), int64(4)},
			{a("bitcount", "s", 1, 1), int64(6)},
			{a("bitcount", "s", 5, 30, "bit"), int64(17)},
			{a("bitcount", "s", -1, -2), int64(0)},
			{a("bitcount", "s", -5, -1, "BIT"), int64(2)},
			{a("bitcount", "s", 1, 100, "byte"), int64(22)},
			{a("bitcount", "s", 0, 1, "foo"), syntaxErr},
			{a("bitcount", "s", 0), syntaxErr},
			{a("bitcount", "s", "a", "b"), notInt},
			// A missing key answers before its range is read, as in Redis 7.0.
			{a("bitcount", "m", "a", "b"), int64(0)},
			{a("bitcount", "hash"), wrongType},
			{a("bitpos", "s", 0), int64(0)},
			{a("bitpos", "s", 1), int64(1)},
			{a("bitpos", "s", 0, -1), int64(40)},
			{a("bitpos", "s", 0, 1, 2, "bit"), int64(-1)},
			{a("bitpos", "s", 1, 7, 15, "bit"), int64(9)},
			{a("bitpos", "s", 0, 0, -1, "bit"), int64(0)},
			{a("bitpos", "s", 1, 2), int64(17)},
			{a("bitpos", "s", 0, 100), int64(-1)},
			{a("set", "ones", "\xff\xff\xff"), "OK"},
			{a("bitpos", "ones", 0), int64(24)},
			{a("bitpos", "ones", 0, 0, -1), int64(-1)},
			{a("bitpos", "ones", 0, 1), int64(24)},
			{a("bitpos", "ones", 0, 3, 21, "bit"), int64(-1)},
			{a("bitpos", "ones", 1, 3, 21, "bit"), int64(3)},
			{a("set", "z", ""), "OK"},
			{a("bitpos", "z", 0), int64(-1)},
			{a("bitpos", "z", 1), int64(-1)},
			{a("bitpos", "m", 0), int64(0)},
			{a("bitpos", "m", 1, "a"), int64(-1)},
			{a("bitpos", "m", 2), errText("ERR The bit argument must be 1 or 0.")},
			{a("bitpos", "s", 1, 0, 0, "foo"), syntaxErr},
			{a("bitpos", "s", 1, "a"), notInt},
			{a("bitpos", "hash", 1), wrongType},
			{a("bitpos", "s"), errText("ERR wrong number of arguments for 'bitpos' command")},
		})
	})
}

func TestBitop(t *testing.T) {
	bothWithHash(t, func(t *testing.T, c *redis.Client) {
		run(t, c, []step{
			{a("set", "s", "foobar"), "OK"},
			{a("set", "b", "\x01\x00\x08"), "OK"},
			{a("bitop", "and", "d", "s", "b"), int64(6)},
			{a("get", "d"), "\x00\x00\x08\x00\x00\x00"},
			{a("bitop", "OR", "d", "s", "b", "missing"), int64(6)},
			{a("get", "d"), "goobar"},
			{a("bitop", "xor", "d", "s", "b"), int64(6)},
			{a("get", "d"), "gogbar"},
			{a("bitop", "not", "d", "b"), int64(3)},
			{a("get", "d"), "\xfe\xff\xf7"},
			// An empty result deletes the destination.
			{a("bitop", "and", "d", "missing"), int64(0)},
			{a("get", "d"), nil},
			{a("bitop", "foo", "d", "s"), syntaxErr},
			{a("bitop", "not", "d", "s", "s"), errText("ERR BITOP NOT must be called with a single source key.")},
			{a("bitop", "and", "d"), errText("ERR wrong number of arguments for 'bitop' command")},
			{a("bitop", "and", "d", "s", "hash"), wrongType},
			// The destination's type does not matter: it is replaced.
			{a("bitop", "or", "hash", "s"), int64(6)},
			{a("get", "hash"), "foobar"},
		})
	})
}

func TestBitfield(t *testing.T) {
	bothWithHash(t, func(t *testing.T, c *redis.Client) {
		const maxI64 = int64(9223372036854775807)
		run(t, c, []step{
			{a("set", "s", "foobar"), "OK"},
			{a("bitfield", "s", "get", "u8", 0, "get", "i8", 0, "get", "u4", 4, "get", "i64", 0, "get", "u63", 1),
				a(int64(102), int64(102), int64(6), int64(7381240782615871488), int64(7381240782615871488))},
			{a("bitfield", "s", "get", "u8", "#1", "get", "i8", "#2", "get", "u8", 100), a(int64(111), int64(111), int64(0))},
			{a("bitfield_ro", "s", "get", "u8", 0), a(int64(102))},
			{a("bitfield", "f", "set", "i8", 0, 100, "incrby", "i8", 0, 100, "overflow", "sat", "incrby", "i8", 0, 100,
				"overflow", "fail", "incrby", "i8", 0, 1, "get", "i8", 0),
				a(int64(0), int64(-56), int64(44), int64(45), int64(45))},
			{a("bitfield", "f", "set", "u8", 8, 255, "incrby", "u8", 8, 10, "overflow", "sat", "incrby", "u8", 8, 300,
				"incrby", "u8", 8, -1000, "overflow", "fail", "incrby", "u8", 8, -1),
				a(int64(0), int64(9), int64(255), int64(0), nil)},
			{a("bitfield", "f", "set", "u8", 16, -1, "set", "i4", 24, 100, "set", "u63", 32, -5, "set", "i64", 100, "-9223372036854775808",
				"incrby", "i64", 100, -1, "overflow", "sat", "incrby", "i64", 100, -1, "incrby", "i64", 100, maxI64, "incrby", "i64", 100, 1),
				a(int64(0), int64(0), int64(0), int64(0), maxI64, maxI64-1, maxI64, maxI64)},
			{a("bitfield", "f", "overflow", "wrap", "incrby", "u63", 32, maxI64, "incrby", "i1", 200, 1, "incrby", "u1", 201, 3, "incrby", "i3", 202, -9),
				a(maxI64-5, int64(-1), int64(1), int64(-1))},
			// A failed write still creates the key, zero-padded, as Redis does.
			{a("bitfield", "m", "overflow", "fail", "incrby", "u2", 0, 5), a(nil)},
			{a("get", "m"), "\x00"},
			{a("bitfield", "s"), []any{}},
			{a("bitfield", "m2"), []any{}},
			{a("get", "m2"), nil},
			{a("bitfield", "m", "get", "u8", 4294967296), badOffset},
			{a("bitfield", "m", "get", "u8", "#536870912"), badOffset},
			{a("bitfield", "m", "get", "u8", -1), badOffset},
			{a("bitfield", "m", "get", "u8", "#-1"), badOffset},
			{a("bitfield", "m", "get", "u64", 0), badType},
			{a("bitfield", "m", "get", "I8", 0), badType},
			{a("bitfield", "m", "get", "i65", 0), badType},
			{a("bitfield", "m", "get", "u8"), syntaxErr},
			{a("bitfield", "m", "foo"), syntaxErr},
			{a("bitfield", "m", "overflow", "bad"), errText("ERR Invalid OVERFLOW type specified")},
			{a("bitfield", "m", "set", "u8", 0, "x"), notInt},
			{a("bitfield_ro", "m", "set", "u8", 0, 1), errText("ERR BITFIELD_RO only supports the GET subcommand")},
			{a("bitfield", "hash", "get", "u8", 0), wrongType},
			{a("bitfield", "hash", "set", "u8", 0, 1), wrongType},
			{a("bitfield"), errText("ERR wrong number of arguments for 'bitfield' command")},
		})
	})
}
