package server

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// startCluster joins or bootstraps the cluster once the RESP port is known
// (cluster-enabled yes), and wires the cluster into replication (WAITALL's
// members and fence) and storage (the commit-time fence).
func (s *Server) startCluster(cfg *config.Config) error {
	if !cfg.ClusterEnabled {
		// A plain node keeps its admin state in a one-voter catalog.
		n, err := cluster.New(cluster.Config{
			ID: s.store.NodeID(), Dir: filepath.Join(cfg.Dir, "cluster"), IP: "127.0.0.1", Port: cfg.Port,
			NodeTimeout: time.Duration(cfg.ClusterNodeTimeout) * time.Millisecond, Build: Version, Standalone: true,
			Schema: schemaConfig(cfg),

			ComponentLockLease: time.Duration(cfg.ComponentLockLease) * time.Millisecond,
			Functions:          s.functionLoader(),
		}, clusterRepl{s}, s.log, s.reg)
		if err != nil {
			return err
		}
		s.catalog = n
		return nil
	}
	bind := trimBindPrefix(cfg.Bind[0])
	ip := cfg.ClusterAnnounceIP
	if ip == "" {
		ip = bind
		if ip == "0.0.0.0" || ip == "::" || ip == "*" {
			ip = "127.0.0.1"
		}
	}
	if bind == "*" {
		bind = "0.0.0.0"
	}
	bus, cat := cfg.ClusterPort, cfg.ClusterCatalogPort
	if bus == 0 {
		bus = cfg.Port + 10000
	}
	if cat == 0 {
		cat = cfg.Port + 20000
	}
	var key []byte
	if cfg.ClusterGossipKey != "" {
		key, _ = base64.StdEncoding.DecodeString(cfg.ClusterGossipKey) // Validate checked it
	}
	n, err := cluster.New(cluster.Config{
		ID:               s.store.NodeID(),
		Dir:              filepath.Join(cfg.Dir, "cluster"),
		BindIP:           bind,
		IP:               ip,
		Port:             cfg.Port,
		BusPort:          bus,
		CatalogPort:      cat,
		Join:             strings.Fields(cfg.ClusterJoin),
		NodeTimeout:      time.Duration(cfg.ClusterNodeTimeout) * time.Millisecond,
		EpochBumpTimeout: time.Duration(cfg.ClusterEpochBumpTimeout) * time.Millisecond,
		GossipKey:        key,
		Build:            Version,
		Schema:           schemaConfig(cfg),

		ComponentLockLease: time.Duration(cfg.ComponentLockLease) * time.Millisecond,
		Functions:          s.functionLoader(),
	}, clusterRepl{s}, s.log, s.reg)
	if err != nil {
		return err
	}
	s.cluster, s.catalog = n, n
	s.repl.SetMembers(n.ReplicaMembers)
	s.repl.SetFence(n.WaitFence)
	s.repl.SetEpoch(n.Epoch)
	s.store.SetCommitGate(n.CommitGate)
	s.log.Info("cluster mode", "node", n.ID(), "gossip", bus, "catalog", cat)
	return nil
}

// clusterOf returns the cluster as the commands see it: a nil interface
// without cluster-enabled.
func (s *Server) clusterOf() commands.Cluster {
	if s.cluster == nil {
		return nil
	}
	return s.cluster
}

// clusterGate is dispatch's cluster redirection: MOVED, CROSSSLOT and
// CLUSTERDOWN as Redis Cluster answers them, and a primary without a lease
// refusing what it may no longer acknowledge.
func (c *conn) clusterGate(cmd *commands.Command, args [][]byte) error {
	n := c.s.cluster
	r := n.Routes()
	keyed := commands.HasKeys(cmd)
	if r == nil {
		if keyed || cmd.Flags.Has(commands.Write) {
			return &commands.Error{Code: "CLUSTERDOWN", Msg: "The cluster is down"}
		}
		return nil
	}
	if keyed {
		if err := commands.Redirect(cmd, args, r, &c.Client); err != nil {
			return err
		}
	}
	if !r.Shards[0].Local || n.Serving() {
		return nil
	}
	if !keyed && !cmd.Flags.Has(commands.Write) {
		return nil
	}
	slot := -1
	if pos := cmd.KeyPositions(args); len(pos) > 0 {
		slot = cluster.KeySlot(args[pos[0]])
	}
	return n.Fenced(slot)
}

// clusterRepl is the replication as the cluster drives it.
type clusterRepl struct{ s *Server }

func (r clusterRepl) IsReplica() bool { return r.s.repl.IsReplica() }

func (r clusterRepl) Promote() error {
	if err := r.s.repl.NoOne(); err != nil {
		return err
	}
	r.s.pause.unpause()
	return nil
}

func (r clusterRepl) Follow(host string, port int) {
	r.s.follow(host, port)
	// Writers held by a manual failover's pause now get redirected.
	r.s.pause.unpause()
}

func (r clusterRepl) Offset() int64 { return r.s.store.ReplOffset() }

func (r clusterRepl) PauseWrites(d time.Duration) { r.s.pause.set(d, true) }

// clusterOnlyReplicas lists the replicas gossip knows that have no link
// to this primary right now (INFO's known_replicas adds them).
func (s *Server) clusterOnlyReplicas() []string {
	if s.cluster == nil {
		return nil
	}
	linked := map[string]bool{}
	for _, r := range s.repl.Replicas() {
		linked[r.ID] = true
	}
	var out []string
	for _, id := range s.cluster.ReplicaMembers() {
		if !linked[id] {
			out = append(out, id)
		}
	}
	return out
}

func (r clusterRepl) Forget(id string) { r.s.repl.Forget(id) }
