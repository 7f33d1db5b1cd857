// Package storage keeps Redis data types on Pebble: it opens the database,
// owns the striped key locks, turns connection work into Pebble batches
// committed under the configured fsync policy, expires keys and counts them.
//
// The byte layouts live in storage/encoding; this package decides when and
// how they are written.
package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/storage/encoding"
)

// FsyncPolicy says when written data reaches stable storage, as Redis's
// appendfsync does.
type FsyncPolicy int32

const (
	// FsyncEverySec syncs the log at most one second behind the writes.
	FsyncEverySec FsyncPolicy = iota
	// FsyncAlways syncs every write before its reply is sent; concurrent
	// writers share one fsync.
	FsyncAlways
	// FsyncNo leaves syncing to the operating system, but for a background
	// sync every noSyncSeconds.
	FsyncNo
)

// ParseFsyncPolicy parses appendfsync's values.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "always":
		return FsyncAlways, nil
	case "everysec":
		return FsyncEverySec, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("storage: unknown fsync policy %q", s)
}

func (p FsyncPolicy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return "everysec"
}

// Options configure a Store. The zero value of each field takes the default
// its comment names.
type Options struct {
	// Dir is the data folder; it is created if missing.
	Dir string
	// FS is the file system Pebble uses; default the OS's. Tests pass
	// vfs.NewMem() or an error-injecting FS.
	FS vfs.FS
	// Fsync is the initial fsync policy; SetFsync changes it at run time.
	Fsync FsyncPolicy
	// Databases is the number of logical databases (SELECT 0..n-1), at most
	// 256; default 16.
	Databases int
	// CacheBytes sizes Pebble's block cache; default 128 MiB.
	CacheBytes int64
	// MetaCacheBytes sizes the cache of hot keys' metadata and string
	// values; default 64 MiB; negative disables it.
	MetaCacheBytes int64
	// MemTableBytes sizes each Pebble memtable; default 8 MiB (smaller
	// memtables insert faster: fewer cache misses per skiplist level).
	MemTableBytes uint64
	// Now returns the current time; default time.Now. Expiry reads it.
	Now func() time.Time
	// Logger receives storage events; default slog.Default().
	Logger *slog.Logger
	// ExpireHz is how many active expiry passes run per second; default 10.
	// Negative turns the sweeper off (tests call ExpireCycle themselves).
	ExpireHz int
}

// ErrClosed is returned by operations on a closed Store.
var ErrClosed = errors.New("storage: closed")

