package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"

	"github.com/shoaldb/shoal/internal/failpoint"
)

// leaderState is what the catalog leader keeps beside the catalog: when it
// became leader, the leases it granted and the shards whose leases it is
// waiting out. It is lost with leadership; a new leader starts by waiting
// out any lease its predecessor may have granted.
type leaderState struct {
	notify <-chan bool
	mu     sync.Mutex
	gen    int64 // leadership generation
	ready  bool  // leader, and the catalog applied up to its term (Barrier)
	since  int64 // mono ns when this leadership began
	// lastGrant is when this leader last renewed each shard's lease, and
	// for which writer epoch; fenced counts the changes of primary
	// waiting out a shard's lease, during which no renewal is granted.
	lastGrant map[int]grant
	fenced    map[int]int
	// banned holds forgotten members that gossip must not re-add for a
	// minute, as Redis's CLUSTER FORGET ban list.
	banned map[string]time.Time
}

func (n *Node) leaderReady() bool {
	n.leader.mu.Lock()
	defer n.leader.mu.Unlock()
	return n.leader.ready
}

// leaderLoop follows raft's leadership changes. A new leader first applies
// a barrier, so the catalog it reads is current, before it serves leases
// or changes anything.
func (n *Node) leaderLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case isLeader := <-n.leader.notify:
			n.leader.mu.Lock()
			n.leader.gen++
			gen := n.leader.gen
			n.leader.ready = false
			if isLeader {
				n.leader.since = mono()
				clear(n.leader.lastGrant)
			}
			n.leader.mu.Unlock()
			n.metrics.leader.Set(b2f(isLeader))
			if !isLeader {
				n.log.Info("catalog leadership lost")
				continue
			}
			n.log.Info("catalog leadership gained")
			go func() {
				err := n.raft.Barrier(10 * time.Second).Error()
				n.leader.mu.Lock()
				if err == nil && n.leader.gen == gen {
					n.leader.ready = true
				}
				n.leader.mu.Unlock()
				n.kick()
			}()
		}
	}
}

// apply commits one catalog command through raft (leader only).
func (n *Node) apply(c *command) (*applyResult, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	f := n.raft.Apply(b, 10*time.Second)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, ErrNotLeader
		}
		return nil, err
	}
	res, _ := f.Response().(*applyResult)
	if res == nil {
		res = &applyResult{}
	}
	return res, nil
}

// leaderCall sends req to the catalog leader, or handles it here when this
// node leads.
func (n *Node) leaderCall(req *rpcRequest, timeout time.Duration) (*rpcResponse, error) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return nil, ErrNoLeader
	}
	if string(id) == n.cfg.ID {
		resp := n.handleRPC(req)
		if resp == nil {
			return nil, errors.New("cluster: reply dropped")
		}
		if resp.NotLeader {
			return resp, ErrNotLeader
		}
		return resp, nil
	}
	return call(string(addr), req, timeout)
}

// handleRPC answers a catalog request; nil drops the reply.
func (n *Node) handleRPC(req *rpcRequest) *rpcResponse {
	switch req.Op {
	case rpcOffset:
		resp := &rpcResponse{Offset: n.repl.Offset(), Replica: n.repl.IsReplica()}
		if req.Primary != "" {
			resp.Alive = n.health(req.Primary) == Alive
		}
		return resp
	case rpcPause:
		if !n.primary.Load() {
			return &rpcResponse{Err: "not a primary"}
		}
		n.repl.PauseWrites(time.Duration(req.Millis) * time.Millisecond)
		return &rpcResponse{Offset: n.repl.Offset()}
	}
	if !n.leaderReady() {
		return &rpcResponse{NotLeader: true}
	}
	switch req.Op {
	case rpcRenew:
		return n.grantLease(req)
	case rpcRead:
		if err := n.raft.VerifyLeader().Error(); err != nil {
			return &rpcResponse{NotLeader: true}
		}
		st, _ := n.fsm.state()
		return &rpcResponse{Shard: st.Shard(req.Shard)}
	case rpcCAS:
		return n.serveCAS(req.CAS)
	case rpcApply:
		if req.Command == nil || req.Command.Op == opCAS {
			return &rpcResponse{Err: "bad catalog command"}
		}
		if req.Command.Op == opForget {
			n.leader.mu.Lock()
			n.leader.banned[req.Command.ID] = time.Now().Add(time.Minute)
			n.leader.mu.Unlock()
		}
		res, err := n.apply(req.Command)
		if err != nil {
			return &rpcResponse{NotLeader: errors.Is(err, ErrNotLeader), Err: errText(err)}
		}
		if req.Command.Op == opForget && res.Err == "" {
			n.raft.RemoveServer(raft.ServerID(req.Command.ID), 0, 5*time.Second)
		}
		return &rpcResponse{Err: res.Err, Data: res.Data}
	}
	return &rpcResponse{Err: "unknown request " + req.Op}
}

