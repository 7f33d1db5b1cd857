package commands_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// do runs a raw command and returns its result and error.
func do(ctx context.Context, c *redis.Client, args ...any) (any, error) {
	return c.Do(ctx, args...).Result()
}

func wantInt(t *testing.T, c *redis.Client, want int64, args ...any) {
	t.Helper()
	got, err := c.Do(testutil.Ctx(t), args...).Int64()
	if err != nil || got != want {
		t.Fatalf("%v = %d, %v; want %d", args, got, err, want)
	}
}

func wantDoErr(t *testing.T, c *redis.Client, want string, args ...any) {
	t.Helper()
	_, err := do(testutil.Ctx(t), c, args...)
	if err == nil || err.Error() != want {
		t.Fatalf("%v: error %v, want %q", args, err, want)
	}
}

func wantOK(t *testing.T, c *redis.Client, args ...any) {
	t.Helper()
	got, err := c.Do(testutil.Ctx(t), args...).Text()
	if err != nil || got != "OK" {
		t.Fatalf("%v = %q, %v; want OK", args, got, err)
	}
}

func set(t *testing.T, c *redis.Client, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if err := c.Set(testutil.Ctx(t), kv[i], kv[i+1], 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDelExistsTypeTouch(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		set(t, c, "a", "1", "b", "2")
		wantInt(t, c, 2, "exists", "a", "a", "zz")
		wantInt(t, c, 3, "touch", "a", "b", "a", "zz")
		if v, err := c.Type(ctx, "a").Result(); err != nil || v != "string" {
			t.Fatalf("TYPE a = %q, %v", v, err)
		}
		if v, err := c.Type(ctx, "zz").Result(); err != nil || v != "none" {
			t.Fatalf("TYPE zz = %q, %v", v, err)
		}
		wantInt(t, c, 1, "del", "a", "a", "zz")
		wantInt(t, c, 0, "exists", "a")
		wantInt(t, c, 1, "unlink", "b", "zz")
		wantInt(t, c, 0, "dbsize")
		for _, cmd := range []string{"del", "unlink", "exists", "touch", "type"} {
			wantDoErr(t, c, fmt.Sprintf("ERR wrong number of arguments for '%s' command", cmd), cmd)
		}
		wantDoErr(t, c, "ERR wrong number of arguments for 'type' command", "type", "a", "b")
	})
}

