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
	"github.com/shoaldb/shoal/storage"
)

// TestReplicaReadsWholeValues: a replica's reads of values of several
// records (a list's index and nodes, a hash's fields) each see one state
// while the primary's batches apply, as on Redis's replica, which applies
// on the thread that runs commands. Before, an LRANGE that read a list's
// length before a batch and its nodes after answered "corrupt record"
// (Redis's scripting.tcl, "Replication of script multiple pushes to list
// with BLPOP", met it about once in two runs). A read of one key holds
// the stream only once it meets such a value, a string of several chunks
// among them; MGET of strings of one record each holds it throughout.
func TestReplicaReadsWholeValues(t *testing.T) {
	ctx := testutil.Ctx(t)
	_, pc, r := onlinePair(t)
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, read := range []func() error{
		func() error {
			v, err := testutil.Client(t, r, 2).LRange(rctx, "l", 0, -1).Result()
			if err == nil && len(v) != 0 && len(v) != 2 {
				err = fmt.Errorf("LRANGE l = %q", v)
			}
			return err
		},
		func() error {
			v, err := testutil.Client(t, r, 2).HGetAll(rctx, "h").Result()
			if err == nil && len(v) != 0 && len(v) != 1 {
				err = fmt.Errorf("HGETALL h = %v", v)
			}
			return err
		},
		func() error {
			// Two strings of one record each, written by one batch.
			v, err := testutil.Client(t, r, 2).MGet(rctx, "s1", "s2").Result()
			if err == nil && fmt.Sprint(v[0]) != fmt.Sprint(v[1]) {
				err = fmt.Errorf("MGET s1 s2 = %q", v)
			}
			return err
		},
		func() error {
			// A string of several chunks, rewritten whole by each batch.
			v, err := testutil.Client(t, r, 2).Get(rctx, "big").Result()
			if err == nil && strings.Trim(v, v[:1]) != "" {
				err = fmt.Errorf("GET big mixes two values: %q...", v[:16])
			}
			if err == redis.Nil {
				err = nil
			}
			return err
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rctx.Err() == nil {
				if err := read(); err != nil && rctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 2000 && len(errs) == 0; i++ {
		// One batch each: the replica holds l of two elements and h of
		// one field, or neither yet.
		n := strconv.Itoa(i)
		tx := pc.TxPipeline()
		tx.Del(ctx, "l", "h")
		tx.RPush(ctx, "l", "a"+n, "b"+n, "c"+n)
		tx.LPop(ctx, "l")
		tx.HSet(ctx, "h", "f1", n, "f2", n)
		tx.HDel(ctx, "h", "f1")
		tx.MSet(ctx, "s1", n, "s2", n)
		tx.Set(ctx, "big", strings.Repeat(string(rune('a'+i%26)), 3*storage.ChunkSize+100), 0)
		if _, err := tx.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a read on the replica: %v", err)
	default:
	}
}
