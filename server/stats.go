package server

import (
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

	mu   sync.Mutex
	cmds map[string]*cmdStat
}

// cmdStat is one command's line of INFO commandstats.
type cmdStat struct {
	calls, usec, rejected, failed int64
}

// record accounts one executed command: INFO commandstats, metrics and the
// slow log.
func (s *Server) record(cmd *commands.Command, args [][]byte, c *conn, dur time.Duration, failed bool) {
	s.stats.commands.Add(1)
	us := dur.Microseconds()
	s.stats.mu.Lock()
	st := s.stats.cmdLocked(cmd.Name)
	st.calls++
	st.usec += us
	if failed {
		st.failed++
	}
	s.stats.mu.Unlock()
	s.metrics.observe(cmd, dur, failed)
	if t := s.slowerThan.Load(); t >= 0 && us >= t && !cmd.Flags.Has(commands.SkipSlowlog) {
		s.slowlog.add(args, us, c, s.Config().SlowlogMaxLen)
	}
}

// recordRejected accounts a command refused before it ran (arity, auth,
// a read-only replica, ...): INFO commandstats' rejected_calls.
func (s *Server) recordRejected(cmd *commands.Command) {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.cmdLocked(cmd.Name).rejected++
}

// cmdLocked returns the stats line of command name, made on first use.
func (st *stats) cmdLocked(name string) *cmdStat {
	if st.cmds == nil {
		st.cmds = map[string]*cmdStat{}
	}
	c := st.cmds[name]
	if c == nil {
		c = &cmdStat{}
		st.cmds[name] = c
	}
	return c
}

// ResetStats zeroes INFO's counters, command stats and the slow log.
func (s *Server) ResetStats() {
	s.stats.connections.Store(0)
	s.stats.commands.Store(0)
	s.stats.rejected.Store(0)
	s.stats.hits.Store(0)
	s.stats.misses.Store(0)
	s.stats.mu.Lock()
	s.stats.cmds = nil
	s.stats.mu.Unlock()
	s.slowlog.reset()
}
