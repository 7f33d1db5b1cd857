package storage

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// checkListRecords checks the stored form of list name against want: the
// node index and metadata agree with the nodes, no node is empty, seqs
// ascend, and the version holds no other sub-key.
func checkListRecords(t *testing.T, s *Store, name string, want [][]byte) {
	t.Helper()
	tx := s.NewTx()
	defer tx.Discard()
	k, err := tx.Lookup(0, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		if k.Exists {
			t.Fatalf("%s: empty list still exists", name)
		}
		return
	}
	refs, err := tx.listRefs(k)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for i, r := range refs {
		if i > 0 && r.seq <= refs[i-1].seq {
			t.Fatalf("%s: node seqs do not ascend: %v", name, refs)
		}
		node, err := tx.listNode(k, r.seq)
		if err != nil {
			t.Fatal(err)
		}
		items, err := listNodeItems(node)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 || uint64(len(items)) != r.n || uint64(binaryCount(node)) != r.n {
			t.Fatalf("%s: node %d holds %d elements, its records say %d", name, i, len(items), r.n)
		}
		got = append(got, items...)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("%s: list is %q, want %q", name, got, want)
	}
	if n, want := countSubKeys(t, tx, k), len(refs)+min(len(refs)-1, 1); n != want {
		t.Fatalf("%s: %d sub-keys for %d nodes", name, n, len(refs))
	}
}

