package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Tx is one connection's unit of work on the store: the key locks it holds
// and the writes it has not committed yet. A connection keeps one Tx and
// commits it when its pipeline is drained, so N pipelined writes reach Pebble
// as one batch; reads through the Tx see its own uncommitted writes.
//
// A Tx is used by one goroutine at a time.
type Tx struct {
	s    *Store
	b    *pebble.Batch    // nil until the first write; indexed by readBatch
	snap *pebble.Snapshot // set on a read-only Tx over a snapshot (rdbwrite.go)
	lzf  bool             // AppendObject compresses strings (rdbwrite.go)
	// bulk marks a write-only Tx (the RDB loader): its writes are not
	// tracked for its own reads.
	bulk  bool
	held  []uint32  // lock stripes held
	holds StripeSet // held as a set
	// holdLazily takes the replica's stream hold before the first
	// lookup of a value of several records (HoldLazily); heldLazily
	// says it did.
	holdLazily func()
	heldLazily bool
	counts     []countDelta
	touched    []touchedKey
	err        error // first commit error, returned by Err
	woff       int64 // replication offset of the last logged commit
	// pending holds the metadata records this Tx wrote and has not
	// committed (nil: deleted), so its reads see them without an indexed
	// batch lookup; flushed lists physical databases FLUSHDB emptied.
	pending map[string][]byte
	// pendingBig marks a pending map Reserve made for many records.
	pendingBig bool
	// many marks a command of many records (Reserve) among the writes
	// pending: the commit then adds no member entries to the hot cache
	// (publishInsertMax).
	many bool
	// pendingMetas counts the metadata records setPending took since
	// the pending map was last emptied, a key written twice twice.
	pendingMetas int
	// dueMetas are the metadata records in pending that the batch lacks
	// (writeMeta), in the order written, a key written by consecutive
	// writes once with its last record; dueBytes is about their size.
	dueMetas []dueMeta
	dueBytes int
	flushed  []uint8
	// untracked reports that the batch holds sub-key writes the pending
	// map does not (range deletes, copied collections): member reads then
	// go through the batch.
	untracked bool
	// atomic is set while a script runs (see SetAtomic).
	atomic AtomicMode
	// await is SetLockWait's function.
	await func(stripe uint32) bool
	// keep is set by KeepBuffers; batchSize is then the size of the last
	// batch committed, which the next one is made with.
	keep      bool
	batchSize int
	// aheads are the strings whose chunks t wrote ahead of its commit,
	// aheadErr the failure of one, which fails the commit (ahead.go).
	aheads   []aheadWrite
	aheadErr error
	// lists holds list nodes and node indexes written and not yet in the
	// batch, see list.go; spareRecs are its flushed records, reused.
	lists     map[string]*listRec
	spareRecs []*listRec
	// spareNodes are buffers of flushed list records, reused for the next
	// reads of nodes; spareLogs likewise for edit logs.
	spareNodes [][]byte
	spareLogs  [][]byte
	lkey       []byte // a list node's sub-key being read or written
	// frozenMs, when not 0, is the time keys expire by (FreezeClock).
	frozenMs int64
	valBuf   []byte
	scratch  []byte
	skey     []byte // memberKey's buffer
	kbuf     []byte // a key or record being written, copied by the batch
	evbuf    []byte // an event record (LogEvent), copied by the batch
	// calls are the commands t's writes came from, as Redis replicates
	// them (LogCall), for the replicas' commandstats.
	calls []string
	ebuf  []byte // an encoded metadata record being written
	arena []byte // pending's keys and records (setPending)
	// onNew, when set, is told of every key a write creates (SetNewKeyHook).
	onNew func(db int, key []byte)
	// onTouch, when set, is told of every write the listener will be
	// (SetTouchHook).
	onTouch func(db int, key []byte, flushed bool)
	// owner is who runs commands through the Tx (SetOwner).
	owner any
	// noTouch leaves keys' access clocks alone (SetNoTouch).
	noTouch bool
	// expireOnRead deletes the expired keys lookups find (SetExpireOnRead).
	expireOnRead bool
	// pub is pending while a commit applies, hidden in the cache.
	pub commitShards
	// seek reads Pebble for the lookups of a command of many keys
	// (ReadMany).
	seek *pebble.Iterator
	// newClocks are the access clocks due for the keys a command of many
	// keys (ReadMany) created, set at once (flushClocks).
	newClocks []uint64
	// fromPrimary: t runs a primary's stream (SetFromPrimary).
	fromPrimary bool
	// pendingGen counts the times pending was emptied or replaced: a Key
	// marked fresh in another generation is not (Key.fresh).
	pendingGen uint64
}

