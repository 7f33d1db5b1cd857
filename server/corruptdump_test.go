package server_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// corruptTraffic are commands run on a key RESTORE took from a corrupted
// payload, by the key's type ("" for any): reads of the whole value and
// writes that rewrite parts of it, as corrupt-dump-fuzzer.tcl's traffic.
var corruptTraffic = map[string][][]any{
	"": {{"TYPE"}, {"OBJECT", "ENCODING"}, {"DEBUG", "OBJECT"}, {"DEBUG", "DIGEST-VALUE"}, {"MEMORY", "USAGE"},
		{"DUMP"}, {"COPY", "{copy}"}, {"EXPIRE", "100"}, {"SORT", "ALPHA"}},
	"string": {{"GET"}, {"STRLEN"}, {"GETRANGE", "0", "-1"}, {"APPEND", "x"}, {"SETRANGE", "3", "y"}, {"INCR"}},
	"hash": {{"HGETALL"}, {"HLEN"}, {"HSCAN", "0", "COUNT", "100"}, {"HRANDFIELD", "-5", "WITHVALUES"}, {"HGET", "1"},
		{"HSET", "1", "v"}, {"HDEL", "2"}, {"HINCRBY", "0", "1"}, {"HSET", "new", "v"}, {"HKEYS"}},
	"list": {{"LRANGE", "0", "-1"}, {"LLEN"}, {"LINDEX", "1"}, {"LPOS", "1"}, {"LPOP"}, {"RPOP", "2"}, {"RPUSH", "x", "y"},
		{"LINSERT", "BEFORE", "x", "z"}, {"LSET", "0", "w"}, {"LREM", "0", "1"}, {"LTRIM", "0", "5"}, {"LRANGE", "0", "-1"}},
	"set": {{"SMEMBERS"}, {"SCARD"}, {"SISMEMBER", "1"}, {"SRANDMEMBER", "-5"}, {"SSCAN", "0"}, {"SADD", "x", "2"},
		{"SREM", "1"}, {"SPOP"}, {"SINTERCARD", "1", "KEY"}, {"SMEMBERS"}},
	"zset": {{"ZRANGE", "0", "-1", "WITHSCORES"}, {"ZCARD"}, {"ZRANK", "1"}, {"ZSCORE", "1"}, {"ZRANGEBYSCORE", "-inf", "+inf"},
		{"ZRANGEBYLEX", "-", "+"}, {"ZRANDMEMBER", "-5"}, {"ZADD", "3", "x"}, {"ZINCRBY", "2", "1"}, {"ZREM", "2"},
		{"ZPOPMIN"}, {"ZREMRANGEBYRANK", "0", "0"}, {"ZRANGE", "0", "-1", "WITHSCORES"}},
	"stream": {{"XRANGE", "-", "+"}, {"XREVRANGE", "+", "-"}, {"XLEN"}, {"XINFO", "STREAM", "KEY", "FULL"},
		{"XINFO", "GROUPS", "KEY"}, {"XINFO", "CONSUMERS", "KEY", "mygroup"}, {"XPENDING", "KEY", "mygroup"},
		{"XPENDING", "KEY", "mygroup", "-", "+", "10"}, {"XADD", "KEY", "*", "a", "1"},
		{"XREADGROUP", "GROUP", "mygroup", "Bob", "COUNT", "10", "STREAMS", "KEY", ">"},
		{"XAUTOCLAIM", "KEY", "mygroup", "Carl", "0", "0"}, {"XCLAIM", "KEY", "mygroup", "Dan", "0", "0-1", "FORCE"},
		{"XDEL", "KEY", "0-1"}, {"XTRIM", "KEY", "MAXLEN", "3"}, {"XRANGE", "-", "+"}},
}

