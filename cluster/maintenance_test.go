package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testcluster"
)

const errMaintenance = "MAINTENANCE Server is under maintenance. Please retry in a few minutes"

// maintStatus returns MAINTENANCE STATUS on n as a map (RESP3 map or RESP2
// flat array) with paused as "kind:id" strings and waiting as strings.
func maintStatus(ctx context.Context, n *testcluster.Node) (map[string]any, error) {
	v, err := n.Do(ctx, "MAINTENANCE", "STATUS").Result()
	if err != nil {
		return nil, err
	}
	st := maintMap(v)
	var paused, waiting []string
	for _, it := range st["paused"].([]any) {
		m := maintMap(it)
		paused = append(paused, fmt.Sprintf("%v:%v", m["kind"], m["id"]))
	}
	for _, w := range st["waiting"].([]any) {
		waiting = append(waiting, fmt.Sprint(w))
	}
	st["paused"], st["waiting"] = paused, waiting
	return st, nil
}

// maintMap reads a RESP3 map or a RESP2 flat array as a map.
func maintMap(v any) map[string]any {
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, x := range m {
			out[fmt.Sprint(k)] = x
		}
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[fmt.Sprint(m[i])] = m[i+1]
		}
	}
	return out
}

func linkUp(ctx context.Context, n *testcluster.Node) (bool, string) {
	s := infoField(ctx, n, "replication", "master_link_status")
	return s == "up", fmt.Sprintf("node %d: master_link_status %q", n.ID, s)
}

// TestMaintenanceWaitsForFullSync: on plain nodes, START waits for a full
// sync in progress, which STATUS shows; a second START with SKIPSYNC
// releases the wait; a full sync asked for during maintenance is refused
// until END; a TIMEOUT that passes first abandons START.
func TestMaintenanceWaitsForFullSync(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (-short)")
	}
	// NB: the node timeout also paces a plain node's catalog loop.
	c := testcluster.NewPlain(t, 2, testcluster.Options{ExtraArgs: []string{"--cluster-node-timeout", "1000"}})
	ctx := ctxT(t)
	p, r := c.Nodes[0], c.Nodes[1]
	if err := p.Client().Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The primary holds its full sync until the failpoint is switched off.
	if err := p.Do(ctx, "DEBUG", "FAILPOINT", "replication/full-sync", "pause").Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Do(ctx, "REPLICAOF", "127.0.0.1", p.Port).Err(); err != nil {
		t.Fatal(err)
	}
	fullSyncRuns := func() (bool, string) {
		s := infoField(ctx, p, "replication", "slave0")
		return strings.Contains(s, "state=send_bulk"), "slave0 " + s
	}
	testcluster.WaitFor(t, 10*time.Second, fullSyncRuns)
	started := make(chan error, 1)
	go func() { started <- p.Do(ctx, "MAINTENANCE", "START").Err() }()
	var replica string
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		st, err := maintStatus(ctx, p)
		if err != nil {
			return false, err.Error()
		}
		if w := st["waiting"].([]string); st["phase"] == "starting" && len(w) == 1 {
			replica = w[0]
			return true, ""
		}
		return false, fmt.Sprintf("STATUS %v", st)
	})
	select {
	case err := <-started:
		t.Fatalf("START returned (%v) while a full sync runs", err)
	default:
	}
	if err := p.Do(ctx, "MAINTENANCE", "START", "SKIPSYNC", replica).Err(); err != nil {
		t.Fatalf("START SKIPSYNC %s: %v", replica, err)
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("the first START: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SKIPSYNC did not release the first START")
	}
	st, err := maintStatus(ctx, p)
	if err != nil || st["phase"] != "enabled" || len(st["paused"].([]string)) != 2 {
		t.Fatalf("STATUS after START: %v %v", st, err)
	}
	wantMaint := func(args ...any) {
		t.Helper()
		if err := p.Do(ctx, args...).Err(); err == nil || err.Error() != errMaintenance {
			t.Fatalf("%v under maintenance: %v", args, err)
		}
	}
	wantMaint("REPLICAOF", "127.0.0.1", r.Port)
	wantMaint("CONFIG", "SET", "min-replicas-to-write", "1")

	// The skipped full sync goes on and ends during maintenance.
	if err := p.Do(ctx, "DEBUG", "FAILPOINT", "replication/full-sync", "off").Err(); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) { return linkUp(ctx, r) })

	// A full sync asked for now is deferred: the replica starts a history
	// of its own, which the primary cannot continue partially.
	if err := r.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Do(ctx, "REPLICAOF", "127.0.0.1", p.Port).Err(); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		return strings.Contains(r.Log(), errMaintenance), "the replica was not refused a full sync"
	})
	if err := p.Client().Set(ctx, "during", "2", 0).Err(); err != nil {
		t.Fatalf("SET under maintenance: %v", err)
	}
	if up, _ := linkUp(ctx, r); up {
		t.Fatal("the replica's link is up although its full sync is deferred")
	}
	if err := p.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatalf("END: %v", err)
	}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) { return linkUp(ctx, r) })
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		v, err := r.Client().Get(ctx, "during").Result()
		return v == "2", fmt.Sprintf("GET during on the replica: %q %v", v, err)
	})

	// START gives up past its TIMEOUT while a full sync runs.
	if err := p.Do(ctx, "DEBUG", "FAILPOINT", "replication/full-sync", "pause").Err(); err != nil {
		t.Fatal(err)
	}
	r.Do(ctx, "REPLICAOF", "NO", "ONE")
	r.Do(ctx, "REPLICAOF", "127.0.0.1", p.Port)
	testcluster.WaitFor(t, 10*time.Second, fullSyncRuns)
	err = p.Do(ctx, "MAINTENANCE", "START", "TIMEOUT", "200").Err()
	if err == nil || !strings.Contains(err.Error(), "timed out after 200 ms waiting for full syncs to "+replica) {
		t.Fatalf("START TIMEOUT 200 during a full sync: %v", err)
	}
	if st, err := maintStatus(ctx, p); err != nil || st["phase"] != "none" || st["enabled"] != int64(0) {
		t.Fatalf("STATUS after the abandoned START: %v %v", st, err)
	}
	if err := p.Do(ctx, "DEBUG", "FAILPOINT", "replication/full-sync", "off").Err(); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) { return linkUp(ctx, r) })
}