// countSubKeys counts the sub-keys under k's name, of every version.
func countSubKeys(t *testing.T, tx *Tx, k *Key) int {
	t.Helper()
	start, end := encoding.SubKeySpan(k.Phys, k.Name)
	it, err := tx.Iter(start, end)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

func binaryCount(node []byte) int { return int(node[4]) | int(node[5])<<8 }

// TestListModel runs random list writes through the storage calls, several
// to a Tx, against a slice, with small nodes, and checks the stored
// records after each commit.
func TestListModel(t *testing.T) {
	for _, fill := range []int64{1, 2, 4, -1} {
		t.Run(strconv.FormatInt(fill, 10), func(t *testing.T) {
			s := openMemStore(t)
			enc := DefaultEncodings
			enc.ListFill = fill
			s.SetEncodings(enc)
			r := rand.New(rand.NewPCG(uint64(-fill+10), 3))
			var model [][]byte
			val := func() []byte {
				if r.IntN(3) == 0 {
					return []byte(strconv.Itoa(r.IntN(100000) - 50000))
				}
				return bytes.Repeat([]byte{'a' + byte(r.IntN(26))}, r.IntN(3000)/(1+r.IntN(30)))
			}
			tx := s.NewTx()
			for step := 0; step < 3000; step++ {
				tx.Lock(0, []byte("l"))
				k, err := tx.Lookup(0, []byte("l"))
				if err != nil {
					t.Fatal(err)
				}
				size := uint64(len(model))
				switch op := r.IntN(10); {
				case op < 4 || size == 0:
					left := r.IntN(2) == 0
					var vals [][]byte
					for j := r.IntN(6); j >= 0; j-- {
						vals = append(vals, val())
					}
					if _, err := tx.PrepareCollection(k, encoding.TypeList); err != nil {
						t.Fatal(err)
					}
					if _, err := tx.ListPush(k, left, vals); err != nil {
						t.Fatal(err)
					}
					for _, v := range vals {
						if left {
							model = slices.Insert(model, 0, v)
						} else {
							model = append(model, v)
						}
					}
				case op < 6:
					left := r.IntN(2) == 0
					n := uint64(1 + r.IntN(8))
					got, err := tx.ListPop(k, left, n)
					if err != nil {
						t.Fatal(err)
					}
					n = min(n, size)
					var want [][]byte
					if left {
						want, model = slices.Clone(model[:n]), model[n:]
					} else {
						for i := range n {
							want = append(want, model[size-1-i])
						}
						model = model[:size-n]
					}
					if !slices.EqualFunc(got, want, bytes.Equal) {
						t.Fatalf("step %d: pop got %q want %q", step, got, want)
					}
				case op < 7:
					pos := uint64(r.IntN(int(size)))
					v := val()
					if err := tx.ListSet(k, pos, v); err != nil {
						t.Fatal(err)
					}
					model[pos] = v
				case op < 8:
					// Inserts at one place split the same node again and
					// again, until its neighbours' seqs leave no room.
					pos := min(uint64(3), size)
					v := val()
					if _, err := tx.ListInsert(k, pos, v); err != nil {
						t.Fatal(err)
					}
					model = slices.Insert(model, int(pos), v)
				case op < 9:
					var positions []uint64
					var kept [][]byte
					for i := range model {
						if r.IntN(4) == 0 {
							positions = append(positions, uint64(i))
						} else {
							kept = append(kept, model[i])
						}
					}
					if err := tx.ListRemove(k, positions); err != nil {
						t.Fatal(err)
					}
					model = kept
				default:
					from, to := uint64(r.IntN(int(size)/8+1)), size-1-uint64(r.IntN(int(size)/8+1))
					if size < 4 {
						from, to = 0, size-1
					}
					if err := tx.ListTrim(k, from, to); err != nil {
						t.Fatal(err)
					}
					if from > to {
						model = nil
					} else {
						model = model[from : to+1]
					}
				}
				if len(model) > 0 {
					pos := uint64(r.IntN(len(model)))
					v, ok, err := tx.ListGet(k, pos, nil)
					if err != nil || !ok || !bytes.Equal(v, model[pos]) {
						t.Fatalf("step %d: LINDEX %d = %q %v %v, want %q", step, pos, v, ok, err, model[pos])
					}
					from := uint64(r.IntN(len(model)))
					to := min(from+uint64(r.IntN(40)), uint64(len(model)-1))
					var got [][]byte
					if err := tx.ListRange(k, from, to, r.IntN(2) == 0, func(p uint64, v []byte) bool {
						if !bytes.Equal(v, model[p]) {
							t.Fatalf("step %d: range %d..%d: element %d is %q, want %q", step, from, to, p, v, model[p])
						}
						got = append(got, v)
						return true
					}); err != nil {
						t.Fatal(err)
					}
					if uint64(len(got)) != to-from+1 {
						t.Fatalf("step %d: range %d..%d gave %d elements", step, from, to, len(got))
					}
				}
				if r.IntN(5) == 0 {
					if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
					checkListRecords(t, s, "l", model)
					pebbleMerges(t, s, r)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			checkListRecords(t, s, "l", model)
		})
	}
}

// pebbleMerges makes Pebble apply the nodes' edit logs at random: the
// hot cache forgets the nodes, the memtable is flushed, the store is
// compacted.
func pebbleMerges(t *testing.T, s *Store, r *rand.Rand) {
	t.Helper()
	if r.IntN(3) == 0 {
		s.meta.clear()
	}
	switch r.IntN(8) {
	case 0:
		if err := s.DB().Flush(); err != nil {
			t.Fatal(err)
		}
	case 1:
		if err := s.DB().Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListEditLogs checks that pushes and pops at the ends, one commit
// each, are stored as edit logs Pebble applies to the nodes in every
// way it reads them: through a Get, from a flushed table, merged with
// one another in a compaction, replayed from the WAL after a restart.
func TestListEditLogs(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	r := rand.New(rand.NewPCG(7, 7))
	var model [][]byte
	for step := 0; step < 4000; step++ {
		tx := s.NewTx()
		tx.Lock(0, []byte("l"))
		k, err := tx.Lookup(0, []byte("l"))
		if err != nil {
			t.Fatal(err)
		}
		left := r.IntN(2) == 0
		if r.IntN(3) > 0 || len(model) == 0 {
			v := []byte(strconv.Itoa(step))
			if r.IntN(2) == 0 {
				v = bytes.Repeat([]byte{'a' + byte(step%26)}, r.IntN(300))
			}
			if _, err := tx.PrepareCollection(k, encoding.TypeList); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ListPush(k, left, [][]byte{v}); err != nil {
				t.Fatal(err)
			}
			if left {
				model = slices.Insert(model, 0, v)
			} else {
				model = append(model, v)
			}
		} else {
			n := min(uint64(1+r.IntN(3)), uint64(len(model)))
			if _, err := tx.ListPop(k, left, n); err != nil {
				t.Fatal(err)
			}
			if left {
				model = model[n:]
			} else {
				model = model[:uint64(len(model))-n]
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if step%97 == 0 {
			s.meta.clear()
			checkListRecords(t, s, "l", model)
		}
		if step%500 == 0 {
			pebbleMerges(t, s, r)
		}
	}
	checkListRecords(t, s, "l", model)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, fs, nil)
	checkListRecords(t, s, "l", model)
	if err := s.DB().Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	checkListRecords(t, s, "l", model)
}

// TestListPushPopOneTombstonePerNode checks that popping a list of many
// nodes element by element deletes each node once, whatever its size.
func TestListPushPopOneTombstonePerNode(t *testing.T) {
	s := openMemStore(t)
	tx := s.NewTx()
	tx.Lock(0, []byte("q"))
	k, _ := tx.Lookup(0, []byte("q"))
	tx.PrepareCollection(k, encoding.TypeList)
	for i := 0; i < 10000; i++ {
		if _, err := tx.ListPush(k, true, [][]byte{fmt.Appendf(nil, "element-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx.Lock(0, []byte("q"))
	k, _ = tx.Lookup(0, []byte("q"))
	nodes := k.Meta.Nodes
	if nodes < 10 {
		t.Fatalf("10000 elements in %d nodes of 8 KB", nodes)
	}
	tx.Commit()
	deletes := 0
	for i := 0; i < 9999; i++ {
		tx.Lock(0, []byte("q"))
		k, _ = tx.Lookup(0, []byte("q"))
		if _, err := tx.ListPop(k, false, 1); err != nil {
			t.Fatal(err)
		}
		for sk, v := range tx.lists {
			if tag, _ := encoding.SubKeyTag([]byte(sk)); tag == listTag && v.v == nil {
				deletes++
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if uint64(deletes) != nodes-1 {
		t.Fatalf("popping %d nodes deleted %d node records", nodes-1, deletes)
	}
}

// TestListSplitsRenumber inserts at one position of a list of one-element
// nodes until the seqs between two nodes run out, so the nodes are
// renumbered.
func TestListSplitsRenumber(t *testing.T) {
	s := openMemStore(t)
	enc := DefaultEncodings
	enc.ListFill = 1
	s.SetEncodings(enc)
	tx := s.NewTx()
	tx.Lock(0, []byte("l"))
	k, _ := tx.Lookup(0, []byte("l"))
	tx.PrepareCollection(k, encoding.TypeList)
	model := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	if _, err := tx.ListPush(k, false, model); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		v := []byte(strconv.Itoa(i))
		if _, err := tx.ListInsert(k, 2, v); err != nil {
			t.Fatal(err)
		}
		model = slices.Insert(model, 2, v)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	checkListRecords(t, s, "l", model)
}

// TestListSnapshotRead checks that a Tx reading a snapshot (as SAVE's
// does) sees a list's nodes as of the snapshot, not as later writes left
// them.
func TestListSnapshotRead(t *testing.T) {
	s := openMemStore(t)
	tx := s.NewTx()
	tx.Lock(0, []byte("l"))
	k, _ := tx.Lookup(0, []byte("l"))
	tx.PrepareCollection(k, encoding.TypeList)
	var want [][]byte
	for i := 0; i < 3000; i++ {
		want = append(want, fmt.Appendf(nil, "element-%d", i))
	}
	if _, err := tx.ListPush(k, false, want); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	tx.Lock(0, []byte("l"))
	k, _ = tx.Lookup(0, []byte("l"))
	if _, err := tx.ListPop(k, true, 2000); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	st := &Tx{s: s, snap: snap}
	old := *k
	old.Meta = encoding.Meta{}
	v, closer, err := snap.Get(encoding.MetaKey(nil, k.Phys, k.Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := encoding.DecodeMeta(v, &old.Meta); err != nil {
		t.Fatal(err)
	}
	closer.Close()
	old.Exists, old.Live = true, true
	var got [][]byte
	if err := st.ListRange(&old, 0, ListLen(&old)-1, false, func(_ uint64, v []byte) bool {
		got = append(got, bytes.Clone(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("the snapshot's list has %d elements, want %d", len(got), len(want))
	}
}