func TestExpire(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		set(t, c, "k", "v")
		wantInt(t, c, -1, "ttl", "k")
		wantInt(t, c, -1, "pttl", "k")
		wantInt(t, c, -1, "expiretime", "k")
		wantInt(t, c, -2, "ttl", "missing")
		wantInt(t, c, -2, "pttl", "missing")
		wantInt(t, c, -2, "pexpiretime", "missing")
		wantInt(t, c, 0, "expire", "missing", 10)

		// XX and GT need an expiry; NX and LT take a key without one.
		wantInt(t, c, 0, "expire", "k", 100, "xx")
		wantInt(t, c, 0, "expire", "k", 100, "gt")
		wantInt(t, c, 1, "expire", "k", 100, "nx")
		wantInt(t, c, 0, "expire", "k", 200, "nx")
		if ttl := c.TTL(ctx, "k").Val(); ttl != 100*time.Second {
			t.Fatalf("TTL = %v, want 100s", ttl)
		}
		wantInt(t, c, 0, "expire", "k", 50, "gt")
		wantInt(t, c, 1, "expire", "k", 500, "gt")
		wantInt(t, c, 0, "expire", "k", 1000, "lt")
		wantInt(t, c, 1, "expire", "k", 300, "xx", "lt")
		if pttl := c.PTTL(ctx, "k").Val(); pttl <= 290*time.Second || pttl > 300*time.Second {
			t.Fatalf("PTTL = %v, want about 300s", pttl)
		}
		set(t, c, "n", "v")
		wantInt(t, c, 1, "expire", "n", 10, "lt")

		// Absolute deadlines read back exactly.
		at := time.Now().Add(time.Hour).UnixMilli()
		wantInt(t, c, 1, "pexpireat", "k", at)
		wantInt(t, c, at, "pexpiretime", "k")
		wantInt(t, c, (at+500)/1000, "expiretime", "k")
		wantInt(t, c, 1, "expireat", "k", at/1000)
		wantInt(t, c, at/1000, "expiretime", "k")

		// PERSIST.
		wantInt(t, c, 1, "persist", "k")
		wantInt(t, c, 0, "persist", "k")
		wantInt(t, c, 0, "persist", "missing")
		wantInt(t, c, -1, "ttl", "k")

		// A deadline in the past deletes the key.
		wantInt(t, c, 1, "expire", "k", -1)
		wantInt(t, c, 0, "exists", "k")
		set(t, c, "k", "v")
		wantInt(t, c, 1, "pexpireat", "k", 1)
		wantInt(t, c, 0, "exists", "k")
		set(t, c, "k", "v")
		wantInt(t, c, 1, "pexpire", "k", 0)
		wantInt(t, c, 1, "dbsize") // n

		set(t, c, "k", "v")
		wantDoErr(t, c, "ERR Unsupported option foo", "expire", "k", 10, "foo")
		wantDoErr(t, c, "ERR NX and XX, GT or LT options at the same time are not compatible", "expire", "k", 10, "nx", "xx")
		wantDoErr(t, c, "ERR NX and XX, GT or LT options at the same time are not compatible", "pexpire", "k", 10, "lt", "nx")
		wantDoErr(t, c, "ERR GT and LT options at the same time are not compatible", "expire", "k", 10, "gt", "lt")
		// Options are checked before the number, as Redis does.
		wantDoErr(t, c, "ERR GT and LT options at the same time are not compatible", "expire", "k", "abc", "gt", "lt")
		wantDoErr(t, c, "ERR value is not an integer or out of range", "expire", "k", "abc")
		wantDoErr(t, c, "ERR invalid expire time in 'expire' command", "expire", "k", "9223372036854775807")
		wantDoErr(t, c, "ERR invalid expire time in 'expire' command", "expire", "k", "-9223372036854775807")
		wantDoErr(t, c, "ERR invalid expire time in 'pexpire' command", "pexpire", "k", "9223372036854775807")
		wantDoErr(t, c, "ERR invalid expire time in 'expireat' command", "expireat", "k", "9223372036854775807")
		wantInt(t, c, 1, "pexpireat", "k", "9223372036854775807")
		wantInt(t, c, 9223372036854776, "expiretime", "k")
		wantDoErr(t, c, "ERR wrong number of arguments for 'expire' command", "expire", "k")
		wantDoErr(t, c, "ERR wrong number of arguments for 'ttl' command", "ttl")
		wantDoErr(t, c, "ERR wrong number of arguments for 'persist' command", "persist")
	})
}

