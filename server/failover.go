package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// failoverState is FAILOVER's, as Redis 7.0 keeps it: while a failover
// waits for its target to catch up, writes are paused; once the target
// acknowledged every write, the node follows it with a PSYNC that asks
// it to take the primary role.
type failoverState struct {
	mu struct {
		sync.Mutex
		state string // no-failover, waiting-for-sync, failover-in-progress
		host  string // the target; "" for the first replica to catch up
		port  int
		force bool
		end   time.Time // zero: no timeout
		stop  chan struct{}
	}
	pause pauseState
}

// failoverAnswer is how long a failover waits for its target's answer to
// the PSYNC that hands it the primary role, when its TIMEOUT is shorter.
const failoverAnswer = 10 * time.Second

const (
	noFailover         = "no-failover"
	failoverWaiting    = "waiting-for-sync"
	failoverInProgress = "failover-in-progress"
)

// failoverStatus is INFO's master_failover_state.
func (s *Server) failoverStatus() string {
	s.failover.mu.Lock()
	defer s.failover.mu.Unlock()
	if s.failover.mu.state == "" {
		return noFailover
	}
	return s.failover.mu.state
}

// Failover is FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], with
// Redis 7.0's checks, in its order, and its errors.
func (s *Server) Failover(c *commands.Ctx) error {
	if s.cluster != nil {
		return commands.Errf("FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.")
	}
	f := &s.failover
	if len(c.Args) == 2 && commands.Is(c.Args[1], "abort") {
		if s.failoverStatus() == noFailover {
			return commands.Errf("No failover in progress.")
		}
		s.abortFailover("Failover manually aborted")
		c.Out.OK()
		return nil
	}
	var timeout int64
	var force bool
	var host string
	var port int64
	for j := 1; j < len(c.Args); j++ {
		switch a := c.Args[j]; {
		case commands.Is(a, "timeout") && j+1 < len(c.Args) && timeout == 0:
			n, err := commands.ParseInt(c.Args[j+1])
			if err != nil {
				return err
			}
			if n <= 0 {
				return commands.Errf("FAILOVER timeout must be greater than 0")
			}
			timeout = n
			j++
		case commands.Is(a, "to") && j+2 < len(c.Args) && host == "":
			n, err := commands.ParseInt(c.Args[j+2])
			if err != nil {
				return err
			}
			host, port = string(c.Args[j+1]), n
			j += 2
		case commands.Is(a, "force") && !force:
			force = true
		default:
			return commands.ErrSyntax
		}
	}
	switch {
	case s.failoverStatus() != noFailover:
		return commands.Errf("FAILOVER already in progress.")
	case s.repl.IsReplica():
		return commands.Errf("FAILOVER is not valid when server is a replica.")
	}
	reps := append(s.repl.Replicas(), s.repl.RedisReplicas()...)
	switch {
	case len(reps) == 0:
		return commands.Errf("FAILOVER requires connected replicas.")
	case force && (timeout == 0 || host == ""):
		return commands.Errf("FAILOVER with force option requires both a timeout and target HOST and IP.")
	}
	if host != "" {
		r, ok := s.failoverReplica(host, int(port))
		if !ok {
			return commands.Errf("FAILOVER target HOST and PORT is not a replica.")
		}
		if r.State != "online" {
			return commands.Errf("FAILOVER target replica is not online.")
		}
		s.log.Info("FAILOVER requested", "target", host+":"+strconv.FormatInt(port, 10))
	} else {
		s.log.Info("FAILOVER requested to any replica.")
	}
	f.mu.Lock()
	if f.mu.state != noFailover && f.mu.state != "" {
		// NB: another FAILOVER started since the check above.
		f.mu.Unlock()
		return commands.Errf("FAILOVER already in progress.")
	}
	f.mu.state, f.mu.host, f.mu.port, f.mu.force = failoverWaiting, host, int(port), force
	f.mu.end = time.Time{}
	if timeout > 0 {
		f.mu.end = time.Now().Add(time.Duration(timeout) * time.Millisecond)
	}
	f.mu.stop = make(chan struct{})
	stop := f.mu.stop
	f.mu.Unlock()
	f.pause.set(time.Duration(1<<62), true)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runFailover(stop)
	}()
	c.Out.OK()
	return nil
}

