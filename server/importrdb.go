package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strconv"
	"time"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/storage"
)

// ImportRDB loads the RDB file at path (written by any Redis up to 7.2)
// into the data folder cfg.Dir, which must hold no keys, with the server
// not running on it. It prints progress lines to w. A corrupt file is
// refused with an *storage.RDBError naming the offset and the reason, and
// leaves the folder without keys.
func ImportRDB(cfg *config.Config, path string, w io.Writer) (storage.RDBLoadInfo, error) {
	if err := cfg.Validate(); err != nil {
		return storage.RDBLoadInfo{}, err
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := storeOptions(cfg, nil, log)
	opts.ExpireHz = -1
	store, err := storage.Open(opts)
	if err != nil {
		return storage.RDBLoadInfo{}, err
	}
	data, unmap, err := storage.MapFile(path)
	if err != nil {
		store.Close()
		return storage.RDBLoadInfo{}, err
	}
	store.SetEncodings(encodingsOf(cfg))
	defer unmap()
	total := float64(len(data)) / (1 << 20)
	begin := time.Now()
	info, err := store.LoadRDB(data, storage.RDBLoadOptions{Progress: func(read, keys int64) {
		secs := time.Since(begin).Seconds()
		mb := float64(read) / (1 << 20)
		fmt.Fprintf(w, "loading %s: %.1f of %.1f MB (%.0f%%), %d keys, %.1f MB/s\n",
			path, mb, total, 100*mb/total, keys, mb/secs)
	}})
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, err
	}
	secs := time.Since(begin).Seconds()
	fmt.Fprintf(w, "loaded %d keys from %s (RDB version %d, %.1f MB) into %s in %.2f s: %.0f keys/s, %.1f MB/s",
		info.Keys, path, info.Version, total, cfg.Dir, secs, float64(info.Keys)/secs, total/secs)
	if info.Expired > 0 {
		fmt.Fprintf(w, "; %d expired keys left out", info.Expired)
	}
	if info.Functions > 0 {
		fmt.Fprintf(w, "; %d function libraries", info.Functions)
	}
	fmt.Fprintln(w)
	return info, nil
}

// loadRDBAtStart loads dir/dbfilename into a store that holds no keys,
// as redis-server loads its RDB at start, with Redis's log lines, unless
// the store wrote or loaded that file itself (storage/rdbstart.go); a
// load a killed process left unfinished starts over. A file that does
// not load stops the start, as it stops redis-server's.
func loadRDBAtStart(store *storage.Store, cfg *config.Config, log *slog.Logger) error {
	pending, err := store.StartLoadPending()
	if err != nil || !pending && store.TotalKeys() != 0 {
		return err
	}
	path := cfg.InDir(cfg.DBFilename)
	id, err := storage.RDBFileID(path)
	if errors.Is(err, fs.ErrNotExist) {
		if pending {
			return store.EndStartLoad()
		}
		return nil
	}
	if err != nil {
		return err
	}
	if seen, err := store.RDBFileSeen(); err != nil || !pending && seen == id {
		return err
	}
	data, unmap, err := storage.MapFile(path)
	if err != nil {
		return err
	}
	defer unmap()
	// NB: a loaded collection's encoding follows the thresholds, as
	// Redis's loader converts what exceeds them.
	store.SetEncodings(encodingsOf(cfg))
	begin := time.Now()
	info, err := store.LoadRDBAtStart(data, storage.RDBLoadOptions{})
	if v := info.AuxValue("redis-ver"); v != "" {
		log.Info("Loading RDB produced by version " + v)
	}
	if t, perr := strconv.ParseInt(info.AuxValue("ctime"), 10, 64); perr == nil {
		log.Info(fmt.Sprintf("RDB age %d seconds", time.Now().Unix()-t))
	}
	if err != nil {
		// Redis's lines for a file it cannot load.
		if re := (*storage.RDBError)(nil); errors.As(err, &re) {
			log.Warn(fmt.Sprintf("Internal error in RDB reading offset %d -> %s", re.Offset, re.Reason))
			log.Warn("Terminating server after rdb file reading failure.")
		} else {
			log.Warn(fmt.Sprintf("Fatal error loading the DB: %v. Exiting.", err))
		}
		return fmt.Errorf("server: loading %s: %w", path, err)
	}
	log.Info(fmt.Sprintf("Done loading RDB, keys loaded: %d, keys expired: %d.", info.Keys, info.Expired))
	log.Info(fmt.Sprintf("DB loaded from disk: %.3f seconds", time.Since(begin).Seconds()))
	return store.SetRDBFileSeen(id)
}
