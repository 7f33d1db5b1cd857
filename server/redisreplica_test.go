package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// shoalWrites runs n rounds of writes of every type against the Shoal
// node at addr, in databases 0 and 5, including the commands a logical
// stream must replace by their effects: relative expiries, INCRBYFLOAT,
// HINCRBYFLOAT, SPOP, a blocking pop, RESTORE, and MULTI/EXEC.
func shoalWrites(t *testing.T, addr string, worker, n int) {
	ctx := testutil.Ctx(t)
	for _, db := range []int{0, 5} {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
		defer c.Close()
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("w%d:%d", worker, i%40)
			p := c.Pipeline()
			p.Set(ctx, k+":s", i, 0)
			p.Set(ctx, k+":ex", i, time.Hour)
			p.SetEx(ctx, k+":setex", i, 2*time.Hour)
			p.Incr(ctx, k+":ctr")
			p.IncrByFloat(ctx, k+":f", 0.1)
			p.HSet(ctx, k+":h", fmt.Sprint("f", i%7), i)
			p.HIncrByFloat(ctx, k+":h", "float", 1.25)
			p.Expire(ctx, k+":h", 3*time.Hour)
			p.RPush(ctx, k+":l", i, i+1)
			p.BLPop(ctx, time.Second, k+":l")
			p.SAdd(ctx, k+":set", i%11, i%13)
			p.SPop(ctx, k+":set")
			p.ZIncrBy(ctx, k+":z", 1.5, fmt.Sprint("m", i%5))
			p.ZPopMin(ctx, k+":z")
			if i%10 == 0 {
				p.Del(ctx, k+":s")
				p.Persist(ctx, k+":ex")
			}
			if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
				t.Error(err)
				return
			}
			if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, k+":tx", i, 0)
				p.HIncrBy(ctx, k+":txh", "n", 1)
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
			if err := c.Eval(ctx, luaWrites, []string{k + ":lua", k + ":luah", k + ":luaset"}, i).Err(); err != nil {
				t.Error(err)
				return
			}
			streamWrites(t, c, k+":x", i)
		}
		if d, err := c.Dump(ctx, fmt.Sprintf("w%d:0:h", worker)).Result(); err == nil {
			c.RestoreReplace(ctx, fmt.Sprintf("w%d:restored", worker), time.Hour, d)
		}
	}
}

// TestRedisReplicaOfShoal has a redis-server 7.0 replicate Shoal while
// Shoal takes writes of every kind, and checks that it ends up with the
// same contents, expiry times included: the way out of Shoal.
func TestRedisReplicaOfShoal(t *testing.T) {
	s := testutil.Start(t, nil)
	sc := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	fillEveryEncoding(t, s.Addr())
	r := testutil.StartRedisServer(t, t.TempDir())
	rc := r.Client(t, 0)

	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shoalWrites(t, s.Addr(), w, 150)
		}()
	}
	if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.Split(s.Addr(), ":")[1]).Err(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// The stream is in order: once the last write is on the replica, so is
	// everything before it.
	sc.Set(ctx, "barrier", "done", 0)
	eventuallyTrue(t, "the redis-server replica reads the last write", func() bool {
		return rc.Get(ctx, "barrier").Val() == "done"
	})
	sameDatasets(t, "redis-server replicating Shoal", datasets(t, s.Addr()), datasets(t, r.Addr()))
	checkLibrary(t, r.Addr())
	if n := infoField(t, sc, "connected_slaves"); n != 1 {
		t.Errorf("connected_slaves = %d", n)
	}
}

// TestRedisReplicaOfShoalContinues drops a redis-server replica's link to
// Shoal while Shoal takes writes: the replica reconnects and continues
// from the stream's backlog (a partial resync, no second RDB), ending with
// the same contents. While it follows, ROLE and INFO list it and WAIT
// counts it once it acknowledged a write.
func TestRedisReplicaOfShoalContinues(t *testing.T) {
	s := testutil.Start(t, nil)
	sc := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	r := testutil.StartRedisServer(t, t.TempDir())
	rc := r.Client(t, 0)
	fillEveryEncoding(t, s.Addr())
	shoalWrites(t, s.Addr(), 0, 20)
	if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.Split(s.Addr(), ":")[1]).Err(); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "the redis-server replica is online", func() bool {
		return strings.Contains(sc.Info(ctx, "replication").Val(), fmt.Sprintf("port=%d,state=online", r.Port))
	})

	conn := sc.Conn()
	defer conn.Close()
	conn.Set(ctx, "waited", "1", 0)
	if n, err := conn.Wait(ctx, 1, time.Minute).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v", n, err)
	}
	if v := rc.Get(ctx, "waited").Val(); v != "1" {
		t.Errorf("after WAIT the replica holds %q", v)
	}
	role, err := sc.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) != 3 {
		t.Fatalf("ROLE = %v, %v", role, err)
	}
	reps, _ := role[2].([]any)
	if len(reps) != 1 || fmt.Sprint(reps[0].([]any)[1]) != fmt.Sprint(r.Port) {
		t.Errorf("ROLE lists %v, want the replica on port %d", reps, r.Port)
	}

	// The replica drops its link; the writes meanwhile reach it through
	// the backlog.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		shoalWrites(t, s.Addr(), 1, 40)
	}()
	if err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Err(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	sc.Set(ctx, "barrier", "done", 0)
	eventuallyTrue(t, "the redis-server replica reads the last write", func() bool {
		return rc.Get(ctx, "barrier").Val() == "done"
	})
	sameDatasets(t, "redis-server replicating Shoal across a dropped link", datasets(t, s.Addr()), datasets(t, r.Addr()))
	if full, partial := infoField(t, sc, "sync_full"), infoField(t, sc, "sync_partial_ok"); full != 1 || partial != 1 {
		t.Errorf("sync_full = %d, sync_partial_ok = %d, want 1 and 1", full, partial)
	}
}
