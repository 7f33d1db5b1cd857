package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/storage"
)

// ConfigSet applies directive/value pairs all or none, as CONFIG SET does,
// with Redis's error texts; local reports a client connected from this
// host (enable-protected-configs local).
func (s *Server) ConfigSet(pairs [][2]string, local bool) error {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	prev := s.cfg
	next, err := s.cfg.Set(pairs, local)
	if err != nil {
		return commands.Errf("%s", err)
	}
	setup, tlsChanged, err := s.tlsFor(next, pairs)
	if err != nil {
		return commands.Errf("%s", err)
	}
	if s.cluster != nil {
		// NB: a cluster node's address and timings are the catalog's and
		// its gossip's, read at start.
		for _, p := range pairs {
			switch strings.ToLower(p[0]) {
			case "port", "tls-port", "bind", "cluster-node-timeout", "cluster-announce-ip":
				if d := config.Lookup(p[0]); d.Get(next) != d.Get(s.cfg) {
					return commands.Errf("%s", &config.SetError{Arg: strings.ToLower(p[0]), Reason: "can't set immutable config"})
				}
			}
		}
	}
	if next.Port != s.cfg.Port || next.TLS.Port != s.cfg.TLS.Port || !slices.Equal(next.Bind, s.cfg.Bind) {
		prevSetup := s.tls.Load()
		if tlsChanged {
			// NB: a new TLS port serves with the new settings.
			s.tls.Store(setup)
		}
		if err := s.rebind(s.cfg, next); err != nil {
			s.tls.Store(prevSetup)
			return commands.Errf("%s", err)
		}
	}
	if tlsChanged {
		s.tls.Store(setup)
	}
	s.cfg = next
	s.applyHotConfig(next)
	if s.cfgRequirePassChanged(pairs) {
		// As Redis's ACLUpdateDefaultUserPassword: requirepass is the
		// default user's one password.
		ref := s.users.defaultRef()
		u := ref.load().u.Clone()
		setDefaultPassword(s.users.x, u, next.RequirePass)
		ref.store(u)
	}
	if next.OOMScoreAdj != prev.OOMScoreAdj || next.OOMScoreAdjValues != prev.OOMScoreAdjValues {
		s.applyOOMScoreFor(next)
	}
	for _, p := range pairs {
		// NB: CONFIG GET shows A without n, as Redis does, but the n
		// that was set is in force, as in Redis.
		if strings.EqualFold(p[0], "notify-keyspace-events") {
			s.events.Set(commands.ParseEventClasses(p[1]))
		}
	}
	fsync, _ := storage.ParseFsyncPolicy(next.AppendFsync)
	s.store.SetFsync(fsync)
	if next.MaxMemory != prev.MaxMemory || next.Value("replica-ignore-maxmemory") != prev.Value("replica-ignore-maxmemory") {
		s.checkOOM(next)
	}
	return nil
}

// cfgRequirePassChanged reports whether pairs set requirepass.
func (s *Server) cfgRequirePassChanged(pairs [][2]string) bool {
	for _, p := range pairs {
		if strings.EqualFold(p[0], "requirepass") {
			return true
		}
	}
	return false
}

// tlsFor configures TLS for next when CONFIG SET changed a tls-* directive,
// as Redis's applyTlsCfg does: only while TLS is in use, and refused with
// Redis's text, blaming the first tls-* directive set, when the settings
// cannot serve. setup is nil when TLS is no longer in use.
func (s *Server) tlsFor(next *config.Config, pairs [][2]string) (setup *tlsSetup, changed bool, err error) {
	prev := s.cfg
	if next.TLS == prev.TLS && next.Value("tls-cluster") == prev.Value("tls-cluster") {
		return s.tls.Load(), false, nil
	}
	if !next.TLSEnabled() {
		return nil, true, nil
	}
	setup, err = buildTLS(next)
	if err != nil {
		blame := "tls-port"
		for _, p := range pairs {
			if d := config.Lookup(p[0]); d != nil && strings.HasPrefix(d.Name, "tls-") {
				blame = d.Name
				break
			}
		}
		s.log.Warn(err.Error())
		s.log.Warn("Failed applying new configuration. Possibly related to new " + blame + " setting. Restoring previous settings.")
		return nil, false, &config.SetError{Arg: blame, Reason: "Unable to update TLS configuration. Check server logs."}
	}
	return setup, true, nil
}

// ConfigRewrite writes the running configuration into the file it was
// read from, keeping the file's comments and order as Redis does, through
// a temporary file renamed over it; all writes every directive, its
// default too (DEBUG CONFIG-REWRITE-FORCE-ALL).
func (s *Server) ConfigRewrite(all bool) error {
	cfg := s.Config()
	if cfg.File == "" {
		return commands.Errf("The server is running without a config file")
	}
	old, err := os.ReadFile(cfg.File)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rewriteFailed(err)
	}
	f, err := os.CreateTemp(filepath.Dir(cfg.File), filepath.Base(cfg.File)+".*")
	if err != nil {
		return rewriteFailed(err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	_, err = f.WriteString(cfg.Rewrite(string(old), all))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), cfg.File)
	}
	if err != nil {
		return rewriteFailed(err)
	}
	return nil
}

// rewriteFailed words a failed CONFIG REWRITE as Redis does, with the
// system's reason as strerror words it ("Permission denied").
func rewriteFailed(err error) error {
	msg := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg = errno.Error()
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return commands.Errf("Rewriting config file: %s", msg)
}
