package cluster

import (
	"context"
	"slices"
	"time"
)

// MaintenanceOptions are MAINTENANCE START's arguments.
type MaintenanceOptions struct {
	// Timeout bounds the wait for full syncs in progress; 0 waits forever.
	// Past it, START is abandoned and answers an error.
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
	// State is paused, resumed (by hand), restored or skipped.
	State string `json:"state,omitempty"`
}

// MaintenanceStatus is MAINTENANCE STATUS and GET /v1/maintenance.
type MaintenanceStatus struct {
	Enabled   bool              `json:"enabled"`
	Phase     string            `json:"phase"` // none, starting, enabled, ending
	StartedAt int64             `json:"started_at"`
	StartedBy string            `json:"started_by"`
	Paused    []MaintenanceItem `json:"paused"`
	Waiting   []string          `json:"waiting"`
	// Run counts STARTs; StartedOn is the node START was asked on; Items
	// are everything the run paused, with their states; Aborted says why
	// the last START did not take effect.
	Run       uint64            `json:"run"`
	StartedOn string            `json:"started_on"`
	Items     []MaintenanceItem `json:"items"`
	Aborted   string            `json:"aborted,omitempty"`
}

func pausedItems(m *Maintenance) []MaintenanceItem {
	out := []MaintenanceItem{}
	if m == nil {
		return out
	}
	for _, it := range m.Items {
		if it.State == ItemPaused {
			out = append(out, MaintenanceItem{Kind: it.Kind, ID: it.ID})
		}
	}
	return out
}

// MaintenanceStart is MAINTENANCE START: it starts a run (or joins the
// one starting, adding its SKIPSYNC) and returns once it is in effect on
// every live member. When ctx ends first, the run goes on in the catalog.
func (n *Node) MaintenanceStart(ctx context.Context, o MaintenanceOptions) error {
	if o.Timeout < 0 {
		return errf("timeout is negative")
	}
	n.maintStartLoop()
	r, err := n.proposeMaintWait(ctx, &maintOp{Op: "start", Node: n.cfg.ID, By: o.By, TimeoutMs: o.Timeout.Milliseconds(), Skip: o.SkipSync})
	if err != nil {
		return err
	}
	if r.Phase == PhaseEnding {
		return &Error{Code: "TRYAGAIN", Msg: "MAINTENANCE END is in progress; START again once it completed"}
	}
	var enabledAt time.Time
	for {
		st, _ := n.fsm.state()
		m := st.Maintenance
		switch {
		case m == nil || m.Run < r.Run:
			// This node's copy of the catalog has not applied START yet.
		case m.Run > r.Run:
			return errf("MAINTENANCE START was superseded by a later run")
		case m.Phase == PhaseEnabled:
			if enabledAt.IsZero() {
				enabledAt = time.Now()
			}
			_, missing := n.maintProgress(st)
			if len(missing) == 0 {
				return nil
			}
			if time.Since(enabledAt) > n.maintGrace() {
				n.log.Warn("maintenance START: in effect without these members' reports", "members", missing)
				return nil
			}
		case m.Phase == PhaseNone && m.Aborted != "":
			return errf("MAINTENANCE START %s; maintenance was not started (SKIPSYNC them, or raise TIMEOUT)", m.Aborted)
		case m.Phase != PhaseStarting:
			return errf("MAINTENANCE END was called before START took effect")
		}
		n.maintPoke()
		select {
		case <-ctx.Done():
			return errf("MAINTENANCE START interrupted; the run goes on (MAINTENANCE STATUS)")
		case <-n.stop:
			return errf("server is shutting down")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// MaintenanceEnd is MAINTENANCE END: it resumes what START paused and is
// still paused, clears the flag last and returns once it is cleared.
// Without a run it does nothing.
func (n *Node) MaintenanceEnd(ctx context.Context) error {
	n.maintStartLoop()
	r, err := n.proposeMaintWait(ctx, &maintOp{Op: "end"})
	if err != nil {
		return err
	}
	if r.Phase == PhaseNone {
		return nil
	}
	for {
		st, _ := n.fsm.state()
		m := st.Maintenance
		if m != nil && (m.Run > r.Run || m.Run == r.Run && m.Phase == PhaseNone) {
			return nil
		}
		n.maintPoke()
		select {
		case <-ctx.Done():
			return errf("MAINTENANCE END interrupted; the run goes on ending (MAINTENANCE STATUS)")
		case <-n.stop:
			return errf("server is shutting down")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// MaintenanceStatus is MAINTENANCE STATUS, as this node's copy of the
// catalog has it.
func (n *Node) MaintenanceStatus() MaintenanceStatus {
	st, _ := n.fsm.state()
	m := st.Maintenance
	out := MaintenanceStatus{Phase: m.phase(), Enabled: m.enforced(), Paused: pausedItems(m), Waiting: []string{}, Items: []MaintenanceItem{}}
	if m == nil {
		return out
	}
	out.Run, out.StartedAt, out.StartedBy, out.StartedOn, out.Aborted = m.Run, m.StartedAt, m.StartedBy, m.StartedOn, m.Aborted
	for _, it := range m.Items {
		out.Items = append(out.Items, MaintenanceItem{Kind: it.Kind, ID: it.ID, State: it.State})
	}
	if m.Phase == PhaseStarting {
		for _, r := range m.Members {
			if r.Phase == PhaseStarting {
				out.Waiting = append(out.Waiting, r.Waiting...)
			}
		}
		out.Waiting = sortedSet(nil, slices.DeleteFunc(out.Waiting, func(id string) bool { return slices.Contains(m.SkipSync, id) }))
		if out.Waiting == nil {
			out.Waiting = []string{}
		}
	}
	return out
}

// MaintenanceEnabled reports whether this node enforces maintenance now:
// its copy of the catalog is in phase enabled or ending.
func (n *Node) MaintenanceEnabled() bool {
	if n == nil || n.fsm == nil {
		return false
	}
	n.fsm.mu.Lock()
	defer n.fsm.mu.Unlock()
	return n.fsm.st.Maintenance.enforced()
}

// MaintenanceGate returns ErrMaintenance while this node enforces
// maintenance, counting the refusal under cmd (a command table name) in
// shoal_maintenance_rejected_total, and nil otherwise. Dispatch calls it
// for the commands flagged Topology; other refusals call it too.
func (n *Node) MaintenanceGate(cmd string) error {
	if !n.MaintenanceEnabled() {
		return nil
	}
	n.maint.rejected.Add(1)
	n.maint.metrics.rejected.WithLabelValues(cmd).Inc()
	return ErrMaintenance
}

// MaintenanceLocal is this node's side of maintenance, for INFO.
type MaintenanceLocal struct {
	// Paused are the local activities this node holds paused.
	Paused []string
	// Rejected counts commands refused under maintenance; FailoversHeld
	// the primary failures whose failover this node held.
	Rejected, FailoversHeld int64
}

// MaintenanceLocal returns this node's side of maintenance.
func (n *Node) MaintenanceLocal() MaintenanceLocal {
	mt := &n.maint
	mt.mu.Lock()
	var paused []string
	for k := range mt.mu.paused {
		paused = append(paused, k)
	}
	mt.mu.Unlock()
	slices.Sort(paused)
	return MaintenanceLocal{Paused: paused, Rejected: mt.rejected.Load(), FailoversHeld: mt.held.Load()}
}
