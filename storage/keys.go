package storage

import (
	"bytes"
	"errors"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Key is a user key as a command sees it: where it lives, and its metadata
// as read under the key's lock. Writers pass it back to PutMeta or Delete,
// which keep the expiry index, the key counts and old members consistent.
type Key struct {
	DB   int    // logical database
	Phys uint8  // physical slot
	Name []byte // the user key; not retained by the store beyond the call
	// Meta is the key's metadata; meaningful when Exists.
	Meta encoding.Meta
	// Exists reports that a metadata record is stored, even if expired.
	Exists bool
	// Live reports that the key exists and has not expired: what commands see.
	Live bool

	raw []byte // storage for Meta.Value
	// chunkRec is the metadata record a lookup found for a chunked
	// string, which EachRange checks its chunks' state against.
	chunkRec []byte

	// prev is the stored metadata while Meta describes a collection being
	// created over an expired key (PrepareCollection).
	prev    encoding.Meta
	hasPrev bool
	// fresh is, while not 0, the pending generation of the Tx whose
	// PrepareCollection gave Meta a new version: no member of it is
	// stored but those that Tx wrote since (memberExistsOf).
	fresh uint64
}

// Trim lets go of a buffer k kept from a long value, so that a Key kept
// for reuse does not hold it.
func (k *Key) Trim() {
	if cap(k.raw) > ChunkThreshold {
		k.raw, k.Meta.Value = nil, nil
	}
}

// Type returns the key's type as commands see it: TypeNone when not live.
func (k *Key) Type() encoding.Type {
	if !k.Live {
		return encoding.TypeNone
	}
	return k.Meta.Type
}

// Lookup reads key name of logical database db. A key past its expiry reads
// as not Live. Callers that will write the key must hold its lock.
func (t *Tx) Lookup(db int, name []byte) (*Key, error) {
	k := &Key{}
	return k, t.LookupInto(k, db, name)
}

// LookupAsIs is Lookup that leaves a key past its expiry where it is,
// Exists but not Live: a command's own write read back to be described
// (for redis-server replicas) must not be expired by that reading.
func (t *Tx) LookupAsIs(db int, name []byte) (*Key, error) {
	on := t.expireOnRead
	t.expireOnRead = false
	defer func() { t.expireOnRead = on }()
	return t.Lookup(db, name)
}

// LookupMeta is Lookup for a caller that reads a key's metadata, or moves
// or replaces it whole: a chunked string's value stays in its chunks.
func (t *Tx) LookupMeta(db int, name []byte) (*Key, error) {
	k := &Key{}
	return k, t.LookupInline(k, db, name)
}

// LookupInto is Lookup into a caller-owned Key, reusing its buffers.
func (t *Tx) LookupInto(k *Key, db int, name []byte) error {
	return t.lookup(k, db, name, readValue)
}

// LookupHeader is LookupInto for a caller that will replace or delete the
// key without reading it: a string's k.Meta.Value may be left empty, which
// spares reading a long value the hot cache holds only the header of.
func (t *Tx) LookupHeader(k *Key, db int, name []byte) error {
	return t.lookup(k, db, name, readHeader)
}

// LookupToDelete is LookupHeader for a caller that holds the key's lock
// and will delete the key: its access clock is left alone, as Redis's DEL
// does not touch the keys it removes.
func (t *Tx) LookupToDelete(k *Key, db int, name []byte) error {
	return t.lookup(k, db, name, readDelete)
}

// LookupInline is LookupInto, except that a chunked string's value is
// left in its chunks (k.Meta.Chunked, k.Meta.Value empty): for the
// commands that read or write a range of it (ReadRange, WriteRange).
func (t *Tx) LookupInline(k *Key, db int, name []byte) error {
	return t.lookup(k, db, name, readInline)
}

// What a lookup reads of a string's value.
const (
	readHeader = iota // maybe none of it (a cached StringHeader)
	readDelete        // readHeader, leaving the access clock alone
	readInline        // an inline value, not a chunked one's
	readValue         // the whole value, assembled from its chunks
)

func (t *Tx) lookup(k *Key, db int, name []byte, mode int) error {
	k.DB, k.Phys, k.Name = db, t.s.phys(db), name
	k.hasPrev, k.fresh = false, 0
	header := mode == readHeader || mode == readDelete
	// NB: a key looked up to be replaced or deleted under its lock is
	// written by t's commit, which caches its new record: a miss is not
	// worth caching first (MSET of 100,000 new keys cached each as
	// absent, then replaced the entry).
	fill := mode != readDelete && (mode != readHeader || !t.holds.Has(stripeOf(k.Phys, name)))
	t.scratch = encoding.MetaKey(t.scratch[:0], k.Phys, name)
	v, ok, err := t.getMeta(t.scratch, !header, fill, k.raw)
	if err != nil {
		return err
	}
	k.raw = v
	k.Exists, k.Live = ok, false
	if !ok {
		k.Meta = encoding.Meta{}
		return nil
	}
	if err := encoding.DecodeMeta(k.raw, &k.Meta); err != nil {
		return err
	}
	// NB: the clock is read only for a key that has an expiry: a DEL of
	// 100,000 keys read it 100,000 times.
	k.Live = k.Meta.ExpireAt == 0 || !k.Meta.Expired(t.nowMs())
	if t.holdLazily != nil && k.Live && (k.Meta.Type != encoding.TypeString || k.Meta.Chunked) {
		// NB: a value of several records: read again, whole, under the
		// hold (the record just read may be older than the rest).
		hold := t.holdLazily
		t.holdLazily, t.heldLazily = nil, true
		hold()
		return t.lookup(k, db, name, mode)
	}
	if !k.Live && t.expireOnRead && t.snap == nil {
		return t.expireFound(k, mode)
	}
	if k.Live && !t.noTouch && t.snap == nil && mode != readDelete {
		t.s.clocks.touch(t.scratch)
	}
	if k.Live && k.Meta.Chunked && !header && t.snap == nil {
		// NB: the metadata and the chunks are two reads; a writer that
		// replaced the string between them would have deleted the chunks
		// the metadata names. Writers hold the key's lock from before
		// they read it until their batch applied, so under it the two
		// agree: read the key again under it.
		if st := stripeOf(k.Phys, name); !t.holds.Has(st) && t.lockToRead(st) {
			return t.lookup(k, db, name, mode)
		}
	}
	k.chunkRec = k.chunkRec[:0]
	if k.Live && k.Meta.Chunked {
		k.chunkRec = append(k.chunkRec, k.raw...)
	}
	if k.Live && k.Meta.Chunked && mode == readValue {
		return t.assemble(k)
	}
	return nil
}

// HoldLazily makes t call hold (a replica's Store.Hold) before it reads
// a value of several records (a collection, a chunked string), and read
// that key again: for a command of one key, which then reads a string of
// one record without the hold. The caller holds no lock stripe, and ends
// it with EndHoldLazily.
func (t *Tx) HoldLazily(hold func()) { t.holdLazily, t.heldLazily = hold, false }

// EndHoldLazily ends HoldLazily and reports whether t called hold: the
// caller then releases it.
func (t *Tx) EndHoldLazily() bool {
	took := t.heldLazily
	t.holdLazily, t.heldLazily = nil, false
	return took
}

// lockToRead takes lock stripe st for a read that needs it: waiting for
// it when t holds none, else only if it is free, so that a command half
// done never commits to wait (Lock would). It reports whether t holds st.
func (t *Tx) lockToRead(st uint32) bool {
	if len(t.held) > 0 || t.atomic != AtomicOff {
		if !t.s.locks.tryLock(st) {
			return false
		}
	} else {
		t.s.locks.lock(st)
	}
	t.hold([]uint32{st})
	return true
}

// getMeta reads a metadata record into dst[:0]'s storage: the Tx's own
// uncommitted write first, then the cache of committed records, then
// Pebble (offering what it read to the cache, which takes it unless a
// writer changed the key's shard since the cache was asked). Unless value
// is set, a string's record may come without its value (a cached
// StringHeader). Cached sub-keys are read the same way (GetMember,
// memberExists); unless value is set, a long member's value may be
// elidedMember, which must not be modified. Unless fill is set, what
// Pebble answers is not offered to the cache.
func (t *Tx) getMeta(key []byte, value, fill bool, dst []byte) ([]byte, bool, error) {
	if v, ok := t.pending[string(key)]; ok {
		if v == nil {
			return dst[:0], false, nil
		}
		return append(dst[:0], v...), true, nil
	}
	if len(t.flushed) > 0 && slices.Contains(t.flushed, key[1]) {
		return dst[:0], false, nil
	}
	v, hit, gen := t.s.meta.get(key, dst)
	if hit && (!value || complete(key, v)) {
		t.s.meta.hits.Add(1)
		if v == nil {
			// NB: absent: dst stays the caller's, as a Pebble miss leaves
			// it (MSET of 100,000 new keys allocated each key's value).
			return dst[:0], false, nil
		}
		return v, true, nil
	}
	t.s.meta.countMiss()
	pv, closer, err := t.dbGet(key)
	if errors.Is(err, pebble.ErrNotFound) {
		if fill {
			t.s.meta.fill(key, nil, gen)
		}
		return dst[:0], false, nil
	}
	if err != nil {
		return dst[:0], false, err
	}
	v = append(dst[:0], pv...)
	if closer != nil {
		closer.Close()
	}
	if v == nil {
		// NB: present with no bytes (a set member): nil would be cached
		// as absent.
		v = emptyRecord
	}
	if fill {
		t.s.meta.fill(key, v, gen)
	}
	return v, true, nil
}

// dbGet reads key from Pebble: through t's read-ahead iterator while a
// command of many keys reads (ReadMany), else with a Get. The value is
// valid until the next read; closer, when not nil, must be closed.
func (t *Tx) dbGet(key []byte) ([]byte, io.Closer, error) {
	if t.seek == nil {
		return t.s.db.Get(key)
	}
	if !t.seek.SeekPrefixGE(key) || !bytes.Equal(t.seek.Key(), key) {
		if err := t.seek.Error(); err != nil {
			return nil, nil, err
		}
		return nil, nil, pebble.ErrNotFound
	}
	v, err := t.seek.ValueAndErr()
	return v, nil, err
}

// ReadMany readies t for a command about to look up many keys whose
// locks it holds: until EndReadMany, what the hot cache does not hold is
// read through one Pebble iterator, where a Get each set one up and
// allocated (a sixth of an MSET of 100,000 new keys). The iterator sees
// the store as it was at ReadMany: the caller must hold the locks of the
// keys it reads before, and call EndReadMany before it takes others.
//
// n is about the number of keys the command may create.
func (t *Tx) ReadMany(n int) {
	if t.seek != nil || t.snap != nil || t.bulk {
		return
	}
	// NB: made at its size once: a list doubling up to 100,000 clocks
	// left twice that to the collector, at the time of the commit's peak.
	t.newClocks = make([]uint64, 0, n)
	it, err := t.s.db.NewIter(nil)
	if err == nil {
		t.seek = it
	}
}

// EndReadMany ends what ReadMany began, and sets the access clocks of
// the keys t created since.
func (t *Tx) EndReadMany() {
	if t.seek != nil {
		t.seek.Close()
		t.seek = nil
	}
	t.flushClocks()
}

// flushClocks sets the access clocks of the keys a command of many
// created (putMeta), all at once.
func (t *Tx) flushClocks() {
	t.s.clocks.createdMany(t.newClocks)
	t.newClocks = nil
}

// PutMeta stores m as k's metadata, replacing whatever k held: the expiry
// index follows m.ExpireAt, counts follow existence, and when k held a
// collection of another type or version its members are dropped with one
// range tombstone. k is updated to describe the new state.
func (t *Tx) PutMeta(k *Key, m *encoding.Meta) { t.putMeta(k, m, true) }

// putMeta is PutMeta; notify false leaves the write listener out, for the
// writes Redis does not count as modifying the key (WATCH sees nothing).
func (t *Tx) putMeta(k *Key, m *encoding.Meta, notify bool) {
	old := &k.Meta
	var addKeys, addExpires int64
	if m.Type == encoding.TypeString && !m.Chunked && len(m.Value) > ChunkThreshold {
		chunked := *m
		t.chunkString(k, &chunked)
		m = &chunked
	}
	if k.Exists {
		if old.HasSubKeys() && (m.Type != old.Type || m.Version != old.Version) {
			t.dropMembers(k)
		}
		if old.ExpireAt != 0 && old.ExpireAt != m.ExpireAt {
			t.batch().Delete(encoding.ExpiryKey(nil, k.Phys, old.ExpireAt, k.Name), nil)
		}
		if old.ExpireAt != 0 {
			addExpires--
		}
	} else {
		addKeys++
	}
	if m.ExpireAt != 0 {
		addExpires++
		if !k.Exists || old.ExpireAt != m.ExpireAt {
			t.batch().Set(encoding.ExpiryKey(nil, k.Phys, m.ExpireAt, k.Name), nil, nil)
			t.rememberExpiry(k)
		}
	}
	if !k.Exists || (old.ExpireAt != 0) != (m.ExpireAt != 0) {
		t.noteDivergence()
	}
	t.kbuf = encoding.MetaKey(t.kbuf[:0], k.Phys, k.Name)
	switch {
	case k.Live || t.bulk:
	case t.seek != nil:
		// NB: a command of many keys (ReadMany) sets the clocks of those
		// it creates at its end, all at once.
		t.newClocks = append(t.newClocks, t.s.clocks.createdSlot(t.kbuf))
	default:
		t.s.clocks.created(t.kbuf)
	}
	t.ebuf = encoding.AppendMeta(t.ebuf[:0], m)
	t.writeMeta(t.kbuf, t.ebuf)
	if cap(t.ebuf) > arenaKeep {
		t.ebuf = nil
	}
	t.count(k.Phys, addKeys, addExpires)
	if notify {
		t.touch(k.DB, k.Name)
	}
	created := !k.Live
	k.Meta = *m
	if m.Type == encoding.TypeString {
		k.raw = append(k.raw[:0], m.Value...)
		k.Meta.Value = k.raw
	}
	k.Exists, k.Live = true, true
	if created && t.onNew != nil {
		t.onNew(k.DB, k.Name)
	}
}

// Delete removes k with its members and expiry entry. It is a no-op for a
// key that does not exist, expired or not.
func (t *Tx) Delete(k *Key) {
	if !k.Exists {
		return
	}
	t.noteDivergence()
	if k.Meta.HasSubKeys() {
		t.dropMembers(k)
	}
	var addExpires int64
	if k.Meta.ExpireAt != 0 {
		t.batch().Delete(encoding.ExpiryKey(nil, k.Phys, k.Meta.ExpireAt, k.Name), nil)
		addExpires = -1
	}
	t.kbuf = encoding.MetaKey(t.kbuf[:0], k.Phys, k.Name)
	t.writeMeta(t.kbuf, nil)
	t.count(k.Phys, -1, addExpires)
	t.touch(k.DB, k.Name)
	k.Exists, k.Live = false, false
	k.Meta = encoding.Meta{}
}

// pointDeleteMax is the largest collection whose members are deleted one
// by one rather than with a range tombstone.
const pointDeleteMax = 64

// dropMembers deletes every member of k's current version. A large
// collection goes with one range tombstone, whatever its size. A small one
// is deleted member by member: range tombstones in the memtable make every
// iterator opened after them slower (Pebble fragments them all on open), so
// a workload that keeps rewriting small collections must not pile them up.
func (t *Tx) dropMembers(k *Key) {
	t.flushLists() // their deletes must follow them in the batch
	start := encoding.SubPrefix(nil, k.Phys, k.Name, k.Meta.Version)
	end := encoding.PrefixEnd(start)
	t.untracked = true
	if k.Meta.Size <= pointDeleteMax {
		// Sorted sets keep two sub-keys per member; stop reading at a bound
		// in case the size understates what is stored.
		if it, err := t.Iter(start, end); err == nil {
			var keys [][]byte
			ok := it.First()
			for ; ok && len(keys) <= 4*pointDeleteMax; ok = it.Next() {
				keys = append(keys, bytes.Clone(it.Key()))
			}
			more := ok
			if it.Close() == nil && !more {
				b := t.batch() // NB: after the read, which may index it anew
				for _, key := range keys {
					b.Delete(key, nil)
				}
				return
			}
		}
	}
	t.batch().DeleteRange(start, end, nil)
}

// NewVersion returns a fresh version for a collection being created.
func (t *Tx) NewVersion() uint64 { return t.s.newVersion() }

// Touch tells the write listener that k changed without a metadata write.
func (t *Tx) Touch(k *Key) { t.touch(k.DB, k.Name) }
