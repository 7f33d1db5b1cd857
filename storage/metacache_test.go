package storage

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Readers that take no lock must never see a key go back to an older value
// once they saw a newer one: the cache may not keep a value read before a
// commit that a reader has already observed.
func TestMetaCacheMonotonicUnderConcurrency(t *testing.T) {
	s := openTest(t, nil, nil)
	const keys, rounds = 8, 400
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tx := s.NewTx()
			for i := 0; i < rounds; i++ {
				for k := w; k < keys; k += 2 {
					name := []byte("k" + strconv.Itoa(k))
					tx.Lock(0, name)
					key, _ := tx.Lookup(0, name)
					n := 0
					if key.Live {
						n, _ = strconv.Atoi(string(key.Meta.Value))
					}
					tx.PutMeta(key, &encoding.Meta{Type: encoding.TypeString, Value: []byte(strconv.Itoa(n + 1))})
					tx.Commit()
				}
			}
		}(w)
	}
	errs := make(chan error, 4)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := s.NewTx()
			last := make([]int, keys)
			for i := 0; i < rounds*2; i++ {
				k := i % keys
				key, err := tx.Lookup(0, []byte("k"+strconv.Itoa(k)))
				if err != nil {
					errs <- err
					return
				}
				n := 0
				if key.Live {
					n, _ = strconv.Atoi(string(key.Meta.Value))
				}
				if n < last[k] {
					errs <- fmt.Errorf("key %d went back from %d to %d", k, last[k], n)
					return
				}
				last[k] = n
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := 0; k < keys; k++ {
		if v, _ := getString(t, s, 0, "k"+strconv.Itoa(k)); v != strconv.Itoa(rounds) {
			t.Fatalf("k%d = %s, want %d", k, v, rounds)
		}
	}
}

func TestTxSeesOwnDeletesAndFlush(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "a", "1", 0)
	putString(t, tx, 1, "b", "2", 0)
	tx.Commit()
	getString(t, s, 0, "a") // cached now

	tx.Lock(0, []byte("a"))
	k, _ := tx.Lookup(0, []byte("a"))
	tx.Delete(k)
	if k2, _ := tx.Lookup(0, []byte("a")); k2.Exists {
		t.Fatal("Tx does not see its own delete")
	}
	putString(t, tx, 0, "a", "3", 0)
	tx.LockAll()
	tx.FlushDB(0)
	if k2, _ := tx.Lookup(0, []byte("a")); k2.Exists {
		t.Fatal("Tx sees a key its FLUSHDB removed")
	}
	putString(t, tx, 0, "c", "4", 0)
	if v, ok := func() (string, bool) { k, _ := tx.Lookup(0, []byte("c")); return string(k.Meta.Value), k.Live }(); !ok || v != "4" {
		t.Fatal("write after FLUSHDB in the same Tx not visible")
	}
	tx.Commit()
	if _, ok := getString(t, s, 0, "a"); ok {
		t.Fatal("flushed key visible after commit")
	}
	if v, ok := getString(t, s, 0, "c"); !ok || v != "4" {
		t.Fatal("key written after FLUSHDB lost")
	}
	if v, ok := getString(t, s, 1, "b"); !ok || v != "2" {
		t.Fatal("other database touched by FLUSHDB")
	}
	// A discarded write never reaches the cache.
	putString(t, tx, 0, "c", "discarded", 0)
	tx.Discard()
	if v, _ := getString(t, s, 0, "c"); v != "4" {
		t.Fatalf("discarded write visible: %q", v)
	}
}

