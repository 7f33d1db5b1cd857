package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"

	"github.com/shoaldb/shoal/storage/encoding"
)

// The replication log. Pebble cannot stream its WAL, so once a node has
// replicas, every commit is given a replication offset and a copy of its
// operations is stored under that offset in the same Pebble batch as the
// data: a crash keeps both or neither. Replicas resume from an offset while
// the log still holds it (partial sync) or take a snapshot (full sync).
//
// Offsets count bytes of logged batch representations, as Redis's count
// bytes of its replication stream: an entry covers (end-len, end] and is
// stored at its end offset.
//
// Keys local to this node, never replicated:
//
//	0x00 "local/id"            node id (40 hex chars), made once
//	0x00 "local/repl"          replication ids and base offset (replState)
//	0x00 "local/log/" end(8 BE) → batch representation of one commit
//	0x00 "local/logstart"      the offset the retained log starts after (8 BE)

var (
	localPrefix  = encoding.SystemKey("local/")
	nodeIDKey    = encoding.SystemKey("local/id")
	replStateKey = encoding.SystemKey("local/repl")
	logPrefix    = encoding.SystemKey("local/log/")
	logStartKey  = encoding.SystemKey("local/logstart")
)

func logKey(end int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), logPrefix...), uint64(end))
}

// ErrLogTrimmed reports that the log no longer holds an offset: the
// replica needs a full sync.
var ErrLogTrimmed = errors.New("storage: replication offset no longer in the log")

// LogEntry is one logged commit.
type LogEntry struct {
	End  int64  // offset after the entry
	Repr []byte // Pebble batch representation of the commit's operations
}

// replLog is the store's replication state.
//
// Logged commits apply concurrently, as Pebble applies batches: a commit
// takes the next range of offsets under mu, applies outside it, and the
// visible offset (offset) advances over the commits that finished, in
// offset order, as Pebble publishes sequence numbers. Readers of the log
// see only entries up to the visible offset, so none sees an entry while
// one before it is still applying.
//
// NB: two commits that apply at once never write the same key: each holds
// the lock stripes of its keys until its batch applied, and FLUSHDB,
// FLUSHALL and SWAPDB take every stripe. They may both merge a count
// (count/keys/<db>), and merges add: a replica applying them in offset
// order ends with the sum Pebble's order gave. So the data a replica
// builds from the log in offset order is the primary's, whatever order
// Pebble gave the batches.
type replLog struct {
	// mu assigns offsets. Operations that change the log's history
	// (EnableLog, Promote, a snapshot's offset, a replica's applies) hold
	// it with no commit in flight (lockDrained).
	mu   sync.Mutex
	next int64 // the end of the last assigned offset, under mu
	// pub holds the commits with offsets that are not yet visible, in
	// offset order; drained is signalled when none is left.
	pub struct {
		sync.Mutex
		inflight []inflight
		drained  sync.Cond
		waiting  bool
	}
	// gate is held shared by a commit applied without an offset and
	// exclusively while the log is switched on, so no such commit lands
	// after the snapshot of a first full sync without being in it.
	gate sync.RWMutex
	// held is held shared by readers that must see one state of the data
	// (Hold) and exclusively while a primary's batch applies here.
	held    sync.RWMutex
	enabled atomic.Bool
	replica atomic.Bool  // client commits are not logged on a replica
	offset  atomic.Int64 // visible: every commit up to it applied or failed
	start   atomic.Int64 // entries with End > start are retained
	synced  atomic.Int64 // offset known to be on stable storage

	idMu    sync.Mutex
	id, id2 string
	off2    int64 // the last offset of id2's history (Redis's second_repl_offset - 1)
	nodeID  string

	notifyMu sync.Mutex
	notify   chan struct{}

	tail logTail
}

// inflight is a logged commit that has its offsets and is not visible.
type inflight struct {
	end  int64
	repr []byte        // the entry, for the log's tail when it keeps one
	done bool          // it applied (or failed)
	ok   bool          // it applied
	wake chan struct{} // closed when it becomes visible, if its commit waits
}

