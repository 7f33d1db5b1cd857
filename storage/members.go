package storage

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Members are the sub-keys of a collection: the type files (hash, list,
// set, zset) build their sub-keys with MemberKey and read and write them
// through these calls, so that they see the Tx's uncommitted writes.

// MemberKey returns the sub-key of k's current version with the given tag
// and suffix, appended to dst. Tags separate kinds of sub-key of one type
// (a sorted set keeps member→score and score|member entries).
func MemberKey(dst []byte, k *Key, tag byte, suffix []byte) []byte {
	dst = encoding.SubPrefix(dst, k.Phys, k.Name, k.Meta.Version)
	dst = append(dst, tag)
	return append(dst, suffix...)
}

// memberKey is MemberKey into t's own buffer: the result is valid until
// t's next memberKey, for a point read or write that does not keep it.
func (t *Tx) memberKey(k *Key, tag byte, suffix []byte) []byte {
	t.skey = MemberKey(t.skey[:0], k, tag, suffix)
	return t.skey
}

// MemberPrefix returns the prefix of every sub-key of k with tag.
func MemberPrefix(k *Key, tag byte) []byte { return MemberKey(nil, k, tag, nil) }

// The hot cache also holds point-read sub-keys: hash fields, set members
// and sorted-set scores with values up to cachedValueMax, so that HSET,
// SADD or ZADD of an existing member and HGET, SISMEMBER or ZSCORE stay in
// memory, and list nodes and node indexes whole, so that a push or a pop
// reads its node from memory. It follows writes the way it follows
// metadata: the Tx records the sub-keys it writes in its pending map and
// publishes them at commit. List nodes are deleted one by one, never by
// range. Sub-keys are never cached for the score index, which is deleted
// by ranges inside a live collection. Whole collections dropped by
// a range tombstone leave nothing stale behind: their version is never
// used again, so their cached sub-keys can no longer be asked for.

// cachedMember reports whether sub-key sk is one the hot cache holds.
func cachedMember(sk []byte) bool {
	tag, ok := encoding.SubKeyTag(sk)
	return ok && (tag == HashFieldTag || tag == SetMemberTag || tag == listTag || tag == listIndexTag) // ZTagMember == SetMemberTag
}

// wholeMember reports whether the hot cache keeps sub-key sk's value
// whatever its length: a list node or node index, which a list write
// reads whole.
func wholeMember(sk []byte) bool {
	tag, ok := encoding.SubKeyTag(sk)
	return ok && (tag == listTag || tag == listIndexTag)
}

// readsCached reports whether t reads sub-key sk through the hot cache:
// one it holds, while t's batch has no write of it the pending map lacks
// and t does not read a snapshot.
func (t *Tx) readsCached(sk []byte) bool {
	return !t.untracked && t.snap == nil && t.s.meta != nil && cachedMember(sk)
}

// GetMember reads a sub-key; the value is appended to dst[:0].
func (t *Tx) GetMember(subkey, dst []byte) ([]byte, bool, error) {
	if !t.readsCached(subkey) {
		return t.get(subkey, dst)
	}
	// NB: t's batch holds no write of subkey that pending lacks, and no
	// range delete (untracked would be set): the cache and Pebble have the
	// rest.
	v, ok, err := t.getMeta(subkey, true, true, dst)
	if err != nil || !ok {
		return nil, false, err
	}
	return v, true, nil
}

// memberExists reports whether a sub-key exists, without reading a long
// value the hot cache holds only as present.
func (t *Tx) memberExists(subkey []byte) (bool, error) {
	if !t.readsCached(subkey) {
		_, ok, err := t.get(subkey, nil)
		return ok, err
	}
	v, ok, err := t.getMeta(subkey, false, true, t.valBuf)
	if !isElided(v) {
		t.valBuf = v[:0]
	}
	return ok, err
}

// memberExistsOf is memberExists for sub-key sk of k. The members of a
// collection t created in this generation (PrepareCollection's new
// version) are only those t wrote, which the pending map holds: a large
// SADD or HSET to a new key asks neither the hot cache nor Pebble, nor
// fills the cache with a miss per member.
func (t *Tx) memberExistsOf(k *Key, sk []byte) (bool, error) {
	if k.fresh == t.pendingGen+1 && t.readsCached(sk) {
		v, ok := t.pending[string(sk)]
		return ok && v != nil, nil
	}
	return t.memberExists(sk)
}

// getMemberOf is GetMember for sub-key sk of k, read as memberExistsOf
// reads it.
func (t *Tx) getMemberOf(k *Key, sk, dst []byte) ([]byte, bool, error) {
	if k.fresh == t.pendingGen+1 && t.readsCached(sk) {
		v, ok := t.pending[string(sk)]
		if !ok || v == nil {
			return nil, false, nil
		}
		if isElided(v) {
			return t.GetMember(sk, dst)
		}
		return append(dst[:0], v...), true, nil
	}
	return t.GetMember(sk, dst)
}

// SetMember writes a sub-key.
func (t *Tx) SetMember(subkey, value []byte) {
	t.batch().Set(subkey, value, nil)
	t.trackMember(subkey, value, true)
}

// DeleteMember deletes a sub-key.
func (t *Tx) DeleteMember(subkey []byte) {
	t.batch().Delete(subkey, nil)
	t.trackMember(subkey, nil, false)
}

// DeleteMemberRange deletes sub-keys in [start, end).
func (t *Tx) DeleteMemberRange(start, end []byte) {
	t.batch().DeleteRange(start, end, nil)
	t.untracked = true
}

// trackMember records a sub-key write for the cache: present with value,
// or deleted.
func (t *Tx) trackMember(sk, value []byte, present bool) {
	if t.s.meta == nil || !cachedMember(sk) {
		return
	}
	if present && value == nil {
		value = emptyRecord // NB: present, unlike nil
	}
	t.setPending(sk, value)
}

// Iter returns an iterator over [lower, upper) that sees t's uncommitted
// writes. The caller must Close it before t commits.
func (t *Tx) Iter(lower, upper []byte) (*pebble.Iterator, error) {
	t.flushLists()
	o := &pebble.IterOptions{LowerBound: lower, UpperBound: upper}
	if t.snap != nil {
		return t.snap.NewIter(o)
	}
	if b := t.readBatch(); b != nil {
		return b.NewIter(o)
	}
	return t.s.db.NewIter(o)
}
