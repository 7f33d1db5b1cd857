package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testcluster"
)

// COMPONENT on a 3-node cluster: deploys from any node, seen the same from
// every node, with the deploy lock in the catalog.

// deployClient is a client of n whose reads wait long enough for a deploy
// that waits for its lock (the harness's clients give up after 2 s).
func deployClient(t testing.TB, n *testcluster.Node) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: n.Addr(), ReadTimeout: 40 * time.Second, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// flatMap turns a map reply (RESP3) or flat array (RESP2) into a map.
func flatMap(v any) map[string]any {
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[fmt.Sprint(m[i])] = m[i+1]
		}
	}
	return out
}

// compStatus is COMPONENT STATUS name on n, nil when it fails.
func compStatus(ctx context.Context, n *testcluster.Node, name string) map[string]any {
	v, err := n.Do(ctx, "COMPONENT", "STATUS", name).Result()
	if err != nil {
		return nil
	}
	return flatMap(v)
}

func myID(t *testing.T, ctx context.Context, n *testcluster.Node) string {
	t.Helper()
	id, err := n.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitComponent waits until every running node's COMPONENT STATUS shows
// version active and, for each node id in want, the version it applied.
func waitComponent(t *testing.T, c *testcluster.Cluster, name, version string, want map[string]string) {
	t.Helper()
	ctx := ctxT(t)
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			st := compStatus(ctx, n, name)
			if st == nil || st["active_version"] != version || st["state"] != "active" {
				return false, fmt.Sprintf("node %d: %v", n.ID, st)
			}
			nodes := flatMap(st["nodes"])
			for id, v := range want {
				if nodes[id] != v {
					return false, fmt.Sprintf("node %d sees %s at %q, want %q: %v", n.ID, id, nodes[id], v, nodes)
				}
			}
		}
		return true, ""
	})
}

func blob(n *testcluster.Node, name string) string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "cluster", "components", name+".blob"))
	return string(b)
}

func TestComponentDeployAcrossNodes(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	ids := map[*testcluster.Node]string{}
	all := func(v string) map[string]string {
		m := map[string]string{}
		for _, id := range ids {
			m[id] = v
		}
		return m
	}
	for _, n := range c.Nodes {
		ids[n] = myID(t, ctx, n)
	}
	a, b, d := c.Nodes[0], c.Nodes[1], c.Nodes[2]

	// Deploy from one node: every node applies it and reports it.
	if err := deployClient(t, b).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v1", "PAYLOAD", "one").Err(); err != nil {
		t.Fatalf("DEPLOY from node %d: %v", b.ID, err)
	}
	// NB: DEPLOY returned once every node reported v1, so no wait is
	// needed for the reports; other nodes' catalogs may lag a little.
	waitComponent(t, c, "lib", "v1", all("v1"))
	for _, n := range c.Nodes {
		if got := blob(n, "lib"); got != "one" {
			t.Fatalf("node %d blob %q", n.ID, got)
		}
	}
	events := len(mustHistory(t, ctx, a, "lib"))

	// The active version again, from another node: +OK, nothing changes.
	if err := deployClient(t, d).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v1").Err(); err != nil {
		t.Fatalf("redeploy: %v", err)
	}
	if got := len(mustHistory(t, ctx, a, "lib")); got != events {
		t.Fatalf("a redeploy added history: %d events, was %d", got, events)
	}

	// Another version without REPLACE: the conflict, with every field.
	err := deployClient(t, a).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v2").Err()
	if want := "VERSIONCONFLICT component=lib active=v1 requested=v2 hint=add REPLACE to replace v1, or COMPONENT UNDEPLOY lib first"; err == nil || err.Error() != want {
		t.Fatalf("DEPLOY v2: %v, want %q", err, want)
	}

	// REPLACE.
	if err := deployClient(t, a).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v2", "PAYLOAD", "two", "REPLACE").Err(); err != nil {
		t.Fatalf("DEPLOY v2 REPLACE: %v", err)
	}
	waitComponent(t, c, "lib", "v2", all("v2"))
	for _, n := range c.Nodes {
		if got := blob(n, "lib"); got != "two" {
			t.Fatalf("node %d blob %q", n.ID, got)
		}
	}

	// Two deploys at once: a's is slow and holds the lock; b's gives up
	// with LOCKTIMEOUT naming a; d's waits for it and finds v3 active.
	if err := a.Do(ctx, "DEBUG", "FAILPOINT", "component/deploy", "1*delay:2000").Err(); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- deployClient(t, a).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v3", "REPLACE").Err() }()
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		st := compStatus(ctx, b, "lib")
		return st["lock_owner"] == ids[a], fmt.Sprintf("node %d sees %v", b.ID, st)
	})
	err = deployClient(t, b).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v3", "REPLACE", "LOCKTIMEOUT", "100").Err()
	if re := regexp.MustCompile(`^LOCKTIMEOUT deploy lock for lib held by ` + ids[a] + ` \(expires in \d+ ms\)$`); err == nil || !re.MatchString(err.Error()) {
		t.Fatalf("a deploy behind a held lock: %v, want %s", err, re)
	}
	begin := time.Now()
	if err := deployClient(t, d).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v3", "REPLACE", "LOCKTIMEOUT", "20000").Err(); err != nil {
		t.Fatalf("a patient deploy: %v", err)
	}
	t.Logf("the patient deploy waited %v", time.Since(begin))
	if err := <-first; err != nil {
		t.Fatalf("the slow deploy: %v", err)
	}
	waitComponent(t, c, "lib", "v3", all("v3"))
	h := mustHistory(t, ctx, d, "lib")
	if last := h[len(h)-1]; last["event"] != "active" || last["version"] != "v3" || last["node"] != ids[a] || last["reason"] != "replaced v2" {
		t.Fatalf("last event %v", last)
	}

	// The built-in shows every node's build and the active format.
	for _, n := range c.Nodes {
		st := compStatus(ctx, n, "shoal")
		builds, formats := flatMap(st["nodes"]), flatMap(st["storage_formats"])
		if st["storage_format"] != int64(1) || st["state"] != "active" || len(builds) != 3 || len(formats) != 3 {
			t.Fatalf("node %d STATUS shoal: %v", n.ID, st)
		}
		for _, id := range ids {
			if builds[id] != st["active_version"] || formats[id] != "read 1 write 1" {
				t.Fatalf("node %d STATUS shoal: %v", n.ID, st)
			}
		}
	}

	// Maintenance refuses deploys.
	if err := a.Do(ctx, "MAINTENANCE", "START").Err(); err != nil {
		t.Fatalf("MAINTENANCE START: %v", err)
	}
	for _, n := range c.Nodes {
		testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
			err := deployClient(t, n).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v4", "REPLACE").Err()
			want := "MAINTENANCE Server is under maintenance. Please retry in a few minutes"
			return err != nil && err.Error() == want, fmt.Sprintf("node %d: DEPLOY under maintenance: %v", n.ID, err)
		})
		err := deployClient(t, n).Do(ctx, "COMPONENT", "UNDEPLOY", "lib").Err()
		if err == nil || !strings.HasPrefix(err.Error(), "MAINTENANCE ") {
			t.Fatalf("node %d: UNDEPLOY under maintenance: %v", n.ID, err)
		}
	}
	if err := a.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatal(err)
	}
	waitComponent(t, c, "lib", "v3", all("v3"))
}