func TestRenameCopyMoveStrings(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		set(t, c, "a", "1")
		wantDoErr(t, c, "ERR no such key", "rename", "missing", "x")
		wantDoErr(t, c, "ERR no such key", "renamenx", "missing", "x")
		wantDoErr(t, c, "ERR no such key", "rename", "missing", "missing")
		wantOK(t, c, "rename", "a", "a")
		wantInt(t, c, 0, "renamenx", "a", "a")
		c.Expire(ctx, "a", time.Hour)
		wantOK(t, c, "rename", "a", "b")
		wantInt(t, c, 0, "exists", "a")
		if v := c.Get(ctx, "b").Val(); v != "1" {
			t.Fatalf("GET b = %q", v)
		}
		if ttl := c.TTL(ctx, "b").Val(); ttl <= 0 {
			t.Fatalf("rename lost the TTL: %v", ttl)
		}
		set(t, c, "c", "3")
		wantInt(t, c, 0, "renamenx", "b", "c")
		wantInt(t, c, 1, "renamenx", "b", "d")
		wantInt(t, c, 2, "dbsize") // c, d

		// COPY.
		wantDoErr(t, c, "ERR source and destination objects are the same", "copy", "c", "c")
		wantInt(t, c, 0, "copy", "missing", "x")
		wantInt(t, c, 0, "copy", "c", "d")
		wantInt(t, c, 1, "copy", "c", "d", "replace")
		wantInt(t, c, 1, "copy", "c", "e")
		if v := c.Get(ctx, "d").Val(); v != "3" {
			t.Fatalf("GET d = %q", v)
		}
		wantInt(t, c, 1, "copy", "c", "c", "db", 2)
		wantInt(t, c, 0, "copy", "c", "c", "db", 2)
		wantDoErr(t, c, "ERR syntax error", "copy", "c", "x", "foo")
		wantDoErr(t, c, "ERR syntax error", "copy", "c", "x", "db")
		wantDoErr(t, c, "ERR value is not an integer or out of range", "copy", "c", "x", "db", "abc")
		wantDoErr(t, c, "ERR DB index is out of range", "copy", "c", "x", "db", 99)
		wantDoErr(t, c, "ERR wrong number of arguments for 'copy' command", "copy", "c")

		// MOVE.
		c.Expire(ctx, "e", time.Hour)
		wantInt(t, c, 1, "move", "e", 1)
		wantInt(t, c, 0, "move", "e", 1)
		wantInt(t, c, 0, "move", "missing", 1)
		wantDoErr(t, c, "ERR source and destination objects are the same", "move", "c", 0)
		wantDoErr(t, c, "ERR DB index is out of range", "move", "c", 99)
		wantDoErr(t, c, "ERR DB index is out of range", "move", "c", -1)
		wantDoErr(t, c, "ERR value is not an integer or out of range", "move", "c", "x")
		set(t, c, "e", "again")
		wantInt(t, c, 0, "move", "e", 1) // e exists in db 1

		// Look at db 1 and 2 through a connection that selects them.
		for db, want := range map[int]string{1: "e=3", 2: "c=3"} {
			conn := c.Conn()
			if err := conn.Select(ctx, db).Err(); err != nil {
				t.Fatal(err)
			}
			k, v, _ := strings.Cut(want, "=")
			if got := conn.Get(ctx, k).Val(); got != v {
				t.Fatalf("db %d: GET %s = %q, want %q", db, k, got, v)
			}
			if db == 1 && conn.TTL(ctx, k).Val() <= 0 {
				t.Fatal("MOVE lost the TTL")
			}
			conn.Close()
		}
	})
}

// eachProto runs f over RESP2 and RESP3 with access to the server, for
// tests that build values through the storage API.
func eachProto(t *testing.T, f func(t *testing.T, s *server.Server, c *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			s := testutil.Start(t, nil)
			f(t, s, testutil.Client(t, s, proto))
		})
	}
}

const tagField = 'f'

// makeHash creates a hash of n fields through the storage API, as the hash
// commands do.
func makeHash(t *testing.T, st *storage.Store, db int, name string, n int) {
	t.Helper()
	tx := st.NewTx()
	tx.Lock(db, []byte(name))
	k, err := tx.Lookup(db, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		tx.SetMember(storage.MemberKey(nil, k, tagField, fmt.Appendf(nil, "f%d", i)), fmt.Appendf(nil, "v%d", i))
	}
	tx.SetSize(k, uint64(n))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// hashFields reads back a hash's fields through the storage API; nil when
// the key is missing.
func hashFields(t *testing.T, st *storage.Store, db int, name string) map[string]string {
	t.Helper()
	tx := st.NewTx()
	k, err := tx.Lookup(db, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Live {
		return nil
	}
	p := storage.MemberPrefix(k, tagField)
	it, err := tx.Iter(p, encoding.PrefixEnd(p))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key()[len(p):])] = string(it.Value())
	}
	if uint64(len(out)) != k.Meta.Size {
		t.Fatalf("%s: %d fields stored, size %d", name, len(out), k.Meta.Size)
	}
	return out
}

