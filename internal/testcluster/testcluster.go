// Package testcluster runs Shoal nodes as real processes on loopback for
// tests, and kills, restarts, freezes and partitions them.
//
//	c := testcluster.NewPlain(t, 2, testcluster.Options{})
//	c.Nodes[1].Do(ctx, "REPLICAOF", "127.0.0.1", c.Nodes[0].Port)
//	c.Partition([]*testcluster.Node{c.Nodes[0]}, []*testcluster.Node{c.Nodes[1]})
//	c.Nodes[0].Kill()
//	c.Nodes[0].Restart()
//	c.Heal()
//
// Each node keeps its ports and data folder for the whole test. Every
// process starts with SHOAL_FAILPOINTS set, so DEBUG FAILPOINT and DEBUG
// NETFAULT work on it; partitions are made of DEBUG NETFAULT DROP, which
// cuts what a node dials and the gossip it sends and receives, not
// connections others opened to it. At the end of the test every process
// still running is killed, and when the test failed the tail of each
// node's log is written to the test log. Nothing listens or dials beyond
// 127.0.0.1.
package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logTailLines is how much of each node's log a failed test prints.
const logTailLines = 60

// Options shape the nodes of a cluster. The zero value is ready to use.
type Options struct {
	// NodeTimeout is each node's "cluster-node-timeout", rounded down to
	// milliseconds; default 1 s. Plain nodes ignore it.
	NodeTimeout time.Duration
	// ExtraArgs are "--directive value" arguments given to every node
	// after the harness's own, so they override them.
	ExtraArgs []string
	// Env holds the value of SHOAL_FAILPOINTS per node index, failpoints
	// armed from the start ("catalog/cas-reply=1*drop"). Nodes missing
	// from it start with the variable set and empty.
	Env map[int]string
	// AppendFsync is every node's "appendfsync"; default "always", so an
	// acknowledged write survives SIGKILL.
	AppendFsync string
	// Verbose starts the nodes with "loglevel debug" and writes the tail
	// of their logs to the test log even when the test passes. Setting
	// the environment variable SHOAL_TEST_LOG does the same.
	Verbose bool
}

// Cluster is a set of Shoal processes started by one test.
type Cluster struct {
	// Nodes are the cluster's nodes; Nodes[i].ID is i.
	Nodes []*Node

	t       testing.TB
	verbose bool

	mu struct {
		sync.Mutex
		// group maps a node to its side of the partition in force; nil
		// when the network is whole.
		group map[*Node]int
	}
}

// New starts a Shoal cluster of n nodes: node 0 bootstraps it, and once
// it answers PING the others join through its gossip port. It fails t if
// a node does not start.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := newCluster(t, n, opts)
	timeout := opts.NodeTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	for _, nd := range c.Nodes {
		cluster := []string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(nd.BusPort),
			"--cluster-catalog-port", strconv.Itoa(nd.CatalogPort),
			"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10),
		}
		if nd.ID > 0 {
			cluster = append(cluster, "--cluster-join", addr(c.Nodes[0].BusPort))
		}
		nd.args = c.nodeArgs(nd, opts, cluster)
	}
	c.startAll()
	return c
}

// NewPlain starts n Shoal nodes without cluster-enabled: independent
// servers, which a test may link with REPLICAOF. It fails t if a node does
// not start.
func NewPlain(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := newCluster(t, n, opts)
	for _, nd := range c.Nodes {
		nd.args = c.nodeArgs(nd, opts, nil)
	}
	c.startAll()
	return c
}

// newCluster builds the binary, reserves ports and data folders and
// registers the cleanup; it starts nothing.
func newCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testcluster: %d nodes", n)
	}
	bin := Build(t)
	ports, err := allocatePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, verbose: opts.Verbose || os.Getenv("SHOAL_TEST_LOG") != ""}
	root := t.TempDir()
	for i := range n {
		dir := filepath.Join(root, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, newNode(c, i, dir, bin, ports[i], opts.Env[i]))
	}
	// NB: registered after t.TempDir, so it runs first: the processes are
	// gone before their folders are removed.
	t.Cleanup(c.cleanup)
	return c
}

// nodeArgs returns the command line of nd: the harness's directives, then
// mode's, then the test's.
func (c *Cluster) nodeArgs(nd *Node, opts Options, mode []string) []string {
	fsync := opts.AppendFsync
	if fsync == "" {
		fsync = "always"
	}
	level := "notice"
	if c.verbose {
		level = "debug"
	}
	args := []string{
		"--port", strconv.Itoa(nd.Port),
		"--bind", "127.0.0.1",
		"--dir", nd.Dir,
		"--logfile", nd.logPath(),
		"--loglevel", level,
		"--appendfsync", fsync,
		"--protected-mode", "no",
		// The harness and its tests drive DEBUG FAILPOINT and NETFAULT.
		"--enable-debug-command", "local",
	}
	args = append(args, mode...)
	return append(args, opts.ExtraArgs...)
}

// startAll starts the nodes in order, each answering PING before the
// next starts.
func (c *Cluster) startAll() {
	c.t.Helper()
	for _, nd := range c.Nodes {
		if err := nd.Start(); err != nil {
			c.t.Fatal(err)
		}
	}
}

