package server

import (
	"fmt"
	"os"
	"strings"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/storage"
)

// ConfigSet applies directive/value pairs all or none, as CONFIG SET does.
func (s *Server) ConfigSet(pairs [][2]string) error {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	next := s.cfg.Clone()
	for _, p := range pairs {
		d := config.Lookup(strings.ToLower(p[0]))
		if d == nil {
			return commands.Errf("Unknown option or number of arguments for CONFIG SET - '%s'", p[0])
		}
		if !d.Mutable {
			return commands.Errf("CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", p[0])
		}
		args, err := config.SplitArgs(p[1])
		if err != nil || (len(args) == 0 && d.Name != "save") {
			args = []string{p[1]}
		}
		if d.Name != "save" && d.Name != "client-output-buffer-limit" {
			args = []string{p[1]}
		}
		if err := d.Set(next, args); err != nil {
			return commands.Errf("CONFIG SET failed (possibly related to argument '%s') - %s", p[0], err)
		}
	}
	if err := next.Validate(); err != nil {
		return commands.Errf("CONFIG SET failed - %s", err)
	}
	s.cfg = next
	s.applyHotConfig(next)
	fsync, _ := storage.ParseFsyncPolicy(next.AppendFsync)
	s.store.SetFsync(fsync)
	return nil
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

// Info renders INFO.
func (s *Server) Info(c *commands.Client, sections []string) string {
	return fmt.Sprintf("# Server\r\nredis_version:%s\r\nshoal_version:%s\r\n", RedisVersion, Version)
}

// ClientCmd runs CLIENT LIST, INFO, KILL, PAUSE and UNPAUSE.
func (s *Server) ClientCmd(c *commands.Ctx) error {
	return commands.Errf("not available yet")
}