func checkHash(t *testing.T, st *storage.Store, db int, name string, n int) {
	t.Helper()
	got := hashFields(t, st, db, name)
	if len(got) != n {
		t.Fatalf("db %d %s: %d fields, want %d", db, name, len(got), n)
	}
	for i := 0; i < n; i++ {
		if v := got[fmt.Sprintf("f%d", i)]; v != fmt.Sprintf("v%d", i) {
			t.Fatalf("db %d %s: f%d = %q", db, name, i, v)
		}
	}
}

func TestRenameCopyMoveCollections(t *testing.T) {
	eachProto(t, func(t *testing.T, s *server.Server, c *redis.Client) {
		ctx := testutil.Ctx(t)
		st := s.Store()
		makeHash(t, st, 0, "h", 200)
		makeHash(t, st, 0, "old", 5)
		if v := c.Type(ctx, "h").Val(); v != "hash" {
			t.Fatalf("TYPE h = %q", v)
		}

		wantOK(t, c, "rename", "h", "old") // replaces a hash of 5 fields
		if hashFields(t, st, 0, "h") != nil {
			t.Fatal("h still exists after RENAME")
		}
		checkHash(t, st, 0, "old", 200)

		wantInt(t, c, 1, "renamenx", "old", "h")
		checkHash(t, st, 0, "h", 200)

		wantInt(t, c, 1, "copy", "h", "h2")
		checkHash(t, st, 0, "h", 200)
		checkHash(t, st, 0, "h2", 200)
		wantInt(t, c, 1, "copy", "h", "h", "db", 5)
		checkHash(t, st, 5, "h", 200)

		// A copy is independent: deleting it leaves the source whole.
		wantInt(t, c, 1, "del", "h2")
		checkHash(t, st, 0, "h", 200)

		wantInt(t, c, 1, "move", "h", 1)
		if hashFields(t, st, 0, "h") != nil {
			t.Fatal("h still in db 0 after MOVE")
		}
		checkHash(t, st, 1, "h", 200)
		wantInt(t, c, 0, "dbsize")

		// A copy over an existing string replaces it with the hash.
		set(t, c, "s", "x")
		makeHash(t, st, 0, "small", 3)
		wantInt(t, c, 1, "copy", "small", "s", "replace")
		checkHash(t, st, 0, "s", 3)
	})
}