type touchedKey struct {
	db      int
	key     []byte
	flushed bool // db was emptied (key is nil)
	swapped bool // db was swapped with another (key is nil)
	ready   bool // only blocked readers are told (SignalReady)
}

// NewTx returns a Tx on s.
func (s *Store) NewTx() *Tx { return &Tx{s: s} }

// SetNewKeyHook installs fn, called while the key's lock is held with
// every key a write through t creates where none lived (Redis's dbAdd,
// which fires the "new" keyspace event). fn must not keep key.
func (t *Tx) SetNewKeyHook(fn func(db int, key []byte)) { t.onNew = fn }

// SetOwner records who runs commands through t, for the hooks the store
// calls with it (the expire hook); Owner returns it.
func (t *Tx) SetOwner(o any) { t.owner = o }

// Owner returns what SetOwner recorded, nil if nothing.
func (t *Tx) Owner() any { return t.owner }

// SetTouchHook installs fn, called at the time of the write, while the
// key's lock is held, with every write through t that the write listener
// will be told of once t commits (so only while AddListener counts more
// than zero): the writer knows it is the writer. fn must not keep key.
func (t *Tx) SetTouchHook(fn func(db int, key []byte, flushed bool)) { t.onTouch = fn }

// SetNoTouch says whether lookups leave the keys' access clocks
// (OBJECT IDLETIME, OBJECT FREQ) alone, as CLIENT NO-TOUCH and Redis's
// LOOKUP_NOTOUCH do.
func (t *Tx) SetNoTouch(on bool) { t.noTouch = on }

// Store returns the store t works on.
func (t *Tx) Store() *Store { return t.s }

// Err returns the first error a commit met since the last ClearErr. A
// connection whose Tx failed must not send the replies of that work.
func (t *Tx) Err() error { return t.err }

// ClearErr forgets the last commit error.
func (t *Tx) ClearErr() { t.err = nil }

// WriteOffset returns the replication offset of t's last logged commit:
// what WAIT waits for replicas to acknowledge.
func (t *Tx) WriteOffset() int64 { return t.woff }

// Pending reports whether t holds uncommitted writes.
func (t *Tx) Pending() bool {
	return len(t.lists) > 0 || len(t.dueMetas) > 0 || t.b != nil && !t.b.Empty()
}

// PendingBytes returns the size of t's uncommitted batch.
func (t *Tx) PendingBytes() int {
	if t.b == nil {
		return t.dueBytes
	}
	return t.b.Len() + t.dueBytes
}

// writeMeta records a metadata write (rec nil: a delete) in the pending
// map only: the batch gets each key's last record once, when it is read,
// saved or committed (flushMetas). A pipeline or a replica's commit that
// writes one hash 30,000 times put 30,000 records of its metadata into the
// batch, and Pebble sorted, flushed and compacted each.
//
// A command of many keys (Tx.Reserve) writes its records straight into
// the batch too, sparing a list and a lookup per key; the due records
// written after them are the pending map's last ones, so the batch ends
// with each key's last record either way.
func (t *Tx) writeMeta(mk, rec []byte) {
	if t.bulk || t.many {
		if rec == nil {
			t.batch().Delete(mk, nil)
		} else {
			t.batch().Set(mk, rec, nil)
		}
		t.setPending(mk, rec)
		return
	}
	key, rec := t.setPending(mk, rec)
	if n := len(t.dueMetas); n > 0 && t.dueMetas[n-1].key == key {
		t.dueMetas[n-1].rec = rec
	} else {
		t.dueMetas = append(t.dueMetas, dueMeta{key, rec})
	}
	t.dueBytes += len(mk) + len(rec) + batchPerRecord
}

