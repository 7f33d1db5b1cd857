package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/shoaldb/shoal/config"
)

// TestConfigSetLogLevel checks that CONFIG SET loglevel changes what the
// running logger writes.
func TestConfigSetLogLevel(t *testing.T) {
	cfg := config.Default()
	cfg.Port, cfg.Dir, cfg.LogLevel = 0, t.TempDir(), "warning"
	cfg.LogFile = filepath.Join(cfg.Dir, "shoal.log")
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if s.log.Enabled(ctx, slog.LevelInfo) {
		t.Fatal("loglevel warning logs notices")
	}
	if err := s.ConfigSet([][2]string{{"loglevel", "debug"}}, true); err != nil {
		t.Fatal(err)
	}
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		t.Fatal("after CONFIG SET loglevel debug, debug lines are dropped")
	}
}
