package cluster

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Maintenance mode, after PeerDB's: START records and pauses the
// cluster's own activities, END resumes exactly what START paused and
// clears the flag last. Everything is catalog state, moved through its
// phases by the catalog leader and by each member's reports, so the node
// that was asked, the leader and any member owning a paused activity can
// each restart in between:
//
//	none     → starting   START (a new run): every live member reports the
//	                      full syncs it is sending, except SKIPSYNC's
//	starting → enabled    the leader, once no live member reports one; back
//	                      to none past TIMEOUT. Automatic failover is held
//	                      from here, and each member pauses its running
//	                      local activities and reports them as items
//	enabled  → ending     END: each member resumes its items still paused
//	                      (one resumed by hand meanwhile is left and logged)
//	ending   → none       the leader, once every live member reported
//
// A member that gossip declares failed is not waited for; one alive that
// does not report is waited for at most maintGrace.

// Maintenance phases.
const (
	PhaseNone     = "none"
	PhaseStarting = "starting"
	PhaseEnabled  = "enabled"
	PhaseEnding   = "ending"
)

// Activities maintenance pauses: the kind of a MaintenanceItem.
const (
	// ActivityFailover is a shard's automatic failover (id: the shard).
	ActivityFailover = "failover"
	// ActivityFullSync is a member's full syncs not yet started (id: the
	// member): a replica that needs one is refused until END, partial
	// resyncs go on.
	ActivityFullSync = "fullsync"
	// ActivityExpiry is a member's active expiry sweeper (id: the member).
	ActivityExpiry = "expiry"
)

// localActivities are the kinds each member pauses on itself.
var localActivities = []string{ActivityExpiry, ActivityFullSync}

// States of a MaintenanceItem.
const (
	// ItemPaused: START paused it and it is still paused.
	ItemPaused = "paused"
	// ItemResumed: resumed by hand during maintenance; END leaves it.
	ItemResumed = "resumed"
	// ItemRestored: END resumed it.
	ItemRestored = "restored"
	// ItemSkipped: END found it running already (resumed by hand, or its
	// node restarted during END) and left it.
	ItemSkipped = "skipped"
)

// ErrMaintenance refuses a topology or configuration change while the
// catalog holds maintenance. PeerDB's text; clients retry later.
var ErrMaintenance = &Error{Code: "MAINTENANCE", Msg: "Server is under maintenance. Please retry in a few minutes"}

// Activities are a node's own background activities as maintenance
// pauses them. The Replicator given to New implements it (the server's
// does); without it maintenance has nothing local to pause.
type Activities interface {
	// FullSyncsInProgress lists the replicas (node ids) this node is
	// sending a full sync to now.
	FullSyncsInProgress() []string
	// ActivityRunning reports whether local activity kind runs (false for
	// a kind the node does not have); SetActivityRunning switches it.
	ActivityRunning(kind string) bool
	SetActivityRunning(kind string, run bool)
}

// Maintenance is the catalog's maintenance state: the current or last
// run of START and END.
type Maintenance struct {
	Phase string `json:"phase"`
	// Run counts STARTs: reports name the run they belong to.
	Run uint64 `json:"run"`
	// StartedAt is START's time (Unix ms); StartedBy who asked, on node
	// StartedOn.
	StartedAt int64  `json:"started_at"`
	StartedBy string `json:"started_by"`
	StartedOn string `json:"started_on"`
	// Deadline ends the wait for full syncs (Unix ms); 0 waits forever.
	Deadline int64 `json:"deadline,omitempty"`
	// SkipSync are the replicas whose full syncs START does not wait for.
	SkipSync []string `json:"skip_sync,omitempty"`
	// EndedAt is END's time, or the abort's (Unix ms).
	EndedAt int64 `json:"ended_at,omitempty"`
	// Aborted says why the run's START did not take effect.
	Aborted string `json:"aborted,omitempty"`
	// Members are the members' reports in the current phase, by node id.
	Members map[string]*maintReport `json:"members,omitempty"`
	// Items are what the run paused, with their states, in kind and id
	// order.
	Items []*maintItem `json:"items,omitempty"`
}

