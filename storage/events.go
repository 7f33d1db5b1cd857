package storage

import (
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2"
)

// A primary's commit carries its keyspace events to replicas that ask for
// them as records of its batch that the WAL and the replication log hold
// but the store does not (Pebble's LogData): a replica applies batches,
// not commands, and publishes the events it finds in each after the batch
// applied, as Redis's replica fires those of the commands it runs.
//
//	'E' | class uvarint | db uvarint | len(name) uvarint | name | key

const eventRecord = 'E'

// A PUBLISH or SPUBLISH goes to replicas the same way, so that their
// subscribers get the message, as Redis's primary propagates the command:
//
//	'P' | 'S' for SPUBLISH, 'P' for PUBLISH | len(channel) uvarint | channel | message

const publishRecord = 'P'

// LogEvent adds the keyspace event name of class (a set of
// notify-keyspace-events classes) for key of logical database db to t's
// batch, for replicas.
func (t *Tx) LogEvent(class uint32, db int, name string, key []byte) {
	// NB: not kbuf: events fire from hooks that run inside Tx methods
	// (a new key's), which may be using it.
	b := append(t.evbuf[:0], eventRecord)
	b = binary.AppendUvarint(b, uint64(class))
	b = binary.AppendUvarint(b, uint64(db))
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(append(b, name...), key...)
	t.evbuf = b
	t.batch().LogData(b, nil)
}

// LogPublish adds a message published on channel (a shard channel when
// shard is set) to t's batch, for replicas.
func (t *Tx) LogPublish(shard bool, channel, message []byte) {
	kind := byte('P')
	if shard {
		kind = 'S'
	}
	b := append(t.evbuf[:0], publishRecord, kind)
	b = binary.AppendUvarint(b, uint64(len(channel)))
	b = append(append(b, channel...), message...)
	t.evbuf = b
	t.batch().LogData(b, nil)
}

// SetPublishListener installs fn, called with each message a replicated
// batch carries, once the batch applied. fn runs on the replication link
// and must not block.
func (s *Store) SetPublishListener(fn func(shard bool, channel, message []byte)) {
	s.onPublish.Store(&fn)
}

// SetEventListener installs fn, called with each keyspace event a
// replicated batch carries, once the batch applied. fn runs on the
// replication link and must not block.
func (s *Store) SetEventListener(fn func(class uint32, db int, name string, key []byte)) {
	s.onEvent.Store(&fn)
}

// replicatedEvent passes a LogData record of a replicated batch to the
// event listener if it is an event, to the publish listener if it is a
// message.
func (s *Store) replicatedEvent(kind pebble.InternalKeyKind, data []byte) bool {
	if kind != pebble.InternalKeyKindLogData {
		return false
	}
	if len(data) >= 2 && data[0] == publishRecord {
		s.replicatedPublish(data[1] == 'S', data[2:])
		return true
	}
	fn := s.onEvent.Load()
	if fn == nil || len(data) == 0 || data[0] != eventRecord {
		return true
	}
	rest := data[1:]
	var f [3]uint64
	for i := range f {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return true
		}
		f[i], rest = v, rest[n:]
	}
	if f[2] > uint64(len(rest)) {
		return true
	}
	(*fn)(uint32(f[0]), int(f[1]), string(rest[:f[2]]), rest[f[2]:])
	return true
}

// replicatedPublish passes a message record's channel and message to the
// publish listener.
func (s *Store) replicatedPublish(shard bool, rest []byte) {
	fn := s.onPublish.Load()
	if fn == nil {
		return
	}
	n, w := binary.Uvarint(rest)
	if w <= 0 || n > uint64(len(rest)-w) {
		return
	}
	rest = rest[w:]
	(*fn)(shard, rest[:n], rest[n:])
}
