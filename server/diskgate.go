package server

import "github.com/shoaldb/shoal/commands"

// diskGate refuses writes, and PING, while the disk refuses writes, as
// Redis refuses them after a failed write of its AOF: with MISCONF and
// the error's text; and, under stop-writes-on-bgsave-error, while save
// points are set and the last background save failed, as Redis does. A
// replica is not refused: it takes its primary's writes, as Redis's
// replicas do.
func (s *Server) diskGate(cmd *commands.Command, write bool) error {
	if !write && cmd.Name != "ping" {
		return nil
	}
	if s.repl.IsReplica() {
		return nil
	}
	if err := s.store.DiskError(); err != nil {
		return err
	}
	if s.info.bgsaveFailed.Load() {
		if cfg := s.Config(); cfg.StopWritesOnBgsaveError && cfg.Save != "" {
			return bgsaveError
		}
	}
	return nil
}
