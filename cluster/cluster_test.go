package cluster_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testcluster"
)

func TestThreeNodesAgree(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	for _, n := range c.Nodes {
		info, err := n.Do(ctx, "CLUSTER", "INFO").Text()
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
			t.Fatalf("node %d CLUSTER INFO: %q %v", n.ID, info, err)
		}
		if got := infoField(ctx, n, "cluster", "cluster_enabled"); got != "1" {
			t.Fatalf("node %d cluster_enabled %q", n.ID, got)
		}
	}
	if err := p.Client().Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A replica that saw a newer writer epoch than the primary's is
	// refused: the primary is stale.
	epoch := infoField(ctx, p, "replication", "master_epoch")
	if err := p.Do(ctx, "REPLCONF", "writer-epoch", epoch).Err(); err != nil {
		t.Fatalf("REPLCONF writer-epoch %s: %v", epoch, err)
	}
	if err := p.Do(ctx, "REPLCONF", "writer-epoch", "999").Err(); err == nil || !strings.HasPrefix(err.Error(), "STALEEPOCH") {
		t.Fatalf("REPLCONF writer-epoch 999: %v, want STALEEPOCH", err)
	}
	for _, n := range c.Nodes {
		if n == p {
			continue
		}
		// A replica redirects a client that did not send READONLY.
		err := n.Client().Get(ctx, "k").Err()
		if err == nil || !strings.HasPrefix(err.Error(), "MOVED 7629 "+p.Addr()) {
			t.Fatalf("GET on replica %d: %v, want MOVED 7629 %s", n.ID, err, p.Addr())
		}
		if err := n.Client().Set(ctx, "k", "w", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED") {
			t.Fatalf("SET on replica %d: %v", n.ID, err)
		}
		testcluster.WaitFor(t, 5*time.Second, func() (bool, string) {
			v, err := readonlyClient(t, n).Get(ctx, "k").Result()
			return v == "v", fmt.Sprintf("READONLY GET on %d: %q %v", n.ID, v, err)
		})
	}
}

func TestKillPrimaryFailsOver(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	if ok, err := setAndWaitAll(ctx, p, "before", "1"); !ok || err != nil {
		t.Fatalf("WAITALL before the kill: %v %v", ok, err)
	}
	epoch := infoField(ctx, p, "replication", "master_epoch")
	p.Kill()
	np, took := waitServing(t, c, failoverBound, p)
	t.Logf("new primary %d serves %v after the kill", np.ID, took)
	if e := infoField(ctx, np, "replication", "master_epoch"); e <= epoch {
		t.Fatalf("writer epoch %s after failover, was %s", e, epoch)
	}
	if v, err := np.Client().Get(ctx, "before").Result(); v != "1" {
		t.Fatalf("acknowledged key after failover: %q %v", v, err)
	}
	// The old primary comes back as a replica of the new one.
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := stable(t, c); got != np {
		t.Fatalf("primary %d after the restart, want %d", got.ID, np.ID)
	}
	if err := np.Client().Set(ctx, "after", "2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		v, err := readonlyClient(t, p).Get(ctx, "after").Result()
		return v == "2", fmt.Sprintf("old primary reads %q %v", v, err)
	})
}

func TestWaitAllCountsAKilledReplica(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	var victim *testcluster.Node
	for _, n := range c.Nodes {
		if n != p {
			victim = n
		}
	}
	vid, err := victim.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	victim.Kill()
	conn := p.Client().Conn()
	defer conn.Close()
	if err := conn.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := conn.Do(ctx, "WAITALL", 300).Int64Slice()
	if err != nil || len(r) != 2 || r[0] != 1 || r[1] != 2 {
		t.Fatalf("WAITALL with a killed replica: %v %v, want [1 2]", r, err)
	}
	if err := conn.Do(ctx, "CLUSTER", "FORGET", vid).Err(); err != nil {
		t.Fatal(err)
	}
	r, err = conn.Do(ctx, "WAITALL", 300).Int64Slice()
	if err != nil || len(r) != 2 || r[0] != 1 || r[1] != 1 {
		t.Fatalf("WAITALL after CLUSTER FORGET: %v %v, want [1 1]", r, err)
	}
}