func TestKeysAndScan(t *testing.T) {
	eachProto(t, func(t *testing.T, s *server.Server, c *redis.Client) {
		ctx := testutil.Ctx(t)
		var all []string
		for i := 0; i < 120; i++ {
			k := fmt.Sprintf("user:%03d", i)
			all = append(all, k)
			set(t, c, k, "v")
		}
		set(t, c, "other", "v", "h*llo", "v")
		all = append(all, "other", "h*llo")
		makeHash(t, s.Store(), 0, "hash:1", 2)
		all = append(all, "hash:1")

		keys, err := c.Keys(ctx, "*").Result()
		if err != nil || !slices.Equal(sorted(keys), sorted(all)) {
			t.Fatalf("KEYS * = %d keys, %v", len(keys), err)
		}
		if keys := c.Keys(ctx, "user:00?").Val(); len(keys) != 10 {
			t.Fatalf("KEYS user:00? = %v", keys)
		}
		if keys := c.Keys(ctx, `h\*llo`).Val(); !slices.Equal(keys, []string{"h*llo"}) {
			t.Fatalf(`KEYS h\*llo = %v`, keys)
		}
		if keys := c.Keys(ctx, "user:1[01][^0-8]").Val(); !slices.Equal(sorted(keys), []string{"user:109", "user:119"}) {
			t.Fatalf("KEYS user:1[01][^0-8] = %v", keys)
		}

		// A full SCAN returns every key exactly once.
		scanAll := func(args ...any) []string {
			t.Helper()
			var got []string
			cursor := uint64(0)
			for i := 0; ; i++ {
				if i > 1000 {
					t.Fatal("SCAN does not end")
				}
				keys, next, err := c.Scan(ctx, cursor, "", 0).Result()
				if len(args) > 0 {
					cmd := append([]any{"scan", cursor}, args...)
					res := redis.NewScanCmd(ctx, nil, cmd...)
					c.Process(ctx, res)
					keys, next, err = res.Result()
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, keys...)
				if next == 0 {
					return got
				}
				cursor = next
			}
		}
		got := scanAll()
		if !slices.Equal(sorted(got), sorted(all)) {
			t.Fatalf("SCAN: %d keys, want %d", len(got), len(all))
		}
		got = scanAll("count", 7)
		if !slices.Equal(sorted(got), sorted(all)) {
			t.Fatalf("SCAN COUNT 7: %d keys, want %d", len(got), len(all))
		}
		got = scanAll("match", "user:1*", "count", 1000)
		if len(got) != 20 {
			t.Fatalf("SCAN MATCH user:1*: %d keys", len(got))
		}
		if got := scanAll("type", "hash"); !slices.Equal(got, []string{"hash:1"}) {
			t.Fatalf("SCAN TYPE hash = %v", got)
		}
		if got := scanAll("type", "nosuchtype"); len(got) != 0 {
			t.Fatalf("SCAN TYPE nosuchtype = %v", got)
		}

		// COUNT bounds the keys looked at, before MATCH filters them.
		keys, next, err := c.Scan(ctx, 0, "zzz*", 5).Result()
		if err != nil || len(keys) != 0 || next == 0 {
			t.Fatalf("SCAN 0 MATCH zzz* COUNT 5 = %v, %d, %v", keys, next, err)
		}
		// An unknown cursor starts over.
		keys, _, err = c.Scan(ctx, 123456789, "", 3).Result()
		if err != nil || !slices.Equal(keys, sorted(all)[:3]) {
			t.Fatalf("SCAN unknown cursor = %v, %v", keys, err)
		}

		wantDoErr(t, c, "ERR invalid cursor", "scan", "abc")
		wantDoErr(t, c, "ERR invalid cursor", "scan", "-")
		wantDoErr(t, c, "ERR invalid cursor", "scan", "18446744073709551616")
		wantDoErr(t, c, "ERR syntax error", "scan", 0, "count", 0)
		wantDoErr(t, c, "ERR syntax error", "scan", 0, "count")
		wantDoErr(t, c, "ERR syntax error", "scan", 0, "foo", "bar")
		wantDoErr(t, c, "ERR value is not an integer or out of range", "scan", 0, "count", "x")
		wantDoErr(t, c, "ERR wrong number of arguments for 'scan' command", "scan")
		wantDoErr(t, c, "ERR wrong number of arguments for 'keys' command", "keys")
	})
}

