package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// mayReplicate reports whether CLIENT PAUSE WRITE holds cmd, as Redis's
// processCommand decides it: a write or a command that may replicate (a
// PUBLISH, a PFCOUNT that caches its count), a script or function that
// does not declare no-writes, and an EXEC whose queue holds any of them.
func (c *conn) mayReplicate(cmd *commands.Command, args [][]byte) bool {
	switch {
	case cmd.Name == "exec" && c.multi != nil:
		for _, q := range c.multi.queued {
			if c.mayReplicate(q.cmd, q.args) {
				return true
			}
		}
		return false
	case cmd.Flags.Has(commands.Write):
		return true
	case !cmd.Flags.Has(commands.MayReplicate):
		return false
	}
	switch cmd.Name {
	case "eval", "evalsha", "fcall":
		return commands.ScriptMayReplicate(c.s.scripts, cmd.Name, args)
	}
	return true
}

// pauseState is CLIENT PAUSE: until a deadline, commands (all, or only
// writes) wait before they run.
type pauseState struct {
	mu      sync.Mutex
	until   time.Time
	writes  bool // only write commands wait
	changed chan struct{}
	on      bool
	// onFast mirrors on for active, which every command asks: an atomic
	// load rather than a mutex all connections share.
	onFast atomic.Bool
}

func (p *pauseState) set(d time.Duration, writesOnly bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	until := time.Now().Add(d)
	if p.on && p.until.After(until) {
		until = p.until
	}
	if p.on && !p.writes {
		writesOnly = false // ALL is never weakened to WRITE by a later pause
	}
	p.until, p.writes, p.on = until, writesOnly, true
	p.onFast.Store(true)
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
}

func (p *pauseState) unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked()
}

// endLocked ends the pause and wakes the commands that wait.
func (p *pauseState) endLocked() {
	p.on = false
	p.onFast.Store(false)
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

func (p *pauseState) stop() { p.unpause() }

func (p *pauseState) active() bool { return p.onFast.Load() }

// holding reports whether a pause is in force, ending it when its time
// is up: the active expiry sweeper does not run while it is, as in Redis
// 7.0, so keys that expire meanwhile stay stored (and read as absent)
// until the pause ends.
func (p *pauseState) holding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && !time.Now().Before(p.until) {
		p.endLocked()
	}
	return p.on
}

// wait blocks while a pause applies to a command: one that may write
// (mayReplicate) waits for either pause, others only for ALL. While it
// waits, blocked is set: Redis counts a postponed client as blocked
// (INFO blocked_clients, CLIENT LIST flag b).
func (p *pauseState) wait(mayReplicate bool, blocked *atomic.Bool) {
	defer blocked.Store(false)
	p.await(mayReplicate, nil, func() { blocked.Store(true) })
}

// await blocks while a pause applies to a waiter that writes or not,
// calling waiting (if not nil) before it sleeps; it returns false if
// abort closes first.
func (p *pauseState) await(writes bool, abort <-chan struct{}, waiting func()) bool {
	if !p.onFast.Load() {
		return true
	}
	for {
		p.mu.Lock()
		if !p.on || (p.writes && !writes) {
			p.mu.Unlock()
			return true
		}
		left := time.Until(p.until)
		if left <= 0 {
			p.endLocked()
			p.mu.Unlock()
			return true
		}
		ch := p.changed
		p.mu.Unlock()
		if waiting != nil {
			waiting()
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
		case <-t.C:
		case <-abort:
			t.Stop()
			return false
		}
		t.Stop()
	}
}

// Sleep is DEBUG SLEEP: for d no other client's command runs, as Redis's
// event loop serves none while its one thread sleeps. Replies already
// made are sent; commands that arrive wait.
func (s *Server) Sleep(d time.Duration) {
	s.sleeping.set(d, false)
	time.Sleep(d)
	s.sleeping.unpause()
}

// holdReplicaApply waits while a CLIENT PAUSE (WRITE or ALL) is in force,
// calling waiting first: a paused Redis replica reads its primary's stream
// but applies none of it. It returns false if abort closes first.
func (s *Server) holdReplicaApply(abort <-chan struct{}, waiting func()) bool {
	return s.pause.await(true, abort, waiting)
}

// PauseCron is DEBUG PAUSE-CRON: while on, the cron skips its passes.
func (s *Server) PauseCron(on bool) { s.cronPaused.Store(on) }

// ReplyBufferPeakReset is DEBUG REPLYBUFFER PEAK-RESET-TIME: how often,
// in ms, a client's reply buffer peak starts over (negative: never).
func (s *Server) ReplyBufferPeakReset(ms int64) {
	s.advanceReplyBufs() // NB: the ticks passed ran under the old setting
	s.replyCron.peakResetMs.Store(ms)
}

// ReplyBufferResizing is DEBUG REPLYBUFFER RESIZING: whether the clients'
// reply buffers shrink and grow.
func (s *Server) ReplyBufferResizing(on bool) {
	s.advanceReplyBufs()
	s.replyCron.resizing.Store(on)
}

// advanceReplyBufs applies the reply buffers' cron ticks passed, which
// each client otherwise applies when it writes or is listed.
func (s *Server) advanceReplyBufs() {
	now := time.Now().UnixMilli()
	// NB: not connList, which copies and sorts the list for every INFO.
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	for _, c := range s.clients {
		c.rbuf.read(now)
	}
}

// DisableDenyScripts is DEBUG SET-DISABLE-DENY-SCRIPTS.
func (s *Server) DisableDenyScripts(on bool) { s.allowNoScript.Store(on) }
