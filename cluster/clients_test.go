package cluster_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/internal/testcluster"
	"github.com/shoaldb/shoal/internal/testutil"
)

// TestGoRedisClusterClient drives the cluster with go-redis's
// ClusterClient, as applications do: routing by slot, MOVED, reads from
// replicas, and a failover under the same client.
func TestGoRedisClusterClient(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	p := stable(t, c)
	rs := replicasOf(c, p)
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr())
	}

	// cc speaks RESP3, go-redis's default; it also lives through the
	// failover at the end. NB: go-redis reloads its slot map on MOVED, but
	// not when the dead primary refuses its dials (redis/go-redis#3979), so
	// after a kill it finds the new primary at its next periodic reload:
	// 60 s by default since v9.22, 1 s here, as a user wanting quick
	// failovers would set it.
	cc := clusterClient(t, &redis.ClusterOptions{Addrs: addrs, ClusterStateReloadInterval: time.Second})
	resp2 := clusterClient(t, &redis.ClusterOptions{Addrs: addrs, Protocol: 2})
	for proto, cl := range map[int]*redis.ClusterClient{3: cc, 2: resp2} {
		t.Run("resp"+itoa(proto), func(t *testing.T) {
			slots := map[int]bool{}
			for i := range 200 {
				k := "k" + itoa(proto) + ":" + itoa(i)
				slots[cluster.KeySlot([]byte(k))] = true
				if err := cl.Set(ctx, k, "v"+itoa(i), 0).Err(); err != nil {
					t.Fatalf("SET %s: %v", k, err)
				}
			}
			if len(slots) < 150 {
				t.Fatalf("200 keys fell in only %d slots", len(slots))
			}
			for i := range 200 {
				k := "k" + itoa(proto) + ":" + itoa(i)
				if v, err := cl.Get(ctx, k).Result(); v != "v"+itoa(i) {
					t.Fatalf("GET %s: %q %v, want %q", k, v, err, "v"+itoa(i))
				}
			}
			tag := "{user" + itoa(proto) + "}"
			keys := []string{tag + "a", tag + "b", tag + "c"}
			if err := cl.MSet(ctx, keys[0], "1", keys[1], "2", keys[2], "3").Err(); err != nil {
				t.Fatalf("MSET of keys with hash tag %s: %v", tag, err)
			}
			got, err := cl.MGet(ctx, append(keys, tag+"missing")...).Result()
			if err != nil || fmt.Sprint(got) != "[1 2 3 <nil>]" {
				t.Fatalf("MGET of keys with hash tag %s: %v %v, want [1 2 3 <nil>]", tag, got, err)
			}
		})
	}
	if t.Failed() {
		t.FailNow()
	}

	// A client that knows only a replica finds the primary through it.
	seeded := clusterClient(t, &redis.ClusterOptions{Addrs: []string{rs[0].Addr()}})
	if err := seeded.Set(ctx, "seeded", "1", 0).Err(); err != nil {
		t.Fatalf("SET through a client seeded with replica %d: %v", rs[0].ID, err)
	}
	// A client whose slot map names a replica as owner of every slot sends
	// the write there and must follow the MOVED it gets back.
	_, rejected := cmdstat(ctx, rs[0], "set")
	stale := clusterClient(t, &redis.ClusterOptions{ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
		return []redis.ClusterSlot{{Start: 0, End: cluster.Slots - 1, Nodes: []redis.ClusterNode{{Addr: rs[0].Addr()}}}}, nil
	}})
	if err := stale.Set(ctx, "moved", "1", 0).Err(); err != nil {
		t.Fatalf("SET through a client that believes replica %d owns the slots: %v", rs[0].ID, err)
	}
	if _, r := cmdstat(ctx, rs[0], "set"); r <= rejected {
		t.Fatalf("replica %d rejected %d SETs before and %d after: the write did not go through a MOVED", rs[0].ID, rejected, r)
	}
	if v, err := p.Client().Get(ctx, "moved").Result(); v != "1" {
		t.Fatalf("GET moved on the primary after a MOVED-followed SET: %q %v", v, err)
	}

	// Reads of a ReadOnly client go to the replicas.
	conn := p.Client().Conn()
	defer conn.Close()
	for i := range 50 {
		if err := conn.Set(ctx, "ro"+itoa(i), itoa(i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := conn.Do(ctx, "WAITALL", 1000).Int64Slice(); err != nil || len(r) != 2 || r[0] != 2 || r[1] != 2 {
		t.Fatalf("WAITALL after the ro keys: %v %v, want [2 2]", r, err)
	}
	getsBefore := map[*testcluster.Node]int64{}
	for _, n := range c.Nodes {
		getsBefore[n], _ = cmdstat(ctx, n, "get")
	}
	// CLUSTER SLOTS leaves out a replica until gossip brought its offset
	// (as Redis leaves out replicas at offset 0); the client loads its map
	// from any node.
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			sl, err := n.Client().ClusterSlots(ctx).Result()
			if err != nil || len(sl) != 1 || len(sl[0].Nodes) != 3 {
				return false, fmt.Sprintf("CLUSTER SLOTS on node %d: %+v %v, want the primary and 2 replicas", n.ID, sl, err)
			}
		}
		return true, ""
	})
	ro := clusterClient(t, &redis.ClusterOptions{Addrs: addrs, ReadOnly: true})
	for i := range 50 {
		if v, err := ro.Get(ctx, "ro"+itoa(i)).Result(); v != itoa(i) {
			t.Fatalf("GET ro%d through a ReadOnly client: %q %v", i, v, err)
		}
	}
	var gets []string
	var replicaGets int64
	for _, n := range c.Nodes {
		calls, _ := cmdstat(ctx, n, "get")
		gets = append(gets, fmt.Sprintf("node %d: %d", n.ID, calls-getsBefore[n]))
		if n != p {
			replicaGets += calls - getsBefore[n]
		}
	}
	if replicaGets == 0 {
		t.Fatalf("no GET of the ReadOnly client reached a replica (GETs per node: %s)", strings.Join(gets, ", "))
	}

	// The same client keeps working across a failover.
	for i := range 5 {
		if ok, err := setAndWaitAll(ctx, p, "kept"+itoa(i), itoa(i)); !ok || err != nil {
			t.Fatalf("SET + WAITALL kept%d before the kill: confirmed %v, err %v", i, ok, err)
		}
	}
	p.Kill()
	np, took := waitServing(t, c, failoverBound, p)
	begin := time.Now()
	var tries int
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		tries++
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		err := cc.Set(cctx, "after-kill", "1", 0).Err()
		return err == nil, fmt.Sprintf("SET through the cluster client after the kill: %v", err)
	})
	for i := range 5 {
		if v, err := cc.Get(ctx, "kept"+itoa(i)).Result(); v != itoa(i) {
			t.Fatalf("GET kept%d through the cluster client after the failover: %q %v", i, v, err)
		}
	}
	if v, err := np.Client().Get(ctx, "after-kill").Result(); v != "1" {
		t.Fatalf("GET after-kill on the new primary %d: %q %v", np.ID, v, err)
	}
	t.Logf("ReadOnly GETs per node: %s; node %d took over %v after the kill; the client's SET succeeded %v later, on try %d",
		strings.Join(gets, ", "), np.ID, took, time.Since(begin), tries)
}

