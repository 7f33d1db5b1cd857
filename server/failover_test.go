package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// roleOf is ROLE's first field.
func roleOf(t *testing.T, c *redis.Client) string {
	role, err := c.Do(testutil.Ctx(t), "ROLE").Slice()
	if err != nil || len(role) == 0 {
		return ""
	}
	return fmt.Sprint(role[0])
}

// failedOver waits for the primary behind old to follow the one behind
// new after a FAILOVER, its failover over and its link up, then checks
// that old refuses writes as a replica, that a write to new reaches it
// and that both hold the same data.
func failedOver(t *testing.T, old, new *redis.Client) {
	t.Helper()
	ctx := testutil.Ctx(t)
	eventuallyTrue(t, "the roles to swap", func() bool {
		return roleOf(t, old) == "slave" && roleOf(t, new) == "master" &&
			infoText(t, old, "master_failover_state") == "no-failover" &&
			infoText(t, old, "master_link_status") == "up"
	})
	if err := old.Set(ctx, "x", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Errorf("a write to the old primary: %v", err)
	}
	if err := new.Set(ctx, "after-failover", "1", 0).Err(); err != nil {
		t.Fatalf("a write to the new primary: %v", err)
	}
	eventuallyTrue(t, "the write to reach the old primary", func() bool {
		return old.Get(ctx, "after-failover").Val() == "1"
	})
	sameDatasets(t, "after FAILOVER", datasets(t, new.Options().Addr), datasets(t, old.Options().Addr))
}

// TestFailoverToShoalReplica runs FAILOVER on a Shoal primary with a
// Shoal replica: once the replica acknowledged every write, the primary
// follows it and the replica takes the primary role; writes then go to
// the new primary and reach the old one.
func TestFailoverToShoalReplica(t *testing.T) {
	p := testutil.Start(t, nil)
	r := startReplica(t, p)
	pc, rc := testutil.Client(t, p, 2), testutil.Client(t, r, 2)
	ctx := testutil.Ctx(t)
	fillEveryEncoding(t, p.Addr())
	shoalWrites(t, p.Addr(), 0, 100)
	eventuallyTrue(t, "the replica online", func() bool {
		return strings.Contains(pc.Info(ctx, "replication").Val(), "state=online")
	})
	if err := pc.Do(ctx, "FAILOVER").Err(); err != nil {
		t.Fatal(err)
	}
	failedOver(t, pc, rc)
}

// TestFailoverToRedisReplica runs FAILOVER TO a redis-server 7.0 that
// replicates Shoal: the redis-server takes the primary role at Shoal's
// PSYNC FAILOVER, and Shoal follows it.
func TestFailoverToRedisReplica(t *testing.T) {
	s := testutil.Start(t, nil)
	sc := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	fillEveryEncoding(t, s.Addr())
	r := testutil.StartRedisServer(t, t.TempDir())
	rc := r.Client(t, 0)
	if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.Split(s.Addr(), ":")[1]).Err(); err != nil {
		t.Fatal(err)
	}
	shoalWrites(t, s.Addr(), 0, 100)
	eventuallyTrue(t, "the redis-server replica online", func() bool {
		return strings.Contains(sc.Info(ctx, "replication").Val(), "state=online")
	})
	if err := sc.Do(ctx, "FAILOVER", "TO", "127.0.0.1", r.Port, "TIMEOUT", 20000).Err(); err != nil {
		t.Fatal(err)
	}
	failedOver(t, sc, rc)
}

