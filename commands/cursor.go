package commands

import (
	"bytes"
	"math/rand/v2"
	"sync"
)

// CursorTable turns scan positions into the numbers Redis clients expect as
// cursors. Redis's cursor is a position in its hash table; Shoal's keys are
// ordered in Pebble, so a position is the last key (or member) returned,
// and the table maps a number to it. SCAN, HSCAN, SSCAN and ZSCAN share one
// table per server.
//
// The table is bounded: when full, the oldest cursor is forgotten, and a
// forgotten or unknown cursor restarts its scan from the beginning (a
// client sees keys again, which SCAN's guarantees allow). Cursor 0 is never
// handed out: it starts and ends a scan. A CursorTable is safe for
// concurrent use.
type CursorTable struct {
	mu struct {
		sync.Mutex
		next uint64
		pos  map[uint64][]byte
		ring []uint64 // ids in the order they were saved
		head int      // next ring slot to reuse
	}
}

// DefaultCursors is the number of cursors a server remembers.
const DefaultCursors = 16384

// cursorLimit keeps ids below 2^53 so that clients that read the cursor as a
// number (JavaScript's, or a signed 64-bit integer) hold it exactly.
const cursorLimit = 1 << 53

// NewCursorTable returns a table remembering up to size cursors
// (DefaultCursors when size <= 0).
func NewCursorTable(size int) *CursorTable {
	if size <= 0 {
		size = DefaultCursors
	}
	t := &CursorTable{}
	t.mu.pos = make(map[uint64][]byte, size)
	t.mu.ring = make([]uint64, 0, size)
	// A random start makes a cursor kept across a restart unlikely to name
	// a position of the new process.
	t.mu.next = 1 + rand.Uint64N(cursorLimit/2)
	return t
}

// Save remembers pos (copied) and returns its cursor, never 0.
func (t *CursorTable) Save(pos []byte) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.mu.next
	t.mu.next++
	if t.mu.next >= cursorLimit {
		t.mu.next = 1
	}
	if len(t.mu.ring) < cap(t.mu.ring) {
		t.mu.ring = append(t.mu.ring, id)
	} else {
		delete(t.mu.pos, t.mu.ring[t.mu.head])
		t.mu.ring[t.mu.head] = id
		t.mu.head = (t.mu.head + 1) % len(t.mu.ring)
	}
	t.mu.pos[id] = bytes.Clone(pos)
	return id
}

// Load returns the position saved under id; ok is false for 0 and for
// cursors the table does not know (or no longer knows). The caller must not
// modify the result.
func (t *CursorTable) Load(id uint64) (pos []byte, ok bool) {
	if id == 0 {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	pos, ok = t.mu.pos[id]
	return pos, ok
}
