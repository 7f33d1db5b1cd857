package storage

import (
	"bytes"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// bigValue is a string long enough to be written ahead, whose chunks
// differ from each other.
func bigValue(fill byte) []byte {
	v := bytes.Repeat([]byte{fill}, aheadMin+3*ChunkSize+17)
	for i := 0; i < len(v); i += ChunkSize {
		v[i] = byte(i / ChunkSize)
	}
	return v
}

// lookupString returns the whole string at key as a new Tx reads it.
func lookupString(t *testing.T, s *Store, key string) ([]byte, bool) {
	t.Helper()
	tx := s.NewTx()
	defer tx.Discard()
	k, err := tx.Lookup(0, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(k.Meta.Value), k.Live
}

// headerOf returns the metadata of key as a new Tx reads it without the
// value.
func headerOf(t *testing.T, s *Store, key string) encoding.Meta {
	t.Helper()
	tx := s.NewTx()
	defer tx.Discard()
	var k Key
	if err := tx.LookupHeader(&k, 0, []byte(key)); err != nil {
		t.Fatal(err)
	}
	return k.Meta
}

// subKeys counts the sub-keys stored under key's name, of every version.
func subKeys(t *testing.T, s *Store, key string) int {
	t.Helper()
	tx := s.NewTx()
	defer tx.Discard()
	return countSubKeys(t, tx, &Key{Phys: s.phys(0), Name: []byte(key)})
}

// unfinishedRecords counts the records of writes ahead not committed.
func unfinishedRecords(t *testing.T, s *Store) int {
	t.Helper()
	it, err := s.NewTx().Iter(unfinishedPrefix, encoding.PrefixEnd(unfinishedPrefix))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	it.Close()
	return n
}

// A large string's chunks reach Pebble before its commit, but no other
// reader sees the string, whole or in part, until the commit; then it
// reads the whole of it.
func TestWriteAheadHiddenUntilCommit(t *testing.T) {
	s := openTest(t, nil, nil)
	old := bytes.Repeat([]byte("o"), 2*aheadMin)
	tx := s.NewTx()
	putString(t, tx, 0, "k", string(old), 0)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	oldChunks := subKeys(t, s, "k")

	oldMeta := headerOf(t, s, "k")
	v := bigValue('n')
	putString(t, tx, 0, "k", string(v), 0)
	// NB: a reader of the value would wait for tx's lock; the header
	// is read without it.
	if m := headerOf(t, s, "k"); m.Version != oldMeta.Version || m.Size != uint64(len(old)) {
		t.Fatalf("before the commit another reader sees version %d of %d bytes, want the old %d of %d",
			m.Version, m.Size, oldMeta.Version, len(old))
	}
	chunks := (len(v) + ChunkSize - 1) / ChunkSize
	if n := subKeys(t, s, "k"); n != oldChunks+chunks {
		t.Fatalf("%d sub-keys before the commit, want the old %d and the new %d written ahead", n, oldChunks, chunks)
	}
	if n := unfinishedRecords(t, s); n != 1 {
		t.Fatalf("%d unfinished records before the commit, want 1", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, ok := lookupString(t, s, "k"); !ok || !bytes.Equal(got, v) {
		t.Fatalf("after the commit a reader sees %d bytes, want %d", len(got), len(v))
	}
	if n := subKeys(t, s, "k"); n != chunks {
		t.Fatalf("%d sub-keys after the commit, want %d", n, chunks)
	}
	if n := unfinishedRecords(t, s); n != 0 {
		t.Fatalf("%d unfinished records after the commit", n)
	}
}

// A Tx discarded after writing ahead leaves nothing behind.
func TestWriteAheadDiscardDrops(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "k", string(bigValue('d')), 0)
	tx.Discard()
	if _, ok := lookupString(t, s, "k"); ok {
		t.Fatal("a discarded string exists")
	}
	if n, r := subKeys(t, s, "k"), unfinishedRecords(t, s); n != 0 || r != 0 {
		t.Fatalf("%d sub-keys and %d unfinished records after the discard", n, r)
	}
}

// Chunks written ahead of a commit that never came (the process ended
// first) are dropped when the store opens again.
func TestWriteAheadDroppedAtOpen(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "done", string(bigValue('c')), 0)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	putString(t, tx, 0, "k", string(bigValue('u')), 0)
	if n := subKeys(t, s, "k"); n == 0 {
		t.Fatal("nothing written ahead")
	}
	s.Close() // NB: tx never commits
	s = openTest(t, fs, nil)
	if _, ok := lookupString(t, s, "k"); ok {
		t.Fatal("an unfinished string exists after the restart")
	}
	if n, r := subKeys(t, s, "k"), unfinishedRecords(t, s); n != 0 || r != 0 {
		t.Fatalf("%d sub-keys and %d unfinished records after the restart", n, r)
	}
	if got, ok := lookupString(t, s, "done"); !ok || !bytes.Equal(got, bigValue('c')) {
		t.Fatalf("the committed string reads %d bytes after the restart", len(got))
	}
}

// A replica applies the pieces written ahead and the commit from the
// log, and sees the string only whole; one promoted while its primary's
// write ahead was unfinished drops that write's chunks.
func TestWriteAheadReplicated(t *testing.T) {
	p := openTest(t, nil, nil)
	r := openTest(t, nil, nil)
	r.SetReplica(true)
	p.EnableLog()
	id, _, _ := p.ReplIDs()
	if err := r.BeginFullSync(); err != nil {
		t.Fatal(err)
	}
	if err := r.EndFullSync(id, 0); err != nil {
		t.Fatal(err)
	}
	follow := func() {
		entries, err := p.ReadLog(r.ReplOffset(), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := r.ApplyReplicated(e, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	v := bigValue('r')
	tx := p.NewTx()
	putString(t, tx, 0, "k", string(v), 0)
	follow()
	if _, ok := lookupString(t, r, "k"); ok {
		t.Fatal("the replica sees the string before its commit")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	follow()
	if got, ok := lookupString(t, r, "k"); !ok || !bytes.Equal(got, v) {
		t.Fatalf("the replica reads %d bytes, want %d", len(got), len(v))
	}

	putString(t, tx, 0, "u", string(bigValue('x')), 0)
	follow()
	if n := subKeys(t, r, "u"); n == 0 {
		t.Fatal("no chunks written ahead reached the replica")
	}
	r.SetReplica(false)
	if err := r.Promote(); err != nil {
		t.Fatal(err)
	}
	if n, u := subKeys(t, r, "u"), unfinishedRecords(t, r); n != 0 || u != 0 {
		t.Fatalf("after the promotion: %d sub-keys and %d unfinished records of the old primary's write", n, u)
	}
	if got, ok := lookupString(t, r, "k"); !ok || !bytes.Equal(got, v) {
		t.Fatalf("after the promotion the replica reads %d bytes of k, want %d", len(got), len(v))
	}
	tx.Discard()
}
