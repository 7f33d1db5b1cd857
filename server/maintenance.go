package server

import (
	"strings"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// maintenanceGate is dispatch's maintenance gate: while the catalog holds
// maintenance it refuses the commands flagged Topology, and CONFIG SET of
// a replication or cluster directive, with MAINTENANCE. Data commands and
// the rest of CONFIG SET run as usual.
func (s *Server) maintenanceGate(cmd *commands.Command, args [][]byte) error {
	if !cmd.Flags.Has(commands.Topology) || !s.catalog.MaintenanceEnabled() {
		return nil
	}
	if cmd.Name == "config|set" && !setsTopologyDirective(args) {
		return nil
	}
	return s.catalog.MaintenanceGate(cmd.Name)
}

// setsTopologyDirective reports whether a CONFIG SET names a replication
// or cluster directive (aliases such as slave-read-only included).
func setsTopologyDirective(args [][]byte) bool {
	for i := 2; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		if d := config.Lookup(name); d != nil {
			name = d.Name
		}
		for _, p := range []string{"repl", "replica", "slave", "master", "min-replicas", "min-slaves", "waitall-", "cluster-"} {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
	}
	return false
}

// The local activities maintenance pauses on this node (cluster.Activities):
// the active expiry sweeper, and full syncs not yet started.
var _ cluster.Activities = clusterRepl{}

func (r clusterRepl) FullSyncsInProgress() []string { return r.s.repl.FullSyncsInProgress() }

func (r clusterRepl) ActivityRunning(kind string) bool {
	switch kind {
	case cluster.ActivityExpiry:
		return r.s.store.ActiveExpire()
	case cluster.ActivityFullSync:
		return !r.s.repl.FullSyncsDeferred()
	}
	return false
}

func (r clusterRepl) SetActivityRunning(kind string, run bool) {
	switch kind {
	case cluster.ActivityExpiry:
		r.s.store.SetActiveExpire(run)
	case cluster.ActivityFullSync:
		r.s.repl.DeferFullSyncs(!run)
	}
}

// Catalog returns the node's catalog: its cluster's, or the one-voter
// catalog of a plain node; nil before Start.
func (s *Server) Catalog() *cluster.Node { return s.catalog }
