package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// maintNode is this node's share of maintenance: the local activities it
// paused for a run, and its counters. The derive path and the maintenance
// loop both act through maintApply, under mu.
type maintNode struct {
	mu struct {
		sync.Mutex
		// epoch is the newest catalog epoch acted on; an older state (a
		// late event) is ignored.
		epoch uint64
		// run is the run the maps are for; paused are the local kinds
		// this process paused and holds paused; hand those found resumed
		// by hand, to be recorded; ended END's outcome by kind.
		run    uint64
		paused map[string]bool
		hand   map[string]bool
		ended  map[string]string
		// starting and enabled are set once this process made the
		// phase's first pauses for run.
		starting, enabled bool
		// held records each primary failure whose failover was held, by
		// the time it failed.
		held map[string]time.Time
	}
	loop     sync.Once
	wake     chan struct{}
	rejected atomic.Int64
	held     atomic.Int64
	metrics  struct {
		rejected *prometheus.CounterVec
		held     prometheus.Counter
	}
}

func (n *Node) initMaintenance(reg prometheus.Registerer) {
	mt := &n.maint
	mt.wake = make(chan struct{}, 1)
	mt.metrics.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shoal_maintenance_rejected_total",
		Help: "Commands refused because the node was under maintenance, by command."}, []string{"cmd"})
	mt.metrics.held = prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_maintenance_failovers_held_total",
		Help: "Failures of the shard's primary whose automatic failover this node held because of maintenance."})
	read := func(f func(m *Maintenance) float64) func() float64 {
		return func() float64 {
			if n.fsm == nil {
				return 0
			}
			n.fsm.mu.Lock()
			defer n.fsm.mu.Unlock()
			return f(n.fsm.st.Maintenance)
		}
	}
	reg.MustRegister(mt.metrics.rejected, mt.metrics.held,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_maintenance_enabled",
			Help: "1 while the catalog holds maintenance (phases enabled and ending)."},
			read(func(m *Maintenance) float64 { return b2f(m.enforced()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_maintenance_paused_items",
			Help: "Activities maintenance holds paused, in the whole cluster."},
			read(func(m *Maintenance) float64 { return float64(len(pausedItems(m))) })))
}

// deriveMaintenance makes this node enforce the catalog's maintenance
// state: it pauses its local activities when a run is enabled and
// resumes what it paused when the run ends. It proposes nothing; the
// reports to the catalog and the leader's moves are the maintenance
// loop's, which it starts on first use.
func (n *Node) deriveMaintenance(st *State) error {
	n.maintStartLoop()
	n.maintApply(st)
	n.maintPoke()
	return nil
}

// maintStartLoop starts the maintenance loop once. NB: callers run while
// the node is open (a loop or a command holding n.wg or before Close).
func (n *Node) maintStartLoop() {
	n.maint.loop.Do(func() {
		n.wg.Add(1)
		go n.maintLoop()
	})
}

func (n *Node) maintPoke() {
	select {
	case n.maint.wake <- struct{}{}:
	default:
	}
}

// maintLoop reports this node's share of the current run to the catalog,
// and moves the phases on when this node leads the catalog, at every tick
// and whenever poked.
func (n *Node) maintLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.tick())
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.maint.wake:
		case <-t.C:
		}
		if err := n.maintStep(); err != nil {
			n.log.Debug("maintenance step", "err", err)
		}
	}
}

func (n *Node) activities() Activities {
	a, _ := n.repl.(Activities)
	return a
}