// grantLease renews the lease of a shard's primary: only for the primary
// and epoch the catalog names, never while a change of primary waits the
// lease out, and only after a quorum confirmed this node still leads.
func (n *Node) grantLease(req *rpcRequest) *rpcResponse {
	st, _ := n.fsm.state()
	sh := st.Shard(req.Shard)
	if sh == nil || sh.PrimaryID != req.From || sh.WriterEpoch != req.Epoch {
		return &rpcResponse{Err: "stale primary", Shard: sh}
	}
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return &rpcResponse{NotLeader: true}
	}
	n.leader.mu.Lock()
	defer n.leader.mu.Unlock()
	if n.leader.fenced[req.Shard] > 0 {
		return &rpcResponse{Err: "primary change in progress", Shard: sh}
	}
	n.leader.lastGrant[req.Shard] = grant{at: mono(), epoch: sh.WriterEpoch}
	return &rpcResponse{Shard: sh}
}

// grant is a lease renewal the leader granted.
type grant struct {
	at    int64 // mono ns
	epoch uint64
}

// errPrimaryRenews refuses an automatic failover of a primary that
// renewed its lease within the last lease length: it reaches this leader,
// and through it a quorum, whatever the gossip of the members that asked
// for the failover says.
const errPrimaryRenews = "the primary still renews its lease"

// serveCAS applies a compare-and-swap of a shard record. An automatic
// failover (r.Lapsed) is refused while the primary it replaces renewed
// its lease within the last lease length. A swap that
// changes the primary first stops renewing the shard's lease and waits
// until any lease this leader (or a predecessor) granted has expired, so
// the old primary acknowledges nothing once the new one is installed.
func (n *Node) serveCAS(r *casReq) *rpcResponse {
	if r == nil {
		return &rpcResponse{Err: "bad request"}
	}
	st, _ := n.fsm.state()
	cur := st.Shard(r.Shard)
	curVersion := uint64(0)
	if cur != nil {
		curVersion = cur.Version
	}
	if curVersion != r.Expect || failpoint.Eval("catalog/cas") == "conflict" {
		return &rpcResponse{Conflict: true, Shard: cur}
	}
	if cur != nil && cur.PrimaryID != r.Primary {
		n.leader.mu.Lock()
		last := n.leader.lastGrant[r.Shard]
		if r.Lapsed && last.epoch == cur.WriterEpoch && mono()-last.at < int64(n.leaseLen()) {
			n.leader.mu.Unlock()
			return &rpcResponse{Err: errPrimaryRenews, Shard: cur}
		}
		n.leader.fenced[r.Shard]++
		from := max(last.at, n.leader.since)
		n.leader.mu.Unlock()
		defer func() {
			n.leader.mu.Lock()
			n.leader.fenced[r.Shard]--
			n.leader.mu.Unlock()
		}()
		wait := time.Duration(from-mono()) + time.Duration(float64(n.leaseLen())*(1+rho)) + n.delta()
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-n.stop:
				return &rpcResponse{Err: "shutting down"}
			}
		}
	}
	res, err := n.apply(&command{Op: opCAS, CAS: r})
	if err != nil {
		return &rpcResponse{NotLeader: errors.Is(err, ErrNotLeader), Err: errText(err)}
	}
	if failpoint.Eval("catalog/cas-reply") == "drop" {
		return nil
	}
	return &rpcResponse{Err: res.Err, Conflict: res.Conflict, Shard: res.Shard}
}

