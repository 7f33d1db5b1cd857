package server_test

import (
	"fmt"
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
