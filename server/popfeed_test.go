package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// syncStream attaches to p's replication stream as the old SYNC does and
// returns it past the RDB.
func syncStream(t *testing.T, p peer) *bufio.Reader {
	t.Helper()
	nc, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(nc)
	io.WriteString(nc, "SYNC\r\n")
	line, _ := br.ReadString('\n')
	for line == "\n" {
		line, _ = br.ReadString('\n')
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
	if err != nil {
		t.Fatalf("%s: SYNC: %q", p.name, line)
	}
	if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
		t.Fatal(err)
	}
	return br
}

// streamUntil reads the stream up to and with the command SET <marker>,
// and returns it as one command a line, PINGs left out.
func streamUntil(t *testing.T, br *bufio.Reader, marker string) string {
	t.Helper()
	var cmds []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%v after %q", err, cmds)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		var args []string
		for range n {
			h, _ := br.ReadString('\n')
			size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(h, "$")))
			if err != nil {
				t.Fatalf("bulk header %q after %q", h, cmds)
			}
			a := make([]byte, size+2)
			if _, err := io.ReadFull(br, a); err != nil {
				t.Fatal(err)
			}
			args = append(args, strconv.Quote(string(a[:size])))
		}
		cmd := strings.ReplaceAll(strings.Join(args, " "), `"`, "")
		if cmd == "PING" {
			continue
		}
		cmds = append(cmds, cmd)
		if strings.EqualFold(cmd, "set "+marker+" 1") {
			return strings.Join(cmds, "\n")
		}
	}
}

// TestPopsReplicateAsRedis: the blocking pops, the multi-key pops and
// SPOP reach the replication stream as the pops they came to, in Redis
// 7.0's words (BLPOP as LPOP key, BLMOVE as LMOVE, ZMPOP as ZPOPMAX key
// count, SPOP as SREM or DEL), also when a write serves a client that
// waited, and a pop that took nothing, as any write that changed
// nothing, passes nothing on (FLUSHDB always goes, as in Redis); the writes of
// one call (an SPOP's, an EXEC's, a script's) go as one MULTI ... EXEC
// when they are several. Shoal's stream and redis-server 7.0.15's are
// compared command by command.
func TestPopsReplicateAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		br := syncStream(t, p)
		do := func(args ...any) {
			t.Helper()
			if err := p.c.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
				t.Fatalf("%s: %v: %v", p.name, args, err)
			}
		}
		// waitServed runs a blocking command on its own client, and the
		// write that serves it once it waits.
		waitServed := func(block []any, write ...any) {
			if r := whileBlocked(t, p, block, func() { do(write...) }); !strings.HasSuffix(r, " <nil>") {
				t.Fatalf("%s: %v: %s", p.name, block, r)
			}
		}
		do("RPUSH", "l", "a", "b", "c", "d", "e")
		do("BLPOP", "nolist", "l", "0")
		do("BRPOP", "l", "0")
		do("LMPOP", "1", "l", "LEFT", "COUNT", "10")
		do("BLMPOP", "0.01", "1", "l", "LEFT")
		do("ZADD", "z", "1", "a", "2", "b", "3", "c")
		do("BZPOPMIN", "z", "0")
		do("ZMPOP", "1", "z", "MAX", "COUNT", "5")
		do("SADD", "s", "x")
		do("SPOP", "s")
		do("SADD", "s2", "a", "b", "c")
		do("SPOP", "s2", "2")
		do("SPOP", "s2", "5")
		do("SPOP", "nothere")
		do("RPUSH", "src", "1", "2", "3")
		do("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
		do("BRPOPLPUSH", "src", "dst", "0")
		waitServed([]any{"BLPOP", "w", "10"}, "RPUSH", "w", "x")
		waitServed([]any{"BLMOVE", "w2", "dst", "RIGHT", "LEFT", "10"}, "RPUSH", "w2", "y")
		waitServed([]any{"BZPOPMAX", "wz", "10"}, "ZADD", "wz", "1", "m")
		waitServed([]any{"BLMPOP", "10", "1", "w3", "RIGHT", "COUNT", "3"}, "RPUSH", "w3", "p", "q")
		// The writes of one call go as one MULTI ... EXEC when they are
		// several: an EXEC's, a script's, an SPOP's.
		tx := func(cmds ...[]any) {
			_, err := p.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				for _, a := range cmds {
					pipe.Do(ctx, a...)
				}
				return nil
			})
			if err != nil && err != redis.Nil {
				t.Fatalf("%s: %v", p.name, err)
			}
		}
		tx([]any{"SET", "a", "1"}, []any{"SET", "b", "2"})
		tx([]any{"SET", "c", "1"}, []any{"GET", "c"})
		tx([]any{"GET", "c"})
		do("SADD", "s4", "m", "n")
		tx([]any{"SET", "d", "1"}, []any{"SPOP", "s4", "1"}, []any{"SELECT", "3"}, []any{"SET", "e", "1"})
		do("EVAL", "redis.call('SET', KEYS[1], '1'); redis.call('INCR', KEYS[2])", "2", "f", "g")
		// RESTORE goes with its TTL made absolute, and as DEL when it
		// replaced a key with one already expired.
		do("SET", "src", "v")
		payload := p.c.Dump(ctx, "src").Val()
		do("RESTORE", "r1", "0", payload)
		do("RESTORE", "r2", "100000", payload)
		do("RESTORE", "r1", "1", payload, "REPLACE", "ABSTTL")
		do("RESTORE", "r3", "1", payload, "ABSTTL")
		// Writes that change nothing pass nothing on.
		do("DEL", "nothere")
		do("SADD", "s4", "zz")
		do("SADD", "s4", "zz")
		do("EXPIRE", "nothere", "100")
		do("SETNX", "src", "w")
		do("SETBIT", "bits", "3", "1")
		do("SETBIT", "bits", "3", "1")
		do("HDEL", "nothere", "f")
		tx([]any{"DEL", "nothere"})
		do("FLUSHDB")
		do("FLUSHDB")
		do("SET", "end", "1")
		stream := streamUntil(t, br, "end")
		// SPOP's members are drawn at random.
		stream = regexp.MustCompile(`(?m)^SREM s2 [abc]$`).ReplaceAllString(stream, "SREM s2 <member>")
		stream = regexp.MustCompile(`(?m)^SREM s4 [mn]$`).ReplaceAllString(stream, "SREM s4 <member>")
		stream = regexp.MustCompile(`\b1[0-9]{12}\b`).ReplaceAllString(stream, "<ms>")
		got = append(got, stream)
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal's stream:\n%s\n\nredis-server's:\n%s", got[0], got[1])
	}
}

