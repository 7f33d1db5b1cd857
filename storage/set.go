package storage

import "github.com/shoaldb/shoal/storage/encoding"

// Set members: see hash.go for the layout and the size contract.

// SetAdd adds member to set k, reporting whether it is new; k.Meta.Size
// counts it and k.Meta.Enc follows Redis's conversion.
func (t *Tx) SetAdd(k *Key, member []byte) (bool, error) {
	sk := t.memberKey(k, SetMemberTag, member)
	exists, err := t.memberExistsOf(k, sk)
	if err != nil || exists {
		return false, err
	}
	t.SetMember(sk, nil)
	k.Meta.Size++
	t.setAdded(k, member)
	return true, nil
}

// StoreSet replaces whatever k holds with a set of members (distinct),
// without expiry, or deletes k when there are none: the STORE variants'
// write. intset says whether Redis would hold the set it built as an
// intset (OBJECT ENCODING). The old value's members go with one range
// tombstone.
func (t *Tx) StoreSet(k *Key, members [][]byte, intset bool) {
	if len(members) == 0 {
		t.Delete(k)
		return
	}
	enc := encoding.EncLarge
	if intset {
		enc = encoding.EncCompact
	}
	m := encoding.Meta{Type: encoding.TypeSet, Version: t.NewVersion(), Size: uint64(len(members)), Enc: enc}
	t.PutMeta(k, &m)
	for _, mem := range members {
		t.SetMember(MemberKey(nil, k, SetMemberTag, mem), nil)
	}
}

// SetRemove removes member from set k, reporting whether it was there;
// k.Meta.Size follows.
func (t *Tx) SetRemove(k *Key, member []byte) (bool, error) {
	return t.removeMember(k, SetMemberTag, member)
}

// SetHas reports whether member is in set k. k must be a live set.
func (t *Tx) SetHas(k *Key, member []byte) (bool, error) {
	return t.hasMember(k, SetMemberTag, member)
}

// SetScan calls fn for each member of set k in byte order, starting after
// member after (from the first when nil), until fn returns false. member
// aliases iterator memory valid only during the call, and fn must not write
// through t. It reports whether members remain after the last one fn saw.
func (t *Tx) SetScan(k *Key, after []byte, fn func(member []byte) bool) (more bool, err error) {
	return t.scanMembers(k, SetMemberTag, after, func(m, _ []byte) bool { return fn(m) })
}