// Store is Shoal's data on Pebble. It is safe for concurrent use; each
// connection does its work through its own Tx.
type Store struct {
	db     *pebble.DB
	cache  interface{ Unref() }
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	locks  lockTable
	fsync  atomic.Int32
	health *diskHealth
	dirty  atomic.Bool // writes since the last background sync
	// skipChecksum: RESTORE takes payloads whose checksum is wrong
	// (DEBUG SET-SKIP-CHECKSUM-VALIDATION).
	skipChecksum atomic.Bool
	// lastLoad is the last RDB load's keys loaded and left out expired.
	lastLoad atomic.Pointer[[2]int64]

	// pebbleOpts are the options db was opened with, defaults filled in.
	pebbleOpts *pebble.Options

	// dbmap maps logical to physical databases; SWAPDB replaces it.
	dbmap atomic.Pointer[[]uint8]

	lastVersion atomic.Uint64
	counts      liveCounts

	// listeners counts parties interested in written keys (WATCH, blocked
	// clients); when zero, commits skip recording keys.
	listeners  atomic.Int32
	onWrite    atomic.Pointer[func(db int, key []byte, flushed bool)]
	onApplied  atomic.Pointer[func(keys [][]byte, flushed bool)]
	onEvent    atomic.Pointer[func(class uint32, db int, name string, key []byte)]
	onPublish  atomic.Pointer[func(shard bool, channel, message []byte)]
	onCalls    atomic.Pointer[func(name string, count int)]
	onSwap     atomic.Pointer[func(db int)]
	onReady    atomic.Pointer[func(db int, key []byte)]
	commitGate atomic.Pointer[func() error]
	onRecord   atomic.Pointer[func(name string)]
	expireHook expireHookPtr
	expireOff  atomic.Bool // the active expiry sweeper is switched off (expire.go)
	expireHold atomic.Pointer[func() bool]
	expireHz   atomic.Int32
	// replicaExpires are the keys a replica's clients gave an expiry
	// (replicaexpire.go).
	replicaExpires replicaExpires
	// diverged: clients wrote while the store was a replica, so the
	// batches it applies are counted again (divergence.go).
	diverged atomic.Bool
	repl     replLog
	meta     *metaCache // nil when disabled
	clocks   *accessClocks
	enc      atomic.Pointer[Encodings]
	// rdbPlain and rdbNoSum are rdbcompression no and rdbchecksum no for
	// the RDB files WriteRDB writes.
	rdbPlain, rdbNoSum atomic.Bool

	// latencyHook receives latency events (SetLatencyHook); stallStart
	// is when the running write stall began (Unix ns), 0 when none.
	latencyHook atomic.Pointer[func(LatencyEvent, time.Duration)]
	stallStart  atomic.Int64

	// Stats are read by INFO and metrics.
	Stats Stats

	closeOnce sync.Once
	stop      chan struct{}
	warmed    atomic.Pointer[chan struct{}] // closed when the hot cache's warm-up ends (metawarm.go)
	wg        sync.WaitGroup
}

// Stats counts store events since start.
type Stats struct {
	ExpiredKeys   atomic.Int64
	Commits       atomic.Int64
	SyncedCommits atomic.Int64
	LastSaveUnix  atomic.Int64
	WriteStalls   atomic.Int64
	WriteStallNow atomic.Bool
}

// noSyncSeconds is how often the log is synced under appendfsync no: the
// age at which Linux writes dirty pages back by default.
const noSyncSeconds = 30

// walMinSyncInterval spaces Pebble's WAL syncs under appendfsync always,
// so one fsync covers the commits of every connection that arrived
// meanwhile. Without it each sync follows the commit that asked for it at
// once; on one CPU the fsync then holds the only P and the next commits
// queue behind it one by one (50 clients at P1: 3k SET/s instead of 22k).
const walMinSyncInterval = 100 * time.Microsecond

