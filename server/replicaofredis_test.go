package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// redisWrites runs n rounds of writes of every type against the
// redis-server at addr, in databases 0 and 5: strings, hashes, lists,
// sets, sorted sets, keys that expire and MULTI/EXEC blocks.
func redisWrites(t *testing.T, addr string, worker, n int) {
	ctx := testutil.Ctx(t)
	for _, db := range []int{0, 5} {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
		defer c.Close()
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("w%d:%d", worker, i%50)
			p := c.Pipeline()
			p.Set(ctx, k+":s", i, 0)
			p.Incr(ctx, k+":ctr")
			p.HSet(ctx, k+":h", fmt.Sprint("f", i%7), i)
			p.RPush(ctx, k+":l", i)
			if i%3 == 0 {
				p.LPop(ctx, k+":l")
			}
			p.SAdd(ctx, k+":set", i%11)
			p.SRem(ctx, k+":set", (i+5)%11)
			p.ZIncrBy(ctx, k+":z", 1.5, fmt.Sprint("m", i%5))
			p.Set(ctx, k+":ex", i, time.Hour)
			p.Expire(ctx, k+":h", 2*time.Hour)
			if i%10 == 0 {
				p.Del(ctx, k+":s")
			}
			if _, err := p.Exec(ctx); err != nil {
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
			// A script's effects, as Redis 7.0 replicates them.
			if err := c.Eval(ctx, luaWrites, []string{k + ":lua", k + ":luah", k + ":luaset"}, i).Err(); err != nil {
				t.Error(err)
				return
			}
			streamWrites(t, c, k+":x", i)
		}
	}
}

// streamWrites runs round i of the stream writes a replica must see as
// their primary did them: IDs made from the clock, approximate trims,
// group reads (NOACK too), claims, acknowledgements and deletions.
func streamWrites(t *testing.T, c *redis.Client, key string, i int) {
	ctx := testutil.Ctx(t)
	do := func(args ...any) any {
		v, err := c.Do(ctx, args...).Result()
		if err != nil && err != redis.Nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			t.Errorf("%v: %v", args, err)
		}
		return v
	}
	firstID := func() string {
		if r, ok := do("XRANGE", key, "-", "+", "COUNT", 1).([]any); ok && len(r) == 1 {
			return r[0].([]any)[0].(string)
		}
		return "0"
	}
	do("XADD", key, "MAXLEN", "~", 40, "*", "n", i, "v", strings.Repeat("x", i%70))
	do("XGROUP", "CREATE", key, "g", "0")
	do("XREADGROUP", "GROUP", "g", fmt.Sprint("c", i%3), "COUNT", 2, "STREAMS", key, ">")
	if i == 0 {
		// Two whole nodes go: Redis replicates the trim as MAXLEN = 50
		// LIMIT 200, which a replica obeys without the limit.
		for j := 0; j < 250; j++ {
			do("XADD", key+":big", "*", "n", j)
		}
		do("XTRIM", key+":big", "MAXLEN", "~", 10, "LIMIT", 200)
	}
	switch i % 6 {
	case 1:
		do("XACK", key, "g", firstID())
	case 2:
		do("XCLAIM", key, "g", "c9", 0, firstID())
	case 3:
		do("XAUTOCLAIM", key, "g", "c8", 0, "0", "COUNT", 2)
	case 4:
		do("XDEL", key, firstID())
	case 5:
		do("XREADGROUP", "GROUP", "g", "quiet", "NOACK", "STREAMS", key, ">")
	}
	if i%10 == 9 {
		do("XTRIM", key, "MINID", "~", firstID())
		do("XADD", key, "MAXLEN", "=", 25, "*", "n", i)
	}
}

// luaWrites is a script with writes whose effects differ from the
// commands: a relative expiry and a random pop.
const luaWrites = `redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 3600)
redis.call('HSET', KEYS[2], 'n', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1], ARGV[1] + 1)
redis.call('SPOP', KEYS[3])
return 1`

