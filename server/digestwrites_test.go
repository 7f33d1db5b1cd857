package server_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestDigestBesideWrites: DEBUG DIGEST reads every value whole while
// lists and hashes change under it, on a primary (its writers) and on a
// replica (its primary's stream), as Redis's single thread reads them;
// it used to answer "corrupt record" on a replica that applied a batch
// between a list's index and its nodes (replication.tcl's BRPOPLPUSH
// tests compare digests while the primary writes).
func TestDigestBesideWrites(t *testing.T) {
	ctx := testutil.Ctx(t)
	p, pc, r := onlinePair(t)
	rc := testutil.Client(t, r, 2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: p.Addr()})
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				list := "l" + strconv.Itoa(w)
				c.LPush(ctx, list, i, i+1, i+2)
				c.RPopLPush(ctx, list, "other")
				c.HSet(ctx, "h"+strconv.Itoa(w), "f"+strconv.Itoa(i%50), i)
				if i%20 == 0 {
					c.Del(ctx, list, "other")
				}
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		for i, c := range []*redis.Client{pc, rc} {
			if err := c.Do(ctx, "DEBUG", "DIGEST").Err(); err != nil {
				close(stop)
				wg.Wait()
				t.Fatalf("DEBUG DIGEST on the %s after %d: %v", []string{"primary", "replica"}[i], n, err)
			}
		}
	}
	close(stop)
	wg.Wait()
}
