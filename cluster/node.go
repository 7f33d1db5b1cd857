// Package cluster makes Shoal nodes one cluster: memberlist gossip tells
// who is alive, a raft catalog decides who is primary of a shard at which
// writer epoch, a lease fences a primary that lost its role, and replicas
// fail over on their own when their primary dies. It drives replication
// through the narrow Replicator interface and tells the server, through
// Routes and Serving, where a slot lives and whether this node may serve.
package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Replicator is what the cluster asks of the node's replication.
type Replicator interface {
	// IsReplica reports whether the node follows a primary.
	IsReplica() bool
	// Promote makes the node a primary with a new replication history.
	Promote() error
	// Follow makes the node a replica of the primary at host:port.
	Follow(host string, port int)
	// Offset is the node's replication offset.
	Offset() int64
	// PauseWrites holds client writes for d (a manual failover's handover).
	PauseWrites(d time.Duration)
	// Forget drops a replica's link (CLUSTER FORGET).
	Forget(id string)
}

// Config is a node's cluster configuration.
type Config struct {
	// ID is the node's 40-hex id, kept in its data folder.
	ID string
	// Dir holds the catalog (raft log, snapshots) and the known peers.
	Dir string
	// BindIP is the address the gossip and catalog ports listen on; IP is
	// the address announced to members and clients.
	BindIP, IP string
	// Port is the RESP port; BusPort the gossip port (TCP and UDP);
	// CatalogPort the catalog's (raft and catalog requests).
	Port, BusPort, CatalogPort int
	// Join lists gossip addresses of members to join at start.
	Join []string
	// NodeTimeout is cluster-node-timeout.
	NodeTimeout time.Duration
	// EpochBumpTimeout bounds a writer epoch bump's retries.
	EpochBumpTimeout time.Duration
	// GossipKey, when set, encrypts gossip (16, 24 or 32 bytes).
	GossipKey []byte
	// Build is the node's build version, gossiped.
	Build string
	// ComponentLockLease is the lease of a component's deploy lock
	// (component-lock-lease); 0 means 30 s.
	ComponentLockLease time.Duration
	// Functions loads the components of KIND function; without it they
	// are refused.
	Functions FunctionLoader
	// Schema shapes the schema pipeline's retries and resyncs.
	Schema SchemaConfig
	// Standalone runs only a one-voter catalog, on an in-memory raft
	// transport, for a node without cluster-enabled: no gossip, no
	// catalog port, no shard, leases or failover. The admin state lives in
	// it the same way.
	Standalone bool
}

// Node is this process's membership in the cluster. Its exported methods
// are safe for concurrent use.
type Node struct {
	cfg  Config
	log  *slog.Logger
	repl Replicator
	// functions loads KIND function components; nil until the server
	// installs it.
	functions atomic.Pointer[FunctionLoader]

	fsm   *fsm
	raft  *raft.Raft
	bolt  *raftboltdb.BoltStore
	mux   *mux
	ml    *memberlist.Memberlist
	del   *delegate
	trans *faultTransport

	// lease is the primary's write lease (lease.go).
	lease lease
	// leader is the catalog leader's state (leader.go).
	leader leaderState

	routes  atomic.Pointer[Routes]
	epoch   atomic.Uint64 // writer epoch of this node's shard, as last applied
	primary atomic.Bool   // the catalog names this node primary
	joined  atomic.Int64  // mono ns when gossip first saw another member

	mu struct {
		sync.Mutex
		following string               // "ip:port" this node replicates
		metas     map[string]nodeMeta  // last gossiped meta of each member
		seen      map[string]bool      // members seen alive since start
		peers     string               // peers file content last written
		failing   map[string]time.Time // failover bookkeeping (failover.go)
		refused   map[string]bool      // failovers the leader refused, per failing primary
	}
	bumping atomic.Bool
	won     atomic.Uint64 // the writer epoch this node's last bump installed
	// bumpTimeout is cluster-epoch-bump-timeout in ns (CONFIG SET).
	bumpTimeout atomic.Int64
	metaAt      time.Time

	maint  maintNode
	comp   compNode
	schema schemaNode

	metrics *metrics
	stats   struct{ failovers, bumpAttempts, bumpConflicts, bumpTimeouts, fenced atomic.Int64 }
	kickCh  chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
}

// Lease, timing and protocol constants derived from cluster-node-timeout.
func (n *Node) leaseLen() time.Duration { return n.cfg.NodeTimeout / 2 }

// rho bounds the clock rate drift between two nodes; delta is the margin a
// new primary waits beyond the old lease.
const rho = 0.01

