package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestKilledClientFreedAtOnceAsRedis: a client CLIENT KILL closes is out
// of CLIENT LIST and connected_clients by the killer's next command, as
// Redis's freeClient takes it out before CLIENT KILL answers; on Shoal
// and on redis-server 7.0.15.
func TestKilledClientFreedAtOnceAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		a := single(t, p.addr, 2)
		state := func() string {
			list := a.ClientList(ctx).Val()
			return fmt.Sprintf("listed %d, connected_clients %s", strings.Count(list, "\n"), infoText(t, a, "connected_clients"))
		}
		type victim struct{ id, addr string }
		var victims []victim
		for range 2 {
			info := single(t, p.addr, 2).Do(ctx, "CLIENT", "INFO").Val().(string)
			f := clientFields(t, info, "")
			victims = append(victims, victim{f["id"], f["addr"]})
		}
		fmt.Fprintln(&b, "before:", state())
		fmt.Fprintln(&b, "KILL ID:", a.Do(ctx, "CLIENT", "KILL", "ID", victims[0].id).Val())
		fmt.Fprintln(&b, "after KILL ID:", state())
		fmt.Fprintln(&b, "KILL addr:", a.Do(ctx, "CLIENT", "KILL", victims[1].addr).Val())
		fmt.Fprintln(&b, "after KILL addr:", state())
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
