package server_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestReplicaCommandstatsAsRedis: a replica counts in INFO commandstats
// the commands its primary replicated, by the names Redis replicates
// them under (SET ... PXAT for an expiry, SET for INCRBYFLOAT and
// GETSET, PEXPIREAT, LMOVE for BLMOVE, SREM for SPOP, MULTI and EXEC
// around a transaction's or a script's writes, DEL for a key found
// expired, SELECT before the first write), as replication.tcl's cmdrstat
// checks read them; the calls equal a redis-server 7.0.15 replica's.
func TestReplicaCommandstatsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, pair := range pairsAsRedis(t, false) {
		p, r := pair.primary, pair.replica
		p.ConfigSet(ctx, "repl-ping-replica-period", "3600")
		eventuallyTrue(t, "the link up", func() bool { return infoText(t, r, "master_link_status") == "up" })
		r.ConfigResetStat(ctx)
		p.Set(ctx, "a", "1", 0)
		p.Set(ctx, "b", "2", 100*time.Second)
		p.Incr(ctx, "a")
		p.IncrByFloat(ctx, "a", 1.5)
		p.Expire(ctx, "b", 200*time.Second)
		p.Persist(ctx, "b")
		p.GetSet(ctx, "g", "1")
		p.LPush(ctx, "l", "x", "y")
		p.RPopLPush(ctx, "l", "l2")
		p.BLMove(ctx, "l2", "l3", "LEFT", "RIGHT", 0)
		p.TxPipelined(ctx, func(pp redis.Pipeliner) error {
			pp.Set(ctx, "c", "1", 0)
			pp.Incr(ctx, "c")
			return nil
		})
		p.Eval(ctx, "redis.call('set', 'd', 1) redis.call('incr', 'd')", nil)
		p.Eval(ctx, "redis.call('set', 'e', 1)", nil)
		p.Del(ctx, "nokey")
		p.SAdd(ctx, "s", "m1", "m2")
		p.SPop(ctx, "s")
		p.XAdd(ctx, &redis.XAddArgs{Stream: "st", Values: []string{"f", "v"}})
		p.Publish(ctx, "ch", "m")
		p.Set(ctx, "f", "1", time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		p.Get(ctx, "f")
		p.Set(ctx, "done", "1", 0)
		eventuallyTrue(t, "the replica in sync", func() bool { return r.Get(ctx, "done").Val() == "1" })
		stats, err := r.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(stats, "\r\n") {
			name, rest, ok := strings.Cut(strings.TrimPrefix(l, "cmdstat_"), ":")
			if !ok || !strings.HasPrefix(l, "cmdstat_") || name == "get" || name == "info" {
				continue
			}
			calls, _, _ := strings.Cut(rest, ",")
			lines = append(lines, name+" "+calls)
		}
		sort.Strings(lines)
		got = append(got, fmt.Sprintln(strings.Join(lines, "\n")))
	}
	sameOnBoth(t, got)
}
