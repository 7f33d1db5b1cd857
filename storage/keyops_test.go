package storage_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(storage.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const tagField = 'f'

// makeHash creates a hash of n fields at name in db through the storage API.
func makeHash(t *testing.T, s *storage.Store, db int, name string, n int) {
	t.Helper()
	tx := s.NewTx()
	tx.Lock(db, []byte(name))
	k, err := tx.Lookup(db, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		tx.SetMember(storage.MemberKey(nil, k, tagField, fmt.Appendf(nil, "f%03d", i)), fmt.Appendf(nil, "v%d", i))
	}
	tx.SetSize(k, uint64(n))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// members reads back the fields of the hash at name, or nil when it is
// missing.
func members(t *testing.T, tx *storage.Tx, db int, name string) map[string]string {
	t.Helper()
	k, err := tx.Lookup(db, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Live {
		return nil
	}
	if k.Meta.Type != encoding.TypeHash {
		t.Fatalf("%s: type %v", name, k.Meta.Type)
	}
	p := storage.MemberPrefix(k, tagField)
	it, err := tx.Iter(p, encoding.PrefixEnd(p))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key()[len(p):])] = string(it.Value())
	}
	if uint64(len(out)) != k.Meta.Size {
		t.Fatalf("%s: %d members stored, size %d", name, len(out), k.Meta.Size)
	}
	return out
}

func lockLookup(t *testing.T, tx *storage.Tx, db int, name string) *storage.Key {
	t.Helper()
	tx.Lock(db, []byte(name))
	k, err := tx.Lookup(db, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRenameKeyCollection(t *testing.T) {
	s := openStore(t)
	makeHash(t, s, 0, "src", 50)
	makeHash(t, s, 0, "dst", 7) // replaced, old fields must not show

	tx := s.NewTx()
	src, dst := lockLookup(t, tx, 0, "src"), lockLookup(t, tx, 0, "dst")
	if err := tx.RenameKey(src, dst); err != nil {
		t.Fatal(err)
	}
	// The Tx sees its own uncommitted rename.
	if got := members(t, tx, 0, "dst"); len(got) != 50 || got["f049"] != "v49" {
		t.Fatalf("dst before commit: %d members", len(got))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := members(t, tx, 0, "src"); got != nil {
		t.Fatalf("src still has %d members", len(got))
	}
	got := members(t, tx, 0, "dst")
	if len(got) != 50 {
		t.Fatalf("dst has %d members, want 50", len(got))
	}
	for i := 0; i < 50; i++ {
		if v := got[fmt.Sprintf("f%03d", i)]; v != fmt.Sprintf("v%d", i) {
			t.Fatalf("f%03d = %q", i, v)
		}
	}
	if n := s.KeyCount(0); n != 1 {
		t.Fatalf("KeyCount = %d, want 1", n)
	}
}

func TestCopyKeyAcrossDatabases(t *testing.T) {
	s := openStore(t)
	makeHash(t, s, 0, "h", 10)

	tx := s.NewTx()
	src := lockLookup(t, tx, 0, "h")
	dst := lockLookup(t, tx, 3, "h")
	at := s.NowMs() + 3_600_000
	if err := tx.CopyKey(src, dst, at); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	a, b := members(t, tx, 0, "h"), members(t, tx, 3, "h")
	if len(a) != 10 || len(b) != 10 || a["f009"] != b["f009"] {
		t.Fatalf("source %d members, copy %d", len(a), len(b))
	}
	k, _ := tx.Lookup(3, []byte("h"))
	if k.Meta.ExpireAt != at {
		t.Fatalf("copy expires at %d, want %d", k.Meta.ExpireAt, at)
	}
	if s.KeyCount(0) != 1 || s.KeyCount(3) != 1 || s.ExpiresCount(3) != 1 || s.ExpiresCount(0) != 0 {
		t.Fatalf("counts: db0 %d/%d db3 %d/%d", s.KeyCount(0), s.ExpiresCount(0), s.KeyCount(3), s.ExpiresCount(3))
	}

	// Writing the copy leaves the source alone: they share no sub-keys.
	tx2 := s.NewTx()
	dk := lockLookup(t, tx2, 3, "h")
	tx2.DeleteMember(storage.MemberKey(nil, dk, tagField, []byte("f000")))
	tx2.SetSize(dk, dk.Meta.Size-1)
	if err := tx2.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(members(t, tx2, 0, "h")) != 10 || len(members(t, tx2, 3, "h")) != 9 {
		t.Fatal("deleting from the copy changed the source")
	}
}

func TestCopyKeyString(t *testing.T) {
	s := openStore(t)
	tx := s.NewTx()
	src := lockLookup(t, tx, 0, "s")
	tx.PutMeta(src, &encoding.Meta{Type: encoding.TypeString, Value: []byte("hello")})
	hk := lockLookup(t, tx, 0, "d")
	if _, err := tx.PrepareCollection(hk, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	tx.SetMember(storage.MemberKey(nil, hk, tagField, []byte("x")), []byte("y"))
	tx.SetSize(hk, 1)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	src, dst := lockLookup(t, tx, 0, "s"), lockLookup(t, tx, 0, "d")
	if err := tx.RenameKey(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	k, _ := tx.Lookup(0, []byte("d"))
	if !k.Live || k.Meta.Type != encoding.TypeString || string(k.Meta.Value) != "hello" {
		t.Fatalf("d = %+v", k.Meta)
	}
	if k, _ := tx.Lookup(0, []byte("s")); k.Exists {
		t.Fatal("s still exists")
	}
	// The old hash's members are gone with its version.
	start, end := encoding.SubKeySpan(k.Phys, []byte("d"))
	it, err := tx.Iter(start, end)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if it.First() {
		t.Fatalf("stale sub-key %q", it.Key())
	}
}

func TestSetExpire(t *testing.T) {
	s := openStore(t)
	tx := s.NewTx()
	k := lockLookup(t, tx, 0, "s")
	tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: []byte("v")})
	at := s.NowMs() + 60_000
	tx.SetExpire(k, at)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.ExpiresCount(0) != 1 {
		t.Fatalf("ExpiresCount = %d", s.ExpiresCount(0))
	}
	k = lockLookup(t, tx, 0, "s")
	if k.Meta.ExpireAt != at || string(k.Meta.Value) != "v" {
		t.Fatalf("meta = %+v", k.Meta)
	}
	tx.SetExpire(k, 0)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.ExpiresCount(0) != 0 {
		t.Fatalf("ExpiresCount after persist = %d", s.ExpiresCount(0))
	}
}
