package server

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shoaldb/shoal/storage"
)

// Save writes the RDB file dbfilename in dir (SAVE, BGSAVE): from a
// Pebble snapshot, to a temporary file that is fsynced and renamed over
// the old one, while writes go on. In the background it runs in a
// goroutine the server waits for on Close; started is false when a
// background save is already running.
func (s *Server) Save(background bool) (started bool, err error) {
	return s.runSave(background, func() error {
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
	return s.runSave(true, s.store.Flush)
}

// runSave runs one save at a time, in the background or not, and keeps
// INFO persistence's account of it.
func (s *Server) runSave(background bool, save func() error) (started bool, err error) {
	s.info.init()
	if !s.info.bgsave.CompareAndSwap(false, true) {
		return false, nil
	}
	run := func() error {
		defer s.info.bgsave.Store(false)
		begin := time.Now()
		s.info.bgsaveStart.Store(begin.Unix())
		err := save()
		s.info.bgsaveSecs.Store(int64(time.Since(begin).Seconds()))
		s.info.bgsaveFailed.Store(err != nil)
		if err == nil {
			s.info.saves.Add(1)
		} else {
			s.log.Error("background save failed", "err", err)
		}
		return err
	}
	if !background {
		return true, run()
	}
	if s.closing.Load() {
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
