package commands_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// Payloads captured with DUMP from redis-server 7.0.15 (default
// configuration unless noted); storage/dump_test.go has the full set.
var redis70Dumps = map[string]string{
	// SET k hello
	"string": "000568656c6c6f0a006372df766534200a",
	// SET k ("abcdefghij" x 30): LZF
	"string-lzf": "00c315412c0a6162636465666768696a61e0ff09e10e0d01696a0a0038ca025adaf54090",
	// SET k ("-0.25" + "x" x 30 + "-0.25"): LZF, a match at the input's end
	"string-lzf-tail": "00c31028052d302e323578e01400002d202200350a007aa0078571ece70b",
	// RPUSH k a b 1 -300 70000: quicklist of one listpack
	"list": "120102171700000005008161028162020101ded402f270110104ff0a00a692bfe23f431b0d",
	// HSET k f1 v1 f2 2: listpack
	"hash": "10151500000004008266310382763103826632030201ff0a005c5ea813feec1ff5",
	// HSET k b 1 a 2: listpack, the fields in the order added
	"hash-order": "101111000000040081620201018161020201ff0a006f27561fb161cb0c",
	// SADD k 1 2 3 -100 100000: intset
	"intset": "0b1c04000000050000009cffffff010000000200000003000000a08601000a006fcdde08d3cf2492",
	// SADD k a b c: hashtable
	"set": "02030162016101630a0099cc80dd5982d255",
	// ZADD k 1.5 a 2 b -3 c: listpack
	"zset": "111a1a0000000600816302dffd0281610283312e35048162020201ff0a0088c4c030f0ae8276",
	// zset-max-listpack-entries 2; ZADD k 1.5 a 2 b -3 c inf d: skiplist
	"zset-skiplist": "05040164000000000000f07f016200000000000000400161000000000000f83f016300000000000008c00a00e99b29a92eb816b1",
}

func redisDump(t *testing.T, name string) string {
	t.Helper()
	p, err := hex.DecodeString(redis70Dumps[name])
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

func TestRestoreRedisPayloads(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		for name := range redis70Dumps {
			if err := c.Restore(ctx, name, 0, redisDump(t, name)).Err(); err != nil {
				t.Fatalf("RESTORE %s: %v", name, err)
			}
		}
		if v := c.Get(ctx, "string").Val(); v != "hello" {
			t.Fatalf("string = %q", v)
		}
		if v := c.Get(ctx, "string-lzf").Val(); v != strings.Repeat("abcdefghij", 30) {
			t.Fatalf("string-lzf = %q", v)
		}
		if v := c.LRange(ctx, "list", 0, -1).Val(); !slices.Equal(v, []string{"a", "b", "1", "-300", "70000"}) {
			t.Fatalf("list = %q", v)
		}
		if v := c.HGetAll(ctx, "hash").Val(); len(v) != 2 || v["f1"] != "v1" || v["f2"] != "2" {
			t.Fatalf("hash = %v", v)
		}
		if v := sorted(c.SMembers(ctx, "intset").Val()); !slices.Equal(v, []string{"-100", "1", "100000", "2", "3"}) {
			t.Fatalf("intset = %q", v)
		}
		if v := sorted(c.SMembers(ctx, "set").Val()); !slices.Equal(v, []string{"a", "b", "c"}) {
			t.Fatalf("set = %q", v)
		}
		if v := c.ZRangeWithScores(ctx, "zset", 0, -1).Val(); len(v) != 3 || v[0].Member != "c" || v[0].Score != -3 || v[1].Score != 1.5 {
			t.Fatalf("zset = %v", v)
		}
		if v := c.ZRange(ctx, "zset-skiplist", 0, -1).Val(); !slices.Equal(v, []string{"c", "a", "b", "d"}) {
			t.Fatalf("zset-skiplist = %q", v)
		}
		if v := c.ZScore(ctx, "zset-skiplist", "d").Val(); v < 1e308 {
			t.Fatalf("ZSCORE d = %v, want +inf", v)
		}
		wantInt(t, c, 5, "scard", "intset") // counts are kept
		wantInt(t, c, 0, "scard", "intset-missing")
		// A listpack's fields keep their order: HKEYS and DUMP as Redis's.
		if v := c.HKeys(ctx, "hash-order").Val(); !slices.Equal(v, []string{"b", "a"}) {
			t.Fatalf("HKEYS hash-order = %q, want b a", v)
		}
		if p := c.Dump(ctx, "hash-order").Val(); hex.EncodeToString([]byte(p)) != redis70Dumps["hash-order"] {
			t.Fatalf("DUMP hash-order = %x, want Redis's %s", p, redis70Dumps["hash-order"])
		}
	})
}

