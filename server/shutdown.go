package server

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// shutdownState is a shutdown waiting for lagging replicas, as Redis
// 7.0's prepareForShutdown waits: writes pause until every replica
// acknowledged every write or shutdown-timeout passed, then the server
// shuts down; SHUTDOWN ABORT ends the wait and resumes writes.
type shutdownState struct {
	mu struct {
		sync.Mutex
		wait *shutdownWait // the wait under way, nil for none
	}
	pause pauseState
}

// shutdownWait is one wait for the replicas: done is closed when it ends,
// aborted set before when SHUTDOWN ABORT ended it.
type shutdownWait struct {
	done    chan struct{}
	aborted atomic.Bool
}

// errShutdownFailed answers the SHUTDOWNs a SHUTDOWN ABORT cancelled.
var errShutdownFailed = commands.Errf("Errors trying to SHUTDOWN. Check logs.")

// Shutdown is SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: without NOW, and with
// shutdown-timeout, it first waits for the replicas (every write is on
// disk already; NOSAVE and SAVE change nothing else). The client gets no
// reply when the server shuts down, the error of Redis when the wait is
// aborted.
func (s *Server) Shutdown(c *commands.Ctx, now bool) error {
	s.log.Warn("User requested shutdown...")
	cn := connOf(c)
	if !now {
		if w := s.waitReplicasBeforeShutdown(); w != nil {
			cn.flush() // the pipeline's earlier replies
			cn.blocked.Store(true)
			<-w.done
			cn.blocked.Store(false)
			if w.aborted.Load() {
				return errShutdownFailed
			}
		}
	}
	cn.closing = true
	// NB: no client connects once this one's connection closes, as none
	// can to Redis, which exits at once (a script still running would
	// answer it BUSY).
	s.ln.closeAll()
	s.signalShutdown()
	return nil
}

// ShutdownAbort is SHUTDOWN ABORT: it ends a wait for the replicas.
func (s *Server) ShutdownAbort() error {
	d := &s.shutdownWait
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.mu.wait
	if w == nil || s.isShutdown() {
		return commands.Errf("No shutdown in progress.")
	}
	w.aborted.Store(true)
	close(w.done)
	d.mu.wait = nil
	d.pause.unpause()
	s.log.Info("Shutdown manually aborted.")
	return nil
}

// ShutdownOnSignal shuts the server down on SIGINT or SIGTERM as Redis
// does: after the replicas caught up, unless shutdown-on-sigint or
// shutdown-on-sigterm holds now. A signal during the wait shuts down at
// once.
func (s *Server) ShutdownOnSignal(sig os.Signal) {
	cfg := s.Config()
	name, flags := "SIGTERM", cfg.ShutdownOnSigterm
	if sig == syscall.SIGINT {
		name, flags = "SIGINT", cfg.ShutdownOnSigint
	}
	s.log.Warn("Received " + name + " scheduling shutdown...")
	d := &s.shutdownWait
	d.mu.Lock()
	waiting := d.mu.wait != nil
	d.mu.Unlock()
	if !waiting && !strings.Contains(flags, "now") {
		if w := s.waitReplicasBeforeShutdown(); w != nil {
			<-w.done
			if w.aborted.Load() {
				return
			}
		}
	}
	s.signalShutdown()
}

// waitReplicasBeforeShutdown starts the wait for lagging replicas, or
// joins the one under way; nil when there is nothing to wait for.
func (s *Server) waitReplicasBeforeShutdown() *shutdownWait {
	timeout := time.Duration(s.Config().ShutdownTimeout) * time.Second
	d := &s.shutdownWait
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.wait != nil {
		// NB: a second signal, or SHUTDOWN NOW, joins it, as in Redis,
		// where a shutdown under way takes no other.
		return d.mu.wait
	}
	if timeout <= 0 || s.replicasCaughtUp(false) {
		return nil
	}
	w := &shutdownWait{done: make(chan struct{})}
	d.mu.wait = w
	d.pause.set(time.Duration(1<<62), true)
	s.repl.RequestAcks()
	s.log.Info("Waiting for replicas before shutting down.")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.awaitReplicas(w, time.Now().Add(timeout))
	}()
	return w
}

// awaitReplicas ends wait w once every replica caught up or at end,
// logging the replicas that lag then, as Redis's finishShutdown does; the
// shutdown follows, with writes still paused.
func (s *Server) awaitReplicas(w *shutdownWait, end time.Time) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
		case <-w.done:
			return // aborted
		case <-t.C:
			late := !time.Now().Before(end)
			if !s.replicasCaughtUp(late) && !late {
				continue
			}
		}
		d := &s.shutdownWait
		d.mu.Lock()
		if d.mu.wait == w {
			close(w.done)
			d.mu.wait = nil
		}
		d.mu.Unlock()
		return
	}
}

// replicasCaughtUp reports whether every replica acknowledged every write;
// logging, it names those that did not.
func (s *Server) replicasCaughtUp(logging bool) bool {
	ok := true
	for _, r := range s.replicasAt() {
		if r.Offset != r.Want {
			ok = false
			if logging {
				s.log.Warn("Lagging replica reported offset behind master", "replica", r.IP, "port", r.Port,
					"offset", r.Offset, "behind", r.Want-r.Offset, "state", r.State)
			}
		}
	}
	return ok
}

// isShutdown reports whether the server is shutting down.
func (s *Server) isShutdown() bool {
	select {
	case <-s.shutdown:
		return true
	default:
		return false
	}
}
