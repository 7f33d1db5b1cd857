package cluster_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testcluster"
)

// schemaStat is one node's SCHEMA STATUS.
type schemaStat struct {
	epoch, applied, pending, retries, resyncs int64
	dirty, degraded                           bool
	reason, degradedErr                       string
}

func (s schemaStat) String() string {
	return fmt.Sprintf("epoch %d applied %d pending %d dirty %v degraded %v retries %d resyncs %d reason %q",
		s.epoch, s.applied, s.pending, s.dirty, s.degraded, s.retries, s.resyncs, s.reason)
}

func schemaStatusOf(ctx context.Context, n *testcluster.Node) (schemaStat, error) {
	v, err := n.Do(ctx, "SCHEMA", "STATUS").Result()
	if err != nil {
		return schemaStat{}, err
	}
	f := map[string]string{}
	switch r := v.(type) {
	case map[any]any:
		for k, x := range r {
			f[fmt.Sprint(k)] = fmt.Sprint(x)
		}
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			f[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
		}
	default:
		return schemaStat{}, fmt.Errorf("SCHEMA STATUS reply %T", v)
	}
	num := func(k string) int64 { x, _ := strconv.ParseInt(f[k], 10, 64); return x }
	return schemaStat{epoch: num("epoch"), applied: num("applied_epoch"), pending: num("pending_events"),
		retries: num("retries"), resyncs: num("resyncs"), dirty: f["dirty"] == "1", degraded: f["degraded"] == "1",
		reason: f["last_resync_reason"], degradedErr: f["degraded_error"]}, nil
}

func schemaStatuses(t *testing.T, c *testcluster.Cluster) []schemaStat {
	t.Helper()
	ctx := ctxT(t)
	out := make([]schemaStat, len(c.Nodes))
	for i, n := range c.Nodes {
		s, err := schemaStatusOf(ctx, n)
		if err != nil {
			t.Fatalf("node %d SCHEMA STATUS: %v", n.ID, err)
		}
		out[i] = s
	}
	return out
}

// schemaConverged waits until every node has applied the same catalog
// epoch, at least min, with nothing pending, not dirty and not degraded,
// and returns the nodes' statuses.
func schemaConverged(t *testing.T, c *testcluster.Cluster, min int64) []schemaStat {
	t.Helper()
	ctx := ctxT(t)
	var out []schemaStat
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		out = out[:0]
		var seen []string
		ok := true
		for _, n := range c.Nodes {
			s, err := schemaStatusOf(ctx, n)
			if err != nil {
				return false, fmt.Sprintf("node %d: %v", n.ID, err)
			}
			out = append(out, s)
			seen = append(seen, fmt.Sprintf("node %d: %v", n.ID, s))
			ok = ok && s.epoch >= min && s.applied == s.epoch && s.epoch == out[0].epoch && s.pending == 0 && !s.dirty && !s.degraded
		}
		return ok, strings.Join(seen, "; ")
	})
	return out
}

// catalogEpoch is the catalog epoch node n knows of.
func catalogEpoch(t *testing.T, n *testcluster.Node) int64 {
	t.Helper()
	s, err := schemaStatusOf(ctxT(t), n)
	if err != nil {
		t.Fatalf("node %d SCHEMA STATUS: %v", n.ID, err)
	}
	return s.epoch
}

func bump(t *testing.T, n *testcluster.Node, count int) {
	t.Helper()
	if err := n.Do(ctxT(t), "DEBUG", "CATALOG-BUMP", count).Err(); err != nil {
		t.Fatalf("DEBUG CATALOG-BUMP %d on node %d: %v", count, n.ID, err)
	}
}

func arm(t *testing.T, n *testcluster.Node, name, term string) {
	t.Helper()
	if err := n.Do(ctxT(t), "DEBUG", "FAILPOINT", name, term).Err(); err != nil {
		t.Fatalf("DEBUG FAILPOINT %s %s on node %d: %v", name, term, n.ID, err)
	}
}

