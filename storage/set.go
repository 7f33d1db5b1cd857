package storage

// Set members: see hash.go for the layout and the size contract.

// SetAdd adds member to set k, reporting whether it is new; k.Meta.Size
// counts it.
func (t *Tx) SetAdd(k *Key, member []byte) (bool, error) {
	sk := t.memberKey(k, SetMemberTag, member)
	exists, err := t.memberExists(sk)
	if err != nil || exists {
		return false, err
	}
	t.SetMember(sk, nil)
	k.Meta.Size++
	return true, nil
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
