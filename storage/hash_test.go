package storage

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

func openMemStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(Options{Dir: "data", FS: vfs.NewMem(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fillHash creates hash name with n fields, committing every chunk fields.
func fillHash(t testing.TB, s *Store, name string, n int) {
	t.Helper()
	const chunk = 50_000
	tx := s.NewTx()
	for done := 0; done < n; {
		tx.Lock(0, []byte(name))
		k, err := tx.Lookup(0, []byte(name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
			t.Fatal(err)
		}
		for end := min(done+chunk, n); done < end; done++ {
			if _, err := tx.HashSet(k, fmt.Appendf(nil, "field:%08d", done), []byte("value")); err != nil {
				t.Fatal(err)
			}
		}
		tx.SetSize(k, k.Meta.Size)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func lookupHash(t testing.TB, tx *Tx, name string) *Key {
	t.Helper()
	tx.Lock(0, []byte(name))
	k, err := tx.Lookup(0, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHashMembersAndSize(t *testing.T) {
	s := openMemStore(t)
	tx := s.NewTx()
	k := lookupHash(t, tx, "h")
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"b", "a", "c", "a"} {
		if _, err := tx.HashSet(k, []byte(f), []byte("v"+f)); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := tx.HashDelete(k, []byte("c")); !ok || err != nil {
		t.Fatalf("HashDelete = %v, %v", ok, err)
	}
	if ok, _ := tx.HashDelete(k, []byte("zz")); ok {
		t.Fatal("HashDelete of an absent field reported true")
	}
	tx.SetSize(k, k.Meta.Size)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	k = lookupHash(t, tx, "h")
	if !k.Live || k.Meta.Size != 2 {
		t.Fatalf("after commit: live %v size %d", k.Live, k.Meta.Size)
	}
	var got []string
	more, err := tx.HashScan(k, nil, func(f, v []byte) bool {
		got = append(got, string(f)+"="+string(v))
		return true
	})
	if err != nil || more || fmt.Sprint(got) != "[a=va b=vb]" {
		t.Fatalf("HashScan = %v, more %v, %v", got, more, err)
	}
	got = got[:0]
	if more, _ := tx.HashScan(k, nil, func(f, _ []byte) bool { got = append(got, string(f)); return false }); !more || fmt.Sprint(got) != "[a]" {
		t.Fatalf("HashScan first = %v, more %v", got, more)
	}
	got = got[:0]
	tx.HashScan(k, []byte("a"), func(f, _ []byte) bool { got = append(got, string(f)); return true })
	if fmt.Sprint(got) != "[b]" {
		t.Fatalf("HashScan after a = %v", got)
	}
	tx.Commit()
}

// TestHashDeleteIsConstant checks that deleting a big hash writes a small,
// constant number of batch entries (one range tombstone over the members,
// not one tombstone per field), while a small one is deleted field by field
// so that rewriting small keys does not pile up range tombstones.
func TestHashDeleteIsConstant(t *testing.T) {
	s := openMemStore(t)
	fillHash(t, s, "small", 10)
	fillHash(t, s, "big", 100_000)
	ops := map[string]uint32{}
	for name, size := range map[string]uint64{"small": 10, "big": 100_000} {
		tx := s.NewTx()
		k := lookupHash(t, tx, name)
		if k.Meta.Size != size {
			t.Fatalf("%s has %d fields, want %d", name, k.Meta.Size, size)
		}
		tx.Delete(k)
		tx.flushMetas() // what the commit writes
		ops[name] = tx.b.Count()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if ops["big"] > 3 {
		t.Fatalf("DEL of a 100k-field hash wrote %d batch entries, want at most 3", ops["big"])
	}
	if ops["small"] != 10+1 {
		t.Fatalf("DEL of a 10-field hash wrote %d batch entries, want one per field and one for the metadata", ops["small"])
	}
	// Nothing of the deleted members is visible, even under the raw span.
	start, end := encoding.SubKeySpan(s.phys(0), []byte("big"))
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if it.SeekGE(start) && string(it.Key()) < string(end) {
		t.Fatalf("member %q survived DEL", it.Key())
	}
}

func TestSetMembers(t *testing.T) {
	s := openMemStore(t)
	tx := s.NewTx()
	k := lookupHash(t, tx, "s")
	if _, err := tx.PrepareCollection(k, encoding.TypeSet); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"x", "y", "x"} {
		tx.SetAdd(k, []byte(m))
	}
	if k.Meta.Size != 2 {
		t.Fatalf("size = %d", k.Meta.Size)
	}
	if ok, _ := tx.SetHas(k, []byte("y")); !ok {
		t.Fatal("SetHas y = false")
	}
	if ok, _ := tx.SetRemove(k, []byte("y")); !ok || k.Meta.Size != 1 {
		t.Fatalf("SetRemove = %v, size %d", ok, k.Meta.Size)
	}
	tx.SetRemove(k, []byte("x"))
	tx.SetSize(k, k.Meta.Size)
	tx.Commit()
	if k := lookupHash(t, tx, "s"); k.Exists {
		t.Fatal("an emptied set still exists")
	}
	tx.Commit()
}

// BenchmarkHashDel1M times DEL of a hash of one million fields: building
// the delete (one metadata delete plus one range tombstone) must not
// depend on the field count.
func BenchmarkHashDel1M(b *testing.B) {
	s := openMemStore(b)
	fillHash(b, s, "h", 1_000_000)
	tx := s.NewTx()
	b.ResetTimer()
	for range b.N {
		k := lookupHash(b, tx, "h")
		tx.Delete(k)
		tx.Discard()
	}
	b.StopTimer()
	k := lookupHash(b, tx, "h")
	tx.Delete(k)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// TestHashOverExpiredKey checks that a hash written over an expired one
// starts empty: the stale fields stay invisible and the count restarts.
func TestHashOverExpiredKey(t *testing.T) {
	s := openMemStore(t)
	fillHash(t, s, "h", 5)
	tx := s.NewTx()
	k := lookupHash(t, tx, "h")
	m := k.Meta
	m.ExpireAt = s.NowMs() - 1
	tx.PutMeta(k, &m)
	tx.Commit()

	k = lookupHash(t, tx, "h")
	if !k.Exists || k.Live {
		t.Fatalf("expired hash: exists %v live %v", k.Exists, k.Live)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	if added, _ := tx.HashSet(k, []byte("field:00000001"), []byte("new")); !added {
		t.Fatal("a field of the expired hash counted as existing")
	}
	tx.SetSize(k, k.Meta.Size)
	tx.Commit()

	k = lookupHash(t, tx, "h")
	if !k.Live || k.Meta.Size != 1 || k.Meta.ExpireAt != 0 {
		t.Fatalf("new hash: live %v size %d expireAt %d", k.Live, k.Meta.Size, k.Meta.ExpireAt)
	}
	var n int
	tx.HashScan(k, nil, func(_, v []byte) bool { n++; return string(v) == "new" })
	if n != 1 {
		t.Fatalf("new hash shows %d fields", n)
	}
	tx.Commit()
}
