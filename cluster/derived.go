package cluster

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoaldb/shoal/internal/failpoint"
)

// applyDerived hands the catalog state at raft index idx, which the node's
// loop read after a catalog change or at a tick, to the schema pipeline
// (schema.go), which applies the recorded events from it on its own
// goroutine. The first call starts that goroutine; it ends with the node.
func (n *Node) applyDerived(st *State, idx uint64) {
	n.schema.start.Do(func() {
		// NB: the loop calling this holds a count of n.wg, so Close's
		// Wait cannot have returned yet.
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.schema.pipe.run(n.stop)
		}()
	})
	n.schema.pipe.offer(st)
}

// deriveAdmin turns catalog state st into this node's derived admin state
// (the maintenance flag it enforces, the components it loaded). The schema
// pipeline calls it, from its goroutine only: with full false to apply
// events (the state at their epoch, as the loop handed it over), with
// full true for a full resync (a fresh copy of the whole catalog).
//
// NB: both call the same derive functions today. They are idempotent and
// read the whole state they are given, and they keep no cache of what
// they applied before that a resync would have to reset first; a derive
// function that comes to keep one must rebuild it when full is set.
//
// The failpoint schema/apply fails an attempt: "error" transiently,
// "permanent" with a Permanent error.
func (n *Node) deriveAdmin(st *State, full bool) error {
	switch failpoint.Eval("schema/apply") {
	case "error":
		return errors.New("cluster: failpoint schema/apply")
	case "permanent":
		return &Permanent{Err: errors.New("cluster: failpoint schema/apply")}
	}
	var errs []error
	if err := n.deriveMaintenance(st); err != nil {
		errs = append(errs, fmt.Errorf("maintenance: %w", err))
	}
	if err := n.deriveComponents(st); err != nil {
		errs = append(errs, fmt.Errorf("components: %w", err))
	}
	return errors.Join(errs...)
}

// schemaNode is this node's schema pipeline and the start of its
// goroutine.
type schemaNode struct {
	pipe  *schemaPipe
	start sync.Once
}

func (n *Node) initSchema(reg prometheus.Registerer) {
	m := newSchemaMetrics()
	n.schema.pipe = newSchemaPipe(n.cfg.Schema, n.log, m, n.deriveAdmin, func() *State {
		st, _ := n.fsm.state()
		return st
	})
	m.register(reg, n.schema.pipe)
}

// catalogChanged is the FSM's hook, called after every applied entry and
// every restore, one at a time and outside the FSM's lock: it records the
// catalog's epoch as an event and wakes the loop. It never blocks.
func (n *Node) catalogChanged() {
	n.schema.pipe.observe(n.fsm.epoch())
	n.kick()
}

// epoch returns the catalog's epoch.
func (f *fsm) epoch() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Epoch
}

// SchemaStatus is SCHEMA STATUS and GET /v1/schema.
type SchemaStatus struct {
	// Epoch is the catalog's epoch, as this node applied the catalog's log.
	Epoch uint64 `json:"epoch"`
	// AppliedEpoch is the catalog epoch whose derived state was applied
	// last.
	AppliedEpoch uint64 `json:"applied_epoch"`
	// Dirty is set when an apply failed after every retry or permanently,
	// until a full resync succeeds.
	Dirty bool `json:"dirty"`
	// Degraded is set by a permanent error, until a full resync succeeds;
	// DegradedError is that error's text.
	Degraded      bool   `json:"degraded"`
	DegradedError string `json:"degraded_error"`
	// PendingEvents counts the catalog changes recorded and not applied
	// yet, the one being applied included.
	PendingEvents int `json:"pending_events"`
	// LastResyncAt is when the last full resync started, in Unix
	// milliseconds; 0 before the first. LastResyncReason is its reason:
	// retry_exhausted, gap, manual or periodic.
	LastResyncAt     int64  `json:"last_resync_at"`
	LastResyncReason string `json:"last_resync_reason"`
	// Retries counts the retries of failed applies; Resyncs the full
	// resyncs, both since the node started.
	Retries int64 `json:"retries"`
	Resyncs int64 `json:"resyncs"`
}

// SchemaStatus is SCHEMA STATUS.
func (n *Node) SchemaStatus() SchemaStatus { return n.schema.pipe.status() }

// SchemaEpoch is SCHEMA EPOCH: the catalog's epoch.
func (n *Node) SchemaEpoch() uint64 { return n.fsm.epoch() }

// SchemaResync queues a full resync of the derived state (SCHEMA RESYNC)
// and returns at once; a resync already queued takes this one in. reason
// is one of the Resync* constants; any other counts as ResyncManual.
func (n *Node) SchemaResync(reason string) {
	if resyncRank[reason] == 0 {
		reason = ResyncManual
	}
	n.schema.pipe.request(reason)
}

// opBump is a catalog entry that changes nothing but the epoch.
const opBump = "bump"

// CatalogBump proposes count catalog entries that change nothing but the
// epoch, one after the other (DEBUG CATALOG-BUMP): a way to drive the
// schema pipeline without changing any state. While the catalog has no
// leader ready (it just started, or elects one) it waits up to 5 s.
func (n *Node) CatalogBump(count int) error {
	deadline := time.Now().Add(5 * time.Second)
	wait := 10 * time.Millisecond
	for done := 0; done < count; {
		resp, err := n.propose(&command{Op: opBump})
		if (errors.Is(err, ErrNoLeader) || errors.Is(err, ErrNotLeader)) && time.Now().Before(deadline) {
			select {
			case <-n.stop:
				return errf("the node is shutting down")
			case <-time.After(wait):
			}
			wait = min(2*wait, 200*time.Millisecond)
			continue
		}
		if err != nil {
			return &Error{Code: "TRYAGAIN", Msg: "the cluster catalog is not reachable: " + err.Error()}
		}
		if resp.Err != "" {
			return errf("%s", resp.Err)
		}
		done++
	}
	return nil
}