func TestRandomKeyDBSizeFlushSwap(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if err := c.RandomKey(ctx).Err(); err != redis.Nil {
			t.Fatalf("RANDOMKEY on empty = %v", err)
		}
		set(t, c, "a", "1", "b", "2", "c", "3")
		seen := map[string]bool{}
		for i := 0; i < 200 && len(seen) < 3; i++ {
			k, err := c.RandomKey(ctx).Result()
			if err != nil || !slices.Contains([]string{"a", "b", "c"}, k) {
				t.Fatalf("RANDOMKEY = %q, %v", k, err)
			}
			seen[k] = true
		}
		if len(seen) != 3 {
			t.Fatalf("RANDOMKEY returned only %v", seen)
		}
		wantInt(t, c, 3, "dbsize")

		// A pipeline sees its own writes in DBSIZE, and FLUSHDB's.
		p := c.Pipeline()
		p.Set(ctx, "d", "4", 0)
		n1 := p.DBSize(ctx)
		p.FlushDB(ctx)
		n2 := p.DBSize(ctx)
		p.Set(ctx, "e", "5", 0)
		n3 := p.DBSize(ctx)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n1.Val() != 4 || n2.Val() != 0 || n3.Val() != 1 {
			t.Fatalf("DBSIZE in pipeline = %d, %d, %d; want 4, 0, 1", n1.Val(), n2.Val(), n3.Val())
		}

		conn := c.Conn()
		defer conn.Close()
		conn.Select(ctx, 1)
		conn.Set(ctx, "one", "1", 0)

		// SWAPDB exchanges what the two databases hold.
		wantOK(t, c, "swapdb", 0, 1)
		if v := c.Get(ctx, "one").Val(); v != "1" {
			t.Fatalf("after SWAPDB, GET one = %q", v)
		}
		if v := conn.Get(ctx, "e").Val(); v != "5" {
			t.Fatalf("after SWAPDB, db 1 GET e = %q", v)
		}
		wantOK(t, c, "swapdb", 1, 1)
		wantDoErr(t, c, "ERR invalid first DB index", "swapdb", "x", 1)
		wantDoErr(t, c, "ERR invalid second DB index", "swapdb", 1, "x")
		wantDoErr(t, c, "ERR DB index is out of range", "swapdb", 0, 16)
		wantDoErr(t, c, "ERR wrong number of arguments for 'swapdb' command", "swapdb", 0)

		// FLUSHDB clears only the selected database.
		wantOK(t, c, "flushdb", "async")
		wantInt(t, c, 0, "dbsize")
		if n := conn.DBSize(ctx).Val(); n != 1 {
			t.Fatalf("db 1 DBSIZE after FLUSHDB of db 0 = %d", n)
		}
		wantDoErr(t, c, "ERR syntax error", "flushdb", "foo")
		wantDoErr(t, c, "ERR syntax error", "flushall", "sync", "async")
		wantOK(t, c, "flushall", "sync")
		if n := conn.DBSize(ctx).Val(); n != 0 {
			t.Fatalf("db 1 DBSIZE after FLUSHALL = %d", n)
		}
		wantOK(t, c, "flushall")
	})
}

