package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestUnreadRepliesQueueAsRedis: a client that sends requests and does
// not read their replies has them all run, their replies waiting in its
// output (CLIENT LIST's omem) past what the sockets hold, as in
// redis-server 7.0.15; then a lowered client-output-buffer-limit closes
// it at its next reply, and under maxmemory-clients a client that keeps
// asking for unread 200 KB replies is closed before CLIENT LIST shows it
// past the limit (client-eviction.tcl's "client evicted due to output
// buf").
func TestUnreadRepliesQueueAsRedis(t *testing.T) {
	const n = 60 // 12 MB of replies: more than loopback's socket buffers
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t)
		var b strings.Builder
		p.c.SetRange(ctx, "k", 200000, "v")
		id := rawClientID
		field := func(id, name string) (int64, bool) {
			list := p.c.ClientList(ctx).Val()
			if !strings.Contains(list, "id="+id+" ") {
				return 0, false
			}
			return fieldInt(t, clientFields(t, list, id), name), true
		}
		calls := func() string {
			_, after, ok := strings.Cut(p.c.Info(ctx, "commandstats").Val(), "cmdstat_get:calls=")
			if !ok {
				return "0"
			}
			return strings.Split(after, ",")[0]
		}
		p.c.ConfigResetStat(ctx)
		r := testutil.Dial(t, p.addr)
		rid := id(r)
		for range n {
			r.Send("GET k\r\n")
		}
		deadline := time.Now().Add(10 * time.Second)
		for calls() != fmt.Sprint(n) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		omem, _ := field(rid, "omem")
		fmt.Fprintf(&b, "GET calls %s of %d unread; omem over 4 MB: %v\n", calls(), n, omem > 4<<20)
		p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 4mb 0 0")
		r.Send("GET k\r\n")
		deadline = time.Now().Add(5 * time.Second)
		_, open := field(rid, "omem")
		for open && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			_, open = field(rid, "omem")
		}
		fmt.Fprintf(&b, "over client-output-buffer-limit: closed %v\n", !open)
		p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 0 0 0")

		const limit = 3000000
		p.c.ConfigSet(ctx, "maxmemory-clients", fmt.Sprint(limit))
		e := testutil.Dial(t, p.addr)
		eid := id(e)
		past, closed := false, false
		for range 200 {
			mem, ok := field(eid, "tot-mem")
			if !ok {
				closed = true
				break
			}
			past = past || mem >= limit
			if _, err := e.Conn.Write([]byte("GET k\r\n")); err != nil {
				closed = true // NB: closed before CLIENT LIST was asked again
				break
			}
		}
		// NB: the last requests may still be running.
		deadline = time.Now().Add(5 * time.Second)
		for !closed && time.Now().Before(deadline) {
			mem, ok := field(eid, "tot-mem")
			closed = !ok
			past = past || mem >= limit
		}
		fmt.Fprintf(&b, "under maxmemory-clients: closed %v, seen past the limit %v\n", closed, past)
		p.c.ConfigSet(ctx, "maxmemory-clients", "0")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}

// TestQueuedRepliesSoftLimitAsRedis: a client whose unread replies stay
// past client-output-buffer-limit's soft limit for its seconds is closed
// though it sends nothing more, as redis-server 7.0.15's clientsCron
// closes it.
func TestQueuedRepliesSoftLimitAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t)
		p.c.SetRange(ctx, "k", 200000, "v")
		p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 0 1mb 1")
		r := testutil.Dial(t, p.addr)
		r.Send("CLIENT SETNAME unread\r\n")
		r.ReadReply()
		for range 30 {
			r.Send("GET k\r\n")
		}
		start := time.Now()
		open := true
		for open && time.Since(start) < 5*time.Second {
			time.Sleep(20 * time.Millisecond)
			open = strings.Contains(p.c.ClientList(ctx).Val(), "name=unread ")
		}
		got = append(got, fmt.Sprintf("closed %v, after a second %v", !open, time.Since(start) >= time.Second))
		p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 0 0 0")
	}
	sameOnBoth(t, got)
}

