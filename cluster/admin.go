package cluster

import (
	"strings"
	"time"
)

// View returns the members as the catalog knows them, with gossip's
// health and offsets.
func (n *Node) View() View {
	st, _ := n.fsm.state()
	v := View{Myself: n.cfg.ID, CurrentEpoch: st.MaxEpoch()}
	sh := st.Shard(0)
	if sh != nil {
		v.MyEpoch = sh.WriterEpoch
		v.OK = n.health(sh.PrimaryID) != Failed
	}
	n.mu.Lock()
	metas := make(map[string]nodeMeta, len(n.mu.metas))
	for k, m := range n.mu.metas {
		metas[k] = m
	}
	n.mu.Unlock()
	for _, id := range st.MemberIDs() {
		m := st.Members[id]
		nv := NodeView{ID: id, IP: m.IP, Port: m.Port, BusPort: m.BusPort, Myself: id == n.cfg.ID, Health: n.health(id)}
		nv.Linked = nv.Myself || nv.Health != Failed
		if s := st.Shard(m.Shard); s != nil {
			nv.Epoch = s.WriterEpoch
			if s.PrimaryID == id {
				nv.Primary = true
				nv.Slots = append([]SlotRange(nil), s.Slots...)
			} else {
				nv.PrimaryID = s.PrimaryID
			}
		}
		if nv.Myself {
			nv.Offset = n.repl.Offset()
		} else {
			nv.Offset = metas[id].Offset
			if nv.Linked {
				nv.PongRecv = time.Now().UnixMilli()
			}
		}
		v.Nodes = append(v.Nodes, nv)
	}
	if len(v.Nodes) == 0 {
		v.Nodes = append(v.Nodes, NodeView{ID: n.cfg.ID, IP: n.cfg.IP, Port: n.cfg.Port, BusPort: n.cfg.BusPort, Myself: true, Linked: true, Offset: n.repl.Offset()})
	}
	return v
}

// Meet joins the gossip of the member at host:busPort.
func (n *Node) Meet(host string, port, busPort int) error {
	if n.ml == nil {
		return errf("This instance has cluster support disabled")
	}
	if _, err := n.ml.Join([]string{joinHostPort(host, busPort)}); err != nil {
		if strings.Contains(err.Error(), "belongs to cluster") {
			// NB: a node that bootstrapped its own catalog cannot adopt
			// another; it joins one only from an empty data folder.
			return errf("The node at %s:%d belongs to another cluster: a node joins a cluster from an empty data folder with cluster-join", host, port)
		}
		return errf("Invalid node address specified: %s:%d", host, port)
	}
	return nil
}

// Forget removes member id from the catalog; gossip will not re-add it for
// a minute.
func (n *Node) Forget(id string) error {
	st, _ := n.fsm.state()
	if id == n.cfg.ID {
		return errf("I tried hard but I can't forget myself...")
	}
	if st.Members[id] == nil {
		return errf("Unknown node %s", id)
	}
	if sh := st.Shard(0); sh != nil && sh.PrimaryID == id {
		if !n.primary.Load() {
			return errf("Can't forget my master!")
		}
		return errf("Can't forget the primary of a shard")
	}
	resp, err := n.leaderCall(&rpcRequest{Op: rpcApply, Command: &command{Op: opForget, ID: id}}, rpcTimeout)
	if err != nil {
		return &Error{Code: "TRYAGAIN", Msg: "the cluster catalog is not reachable: " + err.Error()}
	}
	if resp.Err != "" {
		return errf("%s", resp.Err)
	}
	// Forgotten here too before the reply: the replication link, and the
	// member in this node's copy of the catalog.
	n.repl.Forget(id)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, _ := n.fsm.state(); st.Members[id] == nil {
			break
		}
	}
	return nil
}

// Replicate makes this node a replica of primary id. In a single-shard
// cluster every member already replicates the shard's primary.
func (n *Node) Replicate(id string) error {
	st, _ := n.fsm.state()
	if id == n.cfg.ID {
		return errf("Can't replicate myself")
	}
	if st.Members[id] == nil {
		return errf("Unknown node %s", id)
	}
	sh := st.Shard(st.Members[id].Shard)
	if sh == nil || sh.PrimaryID != id {
		return errf("I can only replicate a master, not a replica.")
	}
	if sh.PrimaryID == n.cfg.ID {
		return errf("To set a master the node must be empty and without assigned slots.")
	}
	return nil
}

// Reset is CLUSTER RESET; a member of a multi-node catalog leaves it
// through CLUSTER FORGET on the others instead.
func (n *Node) Reset(hard bool) error {
	st, _ := n.fsm.state()
	if len(st.Members) > 1 {
		return errf("CLUSTER RESET of a member of a multi-node cluster is not supported; CLUSTER FORGET it on the other members")
	}
	return nil
}

// ReplicaMembers lists the members that gossip last said replicate this
// node while the catalog names it primary: WAITALL expects them, whether
// they are connected, suspected or failed, until they are forgotten.
func (n *Node) ReplicaMembers() []string {
	if !n.primary.Load() {
		return nil
	}
	st, _ := n.fsm.state()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, id := range st.MemberIDs() {
		if m, ok := n.mu.metas[id]; ok && id != n.cfg.ID && m.Role == "s" && m.Primary == n.cfg.ID {
			out = append(out, id)
		}
	}
	return out
}

// WaitFence is checked before WAITALL reports success: a primary that
// lost its lease meanwhile answers with the fencing error instead.
func (n *Node) WaitFence() error {
	if n.Serving() {
		return nil
	}
	return n.Fenced(-1)
}

// Stats are the node's cluster counters for INFO.
type Stats struct {
	Failovers, BumpAttempts, BumpConflicts, BumpTimeouts, Fenced int64
	Leader                                                       bool
	AppliedIndex                                                 uint64
}

// Stats returns the node's cluster counters.
func (n *Node) Stats() Stats {
	_, idx := n.fsm.state()
	return Stats{
		Failovers:     n.stats.failovers.Load(),
		BumpAttempts:  n.stats.bumpAttempts.Load(),
		BumpConflicts: n.stats.bumpConflicts.Load(),
		BumpTimeouts:  n.stats.bumpTimeouts.Load(),
		Fenced:        n.stats.fenced.Load(),
		Leader:        n.leaderReady(),
		AppliedIndex:  idx,
	}
}