// TestSchemaEpochs drives the schema pipeline of a 3-node cluster through
// a burst of changes, failures within and beyond the retry limit, a
// dropped event and a permanent error, and checks after each that every
// node applied the same epoch.
func TestSchemaEpochs(t *testing.T) {
	const maxRetries = 4
	c := start(t, testcluster.Options{ExtraArgs: []string{
		"--schema-retry-base-ms", "20", "--schema-event-max-retries", strconv.Itoa(maxRetries)}})
	ctx := ctxT(t)
	before := schemaConverged(t, c, 1)
	e := before[0].epoch
	t.Logf("formed at catalog epoch %d", e)

	t.Run("burst", func(t *testing.T) {
		// Two nodes propose 25 changes each at once; the leader orders them.
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, n := range c.Nodes[1:] {
			wg.Go(func() { errs <- n.Do(ctx, "DEBUG", "CATALOG-BUMP", 25).Err() })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		after := schemaConverged(t, c, e+50)
		for i, s := range after {
			if s.retries != before[i].retries || s.resyncs != before[i].resyncs {
				t.Fatalf("node %d after the burst: %v (before %v), want epoch %d or later and no retry or resync", i, s, before[i], e+50)
			}
		}
		e = after[0].epoch
	})

	t.Run("retried", func(t *testing.T) {
		// Three failures on every node, within the limit: retries only.
		before := schemaStatuses(t, c)
		for _, n := range c.Nodes {
			arm(t, n, "schema/apply", "3*error")
		}
		bump(t, c.Nodes[0], 1)
		after := schemaConverged(t, c, e+1)
		e = after[0].epoch
		for i, s := range after {
			if s.retries-before[i].retries != 3 || s.resyncs != before[i].resyncs {
				t.Fatalf("node %d: %v (before %v), want 3 more retries and no resync", i, s, before[i])
			}
		}
	})

	t.Run("exhausted", func(t *testing.T) {
		// One failure more than the first try and its retries: one
		// resync per node, then the same epoch everywhere.
		before := schemaStatuses(t, c)
		for _, n := range c.Nodes {
			arm(t, n, "schema/apply", strconv.Itoa(maxRetries+1)+"*error")
		}
		bump(t, c.Nodes[2], 1)
		after := schemaConverged(t, c, e+1)
		e = after[0].epoch
		for i, s := range after {
			if s.retries-before[i].retries != maxRetries || s.resyncs-before[i].resyncs != 1 || s.reason != "retry_exhausted" {
				t.Fatalf("node %d: %v (before %v), want %d more retries and exactly one resync for retry_exhausted", i, s, before[i], maxRetries)
			}
			if got := infoField(ctx, c.Nodes[i], "schema", "schema_last_resync_reason"); got != "retry_exhausted" {
				t.Fatalf("node %d INFO schema_last_resync_reason %q", i, got)
			}
		}
	})

	t.Run("gap", func(t *testing.T) {
		// Node 2 loses the next event; the one after reveals the gap.
		before := schemaStatuses(t, c)
		lossy := c.Nodes[2]
		arm(t, lossy, "schema/drop", "1*drop")
		bump(t, c.Nodes[0], 1)
		// The bump's event is lost: the node knows the epoch and has not
		// applied it, until a later change (the next bump, or one the
		// catalog made meanwhile, as a change of leader does) shows the
		// gap.
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
			s, err := schemaStatusOf(ctx, lossy)
			gapped := s.epoch > e && s.applied == s.epoch-1 && s.pending == 0
			return err == nil && (gapped || s.resyncs > before[2].resyncs), fmt.Sprintf("node 2: %v %v", s, err)
		})
		bump(t, c.Nodes[0], 1)
		after := schemaConverged(t, c, e+2)
		e = after[0].epoch
		for i, s := range after {
			want := int64(0)
			if c.Nodes[i] == lossy {
				want = 1
				if s.reason != "gap" {
					t.Fatalf("node %d: %v, want the last resync for a gap", i, s)
				}
			}
			if s.resyncs-before[i].resyncs != want || s.retries != before[i].retries {
				t.Fatalf("node %d: %v (before %v), want %d resync and no retry", i, s, before[i], want)
			}
		}
	})

	t.Run("permanent", func(t *testing.T) {
		// A permanent error on node 1 is not retried: the node is
		// degraded, and stays so through later changes, until a resync.
		before := schemaStatuses(t, c)
		bad := c.Nodes[1]
		arm(t, bad, "schema/apply", "permanent")
		bump(t, c.Nodes[0], 1)
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
			s, err := schemaStatusOf(ctx, bad)
			return err == nil && s.epoch > e && s.degraded && s.dirty && s.pending == 0, fmt.Sprintf("node 1: %v %v", s, err)
		})
		bump(t, c.Nodes[2], 3)
		e = catalogEpoch(t, c.Nodes[2])
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
			s, err := schemaStatusOf(ctx, bad)
			return err == nil && s.epoch >= e && s.pending == 0, fmt.Sprintf("node 1: %v %v", s, err)
		})
		e = schemaStatuses(t, c)[1].epoch
		s, err := schemaStatusOf(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		if !s.degraded || !s.dirty || s.retries != before[1].retries || s.resyncs != before[1].resyncs || !strings.Contains(s.degradedErr, "permanent") {
			t.Fatalf("node 1 after four changes under a permanent error: %v (%q), before %v; want degraded, dirty, no retry, no resync", s, s.degradedErr, before[1])
		}
		if got := infoField(ctx, bad, "schema", "schema_degraded"); got != "1" {
			t.Fatalf("node 1 INFO schema_degraded %q", got)
		}
		// The other nodes are unaffected.
		for _, n := range []*testcluster.Node{c.Nodes[0], c.Nodes[2]} {
			testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
				s, err := schemaStatusOf(ctx, n)
				return err == nil && s.applied >= e && !s.degraded, fmt.Sprintf("node %d: %v %v", n.ID, s, err)
			})
		}
		arm(t, bad, "schema/apply", "off")
		if err := bad.Do(ctx, "SCHEMA", "RESYNC").Err(); err != nil {
			t.Fatal(err)
		}
		after := schemaConverged(t, c, e)
		if s := after[1]; s.resyncs-before[1].resyncs != 1 || s.reason != "manual" {
			t.Fatalf("node 1 after SCHEMA RESYNC: %v, want one manual resync", s)
		}
	})
}

