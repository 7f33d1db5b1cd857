package server_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestPausedClientsCountAsBlockedAsRedis: a command held by CLIENT PAUSE
// counts in INFO's blocked_clients and shows flag b in CLIENT LIST, and
// a read-only script may not PUBLISH, with the same replies from Shoal
// and redis-server 7.0.15.
func TestPausedClientsCountAsBlockedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got [][]string
	for _, p := range bothPeers(t) {
		var seen []string
		do := func(args ...any) string {
			v, err := p.c.Do(ctx, args...).Result()
			if err != nil {
				return "error: " + err.Error()
			}
			return fmt.Sprint(v)
		}
		seen = append(seen, do("EVAL_RO", "return redis.call('publish','ch','msg')", "0"))
		for _, block := range [][]any{{"SET", "k", "v"}, {"PFCOUNT", "h"}, {"PUBLISH", "ch", "m"}} {
			do("CLIENT", "PAUSE", "100000", "WRITE")
			reply := whileBlocked(t, p, block, func() {
				for _, line := range strings.Split(p.c.ClientList(ctx).Val(), "\n") {
					if strings.Contains(line, "cmd="+strings.ToLower(block[0].(string))) {
						seen = append(seen, fmt.Sprint(block[0], " ", strings.Fields(line)[7]))
					}
				}
				do("CLIENT", "UNPAUSE")
			})
			seen = append(seen, reply)
		}
		seen = append(seen, infoText(t, p.c, "blocked_clients"))
		got = append(got, seen)
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Fatalf("Shoal:\n%s\nredis-server:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
}

// TestPausedReplicaReadsButDoesNotApply follows pause.tcl's "Test when
// replica paused, offset would not grow": a replica under CLIENT PAUSE
// WRITE reads its primary's stream (slave_read_repl_offset) without
// applying it (slave_repl_offset, the key), and applies it on CLIENT
// UNPAUSE; a Shoal pair and a Shoal replica of a redis-server as a
// redis-server pair.
func TestPausedReplicaReadsButDoesNotApply(t *testing.T) {
	ctx := testutil.Ctx(t)
	sp := testutil.Start(t, nil)
	rp := testutil.StartRedisServer(t, t.TempDir())
	cfg := testutil.Config(t)
	host, port, _ := net.SplitHostPort(sp.Addr())
	cfg.ReplicaOf = host + " " + port
	sr := testutil.Start(t, cfg)
	rr := testutil.StartRedisServer(t, t.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(rp.Port))
	rp2 := testutil.StartRedisServer(t, t.TempDir())
	cfg2 := testutil.Config(t)
	cfg2.ReplicaOf = "127.0.0.1 " + strconv.Itoa(rp2.Port)
	sr2 := testutil.Start(t, cfg2)
	pairs := []struct {
		name             string
		primary, replica *redis.Client
	}{
		{"shoal", testutil.Client(t, sp, 2), testutil.Client(t, sr, 2)},
		{"redis", rp.Client(t, 0), rr.Client(t, 0)},
		{"shoal of redis-server", rp2.Client(t, 0), testutil.Client(t, sr2, 2)},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			p.primary.ConfigSet(ctx, "repl-ping-replica-period", "3600")
			eventuallyTrue(t, "linked", func() bool { return infoText(t, p.replica, "master_link_status") == "up" })
			p.primary.Set(ctx, "foo", "bar", 0)
			old := infoText(t, p.primary, "master_repl_offset")
			eventuallyTrue(t, "caught up", func() bool { return infoText(t, p.replica, "slave_repl_offset") == old })

			if err := p.replica.Do(ctx, "CLIENT", "PAUSE", "100000", "WRITE").Err(); err != nil {
				t.Fatal(err)
			}
			p.primary.Set(ctx, "foo2", "bar2", 0)
			now := infoText(t, p.primary, "master_repl_offset")
			eventuallyTrue(t, "read", func() bool { return infoText(t, p.replica, "slave_read_repl_offset") == now })
			if got := infoText(t, p.replica, "slave_repl_offset"); got != old {
				t.Fatalf("slave_repl_offset %s under the pause, want %s", got, old)
			}
			if v, err := p.replica.Get(ctx, "foo2").Result(); err != redis.Nil {
				t.Fatalf("GET foo2 under the pause = %q, %v", v, err)
			}

			p.replica.Do(ctx, "CLIENT", "UNPAUSE")
			eventuallyTrue(t, "applied", func() bool { return infoText(t, p.replica, "slave_repl_offset") == now })
			if v, err := p.replica.Get(ctx, "foo2").Result(); v != "bar2" {
				t.Fatalf("GET foo2 after the pause = %q, %v", v, err)
			}
		})
	}
}
