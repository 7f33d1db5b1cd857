package storage

import (
	"bytes"
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

	// Reopened with a key, it knows again once its warm-up read it.
	s.Close()
	s = openTest(t, fs, nil)
	<-s.warmDone()
	before = misses()
	if v, ok := getString(t, s, 0, "a"); !ok || v != "1" {
		t.Fatalf("a after reopen = %q, %v", v, ok)
	}
	if _, ok := getString(t, s, 0, "new"); ok {
		t.Fatal("a key never written exists")
	}
	if m := misses(); m != before {
		t.Fatalf("lookups after the warm-up read Pebble: misses %d → %d", before, m)
	}

	// A bulk load writes around the cache: it no longer knows.
	s.meta.forget()
	before = misses()
	if _, ok := getString(t, s, 0, "new"); ok {
		t.Fatal("a key never written exists")
	}
	if misses() == before {
		t.Fatal("the lookup of an absent key answered without Pebble after a bulk load")
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

// A store reopened with keys warms its hot cache while writers change the
// keys: once the warm-up ends, every lookup answers what was written last,
// absent keys from the cache alone.
func TestMetaCacheWarmUpUnderWrites(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	const keys, writers = 20000, 2
	name := func(i int) string { return "key:" + strconv.Itoa(i) }
	tx := s.NewTx()
	for i := range keys {
		if i%3 != 0 {
			putString(t, tx, 0, name(i), "v0", 0)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openTest(t, fs, nil)
	if s.warmDone() == nil {
		t.Fatal("no warm-up began")
	}
	models := make([]map[string]string, writers)
	done := make(chan error, writers)
	for w := range writers {
		models[w] = map[string]string{}
		go func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			tx := s.NewTx()
			for r := range 3000 {
				i := rng.IntN(keys/writers)*writers + w
				tx.Lock(0, []byte(name(i)))
				k, err := tx.Lookup(0, []byte(name(i)))
				if err != nil {
					done <- err
					return
				}
				if rng.IntN(2) == 0 {
					if k.Exists {
						tx.Delete(k)
					}
					models[w][name(i)] = ""
				} else {
					v := "w" + strconv.Itoa(r)
					tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: []byte(v)})
					models[w][name(i)] = v
				}
				if err := tx.Commit(); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range writers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	<-s.warmDone()
	_, before := s.MetaCacheStats()
	for i := range keys + 100 {
		want, wrote := models[i%writers][name(i)]
		if !wrote && i < keys && i%3 != 0 {
			want = "v0"
		}
		v, ok := getString(t, s, 0, name(i))
		if ok != (want != "") || v != want {
			t.Fatalf("%s = %q, %v; want %q", name(i), v, ok, want)
		}
	}
	if _, m := s.MetaCacheStats(); m != before {
		t.Fatalf("lookups after the warm-up read Pebble: misses %d → %d", before, m)
	}
}

// A store whose keys cannot fit its hot cache is not warmed, and reads
// what it does not hold from Pebble.
func TestMetaCacheNoWarmUpBeyondBudget(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{Dir: "db", FS: fs, ExpireHz: -1, MetaCacheBytes: 64 << 10}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	tx := s.NewTx()
	for i := range 5000 {
		putString(t, tx, 0, "key:"+strconv.Itoa(i), "v", 0)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.warmDone() != nil {
		t.Fatal("a warm-up began for more keys than the cache holds")
	}
	for i := range 5100 {
		if _, ok := getString(t, s, 0, "key:"+strconv.Itoa(i)); ok != (i < 5000) {
			t.Fatalf("key:%d exists: %v", i, ok)
		}
	}
}

// Writes during the warm-up of a hot cache too small for some shards evict
// records, deleted keys' among them: no shard puts back a record its
// warm-up read before.
func TestMetaCacheWarmUpUnderEviction(t *testing.T) {
	for round := range 3 {
		fs := vfs.NewMem()
		opts := Options{Dir: "db", FS: fs, ExpireHz: -1, MetaCacheBytes: 2 << 20}
		s, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		const keys = 20000
		name := func(i int) string { return "key:" + strconv.Itoa(i) }
		model := map[string]string{}
		tx := s.NewTx()
		for i := range keys {
			putString(t, tx, 0, name(i), "v0", 0)
			model[name(i)] = "v0"
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if s, err = Open(opts); err != nil {
			t.Fatal(err)
		}
		if s.warmDone() == nil {
			t.Fatal("no warm-up began")
		}
		tx = s.NewTx()
		rng := rand.New(rand.NewPCG(uint64(round), 9))
		for r := range 6000 {
			i := rng.IntN(keys + keys/2)
			tx.Lock(0, []byte(name(i)))
			k, err := tx.Lookup(0, []byte(name(i)))
			if err != nil {
				t.Fatal(err)
			}
			if i < keys && rng.IntN(2) == 0 {
				if k.Exists {
					tx.Delete(k)
				}
				delete(model, name(i))
			} else {
				v := "w" + strconv.Itoa(r)
				tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: []byte(v)})
				model[name(i)] = v
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		<-s.warmDone()
		for i := range keys + keys/2 {
			want, has := model[name(i)]
			if v, ok := getString(t, s, 0, name(i)); ok != has || v != want {
				t.Fatalf("round %d: %s = %q, %v; want %q, %v", round, name(i), v, ok, want, has)
			}
		}
		s.Close()
	}
}

// A key deleted after the warm-up's iterator read it, whose absence the
// shard then evicts, is not put back by the warm-up: the eviction ends
// the shard's warm-up.
func TestMetaCacheWarmUpEndsAtEviction(t *testing.T) {
	c := newMetaCache(1 << 20)
	key := encoding.MetaKey(nil, 0, []byte("k"))
	stale := encoding.AppendMeta(nil, &encoding.Meta{Type: encoding.TypeString, Value: []byte("old")})
	sh := c.shard(key)
	epoch := c.epoch.Add(1)
	sh.warm = true
	sh.mu.Lock()
	c.setLocked(sh, string(key), nil, true) // the delete's commit
	sh.evictLocked(0)
	sh.mu.Unlock()
	c.warmAdd(key, stale, epoch)
	if _, ok := sh.m[string(key)]; ok || sh.warm {
		t.Fatalf("warm-up put back a deleted key's record (held %v, still warming %v)", ok, sh.warm)
	}
}

// A complete shard that must evict drops what it knows absent first, so
// that keys written and deleted again and again do not cost it the keys
// it holds, nor its completeness.
func TestMetaCacheCompleteEvictsAbsentFirst(t *testing.T) {
	s, err := Open(Options{Dir: "db", FS: vfs.NewMem(), ExpireHz: -1, MetaCacheBytes: 512 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// NB: at most 7 keys held in a shard of about 25 entries (odds of
	// more: 3 in 10,000), so that any 8 entries a shard looks at hold
	// one known absent.
	const held = 128
	tx := s.NewTx()
	for i := range held {
		putString(t, tx, 0, "held:"+strconv.Itoa(i), "v", 0)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range 20000 {
		name := "churn:" + strconv.Itoa(i)
		putString(t, tx, 0, name, "v", 0)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		tx.Lock(0, []byte(name))
		k, err := tx.Lookup(0, []byte(name))
		if err != nil {
			t.Fatal(err)
		}
		tx.Delete(k)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.MetaCacheCompleteShards(); n != metaShards {
		t.Fatalf("%d of %d shards complete after writes and deletes of new keys", n, metaShards)
	}
	_, before := s.MetaCacheStats()
	for i := range held {
		if v, ok := getString(t, s, 0, "held:"+strconv.Itoa(i)); !ok || v != "v" {
			t.Fatalf("held:%d = %q, %v", i, v, ok)
		}
	}
	if _, m := s.MetaCacheStats(); m != before {
		t.Fatalf("held keys read from Pebble: misses %d → %d", before, m)
	}
}

// An RDB loaded into an empty store goes around the hot cache, which
// stops knowing absent keys, then warms up: once it ends, every loaded
// key is found and an absent one answers from the cache.
func TestMetaCacheWarmUpAfterLoad(t *testing.T) {
	src := openTest(t, nil, nil)
	tx := src.NewTx()
	for i := range 3000 {
		putString(t, tx, 0, "k"+strconv.Itoa(i), strconv.Itoa(i), 0)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := src.WriteRDB(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	dst := openTest(t, nil, nil)
	if n := dst.MetaCacheCompleteShards(); n != metaShards {
		t.Fatalf("empty store: %d complete shards", n)
	}
	if _, err := dst.LoadRDB(buf.Bytes(), RDBLoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if dst.warmDone() == nil {
		t.Fatal("no warm-up after the load")
	}
	<-dst.warmDone()
	if n := dst.MetaCacheCompleteShards(); n != metaShards {
		t.Fatalf("after the load's warm-up: %d complete shards", n)
	}
	_, before := dst.MetaCacheStats()
	for i := range 3100 {
		v, ok := getString(t, dst, 0, "k"+strconv.Itoa(i))
		if ok != (i < 3000) || ok && v != strconv.Itoa(i) {
			t.Fatalf("k%d = %q, %v", i, v, ok)
		}
	}
	if _, m := dst.MetaCacheStats(); m != before {
		t.Fatalf("lookups after the warm-up read Pebble: misses %d → %d", before, m)
	}
}
