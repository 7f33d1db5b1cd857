package storage

import (
	"math"
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

func openZTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{Dir: "db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// zfill creates sorted set name with entries through tx.
func zfill(t *testing.T, tx *Tx, name string, es ...ZEntry) *Key {
	t.Helper()
	tx.Lock(0, []byte(name))
	k, err := tx.Lookup(0, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeZSet); err != nil {
		t.Fatal(err)
	}
	n := k.Meta.Size
	for _, e := range es {
		old, had, err := tx.ZScore(k, e.Member)
		if err != nil {
			t.Fatal(err)
		}
		tx.ZPut(k, e.Member, e.Score, old, had)
		if !had {
			n++
		}
	}
	tx.SetSize(k, n)
	return k
}

func ze(m string, s float64) ZEntry { return ZEntry{Member: []byte(m), Score: s} }

func walked(t *testing.T, f func(fn ZWalkFunc) error) []string {
	t.Helper()
	var out []string
	if err := f(func(m []byte, s float64) bool {
		out = append(out, string(m))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestZSetIndexOrder(t *testing.T) {
	s := openZTest(t)
	tx := s.NewTx()
	k := zfill(t, tx, "z", ze("pos", 2), ze("neg", -3.5), ze("ninf", math.Inf(-1)), ze("pinf", math.Inf(1)),
		ze("b", 0), ze("a", 0), ze("tiny", 1e-300), ze("big", -1e300))
	want := []string{"ninf", "big", "neg", "a", "b", "tiny", "pos", "pinf"}
	for _, commit := range []bool{false, true} {
		// Before the commit the walk reads the batch; after, Pebble.
		if commit {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if got := walked(t, func(fn ZWalkFunc) error { return tx.ZWalk(k, false, fn) }); !reflect.DeepEqual(got, want) {
			t.Fatalf("order (committed %v) = %v, want %v", commit, got, want)
		}
	}
	got := walked(t, func(fn ZWalkFunc) error { return tx.ZWalk(k, true, fn) })
	if got[0] != "pinf" || got[len(got)-1] != "ninf" {
		t.Fatalf("reverse order = %v", got)
	}

	// Moving a member drops its old index entry.
	tx.Lock(0, k.Name)
	old, had, err := tx.ZScore(k, []byte("pinf"))
	if err != nil || !had {
		t.Fatal(had, err)
	}
	tx.ZPut(k, []byte("pinf"), -10, old, had)
	got = walked(t, func(fn ZWalkFunc) error { return tx.ZWalk(k, false, fn) })
	if want := []string{"ninf", "big", "pinf", "neg", "a", "b", "tiny", "pos"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after move = %v, want %v", got, want)
	}
	if sc, _, _ := tx.ZScore(k, []byte("pinf")); sc != -10 {
		t.Fatalf("ZScore = %v", sc)
	}
	tx.ZRemove(k, []byte("pinf"), -10)
	if _, had, _ := tx.ZScore(k, []byte("pinf")); had {
		t.Fatal("removed member still has a score")
	}
	tx.Commit()
}

func TestZWalkScoreBounds(t *testing.T) {
	s := openZTest(t)
	tx := s.NewTx()
	k := zfill(t, tx, "z", ze("a", 1), ze("b", 2), ze("b2", 2), ze("c", 3), ze("z", 0), ze("nz", -1))
	tx.Commit()
	cases := []struct {
		r    ScoreRange
		rev  bool
		want []string
	}{
		{ScoreRange{Min: 1, Max: 2}, false, []string{"a", "b", "b2"}},
		{ScoreRange{Min: 1, Max: 2, MinEx: true}, false, []string{"b", "b2"}},
		{ScoreRange{Min: 1, Max: 2, MaxEx: true}, false, []string{"a"}},
		{ScoreRange{Min: 2, Max: 2}, true, []string{"b2", "b"}},
		{ScoreRange{Min: 2, Max: 2, MinEx: true}, false, nil},
		{ScoreRange{Min: 3, Max: 1}, false, nil},
		{ScoreRange{Min: math.Inf(-1), Max: 0}, false, []string{"nz", "z"}},
		{ScoreRange{Min: math.Copysign(0, -1), Max: 0}, false, []string{"z"}},
		{ScoreRange{Min: 2, Max: math.Inf(1), MinEx: true}, true, []string{"c"}},
	}
	for i, tc := range cases {
		got := walked(t, func(fn ZWalkFunc) error { return tx.ZWalkScore(k, tc.r, tc.rev, fn) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("case %d %+v rev=%v: %v, want %v", i, tc.r, tc.rev, got, tc.want)
		}
	}
	for _, m := range []struct {
		member string
		score  float64
		rank   int64
	}{{"nz", -1, 0}, {"a", 1, 2}, {"b2", 2, 4}, {"c", 3, 5}} {
		r, err := tx.ZRank(k, []byte(m.member), m.score, false)
		if err != nil || r != m.rank {
			t.Errorf("ZRank(%s) = %d, %v; want %d", m.member, r, err, m.rank)
		}
		r, err = tx.ZRank(k, []byte(m.member), m.score, true)
		if err != nil || r != 5-m.rank {
			t.Errorf("reverse ZRank(%s) = %d, %v; want %d", m.member, r, err, 5-m.rank)
		}
	}
}

func TestZWalkLex(t *testing.T) {
	s := openZTest(t)
	tx := s.NewTx()
	k := zfill(t, tx, "z", ze("a", 0), ze("b", 0), ze("bb", 0), ze("c", 0))
	tx.Commit()
	inc := func(v string) LexBound { return LexBound{Value: []byte(v)} }
	exc := func(v string) LexBound { return LexBound{Value: []byte(v), Ex: true} }
	neg, pos := LexBound{Inf: -1, Ex: true}, LexBound{Inf: 1, Ex: true}
	cases := []struct {
		r     LexRange
		rev   bool
		want  []string
		empty bool
	}{
		{LexRange{neg, pos}, false, []string{"a", "b", "bb", "c"}, false},
		{LexRange{exc("a"), inc("bb")}, false, []string{"b", "bb"}, false},
		{LexRange{inc("b"), exc("c")}, true, []string{"bb", "b"}, false},
		{LexRange{inc("b"), inc("b")}, false, []string{"b"}, false},
		{LexRange{exc("b"), inc("b")}, false, nil, true},
		{LexRange{pos, neg}, false, nil, true},
		{LexRange{neg, neg}, false, nil, true},
		{LexRange{inc("c"), inc("a")}, false, nil, true},
		{LexRange{inc("bz"), pos}, false, []string{"c"}, false},
	}
	for i, tc := range cases {
		if tc.r.Empty() != tc.empty {
			t.Errorf("case %d: Empty = %v", i, !tc.empty)
		}
		got := walked(t, func(fn ZWalkFunc) error { return tx.ZWalkLex(k, tc.r, tc.rev, fn) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("case %d rev=%v: %v, want %v", i, tc.rev, got, tc.want)
		}
	}
}

func TestZStoreReplaces(t *testing.T) {
	s := openZTest(t)
	tx := s.NewTx()
	zfill(t, tx, "dst", ze("old1", 1), ze("old2", 2))
	tx.Commit()

	tx.Lock(0, []byte("dst"))
	k, err := tx.Lookup(0, []byte("dst"))
	if err != nil {
		t.Fatal(err)
	}
	tx.ZStore(k, []ZEntry{ze("n1", 5), ze("n2", -5)})
	tx.Commit()

	k, _ = tx.Lookup(0, []byte("dst"))
	if !k.Live || k.Meta.Size != 2 || k.Meta.Type != encoding.TypeZSet {
		t.Fatalf("meta after ZStore = %+v", k.Meta)
	}
	if got := walked(t, func(fn ZWalkFunc) error { return tx.ZWalk(k, false, fn) }); !reflect.DeepEqual(got, []string{"n2", "n1"}) {
		t.Fatalf("members = %v", got)
	}
	var names []string
	if err := tx.WalkMembers(k, ZTagMember, nil, func(m, v []byte) bool {
		sc, err := ZDecodeScore(v)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(m))
		_ = sc
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"n1", "n2"}) {
		t.Fatalf("member walk = %v", names)
	}
	names = nil
	tx.WalkMembers(k, ZTagMember, []byte("n1"), func(m, v []byte) bool {
		names = append(names, string(m))
		return true
	})
	if !reflect.DeepEqual(names, []string{"n2"}) {
		t.Fatalf("member walk after n1 = %v", names)
	}
	// The old version's sub-keys are gone: nothing but the new members'
	// two sub-keys each remains under the key.
	if n := countSubKeys(t, tx, k); n != 4 {
		t.Fatalf("%d sub-keys under the key, want 4", n)
	}

	tx.Lock(0, []byte("dst"))
	k, _ = tx.Lookup(0, []byte("dst"))
	tx.ZStore(k, nil)
	tx.Commit()
	if k, _ = tx.Lookup(0, []byte("dst")); k.Exists {
		t.Fatal("ZStore of nothing left the key")
	}
}