// maintReport is a member's last report of a run.
type maintReport struct {
	Phase string `json:"phase"`
	At    int64  `json:"at"`
	// Waiting are the replicas it sends full syncs to (phase starting).
	Waiting []string `json:"waiting,omitempty"`
}

type maintItem struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	State string `json:"state"`
	At    int64  `json:"at"`
}

func (m *Maintenance) clone() *Maintenance {
	if m == nil {
		return nil
	}
	c := *m
	c.SkipSync = slices.Clone(m.SkipSync)
	if m.Members != nil {
		c.Members = make(map[string]*maintReport, len(m.Members))
		for id, r := range m.Members {
			rr := *r
			rr.Waiting = slices.Clone(r.Waiting)
			c.Members[id] = &rr
		}
	}
	c.Items = make([]*maintItem, 0, len(m.Items))
	for _, it := range m.Items {
		ii := *it
		c.Items = append(c.Items, &ii)
	}
	return &c
}

// enforced reports whether the flag is set: topology changes are refused
// and automatic failover is held.
func (m *Maintenance) enforced() bool {
	return m != nil && (m.Phase == PhaseEnabled || m.Phase == PhaseEnding)
}

func (m *Maintenance) phase() string {
	if m == nil || m.Phase == "" {
		return PhaseNone
	}
	return m.Phase
}

func (m *Maintenance) item(kind, id string) *maintItem {
	for _, it := range m.Items {
		if it.Kind == kind && it.ID == id {
			return it
		}
	}
	return nil
}