// A member whose value is too long for the hot cache is cached as present:
// writes that only ask whether it exists stay in memory, while reads of
// its value still get the value from Pebble.
func TestMetaCacheLongMemberIsPresentWithoutValue(t *testing.T) {
	s := openMemStore(t)
	long := func(c byte) []byte { return bytes.Repeat([]byte{c}, cachedValueMax+1) }
	hset := func(val []byte) bool {
		t.Helper()
		tx := s.NewTx()
		k := lookupHash(t, tx, "h")
		if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
			t.Fatal(err)
		}
		added, err := tx.HashSet(k, []byte("f"), val)
		if err != nil {
			t.Fatal(err)
		}
		tx.SetSize(k, k.Meta.Size)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return added
	}
	hget := func() ([]byte, bool) {
		t.Helper()
		tx := s.NewTx()
		defer tx.Discard()
		v, ok, err := tx.HashGet(lookupHash(t, tx, "h"), []byte("f"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return v, ok
	}

	if !hset(long('a')) {
		t.Fatal("first HSET did not add the field")
	}
	if v, ok := hget(); !ok || !bytes.Equal(v, long('a')) {
		t.Fatalf("HGET after HSET of a long value: %q, %v", v, ok)
	}
	_, missesBefore := s.MetaCacheStats()
	if hset(long('b')) {
		t.Fatal("HSET of an existing field with a long value reported it new")
	}
	if _, misses := s.MetaCacheStats(); misses != missesBefore {
		t.Fatalf("HSET of an existing long field missed the hot cache %d times", misses-missesBefore)
	}
	if v, ok := hget(); !ok || !bytes.Equal(v, long('b')) {
		t.Fatalf("HGET after overwrite: %q, %v", v, ok)
	}
	if hset([]byte("short")) {
		t.Fatal("HSET of a short value over a long one reported it new")
	}
	if v, ok := hget(); !ok || string(v) != "short" {
		t.Fatalf("HGET after a short overwrite: %q, %v", v, ok)
	}
	hset(long('c'))
	tx := s.NewTx()
	k := lookupHash(t, tx, "h")
	if ok, err := tx.HashDelete(k, []byte("f")); err != nil || !ok {
		t.Fatalf("HDEL of a long field: %v, %v", ok, err)
	}
	tx.SetSize(k, k.Meta.Size)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, ok := hget(); ok {
		t.Fatalf("HGET after HDEL: %q", v)
	}
}

// A commit of more records than publishInsertMax (an MSET of many keys, an
// SADD of many members) hides them all while it applies and publishes
// them after: readers that take no lock never see a key go back, never
// miss a member of a commit whose key they saw, and read the last values
// once the writer is done, from the cache for the keys it wrote.
func TestMetaCacheLargeCommitsUnderConcurrency(t *testing.T) {
	s := openTest(t, nil, nil)
	const keys, rounds = 2*publishInsertMax + 7, 12
	names := make([][]byte, keys)
	for i := range names {
		names[i] = []byte("k" + strconv.Itoa(i))
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		tx := s.NewTx()
		for r := 1; r <= rounds; r++ {
			tx.Lock(0, append([][]byte{[]byte("s")}, names...)...)
			v := []byte(strconv.Itoa(r))
			for _, name := range names {
				k, err := tx.Lookup(0, name)
				if err != nil {
					errs <- err
					return
				}
				tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: v})
			}
			set, err := tx.Lookup(0, []byte("s"))
			if err == nil {
				_, err = tx.PrepareCollection(set, encoding.TypeSet)
			}
			for i := 0; err == nil && i < keys; i++ {
				_, err = tx.SetAdd(set, []byte(strconv.Itoa(r)+":"+strconv.Itoa(i)))
			}
			if err != nil {
				errs <- err
				return
			}
			tx.SetSize(set, set.Meta.Size)
			if err := tx.Commit(); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := s.NewTx()
			last := make([]int, keys)
			for i := w; ; i += 7 {
				select {
				case <-done:
					return
				default:
				}
				k := i % keys
				key, err := tx.Lookup(0, names[k])
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(string(key.Meta.Value))
				if n < last[k] {
					errs <- fmt.Errorf("k%d went back from %d to %d", k, last[k], n)
					return
				}
				last[k] = n
				if n == 0 {
					continue
				}
				set, err := tx.Lookup(0, []byte("s"))
				if err != nil {
					errs <- err
					return
				}
				if ok, err := tx.SetHas(set, []byte(strconv.Itoa(n)+":"+strconv.Itoa(k))); err != nil || !ok {
					errs <- fmt.Errorf("k%d reads %d, member %d:%d missing (%v)", k, n, n, k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	hits, _ := s.MetaCacheStats()
	for i, name := range names {
		if v, _ := getString(t, s, 0, string(name)); v != strconv.Itoa(rounds) {
			t.Fatalf("k%d = %s, want %d", i, v, rounds)
		}
	}
	if after, _ := s.MetaCacheStats(); after-hits < keys {
		t.Fatalf("%d of %d keys read from the cache after the commits", after-hits, keys)
	}
}

// A set member, whose value is empty, read from Pebble (after a restart,
// or written by a commit too large to add members to the cache) is
// cached as present: the second SISMEMBER finds it as the first did.
func TestMetaCacheFillsEmptyMemberAsPresent(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	tx := s.NewTx()
	set := lookupHash(t, tx, "s")
	if _, err := tx.PrepareCollection(set, encoding.TypeSet); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.SetAdd(set, []byte("m")); err != nil {
		t.Fatal(err)
	}
	tx.SetSize(set, set.Meta.Size)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, fs, nil)
	tx = s.NewTx()
	for i := range 2 {
		set := lookupHash(t, tx, "s")
		if ok, err := tx.SetHas(set, []byte("m")); err != nil || !ok {
			t.Fatalf("SISMEMBER %d after reopen: %v, %v", i+1, ok, err)
		}
		tx.Commit()
	}
}

// A large commit of many small commands (a replica's grouped commit) adds
// its members to the cache, so that the stream's next commands find them
// there; one that holds a command of many members (Tx.Reserve) adds none.
func TestMetaCacheLargeCommitMembers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reserve bool
		cached  bool
	}{{"small commands", false, true}, {"one command of many", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, nil, nil)
			tx := s.NewTx()
			const n = 2 * publishInsertMax
			if tc.reserve {
				tx.Reserve(n, n*16)
			}
			name := []byte("s")
			tx.Lock(0, name)
			set, err := tx.Lookup(0, name)
			if err == nil {
				_, err = tx.PrepareCollection(set, encoding.TypeSet)
			}
			for i := 0; err == nil && i < n; i++ {
				_, err = tx.SetAdd(set, []byte(strconv.Itoa(i)))
			}
			if err != nil {
				t.Fatal(err)
			}
			tx.SetSize(set, set.Meta.Size)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			cached := 0
			for i := range n {
				if _, found, _ := s.meta.get(MemberKey(nil, set, SetMemberTag, []byte(strconv.Itoa(i))), nil); found {
					cached++
				}
			}
			if want := map[bool]int{true: n, false: 0}[tc.cached]; cached != want {
				t.Errorf("%d of %d members cached, want %d", cached, n, want)
			}
		})
	}
}