// dueMeta is a metadata record (nil: a delete) pending holds and the batch
// lacks: its key and record as pending holds them.
type dueMeta struct {
	key string
	rec []byte
}

// flushMetas writes the due metadata records into the batch, in the order
// they were written, so that each key ends with its last.
func (t *Tx) flushMetas() {
	if len(t.dueMetas) == 0 {
		return
	}
	b := t.batch()
	for _, d := range t.dueMetas {
		k := unsafe.Slice(unsafe.StringData(d.key), len(d.key))
		if d.rec == nil {
			b.Delete(k, nil)
		} else {
			b.Set(k, d.rec, nil)
		}
	}
	clear(t.dueMetas)
	t.dueMetas, t.dueBytes = t.dueMetas[:0], 0
}

// dropDueMetas forgets the due records of physical database phys, which
// FLUSHDB empties: written after its range deletes, they would outlive
// them.
func (t *Tx) dropDueMetas(phys uint8) {
	t.dueMetas = slices.DeleteFunc(t.dueMetas, func(d dueMeta) bool { return d.key[1] == phys })
}

// AtomicMode is how a Tx that must not split its work takes a lock held
// elsewhere while it holds others: a script's writes commit as one batch,
// so it cannot commit and wait as a command does.
type AtomicMode uint8

const (
	// AtomicOff commits what the Tx holds, then waits (the default).
	AtomicOff AtomicMode = iota
	// AtomicTry panics with ErrContended: the caller discards the Tx and
	// runs the work again under AtomicWait.
	AtomicTry
	// AtomicWait waits while holding: only one Tx at a time may be in this
	// mode (the caller serialises them), and no other Tx ever waits while
	// holding, so no cycle of waiters can form.
	AtomicWait
)

// ErrContended is the panic of a lock taken under AtomicTry that another
// Tx holds.
var ErrContended = errors.New("storage: key lock held by another client")

// SetAtomic sets t's atomic mode. While it is not AtomicOff, Commit does
// nothing: the work commits once the caller sets AtomicOff and commits.
func (t *Tx) SetAtomic(m AtomicMode) { t.atomic = m }

// SetLockWait installs fn, called when t, holding locks, meets a lock
// stripe another Tx holds: fn returns true once it has waited for that
// Tx to release it, and t tries again instead of committing what it
// holds first. fn must only wait for a Tx that takes no lock while it
// holds some, such as one that is committing, or two Txs could wait for
// each other.
func (t *Tx) SetLockWait(fn func(stripe uint32) bool) { t.await = fn }

// KeepBuffers makes t keep its pending map and arena between commits at
// the size they grew to, and make each batch at the size of the last one
// committed, where a Tx drops large ones: for a Tx that commits large
// batches one after another, such as a replica's applying its primary's
// stream, so that each does not grow them again by doubling.
func (t *Tx) KeepBuffers() { t.keep = true }

// CopyHeld sets s to the lock stripes t holds.
func (t *Tx) CopyHeld(s *StripeSet) { *s = t.holds }

// Lock takes the locks of keys in logical database db, in addition to those
// t holds. When t already holds locks and another Tx holds one of the new
// ones, t commits first: a Tx never waits for a lock while holding one, so
// two pipelines cannot deadlock.
func (t *Tx) Lock(db int, keys ...[]byte) {
	pdb := t.s.phys(db)
	var buf [8]uint32
	want := buf[:0]
	if len(keys) > len(buf) {
		t.lockStripes(t.wantMany(len(keys), func(i int) uint32 { return stripeOf(pdb, keys[i]) }))
		return
	}
	for _, k := range keys {
		st := stripeOf(pdb, k)
		if !t.holds.Has(st) && !slices.Contains(want, st) {
			want = append(want, st)
		}
	}
	t.lockStripes(want)
}

