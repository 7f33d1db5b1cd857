package storage

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Many writers commit at once on a primary while two feeders read its log
// and apply it to a replica each: every feeder
// sees entries in offset order, each starting where the one before ended
// and none a no-op (no commit failed), and each replica ends with the
// primary's data, counts and offset. Writers share some keys (lock
// stripes order them), make keys (count merges) and swap databases (every
// stripe).
func TestConcurrentCommitsPublishInOrder(t *testing.T) {
	p := openTest(t, nil, nil)
	if err := p.EnableLog(); err != nil {
		t.Fatal(err)
	}
	id, _, _ := p.ReplIDs()
	var replicas []*Store
	for range 2 {
		r := openTest(t, nil, nil)
		r.SetReplica(true)
		if err := r.BeginFullSync(); err != nil {
			t.Fatal(err)
		}
		if err := r.EndFullSync(id, p.ReplOffset()); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, r)
	}

	const writers, commits = 16, 600
	done := make(chan struct{})
	var feeders sync.WaitGroup
	errs := make(chan error, writers+len(replicas))
	// One feeder reads as links do (the log's tail, then Pebble), the
	// other from Pebble only.
	reads := []func(after int64, max int) ([]LogEntry, error){p.ReadLog, p.readLogStored}
	for i, r := range replicas {
		feeders.Add(1)
		go func() {
			defer feeders.Done()
			errs <- feedReplica(p, r, reads[i], done)
		}()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := p.NewTx()
			for i := range commits {
				set := func(db int, key, val string) {
					tx.Lock(db, []byte(key))
					k, err := tx.Lookup(db, []byte(key))
					if err == nil {
						tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: []byte(val)})
					}
				}
				set(i%3, fmt.Sprintf("own:%d:%d", w, i), "v")
				set(i%3, fmt.Sprintf("shared:%d", i%5), fmt.Sprintf("%d:%d", w, i))
				if w == 0 && i%40 == 39 {
					tx.LockAll()
					tx.SwapDB(1, 2)
				}
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	feeders.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := dumpReplicated(t, p)
	for i, r := range replicas {
		if r.ReplOffset() != p.ReplOffset() {
			t.Fatalf("replica %d at offset %d, primary at %d", i, r.ReplOffset(), p.ReplOffset())
		}
		for db := range 3 {
			if r.KeyCount(db) != p.KeyCount(db) {
				t.Fatalf("replica %d db%d: %d keys, primary %d", i, db, r.KeyCount(db), p.KeyCount(db))
			}
		}
		got := dumpReplicated(t, r)
		if len(got) != len(want) {
			t.Fatalf("replica %d holds %d records, primary %d", i, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("replica %d: record %q is %q, primary's %q", i, k, got[k], v)
			}
		}
	}
}

// feedReplica reads p's log with read as a link does and applies it to
// r, until done is closed and r reached p's offset. It fails on an entry
// that does not start where the one before ended or that is a no-op.
func feedReplica(p, r *Store, read func(after int64, max int) ([]LogEntry, error), done <-chan struct{}) error {
	sent := r.ReplOffset()
	for {
		changed := p.LogChanged()
		es, err := read(sent, 64<<10)
		if err != nil {
			return err
		}
		for _, e := range es {
			if from := e.End - int64(len(e.Repr)); from != sent {
				return fmt.Errorf("entry (%d, %d] read after offset %d", from, e.End, sent)
			}
			if bytes.Equal(e.Repr, noopEntry(len(e.Repr))) {
				return fmt.Errorf("entry (%d, %d] read as a hole", sent, e.End)
			}
			sent = e.End
		}
		if len(es) > 0 {
			if err := r.ApplyReplicatedGroup(es, false); err != nil {
				return err
			}
			continue
		}
		select {
		case <-done:
			if sent == p.ReplOffset() {
				return nil
			}
		case <-changed:
		}
	}
}

// dumpReplicated returns every record of s that replicates.
func dumpReplicated(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string][]byte{}
	for ok := it.First(); ok; ok = it.Next() {
		if !bytes.HasPrefix(it.Key(), localPrefix) {
			out[string(it.Key())] = bytes.Clone(it.Value())
		}
	}
	return out
}