// TestCorruptRestoreNeverCrashes runs what corrupt-dump-fuzzer.tcl runs:
// DUMP a key of each type and encoding, change a byte or two of the
// payload, RESTORE it with the checksum left unchecked (DEBUG
// SET-SKIP-CHECKSUM-VALIDATION), and when RESTORE takes it, run traffic
// on the key. Every reply is a reply or an error, no command panics (the
// server's log says so when one does), the server answers PING
// throughout, and the keyspace is what it was after each key is deleted.
// SHOAL_FUZZ_SEED repeats a run; SHOAL_FUZZ_SECONDS runs longer (2 s by
// default).
func TestCorruptRestoreNeverCrashes(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SHOAL_FUZZ_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	secs := 2.0
	if v := os.Getenv("SHOAL_FUZZ_SECONDS"); v != "" {
		secs, _ = strconv.ParseFloat(v, 64)
	}
	t.Logf("seed %d (SHOAL_FUZZ_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var logBuf logCapture
	s := testutil.StartWith(t, nil, server.Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs*float64(time.Second))+time.Minute)
	defer cancel()
	c := testutil.Client(t, s, 2)
	must := func(args ...any) {
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	fuzzConfig(must)
	fuzzDataset(must)
	must("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
	keys := c.Keys(ctx, "*").Val()
	dbsize := c.DBSize(ctx).Val()

	var restored, refused, sent int
	// recent are the last payloads, for the report of a failure.
	var recent []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nthe last payloads, oldest first:\n%s", fmt.Sprintf(format, args...), strings.Join(recent, "\n"))
	}
	for end := time.Now().Add(time.Duration(secs * float64(time.Second))); time.Now().Before(end); {
		k := keys[rng.IntN(len(keys))]
		dump, err := c.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(dump)
		for range 1 + rng.IntN(2) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		target := "_" + k
		err = c.Do(ctx, "RESTORE", target, 0, string(b), "REPLACE").Err()
		recent = append(recent, fmt.Sprintf("%s %q: %v", k, b, err))
		if len(recent) > 5 {
			recent = recent[1:]
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ERR ") && !strings.HasPrefix(err.Error(), "BUSYKEY") {
				fail("RESTORE of %q: %v", b, err)
			}
			refused++
		} else {
			restored++
			typ := c.Type(ctx, target).Val()
			for _, cmds := range [][][]any{corruptTraffic[""], corruptTraffic[typ]} {
				for _, cmd := range cmds {
					args := corruptArgs(cmd, target)
					err := c.Do(ctx, args...).Err()
					sent++
					if err != nil && isConnErr(err) {
						fail("after RESTORE of %q, %v: %v", b, args, err)
					}
				}
			}
			c.Del(ctx, target, "{copy}")
		}
		if err := c.Ping(ctx).Err(); err != nil {
			fail("after RESTORE of %q: PING: %v", b, err)
		}
		if n, err := c.DBSize(ctx).Result(); err != nil || n != dbsize {
			fail("after RESTORE of %q: %d keys (%v), want %d: %v", b, n, err, dbsize, c.Keys(ctx, "*").Val())
		}
		if strings.Contains(logBuf.String(), "panicked") {
			fail("after RESTORE of %q, a command panicked:\n%s", b, logBuf.String())
		}
	}
	t.Logf("%d payloads restored, %d refused, %d commands on restored keys", restored, refused, sent)
}

// corruptArgs makes cmd a command on key: KEY stands for it, else it
// goes second.
func corruptArgs(cmd []any, key string) []any {
	args := make([]any, 0, len(cmd)+1)
	placed := false
	for _, a := range cmd {
		if a == "KEY" {
			a, placed = key, true
		}
		args = append(args, a)
	}
	if !placed {
		args = append([]any{args[0], key}, args[1:]...)
		if cmd[0] == "DEBUG" || cmd[0] == "OBJECT" || cmd[0] == "MEMORY" {
			args = []any{cmd[0], cmd[1], key}
		}
	}
	return args
}

// isConnErr reports an error that is not a reply: the connection failed.
func isConnErr(err error) bool {
	var re redis.Error
	return !errors.As(err, &re)
}

