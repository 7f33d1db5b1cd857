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

// TestReplicaScriptsAndExecReadOneState writes two keys together on a
// primary, many times, while clients of its replica read both in one
// script and in one MULTI/EXEC: as on Redis, whose replica applies its
// stream on the thread that runs them, neither ever sees one key of one
// write and the other of the next.
func TestReplicaScriptsAndExecReadOneState(t *testing.T) {
	p := testutil.Start(t, nil)
	r := startReplica(t, p)
	w := testutil.Client(t, p, 2)
	ctx := testutil.Ctx(t)
	if err := w.MSet(ctx, "{k}a", 0, "{k}b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rc := testutil.Client(t, r, 3)
	eventuallyTrue(t, "the replica has the keys", func() bool { return rc.Exists(ctx, "{k}a", "{k}b").Val() == 2 })
	const writes = 3000
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 1; i <= writes; i++ {
			if err := w.MSet(ctx, "{k}a", i, "{k}b", i).Err(); err != nil {
				done <- err
				return
			}
		}
	}()
	// The script spins between its two reads to leave the stream room
	// to land between them.
	const script = "local a = redis.call('GET', KEYS[1]) for i = 1, 20000 do end return {a, redis.call('GET', KEYS[2])}"
	reads := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		v, err := rc.EvalRO(ctx, script, []string{"{k}a", "{k}b"}).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		if v[0] != v[1] {
			t.Fatalf("a script on the replica read a = %s and b = %s after %d reads", v[0], v[1], reads)
		}
		var a, b *redis.StringCmd
		if _, err := rc.TxPipelined(ctx, func(pp redis.Pipeliner) error {
			a = pp.Get(ctx, "{k}a")
			pp.EvalRO(ctx, "for i = 1, 20000 do end return 1", nil)
			b = pp.Get(ctx, "{k}b")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if a.Val() != b.Val() {
			t.Fatalf("a transaction on the replica read a = %s and b = %s after %d reads", a.Val(), b.Val(), reads)
		}
		reads++
	}
	t.Logf("%d reads of each kind during %d writes", reads, writes)
}
