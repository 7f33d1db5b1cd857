package storage

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A store that holds no key knows every key it writes from then on: the
// lookup of a key it never wrote answers from the hot cache, without
// reading Pebble, until the cache drops a record (eviction), a bulk load
// writes around it, or the store reopens with keys; FLUSHALL brings it back.
func TestMetaCacheCompleteWhileEmpty(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	misses := func() int64 { _, m := s.MetaCacheStats(); return m }
	tx := s.NewTx()
	putString(t, tx, 0, "a", "1", 0)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	before := misses()
	if _, ok := getString(t, s, 0, "new"); ok {
		t.Fatal("a key never written exists")
	}
	if v, ok := getString(t, s, 0, "a"); !ok || v != "1" {
		t.Fatalf("a = %q, %v", v, ok)
	}
	if m := misses(); m != before {
		t.Fatalf("lookups of an empty store's keys read Pebble: misses %d → %d", before, m)
	}

	// Reopened with a key, it no longer knows what Pebble holds.
	s.Close()
	s = openTest(t, fs, nil)
	if v, ok := getString(t, s, 0, "a"); !ok || v != "1" {
		t.Fatalf("a after reopen = %q, %v", v, ok)
	}
	before = misses()
	if _, ok := getString(t, s, 0, "new"); ok {
		t.Fatal("a key never written exists")
	}
	if misses() == before {
		t.Fatal("the lookup of an absent key answered without Pebble in a store opened with keys")
	}

	// FLUSHALL empties it: complete again, and the keys written after are
	// found.
	tx = s.NewTx()
	tx.LockAll()
	for db := range 16 {
		tx.FlushDB(db)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	putString(t, tx, 0, "b", "2", 0)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	before = misses()
	for _, k := range []string{"a", "new"} {
		if _, ok := getString(t, s, 0, k); ok {
			t.Fatalf("%s exists after FLUSHALL", k)
		}
	}
	if v, ok := getString(t, s, 0, "b"); !ok || v != "2" {
		t.Fatalf("b = %q, %v", v, ok)
	}
	if m := misses(); m != before {
		t.Fatalf("lookups after FLUSHALL read Pebble: misses %d → %d", before, m)
	}
}

// Keys written and deleted at random through a hot cache far smaller than
// them: every lookup answers what was written, though shards drop records
// and stop knowing which keys are absent.
func TestMetaCacheCompleteUnderEviction(t *testing.T) {
	s, err := Open(Options{Dir: "db", FS: vfs.NewMem(), ExpireHz: -1, MetaCacheBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	tx := s.NewTx()
	for i := range 20000 {
		name := "key:" + strconv.Itoa(rng.IntN(3000))
		switch rng.IntN(4) {
		case 0:
			tx.Lock(0, []byte(name))
			k, err := tx.Lookup(0, []byte(name))
			if err != nil {
				t.Fatal(err)
			}
			if k.Exists {
				tx.Delete(k)
			}
			delete(model, name)
		case 1, 2:
			val := strconv.Itoa(i) + string(make([]byte, rng.IntN(600)))
			putString(t, tx, 0, name, val, 0)
			model[name] = val
		default:
			v, ok := getString(t, s, 0, name)
			if want, has := model[name]; ok != has || v != want {
				t.Fatalf("op %d: %s = %d bytes, %v; want %d bytes, %v", i, name, len(v), ok, len(want), has)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3000 {
		name := "key:" + strconv.Itoa(i)
		v, ok := getString(t, s, 0, name)
		if want, has := model[name]; ok != has || v != want {
			t.Fatalf("%s = %d bytes, %v; want %d bytes, %v", name, len(v), ok, len(want), has)
		}
	}
}

// Members follow their shards' completeness: a hash field never written
// answers from the cache, and the members of one command of many, which
// the cache does not take, are found in Pebble.
func TestMetaCacheCompleteMembers(t *testing.T) {
	s := openTest(t, nil, nil)
	misses := func() int64 { _, m := s.MetaCacheStats(); return m }
	tx := s.NewTx()
	h := lookupHash(t, tx, "h")
	if _, err := tx.PrepareCollection(h, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.HashSet(h, []byte("f1"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	tx.SetSize(h, h.Meta.Size)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	before := misses()
	h = lookupHash(t, tx, "h")
	if v, ok, err := tx.HashGet(h, []byte("f1"), nil); err != nil || !ok || string(v) != "v1" {
		t.Fatalf("HGET h f1 = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := tx.HashGet(h, []byte("f2"), nil); err != nil || ok {
		t.Fatalf("HGET h f2 = %v, %v", ok, err)
	}
	tx.Discard()
	if m := misses(); m != before {
		t.Fatalf("lookups of an empty store's hash read Pebble: misses %d → %d", before, m)
	}

	const n = 2 * publishInsertMax
	tx.Reserve(n, n*16)
	set := lookupHash(t, tx, "s")
	if _, err := tx.PrepareCollection(set, encoding.TypeSet); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.SetAdd(set, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	tx.SetSize(set, set.Meta.Size)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	set = lookupHash(t, tx, "s")
	for i := range n + 10 {
		ok, err := tx.SetHas(set, []byte(strconv.Itoa(i)))
		if err != nil || ok != (i < n) {
			t.Fatalf("SISMEMBER s %d = %v, %v", i, ok, err)
		}
	}
	tx.Discard()
}
