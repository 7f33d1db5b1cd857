package cluster

import (
	"errors"
	"math/rand/v2"
	"time"
)

// ErrSuperseded ends a writer epoch bump whose reason went away: another
// node already replaced the primary it meant to replace.
var ErrSuperseded = errors.New("cluster: the shard's primary changed meanwhile")

// ErrPrimaryRenews ends an automatic failover the catalog's leader
// refused: the primary still renews its lease there.
var ErrPrimaryRenews = errors.New("cluster: " + errPrimaryRenews)

// checkFailover runs on a replica at every tick: when gossip says the
// shard's primary failed, the live replica with the highest replication
// offset (ties to the lowest id) bumps the writer epoch to itself. The
// failure must be seen from a majority of the members, this one
// included, and from none of them the primary alive: a member that was
// cut off, and sees everyone failed until gossip catches up, does not
// replace a primary the others reach.
func (n *Node) checkFailover(st *State, sh *Shard) {
	p := sh.PrimaryID
	if n.health(p) != Failed {
		n.mu.Lock()
		delete(n.mu.failing, p)
		delete(n.mu.refused, p)
		n.mu.Unlock()
		return
	}
	n.mu.Lock()
	if _, ok := n.mu.failing[p]; !ok {
		n.mu.failing[p] = time.Now()
		n.log.Warn("primary failed", "primary", p, "epoch", sh.WriterEpoch)
	}
	n.mu.Unlock()
	if n.failoverHeld(st, p) {
		return // maintenance: no automatic failover until END
	}
	if n.bumping.Load() || n.won.Load() > sh.WriterEpoch {
		return // a bump runs, or won and the catalog has not caught up here
	}
	best, bestOff := n.cfg.ID, n.repl.Offset()
	ids := st.MemberIDs()
	seen := 1 // this member
	var agree []string
	for _, id := range ids {
		m := st.Members[id]
		if id == p || id == n.cfg.ID || n.health(id) != Alive {
			continue
		}
		resp, err := call(joinHostPort(m.IP, m.CatalogPort), &rpcRequest{Op: rpcOffset, Primary: p}, n.tick()*4)
		if err != nil {
			continue
		}
		if resp.Alive {
			return // this member's view is behind
		}
		seen++
		agree = append(agree, id)
		if m.Shard == sh.ID && (resp.Offset > bestOff || resp.Offset == bestOff && id < best) {
			best, bestOff = id, resp.Offset
		}
	}
	if best != n.cfg.ID || 2*seen <= len(ids) {
		return
	}
	n.mu.Lock()
	again := n.mu.refused[p]
	n.mu.Unlock()
	if !again {
		n.log.Warn("starting failover", "failed", p, "offset", bestOff, "epoch", sh.WriterEpoch, "confirmed_by", agree)
	}
	n.promote(p, autoFailover)
}

// autoFailover is promote's reason for a failover that gossip decided.
const autoFailover = "failover"

// promote bumps the writer epoch to this node in the background, for as
// long as the shard's primary is still old. An automatic failover is
// refused while old still renews its lease with the catalog's leader: the
// members that saw it failed saw the view of one cut off until a moment
// ago (gossip spreads a healed member's verdict to the others before the
// primary refutes it), and the next tick asks again.
func (n *Node) promote(old, why string) {
	if !n.bumping.CompareAndSwap(false, true) {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.bumping.Store(false)
		start := time.Now()
		sh, err := n.BumpEpoch(0, why == autoFailover, func(cur *Shard) bool { return cur.PrimaryID == old })
		if errors.Is(err, ErrPrimaryRenews) {
			n.mu.Lock()
			again := n.mu.refused[old]
			n.mu.refused[old] = true
			n.mu.Unlock()
			if !again {
				n.log.Warn("failover refused: the primary still renews its lease", "primary", old)
			}
			return
		}
		if errors.Is(err, ErrSuperseded) {
			n.log.Info("failover not needed: the shard has a new primary", "primary", sh.PrimaryID, "epoch", sh.WriterEpoch)
			return
		}
		if err != nil {
			n.log.Error("writer epoch bump failed", "reason", why, "err", err, "after", time.Since(start))
			return
		}
		n.won.Store(sh.WriterEpoch)
		n.count(&n.stats.failovers, n.metrics.failovers)
		n.log.Warn("writer epoch bumped: promoted", "reason", why, "epoch", sh.WriterEpoch, "took", time.Since(start))
		n.kick()
	}()
}