// leaderReconcile is the leader's share of the loop: create the shard of a
// new cluster, register members gossip found, and keep raft's voters in
// step with the catalog's members.
func (n *Node) leaderReconcile(st *State) {
	if st.Shard(0) == nil {
		res, err := n.apply(&command{Op: opCAS, CAS: &casReq{Shard: 0, Expect: 0, WriterEpoch: 1, Primary: n.cfg.ID, Nonce: newNonce()}})
		if err == nil && res.Shard != nil {
			n.log.Warn("role change: this node is primary of a new cluster", "epoch", res.Shard.WriterEpoch)
		}
		if _, err := n.apply(&command{Op: opJoin, Member: n.selfMember(0)}); err != nil {
			n.log.Warn("registering this node in the catalog", "err", err)
		}
		return
	}
	now := time.Now()
	for _, m := range n.del.snapshot() {
		if m.State != memberlist.StateAlive {
			continue
		}
		meta, ok := decodeMeta(m.Meta)
		if !ok || meta.Port == 0 || meta.Cluster != "" && meta.Cluster != st.ClusterID {
			continue
		}
		n.leader.mu.Lock()
		ban, banned := n.leader.banned[m.Name]
		if banned && now.After(ban) {
			delete(n.leader.banned, m.Name)
			banned = false
		}
		n.leader.mu.Unlock()
		if banned {
			continue
		}
		want := Member{ID: m.Name, IP: m.IP, Port: meta.Port, BusPort: m.Port, CatalogPort: meta.Catalog}
		if old := st.Members[m.Name]; old != nil {
			want.Shard = old.Shard
			if *old == want {
				continue
			}
		}
		if _, err := n.apply(&command{Op: opJoin, Member: &want}); err != nil {
			return
		}
		n.log.Info("member registered in the catalog", "node", m.Name, "addr", joinHostPort(want.IP, want.Port))
	}
	n.syncVoters(st)
}

// leaderChores is the leader's timed work on the admin state, at every
// tick: it does not wait for a catalog change, since time or gossip
// (not the catalog) decides it.
func (n *Node) leaderChores(st *State) {
	if !n.leaderReady() {
		return
	}
	if err := errors.Join(n.expireDeployLocks(st), n.openFormatGate(st)); err != nil {
		n.log.Debug("catalog leader chores", "err", err)
	}
}

func (n *Node) selfMember(shard int) *Member {
	return &Member{ID: n.cfg.ID, IP: n.cfg.IP, Port: n.cfg.Port, BusPort: n.cfg.BusPort, CatalogPort: n.cfg.CatalogPort, Shard: shard}
}

// syncVoters adds the catalog's members to raft, as voters while there are
// fewer than three (five once the cluster has five members), as
// non-voters after that, and removes servers the catalog forgot.
func (n *Node) syncVoters(st *State) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	servers := map[string]raft.Server{}
	voters := 0
	for _, s := range f.Configuration().Servers {
		servers[string(s.ID)] = s
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	target := 3
	if len(st.Members) >= 5 {
		target = 5
	}
	for _, id := range st.MemberIDs() {
		m := st.Members[id]
		addr := raft.ServerAddress(joinHostPort(m.IP, m.CatalogPort))
		s, ok := servers[id]
		if ok && s.Address == addr {
			continue
		}
		var err error
		if ok && s.Suffrage == raft.Voter || !ok && voters < target {
			err = n.raft.AddVoter(raft.ServerID(id), addr, 0, 5*time.Second).Error()
			if !ok && err == nil {
				voters++
			}
		} else {
			err = n.raft.AddNonvoter(raft.ServerID(id), addr, 0, 5*time.Second).Error()
		}
		if err != nil {
			n.log.Warn("adding a member to the catalog's raft", "node", id, "err", err)
			return
		}
		n.log.Info("member added to the catalog's raft", "node", id, "addr", addr)
	}
	for id := range servers {
		if st.Members[id] == nil && id != n.cfg.ID {
			n.raft.RemoveServer(raft.ServerID(id), 0, 5*time.Second)
		}
	}
}

func newNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// propose applies a catalog command through the leader, wherever it is,
// and returns its result: how every admin change enters the catalog.
func (n *Node) propose(c *command) (*rpcResponse, error) {
	if c.At == 0 {
		c.At = time.Now().UnixMilli()
	}
	return n.leaderCall(&rpcRequest{Op: rpcApply, Command: c}, rpcTimeout)
}
