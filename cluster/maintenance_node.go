package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
