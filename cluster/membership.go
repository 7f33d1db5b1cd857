package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/memberlist"
)

// Membership: joining gossip, the metadata this node gossips, what gossip
// says of the others, and the peers file a restarted node rejoins from.

func (n *Node) startGossip() error {
	c := gossipConfig(n.cfg.NodeTimeout)
	c.Name = n.cfg.ID
	c.BindAddr, c.BindPort = n.cfg.BindIP, n.cfg.BusPort
	c.AdvertiseAddr, c.AdvertisePort = n.cfg.IP, n.cfg.BusPort
	c.LogOutput = &slogWriter{log: n.log, what: "gossip"}
	if len(n.cfg.GossipKey) > 0 {
		c.SecretKey = n.cfg.GossipKey
	}
	t, err := newFaultTransport(n.cfg.BindIP, n.cfg.BusPort, c.LogOutput)
	if err != nil {
		return fmt.Errorf("cluster: gossip port: %w", err)
	}
	n.trans = t
	c.Transport = t
	n.del = &delegate{kick: n.kick}
	n.del.setMeta(n.localMeta())
	c.Delegate, c.Events, c.Alive, c.Merge = n.del, n.del, n.del, n.del
	ml, err := memberlist.Create(c)
	if err != nil {
		t.Shutdown()
		return fmt.Errorf("cluster: gossip: %w", err)
	}
	n.ml = ml
	return nil
}

func (n *Node) localMeta() nodeMeta {
	m := nodeMeta{Port: n.cfg.Port, Catalog: n.cfg.CatalogPort, Offset: n.repl.Offset(), Epoch: n.epoch.Load(), Build: n.cfg.Build,
		Reads: storageReads, Writes: storageWrites}
	if id := n.del.cluster.Load(); id != nil {
		m.Cluster = *id
	}
	if r := n.routes.Load(); r != nil && len(r.Shards) > 0 {
		if r.Shards[0].Local {
			m.Role = "m"
		} else {
			m.Role, m.Primary = "s", r.Shards[0].PrimaryID
		}
	}
	return m
}

// updateMeta gossips this node's metadata when its role or epoch changed,
// and its offset at most once a second.
func (n *Node) updateMeta(*State) {
	m := n.localMeta()
	n.del.mu.Lock()
	old, _ := decodeMeta(n.del.meta)
	n.del.mu.Unlock()
	roleChanged := old.Role != m.Role || old.Primary != m.Primary || old.Epoch != m.Epoch || old.Cluster != m.Cluster
	if !roleChanged && (old.Offset == m.Offset || time.Since(n.metaAt) < time.Second) {
		return
	}
	if n.del.setMeta(m) {
		n.metaAt = time.Now()
		if err := n.ml.UpdateNode(n.tick()); err != nil {
			n.log.Debug("gossip metadata update", "err", err)
		}
	}
}

// observeGossip records the members' metadata and who was seen alive.
func (n *Node) observeGossip() {
	members := n.del.snapshot()
	n.mu.Lock()
	defer n.mu.Unlock()
	alive := 0
	for _, m := range members {
		if meta, ok := decodeMeta(m.Meta); ok {
			n.mu.metas[m.Name] = meta
		}
		if m.State == memberlist.StateAlive {
			n.mu.seen[m.Name] = true
			alive++
		}
	}
	if alive > 1 && n.joined.Load() == 0 {
		n.joined.Store(mono())
	}
}

// health is what gossip says of member id now.
func (n *Node) health(id string) Health {
	if id == n.cfg.ID || n.ml == nil {
		return Alive
	}
	if m, ok := n.del.lookup(id); ok {
		switch m.State {
		case memberlist.StateAlive:
			return Alive
		case memberlist.StateSuspect:
			return Suspect
		}
		return Failed
	}
	// Absent: not met yet since this node started.
	n.mu.Lock()
	seen := n.mu.seen[id]
	n.mu.Unlock()
	j := n.joined.Load()
	if seen || (j != 0 && time.Duration(mono()-j) > 2*n.cfg.NodeTimeout) {
		return Failed
	}
	return Suspect
}

// joinLoop joins gossip through the configured and remembered members,
// and again whenever this node finds itself alone.
func (n *Node) joinLoop() {
	defer n.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		if n.ml.NumMembers() < 2 {
			addrs := n.joinAddrs()
			if len(addrs) > 0 {
				if got, err := n.ml.Join(addrs); err == nil && got > 0 {
					n.log.Info("joined the cluster's gossip", "contacted", got)
					backoff = 100 * time.Millisecond
				} else {
					backoff = min(2*backoff, 5*time.Second)
				}
			}
		}
		select {
		case <-n.stop:
			return
		case <-time.After(backoff):
		}
	}
}

func (n *Node) joinAddrs() []string {
	seen := map[string]bool{joinHostPort(n.cfg.IP, n.cfg.BusPort): true}
	var out []string
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, a := range n.cfg.Join {
		add(a)
	}
	if b, err := os.ReadFile(n.peersFile()); err == nil {
		var addrs []string
		if json.Unmarshal(b, &addrs) == nil {
			for _, a := range addrs {
				add(a)
			}
		}
	}
	st, _ := n.fsm.state()
	for _, m := range st.Members {
		add(joinHostPort(m.IP, m.BusPort))
	}
	return out
}

func (n *Node) peersFile() string { return filepath.Join(n.cfg.Dir, "peers.json") }

// savePeers keeps the gossip addresses of the catalog's members in the
// data folder, so a restarted node rejoins without cluster-join.
func (n *Node) savePeers(st *State) {
	var addrs []string
	for _, id := range st.MemberIDs() {
		if id != n.cfg.ID {
			m := st.Members[id]
			addrs = append(addrs, joinHostPort(m.IP, m.BusPort))
		}
	}
	sort.Strings(addrs)
	b, _ := json.Marshal(addrs)
	n.mu.Lock()
	same := n.mu.peers == string(b)
	n.mu.peers = string(b)
	n.mu.Unlock()
	if same || len(addrs) == 0 {
		return
	}
	tmp := n.peersFile() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err == nil {
		os.Rename(tmp, n.peersFile())
	}
}
