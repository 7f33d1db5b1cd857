package storage

import (
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// diskFS is the file system Pebble writes through. It reports every failed
// write to the store's disk health, so writes are refused (MISCONF) from
// the first one on, and it decides what Pebble sees of the failure:
//
//   - Pebble treats a failed write or sync of its log, its MANIFEST, its
//     markers and its folder as fatal: it panics or exits, and the memtable
//     it was writing from is lost. For those files diskFS retries the
//     operation, every retryInterval, until it succeeds or the store
//     closes, so a full disk holds the log's last writes in memory instead
//     of losing them, and they reach the disk once there is room.
//   - A failed table or blob file (a flush, a compaction) is an error
//     Pebble recovers from: it drops the file and tries again. diskFS
//     returns the error, and while the disk is failing it delays the
//     creation of the next such file to one a second, where Pebble would
//     retry at once in a loop.
//
// During Open nothing is retried: the store does not start rather than
// wait for the disk. Once the store closes, table writes fail at once, so
// that Close does not wait for a long compaction.
type diskFS struct {
	vfs.FS
	h *diskHealth
}

// retryInterval spaces the retries of a failed write of a file Pebble
// cannot lose, and the probes that find the disk healthy again.
const retryInterval = 100 * time.Millisecond

// tableRetryInterval spaces Pebble's attempts to write tables while the
// disk is failing.
const tableRetryInterval = time.Second

// recoverable reports whether Pebble recovers by itself from a failed
// write of the file name: tables and blob files, which a flush or a
// compaction writes again.
func recoverable(name string) bool {
	return strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob")
}

func (fs *diskFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, name: name, h: fs.h, retry: !recoverable(name)}, nil
}

// errClosing fails the table writes of flushes and compactions still
// running when the store closes: Pebble's Close waits for them, and a
// compaction can run for seconds. Pebble drops their output; the log
// still holds what a flush was writing.
var errClosing = errors.New("storage: closing")

// do runs op on file name under the rules above.
func (fs *diskFS) do(what, name string, op func() error) error {
	if recoverable(name) {
		if fs.h.isClosing() {
			return errClosing
		}
		err := op()
		if err != nil {
			fs.h.report(what, name, err)
		}
		return err
	}
	return fs.h.retry(what, name, op)
}

func (fs *diskFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if recoverable(name) {
		fs.h.spaceTables()
	}
	var f vfs.File
	err := fs.do("create", name, func() (err error) {
		f, err = fs.FS.Create(name, category)
		return err
	})
	return fs.wrap(name, f, err)
}

func (fs *diskFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	return fs.wrap(name, f, err)
}

func (fs *diskFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.FS.OpenDir(name)
	return fs.wrap(name, f, err)
}

func (fs *diskFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	var f vfs.File
	err := fs.do("reuse", newname, func() (err error) {
		if _, serr := fs.FS.Stat(oldname); serr != nil && os.IsNotExist(serr) {
			// An attempt that failed after the rename.
			f, err = fs.FS.OpenReadWrite(newname, category)
			return err
		}
		f, err = fs.FS.ReuseForWrite(oldname, newname, category)
		return err
	})
	return fs.wrap(newname, f, err)
}

func (fs *diskFS) Rename(oldname, newname string) error {
	return fs.do("rename", newname, func() error {
		err := fs.FS.Rename(oldname, newname)
		if err != nil && os.IsNotExist(err) {
			if _, serr := fs.FS.Stat(newname); serr == nil {
				return nil // an attempt that failed after the rename
			}
		}
		return err
	})
}

func (fs *diskFS) Link(oldname, newname string) error {
	return fs.do("link", newname, func() error { return fs.FS.Link(oldname, newname) })
}

// Unwrap returns the FS diskFS wraps.
func (fs *diskFS) Unwrap() vfs.FS { return fs.FS }

// diskFile is a file Pebble opened for writing through diskFS.
type diskFile struct {
	vfs.File
	name  string
	h     *diskHealth
	retry bool
}

func (f *diskFile) do(what string, op func() error) error {
	if !f.retry {
		if f.h.isClosing() {
			return errClosing
		}
		err := op()
		if err != nil {
			f.h.report(what, f.name, err)
		}
		return err
	}
	return f.h.retry(what, f.name, op)
}

// Write writes p, resuming after what a failed attempt wrote.
func (f *diskFile) Write(p []byte) (int, error) {
	n := 0
	err := f.do("write", func() error {
		m, err := f.File.Write(p[n:])
		n += m
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		return err
	})
	return n, err
}

// WriteAt writes p at off, resuming after what a failed attempt wrote.
func (f *diskFile) WriteAt(p []byte, off int64) (int, error) {
	n := 0
	err := f.do("write", func() error {
		m, err := f.File.WriteAt(p[n:], off+int64(n))
		n += m
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		return err
	})
	return n, err
}

func (f *diskFile) Sync() error { return f.do("sync", f.File.Sync) }

func (f *diskFile) SyncData() error { return f.do("sync", f.File.SyncData) }

func (f *diskFile) SyncTo(length int64) (full bool, err error) {
	err = f.do("sync", func() (err error) {
		full, err = f.File.SyncTo(length)
		return err
	})
	return full, err
}
