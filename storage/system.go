package storage

import (
	"bytes"
	"errors"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Records are the store's named system values that replicate with the data
// but belong to no database: the function libraries that FUNCTION LOAD
// keeps. A FLUSHALL leaves them; a full sync replaces them.

// recordPrefix is where records live among the system keys.
var recordPrefix = encoding.SystemKey("record/")

func recordKey(name string) []byte { return append(bytes.Clone(recordPrefix), name...) }

// PutRecord writes record name in t's batch (val nil deletes it): it
// commits, replicates and is logged with t's other writes.
func (t *Tx) PutRecord(name string, val []byte) {
	if val == nil {
		t.batch().Delete(recordKey(name), nil)
	} else {
		t.batch().Set(recordKey(name), val, nil)
	}
}

// Record reads the committed value of record name; ok is false when it
// does not exist.
func (s *Store) Record(name string) (val []byte, ok bool, err error) {
	v, closer, err := s.db.Get(recordKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val = bytes.Clone(v)
	closer.Close()
	return val, true, nil
}

// OnRecordChange installs fn, called with a record's name after a
// replicated write changed it and with "" after a full sync replaced every
// record: a replica reloads what it keeps in memory from them.
func (s *Store) OnRecordChange(fn func(name string)) { s.onRecord.Store(&fn) }

func (s *Store) recordChanged(name string) {
	if fn := s.onRecord.Load(); fn != nil {
		(*fn)(name)
	}
}
