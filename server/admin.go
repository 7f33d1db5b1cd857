package server

import (
	"os"
	"strings"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/storage"
)

// ConfigSet applies directive/value pairs all or none, as CONFIG SET does,
// with Redis's error texts.
func (s *Server) ConfigSet(pairs [][2]string) error {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	next := s.cfg.Clone()
	seen := map[string]bool{}
	for _, p := range pairs {
		name := strings.ToLower(p[0])
		d := config.Lookup(name)
		if d == nil {
			return commands.Errf("Unknown option or number of arguments for CONFIG SET - '%s'", p[0])
		}
		failed := func(reason string) error {
			return commands.Errf("CONFIG SET failed (possibly related to argument '%s') - %s", p[0], reason)
		}
		if seen[name] {
			return failed("duplicate parameter")
		}
		seen[name] = true
		if !d.Mutable {
			return failed("can't set immutable config")
		}
		args := []string{p[1]}
		if name == "save" || name == "client-output-buffer-limit" {
			// Multi-word values: "3600 1 300 100".
			if words, err := config.SplitArgs(p[1]); err == nil {
				args = words
			}
		}
		if err := d.Set(next, args); err != nil {
			return failed(redisConfigError(err))
		}
		if err := next.Validate(); err != nil {
			return failed(strings.TrimPrefix(err.Error(), name+": "))
		}
	}
	s.cfg = next
	s.applyHotConfig(next)
	fsync, _ := storage.ParseFsyncPolicy(next.AppendFsync)
	s.store.SetFsync(fsync)
	return nil
}

// redisConfigError turns a directive's parse error into Redis's wording.
func redisConfigError(err error) string {
	msg := err.Error()
	switch {
	case strings.HasSuffix(msg, " is not an integer"):
		return "argument couldn't be parsed into an integer"
	case strings.HasSuffix(msg, " is not yes or no"):
		return "argument must be 'yes' or 'no'"
	case strings.HasSuffix(msg, " is not a memory size"):
		return "argument must be a memory value"
	}
	if _, values, ok := strings.Cut(msg, " is not one of "); ok {
		return "argument(s) must be one of the following: " + values
	}
	return msg
}

// Save makes the data durable and compacts the log into tables (SAVE,
// BGSAVE, BGREWRITEAOF). In the background it runs in a goroutine the
// server waits for on Close; started is false when a background save is
// already running.
func (s *Server) Save(background bool) (started bool, err error) {
	s.info.init()
	if !s.info.bgsave.CompareAndSwap(false, true) {
		return false, nil
	}
	run := func() error {
		defer s.info.bgsave.Store(false)
		begin := time.Now()
		err := s.store.Flush()
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

// ConfigRewrite writes the running configuration to the file it was read
// from.
func (s *Server) ConfigRewrite() error {
	cfg := s.Config()
	if cfg.File == "" {
		return commands.Errf("The server is running without a config file")
	}
	tmp := cfg.File + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg.Render()), 0o644); err != nil {
		return commands.Errf("Rewriting config file: %s", err)
	}
	if err := os.Rename(tmp, cfg.File); err != nil {
		return commands.Errf("Rewriting config file: %s", err)
	}
	return nil
}
