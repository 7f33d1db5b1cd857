package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shoaldb/shoal/internal/netfault"
)

// nodeMeta is what a member gossips about itself (memberlist caps it at
// 512 bytes; this stays under 200). It only hints: roles and epochs are
// decided by the catalog.
type nodeMeta struct {
	Port    int    `json:"p"`
	Catalog int    `json:"c"`
	Role    string `json:"r"` // "m" primary, "s" replica, "" not yet placed
	Primary string `json:"m,omitempty"`
	Offset  int64  `json:"o"`
	Epoch   uint64 `json:"e"`
	Build   string `json:"v,omitempty"`
	// Cluster is the member's catalog's ClusterID, "" while its catalog
	// is empty (a node joining).
	Cluster string `json:"k,omitempty"`
	// Reads and Writes are the storage formats the member's build reads
	// and writes (formats.go).
	Reads  []int `json:"fr,omitempty"`
	Writes []int `json:"fw,omitempty"`
}

func decodeMeta(b []byte) (nodeMeta, bool) {
	var m nodeMeta
	if len(b) == 0 || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}

// gossipConfig maps cluster-node-timeout onto memberlist's failure
// detector: a member that stops answering is suspected within about a
// tenth of the timeout and declared dead at about three quarters of it,
// so failover can start inside the timeout. With fewer members than the
// suspicion multiplier no confirmations are awaited and the suspicion
// lasts exactly SuspicionMult probe intervals.
func gossipConfig(timeout time.Duration) *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	probe := max(timeout/10, 20*time.Millisecond)
	c.ProbeInterval = probe
	c.ProbeTimeout = probe / 2
	c.SuspicionMult = 5
	c.SuspicionMaxTimeoutMult = 2
	c.IndirectChecks = 2
	c.GossipInterval = min(200*time.Millisecond, max(probe/2, 10*time.Millisecond))
	c.GossipNodes = 3
	c.RetransmitMult = 3
	c.TCPTimeout = max(timeout/2, 200*time.Millisecond)
	c.PushPullInterval = max(5*time.Second, 2*timeout)
	c.GossipToTheDeadTime = max(30*time.Second, 4*timeout)
	c.DeadNodeReclaimTime = timeout
	c.AwarenessMaxMultiplier = 2
	return c
}

// delegate is memberlist's Delegate and EventDelegate. Its methods never
// block: events only record and kick the node's loop.
type delegate struct {
	mu   sync.Mutex
	meta []byte
	kick func()
	// cluster is this node's ClusterID ("" while its catalog is empty).
	cluster atomic.Pointer[string]

	mmu     sync.Mutex
	members map[string]member
}

// NotifyMerge refuses to merge gossip with members of another cluster
// (a join or push/pull with them fails).
func (d *delegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if err := d.NotifyAlive(p); err != nil {
			return err
		}
	}
	return nil
}

// NotifyAlive refuses a member of another cluster: two catalogs never
// share gossip. A member whose catalog is empty (joining) is welcome.
func (d *delegate) NotifyAlive(peer *memberlist.Node) error {
	mine := d.cluster.Load()
	if mine == nil || *mine == "" {
		return nil
	}
	if m, ok := decodeMeta(peer.Meta); ok && m.Cluster != "" && m.Cluster != *mine {
		return fmt.Errorf("member %s belongs to cluster %s, not %s", peer.Name, m.Cluster, *mine)
	}
	return nil
}

func (d *delegate) setMeta(m nodeMeta) bool {
	b, _ := json.Marshal(m)
	d.mu.Lock()
	defer d.mu.Unlock()
	if string(b) == string(d.meta) {
		return false
	}
	d.meta = b
	return true
}

func (d *delegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.meta) > limit {
		return nil
	}
	return append([]byte(nil), d.meta...)
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

// NB: memberlist's Members() hands out pointers to nodes it keeps
// changing under its own lock, so reading them races. The events run under
// that lock: the delegate copies what it needs there and the node reads
// only the copies.
func (d *delegate) NotifyJoin(n *memberlist.Node)   { d.record(n, memberlist.StateAlive) }
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.record(n, memberlist.StateAlive) }

// NotifyLeave reports a member dead or gone. NB: the Node it is given may
// still say alive (memberlist keeps the state it acts on beside it).
func (d *delegate) NotifyLeave(n *memberlist.Node) { d.record(n, memberlist.StateDead) }

// member is a copy of what gossip last said of a node.
type member struct {
	Name  string
	IP    string
	Port  int // gossip port
	Meta  []byte
	State memberlist.NodeStateType
}

func (d *delegate) record(n *memberlist.Node, state memberlist.NodeStateType) {
	m := member{Name: n.Name, IP: n.Addr.String(), Port: int(n.Port), Meta: append([]byte(nil), n.Meta...), State: state}
	d.mmu.Lock()
	if d.members == nil {
		d.members = map[string]member{}
	}
	d.members[m.Name] = m
	d.mmu.Unlock()
	d.kick()
}

// snapshot returns every node gossip reported, dead ones included (the
// map forgets none: the catalog decides who is a member).
func (d *delegate) snapshot() []member {
	d.mmu.Lock()
	defer d.mmu.Unlock()
	out := make([]member, 0, len(d.members))
	for _, m := range d.members {
		out = append(out, m)
	}
	return out
}

// lookup returns what gossip last said of name.
func (d *delegate) lookup(name string) (member, bool) {
	d.mmu.Lock()
	defer d.mmu.Unlock()
	m, ok := d.members[name]
	return m, ok
}

// faultTransport is memberlist's network transport with netfault's drops
// applied: packets to and from a dropped address and streams to it are
// discarded.
type faultTransport struct {
	*memberlist.NetTransport
	packets chan *memberlist.Packet
	stop    chan struct{}
}

func newFaultTransport(bind string, port int, logOut io.Writer) (*faultTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{bind},
		BindPort:  port,
		Logger:    log.New(logOut, "", 0),
	})
	if err != nil {
		return nil, err
	}
	t := &faultTransport{NetTransport: nt, packets: make(chan *memberlist.Packet), stop: make(chan struct{})}
	go t.filter()
	return t, nil
}

func (t *faultTransport) filter() {
	for {
		select {
		case p := <-t.NetTransport.PacketCh():
			if netfault.Dropped(p.From.String()) {
				continue
			}
			select {
			case t.packets <- p:
			case <-t.stop:
				return
			}
		case <-t.stop:
			return
		}
	}
}

func (t *faultTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *faultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if netfault.Dropped(addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}

func (t *faultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if netfault.Dropped(addr) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: netfault.ErrDropped}
	}
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return netfault.Track(c, addr), nil
}

func (t *faultTransport) Shutdown() error {
	close(t.stop)
	return t.NetTransport.Shutdown()
}

func joinHostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// NB: NetTransport is node-aware; its address-based methods are promoted
// through the embedding and must apply the drops too.

func (t *faultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *faultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}
