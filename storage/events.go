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

// The commands a primary's commit came from, as Redis replicates them,
// go to replicas the same way, so that a replica's commandstats count
// them as Redis's replica counts the commands it runs:
//
//	'C' | for each run of one command: count uvarint | len(name) uvarint | name

const callsRecord = 'C'

// LogCall adds a command of t's writes, by its full name ("set",
// "xgroup|setid"), as Redis replicates it, to what t's commit tells the
// replicas it ran. name must stay valid (a command table's names do).
func (t *Tx) LogCall(name string) { t.calls = append(t.calls, name) }

// logCalls adds t's calls to b as one record, each run of one command
// once with its count.
func (t *Tx) logCalls(b *pebble.Batch) {
	rec := append(t.evbuf[:0], callsRecord)
	for i := 0; i < len(t.calls); {
		j := i + 1
		for j < len(t.calls) && t.calls[j] == t.calls[i] {
			j++
		}
		rec = binary.AppendUvarint(rec, uint64(j-i))
		rec = binary.AppendUvarint(rec, uint64(len(t.calls[i])))
		rec = append(rec, t.calls[i]...)
		i = j
	}
	t.evbuf = rec
	b.LogData(rec, nil)
}

// SetCallsListener installs fn, called with each run of one command a
// replicated batch says its primary ran, once the batch applied. fn runs
// on the replication link and must not block.
func (s *Store) SetCallsListener(fn func(name string, count int)) {
	s.onCalls.Store(&fn)
}

// replicatedCalls passes a calls record's commands to the calls listener.
func (s *Store) replicatedCalls(rest []byte) {
	fn := s.onCalls.Load()
	if fn == nil {
		return
	}
	for len(rest) > 0 {
		count, w := binary.Uvarint(rest)
		if w <= 0 {
			return
		}
		rest = rest[w:]
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return
		}
		rest = rest[w:]
		(*fn)(string(rest[:n]), int(count))
		rest = rest[n:]
	}
}

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
	if len(data) >= 1 && data[0] == callsRecord {
		s.replicatedCalls(data[1:])
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
