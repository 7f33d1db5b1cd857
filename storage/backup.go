package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Checkpoint writes a copy of the store to dir, which must not exist, as
// a Pebble checkpoint: its tables are hard links to the store's (a copy
// only where dir is on another file system), its log a copy of the
// writes not yet in tables, so it takes about as long for any size. The
// copy is a data folder that Open, and so shoal --dir, starts from. It
// holds the data of every database and none of this node's own records
// (node id, replication history and log) nor the strings being written:
// a node started from it is a new node.
func (s *Store) Checkpoint(dir string) error {
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("storage: checkpoint to %s: %w", dir, err)
	}
	cp, err := pebble.Open(dir, &pebble.Options{
		FS:                 s.opts.FS,
		Merger:             shoalMerger,
		FormatMajorVersion: pebble.FormatValueSeparation,
		Logger:             pebbleLogger{s.log},
	})
	if err != nil {
		return fmt.Errorf("storage: open checkpoint %s: %w", dir, err)
	}
	// NB: writes in progress are not in the copy: their chunks written
	// ahead go with their records.
	b := cp.NewBatch()
	b.DeleteRange(localPrefix, encoding.PrefixEnd(localPrefix), nil)
	err = deleteUnfinished(cp, b, func([]byte) bool { return true })
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	b.Close()
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	return err
}
