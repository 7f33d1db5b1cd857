package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestClientStateCountsForEvictionAsRedis: a client's watched keys and
// subscriptions count in its memory (tot-mem), as Redis's
// getClientMemoryUsage counts their bookkeeping, so maxmemory-clients
// closes a client that keeps watching keys or subscribing; on Shoal and
// on redis-server 7.0.15 (client-eviction.tcl's "watched key list" and
// "pubsub subscriptions").
func TestClientStateCountsForEvictionAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t) // NB: each its own: a server that never evicts takes minutes
		var b strings.Builder
		p.c.ConfigSet(ctx, "maxmemory-clients", "200000")
		before := infoField(t, p.c, "evicted_clients")
		for _, cmd := range []string{"WATCH", "PSUBSCRIBE", "SUBSCRIBE", "SSUBSCRIBE"} {
			r := testutil.Dial(t, p.addr)
			closed := false
			// NB: 200,000 bytes of 56-byte watched keys, or 24-byte
			// patterns, come within the first 10,000 requests; Shoal
			// weighs clients once a second, so the client goes on until
			// it is closed, or for 10 s.
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; !closed && time.Now().Before(deadline); i++ {
				r.Send(fmt.Sprintf("%s k%d\r\n", cmd, i))
				if _, err := r.ReadReply(); err != nil {
					closed = true
				}
			}
			fmt.Fprintf(&b, "%s: closed %v\n", cmd, closed)
		}
		fmt.Fprintln(&b, "evicted_clients:", infoField(t, p.c, "evicted_clients")-before)
		p.c.ConfigSet(ctx, "maxmemory-clients", "0")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}

// TestEvictedOnQueuedOutputAsRedis follows client-eviction.tcl's "client
// evicted due to tracking redirection": with the cron paused, a
// subscriber that does not read, to which another client's invalidations
// of a 200 KB key are redirected, is closed by maxmemory-clients before
// the command after the one that queued past the limit runs: CLIENT LIST
// never shows it past the limit, on Shoal as on redis-server 7.0.15.
func TestEvictedOnQueuedOutputAsRedis(t *testing.T) {
	const limit = 1000000
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		ctx := testutil.Ctx(t)
		redir := testutil.Dial(t, p.addr)
		redir.Send("CLIENT SETNAME redirected\r\nCLIENT ID\r\nSUBSCRIBE __redis__:invalidate\r\n")
		redir.ReadReply()
		idReply, _ := redir.ReadReply()
		redir.ReadReply()
		id := strings.TrimSpace(strings.TrimPrefix(idReply, ":"))
		w := testutil.Dial(t, p.addr)
		long := strings.Repeat("k", 200<<10)
		w.Send("CLIENT TRACKING on REDIRECT " + id + " BCAST\r\n")
		w.ReadReply()
		sha := p.c.ScriptLoad(ctx, "redis.call('incr', '"+long+"')").Val()
		p.c.ConfigSet(ctx, "maxmemory-clients", strconv.Itoa(limit))
		p.c.Do(ctx, "DEBUG", "PAUSE-CRON", "1")
		evicted, past := false, false
		for range 500 {
			list := p.c.ClientList(ctx).Val()
			if !strings.Contains(list, "name=redirected ") {
				evicted = true
				break
			}
			if fieldInt(t, clientFields(t, list, id), "tot-mem") >= limit {
				past = true
			}
			w.Send("EVALSHA " + sha + " 0\r\n")
			if _, err := w.ReadReply(); err != nil {
				t.Fatal(err)
			}
		}
		p.c.Do(ctx, "DEBUG", "PAUSE-CRON", "0")
		p.c.ConfigSet(ctx, "maxmemory-clients", "0")
		got = append(got, fmt.Sprintf("evicted %v, seen past the limit %v", evicted, past))
	}
	sameOnBoth(t, got)
}

// TestLoweredClientsLimitAsRedis follows client-eviction.tcl's "decrease
// maxmemory-clients causes client eviction": ten clients each halfway
// through a 300 KB request, then maxmemory-clients lowered from 4 MB to
// 2 MB: the CLIENT LIST right after finds as many of them left as on
// redis-server 7.0.15 (the largest closed, one check at a time, until
// under the limit). A limit below 128 KiB counts as 128 KiB, as
// Redis's getClientEvictionLimit makes it: a percentage of a 1 KB
// maxmemory closes no one.
func TestLoweredClientsLimitAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t)
		var b strings.Builder
		p.c.ConfigSet(ctx, "maxmemory-clients", "4mb")
		const size = 300000
		for j := range 10 {
			r := testutil.Dial(t, p.addr)
			r.Send(fmt.Sprintf("CLIENT SETNAME big%d\r\n", j))
			r.ReadReply()
			r.Send(fmt.Sprintf("*2\r\n$%d\r\n%s", size, strings.Repeat("v", size)))
			// NB: until the server read the part: its line shows it.
			read := func() bool {
				for _, line := range strings.Split(p.c.ClientList(ctx).Val(), "\n") {
					if strings.Contains(line, fmt.Sprintf(" name=big%d ", j)) {
						return strings.Contains(line, fmt.Sprintf(" qbuf=%d ", size))
					}
				}
				return false
			}
			for deadline := time.Now().Add(5 * time.Second); !read() && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
		}
		left := func() int { return strings.Count(p.c.ClientList(ctx).Val(), "name=big") }
		fmt.Fprintf(&b, "before: %d\n", left())
		p.c.ConfigSet(ctx, "maxmemory-clients", "2mb")
		fmt.Fprintf(&b, "after lowering to 2mb: %d\n", left())
		p.c.ConfigSet(ctx, "maxmemory-clients", "1%")
		p.c.ConfigSet(ctx, "maxmemory", "1kb")
		fmt.Fprintf(&b, "1%% of 1kb: PING %v\n", p.c.Ping(ctx).Val())
		p.c.ConfigSet(ctx, "maxmemory", "0")
		p.c.ConfigSet(ctx, "maxmemory-clients", "0")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
