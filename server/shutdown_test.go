package server_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// shutdownWithLaggingReplica runs SHUTDOWN on a primary whose only replica
// is behind a paused proxy, as Redis's tests pause one, and returns what
// each step answered: SHUTDOWN waits with writes held and reads served,
// SHUTDOWN ABORT answers it with an error and lets the held write go, and
// with a short shutdown-timeout the primary shuts down with the replica
// still behind. pause and resume drive the proxy; gone reports whether the
// primary stopped.
func shutdownWithLaggingReplica(t *testing.T, addr string, pause, resume func(), gone func() bool) []string {
	ctx := testutil.Ctx(t)
	client := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, DisableIdentity: true})
		t.Cleanup(func() { c.Close() })
		return c
	}
	main := client()
	eventuallyTrue(t, "the replica online", func() bool { return slaveField(t, main) != "" })
	pause()
	main.Set(ctx, "unacknowledged", "1", 0)
	var out []string
	note := func(step string, err error) { out = append(out, fmt.Sprintf("%s: %v", step, err)) }
	shut := make(chan error, 1)
	go func() { shut <- client().Shutdown(ctx).Err() }()
	wrote := make(chan error, 1)
	time.Sleep(100 * time.Millisecond) // NB: the SHUTDOWN first
	go func() { wrote <- client().Set(ctx, "held", "1", 0).Err() }()
	select {
	case err := <-shut:
		t.Fatalf("SHUTDOWN returned with a replica behind: %v", err)
	case err := <-wrote:
		t.Fatalf("a write went through while SHUTDOWN waited: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	note("GET while SHUTDOWN waits", main.Get(ctx, "unacknowledged").Err())
	note("SHUTDOWN ABORT", main.Do(ctx, "SHUTDOWN", "ABORT").Err())
	note("the waiting SHUTDOWN", <-shut)
	note("the held SET", <-wrote)
	note("SHUTDOWN ABORT again", main.Do(ctx, "SHUTDOWN", "ABORT").Err())
	note("SHUTDOWN ABORT NOW", main.Do(ctx, "SHUTDOWN", "ABORT", "NOW").Err())

	note("CONFIG SET", main.ConfigSet(ctx, "shutdown-timeout", "1").Err())
	start := time.Now()
	// NB: go-redis reads the closed connection as SHUTDOWN's success.
	note("SHUTDOWN with shutdown-timeout 1", client().Shutdown(ctx).Err())
	eventuallyTrue(t, "the primary gone", gone)
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("shut down after %v, before shutdown-timeout", waited)
	}
	resume()
	return out
}

// TestShutdownWaitsForReplicas compares SHUTDOWN's wait for a lagging
// replica on Shoal with redis-server 7.0.15's.
func TestShutdownWaitsForReplicas(t *testing.T) {
	var want []string
	t.Run("redis-server", func(t *testing.T) {
		p := testutil.StartRedisServer(t, t.TempDir())
		proxy := testutil.NewProxy(t, p.Addr())
		host, port, _ := strings.Cut(proxy.HostPort(), " ")
		testutil.StartRedisServer(t, t.TempDir(), "--replicaof", host, port)
		want = shutdownWithLaggingReplica(t, p.Addr(), proxy.Pause, proxy.Resume, func() bool {
			nc, err := net.Dial("tcp", p.Addr())
			if err == nil {
				nc.Close()
			}
			return err != nil
		})
	})
	t.Run("shoal", func(t *testing.T) {
		p := testutil.Start(t, nil)
		proxy := testutil.NewProxy(t, p.Addr())
		cfg := testutil.Config(t)
		cfg.ReplicaOf = proxy.HostPort()
		testutil.Start(t, cfg)
		got := shutdownWithLaggingReplica(t, p.Addr(), proxy.Pause, proxy.Resume, func() bool {
			select {
			case <-p.Done():
				return true
			default:
				return false
			}
		})
		if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("shoal:\n%s\nredis-server:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestShutdownWithoutWait: SHUTDOWN NOW, a replica caught up, or
// shutdown-timeout 0 shut down without waiting: with an hour's
// shutdown-timeout, a shutdown that waited would not end within the test.
func TestShutdownWithoutWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []any
		timeout string
		paused  bool
	}{
		{"NOW", []any{"SHUTDOWN", "NOW"}, "3600", true},
		{"shutdown-timeout 0", []any{"SHUTDOWN"}, "0", true},
		{"caught up", []any{"SHUTDOWN"}, "3600", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testutil.Start(t, nil)
			proxy := testutil.NewProxy(t, p.Addr())
			cfg := testutil.Config(t)
			cfg.ReplicaOf = proxy.HostPort()
			testutil.Start(t, cfg)
			c := testutil.Client(t, p, 2)
			ctx := testutil.Ctx(t)
			eventuallyTrue(t, "the replica online", func() bool { return slaveField(t, c) != "" })
			c.ConfigSet(ctx, "shutdown-timeout", tc.timeout)
			c.Set(ctx, "k", "v", 0)
			if tc.paused {
				proxy.Pause()
				defer proxy.Resume()
			} else {
				eventuallyTrue(t, "the replica's ack", func() bool {
					return strings.Contains(slaveField(t, c), fmt.Sprintf("offset=%d,", infoField(t, c, "master_repl_offset")))
				})
			}
			go c.Do(ctx, tc.args...)
			select {
			case <-p.Done():
			case <-ctx.Done():
				t.Fatal("the server waited to shut down")
			}
		})
	}
}

// TestShutdownRefusesNewClientsAsRedis: once SHUTDOWN NOSAVE's connection
// closes, no client can connect, on Shoal as on redis-server 7.0.15, even
// while a script runs past busy-reply-threshold (scripting.tcl's
// "SHUTDOWN NOSAVE can kill a timedout script anyway").
func TestShutdownRefusesNewClientsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		p.c.ConfigSet(ctx, "busy-reply-threshold", "100")
		busy := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
		defer busy.Close()
		go busy.Eval(ctx, "local t = redis.call('time') while true do local n = redis.call('time') if n[1] - t[1] >= 2 then break end end", nil)
		eventuallyTrue(t, "the script busy", func() bool {
			return strings.HasPrefix(fmt.Sprint(p.c.Ping(ctx).Err()), "BUSY")
		})
		shut := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
		shut.Do(ctx, "SHUTDOWN", "NOSAVE")
		shut.Close()
		nc, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			nc.Close()
		}
		got = append(got, fmt.Sprint("refused: ", err != nil))
	}
	sameOnBoth(t, got)
	if got[0] != "refused: true" {
		t.Fatal("a client connected after SHUTDOWN NOSAVE")
	}
}