// LockEvery is Lock of every step-th of args from the first: the keys of
// MSET's key-value pairs, without a list of them.
func (t *Tx) LockEvery(db int, args [][]byte, step int) {
	if len(args) <= step*8 {
		var buf [8][]byte
		keys := buf[:0]
		for i := 0; i < len(args); i += step {
			keys = append(keys, args[i])
		}
		t.Lock(db, keys...)
		return
	}
	pdb := t.s.phys(db)
	t.lockStripes(t.wantMany((len(args)+step-1)/step, func(i int) uint32 { return stripeOf(pdb, args[i*step]) }))
}

// LockMulti takes the locks of keys that live in different databases.
func (t *Tx) LockMulti(dbs []int, keys [][]byte) {
	t.lockStripes(t.wantMany(len(keys), func(i int) uint32 { return stripeOf(t.s.phys(dbs[i]), keys[i]) }))
}

// wantMany returns the stripes of n keys (stripe(i) of each) that t does
// not hold, once each: a set of stripes, so that MSET or DEL of 100,000
// keys costs a bit test per key rather than a scan of the stripes found.
func (t *Tx) wantMany(n int, stripe func(i int) uint32) []uint32 {
	var seen StripeSet
	var want []uint32
	for i := range n {
		st := stripe(i)
		if !t.holds.Has(st) && !seen.Has(st) {
			seen[st/64] |= 1 << (st % 64)
			want = append(want, st)
		}
	}
	return want
}

// LockAll takes every lock stripe: SWAPDB and FLUSHALL exclude all writers.
func (t *Tx) LockAll() {
	want := make([]uint32, 0, lockStripes)
	for i := uint32(0); i < lockStripes; i++ {
		if !t.holds.Has(i) {
			want = append(want, i)
		}
	}
	t.lockStripes(want)
}

func (t *Tx) lockStripes(want []uint32) {
	if len(want) == 0 {
		return
	}
	slices.Sort(want)
	if len(t.held) > 0 {
		for i, st := range want {
			if !t.s.locks.tryLock(st) && (t.await == nil || !t.await(st) || !t.s.locks.tryLock(st)) {
				switch t.atomic {
				case AtomicTry:
					for _, got := range want[:i] {
						t.s.locks.unlock(got)
					}
					panic(ErrContended)
				case AtomicWait:
					for _, rest := range want[i:] {
						t.s.locks.lock(rest)
					}
					t.hold(want)
					return
				}
				for _, got := range want[:i] {
					t.s.locks.unlock(got)
				}
				t.Commit()
				goto block
			}
		}
		t.hold(want)
		return
	}
block:
	// Holding nothing: wait in sorted order.
	for _, st := range want {
		t.s.locks.lock(st)
	}
	t.hold(want)
}

// StripeSet is a set of lock stripes.
type StripeSet [lockStripes / 64]uint64

// Has reports whether st is in s.
func (s *StripeSet) Has(st uint32) bool { return s[st/64]&(1<<(st%64)) != 0 }

// hold records stripes t took.
func (t *Tx) hold(stripes []uint32) {
	t.held = append(t.held, stripes...)
	for _, st := range stripes {
		t.holds[st/64] |= 1 << (st % 64)
	}
}

func (t *Tx) unlockAll() {
	for _, st := range t.held {
		t.s.locks.unlock(st)
		t.holds[st/64] = 0
	}
	t.held = t.held[:0]
}

// batch returns t's batch, made on the first write. It is not indexed:
// the pending map answers t's reads of what it wrote to metadata and
// cached members, and readBatch indexes it for the other reads.
func (t *Tx) batch() *pebble.Batch {
	if t.b == nil {
		if t.batchSize > 0 {
			t.b = t.s.db.NewBatchWithSize(t.batchSize)
		} else {
			t.b = t.s.db.NewBatch()
		}
	}
	return t.b
}

