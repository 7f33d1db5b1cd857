package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestMasterLinkInClientListAsRedis: a replica's link to its primary is in
// the replica's CLIENT LIST as Redis's master client (flag M, TYPE
// master, the primary's address, user (superuser)), and CLIENT KILL by
// address or TYPE master ends it: the replica connects again and resyncs
// partially, on a Shoal pair as on a redis-server 7.0.15 pair
// (replication-psync.tcl breaks links this way).
func TestMasterLinkInClientListAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, pair := range pairsAsRedis(t, false) {
		p, r := pair.primary, pair.replica
		p.Set(ctx, "x", "1", 0)
		eventuallyTrue(t, "the replica in sync", func() bool { return r.Get(ctx, "x").Val() == "1" })
		var b strings.Builder
		list, _ := r.Do(ctx, "CLIENT", "LIST", "TYPE", "master").Text()
		lines := strings.Split(strings.TrimSpace(list), "\n")
		fmt.Fprintln(&b, "lines", len(lines))
		for _, f := range strings.Fields(lines[0]) {
			if name, v, _ := strings.Cut(f, "="); name == "flags" || name == "user" || name == "multi" || name == "events" {
				fmt.Fprintln(&b, f)
			} else if name == "addr" {
				fmt.Fprintln(&b, "addr is the primary's:", v == pair.addr)
			}
		}
		one := r.Conn()
		all, _ := one.Do(ctx, "CLIENT", "LIST").Text()
		fmt.Fprintln(&b, "connected_clients counts every CLIENT LIST line:",
			infoText(t, one, "connected_clients") == strconv.Itoa(strings.Count(all, "\n")))
		one.Close()
		fmt.Fprintln(&b, "KILL addr:", r.Do(ctx, "CLIENT", "KILL", pair.addr).Val())
		eventuallyTrue(t, "a partial resync", func() bool { return infoField(t, p, "sync_partial_ok") == 1 })
		eventuallyTrue(t, "the link up", func() bool { return infoText(t, r, "master_link_status") == "up" })
		fmt.Fprintln(&b, "KILL TYPE master:", r.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Val())
		eventuallyTrue(t, "a second partial resync", func() bool { return infoField(t, p, "sync_partial_ok") == 2 })
		fmt.Fprintln(&b, "KILL ID 999999:", r.Do(ctx, "CLIENT", "KILL", "ID", "999999").Val())
		p.Set(ctx, "x", "2", 0)
		eventuallyTrue(t, "the replica in sync again", func() bool { return r.Get(ctx, "x").Val() == "2" })
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
	if !strings.Contains(got[0], "flags=M") || !strings.Contains(got[0], "KILL addr: OK") {
		t.Fatalf("the replica's master link:\n%s", got[0])
	}
}
