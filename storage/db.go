package storage

import (
	"bytes"
	"slices"

	"github.com/shoaldb/shoal/storage/encoding"
)

// FlushDB deletes every key of logical database db with three range
// tombstones. The caller holds every lock (LockAll).
func (t *Tx) FlushDB(db int) {
	phys := t.s.phys(db)
	b := t.batch()
	for _, tag := range []byte{encoding.TagMeta, encoding.TagSub, encoding.TagExpiry} {
		start, end := encoding.DBSpan(tag, phys)
		b.DeleteRange(start, end, nil)
	}
	for mk := range t.pending {
		if mk[1] == phys {
			delete(t.pending, mk)
		}
	}
	t.dropDueMetas(phys)
	if !slices.Contains(t.flushed, phys) {
		t.flushed = append(t.flushed, phys)
		t.untracked = true
	}
	b.Delete(countKey("keys", phys), nil)
	b.Delete(countKey("expires", phys), nil)
	t.count(phys, 0, 0)
	for i := range t.counts {
		if t.counts[i].db == phys {
			t.counts[i].keys, t.counts[i].expires, t.counts[i].reset = 0, 0, true
		}
	}
	t.touchFlushed(db)
}

// SwapDB exchanges logical databases a and b. The caller holds every lock
// (LockAll); the new mapping is visible at once and durable with the commit.
func (t *Tx) SwapDB(a, b int) {
	cur := *t.s.dbmap.Load()
	m := append([]uint8(nil), cur...)
	m[a], m[b] = m[b], m[a]
	t.batch().Set(dbMapKey, m, nil)
	t.s.dbmap.Store(&m)
	t.touchSwapped(a, b)
}

// ScanKeys calls fn for each live key of logical database db in key order,
// starting after the key after (from the start when nil), until fn returns
// false. It returns the last key visited and whether keys remain after it.
// name and m alias iterator memory valid only during the call.
func (t *Tx) ScanKeys(db int, after []byte, fn func(name []byte, m *encoding.Meta) bool) (last []byte, more bool, err error) {
	return t.ScanKeysExpiring(db, after, fn, nil)
}

// ScanKeysExpiring is ScanKeys that also returns, copied, the keys past
// their expiry it passed over (at most maxExpired of them), for a
// command that deletes them as Redis's SCAN and RANDOMKEY do
// (ExpireKeys).
func (t *Tx) ScanKeysExpiring(db int, after []byte, fn func(name []byte, m *encoding.Meta) bool, expired *[][]byte) (last []byte, more bool, err error) {
	phys := t.s.phys(db)
	lower, upper := encoding.DBSpan(encoding.TagMeta, phys)
	if after != nil {
		lower = append(encoding.MetaKey(nil, phys, after), 0)
	}
	it, err := t.Iter(lower, upper)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	now := t.nowMs()
	var m encoding.Meta
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, err
		}
		if encoding.DecodeMeta(v, &m) != nil {
			continue
		}
		if m.Expired(now) {
			if expired != nil && len(*expired) < maxExpired {
				*expired = append(*expired, bytes.Clone(encoding.UserKeyFromMeta(it.Key())))
			}
			continue
		}
		name := encoding.UserKeyFromMeta(it.Key())
		if !fn(name, &m) {
			return bytes.Clone(name), it.Next(), nil
		}
	}
	return nil, false, it.Error()
}

// maxExpired bounds the expired keys one scan gathers for deletion: a
// database of expired keys is the sweeper's to empty.
const maxExpired = 1000

// ExpireKeys deletes those of names in db that are past their expiry,
// through the lookup that deletes them (SetExpireOnRead). Their locks are
// taken together first, as a DEL of them would: a lookup that had to
// take a second lock alone would only try it, and leave the key.
func (t *Tx) ExpireKeys(db int, names [][]byte) error {
	if len(names) == 0 {
		return nil
	}
	t.Lock(db, names...)
	for _, name := range names {
		if _, err := t.LookupMeta(db, name); err != nil {
			return err
		}
	}
	return nil
}

// SeekKey returns the first live key of db at or after name, or nil: the
// basis of RANDOMKEY.
func (t *Tx) SeekKey(db int, name []byte) ([]byte, error) {
	var found []byte
	phys := t.s.phys(db)
	lower, upper := encoding.DBSpan(encoding.TagMeta, phys)
	if name != nil {
		lower = encoding.MetaKey(nil, phys, name)
	}
	it, err := t.Iter(lower, upper)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	now := t.nowMs()
	var m encoding.Meta
	for ok := it.First(); ok; ok = it.Next() {
		if encoding.DecodeMeta(it.Value(), &m) != nil || m.Expired(now) {
			continue
		}
		found = bytes.Clone(encoding.UserKeyFromMeta(it.Key()))
		break
	}
	return found, it.Error()
}
