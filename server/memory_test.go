package server_test

import (
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shoaldb/shoal/internal/testutil"
)

// heapInUse collects and returns the bytes of live heap objects, less
// Pebble's memtables and block cache where a race build put them in Go's
// heap (INFO's figures from probe): those are held to their budgets, not
// copies of values.
func heapInUse(t *testing.T, probe *redis.Client) uint64 {
	t.Helper()
	runtime.GC()
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	n := s[0].Value.Uint64()
	if pebbleOnGoHeap() {
		for _, f := range []string{"shoal_pebble_block_cache_bytes", "shoal_pebble_memtable_bytes"} {
			n -= uint64(infoField(t, probe, f))
		}
	}
	return n
}

// TestLargeStringMemoryIsReturned builds a 24 MB string with APPEND,
// SETRANGE past its end and SETBIT, reads it whole with GET and by ranges,
// makes a 32 MB one with a single SETRANGE, deletes both, and checks that
// the server keeps no copy of them: the heap in use comes back within
// 16 MB of what it was before. The poll ends with the test's deadline.
//
// Each write here is a batch smaller than half a memtable: Pebble keeps a
// larger batch (one SET of the whole value) until a later flush, which
// README lists among the differences.
func TestLargeStringMemoryIsReturned(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	defer c.Close()
	probe := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer probe.Close()
	c.Set(ctx, "warm", "x", 0)
	base := heapInUse(t, probe)
	const size, piece = 24 << 20, 1 << 20
	want := strings.Repeat("0123456789abcdef", piece/16)
	for i := 0; i < size/piece; i++ {
		if err := c.Append(ctx, "big", want).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c.SetRange(ctx, "big", size+1000, "x")
	c.SetBit(ctx, "big", 8*(size+5000), 1)
	if n := c.StrLen(ctx, "big").Val(); n != size+5001 {
		t.Fatalf("STRLEN = %d", n)
	}
	if got := c.GetRange(ctx, "big", size-piece, size-1).Val(); got != want {
		t.Fatalf("GETRANGE of the last piece: %d bytes", len(got))
	}
	if got := c.Get(ctx, "big").Val(); len(got) != size+5001 || got[size-piece:size] != want {
		t.Fatalf("GET: %d bytes", len(got))
	}
	c.SetRange(ctx, "sparse", 32<<20, "y")
	if n := c.Del(ctx, "big", "sparse").Val(); n != 2 {
		t.Fatalf("DEL = %d", n)
	}
	// NB: the connection's read buffer grew to hold a 1 MB request; it
	// goes with the connection.
	c.Close()
	const slack = 16 << 20
	for {
		now := heapInUse(t, probe)
		if now < base+slack {
			t.Logf("heap in use: %d MB before, %d MB after the DEL (Pebble in Go's heap: %v)", base>>20, now>>20, pebbleOnGoHeap())
			return
		}
		if d, ok := t.Deadline(); ok && time.Until(d) < 10*time.Second {
			t.Fatalf("heap in use stays at %d MB, %d MB before the large values", now>>20, base>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
