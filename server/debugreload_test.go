package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestDebugReloadAsRedis: DEBUG RELOAD saves dbfilename and reloads it,
// the dataset unchanged; NOSAVE reloads the file as it is, dropping what
// was written since; NOFLUSH MERGE adds the file's keys to the dataset;
// DEBUG LOADAOF keeps the dataset. Every reply and DEBUG DIGEST after each
// step equal redis-server 7.0.15's (run with its debug command enabled).
// LOADAOF comes while Redis's AOF holds the dataset: a reload of Redis
// changes the dataset without writing its AOF, so one after it would
// bring back what the reload dropped.
func TestDebugReloadAsRedis(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes", "--appendonly", "yes")
	sameReplies(t, []*redis.Client{testutil.Client(t, s, 2), r.Client(t, 0)}, func(do func(args ...any)) {
		do("RPUSH", "l", "a", "b", "c")
		do("HSET", "h", "f", "1", "g", "2")
		do("ZADD", "z", "1", "m")
		// NB: an absolute deadline, which the reload keeps to the
		// second however long it takes (a TTL read after it may round
		// down on a loaded machine).
		do("SET", "k", "v", "EXAT", "4102444800")
		do("SELECT", "2")
		do("SADD", "s", "1", "2", "x")
		do("SELECT", "0")
		do("DEBUG", "DIGEST")
		do("DEBUG", "RELOAD")
		do("DEBUG", "DIGEST")
		do("EXPIRETIME", "k")
		do("DEBUG", "LOADAOF")
		do("DEBUG", "DIGEST")
		do("SET", "later", "1")
		do("DEL", "l")
		do("DEBUG", "RELOAD", "NOSAVE")
		do("EXISTS", "later", "l")
		do("DEBUG", "DIGEST")
		do("SET", "extra", "1")
		do("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
		do("EXISTS", "extra", "l")
		do("DEBUG", "RELOAD", "NOW")
		do("DEBUG", "DIGEST")
	})
}

// TestDebugReloadFunctionsAsRedis: DEBUG RELOAD brings back the function
// libraries of the file: in place of those loaded, in addition to them
// under NOFLUSH (refused when one exists), replacing those of the same
// name under NOFLUSH MERGE, with the replies of redis-server 7.0.15.
func TestDebugReloadFunctionsAsRedis(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	lib := func(name, fn, ret string) string {
		return "#!lua name=" + name + "\nredis.register_function('" + fn + "', function() return " + ret + " end)"
	}
	sameReplies(t, []*redis.Client{testutil.Client(t, s, 2), r.Client(t, 0)}, func(do func(args ...any)) {
		do("FUNCTION", "LOAD", lib("a", "f1", "1"))
		do("DEBUG", "RELOAD")
		do("FCALL", "f1", "0")
		do("DEBUG", "RELOAD", "NOFLUSH")
		do("FUNCTION", "LOAD", "REPLACE", lib("a", "f1", "2"))
		do("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
		do("FCALL", "f1", "0")
		do("FUNCTION", "LOAD", lib("b", "f2", "3"))
		do("DEBUG", "RELOAD", "NOSAVE")
		do("FCALL", "f2", "0")
		do("FUNCTION", "FLUSH")
		do("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH")
		do("FUNCTION", "LIST")
	})
}

// TestBlockedPopPassesOverTypeChangeAsRedis: a client blocked in
// BZPOPMIN that a transaction wakes by leaving its key a string waits on,
// as in Redis 7.0, and is served by the next sorted set there.
func TestBlockedPopPassesOverTypeChangeAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		got = append(got, whileBlocked(t, p, []any{"BZPOPMIN", "zset", "0"}, func() {
			p.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.ZAdd(ctx, "zset", redis.Z{Score: 0, Member: "foo"})
				pipe.Del(ctx, "zset")
				pipe.Set(ctx, "zset", "foo", 0)
				return nil
			})
			p.c.Del(ctx, "zset")
			p.c.ZAdd(ctx, "zset", redis.Z{Score: 1, Member: "bar"})
		}))
	}
	if got[0] != got[1] || got[1] != "[zset bar 1] <nil>" {
		t.Fatalf("Shoal: %s; redis-server: %s", got[0], got[1])
	}
}

// sameReplies runs steps against each client, through do, and fails the
// test unless every reply of the first (Shoal) equals the second's
// (redis-server).
func sameReplies(t *testing.T, clients []*redis.Client, steps func(do func(args ...any))) {
	t.Helper()
	ctx := testutil.Ctx(t)
	var got [][]string
	for _, c := range clients {
		var out []string
		steps(func(args ...any) {
			v, err := c.Do(ctx, args...).Result()
			out = append(out, fmt.Sprintf("%v -> %v %v", args, v, err))
		})
		got = append(got, out)
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
	}
}

// TestDebugProtocolPushAsRedis: DEBUG PROTOCOL push in RESP3 sends a
// push message and then its reply, byte for byte as redis-server 7.0.15
// does (the golden transcripts read one reply per command).
func TestDebugProtocolPushAsRedis(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	var got [2]string
	for i, addr := range []string{testutil.Start(t, nil).Addr(), r.Addr()} {
		c := testutil.Dial(t, addr)
		c.Send("HELLO 3\r\n")
		if _, err := c.ReadReply(); err != nil {
			t.Fatal(err)
		}
		c.Send("DEBUG PROTOCOL push\r\n")
		for range 2 {
			reply, err := c.ReadReply()
			if err != nil {
				t.Fatal(err)
			}
			got[i] += reply
		}
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal: %q\nredis-server: %q", got[0], got[1])
	}
}

