package server_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// pipelinedWrites runs n pipelines of writes against the redis-server at
// addr, in database db, on keys other workers of the same database write
// too, so the stream's order decides the result: strings, counters,
// lists, hashes, sets and sorted sets, commands on two keys, expiries,
// MULTI/EXEC blocks and scripts. after is called after each pipeline.
func pipelinedWrites(t *testing.T, addr string, worker, db, n int, after func(i int)) {
	ctx := testutil.Ctx(t)
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
	defer c.Close()
	for i := 0; i < n; i++ {
		p := c.Pipeline()
		for j := 0; j < 8; j++ {
			k := fmt.Sprintf("k%d", (i*8+j+worker*7)%40)
			k2 := fmt.Sprintf("k%d", (i*8+j+worker*7+13)%40)
			v := fmt.Sprintf("w%d:%d:%d", worker, i, j)
			p.Set(ctx, "s:"+k, v, 0)
			p.Incr(ctx, "c:"+k)
			p.Append(ctx, "a:"+k, v[:2])
			p.LPush(ctx, "l:"+k, v)
			p.HSet(ctx, "h:"+k, fmt.Sprint("f", j), v)
			p.HIncrBy(ctx, "h:"+k, "n", int64(worker+1))
			p.SAdd(ctx, "set:"+k, v[:3], j)
			p.ZAdd(ctx, "z:"+k, redis.Z{Score: float64(i), Member: v})
			p.ZIncrBy(ctx, "z:"+k, 1, fmt.Sprint("m", j))
			switch (i + j) % 7 {
			case 0:
				p.RPop(ctx, "l:"+k)
			case 1:
				p.LMove(ctx, "l:"+k, "l:"+k2, "LEFT", "RIGHT")
			case 2:
				p.SMove(ctx, "set:"+k, "set:"+k2, v[:3])
			case 3:
				p.Expire(ctx, "s:"+k, time.Hour)
			case 4:
				p.Del(ctx, "s:"+k, "a:"+k2)
			case 5:
				p.LTrim(ctx, "l:"+k, 0, 20)
			case 6:
				p.ZRemRangeByRank(ctx, "z:"+k, 0, 0)
			}
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Error(err)
			return
		}
		k := fmt.Sprintf("k%d", (i+worker)%40)
		if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "c:"+k)
			p.LPush(ctx, "l:"+k, i)
			p.HSet(ctx, "h:tx", k, i)
			return nil
		}); err != nil {
			t.Error(err)
			return
		}
		if i%10 == 0 {
			if err := c.Eval(ctx, luaWrites, []string{"lua:" + k, "luah:" + k, "luaset:" + k}, i).Err(); err != nil {
				t.Error(err)
				return
			}
		}
		after(i)
	}
}

// replicaOfRedis starts a redis-server (a 64 MB backlog, DEBUG allowed)
// and a Shoal replica of it, and waits until the primary counts it.
func replicaOfRedis(t *testing.T) (r *testutil.RedisServer, rc *redis.Client, s *server.Server, sc *redis.Client) {
	t.Helper()
	r = testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "local",
		"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--repl-backlog-size", "64mb")
	rc = r.Client(t, 0)
	s = testutil.Start(t, nil)
	sc = testutil.Client(t, s, 2)
	if err := sc.Do(testutil.Ctx(t), "REPLICAOF", "127.0.0.1", r.Port).Err(); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, rc)
	// NB: a WAIT before the first write counts the replica as soon as it
	// acknowledges the RDB's offset, while it is still loading the RDB.
	waitFor(t, func() bool {
		return strings.Contains(sc.Info(testutil.Ctx(t), "replication").Val(), "master_link_status:up")
	})
	return r, rc, s, sc
}

