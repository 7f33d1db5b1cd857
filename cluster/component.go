package cluster

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Component is one component's catalog record.
type Component struct{}

// compOp is one change of a component.
type compOp struct{}

func cloneComponents(m map[string]*Component) map[string]*Component {
	if m == nil {
		return nil
	}
	c := make(map[string]*Component, len(m))
	for k, v := range m {
		vv := *v
		c[k] = &vv
	}
	return c
}

// applyComponent applies op at proposer time at (Unix ms); changed reports
// whether the state changed.
func (s *State) applyComponent(op *compOp, at int64) (res *applyResult, changed bool) {
	return &applyResult{Err: "component: not implemented"}, false
}

// compNode is this node's share of components: what it applied.
type compNode struct{}

func (n *Node) initComponents(reg prometheus.Registerer) {}

// deriveComponents makes this node apply the catalog's active component
// versions; an error is retried by the schema pipeline.
func (n *Node) deriveComponents(st *State) error { return nil }

// DeployRequest is COMPONENT DEPLOY's arguments.
type DeployRequest struct {
	Name        string        `json:"name"`
	Version     string        `json:"version"`
	Payload     []byte        `json:"payload,omitempty"`
	Kind        string        `json:"kind,omitempty"` // blob (default) or function
	Replace     bool          `json:"replace,omitempty"`
	LockTimeout time.Duration `json:"-"`
}

// ComponentStatus is COMPONENT STATUS and GET /v1/components/{name}.
type ComponentStatus struct {
	Name          string            `json:"name"`
	ActiveVersion string            `json:"active_version"`
	State         string            `json:"state"`
	Versions      []string          `json:"versions"`
	LockOwner     string            `json:"lock_owner"`
	LockExpiresMs int64             `json:"lock_expires_ms"`
	UpdatedAt     int64             `json:"updated_at"`
	Nodes         map[string]string `json:"nodes"` // node id → version applied
}

// ComponentDeploy is COMPONENT DEPLOY.
func (n *Node) ComponentDeploy(ctx context.Context, r DeployRequest) error {
	return errf("COMPONENT is not implemented")
}

// ComponentStatus is COMPONENT STATUS.
func (n *Node) ComponentStatus(name string) (ComponentStatus, error) {
	return ComponentStatus{}, errf("COMPONENT is not implemented")
}

// ComponentList is COMPONENT LIST.
func (n *Node) ComponentList() []ComponentStatus { return nil }
