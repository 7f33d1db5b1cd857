package storage

import (
	"testing"

	"github.com/shoaldb/shoal/storage/encoding"
)

// TestAbsorbCommitsBothAsOne has one Tx take another's writes of other
// keys, sets and lists included, and commit them: nothing shows before
// the commit, everything after, with both Txs' key counts, and the
// absorbed Tx's locks are released by the commit.
func TestAbsorbCommitsBothAsOne(t *testing.T) {
	s := openTest(t, nil, nil)
	main, other := s.NewTx(), s.NewTx()
	putString(t, main, 0, "a", "1", 0)
	putString(t, other, 0, "b", "2", s.NowMs()+100000)
	putString(t, other, 3, "c", "3", 0)
	set := lookupHash(t, other, "set")
	if _, err := other.PrepareCollection(set, encoding.TypeSet); err != nil {
		t.Fatal(err)
	}
	if _, err := other.SetAdd(set, []byte("m")); err != nil {
		t.Fatal(err)
	}
	other.SetSize(set, 1)
	list := lookupHash(t, other, "list")
	if _, err := other.PrepareCollection(list, encoding.TypeList); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ListPush(list, false, [][]byte{[]byte("x"), []byte("y")}); err != nil {
		t.Fatal(err)
	}
	main.Absorb(other)
	if other.Pending() || other.Holding() {
		t.Fatalf("the absorbed Tx keeps work (%v) or locks (%v)", other.Pending(), other.Holding())
	}
	if s.KeyCount(0) != 0 {
		t.Fatalf("KeyCount before the commit = %d", s.KeyCount(0))
	}
	if err := main.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.KeyCount(0) != 4 || s.ExpiresCount(0) != 1 || s.KeyCount(3) != 1 {
		t.Fatalf("counts: db0 %d/%d db3 %d", s.KeyCount(0), s.ExpiresCount(0), s.KeyCount(3))
	}
	// NB: a lock still held would block here.
	check := s.NewTx()
	for _, key := range []string{"a", "b", "set", "list"} {
		check.Lock(0, []byte(key))
		if k := lookupHash(t, check, key); !k.Live {
			t.Errorf("%s is missing after the commit", key)
		}
	}
	if n := lookupHash(t, check, "set").Meta.Size; n != 1 {
		t.Errorf("the set has %d members", n)
	}
	if n := lookupHash(t, check, "list").Meta.Size; n != 2 {
		t.Errorf("the list has %d elements", n)
	}
	check.Discard()
}
