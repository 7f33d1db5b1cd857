package storage

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

func getString(t *testing.T, s *Store, db int, key string) (string, bool) {
	t.Helper()
	k, err := s.NewTx().Lookup(db, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(k.Meta.Value), k.Live
}

func TestLogOnlyWhenEnabled(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "a", "1", 0)
	tx.Commit()
	if s.ReplOffset() != 0 || tx.WriteOffset() != 0 {
		t.Fatalf("offset %d before the log is enabled", s.ReplOffset())
	}
	if err := s.EnableLog(); err != nil {
		t.Fatal(err)
	}
	putString(t, tx, 0, "b", "2", 0)
	tx.Commit()
	if s.ReplOffset() == 0 || tx.WriteOffset() != s.ReplOffset() {
		t.Fatalf("offset %d, tx woff %d", s.ReplOffset(), tx.WriteOffset())
	}
}

// A replica applying the primary's entries ends with the same data,
// counts and offset, and logs the entries for replicas of its own.
func TestReplicaAppliesLog(t *testing.T) {
	p := openTest(t, nil, nil)
	r := openTest(t, nil, nil)
	r.SetReplica(true)
	p.EnableLog()
	tx := p.NewTx()
	for i := 0; i < 50; i++ {
		putString(t, tx, i%3, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0)
		if i%7 == 0 {
			tx.Commit()
		}
	}
	tx.Commit()
	tx.Lock(0, []byte("k0"))
	k, _ := tx.Lookup(0, []byte("k0"))
	tx.Delete(k)
	tx.Commit()
	tx.LockAll()
	tx.SwapDB(1, 2)
	tx.Commit()

	id, _, _ := p.ReplIDs()
	if err := r.BeginFullSync(); err != nil {
		t.Fatal(err)
	}
	if err := r.EndFullSync(id, 0); err != nil {
		t.Fatal(err)
	}
	entries, err := p.ReadLog(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// One entry alone, then groups of 2, 3, ... as a link reads them.
	for i, n := 0, 1; i < len(entries); i, n = i+n, n+1 {
		if err := r.ApplyReplicatedGroup(entries[i:min(i+n, len(entries))], false); err != nil {
			t.Fatal(err)
		}
	}
	if r.ReplOffset() != p.ReplOffset() {
		t.Fatalf("replica offset %d, primary %d", r.ReplOffset(), p.ReplOffset())
	}
	for db := 0; db < 3; db++ {
		if r.KeyCount(db) != p.KeyCount(db) {
			t.Fatalf("db%d: replica %d keys, primary %d", db, r.KeyCount(db), p.KeyCount(db))
		}
	}
	if v, ok := getString(t, r, 2, "k1"); !ok || v != "v1" {
		t.Fatalf("after SWAPDB replica db2 k1 = %q %v", v, ok)
	}
	if _, ok := getString(t, r, 0, "k0"); ok {
		t.Fatal("deleted key present on replica")
	}
	// The replica logged the same entries: a sub-replica can read them.
	sub, err := r.ReadLog(0, 1<<20)
	if err != nil || len(sub) != len(entries) {
		t.Fatalf("replica log: %d entries, %v", len(sub), err)
	}
	for i := range sub {
		if sub[i].End != entries[i].End || !bytes.Equal(sub[i].Repr, entries[i].Repr) {
			t.Fatalf("replica log entry %d ends at %d, primary's at %d, or differs", i, sub[i].End, entries[i].End)
		}
	}
	// Out-of-order entries are refused.
	if err := r.ApplyReplicated(entries[0], false); err == nil {
		t.Fatal("replayed entry accepted")
	}
}

func TestFullSyncSnapshot(t *testing.T) {
	p := openTest(t, nil, nil)
	tx := p.NewTx()
	for i := 0; i < 300; i++ {
		putString(t, tx, 0, fmt.Sprintf("k%03d", i), "value", 0)
	}
	tx.Commit()
	name := []byte("h")
	tx.Lock(0, name)
	k, _ := tx.Lookup(0, name)
	tx.PrepareCollection(k, encoding.TypeHash)
	tx.SetMember(MemberKey(nil, k, 'f', []byte("f1")), []byte("x"))
	tx.SetSize(k, 1)
	tx.Commit()

	r := openTest(t, nil, nil)
	r.SetReplica(true)
	rtx := r.NewTx()
	putString(t, rtx, 0, "stale", "old", 0)
	rtx.Commit()

	r.BeginFullSync()
	chunks := 0
	off, err := p.Snapshot(1024, nil, func(c []byte) error {
		chunks++
		return r.ApplySnapshotChunk(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := p.ReplIDs()
	r.EndFullSync(id, off)
	if chunks < 2 {
		t.Fatalf("%d chunks", chunks)
	}
	if r.KeyCount(0) != p.KeyCount(0) || r.KeyCount(0) != 301 {
		t.Fatalf("replica %d keys, primary %d", r.KeyCount(0), p.KeyCount(0))
	}
	if _, ok := getString(t, r, 0, "stale"); ok {
		t.Fatal("replica kept a key the primary never had")
	}
	hk, _ := r.NewTx().Lookup(0, name)
	if !hk.Live || hk.Meta.Size != 1 {
		t.Fatalf("hash on replica: %+v", hk.Meta)
	}
	// Writes after the snapshot continue from its offset.
	putString(t, tx, 0, "after", "1", 0)
	tx.Commit()
	entries, err := p.ReadLog(off, 1<<20)
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries after snapshot: %d %v", len(entries), err)
	}
	if err := r.ApplyReplicated(entries[0], true); err != nil {
		t.Fatal(err)
	}
	if v, ok := getString(t, r, 0, "after"); !ok || v != "1" {
		t.Fatal("write after snapshot missing")
	}
}

func TestTrimAndRestart(t *testing.T) {
	fs := vfs.NewMem()
	p := openTest(t, fs, nil)
	p.EnableLog()
	tx := p.NewTx()
	for i := 0; i < 100; i++ {
		putString(t, tx, 0, fmt.Sprintf("k%d", i), "v", 0)
		tx.Commit()
	}
	off := p.ReplOffset()
	if err := p.TrimLog(off/2, off, off*10); err != nil {
		t.Fatal(err)
	}
	if p.LogStart() == 0 || p.LogStart() > off-off/2 {
		t.Fatalf("log start %d after trimming to keep %d of %d", p.LogStart(), off/2, off)
	}
	if _, err := p.ReadLog(0, 1<<20); !errors.Is(err, ErrLogTrimmed) {
		t.Fatalf("read before start: %v", err)
	}
	if _, err := p.ReadLog(p.LogStart(), 1<<20); err != nil {
		t.Fatalf("read from start: %v", err)
	}
	id, _, _ := p.ReplIDs()
	start := p.LogStart()
	p.Close()
	p2 := openTest(t, fs, nil)
	id2, _, _ := p2.ReplIDs()
	if p2.ReplOffset() != off || p2.LogStart() != start || id2 != id || !p2.LogEnabled() {
		t.Fatalf("after restart offset %d/%d start %d/%d id %s/%s", p2.ReplOffset(), off, p2.LogStart(), start, id2, id)
	}
}

func TestPromoteKeepsHistory(t *testing.T) {
	p := openTest(t, nil, nil)
	p.EnableLog()
	tx := p.NewTx()
	putString(t, tx, 0, "k", "v", 0)
	tx.Commit()
	old, _, _ := p.ReplIDs()
	off := p.ReplOffset()
	p.Promote()
	id, id2, off2 := p.ReplIDs()
	if id == old || id2 != old || off2 != off {
		t.Fatalf("after promote: %s %s %d (old %s at %d)", id, id2, off2, old, off)
	}
}

// The log's in-memory tail answers ReadLog as the log in Pebble does,
// from every offset it holds, after it dropped its oldest entries, and
// after a full sync started the offsets over.
func TestLogTailReadsAsStored(t *testing.T) {
	p := openTest(t, nil, nil)
	p.EnableLog()
	tx := p.NewTx()
	putString(t, tx, 0, "before", "the tail", 0)
	tx.Commit()
	if _, err := p.ReadLog(0, 1<<20); err != nil { // a feeder: the tail keeps what follows
		t.Fatal(err)
	}
	big := string(bytes.Repeat([]byte("v"), 64<<10))
	for i := 0; i < 200; i++ { // 12.8 MB: more than the tail keeps
		for j := 0; j <= i%5; j++ {
			putString(t, tx, i%3, fmt.Sprintf("k%d.%d", i, j), big[:1+(i*7919)%len(big)], 0)
		}
		tx.Commit()
	}
	stored, err := p.readLogStored(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	fromTail := 0
	for i, after := range append([]int64{0}, ends(stored)...) {
		for _, max := range []int{1, 100 << 10, 1 << 20} {
			got, err := p.ReadLog(after, max)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := p.readLogStored(after, max)
			if !sameEntries(got, want) {
				t.Fatalf("ReadLog(%d, %d): %d entries, want %d from Pebble", after, max, len(got), len(want))
			}
		}
		if _, ok := p.repl.tail.read(after, 1); ok && i < len(stored) {
			fromTail++
		}
	}
	if fromTail == 0 || fromTail == len(stored) {
		t.Fatalf("the tail answered from %d of %d offsets: want the newest only", fromTail, len(stored))
	}

	// A replica's tail, after its offsets start over at a full sync.
	r := openTest(t, nil, nil)
	r.SetReplica(true)
	id, _, _ := p.ReplIDs()
	r.BeginFullSync()
	r.EndFullSync(id, 0)
	if _, err := r.ReadLog(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.ApplyReplicatedGroup(stored[:9], false); err != nil {
		t.Fatal(err)
	}
	r.BeginFullSync()
	r.EndFullSync(id, stored[2].End)
	if got, err := r.ReadLog(stored[2].End, 1<<30); err != nil || len(got) != 0 {
		t.Fatalf("replica's log right after a full sync: %d entries (%v), want none", len(got), err)
	}
	if err := r.ApplyReplicatedGroup(stored[3:5], false); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadLog(stored[2].End, 1<<30)
	if err != nil || !sameEntries(got, stored[3:5]) {
		t.Fatalf("replica's log after a full sync: %d entries (%v), want 2", len(got), err)
	}
}

func ends(es []LogEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.End
	}
	return out
}

func sameEntries(a, b []LogEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].End != b[i].End || !bytes.Equal(a[i].Repr, b[i].Repr) {
			return false
		}
	}
	return true
}
