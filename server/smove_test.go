package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestSmoveOntoHeldMemberAsRedis moves a member the destination set holds
// already, on Shoal and redis-server 7.0.15 side by side: the source
// loses it, the destination is left untouched, as Redis's smoveCommand
// leaves it, so a transaction WATCHing the destination still runs
// (set.tcl's "SMOVE only notify dstset when the addition is
// successful"), and the keyspace events name the source alone.
func TestSmoveOntoHeldMemberAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		p.c.ConfigSet(ctx, "notify-keyspace-events", "KEA")
		sub := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
		defer sub.Close()
		ps := sub.PSubscribe(ctx, "__keyspace@0__:*")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		p.c.SAdd(ctx, "src", "a", "b")
		p.c.SAdd(ctx, "dst", "a")
		other := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
		defer other.Close()
		err := p.c.Watch(ctx, func(tx *redis.Tx) error {
			fmt.Fprintln(&b, "SMOVE", other.SMove(ctx, "src", "dst", "a").Val())
			_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.SAdd(ctx, "dst", "c")
				return nil
			})
			return err
		}, "dst")
		fmt.Fprintln(&b, "EXEC", err, p.c.SMembers(ctx, "src").Val(), p.c.SCard(ctx, "dst").Val())
		p.c.Set(ctx, "end", "1", 0)
		for {
			m, err := ps.ReceiveTimeout(ctx, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			msg := m.(*redis.Message)
			fmt.Fprintln(&b, msg.Channel, msg.Payload)
			if strings.HasSuffix(msg.Channel, ":end") {
				break
			}
		}
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
