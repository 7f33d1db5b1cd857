package storage

import (
	"bytes"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Hashes and sets live in the metadata + sub-key layout: the metadata holds
// the exact member count, and each field or member is one sub-key of the
// key's current version. A hash field f is the sub-key with tag HashFieldTag
// and suffix f, holding the field's value; a set member m is the sub-key
// with tag SetMemberTag and suffix m, holding nothing.
//
// The calls below read and write members through the Tx, so a pipeline sees
// its own writes. Those that add or remove members keep k.Meta.Size up to
// date in memory; the caller stores it with SetSize(k, k.Meta.Size) once
// its changes are done (size 0 deletes the key). Writers hold k's lock and
// have called PrepareCollection when they may add members.
const (
	HashFieldTag = 'f'
	SetMemberTag = 'm'
)

// HashGet returns the value of field in hash k, appended to dst[:0]; ok is
// false when the field is absent.
func (t *Tx) HashGet(k *Key, field, dst []byte) (val []byte, ok bool, err error) {
	return t.GetMember(t.memberKey(k, HashFieldTag, field), dst)
}

// HashSet stores field = value in hash k. It reports whether the field is
// new, in which case k.Meta.Size counts it; k.Meta.Enc follows Redis's
// conversion.
func (t *Tx) HashSet(k *Key, field, value []byte) (added bool, err error) {
	sk := t.memberKey(k, HashFieldTag, field)
	exists, err := t.memberExistsOf(k, sk)
	if err != nil {
		return false, err
	}
	t.SetMember(sk, value)
	if !exists {
		k.Meta.Size++
	}
	t.hashWritten(k, field, value)
	switch {
	case k.Meta.Enc != encoding.EncCompact:
		k.Meta.Order = nil
	case !exists:
		hashOrderAdd(k, field)
	}
	return !exists, nil
}

// HashDelete removes field from hash k, reporting whether it was there;
// k.Meta.Size follows.
func (t *Tx) HashDelete(k *Key, field []byte) (bool, error) {
	ok, err := t.removeMember(k, HashFieldTag, field)
	if ok && err == nil && k.Meta.Enc == encoding.EncCompact {
		err = hashOrderRemove(k, field)
	}
	return ok, err
}

// HashScan calls fn for each field of hash k in byte order, starting after
// field after (from the first when nil), until fn returns false. field and
// value alias iterator memory valid only during the call, and fn must not
// write through t. It reports whether fields remain after the last one fn
// saw.
func (t *Tx) HashScan(k *Key, after []byte, fn func(field, value []byte) bool) (more bool, err error) {
	return t.scanMembers(k, HashFieldTag, after, fn)
}

func (t *Tx) removeMember(k *Key, tag byte, member []byte) (bool, error) {
	sk := t.memberKey(k, tag, member)
	exists, err := t.memberExists(sk)
	if err != nil || !exists {
		return false, err
	}
	t.DeleteMember(sk)
	k.Meta.Size--
	return true, nil
}

func (t *Tx) hasMember(k *Key, tag byte, member []byte) (bool, error) {
	return t.memberExists(t.memberKey(k, tag, member))
}

// scanMembers iterates the sub-keys of k with tag, one Pebble iterator over
// the key's span: the cost is that of the members visited, not of the
// collection.
func (t *Tx) scanMembers(k *Key, tag byte, after []byte, fn func(member, value []byte) bool) (bool, error) {
	prefix := MemberPrefix(k, tag)
	lower := prefix
	if after != nil {
		lower = append(MemberKey(nil, k, tag, after), 0)
	}
	it, err := t.Iter(lower, encoding.PrefixEnd(prefix))
	if err != nil {
		return false, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		key := it.Key()
		if !bytes.HasPrefix(key, prefix) {
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return false, err
		}
		if !fn(key[len(prefix):], v) {
			return it.Next(), it.Error()
		}
	}
	return false, it.Error()
}
