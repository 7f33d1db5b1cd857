package server

import "github.com/shoaldb/shoal/commands"

// diskGate refuses writes, and PING, while the disk refuses writes, as
// Redis refuses them after a failed write of its AOF: with MISCONF and
// the error's text. A replica is not refused: it takes its primary's
// writes, as Redis's replicas do.
func (s *Server) diskGate(cmd *commands.Command) error {
	if !cmd.Flags.Has(commands.Write) && cmd.Name != "ping" {
		return nil
	}
	if s.repl.IsReplica() {
		return nil
	}
	return s.store.DiskError()
}
