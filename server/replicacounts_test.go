package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestWritableReplicaCountsAsRedis: a writable replica whose clients and
// primary write the same keys counts the keys and expiries it holds in
// DBSIZE and INFO keyspace, as Redis's counts its dictionaries; on a
// Shoal pair and a redis-server 7.0.15 pair (replication-3.tcl's PFCOUNT
// tests start from a DBSIZE that a writable replica's earlier test left).
func TestWritableReplicaCountsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, pair := range pairsAsRedis(t, false) {
		p, r := pair.primary, pair.replica
		var b strings.Builder
		synced := func() {
			t.Helper()
			p.Set(ctx, "sync", "x", 0)
			eventuallyTrue(t, "the replica in sync", func() bool {
				return p.Do(ctx, "WAIT", 1, 0).Val() == int64(1) && r.Exists(ctx, "sync").Val() == 1
			})
		}
		counts := func(step string) {
			fmt.Fprintf(&b, "%s: dbsize %d, %s\n", step, r.DBSize(ctx).Val(), infoText(t, r, "db0"))
		}
		for _, k := range []string{"a", "b", "c", "e"} {
			p.Set(ctx, k, "1", 0)
		}
		p.Expire(ctx, "c", 1000e9)
		synced()
		counts("synced")
		r.ConfigSet(ctx, "replica-read-only", "no")
		r.Del(ctx, "a", "e")
		r.Set(ctx, "x", "1", 0)
		r.Set(ctx, "b", "2", 500e9)
		r.Persist(ctx, "c")
		counts("replica's writes")
		p.Del(ctx, "a")
		p.Set(ctx, "x", "2", 0)
		p.Set(ctx, "b", "3", 0)
		p.Set(ctx, "d", "1", 100e9)
		p.Set(ctx, "e", "2", 0)
		synced()
		counts("primary's writes")
		p.FlushAll(ctx)
		synced()
		counts("FLUSHALL")
		r.ConfigSet(ctx, "replica-read-only", "yes")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
