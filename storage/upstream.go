package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A node that replicates a redis-server applies Redis's command stream,
// not Shoal's log, so it keeps its own account of where it is in that
// stream: the primary's replication id, the offset applied and the
// database the stream had selected. The mark is written in the same batch
// as the commands it covers, so after a restart the node continues with a
// partial resync from exactly what it holds.
//
//	0x00 "local/upstream" → "<replid> <offset> <db>"

var upstreamKey = encoding.SystemKey("local/upstream")

// UpstreamMark is where a replica of a redis-server is in its primary's
// replication stream.
type UpstreamMark struct {
	ID     string // the primary's replication id
	Offset int64  // the last byte applied
	DB     int    // the database the stream has selected
}

// PutUpstreamMark writes m in t's batch: it commits with the writes it
// covers.
func (t *Tx) PutUpstreamMark(m UpstreamMark) {
	t.batch().Set(upstreamKey, []byte(fmt.Sprintf("%s %d %d", m.ID, m.Offset, m.DB)), nil)
}

// UpstreamMark returns the stored mark; ok is false when there is none.
func (s *Store) UpstreamMark() (m UpstreamMark, ok bool, err error) {
	v, closer, err := s.db.Get(upstreamKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	defer closer.Close()
	if _, err := fmt.Sscanf(string(v), "%s %d %d", &m.ID, &m.Offset, &m.DB); err != nil {
		return m, false, fmt.Errorf("storage: upstream mark %q: %w", v, err)
	}
	return m, true, nil
}

// ClearUpstreamMark forgets the mark: the next sync with a redis-server
// is a full one.
func (s *Store) ClearUpstreamMark() error {
	return s.db.Delete(upstreamKey, pebble.Sync)
}