// lockDrained takes mu once no commit is in flight: the visible offset
// is the end of the log, and stays so until unlock.
func (r *replLog) lockDrained() {
	r.mu.Lock()
	r.pub.Lock()
	for len(r.pub.inflight) > 0 {
		r.pub.waiting = true
		r.pub.drained.Wait()
	}
	r.pub.Unlock()
}

// setOffsetLocked moves the end of the log to off. The caller holds mu
// with the log drained.
func (r *replLog) setOffsetLocked(off int64) {
	r.next = off
	r.offset.Store(off)
}

// replState is the persisted part: ids and the offset the log starts from.
func (s *Store) saveReplStateLocked(b *pebble.Batch, base int64) {
	r := &s.repl
	r.idMu.Lock()
	v := fmt.Sprintf("%s %s %d %d %d", r.id, orDash(r.id2), r.off2, base, boolInt(r.enabled.Load()))
	r.idMu.Unlock()
	b.Set(replStateKey, []byte(v), nil)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NewReplID returns a random 40-character replication id.
func NewReplID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) loadRepl() error {
	r := &s.repl
	r.notify = make(chan struct{})
	r.pub.drained.L = &r.pub.Mutex
	if v, closer, err := s.db.Get(nodeIDKey); err == nil {
		r.nodeID = string(v)
		closer.Close()
	} else {
		r.nodeID = NewReplID()
		if err := s.db.Set(nodeIDKey, []byte(r.nodeID), pebble.Sync); err != nil {
			return err
		}
	}
	var base int64
	if v, closer, err := s.db.Get(replStateKey); err == nil {
		var id, id2 string
		var off2 int64
		var enabled int
		fmt.Sscanf(string(v), "%s %s %d %d %d", &id, &id2, &off2, &base, &enabled)
		closer.Close()
		if id2 == "-" {
			id2 = ""
		}
		r.id, r.id2, r.off2 = id, id2, off2
		r.enabled.Store(enabled == 1)
	} else {
		r.id = NewReplID()
	}
	// The offset is the end of the newest entry, or the base when the log
	// is empty; the log starts where its oldest entry starts.
	off, start := base, base
	var holes [][2]int64
	first := true
	// NB: a commit lost before the first one kept is a hole too, found
	// against the start TrimLog and the start of a history recorded.
	kept := int64(-1)
	if v, closer, err := s.db.Get(logStartKey); err == nil {
		if len(v) == 8 {
			kept = int64(binary.BigEndian.Uint64(v))
		}
		closer.Close()
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logPrefix, UpperBound: encoding.PrefixEnd(logPrefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		end := int64(binary.BigEndian.Uint64(it.Key()[len(logPrefix):]))
		from := end - int64(len(it.Value()))
		if first {
			start, off, first = from, from, false
			if kept >= 0 && kept < from {
				start, off = kept, kept
			}
		}
		if from > off {
			holes = append(holes, [2]int64{off, from})
		}
		off = end
	}
	if err := it.Close(); err != nil {
		return err
	}
	r.setOffsetLocked(off)
	r.start.Store(start)
	r.synced.Store(off)
	if len(holes) > 0 {
		return s.fillHoles(holes)
	}
	return nil
}

// fillHoles gives each hole of the log found at open a no-op entry.
//
// NB: commits apply concurrently, and Pebble's own log keeps them in the
// order Pebble applied them, not in offset order, so a crash that lost the
// last commits may have lost one whose offsets come before those of one it
// kept. No replica received an entry after the hole before the crash (the
// visible offset stops at it), but one may hold the lost commit itself:
// the history goes on under a new id whose previous one ends where the
// first hole starts, so such a replica resyncs fully and the others
// continue through the no-op entries.
func (s *Store) fillHoles(holes [][2]int64) error {
	r := &s.repl
	b := s.db.NewBatch()
	defer b.Close()
	for _, h := range holes {
		b.Set(logKey(h[1]), noopEntry(int(h[1]-h[0])), nil)
	}
	r.idMu.Lock()
	r.id2, r.off2, r.id = r.id, holes[0][0], NewReplID()
	r.idMu.Unlock()
	s.saveReplStateLocked(b, r.offset.Load())
	s.log.Warn("storage: the replication log lost commits in a crash; a new replication history starts",
		"from", holes[0][0], "holes", len(holes))
	return b.Commit(pebble.Sync)
}

// noopEntry returns a batch representation of n bytes (n > batchHeaderLen)
// that changes nothing: LogData records of zeros, which a replica writes
// to its WAL only and which carry no event.
func noopEntry(n int) []byte {
	repr := make([]byte, batchHeaderLen, n)
	for rest := n - batchHeaderLen; rest > 0; {
		// A record is its kind, the uvarint length of its data, and the
		// data; where no length fits rest exactly, an empty record (two
		// bytes) goes first.
		d := -1
		for k := 1; k <= binary.MaxVarintLen64; k++ {
			if v := rest - 1 - k; v >= 0 && uvarintLen(uint64(v)) == k {
				d = v
				break
			}
		}
		if d < 0 {
			d = 0
		}
		repr = append(repr, byte(pebble.InternalKeyKindLogData))
		repr = binary.AppendUvarint(repr, uint64(d))
		repr = append(repr, make([]byte, d)...)
		rest = n - len(repr)
	}
	return repr
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// NodeID returns this node's persistent id.
func (s *Store) NodeID() string { return s.repl.nodeID }

// ReplIDs returns the current replication id, the previous one and the last
// offset of the previous one's history.
func (s *Store) ReplIDs() (id, id2 string, off2 int64) {
	s.repl.idMu.Lock()
	defer s.repl.idMu.Unlock()
	return s.repl.id, s.repl.id2, s.repl.off2
}

// ReplOffset returns the offset of the last logged commit (0 while the log
// has never been enabled, as Redis's master_repl_offset without a backlog):
// the visible offset, which a commit has reached when it returns.
func (s *Store) ReplOffset() int64 { return s.repl.offset.Load() }

// LogStart returns the offset the retained log starts after.
func (s *Store) LogStart() int64 { return s.repl.start.Load() }

// SyncedOffset returns the offset known to be on stable storage.
func (s *Store) SyncedOffset() int64 { return s.repl.synced.Load() }

// LogEnabled reports whether commits are logged.
func (s *Store) LogEnabled() bool { return s.repl.enabled.Load() }

// EnableLog starts logging commits (when the first replica attaches) and
// persists that, so a restarted primary keeps its history for replicas.
func (s *Store) EnableLog() error {
	if s.repl.enabled.Load() {
		return nil
	}
	s.repl.lockDrained()
	defer s.repl.mu.Unlock()
	s.repl.gate.Lock()
	s.repl.enabled.Store(true)
	s.repl.gate.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	s.saveReplStateLocked(b, s.repl.offset.Load())
	b.Set(logStartKey, binary.BigEndian.AppendUint64(nil, uint64(s.repl.start.Load())), nil)
	return b.Commit(pebble.Sync)
}

// SetReplica switches between the primary role (client commits are logged)
// and the replica role (only applied replication entries are logged).
func (s *Store) SetReplica(on bool) { s.repl.replica.Store(on) }

// Promote starts a new replication history, as REPLICAOF NO ONE does: a new
// id, with the old one kept as id2 so replicas of the old primary can
// continue with a partial sync.
//
// The writes its old primary had started ahead of their commit
// (ahead.go) will not be finished in the new history: their chunks go.
func (s *Store) Promote() error {
	if err := s.promote(); err != nil {
		return err
	}
	return s.dropUnfinished(false)
}

func (s *Store) promote() error {
	s.repl.lockDrained()
	defer s.repl.mu.Unlock()
	r := &s.repl
	r.idMu.Lock()
	r.id2, r.off2, r.id = r.id, r.offset.Load(), NewReplID()
	r.idMu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	s.saveReplStateLocked(b, r.offset.Load())
	return b.Commit(pebble.Sync)
}

// LogChanged returns a channel closed at the next logged commit.
func (s *Store) LogChanged() <-chan struct{} {
	s.repl.notifyMu.Lock()
	defer s.repl.notifyMu.Unlock()
	return s.repl.notify
}

func (s *Store) broadcastLog() {
	s.repl.notifyMu.Lock()
	close(s.repl.notify)
	s.repl.notify = make(chan struct{})
	s.repl.notifyMu.Unlock()
}

// logsClientCommits reports whether a client's commit gets an offset.
// LogsCommits reports whether a client's commit goes to the replication
// log: this store is a primary that has had replicas.
func (s *Store) LogsCommits() bool { return s.logsClientCommits() }

func (s *Store) logsClientCommits() bool {
	return s.repl.enabled.Load() && !s.repl.replica.Load()
}

// applyCommit applies a client's batch: with an offset when commits are
// logged, else as is. Under sync it only queues the fsync (the caller waits
// with b.SyncWait). logged says whether end is b's offset.
func (s *Store) applyCommit(b *pebble.Batch, sync bool) (end int64, logged bool, err error) {
	s.repl.gate.RLock()
	if s.logsClientCommits() {
		s.repl.gate.RUnlock()
		end, err = s.applyLogged(b, sync)
		return end, true, err
	}
	if sync {
		err = s.db.ApplyNoSyncWait(b, pebble.Sync)
	} else {
		err = s.db.Apply(b, pebble.NoSync)
	}
	s.repl.gate.RUnlock()
	return 0, false, err
}

// applyLogged appends b's operations to the log under the next offsets
// and applies b, both in one Pebble batch. It returns the entry's end
// offset once it is visible (publish).
//
// Without sync, commits apply concurrently. A commit under sync applies
// alone, after those before it and before those after it, so Pebble's
// order is offset order up to it: once its sync ended, every offset up to
// its end is durable (markSynced).
func (s *Store) applyLogged(b *pebble.Batch, sync bool) (int64, error) {
	r := &s.repl
	// NB: Set copies the copy into b, whose buffer it is taken from: copy
	// it out first, into a pooled buffer, or one of its own when the log's
	// tail keeps it.
	tail := r.tail.on.Load()
	var buf *[]byte
	var repr []byte
	if tail {
		repr = bytes.Clone(b.Repr())
	} else {
		buf = reprPool.Get().(*[]byte)
		repr = append((*buf)[:0], b.Repr()...)
	}
	if sync {
		r.lockDrained()
	} else {
		r.mu.Lock()
	}
	end := r.next + int64(len(repr))
	r.next = end
	r.pub.Lock()
	f := inflight{end: end}
	if tail {
		f.repr = repr
	}
	r.pub.inflight = append(r.pub.inflight, f)
	r.pub.Unlock()
	if !sync {
		r.mu.Unlock()
	}
	b.Set(logKey(end), repr, nil)
	if buf != nil && cap(repr) <= 64<<10 {
		*buf = repr
		reprPool.Put(buf)
	}
	var err error
	if sync {
		err = s.db.ApplyNoSyncWait(b, pebble.Sync)
	} else {
		err = s.db.Apply(b, pebble.NoSync)
	}
	// NB: a commit that failed is published too: readers of the log find
	// a hole there, which they read as a no-op entry (ReadLog).
	s.publish(end, err == nil)
	if sync {
		r.mu.Unlock()
	}
	return end, err
}

// reprPool holds buffers for applyLogged's copies of batches.
var reprPool = sync.Pool{New: func() any { return new([]byte) }}

// publish records that the commit ending at end finished, makes visible
// every finished commit that no unfinished one precedes, and returns once
// end is visible: a client that wrote finds its write in ReplOffset, as it
// finds it in Pebble once Apply returned.
func (s *Store) publish(end int64, ok bool) {
	r := &s.repl
	r.pub.Lock()
	q := r.pub.inflight
	n, me := 0, 0
	for i := range q {
		if q[i].end == end {
			q[i].done, q[i].ok, me = true, ok, i
		}
		if n == i && q[i].done {
			n++
		}
	}
	if me >= n {
		// A commit before this one is still applying: the one that
		// finishes last makes both visible.
		wake := make(chan struct{})
		q[me].wake = wake
		r.pub.Unlock()
		<-wake
		return
	}
	from := r.offset.Load()
	for _, f := range q[:n] {
		if f.repr != nil || (!f.ok && r.tail.on.Load()) {
			// NB: in offset order, as the tail keeps the log; a hole as
			// ReadLog reads it.
			e := LogEntry{End: f.end, Repr: f.repr}
			if !f.ok {
				e.Repr = noopEntry(int(f.end - from))
			}
			r.tail.add(e)
		}
		from = f.end
	}
	// NB: visible before the commits it covers return: a client's WAIT
	// asks its replicas for the visible offset (RequestAcks), and one
	// woken ahead of it was asking for less than its write.
	r.offset.Store(q[n-1].end)
	for _, f := range q[:n] {
		if f.wake != nil {
			close(f.wake)
		}
	}
	r.pub.inflight = q[:copy(q, q[n:])]
	if len(r.pub.inflight) == 0 && r.pub.waiting {
		r.pub.waiting = false
		r.pub.drained.Broadcast()
	}
	r.pub.Unlock()
	s.broadcastLog()
}

// markSynced records that every offset up to off is durable.
func (s *Store) markSynced(off int64) {
	for {
		cur := s.repl.synced.Load()
		if off <= cur || s.repl.synced.CompareAndSwap(cur, off) {
			return
		}
	}
}

// ReadLog returns logged entries with End > after, in order, up to about
// maxBytes of representations (at least one entry when any), and only up
// to the visible offset. It returns ErrLogTrimmed when after is older
// than the retained log. A hole a failed commit left reads as a no-op
// entry of its size, so a reader neither waits for it nor skips it.
func (s *Store) ReadLog(after int64, maxBytes int) ([]LogEntry, error) {
	if after < s.repl.start.Load() {
		return nil, ErrLogTrimmed
	}
	s.repl.tail.on.Store(true)
	if after >= s.repl.offset.Load() {
		return nil, nil
	}
	if es, ok := s.repl.tail.read(after, maxBytes); ok {
		return es, nil
	}
	return s.readLogStored(after, maxBytes)
}

// readLogStored is ReadLog from Pebble, up to the visible offset.
func (s *Store) readLogStored(after int64, maxBytes int) ([]LogEntry, error) {
	visible := s.repl.offset.Load()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(after + 1), UpperBound: logKey(visible + 1)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []LogEntry
	size, prev, full := 0, after, false
	for ok := it.First(); ok && !full; ok = it.Next() {
		end := int64(binary.BigEndian.Uint64(it.Key()[len(logPrefix):]))
		v := bytes.Clone(it.Value())
		if from := end - int64(len(v)); from > prev {
			out = append(out, LogEntry{End: from, Repr: noopEntry(int(from - prev))})
		}
		out = append(out, LogEntry{End: end, Repr: v})
		size += len(v)
		prev = end
		full = size >= maxBytes
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if !full && prev < visible {
		out = append(out, LogEntry{End: visible, Repr: noopEntry(int(visible - prev))})
	}
	// NB: re-check after reading: a trim that ran meanwhile may have removed
	// entries the replica needs, leaving a gap.
	if after < s.repl.start.Load() {
		return nil, ErrLogTrimmed
	}
	return out, nil
}

// TrimLog drops the oldest entries while the log holds more than keep bytes,
// never dropping entries after floor (what a connected replica still needs)
// unless the log would exceed maxKeep.
func (s *Store) TrimLog(keep, floor, maxKeep int64) error {
	off := s.repl.offset.Load()
	target := off - keep
	if floor < target && off-floor <= maxKeep {
		target = floor
	}
	if target <= s.repl.start.Load() {
		return nil
	}
	// Find the entry boundary at or before target.
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logPrefix, UpperBound: logKey(target + 1)})
	if err != nil {
		return err
	}
	newStart := int64(-1)
	if it.Last() {
		newStart = int64(binary.BigEndian.Uint64(it.Key()[len(logPrefix):]))
	}
	it.Close()
	if newStart <= s.repl.start.Load() {
		return nil
	}
	s.repl.start.Store(newStart)
	b := s.db.NewBatch()
	defer b.Close()
	b.DeleteRange(logPrefix, logKey(newStart+1), nil)
	b.Set(logStartKey, binary.BigEndian.AppendUint64(nil, uint64(newStart)), nil)
	return b.Commit(pebble.NoSync)
}

// SnapshotChunk is one piece of a full sync: a batch of Set operations.
type SnapshotChunk = []byte

// Snapshot takes a consistent view of the replicated data together with
// the offset it covers, calls begin with that offset, then emit with batch
// representations of about chunkBytes each. Writes go on meanwhile: the
// view is a Pebble snapshot.
func (s *Store) Snapshot(chunkBytes int, begin func(offset int64) error, emit func(chunk []byte) error) (offset int64, err error) {
	if err := s.EnableLog(); err != nil {
		return 0, err
	}
	s.repl.lockDrained()
	snap := s.db.NewSnapshot()
	offset = s.repl.offset.Load()
	s.repl.mu.Unlock()
	defer snap.Close()
	if begin != nil {
		if err := begin(offset); err != nil {
			return 0, err
		}
	}
	it, err := snap.NewIter(nil)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	b := s.db.NewBatch()
	defer func() { b.Close() }()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if bytes.HasPrefix(k, localPrefix) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, err
		}
		b.Set(k, v, nil)
		if b.Len() >= chunkBytes {
			if err := emit(b.Repr()); err != nil {
				return 0, err
			}
			b.Reset()
		}
	}
	if !b.Empty() {
		if err := emit(b.Repr()); err != nil {
			return 0, err
		}
	}
	return offset, it.Error()
}