// maintApply pauses and resumes this node's local activities as st says.
// It is idempotent and ignores a state older than one already acted on.
func (n *Node) maintApply(st *State) {
	mt := &n.maint
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if st.Epoch < mt.mu.epoch {
		return
	}
	mt.mu.epoch = st.Epoch
	act := n.activities()
	if act == nil {
		return
	}
	m := st.Maintenance
	me := n.cfg.ID
	if m.phase() != PhaseNone && mt.mu.run != m.Run {
		n.maintRestoreLocked(act, "an older maintenance run ended")
		n.maintResetLocked(m.Run)
	}
	pause := func(k string) {
		if act.ActivityRunning(k) {
			act.SetActivityRunning(k, false)
			mt.mu.paused[k] = true
			n.log.Info("maintenance: paused", "activity", k, "run", m.Run)
		}
	}
	switch m.phase() {
	case PhaseNone:
		// The run ended (or was abandoned): what this process still holds
		// paused goes back, if still paused.
		n.maintRestoreLocked(act, "the maintenance run ended")
	case PhaseStarting:
		// NB: full syncs not yet started wait from here on, so the list
		// of those in progress this node reports is complete: START waits
		// for exactly those.
		if !mt.mu.starting {
			mt.mu.starting = true
			pause(ActivityFullSync)
		}
	case PhaseEnabled:
		if !m.reported(me) && !mt.mu.enabled {
			mt.mu.enabled = true
			for _, k := range localActivities {
				pause(k)
			}
		}
		for k := range mt.mu.paused {
			if act.ActivityRunning(k) {
				delete(mt.mu.paused, k)
				mt.mu.hand[k] = true
				n.log.Warn("maintenance: resumed by hand during maintenance; END will leave it", "activity", k, "run", m.Run)
			}
		}
		if !m.reported(me) {
			break
		}
		// What START paused here stays paused, also after a restart of
		// this node, which starts every activity afresh.
		for _, it := range m.Items {
			if it.ID != me || it.State != ItemPaused || !slices.Contains(localActivities, it.Kind) ||
				mt.mu.paused[it.Kind] || mt.mu.hand[it.Kind] {
				continue
			}
			if act.ActivityRunning(it.Kind) {
				act.SetActivityRunning(it.Kind, false)
				n.log.Info("maintenance: paused again after a restart", "activity", it.Kind, "run", m.Run)
			}
			mt.mu.paused[it.Kind] = true
		}
	case PhaseEnding:
		for _, it := range m.Items {
			if it.ID != me || it.State != ItemPaused || !slices.Contains(localActivities, it.Kind) {
				continue
			}
			if _, done := mt.mu.ended[it.Kind]; done {
				continue
			}
			if act.ActivityRunning(it.Kind) {
				mt.mu.ended[it.Kind] = ItemSkipped
				n.log.Warn("maintenance END: already running (resumed by hand, or this node restarted); left as is", "activity", it.Kind, "run", m.Run)
				continue
			}
			act.SetActivityRunning(it.Kind, true)
			mt.mu.ended[it.Kind] = ItemRestored
			n.log.Info("maintenance END: resumed", "activity", it.Kind, "run", m.Run)
		}
		// Paused here but never recorded (the report was lost): resumed
		// as well.
		for k := range mt.mu.paused {
			if _, done := mt.mu.ended[k]; !done && !act.ActivityRunning(k) {
				act.SetActivityRunning(k, true)
				mt.mu.ended[k] = ItemRestored
				n.log.Info("maintenance END: resumed", "activity", k, "run", m.Run)
			}
		}
		clear(mt.mu.paused)
	}
}

// maintRestoreLocked resumes what this process holds paused, unless it
// runs already.
func (n *Node) maintRestoreLocked(act Activities, why string) {
	for k := range n.maint.mu.paused {
		if act.ActivityRunning(k) {
			n.log.Warn("maintenance: already running (resumed by hand); left as is", "activity", k)
			continue
		}
		act.SetActivityRunning(k, true)
		n.log.Info("maintenance: resumed", "activity", k, "why", why)
	}
	clear(n.maint.mu.paused)
}

func (n *Node) maintResetLocked(run uint64) {
	mt := &n.maint
	mt.mu.run = run
	mt.mu.starting, mt.mu.enabled = false, false
	mt.mu.paused = map[string]bool{}
	mt.mu.hand = map[string]bool{}
	mt.mu.ended = map[string]string{}
}

