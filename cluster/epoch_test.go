package cluster_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testcluster"
)

// TestEpochBumpRace sends CLUSTER FAILOVER FORCE to both replicas at once:
// the catalog's compare-and-swap lets one bump win, the other must give up,
// and at no moment may two nodes serve as primary.
func TestEpochBumpRace(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	e0 := epochOf(ctx, p)
	rs := replicasOf(c, p)

	poll := pollServing(t, c, 3*time.Second)
	goAhead := make(chan struct{})
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-goAhead
			errs[i] = r.Do(ctx, "CLUSTER", "FAILOVER", "FORCE").Err()
		}()
	}
	close(goAhead)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CLUSTER FAILOVER FORCE on replica %d: %v", rs[i].ID, err)
		}
	}
	// Both replicas still at the old epoch after both replies: both bumps
	// were scheduled against the old primary, so exactly one may land.
	oneTarget := epochOf(ctx, rs[0]) == e0 && epochOf(ctx, rs[1]) == e0

	np, took := waitServing(t, c, failoverBound, p)
	if got := stable(t, c); got != np {
		t.Fatalf("primary %d once stable, but node %d served first after the race", got.ID, np.ID)
	}
	seen := poll()
	if seen.most > 1 {
		t.Fatalf("%d nodes reported cluster_serving:1 in one sample during the race: %s", seen.most, seen.who)
	}
	if seen.samples-seen.slow < 10 {
		t.Fatalf("only %d of %d samples of cluster_serving during the race took under %v", seen.samples-seen.slow, seen.samples, pollSampleSpan)
	}
	e := waitSameEpoch(t, c)
	if e <= e0 {
		t.Fatalf("writer epoch %d after the race, was %d", e, e0)
	}
	if oneTarget && e != e0+1 {
		t.Fatalf("writer epoch %d after two racing bumps from %d: the losing bump must be superseded, not applied after the winner's", e, e0)
	}
	if ok, err := setAndWaitAll(ctx, np, "after-race", "1"); !ok || err != nil {
		t.Fatalf("SET + WAITALL on the winner %d: confirmed %v, err %v", np.ID, ok, err)
	}
	var stats []string
	for _, r := range rs {
		stats = append(stats, fmt.Sprintf("node %d: failovers %s attempts %s conflicts %s", r.ID,
			infoField(ctx, r, "cluster", "cluster_failovers"),
			infoField(ctx, r, "cluster", "cluster_epoch_bump_attempts"),
			infoField(ctx, r, "cluster", "cluster_epoch_bump_conflicts")))
	}
	t.Logf("node %d won the race; epoch %d -> %d; serving %v after the FORCEs; %d samples (%d too slow to count), at most %d serving; %s",
		np.ID, e0, e, took, seen.samples, seen.slow, seen.most, strings.Join(stats, "; "))
}

// TestEpochBumpLostReply drops the catalog leader's reply to the swap that
// promotes a replica: the replica must learn from its nonce that it won,
// not bump a second time.
func TestEpochBumpLostReply(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	e0 := epochOf(ctx, p)
	r := replicasOf(c, p)[0]
	armAll(t, c, "catalog/cas-reply", "1*drop")
	if err := r.Do(ctx, "CLUSTER", "FAILOVER", "FORCE").Err(); err != nil {
		t.Fatalf("CLUSTER FAILOVER FORCE on replica %d: %v", r.ID, err)
	}
	np, took := waitServing(t, c, failoverBound, p)
	if np != r {
		t.Fatalf("node %d serves after CLUSTER FAILOVER FORCE on node %d", np.ID, r.ID)
	}
	if got := stable(t, c); got != r {
		t.Fatalf("primary %d once stable, want %d", got.ID, r.ID)
	}
	if e := waitSameEpoch(t, c); e != e0+1 {
		t.Fatalf("writer epoch %d after one bump whose reply was lost, want %d", e, e0+1)
	}
	if got := infoField(ctx, r, "cluster", "cluster_epoch_bump_timeouts"); got != "0" {
		t.Fatalf("cluster_epoch_bump_timeouts on node %d: %q, want 0", r.ID, got)
	}
	if got := infoField(ctx, r, "cluster", "cluster_failovers"); got != "1" {
		t.Fatalf("cluster_failovers on node %d: %q, want 1", r.ID, got)
	}
	t.Logf("node %d promoted after %v, epoch %d -> %d, attempts %s, conflicts %s, catalog leader here %s", r.ID, took, e0, e0+1,
		infoField(ctx, r, "cluster", "cluster_epoch_bump_attempts"),
		infoField(ctx, r, "cluster", "cluster_epoch_bump_conflicts"),
		infoField(ctx, r, "cluster", "cluster_catalog_leader"))
}

