package storage

import (
	"testing"

	"github.com/shoaldb/shoal/storage/encoding"
)

// TestMetaWritesReachTheBatchOnce checks that metadata writes wait in the
// pending map and reach the batch as each key's last record: a key
// written 100 times is one batch entry, reads through the batch see the
// last record, and a savepoint's rollback, FLUSHDB and DEL after them keep
// their meaning.
func TestMetaWritesReachTheBatchOnce(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	put := func(name, val string) {
		t.Helper()
		putString(t, tx, 0, name, val, 0)
	}
	read := func(name string) string {
		t.Helper()
		v, live := getString(t, s, 0, name)
		if !live {
			return "(absent)"
		}
		return v
	}
	commit := func() {
		t.Helper()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}

	for i := range 100 {
		put("k", string(rune('a'+i%26)))
	}
	if tx.b != nil && !tx.b.Empty() {
		t.Fatalf("the batch holds %d entries before anything read it", tx.b.Count())
	}
	if !tx.Pending() || tx.PendingBytes() == 0 {
		t.Fatal("a Tx with only metadata writes reports nothing pending")
	}
	tx.flushMetas()
	if n := tx.b.Count(); n != 1 {
		t.Fatalf("100 writes of one key put %d entries in the batch, want 1", n)
	}
	commit()
	if got := read("k"); got != "v" {
		t.Fatalf("k = %q after 100 writes, want the last, %q", got, "v")
	}

	// A read through the batch (a key scan) sees the last record.
	put("scan", "1")
	put("scan", "2")
	lo := encoding.MetaKey(nil, s.phys(0), []byte("scan"))
	it, err := tx.Iter(lo, encoding.PrefixEnd(lo))
	if err != nil {
		t.Fatal(err)
	}
	if !it.First() {
		t.Fatal("a scan through the Tx misses the key it wrote")
	}
	var m encoding.Meta
	if err := encoding.DecodeMeta(it.Value(), &m); err != nil || string(m.Value) != "2" {
		t.Fatalf("a scan through the Tx reads %q, want %q", m.Value, "2")
	}
	it.Close()
	put("scan", "3")
	commit()
	if got := read("scan"); got != "3" {
		t.Fatalf("scan = %q, want %q", got, "3")
	}

	// A rollback to a savepoint restores the record written before it.
	put("sp", "before")
	sp := tx.Savepoint()
	put("sp", "after")
	tx.Rollback(sp)
	commit()
	if got := read("sp"); got != "before" {
		t.Fatalf("sp = %q after the rollback, want %q", got, "before")
	}

	// FLUSHDB after a write leaves nothing of it; a write after FLUSHDB
	// stays.
	put("gone", "x")
	put("kept", "x")
	tx.LockAll()
	tx.FlushDB(0)
	put("kept", "y")
	commit()
	if got, kept := read("gone"), read("kept"); got != "(absent)" || kept != "y" {
		t.Fatalf("after FLUSHDB: gone = %q, kept = %q; want absent and %q", got, kept, "y")
	}

	// A command of many keys writes straight into the batch, after a
	// record of the same key that waits: the last record wins.
	put("mix", "waits")
	tx.Reserve(2*reserveMin, 2*reserveMin*16)
	put("mix", "straight")
	commit()
	if got := read("mix"); got != "straight" {
		t.Fatalf("mix = %q, want %q", got, "straight")
	}

	// A delete after a write in the same Tx deletes.
	put("del", "x")
	tx.Lock(0, []byte("del"))
	k, err := tx.Lookup(0, []byte("del"))
	if err != nil {
		t.Fatal(err)
	}
	tx.Delete(k)
	commit()
	if got := read("del"); got != "(absent)" {
		t.Fatalf("del = %q, want absent", got)
	}
}
