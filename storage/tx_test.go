package storage

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t *testing.T, fs vfs.FS, clock *fakeClock) *Store {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	opts := Options{Dir: "db", FS: fs, ExpireHz: -1}
	if clock != nil {
		opts.Now = clock.Now
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putString(t *testing.T, tx *Tx, db int, key, val string, expireAt int64) {
	t.Helper()
	tx.Lock(db, []byte(key))
	k, err := tx.Lookup(db, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: []byte(val), ExpireAt: expireAt})
}

func TestCountsFollowWrites(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "a", "1", 0)
	putString(t, tx, 0, "b", "2", s.NowMs()+100000)
	putString(t, tx, 1, "a", "x", 0)
	// Uncommitted writes are not counted yet.
	if n := s.KeyCount(0); n != 0 {
		t.Fatalf("before commit KeyCount = %d", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.KeyCount(0) != 2 || s.ExpiresCount(0) != 1 || s.KeyCount(1) != 1 {
		t.Fatalf("counts: db0 %d/%d db1 %d", s.KeyCount(0), s.ExpiresCount(0), s.KeyCount(1))
	}
	// Overwrite keeps the count; dropping the expiry lowers expires.
	putString(t, tx, 0, "b", "3", 0)
	tx.Commit()
	if s.KeyCount(0) != 2 || s.ExpiresCount(0) != 0 {
		t.Fatalf("after overwrite: %d/%d", s.KeyCount(0), s.ExpiresCount(0))
	}
	tx.Lock(0, []byte("a"))
	k, _ := tx.Lookup(0, []byte("a"))
	tx.Delete(k)
	tx.Commit()
	if s.KeyCount(0) != 1 {
		t.Fatalf("after delete: %d", s.KeyCount(0))
	}
	tx.LockAll()
	tx.FlushDB(0)
	tx.Commit()
	if s.KeyCount(0) != 0 || s.KeyCount(1) != 1 {
		t.Fatalf("after flushdb: %d %d", s.KeyCount(0), s.KeyCount(1))
	}
}

func TestCountsSurviveReopen(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	tx := s.NewTx()
	for i := 0; i < 100; i++ {
		putString(t, tx, 0, string(rune('a'+i%26))+string(rune(i)), "v", 0)
	}
	tx.Commit()
	want := s.KeyCount(0)
	s.Close()
	s2 := openTest(t, fs, nil)
	if got := s2.KeyCount(0); got != want || got != 100 {
		t.Fatalf("after reopen KeyCount = %d, want %d", got, want)
	}
}

func TestExpirySweeperDeletes(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	s := openTest(t, nil, clock)
	tx := s.NewTx()
	putString(t, tx, 0, "gone", "v", clock.Now().UnixMilli()+1000)
	putString(t, tx, 0, "stays", "v", clock.Now().UnixMilli()+60000)
	tx.Commit()
	k, _ := tx.Lookup(0, []byte("gone"))
	if !k.Live {
		t.Fatal("key expired early")
	}
	clock.Add(2 * time.Second)
	k, _ = tx.Lookup(0, []byte("gone"))
	if k.Live || !k.Exists {
		t.Fatalf("expired key: live=%v exists=%v", k.Live, k.Exists)
	}
	if n := s.ExpireCycle(tx, 0); n != 1 {
		t.Fatalf("ExpireCycle deleted %d keys, want 1", n)
	}
	k, _ = tx.Lookup(0, []byte("gone"))
	if k.Exists {
		t.Fatal("expired key still stored")
	}
	if s.KeyCount(0) != 1 || s.ExpiresCount(0) != 1 || s.Stats.ExpiredKeys.Load() != 1 {
		t.Fatalf("counts %d/%d expired %d", s.KeyCount(0), s.ExpiresCount(0), s.Stats.ExpiredKeys.Load())
	}
}

func TestExpiryIndexFollowsRewrites(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	s := openTest(t, nil, clock)
	tx := s.NewTx()
	now := clock.Now().UnixMilli()
	putString(t, tx, 0, "k", "v", now+1000)
	tx.Commit()
	putString(t, tx, 0, "k", "v2", now+5000) // moves the deadline
	tx.Commit()
	putString(t, tx, 0, "k", "v3", 0) // persists
	tx.Commit()
	it, _ := s.db.NewIter(nil)
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if it.Key()[0] == encoding.TagExpiry {
			t.Fatalf("stale expiry entry %q", it.Key())
		}
	}
	clock.Add(10 * time.Second)
	if n := s.ExpireCycle(tx, 0); n != 0 {
		t.Fatalf("persisted key expired (%d)", n)
	}
}

func TestCollectionOverExpiredKeyStartsEmpty(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	s := openTest(t, nil, clock)
	tx := s.NewTx()
	name := []byte("h")
	tx.Lock(0, name)
	k, _ := tx.Lookup(0, name)
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	tx.SetMember(MemberKey(nil, k, 'f', []byte("old")), []byte("1"))
	k.Meta.ExpireAt = clock.Now().UnixMilli() + 1000
	tx.SetSize(k, 1)
	tx.Commit()

	clock.Add(2 * time.Second)
	tx.Lock(0, name)
	k, _ = tx.Lookup(0, name)
	created, err := tx.PrepareCollection(k, encoding.TypeHash)
	if err != nil || !created {
		t.Fatalf("PrepareCollection over expired key: created=%v err=%v", created, err)
	}
	tx.SetMember(MemberKey(nil, k, 'f', []byte("new")), []byte("2"))
	tx.SetSize(k, 1)
	tx.Commit()

	k, _ = tx.Lookup(0, name)
	if !k.Live || k.Meta.Size != 1 || k.Meta.ExpireAt != 0 {
		t.Fatalf("new hash: %+v", k.Meta)
	}
	prefix := MemberPrefix(k, 'f')
	it, _ := tx.Iter(prefix, encoding.PrefixEnd(prefix))
	var fields []string
	for ok := it.First(); ok; ok = it.Next() {
		fields = append(fields, string(it.Key()[len(prefix):]))
	}
	it.Close()
	if len(fields) != 1 || fields[0] != "new" {
		t.Fatalf("fields = %q", fields)
	}
	// The old version's members are gone from disk, not just hidden.
	start, end := encoding.SubKeySpan(k.Phys, name)
	raw, _ := s.db.NewIter(nil)
	n := 0
	for ok := raw.SeekGE(start); ok && bytes.Compare(raw.Key(), end) < 0; ok = raw.Next() {
		n++
	}
	raw.Close()
	if n != 1 {
		t.Fatalf("%d sub-keys stored, want 1", n)
	}
	if s.KeyCount(0) != 1 || s.ExpiresCount(0) != 0 {
		t.Fatalf("counts %d/%d", s.KeyCount(0), s.ExpiresCount(0))
	}
	// A string over a hash is WRONGTYPE for collection writers.
	putString(t, tx, 0, "s", "v", 0)
	tx.Commit()
	ks, _ := tx.Lookup(0, []byte("s"))
	if _, err := tx.PrepareCollection(ks, encoding.TypeHash); err != ErrWrongType {
		t.Fatalf("PrepareCollection on string: %v", err)
	}
}

func TestTxSeesOwnWrites(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "k", "pending", 0)
	k, _ := tx.Lookup(0, []byte("k"))
	if !k.Live || string(k.Meta.Value) != "pending" {
		t.Fatal("Tx does not see its own write")
	}
	other := s.NewTx()
	k2, _ := other.Lookup(0, []byte("k"))
	if k2.Exists {
		t.Fatal("uncommitted write visible to another Tx")
	}
	tx.Commit()
	k2, _ = other.Lookup(0, []byte("k"))
	if !k2.Live {
		t.Fatal("committed write not visible")
	}
}

