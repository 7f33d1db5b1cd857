package cluster

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Maintenance is the catalog's maintenance state.
type Maintenance struct{}

// maintOp is one change of the maintenance state.
type maintOp struct{}

func (m *Maintenance) clone() *Maintenance {
	if m == nil {
		return nil
	}
	c := *m
	return &c
}

// applyMaintenance applies op at proposer time at (Unix ms); changed
// reports whether the state changed.
func (s *State) applyMaintenance(op *maintOp, at int64) (res *applyResult, changed bool) {
	return &applyResult{Err: "maintenance: not implemented"}, false
}

// maintNode is this node's share of maintenance: what it enforces and the
// local activities it paused.
type maintNode struct{}

func (n *Node) initMaintenance(reg prometheus.Registerer) {}

// deriveMaintenance makes this node enforce the catalog's maintenance
// state (the flag, the paused activities); an error is retried by the
// schema pipeline.
func (n *Node) deriveMaintenance(st *State) error { return nil }

// MaintenanceOptions are MAINTENANCE START's arguments.
type MaintenanceOptions struct {
	// Timeout bounds the wait for full syncs in progress; 0 waits forever.
	Timeout time.Duration
	// SkipSync names replicas whose full sync START does not wait for.
	SkipSync []string
	// By names who started it (a client address, "http").
	By string
}

// MaintenanceItem is one activity START paused.
type MaintenanceItem struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// MaintenanceStatus is MAINTENANCE STATUS and GET /v1/maintenance.
type MaintenanceStatus struct {
	Enabled   bool              `json:"enabled"`
	Phase     string            `json:"phase"` // none, starting, enabled, ending
	StartedAt int64             `json:"started_at"`
	StartedBy string            `json:"started_by"`
	Paused    []MaintenanceItem `json:"paused"`
	Waiting   []string          `json:"waiting"`
}

// MaintenanceStart is MAINTENANCE START.
func (n *Node) MaintenanceStart(ctx context.Context, o MaintenanceOptions) error {
	return errf("MAINTENANCE is not implemented")
}

// MaintenanceEnd is MAINTENANCE END.
func (n *Node) MaintenanceEnd(ctx context.Context) error {
	return errf("MAINTENANCE is not implemented")
}

// MaintenanceStatus is MAINTENANCE STATUS.
func (n *Node) MaintenanceStatus() MaintenanceStatus { return MaintenanceStatus{Phase: "none"} }

// MaintenanceEnabled reports whether this node enforces maintenance now.
func (n *Node) MaintenanceEnabled() bool { return false }