// TestCorruptPayloadsAsRedis restores each payload of Redis's
// corrupt-dump.tcl (testdata/corrupt-payloads.txt) on Shoal and on
// redis-server 7.0.15 with its deep checks on (sanitize-dump-payload yes)
// and the checksums left unchecked on both, as the suite runs them: each
// is taken by both or refused by both with the same error. Shoal always
// checks a payload whole, so the suite's unsanitized runs, in which
// redis-server takes some of them and later crashes, do not apply.
func TestCorruptPayloadsAsRedis(t *testing.T) {
	data, err := os.ReadFile("testdata/corrupt-payloads.txt")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Ctx(t)
	peers := bothPeers(t, "--enable-debug-command", "yes", "--sanitize-dump-payload", "yes")
	for _, p := range peers {
		if err := p.c.Do(ctx, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		payload, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		var got [2]string
		for i, p := range peers {
			got[i] = fmt.Sprint(p.c.Do(ctx, "RESTORE", f[1], 0, string(payload), "REPLACE").Err())
			if err := p.c.Del(ctx, f[1]).Err(); err != nil {
				t.Fatalf("%s: after %q: %v", p.name, f[0], err)
			}
		}
		if got[0] != got[1] {
			t.Errorf("%s: shoal %s, redis-server %s", f[0], got[0], got[1])
		}
		n++
	}
	if n < 60 {
		t.Fatalf("only %d payloads read", n)
	}
}

// TestCorruptRestoreNoLooserThanRedis corrupts redis-server 7.0.15's own
// DUMP payloads of each type and encoding a byte or two at a time and
// restores each on redis-server (sanitize-dump-payload yes) and on Shoal:
// Shoal takes none that redis-server refuses, and a value both take has
// the same DEBUG DIGEST-VALUE. Shoal refuses some that redis-server takes
// (a stream whose IDs or pending entries the change made inconsistent, a
// string read on into the payload's footer): it checks a value whole.
// SHOAL_FUZZ_SEED repeats a run.
func TestCorruptRestoreNoLooserThanRedis(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SHOAL_FUZZ_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (SHOAL_FUZZ_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	ctx := testutil.Ctx(t)
	peers := bothPeers(t, "--enable-debug-command", "yes", "--sanitize-dump-payload", "yes")
	s, r := peers[0].c, peers[1].c
	for _, c := range []*redis.Client{s, r} {
		fuzzConfig(func(args ...any) { c.Do(ctx, args...) })
		if err := c.Do(ctx, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1).Err(); err != nil {
			t.Fatal(err)
		}
	}
	fuzzDataset(func(args ...any) {
		if err := r.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	})
	keys := r.Keys(ctx, "*").Val()
	dumps := map[string]string{}
	for _, k := range keys {
		dumps[k] = r.Dump(ctx, k).Val()
	}
	stricter := 0
	for range 1500 {
		k := keys[rng.IntN(len(keys))]
		b := []byte(dumps[k])
		for range 1 + rng.IntN(2) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		if binary.LittleEndian.Uint16(b[len(b)-10:]) == 11 {
			// NB: RDB version 11 is Redis 7.2's, whose payloads Shoal
			// takes and redis-server 7.0 refuses.
			continue
		}
		target := "_" + k
		rerr := r.Do(ctx, "RESTORE", target, 0, string(b), "REPLACE").Err()
		serr := s.Do(ctx, "RESTORE", target, 0, string(b), "REPLACE").Err()
		switch {
		case rerr != nil && serr == nil:
			t.Fatalf("%s: Shoal took %q, which redis-server refuses: %v", k, b, rerr)
		case rerr == nil && serr != nil:
			stricter++
		case rerr == nil:
			if g, w := s.Do(ctx, "DEBUG", "DIGEST-VALUE", target).String(), r.Do(ctx, "DEBUG", "DIGEST-VALUE", target).String(); g != w {
				t.Fatalf("%s: %q restored: shoal %s, redis-server %s", k, b, g, w)
			}
		}
		r.Del(ctx, target)
		s.Del(ctx, target)
	}
	t.Logf("%d of 1500 taken by redis-server and refused by Shoal", stricter)
}

// fuzzConfig sets the encoding thresholds corrupt-dump-fuzzer.tcl's
// generate_types sets, with do.
func fuzzConfig(do func(args ...any)) {
	for _, d := range [][]any{{"list-max-listpack-size", "5"}, {"hash-max-listpack-entries", "5"},
		{"zset-max-listpack-entries", "5"}, {"stream-node-max-entries", "5"}} {
		do(append([]any{"CONFIG", "SET"}, d...)...)
	}
}

// fuzzDataset writes, with do, the keys of every type and encoding
// corrupt-dump-fuzzer.tcl's generate_types writes under fuzzConfig.
func fuzzDataset(do func(args ...any)) {
	for _, suffix := range []string{"", "big"} {
		n := 3
		if suffix == "big" {
			n = 10
		}
		for j := range n {
			val := any(j)
			if j%2 == 1 {
				val = "_" + strconv.Itoa(j)
			}
			do("HSET", "hash"+suffix, j, val)
			do("LPUSH", "list"+suffix, val)
			do("ZADD", "zset"+suffix, j, val)
			do("SADD", "set"+suffix, val)
			do("XADD", "stream"+suffix, "*", "item", 1, "value", val)
		}
		do("XGROUP", "CREATE", "stream"+suffix, "mygroup", "0")
		do("XREADGROUP", "GROUP", "mygroup", "Alice", "COUNT", 2, "STREAMS", "stream"+suffix, ">")
	}
	do("SADD", "intset", 1, 2, 3)
	do("INCR", "int")
	do("SET", "string", "str")
	do("SET", "long", strings.Repeat("abcdefgh", 20))
}
