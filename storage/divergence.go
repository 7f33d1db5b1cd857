package storage

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A replica counts its keys by its primary's batches, which carry the
// primary's count deltas (counters.go): exact while the replica holds
// what its primary holds. A writable replica's clients can make it hold
// otherwise: a key they deleted that the primary deletes later, a key
// they created that the primary creates too, would each be counted
// twice. So once a client of a replica changed whether a key exists or
// expires, the replica is diverged (a mark on disk, until a full sync),
// and from then on each batch it applies is counted again against what
// the replica holds: the deltas its metadata records make here, less the
// primary's, are added to the same batch, so DBSIZE and INFO keyspace
// count the keys the replica holds, as Redis's count its dictionaries.
// Only the applied batch is changed; the log keeps the primary's entries
// as they came, for chained replicas.

// divergedKey marks a store whose clients wrote while it was a replica.
//
//	0x00 "local/diverged" → ""
var divergedKey = encoding.SystemKey("local/diverged")

// loadDiverged reads the mark at open.
func (s *Store) loadDiverged() {
	if _, closer, err := s.db.Get(divergedKey); err == nil {
		closer.Close()
		s.diverged.Store(true)
	}
}

// noteDivergence marks the store diverged when a client of a replica
// changes whether a key exists or expires, in the batch of that write.
func (t *Tx) noteDivergence() {
	if t.fromPrimary || t.bulk || !t.s.repl.replica.Load() || t.s.diverged.Load() {
		return
	}
	t.s.diverged.Store(true)
	t.batch().Set(divergedKey, nil, nil)
}

// keyState is what the counts see of a key: whether it exists, and
// whether it has an expiry.
type keyState struct{ exists, expires bool }

// countsFix is what a diverged replica adds to its primary's counts for
// one batch, by physical database.
type countsFix map[uint8]*countDelta

// countCorrections reads the records of es against the store as it is
// before they apply, and returns, per physical database, the count
// deltas they make here less the deltas they carry. A database the
// batch flushes or resets the counts of is left to the batch.
func (s *Store) countCorrections(es []LogEntry) (countsFix, error) {
	states := map[string]keyState{}
	made, carried := countsFix{}, countsFix{}
	reset := map[uint8]bool{}
	add := func(f countsFix, db uint8, keys, expires int64) {
		d := f[db]
		if d == nil {
			d = &countDelta{db: db}
			f[db] = d
		}
		d.keys += keys
		d.expires += expires
	}
	countsPrefix := encoding.SystemKey("count/")
	for _, e := range es {
		rd := batchrepr.Read(e.Repr)
		for {
			kind, ukey, value, ok, err := rd.Next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			switch {
			case bytes.HasPrefix(ukey, countsPrefix):
				rest := ukey[len(countsPrefix):]
				slash := bytes.IndexByte(rest, '/')
				if slash < 0 || slash+1 >= len(rest) {
					continue
				}
				db := rest[slash+1]
				if kind != pebble.InternalKeyKindMerge || len(value) != 8 {
					reset[db] = true // a flush sets or deletes the count
					continue
				}
				n := int64(binary.LittleEndian.Uint64(value))
				if string(rest[:slash]) == "keys" {
					add(carried, db, n, 0)
				} else {
					add(carried, db, 0, n)
				}
			case len(ukey) < 2 || ukey[0] != encoding.TagMeta:
			case kind == pebble.InternalKeyKindRangeDelete:
				reset[ukey[1]] = true
			case kind == pebble.InternalKeyKindSet || kind == pebble.InternalKeyKindDelete:
				before, seen := states[string(ukey)]
				if !seen {
					st, err := s.keyStateOf(ukey)
					if err != nil {
						return nil, err
					}
					before = st
				}
				var after keyState
				if kind == pebble.InternalKeyKindSet {
					var m encoding.Meta
					if err := encoding.DecodeMeta(value, &m); err != nil {
						return nil, err
					}
					after = keyState{true, m.ExpireAt != 0}
				}
				states[string(ukey)] = after
				add(made, ukey[1], boolDelta(after.exists, before.exists), boolDelta(after.expires, before.expires))
			}
		}
	}
	fix := countsFix{}
	for db, d := range made {
		if !reset[db] {
			add(fix, db, d.keys, d.expires)
		}
	}
	for db, d := range carried {
		if !reset[db] {
			add(fix, db, -d.keys, -d.expires)
		}
	}
	return fix, nil
}

// keyStateOf reads metadata key mk's state from Pebble.
func (s *Store) keyStateOf(mk []byte) (keyState, error) {
	v, closer, err := s.db.Get(mk)
	if errors.Is(err, pebble.ErrNotFound) {
		return keyState{}, nil
	}
	if err != nil {
		return keyState{}, err
	}
	defer closer.Close()
	var m encoding.Meta
	if err := encoding.DecodeMeta(v, &m); err != nil {
		return keyState{}, err
	}
	return keyState{true, m.ExpireAt != 0}, nil
}

func boolDelta(after, before bool) int64 {
	switch {
	case after && !before:
		return 1
	case before && !after:
		return -1
	}
	return 0
}

// write adds fix to b as count operands.
func (fix countsFix) write(b *pebble.Batch) {
	for db, d := range fix {
		if d.keys != 0 {
			b.Merge(countKey("keys", db), binary.LittleEndian.AppendUint64(nil, uint64(d.keys)), nil)
		}
		if d.expires != 0 {
			b.Merge(countKey("expires", db), binary.LittleEndian.AppendUint64(nil, uint64(d.expires)), nil)
		}
	}
}

// apply adds fix to the counts in memory, once b applied.
func (fix countsFix) apply(s *Store) {
	for db, d := range fix {
		s.counts[db].keys.Add(d.keys)
		s.counts[db].expires.Add(d.expires)
	}
}
