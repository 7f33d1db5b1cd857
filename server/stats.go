package server

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// stats are INFO's counters; CONFIG RESETSTAT zeroes them.
type stats struct {
	connections atomic.Int64
	commands    atomic.Int64
	rejected    atomic.Int64
	hits        atomic.Int64 // keyspace_hits
	misses      atomic.Int64 // keyspace_misses
	// dirty counts the changes write commands made since start, as
	// Redis's server.dirty does (dirty.go): INFO's
	// rdb_changes_since_last_save is measured from it.
	dirty atomic.Int64

	// cmds maps each command that ran to its line of INFO commandstats.
	// It is replaced whole when a command first runs, so the command path
	// reads it without a lock.
	cmds  atomic.Pointer[map[*commands.Command]*cmdStat]
	addMu sync.Mutex
}

// cmdStat is one command's line of INFO commandstats, with its metrics.
type cmdStat struct {
	calls, usec, rejected, failed atomic.Int64
	metrics                       *cmdMetrics
}

// record accounts one executed command that made changes (changesOf):
// INFO commandstats, metrics and the slow log.
func (s *Server) record(cmd *commands.Command, args [][]byte, c *conn, dur time.Duration, failed bool, changes int64) {
	s.stats.commands.Add(1)
	if changes != 0 {
		s.stats.dirty.Add(changes)
	}
	us := dur.Microseconds()
	st := s.cmdStat(cmd)
	st.calls.Add(1)
	st.usec.Add(us)
	if failed {
		st.failed.Add(1)
	}
	st.metrics.observe(dur, failed)
	if t := s.slowerThan.Load(); t >= 0 && us >= t && !cmd.Flags.Has(commands.SkipSlowlog) {
		s.slowlog.add(redactSecrets(cmd, args), us, c, s.Config().SlowlogMaxLen)
	}
}

// recordRejected accounts a command refused before it ran (arity, auth,
// a read-only replica, ...): INFO commandstats' rejected_calls.
func (s *Server) recordRejected(cmd *commands.Command) { s.cmdStat(cmd).rejected.Add(1) }

// cmdStat returns the stats line of cmd, made on its first use.
func (s *Server) cmdStat(cmd *commands.Command) *cmdStat {
	if m := s.stats.cmds.Load(); m != nil {
		if st := (*m)[cmd]; st != nil {
			return st
		}
	}
	s.stats.addMu.Lock()
	defer s.stats.addMu.Unlock()
	old := s.stats.cmds.Load()
	if old != nil {
		if st := (*old)[cmd]; st != nil {
			return st
		}
	}
	next := make(map[*commands.Command]*cmdStat, 1)
	if old != nil {
		next = maps.Clone(*old)
	}
	st := &cmdStat{metrics: s.metrics.forCommand(cmd)}
	next[cmd] = st
	s.stats.cmds.Store(&next)
	return st
}

// cmdStats returns every command's stats line by its name.
func (s *Server) cmdStats() map[string]*cmdStat {
	out := map[string]*cmdStat{}
	if m := s.stats.cmds.Load(); m != nil {
		for cmd, st := range *m {
			out[cmd.Name] = st
		}
	}
	return out
}

// ResetStats zeroes INFO's counters, command stats and the slow log.
func (s *Server) ResetStats() {
	s.stats.connections.Store(0)
	s.stats.commands.Store(0)
	s.stats.rejected.Store(0)
	s.stats.hits.Store(0)
	s.stats.misses.Store(0)
	for _, st := range s.cmdStats() {
		st.calls.Store(0)
		st.usec.Store(0)
		st.rejected.Store(0)
		st.failed.Store(0)
	}
	s.slowlog.reset()
}