// TestReplicaOfRedisPipelined makes Shoal a replica of a redis-server
// taking pipelined writes on several connections and databases, with
// SWAPDB and FLUSHDB among them, and drops the link twice while they go
// on: each drop continues by partial resync, and in the end Shoal's DEBUG
// DIGEST is Redis's and so are the contents of every database written.
func TestReplicaOfRedisPipelined(t *testing.T) {
	r, rc, s, sc := replicaOfRedis(t)
	ctx := testutil.Ctx(t)

	const rounds = 240
	dbs := rdbDBs
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pipelinedWrites(t, r.Addr(), w, dbs[w%len(dbs)], rounds, func(i int) {
				switch {
				case w != 0:
				case i == rounds/3 || i == 2*rounds/3:
					dropReplicaLink(t, rc)
				case i%40 == 20:
					if err := rc.Do(ctx, "SWAPDB", dbs[1], dbs[2]).Err(); err != nil {
						t.Error(err)
					}
				case i == rounds-10:
					c := r.Client(t, dbs[2])
					if err := c.FlushDB(ctx).Err(); err != nil {
						t.Error(err)
					}
				}
			})
		}()
	}
	wg.Wait()
	waitReplicas(t, rc)
	if n := infoField(t, rc, "sync_full"); n != 1 {
		t.Errorf("sync_full = %d, want the first sync only", n)
	}
	digest := func(c *redis.Client) string {
		d, err := c.Do(testutil.Ctx(t), "DEBUG", "DIGEST").Text()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if dr, ds := digest(rc), digest(sc); dr != ds {
		t.Errorf("DEBUG DIGEST: redis-server %s, Shoal %s", dr, ds)
	}
	for _, db := range dbs[:2] {
		c := r.Client(t, db)
		want := testutil.Dataset(t, c)
		if len(want) == 0 {
			t.Fatalf("database %d of redis-server is empty", db)
		}
		sdb := redis.NewClient(&redis.Options{Addr: s.Addr(), DB: db, Protocol: 2})
		testutil.SameDataset(t, fmt.Sprintf("database %d", db), want, testutil.Dataset(t, sdb))
		sdb.Close()
	}
}

// dropReplicaLink kills the primary's replica links and waits until the
// replica continued by partial resync.
func dropReplicaLink(t *testing.T, rc *redis.Client) {
	t.Helper()
	before := infoField(t, rc, "sync_partial_ok")
	if err := rc.Do(testutil.Ctx(t), "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
		t.Error(err)
		return
	}
	for deadline := time.Now().Add(30 * time.Second); infoField(t, rc, "sync_partial_ok") == before; {
		if time.Now().After(deadline) {
			t.Error("no partial resync within 30 s of a dropped link")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(rc.Info(testutil.Ctx(t), "replication").Val(), "connected_slaves:1") {
		t.Error("the replica did not come back")
	}
}

// TestReplicaOfRedisCommitFails refuses the commits of a Shoal replica of
// a redis-server under pipelined writes (through the store's commit gate),
// so that a batch of the stream fails to commit while the next commands
// apply: nothing applied after it commits, the link is dropped, and the
// replica continues by partial resync from the last mark it committed,
// again and again while commits are refused and once they pass. In the
// end Shoal's DEBUG DIGEST is Redis's.
func TestReplicaOfRedisCommitFails(t *testing.T) {
	r, rc, s, sc := replicaOfRedis(t)
	ctx := testutil.Ctx(t)
	var refused atomic.Int64
	armed := new(atomic.Bool)
	s.Store().SetCommitGate(func() error {
		if armed.Load() {
			refused.Add(1)
			return errors.New("refused by the test")
		}
		return nil
	})

	const rounds = 120
	third := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pipelinedWrites(t, r.Addr(), w, 0, rounds, func(i int) {
				if w == 0 && i == rounds/3 {
					close(third)
				}
			})
		}()
	}
	// Held, while writes go on, until a refused commit dropped the link
	// and the replica came back.
	<-third
	before := infoField(t, rc, "sync_partial_ok")
	armed.Store(true)
	waitFor(t, func() bool {
		if err := rc.Incr(ctx, "during").Err(); err != nil {
			t.Fatal(err)
		}
		return refused.Load() > 0 && infoField(t, rc, "sync_partial_ok") > before
	})
	armed.Store(false)
	wg.Wait()
	waitReplicas(t, rc)
	if n := infoField(t, rc, "sync_full"); n != 1 {
		t.Errorf("sync_full = %d, want the first sync only", n)
	}
	dr, err := rc.Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := sc.Do(ctx, "DEBUG", "DIGEST").Text(); err != nil || ds != dr {
		t.Errorf("DEBUG DIGEST: redis-server %s, Shoal %s (%v)", dr, ds, err)
	}
}
