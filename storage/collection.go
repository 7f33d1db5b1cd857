package storage

import (
	"errors"

	"github.com/shoaldb/shoal/storage/encoding"
)

// ErrWrongType is returned when a key holds another type than the
// operation needs; the server answers WRONGTYPE.
var ErrWrongType = errors.New("storage: wrong type")

// PrepareCollection readies k to take members of type t. A live key of
// another type gives ErrWrongType; a key that is absent or expired gets
// fresh metadata of type t with a new version and size 0 (written only when
// the caller calls SetSize), so stale members of an expired key are never
// seen; a new hash, set or sorted set starts in Redis's compact encoding.
// It reports whether the key is new.
func (t *Tx) PrepareCollection(k *Key, typ encoding.Type) (created bool, err error) {
	if k.Live {
		if k.Meta.Type != typ {
			return false, ErrWrongType
		}
		return false, nil
	}
	old := k.Meta
	oldExists := k.Exists
	k.Meta = encoding.Meta{Type: typ, Version: t.NewVersion(), Enc: encoding.EncCompact}
	if typ == encoding.TypeList {
		k.Meta.Head, k.Meta.Tail = encoding.ListIndexBase, encoding.ListIndexBase
		k.Meta.Enc = encoding.EncUnknown
	}
	// Keep what PutMeta needs to clean up after the expired key.
	k.prev, k.hasPrev = old, oldExists
	k.fresh = t.pendingGen + 1
	return true, nil
}

// SetSize stores k's metadata with its member count set to n (and the list
// bounds in k.Meta); n == 0 deletes the key, as Redis removes empty
// collections.
func (t *Tx) SetSize(k *Key, n uint64) {
	m := k.Meta
	m.Size = n
	t.unprepare(k)
	if n == 0 {
		t.Delete(k)
		return
	}
	t.PutMeta(k, &m)
}

// storeMeta stores m as the metadata of k, which PrepareCollection may
// have readied; notify as putMeta.
func (t *Tx) storeMeta(k *Key, m encoding.Meta, notify bool) {
	t.unprepare(k)
	t.putMeta(k, &m, notify)
}

// unprepare makes k.Meta what is stored again: PutMeta and Delete compare
// against it.
func (t *Tx) unprepare(k *Key) {
	if k.hasPrev {
		// k was prepared over an expired key.
		k.Meta, k.hasPrev = k.prev, false
	} else if !k.Exists {
		k.Meta = encoding.Meta{}
	}
}
