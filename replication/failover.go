package replication

import (
	"github.com/shoaldb/shoal/storage"
)

// FailoverTo makes the node a replica of host:port as FAILOVER's last
// step, as Redis's replicationSetMaster does in it: the first PSYNC names
// what the target replicated from this node (the logical stream for a
// redis-server, the log for a Shoal node) and adds FAILOVER, which asks
// the target to become the primary it then follows. done receives that
// PSYNC's outcome: nil when the target answered +CONTINUE or +FULLRESYNC.
func (m *Manager) FailoverTo(host string, port int) (done <-chan error) {
	ch := make(chan error, 1)
	// NB: the stream is reset once the node follows another: its id and
	// offset are taken first.
	m.feedMu.Lock()
	var resume *storage.UpstreamMark
	if l := m.flog; l != nil {
		resume = &storage.UpstreamMark{ID: l.id, Offset: m.feedOff.Load(), DB: max(l.db, 0)}
	}
	m.feedMu.Unlock()
	m.replicaOf(host, port, func(u *upstream) {
		u.failover, u.resume = ch, resume
	})
	return ch
}

// failoverArgs are PSYNC's last arguments: FAILOVER while the link is a
// failover's.
func (u *upstream) failoverArgs() []string {
	if u.failover != nil {
		return []string{"FAILOVER"}
	}
	return nil
}

// failoverDone reports the outcome of a failover's PSYNC once.
func (u *upstream) failoverDone(err error) {
	if u.failover != nil {
		u.failover <- err
		u.failover = nil
	}
}