// cleanup kills every node still running, closes the clients and, when
// the test failed or logs were asked for, prints the end of each log.
func (c *Cluster) cleanup() {
	for _, nd := range c.Nodes {
		nd.Kill()
		nd.client.Close()
	}
	if !c.t.Failed() && !c.verbose {
		return
	}
	for _, nd := range c.Nodes {
		c.t.Logf("node %d (%s, dir %s), last %d log lines:\n%s", nd.ID, nd.Addr(), nd.Dir, logTailLines, tail(nd.Log(), logTailLines))
	}
}

// Partition splits the network: nodes in different groups cannot reach
// one another, and the nodes listed in no group form one more group. Each
// node drops the RESP, gossip and catalog addresses of every node outside
// its group. The partition replaces any earlier one and stays in force
// until Heal: a node started or thawed meanwhile gets its part of it. A
// node that refuses the change fails the test (t.Errorf).
func (c *Cluster) Partition(groups ...[]*Node) {
	c.t.Helper()
	group := make(map[*Node]int, len(c.Nodes))
	for _, nd := range c.Nodes {
		group[nd] = len(groups)
	}
	for i, g := range groups {
		for _, nd := range g {
			group[nd] = i
		}
	}
	c.mu.Lock()
	c.mu.group = group
	c.mu.Unlock()
	c.updateFaults()
}

// Isolate cuts nd off from every other node, which still reach one
// another.
func (c *Cluster) Isolate(nd *Node) {
	c.t.Helper()
	c.Partition([]*Node{nd})
}

// Heal ends the partition: every running node stops dropping traffic.
func (c *Cluster) Heal() {
	c.t.Helper()
	c.mu.Lock()
	c.mu.group = nil
	c.mu.Unlock()
	c.updateFaults()
}

func (c *Cluster) updateFaults() {
	c.t.Helper()
	for _, nd := range c.Nodes {
		if err := nd.updateFaults(c.dropsFor(nd)); err != nil {
			c.t.Errorf("%v", err)
		}
	}
}

// dropsFor returns the addresses nd drops under the partition in force.
func (c *Cluster) dropsFor(nd *Node) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.group == nil {
		return nil
	}
	var out []string
	for _, o := range c.Nodes {
		if c.mu.group[o] != c.mu.group[nd] {
			out = append(out, addr(o.Port), addr(o.BusPort), addr(o.CatalogPort))
		}
	}
	return out
}

// Role returns the first element of the node's ROLE reply: "master" or
// "slave".
func (n *Node) Role(ctx context.Context) (string, error) {
	r, err := n.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", err
	}
	if len(r) == 0 {
		return "", fmt.Errorf("testcluster: node %d: empty ROLE reply", n.ID)
	}
	s, ok := r[0].(string)
	if !ok {
		return "", fmt.Errorf("testcluster: node %d: ROLE reply starts with %T", n.ID, r[0])
	}
	return s, nil
}

// Primary returns the first running, unfrozen node whose ROLE says
// "master", or nil. Plain nodes not following anyone all say so.
func (c *Cluster) Primary(ctx context.Context) *Node {
	for _, nd := range c.Nodes {
		if !nd.Running() || nd.Frozen() {
			continue
		}
		if r, err := nd.Role(ctx); err == nil && r == "master" {
			return nd
		}
	}
	return nil
}

// WaitPrimary waits until exactly one running node answers ROLE "master"
// while every other running node answers "slave", and returns it. Excluded
// and frozen nodes are not asked. It fails t after timeout.
func (c *Cluster) WaitPrimary(t testing.TB, timeout time.Duration, exclude ...*Node) *Node {
	t.Helper()
	var primary *Node
	WaitFor(t, timeout, func() (bool, string) {
		primary = nil
		var roles []string
		masters := 0
		for _, nd := range c.Nodes {
			if !nd.Running() || nd.Frozen() || slices.Contains(exclude, nd) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			r, err := nd.Role(ctx)
			cancel()
			if err != nil {
				return false, fmt.Sprintf("node %d: ROLE: %v", nd.ID, err)
			}
			roles = append(roles, fmt.Sprintf("%d:%s", nd.ID, r))
			switch r {
			case "master":
				masters++
				primary = nd
			case "slave":
			default:
				return false, fmt.Sprintf("node %d: role %q", nd.ID, r)
			}
		}
		if masters != 1 {
			return false, fmt.Sprintf("%d primaries among the nodes asked (%s)", masters, strings.Join(roles, " "))
		}
		return true, ""
	})
	return primary
}

// WaitFor polls cond until it returns true, and fails t with cond's last
// reason when timeout passes first. It polls every 20 ms at first, backing
// off to 200 ms.
func WaitFor(t testing.TB, timeout time.Duration, cond func() (ok bool, reason string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 20 * time.Millisecond
	for {
		ok, reason := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testcluster: not done after %v: %s", timeout, reason)
		}
		time.Sleep(wait)
		wait = min(wait*2, 200*time.Millisecond)
	}
}
