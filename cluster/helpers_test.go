package cluster_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testcluster"
)

// nodeTimeout is the tests' cluster-node-timeout.
const nodeTimeout = time.Second

// failoverBound is how long a test waits for a new primary after a kill:
// the 2 × cluster-node-timeout + 1 s the design promises, doubled for a
// loaded test machine. Measured times are logged, not asserted.
const failoverBound = 2 * (2*nodeTimeout + time.Second)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// start starts a 3-node cluster and waits until every node agrees on one
// primary that serves and two replicas that follow it with their links up.
func start(t *testing.T, opts testcluster.Options) *testcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process cluster test (-short)")
	}
	opts.NodeTimeout = nodeTimeout
	c := testcluster.New(t, 3, opts)
	stable(t, c)
	return c
}

// infoField returns field of INFO section on n, or "".
func infoField(ctx context.Context, n *testcluster.Node, section, field string) string {
	s, err := n.Client().Info(ctx, section).Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// serving returns the running, unfrozen nodes that serve as primary.
func serving(ctx context.Context, c *testcluster.Cluster) []*testcluster.Node {
	var out []*testcluster.Node
	for _, n := range c.Nodes {
		if n.Running() && !n.Frozen() && infoField(ctx, n, "cluster", "cluster_serving") == "1" {
			out = append(out, n)
		}
	}
	return out
}

type nodeLine struct{ id, addr, flags, master, epoch string }

func clusterNodes(ctx context.Context, n *testcluster.Node) (map[string]nodeLine, error) {
	s, err := n.Do(ctx, "CLUSTER", "NODES").Text()
	if err != nil {
		return nil, err
	}
	out := map[string]nodeLine{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("short CLUSTER NODES line %q", line)
		}
		flags := strings.Replace(f[2], "myself,", "", 1)
		out[f[0]] = nodeLine{id: f[0], addr: f[1], flags: flags, master: f[3], epoch: f[6]}
	}
	return out, nil
}

// stable waits until exactly one running node serves as primary and every
// running node's CLUSTER NODES names it master of all the others, whose
// replication links are up. It returns the primary.
func stable(t *testing.T, c *testcluster.Cluster) *testcluster.Node {
	t.Helper()
	ctx := ctxT(t)
	var primary *testcluster.Node
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		s := serving(ctx, c)
		if len(s) != 1 {
			return false, fmt.Sprintf("%d nodes serve as primary", len(s))
		}
		primary = s[0]
		pid, err := primary.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return false, err.Error()
		}
		var first map[string]nodeLine
		for _, n := range c.Nodes {
			if !n.Running() || n.Frozen() {
				continue
			}
			lines, err := clusterNodes(ctx, n)
			if err != nil {
				return false, err.Error()
			}
			if first == nil {
				first = lines
			}
			if len(lines) != len(c.Nodes) {
				return false, fmt.Sprintf("node %d knows %d nodes", n.ID, len(lines))
			}
			for id, l := range lines {
				if (id == pid) != strings.HasPrefix(l.flags, "master") || (id != pid && l.master != pid) || l.flags != first[id].flags || l.master != first[id].master {
					return false, fmt.Sprintf("node %d sees %+v", n.ID, l)
				}
			}
			if n != primary && infoField(ctx, n, "replication", "master_link_status") != "up" {
				return false, fmt.Sprintf("node %d: replication link not up", n.ID)
			}
		}
		return true, ""
	})
	return primary
}

// waitServing waits for a primary other than the excluded nodes and
// returns it with the time it took.
func waitServing(t *testing.T, c *testcluster.Cluster, timeout time.Duration, exclude ...*testcluster.Node) (*testcluster.Node, time.Duration) {
	t.Helper()
	ctx := ctxT(t)
	begin := time.Now()
	var p *testcluster.Node
	testcluster.WaitFor(t, timeout, func() (bool, string) {
		for _, n := range serving(ctx, c) {
			ok := true
			for _, e := range exclude {
				ok = ok && n != e
			}
			if ok {
				p = n
				return true, ""
			}
		}
		return false, "no new primary serves"
	})
	return p, time.Since(begin)
}

// waitAll runs WAITALL on one connection after a SET on it, and reports
// whether every expected replica (at least one) acknowledged.
func setAndWaitAll(ctx context.Context, n *testcluster.Node, key, val string) (bool, error) {
	conn := n.Client().Conn()
	defer conn.Close()
	if err := conn.Set(ctx, key, val, 0).Err(); err != nil {
		return false, err
	}
	r, err := conn.Do(ctx, "WAITALL", 500).Int64Slice()
	if err != nil {
		return false, err
	}
	return len(r) == 2 && r[0] == r[1] && r[1] >= 1, nil
}

// readonlyClient is a client whose connections send READONLY first, so a
// cluster replica serves their reads.
func readonlyClient(t testing.TB, n *testcluster.Node) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1, OnConnect: func(ctx context.Context, cn *redis.Conn) error {
		return cn.ReadOnly(ctx).Err()
	}})
	t.Cleanup(func() { c.Close() })
	return c
}

func itoa(i int) string { return strconv.Itoa(i) }