// maintStep acts on the current catalog state: local enforcement, this
// node's report when the catalog lacks it, and, on the catalog leader,
// the next phase when the members are ready.
func (n *Node) maintStep() error {
	st, _ := n.fsm.state()
	n.maintApply(st)
	m := st.Maintenance
	if m == nil {
		return nil
	}
	if err := n.maintReport(st); err != nil {
		return err
	}
	if n.leaderReady() {
		return n.maintDrive(st)
	}
	return nil
}

// maintReport proposes this node's report of the current phase when the
// catalog lacks it or it changed, and records activities resumed by hand.
func (n *Node) maintReport(st *State) error {
	m := st.Maintenance
	me := n.cfg.ID
	op := &maintOp{Op: "report", Run: m.Run, Node: me, Phase: m.phase()}
	act := n.activities()
	mt := &n.maint
	switch m.phase() {
	case PhaseStarting:
		if act != nil {
			for _, id := range act.FullSyncsInProgress() {
				if !slices.Contains(m.SkipSync, id) {
					op.Waiting = append(op.Waiting, id)
				}
			}
		}
		op.Waiting = sortedSet(nil, op.Waiting)
		if r := m.Members[me]; r != nil && r.Phase == PhaseStarting && slices.Equal(r.Waiting, op.Waiting) {
			return nil
		}
	case PhaseEnabled:
		mt.mu.Lock()
		mine := mt.mu.run == m.Run
		var hand []string
		for k := range mt.mu.paused {
			op.Kinds = append(op.Kinds, k)
		}
		for k := range mt.mu.hand {
			if it := m.item(k, me); it != nil && it.State == ItemPaused {
				hand = append(hand, k)
			}
		}
		mt.mu.Unlock()
		if !mine && act != nil {
			return nil // maintApply has not acted on this run yet
		}
		if len(hand) > 0 {
			slices.Sort(hand)
			if _, err := n.proposeMaint(&maintOp{Op: "resumed", Run: m.Run, Node: me, Kinds: hand}); err != nil {
				return err
			}
		}
		if m.reported(me) {
			return nil
		}
		slices.Sort(op.Kinds)
	case PhaseEnding:
		if m.reported(me) {
			return nil
		}
		mt.mu.Lock()
		mine := mt.mu.run == m.Run
		for k, outcome := range mt.mu.ended {
			if outcome == ItemRestored {
				op.Restored = append(op.Restored, k)
			} else {
				op.Skipped = append(op.Skipped, k)
			}
		}
		mt.mu.Unlock()
		if !mine && act != nil && hasLocalItems(m, me) {
			return nil // maintApply has not acted on this run yet
		}
		slices.Sort(op.Restored)
		slices.Sort(op.Skipped)
	default:
		return nil
	}
	_, err := n.proposeMaint(op)
	return err
}

func hasLocalItems(m *Maintenance, id string) bool {
	for _, it := range m.Items {
		if it.ID == id && it.State == ItemPaused && slices.Contains(localActivities, it.Kind) {
			return true
		}
	}
	return false
}

// maintGrace bounds the wait for a live member that does not report.
func (n *Node) maintGrace() time.Duration { return max(2*n.cfg.NodeTimeout, 2*time.Second) }

// maintLive lists the members whose reports a phase waits for: this node
// and the catalog's members gossip does not declare failed.
func (n *Node) maintLive(st *State) []string {
	ids := []string{n.cfg.ID}
	for _, id := range st.MemberIDs() {
		if id != n.cfg.ID && n.health(id) != Failed {
			ids = append(ids, id)
		}
	}
	return ids
}

// maintProgress returns, for the current phase, the full syncs live
// members still report (outside SKIPSYNC) and the live members that have
// not reported.
func (n *Node) maintProgress(st *State) (waiting, missing []string) {
	m := st.Maintenance
	for _, id := range n.maintLive(st) {
		if !m.reported(id) {
			missing = append(missing, id)
			continue
		}
		for _, r := range m.Members[id].Waiting {
			if !slices.Contains(m.SkipSync, r) {
				waiting = append(waiting, r)
			}
		}
	}
	return sortedSet(nil, waiting), missing
}

