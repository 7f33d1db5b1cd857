package server

import (
	"maps"
	"strings"
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
	// evictedClients counts the clients maxmemory-clients closed.
	evictedClients atomic.Int64
	hits           atomic.Int64 // keyspace_hits
	misses         atomic.Int64 // keyspace_misses
	// dirty counts the changes write commands made since start, as
	// Redis's server.dirty does (dirty.go): INFO's
	// rdb_changes_since_last_save is measured from it.
	dirty atomic.Int64
	// netIn and netOut count the bytes read from and written to client
	// connections, replOut the bytes written to replicas
	// (total_net_input_bytes, total_net_output_bytes,
	// total_net_repl_output_bytes).
	netIn, netOut, replOut atomic.Int64

	errors errorStats

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
	// hist is the command's latency histogram (LATENCY HISTOGRAM, INFO
	// latencystats), made when it first runs under latency-tracking.
	hist atomic.Pointer[latencyHistogram]
}

// errorStats count error replies, INFO's total_error_replies and
// errorstats.
type errorStats struct {
	total atomic.Int64
	// codes maps an error code to its count. It is replaced whole when a
	// code is first seen, so counting reads it without a lock.
	codes atomic.Pointer[map[string]*atomic.Int64]
	addMu sync.Mutex
}

// maxErrorCodes bounds errorstats: codes first seen after this many are
// counted in total_error_replies only (Redis 7.2 keeps 128 too).
const maxErrorCodes = 128

// countError accounts one error reply, msg its text without the leading
// "-". Its code is the text up to the first space, as Redis's
// afterErrorReply reads it (within the first 32 bytes of the line, else
// ERR).
func (s *Server) countError(msg string) {
	e := &s.stats.errors
	e.total.Add(1)
	code := "ERR"
	if i := strings.IndexByte(msg, ' '); i > 0 && i < 31 {
		code = msg[:i]
	}
	if m := e.codes.Load(); m != nil {
		if n := (*m)[code]; n != nil {
			n.Add(1)
			return
		}
	}
	e.addMu.Lock()
	defer e.addMu.Unlock()
	old := e.codes.Load()
	next := map[string]*atomic.Int64{}
	if old != nil {
		if n := (*old)[code]; n != nil {
			n.Add(1)
			return
		}
		if len(*old) >= maxErrorCodes {
			return
		}
		next = maps.Clone(*old)
	}
	n := &atomic.Int64{}
	n.Add(1)
	next[strings.Clone(code)] = n
	e.codes.Store(&next)
}

// record accounts one executed command that made changes (changesOf):
// INFO commandstats, metrics and the slow log. A connection's calls are
// kept in its statBatch until its replies go out (see statBatch), the
// slow log's entry excepted.
func (s *Server) record(cmd *commands.Command, args [][]byte, c *conn, dur time.Duration, failed bool, changes int64) {
	if t := s.slowerThan.Load(); t >= 0 && dur.Microseconds() >= t && !cmd.Flags.Has(commands.SkipSlowlog) {
		s.slowlog.add(redactArgs(cmd, args), dur.Microseconds(), c, s.Config().SlowlogMaxLen)
	}
	if c == nil {
		s.recordCall(cmd, dur, failed)
		s.stats.commands.Add(1)
		s.stats.dirty.Add(changes)
		return
	}
	b := &c.stats
	b.calls = append(b.calls, pendingCall{cmd, dur, failed})
	b.changes += changes
	if len(b.calls) >= statBatchMax {
		c.flushStats()
	}
}

// recordCall accounts one call of cmd in its stats line and metrics.
func (s *Server) recordCall(cmd *commands.Command, dur time.Duration, failed bool) {
	st := s.cmdStat(cmd)
	st.calls.Add(1)
	st.usec.Add(dur.Microseconds())
	if failed {
		st.failed.Add(1)
	}
	st.metrics.observe(dur, failed)
	if s.latencyTracking.Load() {
		st.histogram(true).record(dur)
	}
	if cmd.Flags.Has(commands.Fast) {
		s.observeLatency("fast-command", dur)
	} else {
		s.observeLatency("command", dur)
	}
}

// statBatch is a connection's accounting of the calls it ran since its
// replies last went out. The counters every connection shares (INFO's,
// the commands' stats lines, the metrics) then take one burst of updates
// per pipeline rather than one per command, so their cache lines do not
// travel between the CPUs of connections running alike at each command.
// It is folded in when the replies are written, when it holds
// statBatchMax calls, before a command of the server group (INFO,
// LATENCY, CONFIG RESETSTAT read or reset what it holds) and when the
// connection ends.
type statBatch struct {
	calls                 []pendingCall
	changes, hits, misses int64
}

type pendingCall struct {
	cmd    *commands.Command
	dur    time.Duration
	failed bool
}

const statBatchMax = 64

// flushStats folds c's statBatch into the server's counters.
func (c *conn) flushStats() {
	b := &c.stats
	s := c.s
	if len(b.calls) > 0 {
		s.stats.commands.Add(int64(len(b.calls)))
		for _, pc := range b.calls {
			s.recordCall(pc.cmd, pc.dur, pc.failed)
		}
		clear(b.calls)
		b.calls = b.calls[:0]
	}
	if b.changes != 0 {
		s.stats.dirty.Add(b.changes)
		b.changes = 0
	}
	if b.hits != 0 {
		s.stats.hits.Add(b.hits)
		b.hits = 0
	}
	if b.misses != 0 {
		s.stats.misses.Add(b.misses)
		b.misses = 0
	}
}

// replicatedCalls is the store's calls listener on a replica: count
// commands of name its primary ran, as the commands a Redis replica runs
// from its primary's stream count in its commandstats (their time is
// the primary's, and counts 0 here).
func (s *Server) replicatedCalls(name string, count int) {
	cmd := commands.LookupFullName(s.table, []byte(name))
	if cmd == nil {
		return
	}
	for range count {
		s.recordCall(cmd, 0, false)
	}
	s.stats.commands.Add(int64(count))
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
	s.stats.netIn.Store(0)
	s.stats.netOut.Store(0)
	s.stats.replOut.Store(0)
	s.stats.errors.total.Store(0)
	s.stats.errors.codes.Store(nil)
	s.advanceReplyBufs() // NB: the ticks before the reset count before it
	s.replyCron.shrinks.Store(0)
	s.replyCron.expands.Store(0)
	for _, st := range s.cmdStats() {
		st.calls.Store(0)
		st.usec.Store(0)
		st.rejected.Store(0)
		st.failed.Store(0)
		st.hist.Store(nil)
	}
	s.slowlog.reset()
}