// Reserve makes room in t for a command about to write about n records
// whose keys and values come to size bytes:
// the pending map, its arena and the batch are made once at about their
// final size, where growing them by doubling copied each one several
// times and left the copies to the collector (an MSET of 100,000 keys
// allocated 17 MB more than it kept). Only a Tx with no uncommitted work
// is sized, and only for commands of many records.
func (t *Tx) Reserve(n, size int) {
	if n < reserveMin {
		return
	}
	t.many = true
	if t.bulk || t.Pending() || len(t.pending) > 0 {
		return
	}
	if t.s.meta != nil {
		t.pending, t.pendingBig = make(map[string][]byte, n), true
		t.arena = slices.Grow(t.arena[:0], size)
	}
	if t.b != nil {
		t.b.Close()
	}
	t.b = t.s.db.NewBatchWithSize(size + n*batchPerRecord)
}

// reserveMin is the fewest records Reserve sizes a Tx for.
const reserveMin = 1024

// batchPerRecord is what a batch adds to a record (kind and lengths).
const batchPerRecord = 4

// readBatch returns t's batch for a read that must see t's writes, nil
// when it holds none. The first such read of a batch indexes it: a copy
// into an indexed batch, which later writes go to directly.
func (t *Tx) readBatch() *pebble.Batch {
	t.flushMetas()
	if t.b == nil || t.b.Empty() {
		return nil
	}
	if !t.b.Indexed() {
		ib := t.s.db.NewIndexedBatch()
		if err := ib.Apply(t.b, nil); err != nil {
			panic(fmt.Sprintf("storage: indexing a batch: %v", err)) // NB: a batch t built itself
		}
		t.b.Close()
		t.b = ib
	}
	return t.b
}

// get reads key through t's batch (or its snapshot); the value is copied into dst[:0]'s
// storage and ok is false when the key is absent.
func (t *Tx) get(key []byte, dst []byte) (val []byte, ok bool, err error) {
	var (
		v      []byte
		closer interface{ Close() error }
	)
	b := t.readBatch()
	switch {
	case t.snap != nil:
		v, closer, err = t.snap.Get(key)
	case b != nil:
		v, closer, err = b.Get(key)
	default:
		v, closer, err = t.s.db.Get(key)
	}
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val = append(dst[:0], v...)
	closer.Close()
	return val, true, nil
}