// maintDrive is the catalog leader's share: starting becomes enabled once
// no live member sends a full sync START waits for (or none, past the
// deadline), and ending becomes none once every live member resumed its
// items.
func (n *Node) maintDrive(st *State) error {
	m := st.Maintenance
	now := time.Now().UnixMilli()
	grace := n.maintGrace().Milliseconds()
	switch m.phase() {
	case PhaseStarting:
		waiting, missing := n.maintProgress(st)
		switch {
		case len(waiting) == 0 && (len(missing) == 0 || now-m.StartedAt > grace):
			if len(missing) > 0 {
				n.log.Warn("maintenance START: members did not report; enabling without them", "members", missing)
			}
			_, err := n.proposeMaint(&maintOp{Op: "enable", Run: m.Run})
			if err == nil {
				n.log.Warn("maintenance enabled", "run", m.Run, "by", m.StartedBy)
			}
			return err
		case len(waiting) > 0 && m.Deadline > 0 && now >= m.Deadline:
			reason := fmt.Sprintf("timed out after %d ms waiting for full syncs to %s", m.Deadline-m.StartedAt, strings.Join(waiting, ", "))
			_, err := n.proposeMaint(&maintOp{Op: "abort", Run: m.Run, Reason: reason})
			if err == nil {
				n.log.Warn("maintenance START aborted", "run", m.Run, "reason", reason)
			}
			return err
		}
	case PhaseEnding:
		if _, missing := n.maintProgress(st); len(missing) == 0 || now-m.EndedAt > grace {
			if len(missing) > 0 {
				n.log.Warn("maintenance END: members did not report; clearing the flag without them", "members", missing)
			}
			_, err := n.proposeMaint(&maintOp{Op: "clear", Run: m.Run})
			if err == nil {
				n.log.Warn("maintenance ended", "run", m.Run)
			}
			return err
		}
	}
	return nil
}

// proposeMaint commits op through the catalog leader.
func (n *Node) proposeMaint(op *maintOp) (maintResult, error) {
	resp, err := n.propose(&command{Op: opMaintenance, Maint: op})
	if err != nil {
		return maintResult{}, &Error{Code: "TRYAGAIN", Msg: "the cluster catalog is not reachable: " + err.Error()}
	}
	if resp.Err != "" {
		return maintResult{}, errf("%s", resp.Err)
	}
	var r maintResult
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return maintResult{}, fmt.Errorf("cluster: maintenance result: %w", err)
	}
	return r, nil
}

// proposeMaintWait is proposeMaint for a command: while the catalog has
// no reachable leader (a node just started, an election) it retries for
// up to the node timeout, or until ctx ends.
func (n *Node) proposeMaintWait(ctx context.Context, op *maintOp) (maintResult, error) {
	deadline := time.Now().Add(max(n.cfg.NodeTimeout, 2*time.Second))
	backoff := 10 * time.Millisecond
	for {
		r, err := n.proposeMaint(op)
		if ce, ok := err.(*Error); !ok || ce.Code != "TRYAGAIN" || time.Now().Add(backoff).After(deadline) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, err
		case <-n.stop:
			return r, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// failoverHeld reports whether maintenance holds the automatic failover
// of failed primary p (checkFailover asks it); each failure held is
// counted and logged once.
func (n *Node) failoverHeld(st *State, p string) bool {
	if !st.Maintenance.enforced() {
		return false
	}
	n.mu.Lock()
	since := n.mu.failing[p]
	n.mu.Unlock()
	mt := &n.maint
	mt.mu.Lock()
	if mt.mu.held == nil {
		mt.mu.held = map[string]time.Time{}
	}
	first := !mt.mu.held[p].Equal(since)
	mt.mu.held[p] = since
	mt.mu.Unlock()
	if first {
		mt.held.Add(1)
		mt.metrics.held.Inc()
		n.log.Warn("automatic failover held: the cluster is under maintenance", "primary", p, "run", st.Maintenance.Run)
	}
	return true
}

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