// TestMaintenanceCluster: on a 3-node cluster, START on a replica holds
// failover and refuses topology changes on every node; the primary killed
// and restarted comes back as the primary at the same epoch; a restarted
// member pauses its activities again; END after a change of catalog
// leader restores everything; then a kill fails over again.
func TestMaintenanceCluster(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	var replicas []*testcluster.Node
	for _, n := range c.Nodes {
		if n != p {
			replicas = append(replicas, n)
		}
	}
	epoch := infoField(ctx, p, "replication", "master_epoch")
	if err := replicas[0].Do(ctx, "MAINTENANCE", "START").Err(); err != nil {
		t.Fatalf("START: %v", err)
	}
	ids := map[*testcluster.Node]string{}
	for _, n := range c.Nodes {
		ids[n], _ = n.Do(ctx, "CLUSTER", "MYID").Text()
	}
	enforcing := func(n *testcluster.Node) (bool, string) {
		st, err := maintStatus(ctx, n)
		if err != nil {
			return false, err.Error()
		}
		local := infoField(ctx, n, "maintenance", "maintenance_local_paused")
		want := []string{"failover:0"}
		for _, m := range c.Nodes {
			want = append(want, "expiry:"+ids[m], "fullsync:"+ids[m])
		}
		slices.Sort(want)
		got := st["paused"].([]string)
		slices.Sort(got)
		ok := st["enabled"] == int64(1) && slices.Equal(got, want) && local == "expiry,fullsync"
		return ok, fmt.Sprintf("node %d: STATUS %v, local %q", n.ID, st, local)
	}
	for _, n := range c.Nodes {
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) { return enforcing(n) })
	}
	for _, n := range c.Nodes {
		for _, args := range [][]any{
			{"CLUSTER", "FAILOVER", "FORCE"},
			{"CLUSTER", "FORGET", ids[replicas[1]]},
			{"REPLICAOF", "NO", "ONE"},
			{"CONFIG", "SET", "cluster-epoch-bump-timeout", "1000"},
		} {
			if err := n.Do(ctx, args...).Err(); err == nil || err.Error() != errMaintenance {
				t.Fatalf("node %d: %v under maintenance: %v", n.ID, args, err)
			}
		}
	}
	if ok, err := setAndWaitAll(ctx, p, "during", "1"); !ok || err != nil {
		t.Fatalf("SET and WAITALL under maintenance: %v %v", ok, err)
	}

	// The primary killed during maintenance is not failed over: both
	// replicas see it fail and hold their failover.
	p.Kill()
	for _, n := range replicas {
		testcluster.WaitFor(t, failoverBound, func() (bool, string) {
			h := infoField(ctx, n, "maintenance", "maintenance_failovers_held")
			return h != "" && h != "0", fmt.Sprintf("node %d: maintenance_failovers_held %q", n.ID, h)
		})
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if np := stable(t, c); np != p {
		t.Fatalf("node %d serves after the restart, not the old primary %d", np.ID, p.ID)
	}
	if e := infoField(ctx, p, "replication", "master_epoch"); e != epoch {
		t.Fatalf("writer epoch %s after the restart, was %s", e, epoch)
	}
	for _, n := range c.Nodes {
		if f := infoField(ctx, n, "cluster", "cluster_failovers"); f != "0" {
			t.Fatalf("node %d: cluster_failovers %s", n.ID, f)
		}
	}
	if v, err := p.Client().Get(ctx, "during").Result(); v != "1" {
		t.Fatalf("GET during on the restarted primary: %q %v", v, err)
	}

	// A member restarted during maintenance pauses its activities again.
	replicas[1].Kill()
	if err := replicas[1].Restart(); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) { return enforcing(n) })
	}

	// The catalog leader changes; END still restores what START paused.
	var leader *testcluster.Node
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			if infoField(ctx, n, "cluster", "cluster_catalog_leader") == "1" {
				leader = n
				return true, ""
			}
		}
		return false, "no catalog leader"
	})
	leader.Kill()
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			if n != leader && infoField(ctx, n, "cluster", "cluster_catalog_leader") == "1" {
				return true, ""
			}
		}
		return false, "no new catalog leader"
	})
	if err := leader.Restart(); err != nil {
		t.Fatal(err)
	}
	if np := stable(t, c); np != p {
		t.Fatalf("node %d serves after the leader's restart, not %d", np.ID, p.ID)
	}
	if err := leader.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatalf("END: %v", err)
	}
	for _, n := range c.Nodes {
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
			st, err := maintStatus(ctx, n)
			local := infoField(ctx, n, "maintenance", "maintenance_local_paused")
			ok := err == nil && st["phase"] == "none" && len(st["paused"].([]string)) == 0 && local == ""
			return ok, fmt.Sprintf("node %d: STATUS %v %v, local %q", n.ID, st, err, local)
		})
	}
	if err := replicas[0].Do(ctx, "CONFIG", "SET", "cluster-epoch-bump-timeout", "30000").Err(); err != nil {
		t.Fatalf("CONFIG SET after END: %v", err)
	}
	// The node's address and timings are read at start: CONFIG SET may
	// repeat them, not change them.
	for _, args := range [][]any{{"cluster-node-timeout", "999"}, {"port", "1"}, {"cluster-announce-ip", "127.0.0.2"}} {
		want := fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", args[0])
		if err := replicas[0].Do(ctx, append([]any{"CONFIG", "SET"}, args...)...).Err(); err == nil || err.Error() != want {
			t.Fatalf("CONFIG SET %v: %v, want %q", args, err, want)
		}
	}
	timeout := replicas[0].Do(ctx, "CONFIG", "GET", "cluster-node-timeout").Val().(map[any]any)["cluster-node-timeout"]
	if err := replicas[0].Do(ctx, "CONFIG", "SET", "cluster-node-timeout", timeout).Err(); err != nil {
		t.Fatalf("CONFIG SET cluster-node-timeout to its value: %v", err)
	}

	// After END a killed primary fails over.
	p.Kill()
	np, took := waitServing(t, c, failoverBound, p)
	t.Logf("after END: node %d took over %v after the kill", np.ID, took)
}
