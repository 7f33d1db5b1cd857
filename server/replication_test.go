package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
	"github.com/shoaldb/shoal/storage"
)

func startReplica(t *testing.T, primary *server.Server) *server.Server {
	t.Helper()
	cfg := testutil.Config(t)
	host, port, _ := strings.Cut(primary.Addr(), ":")
	cfg.ReplicaOf = host + " " + port
	return testutil.Start(t, cfg)
}

// replicaPair is a primary and its replica, with a client of each and
// the primary's address.
type replicaPair struct {
	primary, replica *redis.Client
	addr             string
}

// pairsAsRedis starts a Shoal primary with a Shoal replica and a
// redis-server 7.0.15 primary with a redis-server replica, in that order;
// with shoalOfRedis, a Shoal replica of another redis-server too, last.
func pairsAsRedis(t *testing.T, shoalOfRedis bool) []replicaPair {
	t.Helper()
	sp := testutil.Start(t, nil)
	sr := startReplica(t, sp)
	rp := testutil.StartRedisServer(t, t.TempDir(), "--repl-diskless-sync-delay", "0")
	rr := testutil.StartRedisServer(t, t.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(rp.Port))
	pairs := []replicaPair{
		{testutil.Client(t, sp, 2), testutil.Client(t, sr, 2), sp.Addr()},
		{rp.Client(t, 0), rr.Client(t, 0), rp.Addr()},
	}
	if shoalOfRedis {
		rp2 := testutil.StartRedisServer(t, t.TempDir(), "--repl-diskless-sync-delay", "0")
		cfg := testutil.Config(t)
		cfg.ReplicaOf = "127.0.0.1 " + strconv.Itoa(rp2.Port)
		pairs = append(pairs, replicaPair{rp2.Client(t, 0), testutil.Client(t, testutil.Start(t, cfg), 2), rp2.Addr()})
	}
	return pairs
}

// onlinePair starts a primary and a replica of it, and returns once the
// primary counts the replica connected: the primary, a client of it and
// the replica.
func onlinePair(t *testing.T) (*server.Server, *redis.Client, *server.Server) {
	t.Helper()
	p := testutil.Start(t, nil)
	pc := testutil.Client(t, p, 2)
	r := startReplica(t, p)
	eventuallyTrue(t, "the replica online", func() bool { return infoText(t, pc, "connected_slaves") == "1" })
	return p, pc, r
}

func eventuallyTrue(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReplicationSmoke(t *testing.T) {
	p := testutil.Start(t, nil)
	pc := testutil.Client(t, p, 2)
	ctx := testutil.Ctx(t)
	for i := 0; i < 100; i++ {
		pc.Set(ctx, "before"+strconv.Itoa(i), i, 0)
	}
	r1 := startReplica(t, p)
	r2 := startReplica(t, p)
	rc1, rc2 := testutil.Client(t, r1, 2), testutil.Client(t, r2, 3)
	for i := 0; i < 100; i++ {
		pc.Set(ctx, "after"+strconv.Itoa(i), i, 0)
	}
	for _, rc := range []*redis.Client{rc1, rc2} {
		eventuallyTrue(t, "replica catches up", func() bool {
			v, err := rc.Get(ctx, "after99").Result()
			return err == nil && v == "99"
		})
		if n, _ := rc.DBSize(ctx).Result(); n != 200 {
			t.Fatalf("replica DBSIZE %d", n)
		}
		if err := rc.Set(ctx, "x", 1, 0).Err(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
			t.Fatalf("write on replica: %v", err)
		}
	}
	n, err := pc.Do(ctx, "WAIT", 2, 5000).Int()
	if err != nil || n != 2 {
		t.Fatalf("WAIT 2 = %d, %v", n, err)
	}
	info, _ := pc.Info(ctx, "replication").Result()
	if !strings.Contains(info, "connected_slaves:2") {
		t.Fatalf("INFO replication:\n%s", info)
	}
	role, err := rc1.Do(ctx, "ROLE").Slice()
	if err != nil || role[0] != "slave" || role[3] != "connected" {
		t.Fatalf("ROLE on replica = %v %v", role, err)
	}
	res, err := pc.Do(ctx, "WAITALL", 5000).Slice()
	if err != nil || fmt.Sprint(res) != "[2 2]" {
		t.Fatalf("WAITALL = %v, %v", res, err)
	}
}

// TestReplicationChunkedStrings replicates strings kept in chunks: one
// written before the replica attached (full sync), then writes to a few
// chunks of it and a new one (the stream), and a delete.
func TestReplicationChunkedStrings(t *testing.T) {
	p := testutil.Start(t, nil)
	pc := testutil.Client(t, p, 2)
	ctx := testutil.Ctx(t)
	const size = 5*storage.ChunkSize + 123
	pc.Set(ctx, "old", strings.Repeat("a", size), 0)
	pc.SetRange(ctx, "gone", 3*storage.ChunkSize, "x")
	r := startReplica(t, p)
	rc := testutil.Client(t, r, 2)
	pc.SetRange(ctx, "old", 2*storage.ChunkSize-2, "bcde")
	pc.SetBit(ctx, "old", 8*(size+storage.ChunkSize), 1)
	pc.Append(ctx, "new", strings.Repeat("z", storage.ChunkSize))
	pc.Append(ctx, "new", "!")
	pc.Del(ctx, "gone")
	want := map[string]string{}
	for _, k := range []string{"old", "new"} {
		want[k] = pc.Get(ctx, k).Val()
	}
	eventuallyTrue(t, "the replica to hold the chunked strings", func() bool {
		for k, v := range want {
			if got, _ := rc.Get(ctx, k).Result(); got != v {
				return false
			}
		}
		return rc.Exists(ctx, "gone").Val() == 0
	})
	if n := rc.StrLen(ctx, "old").Val(); n != int64(len(want["old"])) {
		t.Errorf("STRLEN on the replica = %d, want %d", n, len(want["old"]))
	}
}