// TestEpochBumpTimeout makes every swap conflict: the bump must give up
// after cluster-epoch-bump-timeout with the primary untouched, and a
// failover must work once the conflicts stop.
func TestEpochBumpTimeout(t *testing.T) {
	c := start(t, testcluster.Options{ExtraArgs: []string{"--cluster-epoch-bump-timeout", "1500"}})
	ctx := ctxT(t)
	p := stable(t, c)
	e0 := epochOf(ctx, p)
	r := replicasOf(c, p)[0]
	armAll(t, c, "catalog/cas", "conflict")
	begin := time.Now()
	if got, err := r.Do(ctx, "CLUSTER", "FAILOVER", "FORCE").Text(); got != "OK" {
		t.Fatalf("CLUSTER FAILOVER FORCE on replica %d: %q %v, want OK (scheduled)", r.ID, got, err)
	}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		got := infoField(ctx, r, "cluster", "cluster_epoch_bump_timeouts")
		return got == "1", "cluster_epoch_bump_timeouts " + got
	})
	gaveUp := time.Since(begin)
	attempts := infoInt(ctx, r, "cluster", "cluster_epoch_bump_attempts")
	conflicts := infoInt(ctx, r, "cluster", "cluster_epoch_bump_conflicts")
	if conflicts < 2 || attempts < 2 {
		t.Fatalf("bump attempts %d, conflicts %d before the timeout; want at least 2 of each", attempts, conflicts)
	}
	for _, n := range c.Nodes {
		if e := epochOf(ctx, n); e != e0 {
			t.Fatalf("node %d at writer epoch %d after a bump that timed out, was %d", n.ID, e, e0)
		}
	}
	testcluster.WaitFor(t, 5*time.Second, func() (bool, string) {
		s := serving(ctx, c)
		return len(s) == 1 && s[0] == p, fmt.Sprintf("%d nodes serve, want only the primary %d", len(s), p.ID)
	})
	if got := stable(t, c); got != p {
		t.Fatalf("primary %d after a bump that timed out, want %d", got.ID, p.ID)
	}
	t.Logf("bump on node %d gave up after ~%v: %d attempts, %d conflicts", r.ID, gaveUp, attempts, conflicts)

	armAll(t, c, "catalog/cas", "off")
	// NB: the timeout is counted a moment before the bump is marked done;
	// a failover asked in between is refused as in progress.
	testcluster.WaitFor(t, 5*time.Second, func() (bool, string) {
		err := r.Do(ctx, "CLUSTER", "FAILOVER").Err()
		return err == nil, fmt.Sprintf("CLUSTER FAILOVER on node %d: %v", r.ID, err)
	})
	np, took := waitServing(t, c, failoverBound, p)
	if np != r {
		t.Fatalf("node %d serves after CLUSTER FAILOVER on node %d", np.ID, r.ID)
	}
	if got := stable(t, c); got != r {
		t.Fatalf("primary %d once stable, want %d", got.ID, r.ID)
	}
	if e := waitSameEpoch(t, c); e != e0+1 {
		t.Fatalf("writer epoch %d after the failover, want %d", e, e0+1)
	}
	t.Logf("with the conflicts gone, node %d took over in %v", r.ID, took)
}

// TestManualFailover runs CLUSTER FAILOVER on a replica while a client
// writes to the primary: the handover loses no write that WAITALL
// confirmed on every replica.
func TestManualFailover(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	r := replicasOf(c, p)[0]
	for _, mode := range []string{"", "FORCE", "TAKEOVER"} {
		args := []any{"CLUSTER", "FAILOVER"}
		if mode != "" {
			args = append(args, mode)
		}
		err := p.Do(ctx, args...).Err()
		if want := "ERR You should send CLUSTER FAILOVER to a replica"; err == nil || err.Error() != want {
			t.Fatalf("CLUSTER FAILOVER %s on the primary: %v, want %q", mode, err, want)
		}
	}

	type result struct {
		acked  map[string]string
		failed int
		errs   []string
	}
	stop := make(chan struct{})
	done := make(chan result, 1)
	var nAcked atomic.Int64
	go func() {
		res := result{acked: map[string]string{}}
		defer func() { done <- res }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k, v := "mf"+itoa(i), "v"+itoa(i)
			ok, err := setAndWaitAll(ctx, p, k, v)
			if ok {
				res.acked[k] = v
				nAcked.Add(1)
				continue
			}
			res.failed++
			if err != nil && len(res.errs) < 3 {
				res.errs = append(res.errs, err.Error())
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	stopWriter := sync.OnceValue(func() result {
		close(stop)
		return <-done
	})
	t.Cleanup(func() { stopWriter() })

	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		return nAcked.Load() >= 20, fmt.Sprintf("%d writes confirmed before the failover", nAcked.Load())
	})
	before := nAcked.Load()
	if err := r.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatalf("CLUSTER FAILOVER on replica %d: %v", r.ID, err)
	}
	np, took := waitServing(t, c, failoverBound, p)
	if np != r {
		t.Fatalf("node %d serves after CLUSTER FAILOVER on node %d", np.ID, r.ID)
	}
	if got := stable(t, c); got != r {
		t.Fatalf("primary %d once stable, want %d", got.ID, r.ID)
	}
	res := stopWriter()
	for k, v := range res.acked {
		if got, err := r.Client().Get(ctx, k).Result(); got != v {
			t.Fatalf("%s=%s confirmed by WAITALL on the old primary, new primary has %q (%v)", k, v, got, err)
		}
	}
	t.Logf("node %d took over in %v; %d writes confirmed (%d before CLUSTER FAILOVER), %d not confirmed: %s",
		r.ID, took, len(res.acked), before, res.failed, strings.Join(res.errs, "; "))
}

