package repltest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// waitAll runs WAITALL and returns its reply as "[acked expected]".
func waitAll(t *testing.T, c *redis.Conn, timeoutMs int) string {
	t.Helper()
	got, err := c.Do(context.Background(), "WAITALL", timeoutMs).Int64Slice()
	if err != nil {
		t.Fatalf("WAITALL %d: %v", timeoutMs, err)
	}
	return fmt.Sprint(got)
}

// waitAllAsync runs WAITALL 0 in the background once the caller has seen
// the client block.
func waitAllAsync(t *testing.T, p *node, c *redis.Conn) <-chan string {
	t.Helper()
	res := make(chan string, 1)
	go func() {
		got, err := c.Do(context.Background(), "WAITALL", 0).Int64Slice()
		res <- fmt.Sprint(got, err)
	}()
	waitBlocked(t, p, 1)
	return res
}

func TestWaitAll(t *testing.T) {
	ctx := context.Background()
	p := newNode(t, nil)
	r1, r2 := newReplica(t, p, nil), newReplica(t, p, nil)
	waitOnline(t, p, 2)
	c := p.conn()
	c.Set(ctx, "k", 1, 0)
	if got := waitAll(t, c, 10000); got != "[2 2]" {
		t.Fatalf("WAITALL with 2 replicas = %s", got)
	}

	// A third replica: the same client call now expects three.
	r3 := newReplica(t, p, nil)
	waitOnline(t, p, 3)
	if got := waitAll(t, c, 10000); got != "[3 3]" {
		t.Fatalf("WAITALL with 3 replicas = %s", got)
	}
	if got := p.info("replication")["known_replicas"]; got != "3" {
		t.Fatalf("known_replicas = %s", got)
	}

	// A replica that went away still counts until it returns.
	r3.stop()
	c.Incr(ctx, "k")
	if got := waitAll(t, c, 200); got != "[2 3]" {
		t.Fatalf("WAITALL with a replica down = %s", got)
	}
	res := waitAllAsync(t, p, c)
	r3.start() // the same folder: the same node id
	if got := <-res; got != "[3 3] <nil>" {
		t.Fatalf("WAITALL once the replica returned = %s", got)
	}

	// REPLICA FORGET drops it from a waiting call.
	r3.stop()
	c.Incr(ctx, "k")
	res = waitAllAsync(t, p, c)
	if err := p.c.Do(ctx, "REPLICA", "FORGET", "127.0.0.1:"+strconv.Itoa(r3.cfg.Port)).Err(); err != nil {
		t.Fatal(err)
	}
	if got := <-res; got != "[2 2] <nil>" {
		t.Fatalf("WAITALL after REPLICA FORGET = %s", got)
	}
	if err := p.c.Do(ctx, "REPLICA", "FORGET", "nosuch").Err(); err == nil || err.Error() != "ERR Unknown replica 'nosuch'" {
		t.Fatalf("REPLICA FORGET nosuch: %v", err)
	}

	// Inside MULTI: the pair at once, even with timeout 0.
	r2.stop()
	var cmd *redis.Cmd
	_, err := c.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.Incr(ctx, "k")
		cmd = pp.Do(ctx, "WAITALL", 0)
		return nil
	})
	if got, _ := cmd.Int64Slice(); err != nil || len(got) != 2 || got[1] != 2 || got[0] > 1 {
		t.Fatalf("MULTI INCR WAITALL 0 EXEC = %v, %v", got, err)
	}

	// A replica that leaves on purpose leaves the set at once; the one
	// that went away stays for the grace period.
	if err := r1.c.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "known_replicas drops to 1", func() bool {
		return p.info("replication")["known_replicas"] == "1"
	})
	if got := waitAll(t, c, 100); got != "[0 1]" {
		t.Fatalf("WAITALL with one replica down = %s\n%v", got, p.info("replication"))
	}

	// A replica gone beyond the grace period leaves the set.
	if err := p.c.ConfigSet(ctx, "waitall-disconnect-grace", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if got := waitAll(t, c, 0); got != "[0 0]" {
		t.Fatalf("WAITALL after the grace period = %s", got)
	}

	// On a replica.
	r2.start()
	waitLinkUp(t, r2)
	if err := r2.c.Do(ctx, "WAITALL", 0).Err(); err == nil || err.Error() != "ERR WAITALL cannot be used with replica instances" {
		t.Fatalf("WAITALL on a replica: %v", err)
	}
	for _, tc := range []struct{ arg, want string }{
		{"-1", "ERR timeout is negative"},
		{"x", "ERR timeout is not an integer or out of range"},
		{"9223372036854775807", "ERR timeout is out of range"},
	} {
		if err := c.Do(ctx, "WAITALL", tc.arg).Err(); err == nil || err.Error() != tc.want {
			t.Errorf("WAITALL %s: %v, want %s", tc.arg, err, tc.want)
		}
	}
}

// TestWaitAllIsolated: a primary that should have replicas but has none
// reports [0 N], not success.
func TestWaitAllIsolated(t *testing.T) {
	ctx := context.Background()
	p := newNode(t, func(c *config.Config) { c.WaitAllMinReplicas = 2 })
	c := p.conn()
	c.Set(ctx, "k", 1, 0)
	if got := waitAll(t, c, 100); got != "[0 2]" {
		t.Fatalf("WAITALL on an isolated primary = %s", got)
	}
	info := p.info("replication")
	if info["known_replicas"] != "0" || info["waitall_min_replicas"] != "2" {
		t.Fatalf("known_replicas %s, waitall_min_replicas %s", info["known_replicas"], info["waitall_min_replicas"])
	}
	if err := p.c.ConfigSet(ctx, "waitall-min-replicas", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if got := waitAll(t, c, 0); got != "[0 0]" {
		t.Fatalf("WAITALL with no floor = %s", got)
	}
}

// TestWaitMetrics: WAIT, WAITAOF and WAITALL are counted by result and
// timed.
func TestWaitMetrics(t *testing.T) {
	ctx := context.Background()
	port := testutil.FreePort(t)
	p := newNode(t, func(c *config.Config) { c.MetricsPort = port })
	c := p.conn()
	c.Set(ctx, "k", 1, 0)
	c.Do(ctx, "WAIT", 0, 0)
	c.Do(ctx, "WAIT", 1, 20)
	c.Do(ctx, "WAITAOF", 1, 0, 0)
	c.Do(ctx, "WAITALL", 0)
	c.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.Do(ctx, "WAIT", 1, 0)
		return nil
	})
	resp, err := http.Get("http://" + p.srv.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`shoal_replication_waits_total{command="wait",result="satisfied"} 1`,
		`shoal_replication_waits_total{command="wait",result="timeout"} 1`,
		`shoal_replication_waits_total{command="wait",result="nonblocking"} 1`,
		`shoal_replication_waits_total{command="waitaof",result="satisfied"} 1`,
		`shoal_replication_waits_total{command="waitall",result="satisfied"} 1`,
		`shoal_replication_wait_duration_seconds_count{command="wait"} 3`,
		`shoal_replication_wait_duration_seconds_count{command="waitall"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