// TestDeferredReplyOutputLimitAsRedis follows obuf-limits.tcl's "Obuf
// limit, KEYS stopped mid-run": a reply Redis writes with a deferred
// length goes whole into its output list, so under
// client-output-buffer-limit normal 100000 one of about 93 KB closes the
// client (ZRANGE BYSCORE, a script's table, XRANGE, LPOS with COUNT,
// PUBSUB CHANNELS, COMMAND INFO from the first command's categories on)
// where the same bytes as a plain array (ZRANGE by rank, SUNION, LRANGE),
// whose first 16 KiB sit in Redis's reply buffer, are answered; a 110 KB
// KEYS, SMEMBERS or SINTER and a 113 KB LRANGE close it; as in
// redis-server 7.0.15.
func TestDeferredReplyOutputLimitAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t)
		prefix := strings.Repeat("k", 100)
		for i := range 1000 {
			p.c.Set(ctx, fmt.Sprintf("%s%d", prefix, i), "v", 0)
			p.c.SAdd(ctx, "set", fmt.Sprintf("%s%d", prefix, i))
			p.c.RPush(ctx, "list", strings.Repeat("e", 105))
			if i < 900 {
				p.c.ZAdd(ctx, "zset", redis.Z{Score: float64(i), Member: fmt.Sprintf("%s%04d", prefix[:92], i)})
				p.c.SAdd(ctx, "small", fmt.Sprintf("%s%04d", prefix[:92], i))
			}
			if i < 620 {
				p.c.XAdd(ctx, &redis.XAddArgs{Stream: "st", ID: fmt.Sprintf("%d-1", i+1), Values: []string{"f", prefix}})
				p.c.RPush(ctx, "wide", strings.Repeat("e", 140))
			}
		}
		same := make([]any, 13000)
		for i := range same {
			same[i] = "x"
		}
		p.c.RPush(ctx, "same", same...)
		sub := p.c.Subscribe(ctx)
		var chans []string
		for i := range 900 {
			chans = append(chans, fmt.Sprintf("%s%04d", prefix[:92], i))
		}
		if err := sub.Subscribe(ctx, chans...); err != nil {
			t.Fatal(err)
		}
		for range chans {
			if _, err := sub.Receive(ctx); err != nil {
				t.Fatal(err)
			}
		}
		r := testutil.Dial(t, p.addr)
		r.Send("COMMAND INFO get\r\n")
		info, _ := r.ReadReply()
		gets := strings.Repeat(" get", 93000/(len(info)-4))
		got = append(got, limitedReplies(t, p, "KEYS k*", "SMEMBERS set", "SINTER set set", "LRANGE list 0 -1",
			"ZRANGE zset 0 -1", "ZRANGE zset -inf +inf BYSCORE", "SUNION small",
			"LRANGE wide 0 -1", "EVAL \"return redis.call('lrange', 'wide', 0, -1)\" 0",
			"XRANGE st - +", "LPOS same x COUNT 0", "PUBSUB CHANNELS", "COMMAND INFO"+gets))
		sub.Close()
	}
	sameOnBoth(t, got)
}

// limitedReplies sends each of cmds (inline) on a connection of its own
// under client-output-buffer-limit normal 100000 0 0, and tells the size
// of each reply, or that the connection was closed.
func limitedReplies(t *testing.T, p peer, cmds ...string) string {
	ctx := testutil.Ctx(t)
	p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 100000 0 0")
	defer p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 0 0 0")
	var b strings.Builder
	for _, cmd := range cmds {
		r := testutil.Dial(t, p.addr)
		r.Send(cmd + "\r\n")
		reply, err := r.ReadReply()
		fmt.Fprintf(&b, "%.40s: %d bytes, %v\n", cmd, len(reply), err != nil)
	}
	return b.String()
}
