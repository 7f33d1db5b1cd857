package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
)

// applyDerived turns the catalog state at raft index idx into this node's
// derived admin state (the maintenance flag it enforces, the components it
// loaded). It runs on the node's loop after every catalog change and at
// every tick.
func (n *Node) applyDerived(st *State, idx uint64) {
	if err := n.deriveMaintenance(st); err != nil {
		n.log.Warn("applying the maintenance state", "err", err)
	}
	if err := n.deriveComponents(st); err != nil {
		n.log.Warn("applying the components", "err", err)
	}
}

// schemaNode is this node's schema pipeline state.
type schemaNode struct{}

func (n *Node) initSchema(reg prometheus.Registerer) {}

// SchemaStatus is SCHEMA STATUS and GET /v1/schema.
type SchemaStatus struct {
	Epoch            uint64 `json:"epoch"`
	AppliedEpoch     uint64 `json:"applied_epoch"`
	Dirty            bool   `json:"dirty"`
	PendingEvents    int    `json:"pending_events"`
	LastResyncAt     int64  `json:"last_resync_at"`
	LastResyncReason string `json:"last_resync_reason"`
	Retries          int64  `json:"retries"`
	Resyncs          int64  `json:"resyncs"`
}

// SchemaStatus is SCHEMA STATUS.
func (n *Node) SchemaStatus() SchemaStatus { return SchemaStatus{} }

// SchemaResync queues a full resync of the derived state (SCHEMA RESYNC).
func (n *Node) SchemaResync(reason string) {}
