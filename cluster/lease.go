package cluster

import (
	"sync/atomic"
	"time"
)

// lease is the primary's permission to acknowledge: it holds until a time
// on the monotonic clock, measured from before the renewal was sent, for
// one writer epoch. It is never persisted: a restarted primary renews
// before it serves.
type lease struct {
	until atomic.Int64 // mono ns
	epoch atomic.Uint64
}

func (l *lease) drop() { l.until.Store(0) }

// leaseLoop renews this node's lease while the catalog names it primary,
// four times per lease length.
func (n *Node) leaseLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.leaseLen() / 4)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if !n.primary.Load() {
			continue
		}
		epoch := n.epoch.Load()
		sent := mono()
		resp, err := n.leaderCall(&rpcRequest{Op: rpcRenew, From: n.cfg.ID, Shard: 0, Epoch: epoch}, n.leaseLen())
		if err != nil || resp.Err != "" {
			if resp != nil && resp.Shard != nil && resp.Shard.WriterEpoch > epoch {
				n.kick() // the catalog moved on; the loop will follow it
			}
			continue
		}
		n.lease.epoch.Store(epoch)
		n.lease.until.Store(sent + int64(float64(n.leaseLen())*(1-rho)))
		n.metrics.leaseRenewals.Inc()
	}
}

// Serving reports whether this node may acknowledge commands as its
// shard's primary right now: the catalog names it primary and it holds a
// lease for the current writer epoch. The check reads two atomics and the
// monotonic clock.
func (n *Node) Serving() bool {
	return n.primary.Load() && n.lease.epoch.Load() == n.epoch.Load() && mono() < n.lease.until.Load()
}

// Fenced returns the error a primary without a lease answers: MOVED to the
// primary the catalog names when that is another node, CLUSTERDOWN
// otherwise. slot is the command's slot, or -1.
func (n *Node) Fenced(slot int) error {
	n.count(&n.stats.fenced, n.metrics.fenced)
	if r := n.routes.Load(); r != nil && slot >= 0 {
		if sh := r.ShardOf(slot); sh != nil && !sh.Local && sh.PrimaryAddr != "" {
			return &Error{Code: "MOVED", Msg: itoa(slot) + " " + sh.PrimaryAddr}
		}
	}
	return &Error{Code: "CLUSTERDOWN", Msg: "The cluster is down"}
}

// ErrFenced is the commit-time error of a primary whose lease lapsed
// between dispatch and commit.
var ErrFenced = &Error{Code: "CLUSTERDOWN", Msg: "The cluster is down"}

// CommitGate is the check storage runs when a batch commits and again
// before a synced commit is acknowledged: nil while this node serves as
// primary (or is not a primary at all: a replica's own writes are its
// business), ErrFenced once the lease lapsed.
func (n *Node) CommitGate() error {
	if !n.primary.Load() || n.Serving() {
		return nil
	}
	n.count(&n.stats.fenced, n.metrics.fenced)
	return ErrFenced
}