// Commit writes t's batch under the store's fsync policy, tells listeners
// which keys changed, then releases t's locks. Under FsyncAlways it returns
// only after the batch is on stable storage, or with a *DiskError as soon
// as the disk fails while it waits (the batch applied; see syncWait), and
// releases the locks before waiting for the fsync so other writers of the
// same keys are not held up.
func (t *Tx) Commit() error {
	if t.atomic != AtomicOff {
		return t.err
	}
	t.EndReadMany()
	t.flushLists()
	t.flushMetas()
	if t.b == nil || t.b.Empty() {
		if len(t.counts) == 0 {
			t.unlockAll()
			t.touched = t.touched[:0]
			t.calls = t.calls[:0]
			return t.err
		}
		// NB: the RDB loader's writes went around the batch
		// (rdbingest.go); their counts did not.
		t.batch()
	}
	err := t.aheadErr
	if err == nil {
		err = t.s.gate()
	}
	if err != nil {
		t.Discard()
		if t.err == nil {
			t.err = err
		}
		return err
	}
	b := t.b
	t.b = nil
	if t.keep {
		t.batchSize = len(b.Repr())
	}
	for _, c := range t.counts {
		if c.keys != 0 {
			t.kbuf = binary.LittleEndian.AppendUint64(t.kbuf[:0], uint64(c.keys))
			b.Merge(countKey("keys", c.db), t.kbuf, nil)
		}
		if c.expires != 0 {
			t.kbuf = binary.LittleEndian.AppendUint64(t.kbuf[:0], uint64(c.expires))
			b.Merge(countKey("expires", c.db), t.kbuf, nil)
		}
	}
	if len(t.calls) > 0 {
		if t.s.logsClientCommits() {
			t.logCalls(b)
		}
		t.calls = t.calls[:0]
	}
	// NB: a batch of LogData records alone (a PUBLISH for replicas)
	// holds nothing a client was promised durable.
	always := t.s.Fsync() == FsyncAlways && b.Count() > 0
	var logged bool
	var end int64
	// NB: refused before it applies, while the disk fails: nothing of
	// the batch reaches Pebble or the caches. A batch that applied and
	// waits for its sync under always, which diskFS holds until the disk
	// takes it, gets the *DiskError once the disk fails (syncWait).
	err = t.s.DiskError()
	if err == nil && t.bulk {
		// NB: a bulk Tx's records go around the cache (setPending).
		t.s.meta.forget()
	}
	if err == nil {
		t.hideMetaLocked()
		end, logged, err = t.s.applyCommit(b, always)
		if !always {
			t.s.dirty.Store(true)
		}
	}
	if err == nil {
		t.aheads = t.aheads[:0]
	} else {
		t.dropAhead()
	}
	if err != nil && t.pub.pending != nil {
		t.abandonMetaLocked()
	}
	if err == nil {
		t.s.Stats.Commits.Add(1)
		t.s.applyCounts(t.counts)
		t.publishMetaLocked()
		t.notifyLocked()
	}
	t.counts = t.counts[:0]
	t.clearPending()
	t.touched = t.touched[:0]
	t.unlockAll()
	if err == nil && always {
		// NB: answered at once with the *DiskError if the disk fails
		// before the sync ends (syncWait), which closes b.
		err, b = t.s.syncWait(b), nil
		if err == nil {
			t.s.Stats.SyncedCommits.Add(1)
			if logged {
				t.s.markSynced(end)
			}
		}
	}
	if err == nil && logged {
		t.woff = end
	}
	if err == nil {
		// NB: the write is applied (under always, durable) but not yet
		// acknowledged: a primary that lost its lease meanwhile must not
		// confirm it.
		if gerr := t.s.gate(); gerr != nil {
			err = gerr
		}
	}
	if b != nil {
		b.Close()
	}
	if err != nil && t.err == nil {
		t.err = err
	}
	return err
}

// Discard drops t's uncommitted writes and releases its locks.
func (t *Tx) Discard() {
	t.newClocks = nil
	t.EndReadMany()
	t.dropAhead()
	t.dropLists()
	if t.b != nil {
		t.b.Close()
		t.b = nil
	}
	t.clearPending()
	t.counts = t.counts[:0]
	t.calls = t.calls[:0]
	t.touched = t.touched[:0]
	t.unlockAll()
}

// setPending records an uncommitted metadata write (val nil: a delete)
// and returns its key and record as the pending map holds them.
// Small keys and records are copied into t's arena, which the next commit
// reuses: the pending map's keys are strings over it.
func (t *Tx) setPending(mk, val []byte) (key string, rec []byte) {
	if t.bulk {
		return "", nil
	}
	if t.pending == nil {
		t.pending = map[string][]byte{}
	}
	off := len(t.arena)
	if len(t.arena)+len(mk)+len(val) > cap(t.arena) {
		// NB: grow by doubling, as append does only for small slices: a
		// pipeline or command writing 100,000 keys allocates about twice
		// the arena, not five times. Old keys keep the old array alive.
		t.arena = slices.Grow(t.arena, max(cap(t.arena), len(mk)+len(val)))
	}
	t.arena = append(t.arena, mk...)
	key = unsafe.String(&t.arena[off], len(mk))
	switch {
	case val == nil:
	case len(val) == 0:
		val = emptyRecord
	case len(val) > arenaValueMax:
		val = bytes.Clone(val)
	default:
		off = len(t.arena)
		t.arena = append(t.arena, val...)
		val = t.arena[off:len(t.arena):len(t.arena)]
	}
	t.pending[key] = val
	if mk[0] == encoding.TagMeta {
		t.pendingMetas++
	}
	return key, val
}

