package storage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A store that holds no keys takes the RDB file it finds in its folder
// at start, as redis-server loads its dump.rdb (server's
// loadRDBAtStart), unless the file is one the store wrote (SAVE, BGSAVE,
// the save points) or loaded itself: a FLUSHALL after a SAVE does not
// bring the saved keys back at the next start, and a store that holds
// keys loads nothing, its data being Pebble's. The file is known by its
// size and its last 8 bytes (the checksum). A mark says a load began: a
// start that finds it (the process died during the load) empties the
// store and loads again, so a load is whole or not at all.
//
//	0x00 "local/rdbstart" → "" while a load at start is under way
//	0x00 "local/rdbfile"  → the identity of the RDB file last written or loaded

var (
	rdbStartKey = encoding.SystemKey("local/rdbstart")
	rdbFileKey  = encoding.SystemKey("local/rdbfile")
)

// RDBFileID identifies the RDB file at path: its size and last 8 bytes.
func RDBFileID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	var tail [8]byte
	n := min(st.Size(), 8)
	if _, err := f.ReadAt(tail[:n], st.Size()-n); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %s", st.Size(), hex.EncodeToString(tail[:n])), nil
}

// RDBFileSeen returns the identity of the RDB file the store last wrote
// or loaded, "" for none.
func (s *Store) RDBFileSeen() (string, error) {
	v, closer, err := s.db.Get(rdbFileKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer closer.Close()
	return string(v), nil
}

// SetRDBFileSeen records id as the RDB file the store wrote or loaded.
func (s *Store) SetRDBFileSeen(id string) error {
	return s.db.Set(rdbFileKey, []byte(id), pebble.Sync)
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