// TestRedisCLICluster runs redis-cli against the cluster: -c follows
// MOVED, CLUSTER NODES shows one master and two slaves, and
// --cluster check finds every slot covered.
func TestRedisCLICluster(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	c := start(t, testcluster.Options{})
	p := stable(t, c)
	r := replicasOf(c, p)[0]
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
		return string(out), err
	}
	last := func(out string) string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	rport := strconv.Itoa(r.Port)
	if out, err := run("-c", "-h", "127.0.0.1", "-p", rport, "set", "foo", "bar"); err != nil || last(out) != "OK" {
		t.Fatalf("redis-cli -c -p <replica> set foo bar: %q %v, want OK", out, err)
	}
	if out, err := run("-c", "-h", "127.0.0.1", "-p", rport, "get", "foo"); err != nil || last(out) != "bar" {
		t.Fatalf("redis-cli -c -p <replica> get foo: %q %v, want bar", out, err)
	}
	out, err := run("-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "cluster", "nodes")
	if err != nil {
		t.Fatalf("redis-cli cluster nodes: %q %v", out, err)
	}
	masters, slaves := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			t.Fatalf("redis-cli cluster nodes: short line %q", line)
		}
		for _, flag := range strings.Split(f[2], ",") {
			switch flag {
			case "master":
				masters++
			case "slave":
				slaves++
			}
		}
	}
	if masters != 1 || slaves != 2 {
		t.Fatalf("redis-cli cluster nodes: %d master and %d slave lines, want 1 and 2:\n%s", masters, slaves, out)
	}
	for _, n := range []*testcluster.Node{p, r} {
		out, err := run("--cluster", "check", n.Addr())
		if err != nil {
			t.Fatalf("redis-cli --cluster check %s: %v\n%s", n.Addr(), err, out)
		}
		if !strings.Contains(out, "[OK] All 16384 slots covered.") {
			t.Fatalf("redis-cli --cluster check %s does not say all slots are covered:\n%s", n.Addr(), out)
		}
	}
}

// clusterClient is a go-redis ClusterClient closed at the end of the test.
func clusterClient(t *testing.T, opt *redis.ClusterOptions) *redis.ClusterClient {
	cc := redis.NewClusterClient(opt)
	t.Cleanup(func() { cc.Close() })
	return cc
}

// cmdstat returns the calls and rejected calls of command name in n's
// INFO commandstats; zeros before the first call.
func cmdstat(ctx context.Context, n *testcluster.Node, name string) (calls, rejected int64) {
	v := infoField(ctx, n, "commandstats", "cmdstat_"+name)
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		i, _ := strconv.ParseInt(val, 10, 64)
		switch k {
		case "calls":
			calls = i
		case "rejected_calls":
			rejected = i
		}
	}
	return calls, rejected
}
