package replication

import "time"

// feedLog is the logical stream fed to redis-server replicas, as a Redis
// primary keeps its replication stream: a replication id, an offset that
// counts the stream's bytes, the database the stream last selected, and
// the last bytes of the stream (the backlog, repl-backlog-size), from
// which a replica that reconnects with PSYNC continues. It exists from the
// first redis-server replica's sync until repl-backlog-ttl after the last
// one left, as Redis keeps its backlog. Guarded by Manager.feedMu.
type feedLog struct {
	id  string
	off int64 // bytes of the stream so far
	db  int   // the database the stream selected last; -1: the next command selects

	ring    []byte // the backlog: byte off-1 is at ring[(off-1)%len(ring)]
	histlen int64  // bytes of the stream in the ring

	lastPing time.Time
	// idle forgets the log repl-backlog-ttl after the last replica left.
	idle *time.Timer
}

func newFeedLog(id string, size int64) *feedLog {
	return &feedLog{id: id, db: -1, ring: make([]byte, size)}
}

// write appends p to the stream.
func (l *feedLog) write(p []byte) {
	l.off += int64(len(p))
	l.histlen = min(l.histlen+int64(len(p)), int64(len(l.ring)))
	if len(p) > len(l.ring) {
		p = p[len(p)-len(l.ring):]
	}
	at := int((l.off - int64(len(p))) % int64(len(l.ring)))
	n := copy(l.ring[at:], p)
	copy(l.ring, p[n:])
}

// first is the offset of the first byte the backlog holds, as Redis
// numbers it (the stream's first byte is 1).
func (l *feedLog) first() int64 { return l.off - l.histlen + 1 }

// since returns a copy of the stream from offset from (numbered as PSYNC
// names it: the next byte the replica wants), and whether the backlog
// still holds it.
func (l *feedLog) since(from int64) ([]byte, bool) {
	if from < l.first() || from > l.off+1 {
		return nil, false
	}
	n := l.off + 1 - from
	out := make([]byte, n)
	at := int((from - 1) % int64(len(l.ring)))
	c := copy(out, l.ring[at:])
	copy(out[c:], l.ring)
	return out, true
}