// arenaValueMax is the longest record setPending copies into the arena.
const arenaValueMax = 4 << 10

// pendingKeep is the most records of a pending map a Tx keeps between
// commits.
const pendingKeep = 4096

// arenaKeep is the largest arena a Tx keeps between commits.
const arenaKeep = 256 << 10

func (t *Tx) clearPending() {
	t.pendingGen++
	t.pendingMetas = 0
	t.many = false
	clear(t.dueMetas)
	t.dueMetas, t.dueBytes = t.dueMetas[:0], 0
	if !t.keep && (t.pendingBig || len(t.pending) > pendingKeep) {
		// NB: a cleared map keeps its size; a command of many keys
		// does not leave its connection holding one.
		t.pending, t.pendingBig = nil, false
	}
	clear(t.pending)
	// NB: the map held the only strings over the arena (Savepoint copies
	// them), so it may be written again.
	t.arena = t.arena[:0]
	if cap(t.arena) > arenaKeep && !t.keep {
		t.arena = nil
	}
	t.flushed = t.flushed[:0]
	t.untracked = false
}

// publishMetaLocked brings the metadata cache up to date with a batch
// Pebble just applied, while t still holds the keys' locks.
func (t *Tx) publishMetaLocked() {
	if len(t.flushed) == t.s.opts.Databases {
		t.s.replicaExpires.forget() // NB: FLUSHALL
	}
	if t.s.meta == nil {
		return
	}
	if len(t.flushed) > 0 {
		t.s.meta.clear()
		// NB: FLUSHALL, under every lock: once Pebble holds no metadata,
		// the cache holds all there is from now on.
		if len(t.flushed) == t.s.opts.Databases && !t.s.repl.replica.Load() {
			if empty, _ := t.s.noMetadata(); empty {
				t.s.meta.markComplete()
			}
		}
	}
	t.s.meta.publishCommit(&t.pub)
}

// hideMetaLocked hides the cached records of the keys t is about to
// commit: while its batch applies, readers of any of them go to Pebble,
// which shows the batch whole or not at all, rather than find some keys
// new in the cache and others old (metapublish.go).
func (t *Tx) hideMetaLocked() {
	if t.s.meta == nil {
		return
	}
	t.s.meta.hideCommit(&t.pub, t.pending, t.pendingMetas, !t.many)
}

// abandonMetaLocked forgets the cached records of the keys of a commit
// that failed, which hideMetaLocked hid.
func (t *Tx) abandonMetaLocked() {
	if t.s.meta == nil {
		return
	}
	t.s.meta.abandonCommit(&t.pub)
}

func (t *Tx) notifyLocked() {
	if len(t.touched) == 0 {
		return
	}
	fn, ready, swap := t.s.onWrite.Load(), t.s.onReady.Load(), t.s.onSwap.Load()
	for _, k := range t.touched {
		switch {
		case k.swapped && swap != nil:
			(*swap)(k.db)
		case k.ready && ready != nil:
			(*ready)(k.db, k.key)
		case !k.ready && fn != nil:
			(*fn)(k.db, k.key, k.flushed)
		}
	}
}

// touch records a written key for the write listener.
func (t *Tx) touch(db int, key []byte) {
	if t.s.listeners.Load() == 0 {
		return
	}
	if t.onTouch != nil && key != nil {
		t.onTouch(db, key, false)
	}
	if key != nil {
		key = bytes.Clone(key)
	}
	t.touched = append(t.touched, touchedKey{db: db, key: key})
}