func (n *Node) delta() time.Duration { return max(10*time.Millisecond, n.cfg.NodeTimeout/20) }

func (n *Node) tick() time.Duration { return max(n.cfg.NodeTimeout/20, 10*time.Millisecond) }

var monoBase = time.Now()

// mono is nanoseconds on the monotonic clock.
func mono() int64 { return int64(time.Since(monoBase)) }

// New starts the node: the catalog, gossip and the loops that follow them.
// repl is the node's replication; reg receives the cluster's metrics.
func New(cfg Config, repl Replicator, log *slog.Logger, reg prometheus.Registerer) (*Node, error) {
	n := &Node{cfg: cfg, log: log, repl: repl, kickCh: make(chan struct{}, 1), stop: make(chan struct{})}
	n.SetEpochBumpTimeout(cfg.EpochBumpTimeout)
	if cfg.Functions.Load != nil {
		n.SetFunctionLoader(cfg.Functions)
	}
	n.mu.metas = map[string]nodeMeta{}
	n.mu.seen = map[string]bool{}
	n.mu.failing = map[string]time.Time{}
	n.mu.refused = map[string]bool{}
	n.leader.lastGrant = map[int]grant{}
	n.leader.fenced = map[int]int{}
	n.leader.banned = map[string]time.Time{}
	n.metrics = newMetrics(n, reg)
	n.initMaintenance(reg)
	n.initComponents(reg)
	n.initSchema(reg)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := n.startCatalog(); err != nil {
		n.Close()
		return nil, err
	}
	if cfg.Standalone {
		n.wg.Add(2)
		go n.loop()
		go n.leaderLoop()
		return n, nil
	}
	if err := n.startGossip(); err != nil {
		n.Close()
		return nil, err
	}
	n.wg.Add(4)
	go n.loop()
	go n.leaderLoop()
	go n.leaseLoop()
	go n.joinLoop()
	return n, nil
}

func (n *Node) startCatalog() error {
	n.fsm = newFSM(n.catalogChanged)
	logw := &slogWriter{log: n.log, what: "catalog"}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: logw})
	var trans raft.Transport
	var advAddr string
	if n.cfg.Standalone {
		advAddr = "local"
		_, trans = raft.NewInmemTransport(raft.ServerAddress(advAddr))
	} else {
		adv := &net.TCPAddr{IP: net.ParseIP(n.cfg.IP), Port: n.cfg.CatalogPort}
		advAddr = adv.String()
		m, err := listenMux(joinHostPort(n.cfg.BindIP, n.cfg.CatalogPort), adv, func(c net.Conn) { serveRPC(c, n.handleRPC) })
		if err != nil {
			return fmt.Errorf("cluster: catalog port: %w", err)
		}
		n.mux = m
		trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: raftLayer{m}, MaxPool: 3, Timeout: 5 * time.Second, Logger: hl,
		})
	}
	closeTrans := func() {
		if c, ok := trans.(raft.WithClose); ok {
			c.Close()
		}
	}
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(n.cfg.Dir, "raft.db"))
	if err != nil {
		closeTrans()
		return fmt.Errorf("cluster: catalog log: %w", err)
	}
	n.bolt = bolt
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.Dir, 2, hl)
	if err != nil {
		closeTrans()
		return err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.ID)
	ht := max(n.cfg.NodeTimeout/10, 50*time.Millisecond)
	if n.cfg.Standalone {
		ht = 20 * time.Millisecond // one voter: elect it at once
	}
	rc.HeartbeatTimeout, rc.ElectionTimeout = ht, ht
	rc.LeaderLeaseTimeout = ht * 3 / 4
	rc.CommitTimeout = min(max(ht/5, 5*time.Millisecond), 50*time.Millisecond)
	rc.SnapshotThreshold, rc.TrailingLogs = 1024, 1024
	rc.Logger = hl
	notify := make(chan bool, 64)
	rc.NotifyCh = notify
	n.leader.notify = notify
	existing, err := raft.HasExistingState(bolt, bolt, snaps)
	if err != nil {
		closeTrans()
		return err
	}
	r, err := raft.NewRaft(rc, n.fsm, bolt, bolt, snaps, trans)
	if err != nil {
		closeTrans()
		return fmt.Errorf("cluster: catalog: %w", err)
	}
	n.raft = r
	if !existing && len(n.cfg.Join) == 0 {
		adv := raft.ServerAddress(advAddr)
		n.log.Info("bootstrapping a new cluster catalog", "node", n.cfg.ID)
		err := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{
			{Suffrage: raft.Voter, ID: raft.ServerID(n.cfg.ID), Address: adv},
		}}).Error()
		if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return err
		}
	}
	return nil
}