// TestFailoverWaitsAndAborts holds a failover whose replica cannot
// acknowledge (its link paused): writes wait meanwhile, FAILOVER ABORT
// lets them go on, and a TIMEOUT gives the failover up on its own.
func TestFailoverWaitsAndAborts(t *testing.T) {
	p := testutil.Start(t, nil)
	proxy := testutil.NewProxy(t, p.Addr())
	cfg := testutil.Config(t)
	host, port, _ := strings.Cut(proxy.HostPort(), ":")
	cfg.ReplicaOf = host + " " + port
	testutil.Start(t, cfg)
	pc := testutil.Client(t, p, 2)
	ctx := testutil.Ctx(t)
	eventuallyTrue(t, "the replica online", func() bool {
		return strings.Contains(pc.Info(ctx, "replication").Val(), "state=online")
	})
	proxy.Pause()
	pc.Set(ctx, "unacknowledged", "1", 0)
	if err := pc.Do(ctx, "FAILOVER").Err(); err != nil {
		t.Fatal(err)
	}
	if s := infoText(t, pc, "master_failover_state"); s != "waiting-for-sync" {
		t.Fatalf("master_failover_state = %q", s)
	}
	if err := pc.Do(ctx, "FAILOVER").Err(); err == nil || err.Error() != "ERR FAILOVER already in progress." {
		t.Errorf("a second FAILOVER: %v", err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- testutil.Client(t, p, 2).Set(ctx, "held", "1", 0).Err() }()
	select {
	case err := <-wrote:
		t.Fatalf("a write went through during the failover: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := pc.Do(ctx, "FAILOVER", "ABORT").Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Errorf("the held write after ABORT: %v", err)
	}
	if err := pc.Do(ctx, "FAILOVER", "TIMEOUT", 100).Err(); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "the timeout to give the failover up", func() bool {
		return infoText(t, pc, "master_failover_state") == "no-failover"
	})
	if role := roleOf(t, pc); role != "master" {
		t.Errorf("ROLE after the timeout: %s", role)
	}
	proxy.Resume()
}

// TestFailoverErrorsAsRedis compares FAILOVER's refusals with redis-server
// 7.0.15's, on a primary without replicas, one with a replica and a
// replica.
func TestFailoverErrorsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	run := func(t *testing.T, primary, replica *redis.Client) []string {
		var out []string
		for _, cmd := range [][]any{
			{"FAILOVER"}, {"FAILOVER", "ABORT"}, {"FAILOVER", "TIMEOUT", 0}, {"FAILOVER", "TIMEOUT", "x"},
			{"FAILOVER", "TO", "h"}, {"FAILOVER", "TO", "h", "x"}, {"FAILOVER", "FORCE"}, {"FAILOVER", "BOGUS"},
			{"FAILOVER", "ABORT", "FORCE"}, {"FAILOVER", "FORCE", "FORCE"}, {"FAILOVER", "TIMEOUT", 5, "TIMEOUT", 6},
		} {
			out = append(out, fmt.Sprintf("alone %v: %v", cmd, primary.Do(ctx, cmd...).Err()))
		}
		_, port, _ := strings.Cut(primary.Options().Addr, ":")
		if err := replica.Do(ctx, "REPLICAOF", "127.0.0.1", port).Err(); err != nil {
			t.Fatal(err)
		}
		eventuallyTrue(t, "the replica online", func() bool {
			return strings.Contains(primary.Info(ctx, "replication").Val(), "state=online")
		})
		for _, cmd := range [][]any{
			{"FAILOVER", "TO", "10.9.8.7", 1}, {"FAILOVER", "FORCE", "TIMEOUT", 100}, {"FAILOVER", "FORCE", "TO", "10.9.8.7", 1},
		} {
			out = append(out, fmt.Sprintf("with a replica %v: %v", cmd, primary.Do(ctx, cmd...).Err()))
		}
		out = append(out, fmt.Sprintf("on the replica: %v", replica.Do(ctx, "FAILOVER").Err()))
		return out
	}
	r1, r2 := testutil.StartRedisServer(t, t.TempDir()), testutil.StartRedisServer(t, t.TempDir())
	want := run(t, r1.Client(t, 0), r2.Client(t, 0))
	got := run(t, testutil.Client(t, testutil.Start(t, nil), 2), testutil.Client(t, testutil.Start(t, nil), 2))
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", g, w)
	}
}