// failoverReplica finds the connected replica that listens on host:port.
func (s *Server) failoverReplica(host string, port int) (r replicaAt, ok bool) {
	for _, r := range s.replicasAt() {
		if r.IP == host && r.Port == port {
			return r, true
		}
	}
	return replicaAt{}, false
}

// replicaAt is a connected replica with the offset of this node's history
// it is to reach: the log's for a Shoal node, the logical stream's for a
// redis-server.
type replicaAt struct {
	IP     string
	Port   int
	State  string
	Offset int64
	Want   int64
}

func (s *Server) replicasAt() []replicaAt {
	var out []replicaAt
	for _, r := range s.repl.Replicas() {
		out = append(out, replicaAt{r.IP, r.Port, r.State, r.Offset, s.store.ReplOffset()})
	}
	for _, r := range s.repl.RedisReplicas() {
		out = append(out, replicaAt{r.IP, r.Port, r.State, r.Offset, s.repl.FeedOffset()})
	}
	return out
}

// runFailover is Redis's updateFailoverStatus, every 10 ms instead of
// every second: once the target (or, without one, the first replica)
// acknowledged everything, the node follows it; at the timeout it does so
// anyway under FORCE, else gives up.
func (s *Server) runFailover(stop chan struct{}) {
	f := &s.failover
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		host, port, force, end := f.mu.host, f.mu.port, f.mu.force, f.mu.end
		f.mu.Unlock()
		synced := false
		if !end.IsZero() && !time.Now().Before(end) {
			if !force {
				s.abortFailover("Replica never caught up before timeout")
				return
			}
			s.log.Info("FAILOVER time out exceeded, failing over", "target", host+":"+strconv.Itoa(port))
			synced = true
		}
		for _, r := range s.replicasAt() {
			if synced || (host != "" && (r.IP != host || r.Port != port)) || r.Offset != r.Want {
				continue
			}
			host, port, synced = r.IP, r.Port, true
			break
		}
		if !synced {
			continue
		}
		f.mu.Lock()
		f.mu.state, f.mu.host, f.mu.port = failoverInProgress, host, port
		f.mu.Unlock()
		s.log.Info("Failover target is synced, failing over.", "target", host+":"+strconv.Itoa(port))
		done := s.repl.FailoverTo(host, port)
		s.setReplicaOf(host + " " + strconv.Itoa(port))
		// NB: a target that never answers leaves the node a primary
		// again, its writes resumed.
		wait := time.NewTimer(max(time.Until(end), failoverAnswer))
		defer wait.Stop()
		select {
		case err := <-done:
			if err != nil {
				s.abortFailover("Failover target rejected psync request")
				return
			}
			s.clearFailover()
		case <-wait.C:
			s.abortFailover("Failover target did not answer")
		case <-stop:
		case <-s.stop:
		}
		return
	}
}

// clearFailover ends a failover: writes go on (and, on a node that is a
// replica now, are refused as a replica's).
func (s *Server) clearFailover() {
	f := &s.failover
	f.mu.Lock()
	f.mu.state, f.mu.host, f.mu.port, f.mu.force, f.mu.end = noFailover, "", 0, false, time.Time{}
	if f.mu.stop != nil {
		close(f.mu.stop)
		f.mu.stop = nil
	}
	f.mu.Unlock()
	f.pause.unpause()
}

// abortFailover gives a failover up, as Redis's abortFailover: a node
// that began to follow its target is a primary again.
func (s *Server) abortFailover(why string) {
	f := &s.failover
	f.mu.Lock()
	state, host, port := f.mu.state, f.mu.host, f.mu.port
	f.mu.Unlock()
	if state == noFailover || state == "" {
		return
	}
	s.log.Info("FAILOVER aborted", "target", host+":"+strconv.Itoa(port), "reason", why)
	if state == failoverInProgress {
		if err := s.becomePrimary(); err != nil {
			s.log.Warn("FAILOVER abort: back to primary failed", "err", err)
		}
	}
	s.clearFailover()
}