// TestDebugPopulateAsRedis: DEBUG POPULATE writes Redis 7.0's keys and
// values, zero-padded to a size, leaves the keys that exist alone, and
// refuses what redis-server refuses with its texts. Shoal commits the
// keys in chunks: 25,000 of them cross two.
func TestDebugPopulateAsRedis(t *testing.T) {
	peers := bothPeers(t, "--enable-debug-command", "yes")
	sameReplies(t, []*redis.Client{peers[0].c, peers[1].c}, func(do func(args ...any)) {
		do("SET", "key:1", "mine")
		do("DEBUG", "POPULATE", "3")
		do("MGET", "key:0", "key:1", "key:2", "key:3")
		do("DEBUG", "POPULATE", "2", "p", "12")
		do("GET", "p:0")
		do("DEBUG", "POPULATE", "2", "q", "3")
		do("MGET", "q:0", "q:1")
		do("DEBUG", "POPULATE", "1", "a\x00b")
		do("GET", "a:0")
		do("DEBUG", "POPULATE", "1", string(make([]byte, 0)))
		do("KEYS", ":0")
		do("DEBUG", "POPULATE", "1", strings.Repeat("x", 130))
		do("EXISTS", strings.Repeat("x", 127))
		do("DEBUG", "POPULATE", "-1")
		do("DEBUG", "POPULATE", "x")
		do("DEBUG", "POPULATE", "1", "p", "-1")
		do("DEBUG", "POPULATE", "0")
		do("DEBUG", "POPULATE", "25000", "big", "0")
		do("DBSIZE")
		do("GET", "big:24999")
		do("TYPE", "big:12345")
		do("DEBUG", "POPULATE")
		do("DEBUG", "POPULATE", "1", "p", "1", "x")
	})
}

// TestDebugDisableDenyScriptsAsRedis: DEBUG SET-DISABLE-DENY-SCRIPTS 1
// lets scripts call the commands flagged noscript (scripting.tcl lets a
// script read CLIENT LIST so), and 0 refuses them again, as in Redis 7.0.
func TestDebugDisableDenyScriptsAsRedis(t *testing.T) {
	peers := bothPeers(t, "--enable-debug-command", "yes")
	script := "return type(redis.call('client','list'))"
	sameReplies(t, []*redis.Client{peers[0].c, peers[1].c}, func(do func(args ...any)) {
		do("EVAL", script, "0")
		do("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
		do("EVAL", script, "0")
		do("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
		do("EVAL", script, "0")
		do("DEBUG", "SET-DISABLE-DENY-SCRIPTS", " 2x")
		do("EVAL", script, "0")
		do("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "no")
		do("EVAL", script, "0")
	})
}

// TestScriptTimeAndExpiredKeysAsRedis: a script's reads expire keys by
// the time it began (scripting.tcl's "Script block the time during
// execution"), and DEBUG OBJECT shows an expired key nothing deleted yet
// ("Script delete the expired key"), as redis-server 7.0.15 does.
func TestScriptTimeAndExpiredKeysAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got [2][]string
	for i, p := range bothPeers(t, "--enable-debug-command", "yes") {
		do := func(args ...any) {
			v, err := p.c.Do(ctx, args...).Result()
			if s, ok := v.(string); ok && strings.HasPrefix(s, "Value at:") {
				v = "<object>" // NB: the address and clocks differ
			}
			got[i] = append(got[i], fmt.Sprintf("%v -> %v %v", args, v, err))
		}
		do("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1") // DEBUG is noscript
		do("EVAL", `redis.call("SET", "key", "value", "PX", "1")
			redis.call("DEBUG", "SLEEP", 0.01)
			return redis.call("EXISTS", "key")`, "0")
		do("EXISTS", "key")
		do("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
		do("DEBUG", "SET-ACTIVE-EXPIRE", "0")
		do("SET", "key", "value", "PX", "1")
		time.Sleep(5 * time.Millisecond)
		do("DEBUG", "OBJECT", "key")
		do("EVAL", "return redis.call('EXISTS', 'key')", "0")
		do("EXISTS", "key")
		do("DEBUG", "OBJECT", "key")
		do("DEBUG", "SET-ACTIVE-EXPIRE", "1")
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
	}
}

// TestScriptPRNGAsRedis: math.random and math.randomseed are Redis's
// (redisLrand48 under Lua 5.1's math.random), so a seeded script draws
// redis-server 7.0.15's numbers, and the generator goes on across calls.
func TestScriptPRNGAsRedis(t *testing.T) {
	peers := bothPeers(t)
	draw := "math.randomseed(ARGV[1]); return {tostring(math.random()), math.random(10), math.random(5, 8), tostring(math.random())}"
	sameReplies(t, []*redis.Client{peers[0].c, peers[1].c}, func(do func(args ...any)) {
		do("EVAL", draw, "0", "10")
		do("EVAL", draw, "0", "10")
		do("EVAL", draw, "0", "20")
		do("EVAL", draw, "0", "-5")
		do("EVAL", draw, "0", "4294967297")
		do("EVAL", "return tostring(math.random())", "0")
		do("EVAL", "return math.random(3, 1)", "0")
		do("EVAL", "return math.random(0)", "0")
	})
}

// TestStringDumpAsRedis: string.dump makes a chunk loadstring refuses, as
// Redis's Lua loads no binary code (scripting.tcl's "Binary code loading
// failed").
func TestStringDumpAsRedis(t *testing.T) {
	peers := bothPeers(t)
	sameReplies(t, []*redis.Client{peers[0].c, peers[1].c}, func(do func(args ...any)) {
		do("EVAL", "return loadstring(string.dump(function() return 1 end))()", "0")
		do("EVAL", "return {loadstring(string.dump(function() return 1 end))}", "0")
		do("EVAL", "return string.sub(string.dump(function() end), 1, 4)", "0")
	})
}
