package commands

import (
	"fmt"
	"testing"
)

func TestCursorTable(t *testing.T) {
	ct := NewCursorTable(4)
	if _, ok := ct.Load(0); ok {
		t.Fatal("cursor 0 names a position")
	}
	pos := []byte("key:1")
	id := ct.Save(pos)
	if id == 0 || id >= cursorLimit {
		t.Fatalf("Save = %d", id)
	}
	pos[0] = 'X' // the table keeps its own copy
	if got, ok := ct.Load(id); !ok || string(got) != "key:1" {
		t.Fatalf("Load(%d) = %q, %v", id, got, ok)
	}
	// Loading does not consume: a client may repeat a call.
	if _, ok := ct.Load(id); !ok {
		t.Fatal("second Load failed")
	}
	if _, ok := ct.Load(id + 1000); ok {
		t.Fatal("unknown cursor loaded")
	}

	// The oldest cursors are forgotten once the table is full.
	ids := []uint64{id}
	for i := 2; i <= 6; i++ {
		ids = append(ids, ct.Save(fmt.Appendf(nil, "key:%d", i)))
	}
	for i, id := range ids {
		got, ok := ct.Load(id)
		if want := i >= 2; ok != want {
			t.Fatalf("cursor %d (key:%d) known = %v, want %v", id, i+1, ok, want)
		}
		if ok && string(got) != fmt.Sprintf("key:%d", i+1) {
			t.Fatalf("cursor %d = %q", id, got)
		}
	}
	if len(ct.mu.pos) != 4 {
		t.Fatalf("table holds %d cursors, want 4", len(ct.mu.pos))
	}
}
