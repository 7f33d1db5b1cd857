package testcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// infoField returns field of the node's INFO section, or "" with the
// reason it could not be read.
func infoField(n *Node, section, field string) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := n.Client().Info(ctx, section).Result()
	if err != nil {
		return "", fmt.Sprintf("node %d: INFO %s: %v", n.ID, section, err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v, ""
		}
	}
	return "", fmt.Sprintf("node %d: INFO %s has no %s", n.ID, section, field)
}

// waitLink waits until node n reports master_link_status want.
func waitLink(t *testing.T, n *Node, want string) {
	t.Helper()
	WaitFor(t, 20*time.Second, func() (bool, string) {
		v, why := infoField(n, "replication", "master_link_status")
		if why != "" {
			return false, why
		}
		return v == want, fmt.Sprintf("node %d: master_link_status:%s, want %s", n.ID, v, want)
	})
}

// waitValue waits until GET key on node n returns want.
func waitValue(t *testing.T, n *Node, key, want string) {
	t.Helper()
	WaitFor(t, 20*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got, err := n.Client().Get(ctx, key).Result()
		if err != nil || got != want {
			return false, fmt.Sprintf("node %d: GET %s = %q, %v; want %q", n.ID, key, got, err, want)
		}
		return true, ""
	})
}

func TestKillRestartKeepsAcknowledgedWrites(t *testing.T) {
	c := NewPlain(t, 1, Options{})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const keys = 200
	for i := range keys {
		if err := n.Client().Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n.Kill()
	if n.Running() {
		t.Fatal("node running after Kill")
	}
	// The log the test would print names the exit and who caused it.
	if want := "exited (signal: killed); signals sent by the harness: killed"; !strings.Contains(n.Log(), want) {
		t.Fatalf("the node's log lacks %q:\n%s", want, tail(n.Log(), 5))
	}
	if err := n.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		got, err := n.Client().Get(ctx, fmt.Sprintf("k%d", i)).Result()
		if err != nil || got != fmt.Sprint(i) {
			t.Fatalf("k%d = %q, %v after SIGKILL and restart; want %d", i, got, err, i)
		}
	}
	if !strings.Contains(n.Log(), "Ready to accept connections") {
		t.Fatalf("the node's log lacks 'Ready to accept connections':\n%s", tail(n.Log(), 20))
	}
}

func TestFreezeThaw(t *testing.T) {
	c := NewPlain(t, 1, Options{})
	n := c.Nodes[0]
	n.Freeze()
	if !n.Frozen() || !n.Running() {
		t.Fatalf("Frozen() = %v, Running() = %v after Freeze", n.Frozen(), n.Running())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := n.Client().Ping(ctx).Err()
	cancel()
	if err == nil {
		t.Fatal("a frozen node answered PING")
	}
	n.Thaw()
	WaitFor(t, 10*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := n.Client().Ping(ctx).Err(); err != nil {
			return false, fmt.Sprintf("PING after Thaw: %v", err)
		}
		return true, ""
	})
}

func TestPartitionCutsReplication(t *testing.T) {
	c := NewPlain(t, 2, Options{})
	n0, n1 := c.Nodes[0], c.Nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n1.Do(ctx, "REPLICAOF", "127.0.0.1", n0.Port).Err(); err != nil {
		t.Fatal(err)
	}
	waitLink(t, n1, "up")
	if err := n0.Client().Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitValue(t, n1, "before", "1")
	if p := c.WaitPrimary(t, 20*time.Second); p != n0 {
		t.Fatalf("WaitPrimary = node %d, want node 0", p.ID)
	}

	c.Partition([]*Node{n0}, []*Node{n1})
	waitLink(t, n1, "down")
	if err := n0.Client().Set(ctx, "during", "2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := n1.Client().Get(ctx, "during").Result(); err == nil {
		t.Fatalf("the write made during the partition reached node 1: %q", got)
	}

	c.Heal()
	waitLink(t, n1, "up")
	waitValue(t, n1, "during", "2")
}

func TestRestartReappliesPartition(t *testing.T) {
	c := NewPlain(t, 2, Options{})
	n0, n1 := c.Nodes[0], c.Nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c.Isolate(n1)
	n1.Kill()
	if err := n1.Restart(); err != nil {
		t.Fatal(err)
	}
	// The restarted node cannot follow node 0 until Heal.
	if err := n1.Do(ctx, "REPLICAOF", "127.0.0.1", n0.Port).Err(); err != nil {
		t.Fatal(err)
	}
	if err := n0.Client().Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 20*time.Second, func() (bool, string) {
		return strings.Contains(n1.Log(), "address dropped"), "node 1's log shows no dial refused by the partition"
	})
	if got, err := n1.Client().Get(ctx, "k").Result(); err == nil {
		t.Fatalf("node 1 synced through the partition: k = %q", got)
	}
	c.Heal()
	waitLink(t, n1, "up")
	waitValue(t, n1, "k", "v")
}

func TestStopAndDebugFailpoint(t *testing.T) {
	c := NewPlain(t, 1, Options{Env: map[int]string{0: ""}})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Do(ctx, "DEBUG", "FAILPOINT", "testcluster/none", "off").Err(); err != nil {
		t.Fatalf("DEBUG FAILPOINT on a harness node: %v", err)
	}
	n.Stop()
	if n.Running() {
		t.Fatal("node running after Stop")
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err == nil {
		t.Fatal("Start of a running node succeeded")
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a", 3, "a"},
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 3, "a\nb\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
	} {
		if got := tail(tc.in, tc.n); got != tc.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
