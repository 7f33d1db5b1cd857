package storage

import (
	"encoding/binary"
	"errors"
	"io"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Per-database key counts are system records updated by Pebble merges of
// signed deltas in the same batch as the writes they count, so DBSIZE and
// INFO keyspace cost one read and survive a crash exactly.
//
//	0x00 | "count/keys/" | db   → int64 LE
//	0x00 | "count/expires/" | db → int64 LE

func countKey(kind string, db uint8) []byte {
	switch kind {
	case "keys":
		return countKeys[0][db]
	case "expires":
		return countKeys[1][db]
	}
	return makeCountKey(kind, db)
}

// countKeys are the keys and expires counters' keys of every physical
// database, made once: commits write them often.
var countKeys = func() (k [2][256][]byte) {
	for db := range 256 {
		k[0][db] = makeCountKey("keys", uint8(db))
		k[1][db] = makeCountKey("expires", uint8(db))
	}
	return k
}()

func makeCountKey(kind string, db uint8) []byte {
	return append(encoding.SystemKey("count/"+kind+"/"), db)
}

var counterMerger = &pebble.Merger{
	Name: "shoal.counter.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		m := &counterValue{}
		return m, m.MergeNewer(value)
	},
}

type counterValue struct{ n int64 }

func (c *counterValue) MergeNewer(v []byte) error {
	if len(v) != 8 {
		return errors.New("storage: corrupt counter operand")
	}
	c.n += int64(binary.LittleEndian.Uint64(v))
	return nil
}
func (c *counterValue) MergeOlder(v []byte) error { return c.MergeNewer(v) }
func (c *counterValue) Finish(bool) ([]byte, io.Closer, error) {
	return binary.LittleEndian.AppendUint64(nil, uint64(c.n)), nil, nil
}

type countDelta struct {
	db            uint8
	keys, expires int64
	reset         bool // FLUSHDB: the counts restart from zero
}

// liveCounts mirrors the persisted counts in memory so DBSIZE does not merge
// operands: loaded at Open, updated after each successful commit.
type liveCounts [256]struct{ keys, expires atomic.Int64 }

func (s *Store) loadCounts() {
	for db := 0; db < 256; db++ {
		s.counts[db].keys.Store(s.readCount("keys", uint8(db)))
		s.counts[db].expires.Store(s.readCount("expires", uint8(db)))
	}
}

func (s *Store) applyCounts(deltas []countDelta) {
	for _, d := range deltas {
		c := &s.counts[d.db]
		if d.reset {
			c.keys.Store(0)
			c.expires.Store(0)
		}
		c.keys.Add(d.keys)
		c.expires.Add(d.expires)
	}
}

func (s *Store) readCount(kind string, db uint8) int64 {
	v, closer, err := s.db.Get(countKey(kind, db))
	if err != nil {
		return 0
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(v))
}

// KeyCount returns the number of keys in logical database db, counting keys
// that have expired but are not yet removed, as Redis's DBSIZE does.
func (s *Store) KeyCount(db int) int64 { return s.counts[s.phys(db)].keys.Load() }

// ExpiresCount returns the number of keys with an expiry in logical database db.
func (s *Store) ExpiresCount(db int) int64 { return s.counts[s.phys(db)].expires.Load() }
