package server_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestReplicationConcurrentWriters has 32 clients pipelining writes at
// once to a primary with a replica attached, where the primary's commits
// apply concurrently: some keys are each client's own, some shared by all
// (INCR, HINCRBY, LPUSH, SET), and one client flushes a database now and
// then. Each client's WAIT 1 covers its writes, INFO's master_repl_offset
// never goes back, and the replica ends at the primary's offset with the
// same DEBUG DIGEST and the same values.
func TestReplicationConcurrentWriters(t *testing.T) {
	p := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	r := startReplica(t, p)
	pc, rc := testutil.Client(t, p, 2), testutil.Client(t, r, 2)
	eventuallyTrue(t, "the replica to attach", func() bool {
		n, err := pc.Do(ctx, "WAIT", 1, 100).Int()
		return err == nil && n == 1
	})

	const clients, rounds = 32, 40
	errs := make(chan error, clients+1)
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	wc := testutil.Client(t, p, 2)
	go func() {
		// master_repl_offset, read while the writes go on, only grows.
		defer watch.Done()
		c := wc
		last := int64(-1)
		for {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			off, err := infoInt(ctx, c, "replication", "master_repl_offset")
			if err != nil {
				errs <- err
				return
			}
			if off < last {
				errs <- fmt.Errorf("master_repl_offset went from %d back to %d", last, off)
				return
			}
			last = off
		}
	}()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		c := testutil.Client(t, p, 2)
		go func() {
			defer wg.Done()
			for i := range rounds {
				pipe := c.Pipeline()
				for j := range 8 {
					pipe.Set(ctx, fmt.Sprintf("own:%d:%d", w, j), i, 0)
				}
				pipe.Incr(ctx, "counter")
				pipe.HIncrBy(ctx, "hash", strconv.Itoa(i%7), 1)
				pipe.LPush(ctx, "list", w)
				pipe.Set(ctx, "last", w, 0)
				if w == 0 && i%10 == 9 {
					pipe.Do(ctx, "SELECT", 1)
					pipe.Do(ctx, "FLUSHDB")
					pipe.Do(ctx, "SELECT", 0)
				} else if i%4 == 0 {
					pipe.Do(ctx, "SELECT", 1)
					pipe.Set(ctx, fmt.Sprintf("db1:%d", w), i, 0)
					pipe.Do(ctx, "SELECT", 0)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					errs <- err
					return
				}
				if n, err := c.Do(ctx, "WAIT", 1, 0).Int(); err != nil || n != 1 {
					errs <- fmt.Errorf("WAIT 1 0 = %d, %v", n, err)
					return
				}
			}
			errs <- nil
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	for range clients + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := pc.Get(ctx, "counter").Val(); got != strconv.Itoa(clients*rounds) {
		t.Fatalf("counter = %s, want %d", got, clients*rounds)
	}
	off, err := infoInt(ctx, pc, "replication", "master_repl_offset")
	if err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "the replica to reach the primary's offset", func() bool {
		got, err := infoInt(ctx, rc, "replication", "master_repl_offset")
		return err == nil && got == off
	})
	for _, db := range []int{0, 1} {
		pd, rd := dbClient(t, p.Addr(), db), dbClient(t, r.Addr(), db)
		want, err := pd.Do(ctx, "DEBUG", "DIGEST").Text()
		if err != nil {
			t.Fatal(err)
		}
		if got := rd.Do(ctx, "DEBUG", "DIGEST").Val(); got != want {
			t.Fatalf("db%d: DEBUG DIGEST on the replica %v, on the primary %s", db, got, want)
		}
	}
	for _, k := range []string{"counter", "last"} {
		if got, want := rc.Get(ctx, k).Val(), pc.Get(ctx, k).Val(); got != want {
			t.Fatalf("%s on the replica %q, on the primary %q", k, got, want)
		}
	}
	if got, want := rc.LRange(ctx, "list", 0, -1).Val(), pc.LRange(ctx, "list", 0, -1).Val(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("list on the replica %v, on the primary %v", got, want)
	}
}

// infoInt reads an integer field of an INFO section.
func infoInt(ctx context.Context, c *redis.Client, section, field string) (int64, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("INFO %s has no %s", section, field)
}

// dbClient is a client of database db of the server at addr.
func dbClient(t *testing.T, addr string, db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}