// Open opens (or creates) the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Databases == 0 {
		opts.Databases = 16
	}
	if opts.Databases < 1 || opts.Databases > 256 {
		return nil, fmt.Errorf("storage: Databases must be within 1..256, got %d", opts.Databases)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = 128 << 20
	}
	if opts.MetaCacheBytes == 0 {
		opts.MetaCacheBytes = 64 << 20
	}
	if opts.MemTableBytes == 0 {
		opts.MemTableBytes = 8 << 20
	}
	realClock := opts.Now == nil
	if realClock {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ExpireHz == 0 {
		opts.ExpireHz = 10
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("storage: create data folder: %w", err)
		}
	}
	s := &Store{opts: opts, log: opts.Logger, now: opts.Now, stop: make(chan struct{})}
	s.clocks = newAccessClocks(opts.Now)
	s.health = newDiskHealth(opts.FS, opts.Dir, s.log)
	if opts.MetaCacheBytes > 0 {
		s.meta = newMetaCache(opts.MetaCacheBytes)
	}
	cache := pebble.NewCache(opts.CacheBytes)
	defer cache.Unref() // Pebble holds its own reference while open
	po := &pebble.Options{
		FS:                          &diskFS{FS: opts.FS, h: s.health},
		Cache:                       cache,
		MemTableSize:                opts.MemTableBytes,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		CompactionConcurrencyRange:  func() (int, int) { return 1, 2 },
		Merger:                      shoalMerger,
		WALMinSyncInterval:          func() time.Duration { return walMinSyncInterval },
		// NB: pinned, never FormatNewest: a format ratchets one way and
		// an older binary could not open the folder again.
		FormatMajorVersion: pebble.FormatValueSeparation,
		Logger:             pebbleLogger{s.log},
		EventListener: &pebble.EventListener{
			WriteStallBegin: func(pebble.WriteStallBeginInfo) {
				s.Stats.WriteStalls.Add(1)
				s.Stats.WriteStallNow.Store(true)
				s.stallStart.Store(time.Now().UnixNano())
			},
			WriteStallEnd: func() {
				s.Stats.WriteStallNow.Store(false)
				if at := s.stallStart.Swap(0); at != 0 {
					s.latencyEvent(LatencyWriteStall, time.Duration(time.Now().UnixNano()-at))
				}
			},
			// A failed flush or compaction is retried by Pebble; diskFS
			// reported and logged the failed write that caused it.
			BackgroundError: func(err error) {
				if !s.health.failing.Load() && !errors.Is(err, errClosing) {
					s.log.Error("storage: background error", "err", err, "component", "pebble")
				}
			},
		},
	}
	// Point reads (metadata the hot cache misses, members) skip tables
	// that cannot hold the key: whole-key bloom filters on every level, L0
	// included. Without them, each write of a new key read data blocks of
	// every level to learn that the key was absent.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	logValuesApart(po)
	po.EnsureDefaults()
	db, err := openPebble(opts.Dir, po, s.health)
	if err != nil {
		if f := s.health.fault(); f.Err != nil {
			return nil, fmt.Errorf("storage: open %s: the disk refused a write (%s): %w", opts.Dir, f.Strerror(), err)
		}
		return nil, fmt.Errorf("storage: open %s: %w", opts.Dir, err)
	}
	s.db, s.pebbleOpts = db, po
	s.fsync.Store(int32(opts.Fsync))
	if err := s.loadDBMap(); err != nil {
		db.Close()
		return nil, err
	}
	s.loadCounts()
	s.loadDiverged()
	if err := s.loadRepl(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.dropUnfinished(true); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: drop unfinished writes: %w", err)
	}
	// NB: an empty store's hot cache knows every key from the start.
	s.startWarm()
	s.lastVersion.Store(uint64(s.now().UnixNano()))
	s.Stats.LastSaveUnix.Store(s.now().Unix())
	s.health.opening.Store(false)
	s.wg.Add(2)
	go s.syncLoop()
	go func() {
		defer s.wg.Done()
		s.health.watch()
	}()
	if realClock {
		s.clocks.coarse.Store(time.Now().Unix())
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.clocks.runCoarse(s.stop)
		}()
	}
	s.SetExpireHz(opts.ExpireHz)
	if opts.ExpireHz > 0 {
		s.wg.Add(1)
		go s.expireLoop()
	}
	return s, nil
}

// openPebble opens Pebble, turning a panic of its open (a failed write
// of its log) into an error. A failed write of a table while it opens (a
// flush of the log it replays, which Open waits for and Pebble retries
// for ever) fails the open at once; Pebble's open goes on in the
// background, at one attempt a second, and closes the database if it
// ever completes, so that its lock on the folder is released.
func openPebble(dir string, po *pebble.Options, h *diskHealth) (*pebble.DB, error) {
	type result struct {
		db  *pebble.DB
		err error
	}
	done := make(chan result) // NB: unbuffered: once abandoned, only the goroutine closes the database
	abandoned := make(chan struct{})
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("pebble: %v", p)
			}
			select {
			case <-abandoned:
				if r.db != nil {
					r.db.Close()
				}
			case done <- r:
			}
		}()
		r.db, r.err = pebble.Open(dir, po)
	}()
	select {
	case r := <-done:
		return r.db, r.err
	case <-h.openFailed:
		close(abandoned)
		return nil, errors.New("a flush of the log it replays failed")
	}
}

