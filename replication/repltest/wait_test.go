package repltest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/failpoint"
	"github.com/shoaldb/shoal/internal/testutil"
)

// The cases of Redis's tests/unit/wait.tcl, with a proxy that holds the
// replication link where Redis pauses the replica's process.

const waitOnReplica = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."

// pair is a primary with one replica behind a pausable proxy.
func pair(t *testing.T, edit func(*config.Config)) (p, r *node, px *testutil.Proxy) {
	t.Helper()
	p = newNode(t, edit)
	px = testutil.NewProxy(t, p.addr())
	r = newNode(t, func(c *config.Config) {
		c.ReplicaOf = px.HostPort()
		if edit != nil {
			edit(c)
		}
	})
	waitOnline(t, p, 1)
	return p, r, px
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	p, r, px := pair(t, nil)
	m := p.conn()

	t.Run("timeout out of range", func(t *testing.T) {
		for _, tc := range []struct{ timeout, want string }{
			{"9223372036854775808", "ERR timeout is not an integer or out of range"},
			{"9223372036854775807", "ERR timeout is out of range"},
			{"-1", "ERR timeout is negative"},
			{"x", "ERR timeout is not an integer or out of range"},
		} {
			if err := m.Do(ctx, "WAIT", 2, tc.timeout).Err(); err == nil || err.Error() != tc.want {
				t.Errorf("WAIT 2 %s: %v, want %s", tc.timeout, err, tc.want)
			}
		}
		if err := m.Do(ctx, "WAIT", "x", 0).Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
			t.Errorf("WAIT x 0: %v", err)
		}
		if err := m.Do(ctx, "WAIT", 1).Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'wait' command" {
			t.Errorf("WAIT 1: %v", err)
		}
	})

	t.Run("acknowledges one copy", func(t *testing.T) {
		m.Set(ctx, "foo", 0, 0)
		m.Incr(ctx, "foo")
		m.Incr(ctx, "foo")
		if n, err := m.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
			t.Fatalf("WAIT 1 5000 = %d, %v", n, err)
		}
		if v, _ := r.c.Get(ctx, "foo").Result(); v != "2" {
			t.Fatalf("replica foo = %q", v)
		}
	})

	t.Run("does not acknowledge two copies", func(t *testing.T) {
		m.Incr(ctx, "foo")
		if n, err := m.Do(ctx, "WAIT", 2, 200).Int(); err != nil || n != 1 {
			t.Fatalf("WAIT 2 200 = %d, %v, want 1 at the timeout", n, err)
		}
	})

	t.Run("WAIT 0 replies at once", func(t *testing.T) {
		px.Pause()
		defer px.Resume()
		m.Incr(ctx, "foo")
		// Timeout 0 would block forever if WAIT 0 waited.
		if n, err := m.Do(ctx, "WAIT", 0, 0).Int(); err != nil || n != 0 {
			t.Fatalf("WAIT 0 0 = %d, %v", n, err)
		}
		if n, err := m.Do(ctx, "WAIT", -1, 0).Int(); err != nil || n != 0 {
			t.Fatalf("WAIT -1 0 = %d, %v", n, err)
		}
	})

	t.Run("blocked replica", func(t *testing.T) {
		px.Pause()
		m.Set(ctx, "foo", 0, 0)
		m.Incr(ctx, "foo")
		if n, err := m.Do(ctx, "WAIT", 1, 200).Int(); err != nil || n != 0 {
			t.Fatalf("WAIT 1 200 with the replica paused = %d, %v", n, err)
		}
		px.Resume()
		if n, err := m.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || n != 1 {
			t.Fatalf("WAIT 1 10000 after resuming = %d, %v", n, err)
		}
	})

	t.Run("multiple clients unblock", func(t *testing.T) {
		px.Pause()
		c1, c2 := p.conn(), p.conn()
		c1.Incr(ctx, "foo")
		c2.Incr(ctx, "foo")
		res := make(chan string, 2)
		for _, c := range []*redis.Conn{c1, c2} {
			go func() {
				n, err := c.Do(ctx, "WAIT", 1, 0).Int()
				res <- fmt.Sprint(n, err)
			}()
		}
		eventually(t, "two clients are blocked", func() bool {
			return p.info("clients")["blocked_clients"] == "2"
		})
		px.Resume()
		for i := 0; i < 2; i++ {
			if got := <-res; got != "1 <nil>" {
				t.Fatalf("WAIT 1 0 = %s", got)
			}
		}
		for _, c := range []*redis.Conn{c1, c2} {
			if err := c.Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("a client that hangs up stops waiting", func(t *testing.T) {
		px.Pause()
		defer px.Resume()
		// A client that goes away while blocked stops counting as blocked.
		raw := testutil.Dial(t, p.addr())
		raw.Send("*2\r\n$4\r\nINCR\r\n$3\r\nfoo\r\n*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n")
		if got, err := raw.ReadReply(); err != nil || !strings.HasPrefix(got, ":") {
			t.Fatalf("INCR: %q, %v", got, err)
		}
		waitBlocked(t, p, 1)
		raw.Conn.Close()
		waitBlocked(t, p, 0)
	})

	t.Run("in MULTI replies at once", func(t *testing.T) {
		px.Pause()
		defer px.Resume()
		var cmd *redis.Cmd
		_, err := m.TxPipelined(ctx, func(pp redis.Pipeliner) error {
			pp.Incr(ctx, "foo")
			cmd = pp.Do(ctx, "WAIT", 1, 0)
			return nil
		})
		if n, _ := cmd.Int(); err != nil || n != 0 {
			t.Fatalf("MULTI INCR WAIT 1 0 EXEC: %d, %v", n, err)
		}
	})

	t.Run("client that never wrote counts every replica", func(t *testing.T) {
		c := p.client(0)
		if n, err := c.Do(ctx, "WAIT", 5, 100).Int(); err != nil || n != 1 {
			t.Fatalf("WAIT 5 100 from a fresh client = %d, %v", n, err)
		}
	})

	t.Run("on a replica", func(t *testing.T) {
		if err := r.c.Do(ctx, "WAIT", 1, 0).Err(); err == nil || err.Error() != waitOnReplica {
			t.Fatalf("WAIT on a replica: %v", err)
		}
		// The check comes before the arguments are parsed.
		if err := r.c.Do(ctx, "WAIT", "x", "y").Err(); err == nil || err.Error() != waitOnReplica {
			t.Fatalf("WAIT x y on a replica: %v", err)
		}
	})
}

// TestWaitUnblockedOnDemotion: a client blocked in WAIT on a primary that
// becomes a replica gets -UNBLOCKED and its connection is closed.
func TestWaitUnblockedOnDemotion(t *testing.T) {
	ctx := context.Background()
	other := newNode(t, nil)
	p, _, px := pair(t, nil)
	for _, cmd := range [][]any{{"WAIT", 1, 0}, {"WAITAOF", 0, 1, 0}, {"WAITALL", 0}} {
		px.Pause()
		c := p.conn()
		c.Set(ctx, "k", "v", 0)
		res := make(chan error, 1)
		go func() { res <- c.Do(ctx, cmd...).Err() }()
		eventually(t, "the client is blocked", func() bool {
			return p.info("clients")["blocked_clients"] == "1"
		})
		if err := p.c.Do(ctx, "REPLICAOF", "127.0.0.1", other.cfg.Port).Err(); err != nil {
			t.Fatal(err)
		}
		err := <-res
		want := "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
		if err == nil || err.Error() != want {
			t.Fatalf("%v on a demoted primary: %v", cmd, err)
		}
		if err := p.c.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
			t.Fatal(err)
		}
		// NB: the replica may have been dropped while p synced from
		// other; it can only come back through a flowing link.
		px.Resume()
		waitOnline(t, p, 1)
	}
}

func TestWaitAOF(t *testing.T) {
	ctx := context.Background()
	for _, fsync := range []string{"everysec", "always"} {
		t.Run(fsync, func(t *testing.T) {
			p, r, px := pair(t, func(c *config.Config) { c.AppendFsync = fsync })
			m := p.conn()
			m.Incr(ctx, "foo")
			got, err := m.Do(ctx, "WAITAOF", 1, 0, 0).Int64Slice()
			if err != nil || fmt.Sprint(got) != "[1 0]" && fmt.Sprint(got) != "[1 1]" {
				t.Fatalf("WAITAOF 1 0 0 = %v, %v", got, err)
			}
			m.Incr(ctx, "foo")
			if got, err := m.Do(ctx, "WAITAOF", 1, 1, 0).Int64Slice(); err != nil || fmt.Sprint(got) != "[1 1]" {
				t.Fatalf("WAITAOF 1 1 0 = %v, %v", got, err)
			}
			// A paused replica: the local copy only, at the timeout.
			px.Pause()
			m.Incr(ctx, "foo")
			if got, err := m.Do(ctx, "WAITAOF", 1, 0, 0).Int64Slice(); err != nil || fmt.Sprint(got) != "[1 0]" {
				t.Fatalf("WAITAOF 1 0 0 with the replica paused = %v, %v", got, err)
			}
			if got, err := m.Do(ctx, "WAITAOF", 1, 1, 200).Int64Slice(); err != nil || fmt.Sprint(got) != "[1 0]" {
				t.Fatalf("WAITAOF 1 1 200 with the replica paused = %v, %v", got, err)
			}
			px.Resume()
			if got, err := m.Do(ctx, "WAITAOF", 1, 1, 0).Int64Slice(); err != nil || fmt.Sprint(got) != "[1 1]" {
				t.Fatalf("WAITAOF 1 1 0 after resuming = %v, %v", got, err)
			}
			// A client that never wrote.
			if got, err := p.conn().Do(ctx, "WAITAOF", 1, 1, 0).Int64Slice(); err != nil || fmt.Sprint(got) != "[1 1]" {
				t.Fatalf("WAITAOF from a fresh client = %v, %v", got, err)
			}
			if err := r.c.Do(ctx, "WAITAOF", 0, 0, 0).Err(); err == nil || err.Error() != "ERR WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated." {
				t.Fatalf("WAITAOF on a replica: %v", err)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		s := testutil.Start(t, nil)
		c := testutil.Client(t, s, 2)
		for _, tc := range []struct {
			args []any
			want string
		}{
			{[]any{"WAITAOF", 2, 0, 0}, "ERR value is out of range, value must between 0 and 1"},
			{[]any{"WAITAOF", -1, 0, 0}, "ERR value is out of range, value must between 0 and 1"},
			{[]any{"WAITAOF", 1, -1, 0}, "ERR value is out of range, must be positive"},
			{[]any{"WAITAOF", 1, 0, -1}, "ERR timeout is negative"},
			{[]any{"WAITAOF", "x", 0, 0}, "ERR value is not an integer or out of range"},
			{[]any{"WAITAOF", 1, 0}, "ERR wrong number of arguments for 'waitaof' command"},
		} {
			if err := c.Do(ctx, tc.args...).Err(); err == nil || err.Error() != tc.want {
				t.Errorf("%v: %v, want %s", tc.args, err, tc.want)
			}
		}
		// No replicas, nothing written: at once.
		if got, err := c.Do(ctx, "WAITAOF", 1, 0, 0).Int64Slice(); err != nil || fmt.Sprint(got) != "[1 0]" {
			t.Fatalf("WAITAOF 1 0 0 = %v, %v", got, err)
		}
		var cmd *redis.Cmd
		_, err := c.TxPipelined(ctx, func(pp redis.Pipeliner) error {
			pp.Incr(ctx, "foo")
			cmd = pp.Do(ctx, "WAITAOF", 0, 1, 0)
			return nil
		})
		if got, _ := cmd.Int64Slice(); err != nil || len(got) != 2 || got[1] != 0 {
			t.Fatalf("WAITAOF in MULTI = %v, %v", got, err)
		}
	})
}

// waitBlocked waits until p has n blocked clients.
func waitBlocked(t *testing.T, p *node, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d clients are blocked", n), func() bool {
		return p.info("clients")["blocked_clients"] == fmt.Sprint(n)
	})
}

// TestWaitAnsweredByGetAck runs WAITs beside a write load on a replica that
// sends no periodic acknowledgement, so each WAIT returns only if its
// GETACK reached the replica behind the write it waits for: a GETACK lost,
// or sent ahead of that write, leaves its WAIT blocked until the test's
// deadline (where a replica's once-a-second ACK would have ended it).
func TestWaitAnsweredByGetAck(t *testing.T) {
	if err := failpoint.Set("replication/periodic-ack", "drop"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { failpoint.Set("replication/periodic-ack", "off") })
	p, _, _ := pair(t, nil)
	// NB: many writers of one command each, so that commits apply
	// concurrently and finish out of offset order.
	quit := make(chan struct{})
	var writers sync.WaitGroup
	defer func() { close(quit); writers.Wait() }()
	for i := range 32 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			c := p.conn()
			defer c.Close()
			for j := 0; ; j++ {
				select {
				case <-quit:
					return
				default:
				}
				if err := c.Set(context.Background(), fmt.Sprintf("load:%d:%d", i, j%1000), j, 0).Err(); err != nil {
					t.Errorf("write load: %v", err)
					return
				}
			}
		}()
	}
	const waiters, rounds = 4, 300
	errs := make(chan error, waiters)
	for w := range waiters {
		go func() {
			c := p.conn()
			defer c.Close()
			for i := range rounds {
				// NB: a deadline, not WAIT's timeout: WAIT 1 0 blocks until
				// the replica acknowledges; the deadline only ends a test
				// that would hang.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				k := fmt.Sprintf("w%d:%d", w, i)
				if err := c.Set(ctx, k, i, 0).Err(); err != nil {
					cancel()
					errs <- err
					return
				}
				n, err := c.Wait(ctx, 1, 0).Result()
				cancel()
				if err != nil || n != 1 {
					errs <- fmt.Errorf("WAIT 1 0 after SET %s: %d, %v", k, n, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range waiters {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
