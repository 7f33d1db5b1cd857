package replication

import (
	"errors"
	"time"
)

// ErrClosed ends a wait because the server is closing.
var ErrClosed = errors.New("replication: server closing")

// waiter is the loop shared by WAIT, WAITAOF and WAITALL: evaluate, and
// while not satisfied, ask replicas to acknowledge once and wait for the
// next acknowledgement, the timeout, a cancel (the client went away or was
// unblocked: answered as a timeout), the manager closing or a demotion.
type waiter struct {
	m        *Manager
	done     <-chan struct{}
	timeout  time.Duration
	block    bool
	deadline <-chan time.Time
	timer    *time.Timer
	demoted  <-chan struct{}
	asked    bool
}

func (m *Manager) newWaiter(done <-chan struct{}, timeout time.Duration, block bool) *waiter {
	w := &waiter{m: m, done: done, timeout: timeout, block: block, demoted: m.Demoted()}
	if block && timeout > 0 {
		w.timer = time.NewTimer(timeout)
		w.deadline = w.timer.C
	}
	return w
}

func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// next waits for something to change; it returns false at the timeout.
func (w *waiter) next(ch <-chan struct{}) (bool, error) {
	if !w.asked {
		w.m.RequestAcks()
		w.asked = true
	}
	select {
	case <-ch:
		return true, nil
	case <-w.deadline:
		return false, nil
	case <-w.done:
		return false, nil
	case <-w.m.stop:
		return false, ErrClosed
	case <-w.demoted:
		return false, ErrUnblocked
	}
}

// Written is where a client's writes end in each of the node's streams:
// Shoal's log, which Shoal replicas follow, and the logical stream fed to
// redis-server replicas (redisfeed.go).
type Written struct{ Log, Fed int64 }

// countAcked counts online replicas, Shoal's and redis-servers, whose
// acknowledged (or, with fsynced, fsynced) offset reached woff.
func (m *Manager) countAcked(woff Written, fsynced bool) int {
	n := m.countFed(woff.Fed, fsynced, nil)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.links {
		if !l.connected || l.stateName() != stateOnline {
			continue
		}
		off := l.ack.Load()
		if fsynced {
			off = l.fack.Load()
		}
		if off >= woff.Log {
			n++
		}
	}
	return n
}

// Wait is WAIT: it returns once n replicas acknowledged woff, or at the
// timeout (0: never) with the count so far. block false answers at once
// (inside MULTI). Closing done ends the wait early as a timeout would.
func (m *Manager) Wait(done <-chan struct{}, woff Written, n int, timeout time.Duration, block bool) (int, error) {
	start := time.Now()
	w := m.newWaiter(done, timeout, block)
	defer w.stop()
	for {
		ch := m.acked()
		got := m.countAcked(woff, false)
		if got >= n || !block {
			m.metrics.done("wait", resultOf(block, true), start)
			return got, nil
		}
		more, err := w.next(ch)
		if err != nil {
			m.metrics.done("wait", "error", start)
			return got, err
		}
		if !more {
			m.metrics.done("wait", "timeout", start)
			return m.countAcked(woff, false), nil
		}
	}
}

// WaitAOF is WAITAOF: local is 1 once this node fsynced woff, replicas is
// the count of replicas that fsynced it.
func (m *Manager) WaitAOF(done <-chan struct{}, woff Written, numLocal, numReplicas int, timeout time.Duration, block bool) (local, replicas int, err error) {
	start := time.Now()
	w := m.newWaiter(done, timeout, block)
	defer w.stop()
	syncing := false
	for {
		ch := m.acked()
		local = 0
		if m.store.SyncedOffset() >= woff.Log {
			local = 1
		}
		replicas = m.countAcked(woff, true)
		if (local >= numLocal && replicas >= numReplicas) || !block {
			m.metrics.done("waitaof", resultOf(block, true), start)
			return local, replicas, nil
		}
		if local < numLocal && !syncing {
			syncing = true
			go func() {
				// Sync now rather than at the next everysec tick.
				m.store.Sync()
				m.notifyAck()
			}()
		}
		more, err := w.next(ch)
		if err != nil {
			m.metrics.done("waitaof", "error", start)
			return local, replicas, err
		}
		if !more {
			m.metrics.done("waitaof", "timeout", start)
			local = 0
			if m.store.SyncedOffset() >= woff.Log {
				local = 1
			}
			return local, m.countAcked(woff, true), nil
		}
	}
}

// WaitAll is WAITALL: expected is the set of replicas known when the call
// starts (connected ones, ones disconnected within the grace period, and
// the members cluster gossip says replicate this primary, not counting
// those that left or were forgotten; the redis-server replicas online),
// at least the configured floor; acked
// counts the members of that set that acknowledged woff, including a
// member that connects during the wait. Replicas that attach later change
// neither number; one forgotten while the call waits leaves the set.
func (m *Manager) WaitAll(done <-chan struct{}, woff Written, timeout time.Duration, block bool) (acked, expected int, err error) {
	start := time.Now()
	viaLink := map[string]*link{}
	m.mu.Lock()
	for _, l := range m.knownLocked(start) {
		viaLink[l.id] = l
	}
	m.mu.Unlock()
	viaGossip := map[string]bool{}
	for _, id := range m.memberIDs() {
		if viaLink[id] == nil {
			viaGossip[id] = true
		}
	}
	fed := m.fedOnline()
	floor := m.config().WaitAllMin
	eval := func() (int, int) {
		nfed := m.countFed(woff.Fed, false, fed)
		var members map[string]bool
		if len(viaGossip) > 0 {
			members = map[string]bool{}
			for _, id := range m.memberIDs() {
				members[id] = true
			}
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		n := 0
		for id, l := range viaLink {
			if m.links[id] != l || l.left {
				delete(viaLink, id) // forgotten or left while waiting
				continue
			}
			if l.ack.Load() >= woff.Log {
				n++
			}
		}
		for id := range viaGossip {
			l := m.links[id]
			if !members[id] && (l == nil || !l.connected) {
				delete(viaGossip, id) // forgotten while waiting
				continue
			}
			if l != nil && l.connected && l.stateName() == stateOnline && l.ack.Load() >= woff.Log {
				n++
			}
		}
		return n + nfed, max(len(viaLink)+len(viaGossip)+len(fed), floor)
	}
	w := m.newWaiter(done, timeout, block)
	defer w.stop()
	for {
		ch := m.acked()
		acked, expected = eval()
		if acked == expected || !block {
			m.metrics.done("waitall", resultOf(block, acked == expected), start)
			return acked, expected, m.fenceErr()
		}
		more, err := w.next(ch)
		if err != nil {
			m.metrics.done("waitall", "error", start)
			return acked, expected, err
		}
		if !more {
			acked, expected = eval()
			m.metrics.done("waitall", "timeout", start)
			return acked, expected, m.fenceErr()
		}
	}
}

// fenceErr is the fence's verdict, nil without one.
func (m *Manager) fenceErr() error {
	if fn := m.fence.Load(); fn != nil {
		return (*fn)()
	}
	return nil
}

func resultOf(block, ok bool) string {
	switch {
	case !block:
		return "nonblocking"
	case ok:
		return "satisfied"
	}
	return "timeout"
}