// replicasOf returns the nodes other than p, in order.
func replicasOf(c *testcluster.Cluster, p *testcluster.Node) []*testcluster.Node {
	var out []*testcluster.Node
	for _, n := range c.Nodes {
		if n != p {
			out = append(out, n)
		}
	}
	return out
}

// infoInt is infoField as a number; -1 when it is missing.
func infoInt(ctx context.Context, n *testcluster.Node, section, field string) int64 {
	v, err := strconv.ParseInt(infoField(ctx, n, section, field), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// epochOf is n's cluster_writer_epoch; -1 when INFO fails.
func epochOf(ctx context.Context, n *testcluster.Node) int64 {
	return infoInt(ctx, n, "cluster", "cluster_writer_epoch")
}

// waitSameEpoch waits until every running node reports the same writer
// epoch and returns it.
func waitSameEpoch(t *testing.T, c *testcluster.Cluster) int64 {
	t.Helper()
	ctx := ctxT(t)
	var e int64
	testcluster.WaitFor(t, 5*time.Second, func() (bool, string) {
		var seen []string
		e = -1
		same := true
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			ne := epochOf(ctx, n)
			seen = append(seen, fmt.Sprintf("node %d: %d", n.ID, ne))
			if e == -1 {
				e = ne
			}
			same = same && ne == e && ne >= 0
		}
		return same, "writer epochs differ: " + strings.Join(seen, ", ")
	})
	return e
}

// armAll sets failpoint name to term ("off" disarms) on every running
// node: the catalog leader, whichever it is, evaluates it.
func armAll(t *testing.T, c *testcluster.Cluster, name, term string) {
	t.Helper()
	ctx := ctxT(t)
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		if err := n.Do(ctx, "DEBUG", "FAILPOINT", name, term).Err(); err != nil {
			t.Fatalf("DEBUG FAILPOINT %s %s on node %d: %v", name, term, n.ID, err)
		}
	}
}

// pollSampleSpan is the longest a sample of pollServing may take and
// still count. A new primary serves at the earliest delta (50 ms with the
// tests' 1 s node timeout) plus the drift margin after the old primary's
// lease ended, so two nodes serving in a sample that short overlapped.
const pollSampleSpan = 25 * time.Millisecond

// servingPoll is what pollServing saw.
type servingPoll struct {
	// most is the most nodes serving in one sample; who names them.
	most int
	who  string
	// samples counts the samples, slow those left out for taking longer
	// than pollSampleSpan.
	samples, slow int
}

// pollServing samples every few milliseconds which nodes serve as primary,
// asking all nodes at once so that one sample describes nearly one moment
// (serving asks one node after the other). The returned function stops the
// sampling once it has run for window and reports what it saw; at cleanup
// the sampling stops at once.
func pollServing(t *testing.T, c *testcluster.Cluster, window time.Duration) func() servingPoll {
	ctx, cancel := context.WithCancel(context.Background())
	begin := time.Now()
	done := make(chan servingPoll, 1)
	go func() {
		var o servingPoll
		defer func() { done <- o }()
		for ctx.Err() == nil {
			up := make([]bool, len(c.Nodes))
			sent := time.Now()
			var wg sync.WaitGroup
			for i, n := range c.Nodes {
				if !n.Running() || n.Frozen() {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					up[i] = infoField(ctx, n, "cluster", "cluster_serving") == "1"
				}()
			}
			wg.Wait()
			if ctx.Err() != nil {
				return
			}
			o.samples++
			if time.Since(sent) > pollSampleSpan {
				o.slow++
			} else {
				var ids []string
				for i, s := range up {
					if s {
						ids = append(ids, "node "+itoa(i))
					}
				}
				if len(ids) > o.most {
					o.most, o.who = len(ids), strings.Join(ids, ", ")
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(3 * time.Millisecond):
			}
		}
	}()
	stop := sync.OnceValue(func() servingPoll {
		cancel()
		return <-done
	})
	t.Cleanup(func() { stop() })
	return func() servingPoll {
		// NB: not a wait for anything: the observation window.
		time.Sleep(window - time.Since(begin))
		return stop()
	}
}