// A commit that failed leaves no entry at its offsets: a reader of the
// log gets a no-op entry of its size there, before later entries and at
// the end of the log, and a replica applying them ends at the primary's
// offset with the keys of the commits that applied.
func TestReadLogFillsHoles(t *testing.T) {
	p := openTest(t, nil, nil)
	ends := commitKeys(t, p, 4)
	all, err := p.ReadLog(0, 1<<20)
	if err != nil || len(all) != 4 {
		t.Fatalf("log: %d entries, %v", len(all), err)
	}
	// The commits at ends[1] and ends[3] as if they had failed: no entry,
	// no data.
	for _, i := range []int{1, 3} {
		b := p.db.NewBatch()
		b.Delete(logKey(ends[i]), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	es, err := p.ReadLog(0, 1<<20)
	if err != nil || len(es) != 4 {
		t.Fatalf("log with holes: %d entries, %v", len(es), err)
	}
	for i, e := range es {
		if e.End != ends[i] || len(e.Repr) != len(all[i].Repr) {
			t.Fatalf("entry %d ends at %d with %d bytes, want %d with %d", i, e.End, len(e.Repr), ends[i], len(all[i].Repr))
		}
		if noop := bytes.Equal(e.Repr, noopEntry(len(e.Repr))); noop != (i == 1 || i == 3) {
			t.Fatalf("entry %d: no-op %v", i, noop)
		}
	}
	r := openTest(t, nil, nil)
	r.SetReplica(true)
	id, _, _ := p.ReplIDs()
	r.BeginFullSync()
	r.EndFullSync(id, 0)
	if err := r.ApplyReplicatedGroup(es, false); err != nil {
		t.Fatal(err)
	}
	if r.ReplOffset() != p.ReplOffset() || r.KeyCount(0) != 2 {
		t.Fatalf("replica at %d with %d keys, primary at %d", r.ReplOffset(), r.KeyCount(0), p.ReplOffset())
	}
}

// No-op entries are valid batches of any size a commit can have, and
// change nothing.
func TestNoopEntry(t *testing.T) {
	s := openTest(t, nil, nil)
	for _, n := range []int{14, 15, 100, 141, 142, 143, 144, 145, 16398, 16399, 16400, 16401, 1 << 20} {
		e := noopEntry(n)
		if len(e) != n {
			t.Fatalf("noopEntry(%d) has %d bytes", n, len(e))
		}
		b := s.db.NewBatch()
		if err := b.SetRepr(bytes.Clone(e)); err != nil {
			t.Fatalf("noopEntry(%d): %v", n, err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatalf("noopEntry(%d): %v", n, err)
		}
		b.Close()
	}
	if got := dumpReplicated(t, s); len(got) != 0 {
		t.Fatalf("no-op entries wrote %d records", len(got))
	}
}

// A crash may keep a commit and lose one with earlier offsets (Pebble's
// log orders them as Pebble applied them). At open the hole gets a no-op
// entry, and a new history starts whose previous id ends where the hole
// starts: a replica that holds the lost commit resyncs, the others
// continue through the hole.
func TestOpenFillsLostCommits(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{Dir: "db", FS: fs, ExpireHz: -1}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ends := commitKeys(t, s, 3)
	// What the crash kept: all but the second commit, entry and data.
	b := s.db.NewBatch()
	b.Delete(logKey(ends[1]), nil)
	b.Delete(encoding.MetaKey(nil, s.phys(0), []byte("k1")), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	b.Close()
	id, _, _ := s.ReplIDs()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	newID, id2, off2 := s.ReplIDs()
	if newID == id || id2 != id || off2 != ends[0] {
		t.Fatalf("ids after the crash: %s, %s up to %d; before: %s, hole from %d", newID, id2, off2, id, ends[0])
	}
	if s.ReplOffset() != ends[2] {
		t.Fatalf("offset %d, want %d", s.ReplOffset(), ends[2])
	}
	es, err := s.ReadLog(0, 1<<20)
	if err != nil || len(es) != 3 || es[1].End != ends[1] || !bytes.Equal(es[1].Repr, noopEntry(int(ends[1]-ends[0]))) {
		t.Fatalf("log after the crash: %d entries, %v", len(es), err)
	}
	// Filled once: a second open starts no other history.
	s.Close()
	s, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again, _, _ := s.ReplIDs(); again != newID {
		t.Fatalf("a second open changed the id to %s", again)
	}
}

// commitKeys enables s's log and commits keys k0 to k<n-1> one by one,
// returning the offsets their entries end at.
func commitKeys(t *testing.T, s *Store, n int) []int64 {
	t.Helper()
	if err := s.EnableLog(); err != nil {
		t.Fatal(err)
	}
	tx := s.NewTx()
	var ends []int64
	for i := range n {
		putString(t, tx, 0, fmt.Sprintf("k%d", i), "v", 0)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, tx.WriteOffset())
	}
	return ends
}

// Writers commit at once while the log is synced now and then, and the
// disk is cloned as a crash would leave it (only what was synced): every
// clone opens with a log that runs without a gap to its offset, and a
// replica that applies that log from the start holds the clone's data,
// whether the crash lost a commit before one it kept or not (some clones
// do: writer 0's large batches reach Pebble's order late).
func TestCrashLeavesLogWhole(t *testing.T) {
	fs := vfs.NewCrashableMem()
	// NB: small memtables make writer 0's batches large ones, which Pebble
	// indexes before it orders them: commits with later offsets pass them.
	s, err := Open(Options{Dir: "db", FS: fs, ExpireHz: -1, MemTableBytes: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.EnableLog(); err != nil {
		t.Fatal(err)
	}
	id, _, _ := s.ReplIDs()
	const writers, commits = 16, 150
	val := bytes.Repeat([]byte("v"), 100<<10)
	valueLen := func(w, i, j int) int {
		if w == 0 && j == 0 && i%5 == 0 {
			return len(val)
		}
		return 1
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := s.NewTx()
			for i := range commits {
				for j := range 4 {
					name := []byte(fmt.Sprintf("k:%d:%d:%d", w, i, j))
					tx.Lock(w%3, name)
					if k, err := tx.Lookup(w%3, name); err == nil {
						tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: val[:valueLen(w, i, j)]})
					}
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	var clones []*vfs.MemFS
	for running := true; running && len(clones) < 20; {
		select {
		case <-finished:
			running = false
		default:
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		clones = append(clones, fs.CrashClone(vfs.CrashCloneCfg{}))
	}
	<-finished
	holes := 0
	for i, c := range clones {
		cs, err := Open(Options{Dir: "db", FS: c, ExpireHz: -1})
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		if _, id2, _ := cs.ReplIDs(); id2 == id {
			holes++
		}
		es, err := cs.ReadLog(0, 1<<30)
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		prev := int64(0)
		for _, e := range es {
			if from := e.End - int64(len(e.Repr)); from != prev {
				t.Fatalf("clone %d: entry (%d, %d] after offset %d", i, from, e.End, prev)
			}
			prev = e.End
		}
		if prev != cs.ReplOffset() {
			t.Fatalf("clone %d: the log ends at %d, the offset is %d", i, prev, cs.ReplOffset())
		}
		r := openTest(t, nil, nil)
		r.SetReplica(true)
		r.BeginFullSync()
		r.EndFullSync(id, 0)
		if err := r.ApplyReplicatedGroup(es, false); err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		want, got := dumpReplicated(t, cs), dumpReplicated(t, r)
		if len(got) != len(want) {
			t.Fatalf("clone %d: replica of its log holds %d records, the clone %d", i, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("clone %d: record %q is %q on the replica, %q in the clone", i, k, got[k], v)
			}
		}
		cs.Close()
	}
	t.Logf("%d of %d clones had lost a commit before one they kept", holes, len(clones))
}

// TestCommitReturnsVisible checks that a logged commit returns only once
// the log's visible offset covers it, also when it finished after a commit
// behind it and waited for that one to publish both: a client that runs
// WAIT next asks its replicas for that offset, and one asked for less
// acknowledges less than the WAIT waits for.
func TestCommitReturnsVisible(t *testing.T) {
	s := openTest(t, nil, nil)
	if err := s.EnableLog(); err != nil {
		t.Fatal(err)
	}
	const writers, commits = 16, 2000
	errs := make(chan error, writers)
	var stop atomic.Bool
	for w := range writers {
		go func() {
			tx := s.NewTx()
			defer tx.Discard()
			for i := 0; i < commits && !stop.Load(); i++ {
				key := []byte(fmt.Sprintf("k:%d:%d", w, i))
				tx.Lock(0, key)
				k, err := tx.Lookup(0, key)
				if err != nil {
					errs <- err
					return
				}
				tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: []byte("v")})
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
				if vis := s.ReplOffset(); vis < tx.WriteOffset() {
					errs <- fmt.Errorf("commit %d of writer %d returned at offset %d, the visible offset is %d", i, w, tx.WriteOffset(), vis)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range writers {
		if err := <-errs; err != nil && first == nil {
			first = err
			stop.Store(true)
		}
	}
	if first != nil {
		t.Fatal(first)
	}
}
