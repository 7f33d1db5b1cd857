package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/storage"
)

// Save writes the RDB file dbfilename in dir (SAVE, BGSAVE): from a
// Pebble snapshot, to a temporary file that is fsynced and renamed over
// the old one, while writes go on. In the background it runs in a
// goroutine the server waits for on Close; started is false when a
// background save is already running.
func (s *Server) Save(background bool) (started bool, err error) {
	return s.runSave(background, true, func() error {
		cfg := s.Config()
		dirty := s.stats.dirty.Load()
		if _, err := s.WriteRDBFile(filepath.Join(cfg.Dir, cfg.DBFilename)); err != nil {
			return err
		}
		s.info.dirtyAtSave.Store(dirty)
		s.store.Stats.LastSaveUnix.Store(time.Now().Unix())
		return nil
	})
}

// RewriteAOF compacts the store's log into tables (BGREWRITEAOF): the next
// start replays less of it.
func (s *Server) RewriteAOF() (started bool, err error) {
	return s.runSave(true, false, s.store.Flush)
}

// runSave runs one save at a time, in the background or not, and keeps
// INFO persistence's account of it: an RDB file's (rdb) in the rdb_
// fields and rdb_saves, which counts attempts, a BGREWRITEAOF's in
// aof_rewrites, as Redis counts them.
func (s *Server) runSave(background, rdb bool, save func() error) (started bool, err error) {
	s.info.init()
	if !s.info.bgsave.CompareAndSwap(false, true) {
		return false, nil
	}
	s.info.rewriting.Store(!rdb)
	run := func() error {
		defer func() {
			s.info.rewriting.Store(false)
			s.info.bgsave.Store(false)
		}()
		begin := time.Now()
		s.info.bgsaveStart.Store(begin.Unix())
		if rdb {
			s.info.saves.Add(1) // Redis counts the attempts
		} else {
			s.info.rewrites.Add(1)
		}
		err := save()
		if rdb {
			s.info.bgsaveSecs.Store(int64(time.Since(begin).Seconds()))
			s.info.bgsaveFailed.Store(err != nil)
		}
		if err != nil {
			s.log.Error("background save failed", "err", err)
		}
		return err
	}
	if !background {
		return true, run()
	}
	if s.closing.Load() {
		s.info.rewriting.Store(false)
		s.info.bgsave.Store(false)
		return true, nil // Close syncs the store anyway.
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = run()
	}()
	return true, nil
}

// WriteRDBFile writes an RDB of the whole dataset to path: to a temporary
// file beside it, fsynced, then renamed over path and the folder fsynced,
// so path always holds a complete RDB.
func (s *Server) WriteRDBFile(path string) (storage.RDBSaveInfo, error) {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf("temp-%d-%d.rdb", os.Getpid(), time.Now().UnixNano()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return storage.RDBSaveInfo{}, err
	}
	info, err := s.store.WriteRDB(f, s.rdbAux(), nil)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return info, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return info, err
		}
	}
	s.log.Info("DB saved on disk", "path", path, "keys", info.Keys, "bytes", info.Bytes)
	if cfg := s.Config(); path == cfg.InDir(cfg.DBFilename) {
		// The next start of a store without keys does not load it back.
		id, err := storage.RDBFileID(path)
		if err == nil {
			err = s.store.SetRDBFileSeen(id)
		}
		if err != nil {
			return info, err
		}
	}
	return info, nil
}

// rdbAux is the aux fields Redis 7.0 opens an RDB with.
func (s *Server) rdbAux() []storage.RDBAux {
	return []storage.RDBAux{
		{Name: "redis-ver", Value: RedisVersion},
		{Name: "redis-bits", Value: "64"},
		{Name: "ctime", Value: fmt.Sprint(time.Now().Unix())},
		{Name: "used-mem", Value: fmt.Sprint(s.memory().used)},
		{Name: "aof-base", Value: "0"},
	}
}

// OpenRDB implements commands.Server.OpenRDB: the file's keys in a store
// on an in-memory file system, with no expiry sweeper.
func (s *Server) OpenRDB(path string) (*storage.Store, func(), error) {
	opts := storeOptions(s.Config(), nil, s.log)
	opts.Dir, opts.FS, opts.ExpireHz = "/rdb", vfs.NewMem(), -1
	opts.MetaCacheBytes = -1
	st, err := storage.Open(opts)
	if err != nil {
		return nil, nil, err
	}
	data, unmap, err := storage.MapFile(path)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	defer unmap()
	if _, err := st.LoadRDB(data, storage.RDBLoadOptions{}); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// savePoint is a "seconds changes" pair of the save directive.
type savePoint struct{ secs, changes int64 }

// savePoints reads the save directive's pairs.
func savePoints(v string) []savePoint {
	w := strings.Fields(v)
	var out []savePoint
	for j := 0; j+1 < len(w); j += 2 {
		secs, err1 := strconv.ParseInt(w[j], 10, 64)
		changes, err2 := strconv.ParseInt(w[j+1], 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, savePoint{secs, changes})
		}
	}
	return out
}

// bgsaveRetryDelay is how long after a failed background save a save
// point may start another (Redis's CONFIG_BGSAVE_RETRY_DELAY).
const bgsaveRetryDelay = 5 * time.Second

// saveCron is Redis's serverCron check of the save points, once a second:
// a background save starts when a point's changes are made and its
// seconds have passed since the last save, unless one runs or the last
// failed less than bgsaveRetryDelay ago.
func (s *Server) saveCron(now time.Time) {
	cfg := s.Config()
	if cfg.Save == "" || s.info.bgsave.Load() {
		return
	}
	dirty := s.stats.dirty.Load() - s.info.dirtyAtSave.Load()
	since := now.Unix() - s.store.Stats.LastSaveUnix.Load()
	retry := !s.info.bgsaveFailed.Load() || now.Sub(time.Unix(0, s.info.bgsaveTry.Load())) > bgsaveRetryDelay
	for _, p := range savePoints(cfg.Save) {
		if dirty >= p.changes && since > p.secs && retry {
			s.log.Info(fmt.Sprintf("%d changes in %d seconds. Saving...", p.changes, p.secs))
			s.info.bgsaveTry.Store(now.UnixNano())
			s.Save(true)
			return
		}
	}
}

// bgsaveError is Redis's refusal of writes after a failed background save
// while save points are set.
var bgsaveError = &commands.Error{Code: "MISCONF", Msg: "Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."}
