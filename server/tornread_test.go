package server_test

import (
	"bytes"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/storage"
)

// TestReplicaReadsLongStringsWhole overwrites a key on a primary with
// strings of several chunks while clients of its replica read it: the
// replica applies the primary's batches without key locks, and every
// GET and GETRANGE there still sees one whole value, never the
// metadata of one and the chunks (or the absence of chunks) of another.
func TestReplicaReadsLongStringsWhole(t *testing.T) {
	p := testutil.Start(t, nil)
	r := startReplica(t, p)
	w := testutil.Client(t, p, 2)
	rc := testutil.Client(t, r, 3)
	ctx := testutil.Ctx(t)
	const size = 3*storage.ChunkSize + 123
	values := [][]byte{bytes.Repeat([]byte("a"), size), bytes.Repeat([]byte("b"), size+storage.ChunkSize)}
	if err := w.Set(ctx, "k", values[0], 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "the replica has the key", func() bool { return rc.Exists(ctx, "k").Val() == 1 })
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := range 200 {
			if err := w.Set(ctx, "k", values[i%2], 0).Err(); err != nil {
				done <- err
				return
			}
		}
	}()
	reads := 0
	for reading := true; reading; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			reading = false
		default:
		}
		got, err := rc.Get(ctx, "k").Bytes()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
			t.Fatalf("GET on the replica read %d bytes, %d of them zeros, neither whole value", len(got), bytes.Count(got, []byte{0}))
		}
		// The last bytes, which the longer value has in a chunk the
		// shorter lacks.
		tail, err := rc.GetRange(ctx, "k", -2, -1).Result()
		if err != nil || (tail != "aa" && tail != "bb") {
			t.Fatalf("the last bytes of the value on the replica: %q, %v", tail, err)
		}
	}
	t.Logf("%d reads on the replica", reads)
}
