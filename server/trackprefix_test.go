package server_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestTrackingPrefixesAsRedis adds BCAST prefixes to one client, a few a
// command, in an order that makes its prefixes part at the root, inside
// runs and at branches already there, and after each command compares
// with redis-server: the reply (an overlap names the prefix Redis
// names), the growth of the client's tot-mem since tracking began (32
// bytes a node of Redis's radix tree of the prefixes) and CLIENT
// TRACKINGINFO's list.
func TestTrackingPrefixesAsRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	var cmds []string
	for range 300 {
		var b strings.Builder
		b.WriteString("CLIENT TRACKING on BCAST")
		for range 1 + rng.IntN(3) {
			p := make([]byte, 1+rng.IntN(6))
			for i := range p {
				p[i] = "abc"[rng.IntN(3)]
			}
			fmt.Fprintf(&b, " PREFIX %s", p)
		}
		cmds = append(cmds, b.String())
	}
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t)
		var b strings.Builder
		r := testutil.Dial(t, p.addr)
		id := rawClientID(r)
		mem := func() int64 {
			return fieldInt(t, clientFields(t, p.c.ClientList(ctx).Val(), id), "tot-mem")
		}
		base := mem()
		for _, cmd := range cmds {
			r.Send(cmd + "\r\n")
			reply, err := r.ReadReply()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s: %s tot-mem +%d\n", cmd, strings.TrimSpace(reply), mem()-base)
		}
		r.Send("CLIENT TRACKINGINFO\r\n")
		info, _ := r.ReadReply()
		fmt.Fprintln(&b, info)
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