// BumpEpoch installs this node as shard's primary at the next writer epoch
// by compare-and-swap on the shard's version, in the manner of SlateDB's
// fenceable manifest. On a conflict it re-reads the record; if its own
// nonce is there, an earlier attempt won and only its reply was lost. want
// says whether the bump is still wanted given the current record
// (otherwise ErrSuperseded). Retries back off from 10 ms to 1 s with
// jitter until cluster-epoch-bump-timeout, then ErrEpochBumpTimeout.
// lapsed makes it an automatic failover, which ends with ErrPrimaryRenews
// when the leader finds the primary still renewing its lease.
func (n *Node) BumpEpoch(shard int, lapsed bool, want func(*Shard) bool) (*Shard, error) {
	nonce := newNonce()
	deadline := time.Now().Add(time.Duration(n.bumpTimeout.Load()))
	casTimeout := 2*n.leaseLen() + rpcTimeout
	backoff := 10 * time.Millisecond
	var cur *Shard
	read := func() {
		if resp, err := n.leaderCall(&rpcRequest{Op: rpcRead, Shard: shard}, rpcTimeout); err == nil && resp.Shard != nil {
			cur = resp.Shard
		}
	}
	read()
	for {
		if cur != nil {
			if cur.Nonce == nonce {
				return cur, nil
			}
			if !want(cur) {
				return cur, ErrSuperseded
			}
			n.count(&n.stats.bumpAttempts, n.metrics.bumpAttempts)
			req := &casReq{Shard: shard, Expect: cur.Version, WriterEpoch: cur.WriterEpoch + 1, Primary: n.cfg.ID, Nonce: nonce, Lapsed: lapsed}
			resp, err := n.leaderCall(&rpcRequest{Op: rpcCAS, CAS: req}, casTimeout)
			switch {
			case err == nil && resp.Err == errPrimaryRenews:
				return resp.Shard, ErrPrimaryRenews
			case err == nil && resp.Err == "" && !resp.Conflict && resp.Shard != nil && resp.Shard.Nonce == nonce:
				return resp.Shard, nil
			case err == nil && resp.Conflict:
				n.count(&n.stats.bumpConflicts, n.metrics.bumpConflicts)
				if resp.Shard != nil {
					cur = resp.Shard
				}
			default:
				// No leader, a lost reply or a refused swap: read again to
				// learn whether the swap landed.
				read()
			}
		} else {
			read()
		}
		if cur != nil && cur.Nonce == nonce {
			return cur, nil
		}
		if time.Until(deadline) < backoff {
			n.count(&n.stats.bumpTimeouts, n.metrics.bumpTimeouts)
			return cur, ErrEpochBumpTimeout
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(sleep):
		case <-n.stop:
			return cur, ErrEpochBumpTimeout
		}
		backoff = min(2*backoff, time.Second)
	}
}

// manualFailoverTimeout is how long a manual failover waits for the
// replica to catch up with its paused primary, as Redis's
// CLUSTER_MF_TIMEOUT.
const manualFailoverTimeout = 5 * time.Second

// Failover is CLUSTER FAILOVER on a replica. By default the primary pauses
// its writers, the replica waits until it has the primary's offset and
// then bumps the epoch; FORCE and TAKEOVER bump at once. It returns once
// the failover is scheduled, as Redis does.
func (n *Node) Failover(mode string) error {
	st, _ := n.fsm.state()
	sh := st.Shard(0)
	if sh == nil || sh.PrimaryID == n.cfg.ID {
		return errf("You should send CLUSTER FAILOVER to a replica")
	}
	p := st.Members[sh.PrimaryID]
	if p == nil {
		return errf("I'm a replica but my master is unknown to me")
	}
	if mode == "" && n.health(p.ID) == Failed {
		return errf("Master is down or failed, please use CLUSTER FAILOVER FORCE")
	}
	if n.bumping.Load() {
		return errf("A failover is already in progress")
	}
	if mode != "" {
		n.log.Warn("manual failover", "mode", mode, "primary", p.ID)
		n.promote(p.ID, "manual "+mode)
		return nil
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.log.Warn("manual failover: pausing the primary's writers", "primary", p.ID)
		resp, err := call(joinHostPort(p.IP, p.CatalogPort), &rpcRequest{Op: rpcPause, Millis: int64(2 * manualFailoverTimeout / time.Millisecond)}, rpcTimeout)
		if err != nil || resp.Err != "" {
			n.log.Error("manual failover aborted: the primary did not pause", "err", errors.Join(err, respErr(resp)))
			return
		}
		deadline := time.Now().Add(manualFailoverTimeout)
		for n.repl.Offset() < resp.Offset {
			if time.Now().After(deadline) {
				n.log.Error("manual failover aborted: the replica did not catch up", "have", n.repl.Offset(), "want", resp.Offset)
				return
			}
			select {
			case <-time.After(5 * time.Millisecond):
			case <-n.stop:
				return
			}
		}
		n.promote(p.ID, "manual")
	}()
	return nil
}