// TestAckedWritesSurviveKills kills the primary again and again under a
// write load; every write that WAITALL confirmed on all replicas must be
// on the last primary. SHOAL_CLUSTER_KILLS sets the number of kills
// (default 5).
func TestAckedWritesSurviveKills(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	kills := envInt("SHOAL_CLUSTER_KILLS", 5)
	acked := map[string]string{}
	seq := 0
	write := func(p *testcluster.Node, n int) {
		for i := 0; i < n; i++ {
			seq++
			k, v := "key"+itoa(seq), "val"+itoa(seq)
			if ok, _ := setAndWaitAll(ctx, p, k, v); ok {
				acked[k] = v
			}
		}
	}
	var durations []time.Duration
	p := stable(t, c)
	for round := 0; round < kills; round++ {
		write(p, 20)
		// Writes in flight at the kill: their outcome is unknown.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 50; i++ {
				if p.Client().Set(ctx, "flight"+itoa(i), "x", 0).Err() != nil {
					return
				}
			}
		}()
		p.Kill()
		<-done
		np, took := waitServing(t, c, failoverBound, p)
		durations = append(durations, took)
		if err := p.Restart(); err != nil {
			t.Fatal(err)
		}
		p = stable(t, c)
		if p != np {
			t.Fatalf("round %d: primary %d, want %d", round, p.ID, np.ID)
		}
	}
	write(p, 20)
	if len(acked) < 20*kills/2 {
		t.Fatalf("only %d of %d writes were confirmed by WAITALL", len(acked), seq)
	}
	for k, v := range acked {
		got, err := p.Client().Get(ctx, k).Result()
		if got != v {
			t.Fatalf("acknowledged %s=%s lost after %d kills: %q %v", k, v, kills, got, err)
		}
	}
	t.Logf("%d kills, %d writes confirmed, failover times %v", kills, len(acked), durations)
}

// TestFrozenPrimaryAcknowledgesNothing freezes the primary until a replica
// took over; once thawed, it must refuse every write.
func TestFrozenPrimaryAcknowledgesNothing(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	old := p.Client() // connected before the freeze
	if err := old.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	p.Freeze()
	np, took := waitServing(t, c, failoverBound, p)
	t.Logf("node %d took over %v after the freeze", np.ID, took)
	p.Thaw()
	refused(t, old, 50)
	stable(t, c)
}

// TestPartitionedPrimaryAcknowledgesNothing cuts the primary off; once the
// majority failed over, it must refuse every write.
func TestPartitionedPrimaryAcknowledgesNothing(t *testing.T) {
	c := start(t, testcluster.Options{})
	p := stable(t, c)
	c.Isolate(p)
	np, took := waitServing(t, c, failoverBound, p)
	t.Logf("node %d took over %v after the partition", np.ID, took)
	refused(t, p.Client(), 50)
	c.Heal()
	if got := stable(t, c); got != np {
		t.Fatalf("primary %d after healing, want %d", got.ID, np.ID)
	}
}

// refused sends n writes through cl and fails t if any is acknowledged.
func refused(t *testing.T, cl *redis.Client, n int) {
	t.Helper()
	ctx := ctxT(t)
	var errs []string
	for i := 0; i < n; i++ {
		err := cl.Set(ctx, "fenced"+itoa(i), "x", 0).Err()
		if err == nil {
			t.Fatalf("write %d acknowledged by a primary that was replaced", i)
		}
		if len(errs) < 3 {
			errs = append(errs, err.Error())
		}
	}
	t.Logf("the old primary refused %d writes: %s", n, strings.Join(errs, "; "))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestMeetAnotherClusterRefused: a node that bootstrapped its own catalog
// belongs to another cluster; gossip refuses to merge the two.
func TestMeetAnotherClusterRefused(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	other := testcluster.New(t, 1, testcluster.Options{NodeTimeout: nodeTimeout})
	o := other.Nodes[0]
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		return infoField(ctx, o, "cluster", "cluster_serving") == "1", "the lone node does not serve yet"
	})
	p := stable(t, c)
	err := p.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", o.Port, o.BusPort).Err()
	if err == nil || !strings.Contains(err.Error(), "belongs to another cluster") {
		t.Fatalf("CLUSTER MEET of another cluster's node: %v", err)
	}
	if lines, err := clusterNodes(ctx, p); err != nil || len(lines) != 3 {
		t.Fatalf("after the refused MEET the cluster has %d nodes (%v)", len(lines), err)
	}
	if lines, err := clusterNodes(ctx, o); err != nil || len(lines) != 1 {
		t.Fatalf("after the refused MEET the lone node knows %d nodes (%v)", len(lines), err)
	}
}