// Close leaves gossip and stops the catalog and every loop.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	n.wg.Wait()
	if n.ml != nil {
		n.ml.Shutdown()
	}
	if n.raft != nil {
		n.raft.Shutdown().Error()
	}
	if n.mux != nil {
		n.mux.close()
	}
	if n.bolt != nil {
		n.bolt.Close()
	}
	return nil
}

// SetEpochBumpTimeout changes cluster-epoch-bump-timeout for the bumps
// that start later.
func (n *Node) SetEpochBumpTimeout(d time.Duration) { n.bumpTimeout.Store(int64(d)) }

// Kick asks the node to compare its role with the catalog now.
func (n *Node) Kick() { n.kick() }

// kick wakes the node's loop; it never blocks.
func (n *Node) kick() {
	select {
	case n.kickCh <- struct{}{}:
	default:
	}
}

// loop turns catalog and gossip changes into this node's role, routes and
// gossiped metadata, and runs failure detection, at every change and every
// tick.
func (n *Node) loop() {
	defer n.wg.Done()
	t := time.NewTicker(n.tick())
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.kickCh:
		case <-t.C:
		}
		n.reconcile()
	}
}

func (n *Node) reconcile() {
	st, idx := n.fsm.state()
	if n.cfg.Standalone {
		n.leaderChores(st)
		n.applyDerived(st, idx)
		return
	}
	n.observeGossip()
	id := st.ClusterID
	n.del.cluster.Store(&id)
	if n.leaderReady() {
		n.leaderReconcile(st)
	}
	n.leaderChores(st)
	sh := st.Shard(0)
	if sh == nil {
		n.routes.Store(nil)
		n.updateMeta(st)
		n.applyDerived(st, idx)
		return
	}
	me := n.cfg.ID
	if sh.PrimaryID == me {
		if n.repl.IsReplica() || !n.primary.Load() {
			if n.repl.IsReplica() {
				if err := n.repl.Promote(); err != nil {
					n.log.Error("promotion failed", "err", err)
				}
			}
			n.mu.Lock()
			n.mu.following = ""
			n.mu.Unlock()
			if !n.primary.Load() {
				n.log.Warn("role change: this node is primary", "epoch", sh.WriterEpoch)
			}
		}
		n.primary.Store(true)
	} else {
		if n.primary.Swap(false) {
			n.log.Warn("role change: this node is a replica", "primary", sh.PrimaryID, "epoch", sh.WriterEpoch)
			n.lease.drop()
		}
		if p := st.Members[sh.PrimaryID]; p != nil {
			addr := joinHostPort(p.IP, p.Port)
			n.mu.Lock()
			change := n.mu.following != addr
			n.mu.following = addr
			n.mu.Unlock()
			if change || !n.repl.IsReplica() {
				n.log.Info("following the primary", "primary", sh.PrimaryID, "addr", addr, "epoch", sh.WriterEpoch)
				n.repl.Follow(p.IP, p.Port)
			}
		}
		n.checkFailover(st, sh)
	}
	if old := n.epoch.Swap(sh.WriterEpoch); old != sh.WriterEpoch {
		n.metrics.epoch.Set(float64(sh.WriterEpoch))
	}
	n.routes.Store(n.buildRoutes(st, sh))
	n.updateMeta(st)
	n.savePeers(st)
	n.applyDerived(st, idx)
}

func (n *Node) buildRoutes(st *State, sh *Shard) *Routes {
	r := ShardRoute{PrimaryID: sh.PrimaryID, Local: sh.PrimaryID == n.cfg.ID}
	if p := st.Members[sh.PrimaryID]; p != nil {
		r.PrimaryAddr = joinHostPort(p.IP, p.Port)
	}
	r.Replica = !r.Local && st.Members[n.cfg.ID] != nil
	return singleShardRoutes(r)
}

// Routes returns the routing table; nil until the catalog has a shard.
func (n *Node) Routes() *Routes { return n.routes.Load() }

// ID returns the node id.
func (n *Node) ID() string { return n.cfg.ID }

// Epoch returns the writer epoch of this node's shard as last applied.
func (n *Node) Epoch() uint64 { return n.epoch.Load() }

// slogWriter turns a library's log lines into slog records.
type slogWriter struct {
	log  *slog.Logger
	what string
}

func (w *slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == '\r') {
		msg = msg[:len(msg)-1]
	}
	w.log.Debug(msg, "component", w.what)
	return len(p), nil
}

var _ io.Writer = (*slogWriter)(nil)
