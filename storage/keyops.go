package storage

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Type-agnostic operations on whole keys: RENAME, COPY and MOVE need a
// key's value somewhere else whatever its type. Members live under the
// user key's own name, so moving a collection means rewriting every
// sub-key under the destination's prefix.

// CopyKey writes a copy of src's value to dst, replacing whatever dst held
// (members of an old collection at dst are dropped with one range
// tombstone), with expiry expireAt (Unix ms, 0 for none). A string copies
// its payload; a collection copies every sub-key of src's current version
// under a fresh version of dst, so a dst that held the same type never
// mixes old and new members. src and dst may be in different databases.
//
// The caller holds the locks of both keys, src is live, and src and dst
// are not the same key. The copy is part of t's batch: the whole
// collection is buffered until t commits.
func (t *Tx) CopyKey(src, dst *Key, expireAt int64) error {
	m := src.Meta
	m.ExpireAt = expireAt
	if !m.HasSubKeys() {
		// NB: src.Meta.Value aliases src's buffer, which PutMeta on a
		// different Key leaves alone.
		t.PutMeta(dst, &m)
		return nil
	}
	m.Version = t.NewVersion()
	from := encoding.SubPrefix(nil, src.Phys, src.Name, src.Meta.Version)
	to := encoding.SubPrefix(nil, dst.Phys, dst.Name, m.Version)
	it, err := t.Iter(from, encoding.PrefixEnd(from))
	if err != nil {
		return err
	}
	b := t.batch()
	t.untracked = true
	sub := to
	// NB: the copies go around the hot cache: their shards stop knowing
	// which members are absent, before the batch applies.
	var shards shardSet
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			t.s.meta.forgetMembers(&shards)
			return err
		}
		sub = append(sub[:len(to)], it.Key()[len(from):]...)
		b.Set(sub, v, nil) // Set copies key and value into the batch
		if t.s.meta != nil && pointMember(sub) {
			shards.add(t.s.meta.shardOf(unsafe.String(unsafe.SliceData(sub), len(sub))))
		}
	}
	t.s.meta.forgetMembers(&shards)
	if err := it.Close(); err != nil {
		return err
	}
	t.PutMeta(dst, &m)
	return nil
}

// RenameKey moves src's value and expiry to dst, replacing dst, and deletes
// src. The caller holds both locks; src is live and is not dst.
func (t *Tx) RenameKey(src, dst *Key) error {
	if err := t.CopyKey(src, dst, src.Meta.ExpireAt); err != nil {
		return err
	}
	t.Delete(src)
	return nil
}

// SetExpire changes k's expiry to at (Unix ms, 0 to persist) and keeps its
// value. k is live and its lock is held.
func (t *Tx) SetExpire(k *Key, at int64) {
	m := k.Meta
	m.ExpireAt = at
	t.PutMeta(k, &m)
}

// KeyCount returns the number of keys in logical database db as t sees it:
// the committed count plus t's uncommitted changes (a FLUSHDB or writes
// earlier in the same pipeline). Like Store.KeyCount it includes keys that
// have expired but are not yet removed.
func (t *Tx) KeyCount(db int) (int64, error) {
	phys := t.s.phys(db)
	var n int64
	v, ok, err := t.get(countKey("keys", phys), nil)
	if err != nil {
		return 0, err
	}
	if ok && len(v) == 8 {
		n = int64(binary.LittleEndian.Uint64(v))
	}
	for _, c := range t.counts {
		if c.db == phys {
			n += c.keys
		}
	}
	return n, nil
}

// LastKey returns the last live key of logical database db that starts
// with prefix (any key when prefix is empty), or nil when there is none:
// with SeekKey, the bounds RANDOMKEY picks within.
func (t *Tx) LastKey(db int, prefix []byte) ([]byte, error) {
	phys := t.s.phys(db)
	lower, upper := encoding.DBSpan(encoding.TagMeta, phys)
	if len(prefix) > 0 {
		lower = encoding.MetaKey(nil, phys, prefix)
		if end := encoding.PrefixEnd(lower); end != nil {
			upper = end
		}
	}
	it, err := t.Iter(lower, upper)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	now := t.nowMs()
	var m encoding.Meta
	for ok := it.Last(); ok; ok = it.Prev() {
		if encoding.DecodeMeta(it.Value(), &m) != nil || m.Expired(now) {
			continue
		}
		return bytes.Clone(encoding.UserKeyFromMeta(it.Key())), nil
	}
	return nil, it.Error()
}