// TestScanAndRandomKeyExpireAsRedis: SCAN and RANDOMKEY delete the
// expired keys they pass, each as a DEL of its own in the replication
// stream (not wrapped in MULTI ... EXEC), as redis-server 7.0.15 does
// with its active expiry off.
func TestScanAndRandomKeyExpireAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		var seen []string
		p.c.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
		for _, step := range []struct{ read, marker string }{{"SCAN", "m1"}, {"RANDOMKEY", "m2"}} {
			p.c.FlushAll(ctx)
			p.c.Set(ctx, "foo1", "bar", time.Millisecond)
			p.c.Set(ctx, "foo2", "bar", time.Millisecond)
			if step.read == "SCAN" {
				p.c.Set(ctx, "live", "v", 0)
			}
			time.Sleep(5 * time.Millisecond)
			br := syncStream(t, p)
			args := []any{step.read}
			if step.read == "SCAN" {
				args = append(args, "0")
			}
			reply, err := p.c.Do(ctx, args...).Result()
			p.c.Set(ctx, step.marker, "1", 0)
			lines := strings.Split(streamUntil(t, br, step.marker), "\n")
			slices.Sort(lines) // NB: Redis's SCAN walks its hash table's order
			seen = append(seen, fmt.Sprint(step.read, " ", reply, " ", err), strings.Join(lines, "|"), fmt.Sprint(p.c.DBSize(ctx).Val()))
		}
		got = append(got, strings.Join(seen, "\n"))
	}
	sameOnBoth(t, got)
}