// BeginFullSync wipes this node's replicated data and log before a full
// sync from a primary with id.
func (s *Store) BeginFullSync() error {
	if err := s.DiskError(); err != nil {
		return err // the link retries once the disk accepts writes
	}
	s.repl.held.Lock()
	defer s.repl.held.Unlock()
	s.repl.lockDrained()
	defer s.repl.mu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	b.DeleteRange([]byte{}, localPrefix, nil)
	b.DeleteRange(encoding.PrefixEnd(localPrefix), []byte{0xff, 0xff}, nil)
	b.DeleteRange(logPrefix, encoding.PrefixEnd(logPrefix), nil)
	b.Delete(divergedKey, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	s.repl.tail.reset()
	s.replicaExpires.forget()
	s.diverged.Store(false)
	for i := range s.counts {
		s.counts[i].keys.Store(0)
		s.counts[i].expires.Store(0)
	}
	s.meta.clear()
	if err := s.loadDBMap(); err != nil {
		return err
	}
	s.touchAll()
	s.recordChanged("")
	return nil
}

// ApplySnapshotChunk applies one chunk of a full sync.
func (s *Store) ApplySnapshotChunk(repr []byte) error {
	if err := s.DiskError(); err != nil {
		return err // the link retries once the disk accepts writes
	}
	s.repl.held.Lock()
	defer s.repl.held.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.SetRepr(bytes.Clone(repr)); err != nil {
		return err
	}
	s.meta.forget() // NB: before the records reach Pebble
	err := b.Commit(pebble.NoSync)
	s.meta.aroundLanded()
	if err != nil {
		return err
	}
	s.applyEffects(repr)
	return nil
}

// EndFullSync records that the node now holds the primary's history id up
// to offset, and makes it durable.
func (s *Store) EndFullSync(id string, offset int64) error {
	s.repl.lockDrained()
	defer s.repl.mu.Unlock()
	r := &s.repl
	r.idMu.Lock()
	r.id, r.id2, r.off2 = id, "", 0
	r.idMu.Unlock()
	r.enabled.Store(true)
	r.tail.reset()
	r.setOffsetLocked(offset)
	r.start.Store(offset)
	b := s.db.NewBatch()
	defer b.Close()
	s.saveReplStateLocked(b, offset)
	b.Set(logStartKey, binary.BigEndian.AppendUint64(nil, uint64(offset)), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	r.synced.Store(offset)
	s.broadcastLog()
	s.startWarm()
	return nil
}

// ChangeReplID starts a new replication history and forgets the
// previous one, as DEBUG CHANGE-REPL-ID does (Redis's
// changeReplicationId and clearReplicationId2): replicas can no longer
// continue by partial resync.
func (s *Store) ChangeReplID() error {
	s.repl.lockDrained()
	defer s.repl.mu.Unlock()
	r := &s.repl
	r.idMu.Lock()
	r.id, r.id2, r.off2 = NewReplID(), "", 0
	r.idMu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	s.saveReplStateLocked(b, r.offset.Load())
	return b.Commit(pebble.Sync)
}

// SetReplID adopts the primary's replication id after a partial sync that
// the primary answered with a new id (it was promoted meanwhile).
func (s *Store) SetReplID(id string) error {
	s.repl.lockDrained()
	defer s.repl.mu.Unlock()
	r := &s.repl
	r.idMu.Lock()
	if r.id == id {
		r.idMu.Unlock()
		return nil
	}
	r.id2, r.off2, r.id = r.id, r.offset.Load(), id
	r.idMu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	s.saveReplStateLocked(b, r.offset.Load())
	return b.Commit(pebble.Sync)
}

// ApplyReplicated applies one entry streamed from the primary, logging it
// under the same offset so this node can feed replicas of its own. sync
// makes it durable before returning.
func (s *Store) ApplyReplicated(e LogEntry, sync bool) error {
	return s.ApplyReplicatedGroup([]LogEntry{e}, sync)
}

// ApplyReplicatedGroup applies consecutive entries streamed from the
// primary as one Pebble batch, each logged under its own offset as the
// primary logged it: entries that arrived together cost one commit.
func (s *Store) ApplyReplicatedGroup(es []LogEntry, sync bool) error {
	if len(es) == 0 {
		return nil
	}
	if err := s.DiskError(); err != nil {
		return err // the link retries once the disk accepts writes
	}
	r := &s.repl
	r.held.Lock()
	defer r.held.Unlock()
	r.lockDrained()
	off, size, count := r.offset.Load(), 0, uint32(0)
	for _, e := range es {
		if len(e.Repr) < batchHeaderLen || e.End != off+int64(len(e.Repr)) {
			r.mu.Unlock()
			return fmt.Errorf("storage: replication entry ends at %d, expected %d", e.End, off+int64(len(e.Repr)))
		}
		off = e.End
		size += len(e.Repr) - batchHeaderLen
		count += binary.LittleEndian.Uint32(e.Repr[8:batchHeaderLen])
	}
	// NB: a batch's representation is a header (sequence number, record
	// count) and its records, so the entries' records, one after the
	// other, are one batch with the sum of their counts.
	repr := make([]byte, batchHeaderLen, batchHeaderLen+size)
	for _, e := range es {
		repr = append(repr, e.Repr[batchHeaderLen:]...)
	}
	binary.LittleEndian.PutUint32(repr[8:], count)
	b := s.db.NewBatch()
	err := b.SetRepr(repr)
	if err != nil {
		r.mu.Unlock()
		b.Close()
		return err
	}
	var fix countsFix
	if s.diverged.Load() {
		// NB: under the hold, which keeps the clients' commands out.
		if fix, err = s.countCorrections(es); err != nil {
			r.mu.Unlock()
			b.Close()
			return err
		}
		fix.write(b)
	}
	for _, e := range es {
		b.Set(logKey(e.End), e.Repr, nil)
		// Readers must not find some of the batch's keys new in the
		// cache and others old: its keys are hidden in the cache before
		// it applies, and applyEffects forgets them again after, with
		// any old record a reader filled meanwhile.
		s.hideBatchKeys(e.Repr)
	}
	if sync {
		err = s.db.Apply(b, pebble.Sync)
	} else {
		err = s.db.Apply(b, pebble.NoSync)
		s.dirty.Store(true)
	}
	if err == nil {
		fix.apply(s)
		if r.tail.on.Load() {
			for _, e := range es {
				r.tail.add(LogEntry{End: e.End, Repr: bytes.Clone(e.Repr)})
			}
		}
		r.setOffsetLocked(off)
		if sync {
			s.markSynced(off)
		}
	}
	r.mu.Unlock()
	b.Close()
	if err != nil {
		return err
	}
	for _, e := range es {
		s.applyEffects(e.Repr)
	}
	s.broadcastLog()
	return nil
}

// batchHeaderLen is the length of a Pebble batch representation's
// header: its sequence number and its record count, little-endian.
const batchHeaderLen = 12

// Hold keeps the primary's batches from applying here until Release, so
// that a script or a transaction run on a replica reads one state of the
// data, as on Redis, whose replica applies its stream on the thread that
// runs them. The caller holds no key lock and no lock of the script
// engine when it calls Hold, and does not call it again before Release:
// a batch waiting to apply keeps new holders out.
func (s *Store) Hold() { s.repl.held.RLock() }

// Release ends a Hold.
func (s *Store) Release() { s.repl.held.RUnlock() }

// hideBatchKeys hides the cached records of the keys a replicated batch
// writes.
func (s *Store) hideBatchKeys(repr []byte) {
	if s.meta == nil {
		return
	}
	rd := batchrepr.Read(repr)
	for {
		kind, ukey, _, ok, err := rd.Next()
		if !ok || err != nil {
			return
		}
		if kind != pebble.InternalKeyKindRangeDelete && kind != pebble.InternalKeyKindLogData && len(ukey) >= 2 && (ukey[0] == encoding.TagMeta || ukey[0] == encoding.TagSub) {
			s.meta.hide(ukey)
		}
	}
}

// applyEffects brings in-memory state in line with replicated operations:
// key counts, the database map, and the write listeners.
func (s *Store) applyEffects(repr []byte) {
	rd := batchrepr.Read(repr)
	countsPrefix := encoding.SystemKey("count/")
	fn := s.onWrite.Load()
	listen := fn != nil && s.listeners.Load() > 0
	var keys [][]byte
	var flushed bool
	defer func() {
		if applied := s.onApplied.Load(); listen && applied != nil && (flushed || len(keys) > 0) {
			(*applied)(keys, flushed)
		}
	}()
	for {
		kind, ukey, value, ok, err := rd.Next()
		if !ok || err != nil {
			return
		}
		if s.replicatedEvent(kind, ukey) {
			continue
		}
		if len(ukey) >= 2 && (ukey[0] == encoding.TagMeta || ukey[0] == encoding.TagSub) {
			switch {
			case kind != pebble.InternalKeyKindRangeDelete:
				s.meta.invalidate(ukey)
			case ukey[0] == encoding.TagSub && encoding.IsVersionSpan(ukey, value):
				// A dropped collection: its version is never used again.
			default:
				// FLUSHDB, or items of a live list: the cache cannot tell
				// which of its entries the range covers.
				s.meta.clear()
			}
		}
		switch {
		case bytes.HasPrefix(ukey, countsPrefix):
			s.applyCountOp(kind, ukey[len(countsPrefix):], value)
		case bytes.HasPrefix(ukey, recordPrefix):
			s.recordChanged(string(ukey[len(recordPrefix):]))
		case bytes.Equal(ukey, dbMapKey) && kind == pebble.InternalKeyKindSet:
			m := make([]uint8, s.opts.Databases)
			copy(m, value)
			s.dbmap.Store(&m)
			s.touchAll()
		case listen && kind == pebble.InternalKeyKindRangeDelete && len(ukey) >= 2 && ukey[0] == encoding.TagMeta:
			if db := s.logical(ukey[1]); db >= 0 {
				(*fn)(db, nil, true) // a replicated FLUSHDB or FLUSHALL
				flushed = true
			}
		case listen && len(ukey) >= 2 && ukey[0] == encoding.TagMeta:
			if db := s.logical(ukey[1]); db >= 0 {
				key := bytes.Clone(ukey[2:])
				(*fn)(db, key, false)
				keys = append(keys, key)
			}
		}
	}
}

func (s *Store) applyCountOp(kind pebble.InternalKeyKind, rest, value []byte) {
	// rest is "keys/<db>" or "expires/<db>".
	slash := bytes.IndexByte(rest, '/')
	if slash < 0 || slash+1 >= len(rest) {
		return
	}
	c := &s.counts[rest[slash+1]]
	ctr := &c.keys
	if string(rest[:slash]) == "expires" {
		ctr = &c.expires
	}
	switch kind {
	case pebble.InternalKeyKindMerge:
		if len(value) == 8 {
			ctr.Add(int64(binary.LittleEndian.Uint64(value)))
		}
	case pebble.InternalKeyKindSet:
		if len(value) == 8 {
			ctr.Store(int64(binary.LittleEndian.Uint64(value)))
		}
	case pebble.InternalKeyKindDelete:
		ctr.Store(0)
	}
}

// logical returns the logical database mapped to physical slot p, or -1.
func (s *Store) logical(p uint8) int {
	for i, v := range *s.dbmap.Load() {
		if v == p {
			return i
		}
	}
	return -1
}

func (s *Store) touchAll() {
	if fn := s.onWrite.Load(); fn != nil && s.listeners.Load() > 0 {
		(*fn)(-1, nil, false)
	}
}