func TestDumpRestoreRoundTrip(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		set(t, c, "s", "hello", "n", "-12345", "long", strings.Repeat("x", 5000))
		c.RPush(ctx, "l", "a", "", "3", strings.Repeat("y", 300))
		c.HSet(ctx, "h", "f", "v", "n", "7")
		c.SAdd(ctx, "st", "1", "two", "3")
		c.ZAdd(ctx, "z", redis.Z{Score: 1.25, Member: "a"}, redis.Z{Score: -2, Member: "b"})
		for _, k := range []string{"s", "n", "long", "l", "h", "st", "z"} {
			p, err := c.Dump(ctx, k).Result()
			if err != nil {
				t.Fatalf("DUMP %s: %v", k, err)
			}
			if err := c.Restore(ctx, k+"2", 0, p).Err(); err != nil {
				t.Fatalf("RESTORE %s: %v", k, err)
			}
			// REPLACE over a key of another type.
			if err := c.RestoreReplace(ctx, "s", 0, p).Err(); err != nil {
				t.Fatalf("RESTORE REPLACE %s: %v", k, err)
			}
			if a, b := c.Type(ctx, k).Val(), c.Type(ctx, "s").Val(); a != b {
				t.Fatalf("type after REPLACE %s = %s, want %s", k, b, a)
			}
		}
		if v := c.Get(ctx, "long2").Val(); v != strings.Repeat("x", 5000) {
			t.Fatalf("long2 = %d bytes", len(v))
		}
		if v := c.Get(ctx, "n2").Val(); v != "-12345" {
			t.Fatalf("n2 = %q", v)
		}
		if v := c.LRange(ctx, "l2", 0, -1).Val(); !slices.Equal(v, []string{"a", "", "3", strings.Repeat("y", 300)}) {
			t.Fatalf("l2 = %q", v)
		}
		if v := c.HGetAll(ctx, "h2").Val(); len(v) != 2 || v["n"] != "7" {
			t.Fatalf("h2 = %v", v)
		}
		if v := sorted(c.SMembers(ctx, "st2").Val()); !slices.Equal(v, []string{"1", "3", "two"}) {
			t.Fatalf("st2 = %q", v)
		}
		if v := c.ZRangeWithScores(ctx, "z2", 0, -1).Val(); len(v) != 2 || v[0].Member != "b" || v[1].Score != 1.25 {
			t.Fatalf("z2 = %v", v)
		}
		wantInt(t, c, 4, "llen", "l2")
		// Shoal writes Redis's own bytes for plain strings, and for
		// compressible ones LZF under rdbcompression, as Redis's DUMP.
		if p := c.Dump(ctx, "s2").Val(); hex.EncodeToString([]byte(p)) != redis70Dumps["string"] {
			t.Fatalf("DUMP s2 = %x", p)
		}
		long := strings.Repeat("abcdefghij", 30)
		c.Set(ctx, "s3", long, 0)
		if p := c.Dump(ctx, "s3").Val(); hex.EncodeToString([]byte(p)) != redis70Dumps["string-lzf"] {
			t.Fatalf("DUMP s3 = %x, want Redis's %s", p, redis70Dumps["string-lzf"])
		}
		c.Set(ctx, "s5", "-0.25"+strings.Repeat("x", 30)+"-0.25", 0)
		if p := c.Dump(ctx, "s5").Val(); hex.EncodeToString([]byte(p)) != redis70Dumps["string-lzf-tail"] {
			t.Fatalf("DUMP s5 = %x, want Redis's %s", p, redis70Dumps["string-lzf-tail"])
		}
		c.ConfigSet(ctx, "rdbcompression", "no")
		p := c.Dump(ctx, "s3").Val()
		c.ConfigSet(ctx, "rdbcompression", "yes")
		if !strings.Contains(p, long) {
			t.Fatalf("DUMP s3 under rdbcompression no = %x, want the string plain", p)
		}
		if err := c.RestoreReplace(ctx, "s4", 0, p).Err(); err != nil || c.Get(ctx, "s4").Val() != long {
			t.Fatalf("RESTORE of the plain payload: %v", err)
		}
		if err := c.Dump(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("DUMP missing = %v", err)
		}
	})
}

func TestRestoreOptionsAndErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		p := redisDump(t, "string")
		set(t, c, "x", "1")
		wantDoErr(t, c, "BUSYKEY Target key name already exists.", "restore", "x", 0, p)
		// BUSYKEY comes before the TTL and the payload are looked at.
		wantDoErr(t, c, "BUSYKEY Target key name already exists.", "restore", "x", -1, "junk")
		wantDoErr(t, c, "ERR Invalid TTL value, must be >= 0", "restore", "k", -1, p)
		wantDoErr(t, c, "ERR value is not an integer or out of range", "restore", "k", "x", p)
		wantDoErr(t, c, "ERR DUMP payload version or checksum are wrong", "restore", "k", 0, "junk")
		bad := []byte(p)
		bad[len(bad)-1] ^= 1
		wantDoErr(t, c, "ERR DUMP payload version or checksum are wrong", "restore", "k", 0, string(bad))
		// A good checksum over an undecodable object.
		obj := []byte{15, 1, 2, 3, 10, 0}
		wantDoErr(t, c, "ERR Bad data format", "restore", "k", 0, string(withCRC(obj)))
		wantDoErr(t, c, "ERR Bad data format", "restore", "k", 0, string(withCRC([]byte{1, 0, 10, 0})))
		// A quicklist's plain node of no bytes (corrupt-dump.tcl's
		// "quicklist encoded_len is 0", refused by redis-server 7.0).
		wantDoErr(t, c, "ERR Bad data format", "restore", "k", 0, "\x12\x01\x01\x00\x0a\x00\x8f\xc6\xc0\x57\x1c\x0a\xb3\x3c")
		wantDoErr(t, c, "ERR syntax error", "restore", "k", 0, p, "foo")
		wantDoErr(t, c, "ERR syntax error", "restore", "k", 0, p, "idletime")
		wantDoErr(t, c, "ERR syntax error", "restore", "k", 0, p, "idletime", 1, "freq", 1)
		wantDoErr(t, c, "ERR Invalid IDLETIME value, must be >= 0", "restore", "k", 0, p, "idletime", -1)
		wantDoErr(t, c, "ERR Invalid FREQ value, must be >= 0 and <= 255", "restore", "k", 0, p, "freq", 256)
		wantDoErr(t, c, "ERR value is not an integer or out of range", "restore", "k", 0, p, "freq", "x")
		wantDoErr(t, c, "ERR wrong number of arguments for 'restore' command", "restore", "k", 0)
		wantDoErr(t, c, "ERR wrong number of arguments for 'dump' command", "dump")
		wantDoErr(t, c, "ERR wrong number of arguments for 'dump' command", "dump", "a", "b")
		wantInt(t, c, 0, "exists", "k")

		wantOK(t, c, "restore", "k", 0, p, "idletime", 10)
		wantOK(t, c, "restore", "k", 0, p, "REPLACE", "freq", 5)
		wantInt(t, c, -1, "ttl", "k")
		wantOK(t, c, "restore", "k", 100000, p, "replace")
		if d := c.PTTL(ctx, "k").Val(); d <= 90*time.Second || d > 100*time.Second {
			t.Fatalf("PTTL after RESTORE 100000 = %v", d)
		}
		at := time.Now().Add(time.Hour).UnixMilli()
		wantOK(t, c, "restore", "k", at, p, "replace", "absttl")
		wantInt(t, c, at, "pexpiretime", "k")
		// An absolute TTL in the past: OK, the key is not created, and
		// REPLACE removes what was there.
		wantOK(t, c, "restore", "gone", 1, p, "absttl")
		wantInt(t, c, 0, "exists", "gone")
		wantOK(t, c, "restore", "k", 1, p, "absttl", "replace")
		wantInt(t, c, 0, "exists", "k")
	})
}