// TestSchemaPeriodicResync: a node that lost an event, with no later
// change to reveal it, catches up at the periodic resync; a node whose
// first applies failed at start (failpoints armed by the environment)
// catches up by retrying.
func TestSchemaPeriodicResync(t *testing.T) {
	c := start(t, testcluster.Options{
		ExtraArgs: []string{"--schema-resync-interval", "1000", "--schema-retry-base-ms", "20"},
		Env:       map[int]string{1: "schema/apply=2*error"},
	})
	ctx := ctxT(t)
	st := schemaConverged(t, c, 1)
	if st[1].retries < 2 {
		t.Fatalf("node 1 started with two failing applies: %v, want at least 2 retries", st[1])
	}
	lossy := c.Nodes[2]
	arm(t, lossy, "schema/drop", "1*drop")
	bump(t, c.Nodes[0], 1)
	e := st[0].epoch + 1
	// No later change: only the periodic resync brings node 2 to e.
	after := schemaConverged(t, c, e)
	if s := after[2]; s.epoch != e || s.reason != "periodic" || s.resyncs < 1 {
		t.Fatalf("node 2: %v, want epoch %d applied by a periodic resync", s, e)
	}
	if s, err := lossy.Do(ctx, "SCHEMA", "EPOCH").Int64(); err != nil || s != e {
		t.Fatalf("SCHEMA EPOCH on node 2 = %d, %v; want %d", s, err, e)
	}
}