func (m *Maintenance) setItem(kind, id, state string, at int64) {
	if it := m.item(kind, id); it != nil {
		it.State, it.At = state, at
		return
	}
	m.Items = append(m.Items, &maintItem{Kind: kind, ID: id, State: state, At: at})
	slices.SortFunc(m.Items, func(a, b *maintItem) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// reported reports whether member id reported in the current phase.
func (m *Maintenance) reported(id string) bool {
	r := m.Members[id]
	return r != nil && r.Phase == m.Phase
}

// maintOp is one change of the maintenance state.
type maintOp struct {
	// Op is start, end, report, resumed, enable, abort or clear.
	Op string `json:"op"`
	// Run is the run a report, resumed, enable, abort or clear is for.
	Run uint64 `json:"run,omitempty"`
	// Node is the member reporting, or the node START was asked on.
	Node string `json:"node,omitempty"`
	// By and TimeoutMs and Skip are START's.
	By        string   `json:"by,omitempty"`
	TimeoutMs int64    `json:"timeout_ms,omitempty"`
	Skip      []string `json:"skip,omitempty"`
	// Phase is the phase a report is for; Waiting its full syncs
	// (starting), Kinds what it paused (enabled) or resumed by hand
	// (resumed), Restored and Skipped END's outcome (ending).
	Phase    string   `json:"phase,omitempty"`
	Waiting  []string `json:"waiting,omitempty"`
	Kinds    []string `json:"kinds,omitempty"`
	Restored []string `json:"restored,omitempty"`
	Skipped  []string `json:"skipped,omitempty"`
	// Reason is an abort's.
	Reason string `json:"reason,omitempty"`
}

// maintResult is applyResult.Data of a maintenance operation: the run
// and phase after it.
type maintResult struct {
	Run   uint64 `json:"run"`
	Phase string `json:"phase"`
}

// applyMaintenance applies op at proposer time at (Unix ms); changed
// reports whether the state changed. Operations that name another run or
// phase than the current one are stale and change nothing.
func (s *State) applyMaintenance(op *maintOp, at int64) (res *applyResult, changed bool) {
	if op == nil {
		return &applyResult{Err: "maintenance: empty operation"}, false
	}
	m := s.Maintenance.clone()
	if m == nil {
		m = &Maintenance{Phase: PhaseNone}
	}
	current := op.Run == m.Run
	switch op.Op {
	case "start":
		switch m.phase() {
		case PhaseNone:
			*m = Maintenance{Phase: PhaseStarting, Run: m.Run + 1, StartedAt: at, StartedBy: op.By, StartedOn: op.Node,
				SkipSync: sortedSet(nil, op.Skip)}
			if op.TimeoutMs > 0 {
				m.Deadline = at + op.TimeoutMs
			}
			changed = true
		case PhaseStarting:
			// NB: a second START while the first waits adds its SKIPSYNC,
			// which releases the first's wait for those replicas.
			if skip := sortedSet(m.SkipSync, op.Skip); len(skip) != len(m.SkipSync) {
				m.SkipSync, changed = skip, true
			}
		}
	case "end":
		switch m.phase() {
		case PhaseStarting, PhaseEnabled:
			m.Phase, m.EndedAt, m.Members, changed = PhaseEnding, at, nil, true
		}
	case "report":
		if !current || op.Phase != m.phase() || op.Node == "" {
			break
		}
		old := m.Members[op.Node]
		switch op.Phase {
		case PhaseStarting:
			waiting := sortedSet(nil, op.Waiting)
			if old != nil && old.Phase == op.Phase && slices.Equal(old.Waiting, waiting) {
				break
			}
			m.setReport(op.Node, &maintReport{Phase: op.Phase, At: at, Waiting: waiting})
			changed = true
		case PhaseEnabled, PhaseEnding:
			if old != nil && old.Phase == op.Phase {
				break
			}
			m.setReport(op.Node, &maintReport{Phase: op.Phase, At: at})
			for _, k := range op.Kinds {
				m.setItem(k, op.Node, ItemPaused, at)
			}
			for _, k := range op.Restored {
				m.setItem(k, op.Node, ItemRestored, at)
			}
			for _, k := range op.Skipped {
				m.setItem(k, op.Node, ItemSkipped, at)
			}
			changed = true
		}
	case "resumed":
		if !current || m.phase() != PhaseEnabled {
			break
		}
		for _, k := range op.Kinds {
			if it := m.item(k, op.Node); it != nil && it.State == ItemPaused {
				it.State, it.At, changed = ItemResumed, at, true
			}
		}
	case "enable":
		if !current || m.phase() != PhaseStarting {
			break
		}
		m.Phase, m.Members, changed = PhaseEnabled, nil, true
		for _, sh := range s.Shards {
			m.setItem(ActivityFailover, strconv.Itoa(sh.ID), ItemPaused, at)
		}
	case "abort":
		if !current || m.phase() != PhaseStarting {
			break
		}
		m.Phase, m.Aborted, m.EndedAt, m.Members, changed = PhaseNone, op.Reason, at, nil, true
	case "clear":
		if !current || m.phase() != PhaseEnding {
			break
		}
		// NB: what is still paused here belongs to the shard (failover),
		// resumed by this very entry, or to members that did not report
		// (failed): a restarted process does not pause it again.
		for _, it := range m.Items {
			if it.State == ItemPaused {
				it.State, it.At = ItemRestored, at
			}
		}
		m.Phase, m.Members, changed = PhaseNone, nil, true
	default:
		return &applyResult{Err: "maintenance: unknown operation " + op.Op}, false
	}
	if changed {
		s.Maintenance = m
	}
	data, _ := json.Marshal(maintResult{Run: m.Run, Phase: m.phase()})
	return &applyResult{Data: data}, changed
}

func (m *Maintenance) setReport(id string, r *maintReport) {
	if m.Members == nil {
		m.Members = map[string]*maintReport{}
	}
	m.Members[id] = r
}

// sortedSet returns the union of a and b, sorted, without duplicates or
// empty strings.
func sortedSet(a, b []string) []string {
	var out []string
	for _, s := range append(slices.Clone(a), b...) {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
