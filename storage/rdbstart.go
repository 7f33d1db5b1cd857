package storage

import (
	"errors"
	iofs "io/fs"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A data folder Shoal opens for the first time takes the RDB file it
// finds there, as redis-server loads its dump.rdb at start (server's
// loadRDBAtStart); from then on the data is Pebble's, and a restart loads
// nothing. A mark says a load began: a start that finds it (the process
// died during the load) empties the store and loads again, so a load is
// whole or not at all.
//
//	0x00 "local/rdbstart" → "" while a load at start is under way

var rdbStartKey = encoding.SystemKey("local/rdbstart")

// Fresh reports whether dir holds no store yet (fs nil: the OS's).
func Fresh(dir string, fs vfs.FS) (bool, error) {
	if fs == nil {
		fs = vfs.Default
	}
	desc, err := pebble.Peek(dir, fs)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return true, nil
		}
		return false, err
	}
	return !desc.Exists, nil
}

// StartLoadPending reports whether a load at start began and did not end.
func (s *Store) StartLoadPending() (bool, error) {
	_, closer, err := s.db.Get(rdbStartKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	closer.Close()
	return true, nil
}

// LoadRDBAtStart loads data, an RDB file, into the store as LoadRDB does,
// under the mark: a store a load left unfinished is emptied first.
func (s *Store) LoadRDBAtStart(data []byte, opts RDBLoadOptions) (RDBLoadInfo, error) {
	if s.TotalKeys() != 0 {
		if err := s.BeginFullSync(); err != nil {
			return RDBLoadInfo{}, err
		}
	}
	if err := s.db.Set(rdbStartKey, nil, pebble.Sync); err != nil {
		return RDBLoadInfo{}, err
	}
	info, err := s.LoadRDB(data, opts)
	if err != nil {
		return info, err
	}
	return info, s.EndStartLoad()
}

// EndStartLoad clears the mark of a load at start: the load is whole, or
// there is nothing to load.
func (s *Store) EndStartLoad() error {
	if err := s.Sync(); err != nil {
		return err
	}
	return s.db.Delete(rdbStartKey, pebble.Sync)
}
