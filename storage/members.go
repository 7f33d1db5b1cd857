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

// MemberPrefix returns the prefix of every sub-key of k with tag.
func MemberPrefix(k *Key, tag byte) []byte { return MemberKey(nil, k, tag, nil) }

// GetMember reads a sub-key; the value is appended to dst[:0].
func (t *Tx) GetMember(subkey, dst []byte) ([]byte, bool, error) { return t.get(subkey, dst) }

// SetMember writes a sub-key.
func (t *Tx) SetMember(subkey, value []byte) { t.batch().Set(subkey, value, nil) }

// DeleteMember deletes a sub-key.
func (t *Tx) DeleteMember(subkey []byte) { t.batch().Delete(subkey, nil) }

// DeleteMemberRange deletes sub-keys in [start, end).
func (t *Tx) DeleteMemberRange(start, end []byte) { t.batch().DeleteRange(start, end, nil) }

// Iter returns an iterator over [lower, upper) that sees t's uncommitted
// writes. The caller must Close it before t commits.
func (t *Tx) Iter(lower, upper []byte) (*pebble.Iterator, error) {
	o := &pebble.IterOptions{LowerBound: lower, UpperBound: upper}
	if t.b != nil {
		return t.b.NewIter(o)
	}
	return t.s.db.NewIter(o)
}