// TestSetPastDeadlineAsRedis: a SET whose deadline has passed (PXAT in the
// past here; PX 1 on a busy server) stores the key as Redis's setKey does,
// replicates as SET ... PXAT, and its next lookup expires it, feeding the
// DEL; GETEX's absolute deadline in the past deletes at once. The stream
// and DBSIZE are compared with redis-server 7.0.15's.
func TestSetPastDeadlineAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		p.c.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
		br := syncStream(t, p)
		var seen []string
		for _, args := range [][]any{
			{"SET", "k", "v", "PXAT", "1"}, {"DBSIZE"}, {"GET", "k"}, {"DBSIZE"},
			{"SET", "k2", "v"}, {"GETEX", "k2", "PXAT", "1"}, {"DBSIZE"},
			{"SET", "k3", "v", "PXAT", "99999999999999"}, {"SET", "k3", "w", "KEEPTTL"}, {"PTTL", "k3"},
		} {
			v, err := p.c.Do(ctx, args...).Result()
			if args[0] == "PTTL" {
				v = v.(int64) > 0
			}
			seen = append(seen, fmt.Sprint(args, " ", v, " ", err))
		}
		p.c.Set(ctx, "marker", "1", 0)
		seen = append(seen, streamUntil(t, br, "marker"))
		got = append(got, strings.Join(seen, "\n"))
	}
	sameOnBoth(t, got)
}

// TestFlushAllSavesUnderSavePointsAsRedis follows other.tcl's "FLUSHALL
// should reset the dirty counter": with save points FLUSHALL saves at
// once and leaves no change since the last save; without, its changes
// count.
func TestFlushAllSavesUnderSavePointsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		var seen []string
		for _, save := range []string{"", "3600 1 300 100 60 10000"} {
			p.c.ConfigSet(ctx, "save", save)
			p.c.Set(ctx, "key", "value", 0)
			if err := p.c.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(infoText(t, p.c, "rdb_changes_since_last_save"))
			seen = append(seen, fmt.Sprintf("save %q: changes since save > 0: %v", save, n > 0))
		}
		got = append(got, strings.Join(seen, "\n"))
	}
	sameOnBoth(t, got)
}

// TestIncrByFloatFeedAsRedis: INCRBYFLOAT reaches redis-server replicas
// as SET key value KEEPTTL, with or without an expiry and from a script,
// as redis-server 7.0.15 sends it (scripting.tcl's "INCRBYFLOAT: We can
// call scripts expanding client->argv from Lua").
func TestIncrByFloatFeedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		br := syncStream(t, p)
		for _, args := range [][]any{
			{"INCRBYFLOAT", "f", "1.5"}, {"SET", "g", "10", "EX", "100"}, {"INCRBYFLOAT", "g", "0.25"},
			{"EVAL", "redis.call('incrbyfloat', KEYS[1], 1)", "1", "key"},
			{"EVAL", "redis.call('set', KEYS[1], '1', 'KEEPTTL')", "1", "key"},
		} {
			if err := p.c.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
				t.Fatal(err)
			}
		}
		p.c.Set(ctx, "marker", "1", 0)
		// NB: the deadline of EX 100 is each server's own clock's.
		got = append(got, regexp.MustCompile(`PXAT \d+`).ReplaceAllString(streamUntil(t, br, "marker"), "PXAT <ms>"))
	}
	sameOnBoth(t, got)
}

// TestXReadGroupFeedAsRedis: XREADGROUP goes to redis-server replicas as
// one XCLAIM per entry delivered, in a transaction too, and a consumer it
// creates as XGROUP CREATECONSUMER only under NOACK, as redis-server
// 7.0.15 propagates them (multi.tcl's "MULTI propagation of XREADGROUP").
func TestXReadGroupFeedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		br := syncStream(t, p)
		do := func(args ...any) {
			if err := p.c.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
				t.Fatalf("%s: %v: %v", p.name, args, err)
			}
		}
		for i := 1; i <= 4; i++ {
			do("XADD", "mystream", fmt.Sprintf("%d-1", i), "f", i)
		}
		do("XGROUP", "CREATE", "mystream", "mygroup", "0")
		pipe := p.c.TxPipeline()
		pipe.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "mygroup", Consumer: "consumer1", Streams: []string{"mystream", ">"}, Count: 2})
		pipe.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "mygroup", Consumer: "consumer1", Streams: []string{"mystream", ">"}, Count: 1})
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		do("XREADGROUP", "GROUP", "mygroup", "consumer2", "NOACK", "STREAMS", "mystream", ">")
		do("XREADGROUP", "GROUP", "mygroup", "consumer3", "STREAMS", "mystream", "0")
		do("SET", "end", "1")
		stream := streamUntil(t, br, "end")
		got = append(got, regexp.MustCompile(`\b1[0-9]{12}\b`).ReplaceAllString(stream, "<ms>"))
	}
	sameOnBoth(t, got)
}