// Close stops background work and closes Pebble after syncing the log.
// A write that fails from now on is not retried: while the disk fails,
// the writes diskFS still holds are given up, so those acknowledged under
// appendfsync everysec or no since it failed are lost, as a crash would
// lose them.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.health.closing)
		close(s.stop)
		s.wg.Wait()
		if s.health.failing.Load() {
			s.log.Error("storage: closing while the disk refuses writes; writes not yet on disk are lost")
		} else if serr := s.syncLog(); serr != nil {
			s.log.Error("storage: the last sync of the log failed", "err", serr)
		}
		err = s.db.Close()
	})
	return err
}

// syncLog syncs Pebble's log. Unlike a synced LogData, whose failure
// Pebble treats as fatal, it returns the error.
func (s *Store) syncLog() error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.LogData(nil, nil); err != nil {
		return err
	}
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		return err
	}
	return b.SyncWait()
}

// DB returns the underlying Pebble database, for metrics and maintenance.
func (s *Store) DB() *pebble.DB { return s.db }

// Databases returns the number of logical databases.
func (s *Store) Databases() int { return s.opts.Databases }

// Fsync returns the current fsync policy.
func (s *Store) Fsync() FsyncPolicy { return FsyncPolicy(s.fsync.Load()) }

// SetFsync changes the fsync policy; it applies to the next commit.
func (s *Store) SetFsync(p FsyncPolicy) { s.fsync.Store(int32(p)) }

// NowMs returns the store clock in Unix milliseconds.
func (s *Store) NowMs() int64 { return s.now().UnixMilli() }

// Now returns the store clock.
func (s *Store) Now() time.Time { return s.now() }

// Sync makes every committed write durable (SAVE, BGSAVE, shutdown).
func (s *Store) Sync() error {
	if err := s.DiskError(); err != nil {
		return err
	}
	off := s.repl.offset.Load()
	if err := s.syncLog(); err != nil {
		return err
	}
	s.markSynced(off)
	s.Stats.LastSaveUnix.Store(s.now().Unix())
	return nil
}

// Flush writes the memtables out to sstables (SAVE): the next start replays
// less log.
func (s *Store) Flush() error {
	if err := s.DiskError(); err != nil {
		return err
	}
	if err := s.db.Flush(); err != nil {
		return err
	}
	s.Stats.LastSaveUnix.Store(s.now().Unix())
	return nil
}

// SetWriteListener installs fn, called with the logical database and key of
// every committed write while AddListener has a positive count. db -1 with a
// nil key means every key of every database; a nil key alone means every key
// of db. flushed is set when db was emptied (FLUSHDB, FLUSHALL): only the
// keys that existed changed, where SWAPDB and a full sync may change any.
// fn runs while the writer still holds the key locks: it must not block or
// take key locks.
func (s *Store) SetWriteListener(fn func(db int, key []byte, flushed bool)) { s.onWrite.Store(&fn) }

// SetReplicatedListener installs fn, called once each batch of a primary
// applied here, with the keys it wrote (of any database), flushed set when
// it emptied a database, while AddListener has a positive count: the
// replica's tracking clients learn of its primary's writes. fn runs on
// the replication link and must not block.
func (s *Store) SetReplicatedListener(fn func(keys [][]byte, flushed bool)) { s.onApplied.Store(&fn) }

// LatencyEvent names a latency event of the store, as the latency
// monitor (LATENCY LATEST) shows it.
type LatencyEvent string

// The store's latency events: a pass of the expiry sweeper over every
// database (Redis's expire-cycle), and a write stall, from Pebble holding
// writes until its memtables flush or level 0 compacts to its end
// (Shoal's own).
const (
	LatencyExpireCycle LatencyEvent = "expire-cycle"
	LatencyWriteStall  LatencyEvent = "write-stall"
)