func TestRandomKeyLargeDB(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	p := c.Pipeline()
	for i := 0; i < 1500; i++ {
		p.Set(ctx, fmt.Sprintf("k%04d", i), "v", 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		k, err := c.RandomKey(ctx).Result()
		if err != nil || !strings.HasPrefix(k, "k") || len(k) != 5 {
			t.Fatalf("RANDOMKEY = %q, %v", k, err)
		}
		seen[k] = true
	}
	if len(seen) < 10 {
		t.Fatalf("RANDOMKEY returned only %d distinct keys in 100 calls", len(seen))
	}
}

func TestObject(t *testing.T) {
	eachProto(t, func(t *testing.T, s *server.Server, c *redis.Client) {
		ctx := testutil.Ctx(t)
		set(t, c, "int", "12345", "neg", "-7", "zeros", "007", "big", "123456789012345678901",
			"short", "hello", "e44", strings.Repeat("x", 44), "e45", strings.Repeat("x", 45))
		for k, want := range map[string]string{"int": "int", "neg": "int", "zeros": "embstr", "big": "embstr",
			"short": "embstr", "e44": "embstr", "e45": "raw"} {
			if got, err := c.ObjectEncoding(ctx, k).Result(); err != nil || got != want {
				t.Fatalf("OBJECT ENCODING %s = %q, %v; want %q", k, got, err, want)
			}
		}
		c.HSet(ctx, "small", "f", "v")
		c.HSet(ctx, "large", "f", strings.Repeat("v", 65))
		if got := c.ObjectEncoding(ctx, "small").Val(); got != "listpack" {
			t.Fatalf("OBJECT ENCODING small = %q", got)
		}
		if got := c.ObjectEncoding(ctx, "large").Val(); got != "hashtable" {
			t.Fatalf("OBJECT ENCODING large = %q", got)
		}
		if err := c.ObjectEncoding(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("OBJECT ENCODING missing = %v", err)
		}
		set(t, c, "shared", "123")
		wantInt(t, c, 2147483647, "object", "refcount", "shared") // Redis's shared integers
		wantInt(t, c, 1, "object", "refcount", "int")
		wantInt(t, c, 1, "object", "refcount", "short")
		// NB: the access clock counts whole seconds, as Redis's LRU clock:
		// a second's boundary may fall between the write and this read.
		if idle, err := c.Do(ctx, "object", "idletime", "short").Int64(); err != nil || idle > 1 {
			t.Fatalf("OBJECT IDLETIME short = %d, %v; want 0, or 1 across a second's boundary", idle, err)
		}
		wantDoErr(t, c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
			"object", "freq", "short")
		help, err := c.Do(ctx, "object", "help").StringSlice()
		if err != nil || len(help) != 15 || !strings.HasPrefix(help[0], "OBJECT <subcommand>") {
			t.Fatalf("OBJECT HELP = %q, %v", help, err)
		}
		wantDoErr(t, c, "ERR unknown subcommand 'foo'. Try OBJECT HELP.", "object", "foo", "k")
		wantDoErr(t, c, "ERR wrong number of arguments for 'object' command", "object")
		wantDoErr(t, c, "ERR wrong number of arguments for 'object|encoding' command", "object", "encoding")
	})
}

func TestObjectFreqUnderLFU(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MaxMemoryPolicy = "allkeys-lfu"
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	set(t, c, "k", "v")
	// As redis-server 7.0.15: a new key's counter starts at 5 (LFU_INIT_VAL)
	// and its first read always counts; OBJECT FREQ itself does not.
	wantInt(t, c, 5, "object", "freq", "k")
	wantInt(t, c, 5, "object", "freq", "k")
	if err := c.Get(testutil.Ctx(t), "k").Err(); err != nil {
		t.Fatal(err)
	}
	wantInt(t, c, 6, "object", "freq", "k")
	wantDoErr(t, c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
		"object", "idletime", "k")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExpiredKeysAreSwept(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		set(t, c, "stay", "v", "go", "v")
		wantInt(t, c, 1, "pexpire", "go", 50)
		// DBSIZE counts a key until the sweeper removes it, as in Redis:
		// reaching 1 shows the active expiry at work, not a lazy read.
		waitFor(t, "DBSIZE to drop to 1", func() bool { return c.DBSize(ctx).Val() == 1 })
		if keys := c.Keys(ctx, "*").Val(); !slices.Equal(keys, []string{"stay"}) {
			t.Fatalf("KEYS * = %v", keys)
		}
		wantInt(t, c, -2, "pttl", "go")
	})
}

func TestExpiredKeyStaysGoneAfterRestart(t *testing.T) {
	cfg := testutil.Config(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func(now func() time.Time) *server.Server {
		t.Helper()
		s, err := server.New(cfg, server.Options{Logger: log, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			s.Close()
			t.Fatal(err)
		}
		return s
	}
	ctx := testutil.Ctx(t)

	s := start(nil)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DisableIdentity: true})
	if err := c.Set(ctx, "k", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "keep", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.UnixMilli(c.PExpireTime(ctx, "k").Val().Milliseconds())
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The next process starts after the deadline: its clock is an hour
	// ahead instead of the test waiting for the wall clock.
	later := func() time.Time { return time.Now().Add(time.Hour) }
	if !later().After(deadline) {
		t.Fatal("the restarted clock is not past the deadline")
	}
	s = start(later)
	defer s.Close()
	c = redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET k after restart = %v", err)
	}
	wantInt(t, c, 0, "exists", "k")
	if keys := c.Keys(ctx, "*").Val(); !slices.Equal(keys, []string{"keep"}) {
		t.Fatalf("KEYS * after restart = %v", keys)
	}
	waitFor(t, "the sweeper to remove k", func() bool { return c.DBSize(ctx).Val() == 1 })
}
