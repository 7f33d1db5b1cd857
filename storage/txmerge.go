package storage

import (
	"slices"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Absorb moves o's uncommitted work into t: its batch, the metadata it
// wrote, its key counts, the keys it touched and the locks it holds, so
// that t commits both as one batch. o is left empty and holding nothing.
// The two must have written disjoint keys (a key written by both would
// keep t's metadata record and a batch with o's writes last). Neither
// may be in use by another goroutine meanwhile.
func (t *Tx) Absorb(o *Tx) {
	o.flushLists()
	if o.keep && o.b != nil {
		o.batchSize = len(o.b.Repr())
	}
	if (t.b == nil || t.b.Empty()) && len(t.pending) == 0 && len(t.flushed) == 0 {
		t.take(o)
	} else {
		t.merge(o)
	}
	t.many = t.many || o.many
	o.clearPending()
	t.untracked = t.untracked || o.untracked
	for _, c := range o.counts {
		t.count(c.db, c.keys, c.expires)
	}
	o.counts = o.counts[:0]
	t.touched = append(t.touched, o.touched...)
	o.touched = o.touched[:0]
	// NB: o's stripes stay locked: t unlocks them when it commits.
	t.hold(o.held)
	for _, st := range o.held {
		o.holds[st/64] = 0
	}
	o.held = o.held[:0]
	if o.err != nil && t.err == nil {
		t.err = o.err
	}
	o.err = nil
}

// take moves o's batch, pending map and arena to t, which holds none of
// its own yet, and gives o t's empty ones: the first Tx a gather absorbs
// (all of them, when one worker applied the stream) is not copied.
func (t *Tx) take(o *Tx) {
	t.b, o.b = o.b, t.b
	t.pending, o.pending = o.pending, t.pending
	t.arena, o.arena = o.arena, t.arena
	t.pendingBig, o.pendingBig = o.pendingBig, t.pendingBig
	t.pendingMetas = o.pendingMetas
	t.pendingGen++
	t.flushed, o.flushed = o.flushed, t.flushed
	t.untracked = o.untracked
	t.dueMetas, o.dueMetas = o.dueMetas, t.dueMetas[:0]
	t.dueBytes = o.dueBytes
}

// merge copies o's batch and pending map into t's.
func (t *Tx) merge(o *Tx) {
	if o.b != nil {
		if !o.b.Empty() {
			if err := t.batch().Apply(o.b, nil); err != nil && t.err == nil {
				t.err = err
			}
		}
		o.b.Close()
		o.b = nil
	}
	for k, v := range o.pending {
		key, rec := t.setPending([]byte(k), v)
		if len(o.dueMetas) > 0 && k[0] == encoding.TagMeta {
			// NB: o's records of these keys may be in its batch too;
			// t's writes them after it.
			t.dueMetas = append(t.dueMetas, dueMeta{key, rec})
		}
	}
	t.dueBytes += o.dueBytes
	for _, db := range o.flushed {
		if !slices.Contains(t.flushed, db) {
			t.flushed = append(t.flushed, db)
		}
	}
}

// Holding reports whether t holds key locks.
func (t *Tx) Holding() bool { return len(t.held) > 0 }

// LockStripe returns the lock stripe of key in logical database db: two
// keys of different stripes never wait for each other's locks.
func (s *Store) LockStripe(db int, key []byte) uint32 { return stripeOf(s.phys(db), key) }