// SetLatencyHook installs fn, told of each latency event and how long it
// took. fn must not block.
func (s *Store) SetLatencyHook(fn func(LatencyEvent, time.Duration)) { s.latencyHook.Store(&fn) }

func (s *Store) latencyEvent(e LatencyEvent, d time.Duration) {
	if fn := s.latencyHook.Load(); fn != nil {
		(*fn)(e, d)
	}
}

// SetSwapListener installs fn, called after a commit that swapped
// databases (SWAPDB) once for each of the two; without one, the write
// listener is told of both as of every key written.
func (s *Store) SetSwapListener(fn func(db int)) { s.onSwap.Store(&fn) }

// SetReadyListener installs fn, called as the write listener is (and under
// the same rules) with the keys a Tx signalled ready (Tx.SignalReady).
func (s *Store) SetReadyListener(fn func(db int, key []byte)) { s.onReady.Store(&fn) }

// SetCommitGate installs a check that every Tx commit runs before it
// applies its batch and, under FsyncAlways, again before it returns
// success: a non-nil error discards the batch (or, after the fsync, fails
// the commit so its replies are not sent) without failing the store. A
// cluster primary fences itself with it when its lease lapses.
func (s *Store) SetCommitGate(fn func() error) { s.commitGate.Store(&fn) }

// gate runs the commit gate, if any.
func (s *Store) gate() error {
	if fn := s.commitGate.Load(); fn != nil {
		return (*fn)()
	}
	return nil
}

// AddListener adjusts the count of parties interested in written keys.
func (s *Store) AddListener(delta int32) { s.listeners.Add(delta) }

// newVersion returns a version for a new collection: time-seeded and
// strictly increasing, so a recreated key never sees its old members.
func (s *Store) newVersion() uint64 {
	for {
		last := s.lastVersion.Load()
		v := uint64(s.now().UnixNano())
		if v <= last {
			v = last + 1
		}
		if s.lastVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// phys returns the physical slot of logical database db.
func (s *Store) phys(db int) uint8 { return (*s.dbmap.Load())[db] }

var dbMapKey = encoding.SystemKey("dbmap")

func (s *Store) loadDBMap() error {
	m := make([]uint8, s.opts.Databases)
	for i := range m {
		m[i] = uint8(i)
	}
	v, closer, err := s.db.Get(dbMapKey)
	if err == nil {
		if len(v) == len(m) {
			copy(m, v)
		} else if len(v) > 0 {
			// The number of databases changed: keep what maps, fill the rest
			// with slots no other database uses.
			used := map[uint8]bool{}
			for i := 0; i < len(m) && i < len(v); i++ {
				m[i] = v[i]
				used[v[i]] = true
			}
			next := 0
			for i := len(v); i < len(m); i++ {
				for used[uint8(next)] {
					next++
				}
				m[i] = uint8(next)
				used[uint8(next)] = true
			}
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("storage: read database map: %w", err)
	}
	s.dbmap.Store(&m)
	return nil
}

// syncLoop makes writes durable once a second under FsyncEverySec.
func (s *Store) syncLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// NB: under "no" too, now and then: Pebble keeps the log's
			// last block in memory until it fills or is synced, so
			// without a sync a write could wait there indefinitely, lost
			// to a crash of the process, where Redis's would be in the
			// operating system's page cache.
			due := s.Fsync() == FsyncEverySec || s.Fsync() == FsyncNo && tick%noSyncSeconds == 0
			// NB: while the disk fails the log's writes wait in diskFS:
			// a sync would wait with them.
			if due && !s.health.failing.Load() && s.dirty.Swap(false) {
				off := s.repl.offset.Load()
				if err := s.syncLog(); err == nil {
					s.markSynced(off)
				}
			}
		}
	}
}

// Log returns the store's logger: the server's.
func (s *Store) Log() *slog.Logger { return s.log }

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...interface{}) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...interface{}) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Fatalf(format string, args ...interface{}) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	os.Exit(1)
}