// SignalReady tells the ready listener, once t commits, that k may serve
// the clients blocked on it, without counting as a write of k (Redis's
// signalKeyAsReady without signalModifiedKey).
func (t *Tx) SignalReady(k *Key) {
	if t.s.listeners.Load() == 0 {
		return
	}
	t.touched = append(t.touched, touchedKey{db: k.DB, key: bytes.Clone(k.Name), ready: true})
}

// touchSwapped records that databases a and b were swapped, for the
// swap listener (or, without one, the write listener, as writes of
// every key of both).
func (t *Tx) touchSwapped(a, b int) {
	if t.s.listeners.Load() == 0 {
		return
	}
	t.touched = append(t.touched, touchedKey{db: a, swapped: true}, touchedKey{db: b, swapped: true})
}

// touchFlushed records that db was emptied, for the write listener.
func (t *Tx) touchFlushed(db int) {
	if t.s.listeners.Load() == 0 {
		return
	}
	if t.onTouch != nil {
		t.onTouch(db, nil, true)
	}
	t.touched = append(t.touched, touchedKey{db: db, flushed: true})
}

func (t *Tx) count(db uint8, keys, expires int64) {
	for i := range t.counts {
		if t.counts[i].db == db {
			t.counts[i].keys += keys
			t.counts[i].expires += expires
			return
		}
	}
	t.counts = append(t.counts, countDelta{db: db, keys: keys, expires: expires})
}

// Savepoint is a Tx's uncommitted work at one moment, to roll back to.
type Savepoint struct {
	repr      []byte // the batch; nil when it was empty
	calls     int
	counts    []countDelta
	touched   int
	pending   map[string][]byte
	flushed   []uint8
	untracked bool
}

// Savepoint records t's uncommitted work, so that Rollback can undo what
// comes after. It copies the work, so it costs in proportion to it.
func (t *Tx) Savepoint() *Savepoint {
	t.flushLists()
	t.flushMetas()
	sp := &Savepoint{touched: len(t.touched), untracked: t.untracked, calls: len(t.calls),
		counts: slices.Clone(t.counts), flushed: slices.Clone(t.flushed)}
	if t.b != nil && !t.b.Empty() {
		sp.repr = bytes.Clone(t.b.Repr())
	}
	if len(t.pending) > 0 {
		// NB: the keys are strings over t's arena, which is reused.
		sp.pending = make(map[string][]byte, len(t.pending))
		for k, v := range t.pending {
			if v != nil {
				v = bytes.Clone(v)
			}
			sp.pending[strings.Clone(k)] = v
		}
	}
	return sp
}

// Rollback undoes the writes t made since sp; the locks it holds stay.
func (t *Tx) Rollback(sp *Savepoint) {
	t.dropLists() // Savepoint flushed the older ones
	if t.b != nil {
		t.b.Close()
		t.b = nil
	}
	if sp.repr != nil {
		saved := t.s.db.NewBatch()
		if err := saved.SetRepr(sp.repr); err == nil {
			t.batch().Apply(saved, nil)
		}
		saved.Close()
	}
	t.counts = append(t.counts[:0], sp.counts...)
	t.calls = t.calls[:sp.calls]
	t.touched = t.touched[:sp.touched]
	t.pending = sp.pending
	clear(t.dueMetas) // Savepoint flushed those before it
	t.dueMetas, t.dueBytes = t.dueMetas[:0], 0
	t.pendingGen++
	t.flushed = append(t.flushed[:0], sp.flushed...)
	t.untracked = sp.untracked
}

// FreezeClock makes keys expire by the time ms in t's lookups, as Redis
// 7.0's scriptTimeSnapshot does for a script however long it runs; 0
// goes back to the store's clock.
func (t *Tx) FreezeClock(ms int64) { t.frozenMs = ms }

// ClockFrozen reports whether FreezeClock holds t's time.
func (t *Tx) ClockFrozen() bool { return t.frozenMs != 0 }

// nowMs is the time t's lookups expire keys by.
func (t *Tx) nowMs() int64 {
	if t.frozenMs != 0 {
		return t.frozenMs
	}
	return t.s.NowMs()
}