// TestEncryptedGossip runs a cluster whose gossip is encrypted.
func TestEncryptedGossip(t *testing.T) {
	c := start(t, testcluster.Options{ExtraArgs: []string{"--cluster-gossip-key", "c2hvYWwtZ29zc2lwLWtleQ=="}})
	p := stable(t, c)
	if ok, err := setAndWaitAll(ctxT(t), p, "k", "v"); !ok || err != nil {
		t.Fatalf("WAITALL with encrypted gossip: %v %v", ok, err)
	}
}

// TestRenewingPrimaryIsNotReplaced cuts gossip alone between the primary
// and both replicas, whose gossip then agrees the primary failed, while
// the primary still reaches the catalog and renews its lease there: the
// catalog's leader refuses the failover they ask for, and the primary
// keeps its epoch; once gossip heals, the replicas see it alive again.
func TestRenewingPrimaryIsNotReplaced(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	pid, epoch := primaryEpoch(t, p)
	bus := func(n *testcluster.Node) string { return fmt.Sprintf("127.0.0.1:%d", n.BusPort) }
	var replicas []*testcluster.Node
	drop := []any{"DEBUG", "NETFAULT", "DROP"}
	for _, n := range c.Nodes {
		if n != p {
			replicas = append(replicas, n)
			drop = append(drop, bus(n))
		}
	}
	if err := p.Do(ctx, drop...).Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range replicas {
		if err := r.Do(ctx, "DEBUG", "NETFAULT", "DROP", bus(p)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range replicas {
		waitSeesFailed(t, r, pid)
	}
	// NB: a failover waits out the primary's lease, half the node
	// timeout; give it several of those.
	time.Sleep(4 * nodeTimeout)
	for _, r := range replicas {
		if n := infoField(ctx, r, "cluster", "cluster_failovers"); n != "" && n != "0" {
			t.Fatalf("replica %d promoted itself %s times", r.ID, n)
		}
	}
	for _, n := range c.Nodes {
		if err := n.Do(ctx, "DEBUG", "NETFAULT", "HEAL").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := stable(t, c); got != p {
		t.Fatalf("primary %d after healing, want %d", got.ID, p.ID)
	}
	for _, r := range replicas {
		waitSeesPrimary(t, r, pid, epoch)
	}
}

// TestIsolatedReplicaReplacesNoOne cuts a replica off until its gossip
// declares the primary failed, then heals the network: a member whose
// view is behind the others' must not replace the primary they reach.
func TestIsolatedReplicaReplacesNoOne(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	pid, epoch := primaryEpoch(t, p)
	r := c.Nodes[0]
	if r == p {
		r = c.Nodes[1]
	}
	c.Isolate(r)
	waitSeesFailed(t, r, pid)
	c.Heal()
	if got := stable(t, c); got != p {
		t.Fatalf("primary %d after healing, want %d", got.ID, p.ID)
	}
	// A failover the isolated node began would land once it reaches the
	// catalog again: its own view must show the same primary and epoch
	// once it sees the primary alive.
	waitSeesPrimary(t, r, pid, epoch)
	if n := infoField(ctx, r, "cluster", "cluster_failovers"); n != "" && n != "0" {
		t.Fatalf("the isolated node promoted itself %s times", n)
	}
}

// primaryEpoch returns the id of primary p and its epoch in CLUSTER NODES.
func primaryEpoch(t *testing.T, p *testcluster.Node) (id, epoch string) {
	t.Helper()
	ctx := ctxT(t)
	id, err := p.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	lines, err := clusterNodes(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return id, lines[id].epoch
}

// waitSeesFailed waits until n's CLUSTER NODES flags node id as failed.
func waitSeesFailed(t *testing.T, n *testcluster.Node, id string) {
	t.Helper()
	waitSees(t, n, id, "", func(l nodeLine) bool { return strings.HasSuffix(l.flags, ",fail") })
}

// waitSeesPrimary waits until n's CLUSTER NODES shows node id as a primary
// alive at epoch.
func waitSeesPrimary(t *testing.T, n *testcluster.Node, id, epoch string) {
	t.Helper()
	waitSees(t, n, id, ", epoch was "+epoch, func(l nodeLine) bool { return l.flags == "master" && l.epoch == epoch })
}

// waitSees waits until node id's line in n's CLUSTER NODES satisfies ok.
func waitSees(t *testing.T, n *testcluster.Node, id, note string, ok func(nodeLine) bool) {
	t.Helper()
	ctx := ctxT(t)
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		lines, err := clusterNodes(ctx, n)
		if err != nil {
			return false, err.Error()
		}
		return ok(lines[id]), fmt.Sprintf("node %d sees the primary as %+v%s", n.ID, lines[id], note)
	})
}