// Two pipelines that lock the same keys in opposite orders must not
// deadlock: a Tx holding locks commits before it waits.
func TestLockOrderNoDeadlock(t *testing.T) {
	s := openTest(t, nil, nil)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tx := s.NewTx()
			a, b := []byte("a"), []byte("b")
			if w == 1 {
				a, b = b, a
			}
			for i := 0; i < 2000; i++ {
				tx.Lock(0, a)
				ka, _ := tx.Lookup(0, a)
				tx.PutMeta(ka, &encoding.Meta{Type: encoding.TypeString, Value: []byte("x")})
				tx.Lock(0, b)
				kb, _ := tx.Lookup(0, b)
				tx.PutMeta(kb, &encoding.Meta{Type: encoding.TypeString, Value: []byte("y")})
				tx.Commit()
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("lockers deadlocked")
	}
}

func TestFsyncAlwaysCommit(t *testing.T) {
	s := openTest(t, nil, nil)
	s.SetFsync(FsyncAlways)
	tx := s.NewTx()
	putString(t, tx, 0, "k", "v", 0)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.Stats.SyncedCommits.Load() != 1 {
		t.Fatalf("synced commits = %d", s.Stats.SyncedCommits.Load())
	}
}

func TestSwapDB(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "k", "zero", 0)
	putString(t, tx, 1, "k", "one", 0)
	tx.Commit()
	tx.LockAll()
	tx.SwapDB(0, 1)
	tx.Commit()
	k, _ := tx.Lookup(0, []byte("k"))
	if string(k.Meta.Value) != "one" || s.KeyCount(0) != 1 {
		t.Fatalf("after swap db0 k = %q", k.Meta.Value)
	}
	s.Close()
	s2 := openTest(t, fs, nil)
	k, _ = s2.NewTx().Lookup(1, []byte("k"))
	if string(k.Meta.Value) != "zero" {
		t.Fatalf("swap not durable: db1 k = %q", k.Meta.Value)
	}
}

// A rollback to a savepoint undoes the writes after it, in the batch, the
// key counts and what reads through the Tx see; the writes before it
// commit.
func TestSavepointRollback(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "before", "1", 0)
	putString(t, tx, 0, "both", "old", 0)
	sp := tx.Savepoint()
	putString(t, tx, 0, "after", "2", s.NowMs()+100000)
	putString(t, tx, 0, "both", "new", 0)
	if k, _ := tx.Lookup(0, []byte("both")); string(k.Meta.Value) != "new" {
		t.Fatalf("before the rollback, both = %q", k.Meta.Value)
	}
	tx.Rollback(sp)
	if k, _ := tx.Lookup(0, []byte("both")); string(k.Meta.Value) != "old" {
		t.Fatalf("after the rollback, the Tx reads both = %q", k.Meta.Value)
	}
	if k, _ := tx.Lookup(0, []byte("after")); k.Live {
		t.Fatal("after the rollback, the Tx reads a key written after the savepoint")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := s.NewTx()
	for key, want := range map[string]string{"before": "1", "both": "old"} {
		if k, _ := r.Lookup(0, []byte(key)); !k.Live || string(k.Meta.Value) != want {
			t.Fatalf("committed %s = %q, live %v; want %q", key, k.Meta.Value, k.Live, want)
		}
	}
	if k, _ := r.Lookup(0, []byte("after")); k.Live {
		t.Fatal("a write rolled back was committed")
	}
	if n := s.KeyCount(0); n != 2 {
		t.Fatalf("key count = %d, want 2", n)
	}
	if n := s.ExpiresCount(0); n != 0 {
		t.Fatalf("expires count = %d, want 0", n)
	}
}