func mustHistory(t *testing.T, ctx context.Context, n *testcluster.Node, name string) []map[string]any {
	t.Helper()
	v, err := n.Do(ctx, "COMPONENT", "HISTORY", name).Slice()
	if err != nil {
		t.Fatalf("node %d HISTORY %s: %v", n.ID, name, err)
	}
	var out []map[string]any
	for _, e := range v {
		out = append(out, flatMap(e))
	}
	return out
}

// A deployer killed while it holds the lock: its lease lapses, the next
// deploy takes the lock and succeeds without it, and it catches up when
// it comes back.
func TestComponentLockHolderDies(t *testing.T) {
	const leaseMs = 1500
	c := start(t, testcluster.Options{ExtraArgs: []string{"--component-lock-lease", itoa(leaseMs)}})
	ctx := ctxT(t)
	p := stable(t, c)
	var holder, next *testcluster.Node
	for _, n := range c.Nodes {
		if n == p {
			continue
		}
		if holder == nil {
			holder = n
		} else {
			next = n
		}
	}
	hid := myID(t, ctx, holder)
	if err := holder.Do(ctx, "DEBUG", "FAILPOINT", "component/deploy", "1*delay:60000").Err(); err != nil {
		t.Fatal(err)
	}
	go deployClient(t, holder).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v1", "PAYLOAD", "one")
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		st := compStatus(ctx, next, "lib")
		return st["lock_owner"] == hid && st["state"] == "deploying", fmt.Sprintf("%v", st)
	})
	holder.Kill()
	killed := time.Now()

	if err := deployClient(t, next).Do(ctx, "COMPONENT", "DEPLOY", "lib", "v1", "PAYLOAD", "one", "LOCKTIMEOUT", "20000").Err(); err != nil {
		t.Fatalf("the deploy after the holder died: %v", err)
	}
	t.Logf("deployed %v after the holder was killed (lease %d ms)", time.Since(killed), leaseMs)
	// NB: the holder's own report (it loaded v1 before it died) stays
	// until it reports again.
	st := compStatus(ctx, next, "lib")
	if nodes := flatMap(st["nodes"]); st["active_version"] != "v1" || st["state"] != "active" || nodes[myID(t, ctx, next)] != "v1" || len(nodes) != 3 {
		t.Fatalf("STATUS: %v", st)
	}
	lapsed := false
	for _, e := range mustHistory(t, ctx, next, "lib") {
		lapsed = lapsed || e["event"] == "lock-expired" && e["node"] == hid
	}
	if !lapsed {
		t.Fatalf("no lock-expired event of %s: %v", hid, mustHistory(t, ctx, next, "lib"))
	}

	// The holder comes back and applies the active version.
	if err := holder.Restart(); err != nil {
		t.Fatal(err)
	}
	waitComponent(t, c, "lib", "v1", map[string]string{hid: "v1"})
	if got := blob(holder, "lib"); got != "one" {
		t.Fatalf("restarted holder's blob %q", got)
	}
}
