package storage

import (
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// hashFields returns the fields of hash name as HashWalk gives them,
// read through tx.
func hashFields(t *testing.T, tx *Tx, name string) []string {
	t.Helper()
	k := lookupHash(t, tx, name)
	var out []string
	if !k.Live {
		return out
	}
	if err := tx.HashWalk(k, func(f, _ []byte) bool {
		out = append(out, string(f))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHashOrderFollowsWrites checks that a compact hash answers its
// fields in the order they were added through the writes of one Tx
// (several commands before a commit), after commits, across a reopen and
// a RESTORE, and in byte order once a write made it large.
func TestHashOrderFollowsWrites(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	tx := s.NewTx()
	write := func(name string, fn func(k *Key)) {
		t.Helper()
		k := lookupHash(t, tx, name)
		if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
			t.Fatal(err)
		}
		fn(k)
		tx.SetSize(k, k.Meta.Size)
	}
	set := func(name string, fvs ...string) {
		t.Helper()
		write(name, func(k *Key) {
			for i := 0; i < len(fvs); i += 2 {
				if _, err := tx.HashSet(k, []byte(fvs[i]), []byte(fvs[i+1])); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	del := func(name string, fields ...string) {
		t.Helper()
		write(name, func(k *Key) {
			for _, f := range fields {
				if _, err := tx.HashDelete(k, []byte(f)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	want := func(when, name string, fields ...string) {
		t.Helper()
		if got := hashFields(t, tx, name); !slices.Equal(got, fields) {
			t.Fatalf("%s: %s walks %q, want %q", when, name, got, fields)
		}
	}
	commit := func() {
		t.Helper()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}

	// Commands of one Tx, then its commit.
	set("h", "c", "1", "a", "2")
	set("h", "b", "3", "a", "4") // a keeps its place
	del("h", "c")
	set("h", "c", "5") // back, last
	want("before the commit", "h", "a", "b", "c")
	commit()
	want("after the commit", "h", "a", "b", "c")
	del("h", "a", "b", "c")
	commit()
	want("emptied", "h")
	set("h", "z", "1", "y", "2")
	commit()
	want("made again", "h", "z", "y")

	// A long value makes the hash large: byte order, and no going back.
	set("big", "q", "1", "p", "2")
	set("big", "long", strings.Repeat("x", 100))
	del("big", "long")
	commit()
	want("large", "big", "p", "q")

	// RESTORE builds the hash whole, in the payload's order.
	restore := lookupHash(t, tx, "r")
	tx.Restore(restore, &DumpValue{Type: encoding.TypeHash, Items: [][]byte{[]byte("n"), []byte("1"), []byte("m"), []byte("2")}}, 0)
	commit()
	want("restored", "r", "n", "m")
	set("r", "l", "3")
	commit()

	s.Close()
	s = openTest(t, fs, nil)
	tx = s.NewTx()
	want("reopened", "h", "z", "y")
	want("reopened", "r", "n", "m", "l")
	want("reopened", "big", "p", "q")
}

// TestHashOrderThatDisagreesIsNotFollowed checks that a compact hash
// whose listed order does not match its fields (a field twice, one
// missing, one unknown) answers every field once, in byte order.
func TestHashOrderThatDisagreesIsNotFollowed(t *testing.T) {
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	k := lookupHash(t, tx, "h")
	if _, err := tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"c", "a", "b"} {
		if _, err := tx.HashSet(k, []byte(f), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	tx.SetSize(k, k.Meta.Size)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"c", "c", "a"}, {"c", "a"}, {"c", "a", "z"}, {"c", "a", "b", "d"}} {
		k := lookupHash(t, tx, "h")
		k.Meta.Order = hashOrderOf([][]byte{[]byte(bad[0]), nil, []byte(bad[1]), nil})
		for _, f := range bad[2:] {
			k.Meta.Order = append(hashOrderOf([][]byte{[]byte(f), nil}), k.Meta.Order...)
		}
		tx.PutMeta(k, &k.Meta)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := hashFields(t, tx, "h"); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("order %q: the hash walks %q, want every field once in byte order", bad, got)
		}
	}
}
