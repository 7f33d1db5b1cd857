package storage

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrWriteFailed is returned by writes while the disk is failing: the last
// write to it failed and it has not accepted one since. Nothing of a write
// refused with it was applied. DiskFault says why.
var ErrWriteFailed = errors.New("storage: a write to disk failed; writes are refused")

// DiskFault describes the disk's state for INFO and for error replies.
type DiskFault struct {
	// Failing is set from a failed write until the disk accepts writes
	// again.
	Failing bool
	// Errno is the error number of the last failed write (EIO when the
	// error carried none), 0 when none failed since start.
	Errno syscall.Errno
	// Err is the last failed write's error, nil when none failed.
	Err error
	// Since is when the disk started failing.
	Since time.Time
}

// Strerror words Errno as C's strerror does ("No space left on device").
func (f DiskFault) Strerror() string {
	s := f.Errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// diskHealth follows the store's disk: diskFS reports failed writes to it,
// commits ask it whether to refuse, and its probe loop finds the disk
// healthy again.
type diskHealth struct {
	log     *slog.Logger
	fs      vfs.FS // the FS diskFS wraps: the probe writes through it
	dir     string
	failing atomic.Bool
	// stuck counts writes diskFS is retrying: while any is, the disk has
	// not recovered.
	stuck atomic.Int32
	// opening is set during Open: failures are returned, not retried,
	// and the first of a table closes openFailed.
	opening    atomic.Bool
	openFailed chan struct{}
	openOnce   sync.Once
	closing    chan struct{}
	mu         struct {
		sync.Mutex
		fault     DiskFault
		lastTable time.Time // last failed table write
		// failed is closed when the disk starts failing, and made
		// anew when it accepts writes again.
		failed chan struct{}
	}
}

func newDiskHealth(fs vfs.FS, dir string, log *slog.Logger) *diskHealth {
	h := &diskHealth{log: log, fs: fs, dir: dir, closing: make(chan struct{}), openFailed: make(chan struct{})}
	h.opening.Store(true)
	h.mu.failed = make(chan struct{})
	return h
}

// failed returns a channel closed once the disk is failing: at once
// while it is.
func (h *diskHealth) failed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.failed
}

// errnoOf returns err's error number, EIO when it carries none.
func errnoOf(err error) syscall.Errno {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return syscall.EIO
}

// report records a failed write of file name and refuses writes from now
// on.
func (h *diskHealth) report(what, name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if recoverable(name) {
		h.mu.lastTable = time.Now()
	}
	h.mu.fault.Errno = errnoOf(err)
	h.mu.fault.Err = err
	if h.opening.Load() && recoverable(name) {
		// Pebble's open returns other failures itself.
		h.openOnce.Do(func() { close(h.openFailed) })
	}
	if !h.failing.Load() {
		h.mu.fault.Since = time.Now()
		h.mu.fault.Failing = true
		h.failing.Store(true)
		close(h.mu.failed)
		h.log.Error("storage: a write to disk failed; refusing writes until the disk accepts them again",
			"op", what, "file", name, "err", err)
	}
}

// retry runs op until it succeeds, or until the store closes; while it
// fails the disk is failing. During Open it runs op once.
func (h *diskHealth) retry(what, name string, op func() error) error {
	err := op()
	if err == nil {
		return nil
	}
	h.report(what, name, err)
	if h.opening.Load() {
		return err
	}
	h.stuck.Add(1)
	defer h.stuck.Add(-1)
	t := time.NewTicker(retryInterval)
	defer t.Stop()
	for {
		select {
		case <-h.closing:
			return err
		case <-t.C:
		}
		if err = op(); err == nil {
			return nil
		}
		h.report(what, name, err)
	}
}

// isClosing reports whether the store is closing.
func (h *diskHealth) isClosing() bool {
	select {
	case <-h.closing:
		return true
	default:
		return false
	}
}

// spaceTables delays the creation of a table while the disk fails, so
// that Pebble's retries of a flush come once a tableRetryInterval.
func (h *diskHealth) spaceTables() {
	if !h.failing.Load() {
		return
	}
	h.mu.Lock()
	wait := time.Until(h.mu.lastTable.Add(tableRetryInterval))
	h.mu.Unlock()
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-h.closing:
	case <-t.C:
	}
}

// fault returns the disk's state.
func (h *diskHealth) fault() DiskFault {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.fault
}

// probeName is the file the probe writes in the data folder; Pebble
// ignores files it does not name.
const probeName = "shoal-disk-probe"

// probe writes, syncs and removes a small file: the disk accepts writes
// again when it succeeds and no write of Pebble's is still retrying.
func (h *diskHealth) probe() error {
	if h.stuck.Load() > 0 {
		return errors.New("storage: a write to the log is still waiting for the disk")
	}
	name := h.fs.PathJoin(h.dir, probeName)
	f, err := h.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := h.fs.Remove(name); err == nil {
		err = rerr
	}
	return err
}

// watch probes the disk every retryInterval while it fails, and accepts
// writes again once a probe succeeds. It returns when closing closes.
func (h *diskHealth) watch() {
	t := time.NewTicker(retryInterval)
	defer t.Stop()
	for {
		select {
		case <-h.closing:
			return
		case <-t.C:
		}
		if !h.failing.Load() {
			continue
		}
		if err := h.probe(); err != nil {
			continue
		}
		h.mu.Lock()
		since := h.mu.fault.Since
		h.mu.fault.Failing = false
		h.failing.Store(false)
		h.mu.failed = make(chan struct{})
		h.mu.Unlock()
		h.log.Warn("storage: the disk accepts writes again; accepting writes",
			"failed_for", time.Since(since).Round(time.Millisecond).String())
	}
}

// DiskFault returns the state of the store's disk.
func (s *Store) DiskFault() DiskFault { return s.health.fault() }

// DiskError is the error of a write refused while the disk fails; it
// wraps ErrWriteFailed.
type DiskError struct {
	// Errno is the last failed write's error number.
	Errno syscall.Errno
}

func (e *DiskError) Error() string {
	return ErrWriteFailed.Error() + ": " + e.Strerror()
}

// Strerror words Errno as C's strerror does.
func (e *DiskError) Strerror() string { return DiskFault{Errno: e.Errno}.Strerror() }

func (e *DiskError) Unwrap() error { return ErrWriteFailed }

// DiskError returns a *DiskError while the disk fails, else nil: what a
// write gets before it touches the store.
func (s *Store) DiskError() error {
	if !s.health.failing.Load() {
		return nil
	}
	return &DiskError{Errno: s.health.fault().Errno}
}

// syncWait waits for the sync of b, an applied batch, and closes b. When
// the disk starts failing first, it returns the *DiskError at once: the
// sync goes on, held by diskFS until the disk takes the log's writes, and
// b is closed when it ends. The write was applied, so readers see it, and
// it is durable once the disk recovers, unless the process ends first.
func (s *Store) syncWait(b *pebble.Batch) error {
	done := make(chan error, 1)
	go func() {
		done <- b.SyncWait()
		b.Close()
	}()
	for {
		select {
		case err := <-done:
			return err
		case <-s.health.failed():
			if err := s.DiskError(); err != nil {
				return err
			}
			// NB: it recovered meanwhile; failed now gives a new channel.
		}
	}
}