// withCRC wraps an RDB object (ending in its 2-byte version) with Redis's
// CRC64, computed bit by bit here so the test does not share the server's
// table.
func withCRC(obj []byte) []byte {
	const poly = 0x95ac9329ac4bc9b5 // Jones, reflected
	var crc uint64
	for _, b := range obj {
		crc ^= uint64(b)
		for i := 0; i < 8; i++ {
			if crc&1 != 0 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
	}
	out := slices.Clone(obj)
	for i := 0; i < 8; i++ {
		out = append(out, byte(crc>>(8*i)))
	}
	return out
}

// TestDumpLikeRedis: DUMP of a value built by the commands redis70Dumps
// names gives the payload redis-server 7.0.15 gave, byte for byte, for
// the compact encodings (listpack, intset, quicklist) too.
func TestDumpLikeRedis(t *testing.T) {
	s := testutil.Start(t, testutil.Config(t))
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	c.Set(ctx, "string", "hello", 0)
	c.RPush(ctx, "list", "a", "b", "1", "-300", "70000")
	c.HSet(ctx, "hash", "f1", "v1", "f2", "2")
	c.SAdd(ctx, "intset", "1", "2", "3", "-100", "100000")
	c.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: 2, Member: "b"}, redis.Z{Score: -3, Member: "c"})
	for _, k := range []string{"string", "list", "hash", "intset", "zset"} {
		if p := c.Dump(ctx, k).Val(); hex.EncodeToString([]byte(p)) != redis70Dumps[k] {
			t.Errorf("DUMP %s = %x, redis-server 7.0.15 gave %s", k, p, redis70Dumps[k])
		}
	}
}

// TestDumpSkiplistAsRedis checks that DUMP of a skiplist sorted set gives
// Redis's bytes: its elements from the greatest to the smallest.
func TestDumpSkiplistAsRedis(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if err := c.ConfigSet(ctx, "zset-max-listpack-entries", "2").Err(); err != nil {
			t.Fatal(err)
		}
		defer c.ConfigSet(ctx, "zset-max-listpack-entries", "128")
		if err := c.Restore(ctx, "z", 0, redisDump(t, "zset-skiplist")).Err(); err != nil {
			t.Fatal(err)
		}
		if p := c.Dump(ctx, "z").Val(); hex.EncodeToString([]byte(p)) != redis70Dumps["zset-skiplist"] {
			t.Fatalf("DUMP z = %x, want Redis's %s", p, redis70Dumps["zset-skiplist"])
		}
	})
}

// TestRestoreAccessClockAsRedis restores keys with IDLETIME and FREQ on
// Shoal and on redis-server 7.0.15 and compares what OBJECT IDLETIME and
// OBJECT FREQ read back, under an LRU and an LFU policy.
func TestRestoreAccessClockAsRedis(t *testing.T) {
	ctx := context.Background()
	rc := startRedis(t, 2)
	sc := testutil.Client(t, testutil.Start(t, nil), 2)
	var seen [2][]string
	for i, c := range []*redis.Client{rc, sc} {
		c.Set(ctx, "src", "value", 0)
		p := c.Dump(ctx, "src").Val()
		for _, cmd := range [][]any{
			{"RESTORE", "idle", 0, p, "IDLETIME", 1000}, {"OBJECT", "IDLETIME", "idle"},
			{"RESTORE", "idle", 0, p, "REPLACE", "IDLETIME", 0}, {"OBJECT", "IDLETIME", "idle"},
			{"RESTORE", "freq", 0, p, "FREQ", 77}, {"OBJECT", "IDLETIME", "freq"},
			{"CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"},
			{"RESTORE", "lfu", 0, p, "FREQ", 77}, {"OBJECT", "FREQ", "lfu"},
			{"RESTORE", "lfu2", 0, p, "IDLETIME", 50}, {"OBJECT", "FREQ", "lfu2"},
			{"CONFIG", "SET", "maxmemory-policy", "noeviction"},
		} {
			v, err := c.Do(ctx, cmd...).Result()
			if n, ok := v.(int64); ok && cmd[1] == "IDLETIME" && n >= 0 {
				// NB: a second may pass between the two commands, on
				// either server: tens of seconds are compared.
				v = fmt.Sprintf("%d0s", (n+1)/10)
			}
			seen[i] = append(seen[i], fmt.Sprintf("%v: %v %v", cmd[:2], v, err))
		}
	}
	if got, want := strings.Join(seen[1], "\n"), strings.Join(seen[0], "\n"); got != want {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", got, want)
	}
}
