package storage

import "slices"

// Absorb moves o's uncommitted work into t: its batch, the metadata it
// wrote, its key counts, the keys it touched and the locks it holds, so
// that t commits both as one batch. o is left empty and holding nothing.
// The two must have written disjoint keys (a key written by both would
// keep t's metadata record and a batch with o's writes last). Neither
// may be in use by another goroutine meanwhile.
func (t *Tx) Absorb(o *Tx) {
	o.flushLists()
	if o.b != nil {
		if !o.b.Empty() {
			if err := t.batch().Apply(o.b, nil); err != nil && t.err == nil {
				t.err = err
			}
		}
		if o.keep {
			o.batchSize = len(o.b.Repr())
		}
		o.b.Close()
		o.b = nil
	}
	for k, v := range o.pending {
		t.setPending([]byte(k), v)
	}
	for _, db := range o.flushed {
		if !slices.Contains(t.flushed, db) {
			t.flushed = append(t.flushed, db)
		}
	}
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

// Holding reports whether t holds key locks.
func (t *Tx) Holding() bool { return len(t.held) > 0 }

// LockStripe returns the lock stripe of key in logical database db: two
// keys of different stripes never wait for each other's locks.
func (s *Store) LockStripe(db int, key []byte) uint32 { return stripeOf(s.phys(db), key) }