// waitReplicas writes through c, then runs WAIT on the primary until it
// counts one replica that applied the write (and all before it).
func waitReplicas(t *testing.T, c *redis.Client) {
	t.Helper()
	// NB: one connection: WAIT waits for that connection's writes.
	cn := c.Conn()
	defer cn.Close()
	for i := 0; ; i++ {
		if err := cn.Incr(testutil.Ctx(t), "barrier").Err(); err != nil {
			t.Fatal(err)
		}
		n, err := cn.Wait(testutil.Ctx(t), 1, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if i == 10 {
			t.Fatalf("WAIT 1 on the redis-server primary counts %d replicas", n)
		}
	}
}

// TestReplicaOfRedis makes Shoal a replica of a live redis-server 7.0
// under writes, with the RDB in each framing Redis sends (diskless and
// from disk): the contents end up equal, WAIT on the primary counts
// Shoal, a dropped link and a restart continue with a partial resync, and
// REPLICAOF NO ONE promotes it with the data it has.
func TestReplicaOfRedis(t *testing.T) {
	for _, framing := range []struct {
		name string
		args []string
	}{
		{"diskless", []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}},
		{"disk", []string{"--repl-diskless-sync", "no"}},
	} {
		t.Run(framing.name, func(t *testing.T) {
			r := testutil.StartRedisServer(t, t.TempDir(), framing.args...)
			rc := r.Client(t, 0)
			ctx := testutil.Ctx(t)
			fillEveryEncoding(t, r.Addr())

			cfg := testutil.Config(t)
			s := testutil.Start(t, cfg)
			sc := testutil.Client(t, s, 2)
			var wg sync.WaitGroup
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					redisWrites(t, r.Addr(), w, 200)
				}()
			}
			if err := sc.Do(ctx, "REPLICAOF", "127.0.0.1", r.Port).Err(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			waitReplicas(t, rc)
			sameDatasets(t, "Shoal replicating redis-server", datasets(t, r.Addr()), datasets(t, s.Addr()))
			checkLibrary(t, s.Addr())
			// NB: a deadline per step: the load and the comparison above
			// took over 30 s of a -race run beside another test binary.
			ctx = testutil.Ctx(t)
			if err := sc.Set(ctx, "x", 1, 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
				t.Errorf("a write to the replica: %v", err)
			}

			// A dropped link continues where it stopped, by partial resync.
			before := infoField(t, rc, "sync_partial_ok")
			if err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
				t.Fatal(err)
			}
			redisWrites(t, r.Addr(), 4, 20)
			waitReplicas(t, rc)
			if after := infoField(t, rc, "sync_partial_ok"); after != before+1 {
				t.Errorf("sync_partial_ok went from %d to %d across a dropped link", before, after)
			}

			// So does a restart.
			ctx = testutil.Ctx(t)
			s.Close()
			redisWrites(t, r.Addr(), 3, 20)
			before = infoField(t, rc, "sync_partial_ok")
			cfg.ReplicaOf = fmt.Sprintf("127.0.0.1 %d", r.Port)
			s = testutil.Start(t, cfg)
			waitReplicas(t, rc)
			if after := infoField(t, rc, "sync_partial_ok"); after != before+1 {
				t.Errorf("sync_partial_ok went from %d to %d across a restart of Shoal", before, after)
			}
			sameDatasets(t, "after a restart of Shoal", datasets(t, r.Addr()), datasets(t, s.Addr()))

			// The cut-over, with a deadline of its own: each phase may take
			// long on a busy machine.
			ctx = testutil.Ctx(t)
			sc = testutil.Client(t, s, 2)
			if err := sc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
				t.Fatal(err)
			}
			if err := sc.Set(ctx, "x", 1, 0).Err(); err != nil {
				t.Errorf("a write after REPLICAOF NO ONE: %v", err)
			}
			sc.Del(ctx, "x")
			sameDatasets(t, "after REPLICAOF NO ONE", datasets(t, r.Addr()), datasets(t, s.Addr()))
		})
	}
}

// infoField reads an integer field of INFO.
func infoField(t *testing.T, c *redis.Client, name string) int64 {
	t.Helper()
	for _, line := range strings.Split(c.Info(testutil.Ctx(t), "everything").Val(), "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatalf("INFO has no %s", name)
	return 0
}

// TestRedisFailoverToShoal runs FAILOVER on a redis-server 7.0 primary
// that Shoal replicates: Redis pauses its writes until Shoal caught up,
// Shoal takes the primary role at the failover's PSYNC, and the old
// primary follows it, so writes go on against Shoal and reach Redis.
func TestRedisFailoverToShoal(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir())
	rc := r.Client(t, 0)
	ctx := testutil.Ctx(t)
	fillEveryEncoding(t, r.Addr())
	s := testutil.Start(t, nil)
	sc := testutil.Client(t, s, 2)
	if err := sc.Do(ctx, "REPLICAOF", "127.0.0.1", r.Port).Err(); err != nil {
		t.Fatal(err)
	}
	redisWrites(t, r.Addr(), 0, 100)
	waitReplicas(t, rc)
	if err := sc.Do(ctx, "PSYNC", "0123456789012345678901234567890123456789", 1, "FAILOVER").Err(); err == nil ||
		err.Error() != "ERR PSYNC FAILOVER replid must match my replid." {
		t.Errorf("PSYNC FAILOVER of another stream: %v", err)
	}
	_, port, _ := strings.Cut(s.Addr(), ":")
	if err := rc.Do(ctx, "FAILOVER", "TO", "127.0.0.1", port, "TIMEOUT", 20000).Err(); err != nil {
		t.Fatal(err)
	}
	failedOver(t, rc, sc)
	if err := sc.Do(ctx, "PSYNC", "0123456789012345678901234567890123456789", 1, "FAILOVER").Err(); err == nil ||
		err.Error() != "ERR PSYNC FAILOVER can't be sent to a master." {
		t.Errorf("PSYNC FAILOVER to a primary: %v", err)
	}
}

// infoText reads a field of INFO as text.
func infoText(t *testing.T, c interface {
	Info(context.Context, ...string) *redis.StringCmd
}, name string) string {
	t.Helper()
	for _, line := range strings.Split(c.Info(testutil.Ctx(t), "everything").Val(), "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}
