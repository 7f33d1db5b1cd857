package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// peer is a server under test: Shoal or redis-server 7.0.15, the same
// commands sent to both.
type peer struct {
	name string
	addr string
	port int
	c    *redis.Client
}

// bothPeers starts a Shoal and a redis-server, each fresh, the latter
// with redisArgs (such as --enable-debug-command yes: Shoal's tests allow
// DEBUG from loopback).
func bothPeers(t *testing.T, redisArgs ...string) []peer {
	s := testutil.Start(t, nil)
	r := testutil.StartRedisServer(t, t.TempDir(), redisArgs...)
	_, sp, _ := net.SplitHostPort(s.Addr())
	port, _ := strconv.Atoi(sp)
	return []peer{
		{name: "shoal", addr: s.Addr(), port: port, c: testutil.Client(t, s, 2)},
		{name: "redis", addr: r.Addr(), port: r.Port, c: r.Client(t, 0)},
	}
}

// sameOnBoth fails the test unless what Shoal gave (got[0]) equals what
// redis-server gave (got[1]).
func sameOnBoth(t *testing.T, got []string) {
	t.Helper()
	if got[0] != got[1] {
		t.Fatalf("Shoal:\n%s\nredis-server:\n%s", got[0], got[1])
	}
}

// recorder returns a function that runs a command on c and writes it,
// its reply and its error to b, a line each: a transcript to compare
// between the two servers.
func recorder(ctx context.Context, c interface {
	Do(context.Context, ...any) *redis.Cmd
}, b *strings.Builder) func(args ...any) {
	return func(args ...any) {
		v, err := c.Do(ctx, args...).Result()
		fmt.Fprintf(b, "%q -> %v %v\n", args, v, err)
	}
}

// whileBlocked sends block on a client of its own to p, runs then once p
// counts it blocked, and returns block's reply and error as text.
func whileBlocked(t *testing.T, p peer, block []any, then func()) string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2})
	defer c.Close()
	done := make(chan string, 1)
	go func() {
		v, err := c.Do(context.Background(), block...).Result()
		done <- fmt.Sprint(v, " ", err)
	}()
	eventuallyTrue(t, "a blocked client", func() bool { return infoText(t, p.c, "blocked_clients") == "1" })
	then()
	return <-done
}

// rawExchange writes req and QUIT on a new connection to addr and
// counts the bytes that come back until the server closes it.
func rawExchange(t *testing.T, addr, req string) int {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, req+"QUIT\r\n"); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(time.Minute))
	n, err := io.Copy(io.Discard, nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	return int(n)
}

// TestNormalOutputLimitAsRedis: client-output-buffer-limit's normal class
// closes a client whose replies pass it, without sending them, as
// redis-server does; under the limit, and with the class's default of no
// limit, the replies come.
func TestNormalOutputLimitAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	big := strings.Repeat("x", 2<<20)
	piece := strings.Repeat("y", 100<<10)
	pipeline := strings.Repeat("GET piece\r\n", 12) // 1.2 MB of replies
	// Bytes back before the close, each exchange ending with QUIT's +OK.
	type outcome struct {
		Get, GetBig, Pipeline       int
		LimitedBig, LimitedPipeline int
		Config                      string
	}
	var got []outcome
	for _, p := range bothPeers(t) {
		p.c.Set(ctx, "big", big, 0)
		p.c.Set(ctx, "piece", piece, 0)
		p.c.Set(ctx, "small", "v", 0)
		var o outcome
		o.GetBig = rawExchange(t, p.addr, "GET big\r\n")
		o.Pipeline = rawExchange(t, p.addr, pipeline)
		if err := p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 1mb 0 0").Err(); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		o.Config = p.c.ConfigGet(ctx, "client-output-buffer-limit").Val()["client-output-buffer-limit"]
		o.Get = rawExchange(t, p.addr, "GET small\r\n")
		o.LimitedBig = rawExchange(t, p.addr, "GET big\r\n")
		o.LimitedPipeline = rawExchange(t, p.addr, pipeline)
		got = append(got, o)
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("Shoal: %+v\nredis-server: %+v", got[0], got[1])
	}
	if o := got[0]; o.LimitedBig != 0 || o.LimitedPipeline != 0 || o.GetBig <= 2<<20 {
		t.Fatalf("%+v", o)
	}
}

// replicaOf starts a redis-server replicating hostPort ("host port") and
// waits until primary shows it online. The primary syncs at once
// (redis-server waits 5 s for more replicas by default).
func replicaOf(t *testing.T, primary *redis.Client, hostPort string) *testutil.RedisServer {
	t.Helper()
	if err := primary.ConfigSet(testutil.Ctx(t), "repl-diskless-sync-delay", "0").Err(); err != nil {
		t.Fatal(err)
	}
	r := testutil.StartRedisServer(t, t.TempDir(), append([]string{"--replicaof"}, strings.Fields(hostPort)...)...)
	eventuallyTrue(t, "the replica online", func() bool { return slaveField(t, primary) != "" })
	return r
}

// TestReplicaOutputLimitAsRedis: client-output-buffer-limit's replica
// class disconnects a redis-server replica that has not read that much of
// the stream, its hard limit raised to repl-backlog-size as Redis raises
// it; the same steps on a redis-server primary give the same answers.
func TestReplicaOutputLimitAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	value := strings.Repeat("v", 1<<20)
	var got [][]string
	for _, p := range bothPeers(t) {
		for _, kv := range [][2]string{{"repl-backlog-size", "64mb"}, {"client-output-buffer-limit", "replica 1mb 0 0"}} {
			if err := p.c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
		}
		proxy := testutil.NewProxy(t, p.addr)
		replicaOf(t, p.c, proxy.HostPort())
		proxy.Pause()
		// 24 MB: beyond what the sockets hold, within the 64 MB floor.
		for i := range 24 {
			p.c.Set(ctx, "k"+strconv.Itoa(i), value, 0)
		}
		time.Sleep(500 * time.Millisecond)
		under := infoText(t, p.c, "connected_slaves")
		p.c.ConfigSet(ctx, "repl-backlog-size", "1mb")
		p.c.Set(ctx, "last", value, 0)
		eventuallyTrue(t, p.name+": the replica dropped", func() bool { return infoText(t, p.c, "connected_slaves") == "0" })
		got = append(got, []string{"connected_slaves under the backlog: " + under})
		proxy.Resume()
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) || got[0][0] != "connected_slaves under the backlog: 1" {
		t.Fatalf("Shoal: %q\nredis-server: %q", got[0], got[1])
	}
}

// TestReplPingPeriodAsRedis: with repl-ping-replica-period 1 an idle
// primary's stream carries a PING (14 bytes) a second, which a
// redis-server replica counts in its offset; at the default of 10 s the
// wait below would not see three of them.
func TestReplPingPeriodAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	for _, p := range bothPeers(t) {
		t.Run(p.name, func(t *testing.T) {
			if err := p.c.ConfigSet(ctx, "repl-ping-replica-period", "1").Err(); err != nil {
				t.Fatal(err)
			}
			r := replicaOf(t, p.c, "127.0.0.1 "+strconv.Itoa(p.port))
			rc := r.Client(t, 0)
			offset := func() int64 { n, _ := strconv.ParseInt(infoText(t, rc, "master_repl_offset"), 10, 64); return n }
			from := offset()
			eventuallyTrue(t, "three PINGs", func() bool { return offset() >= from+3*14 })
		})
	}
}

// TestReplBacklogTTLAsRedis: a redis-server replica that comes back after
// repl-backlog-ttl without replicas syncs in full, the backlog freed; one
// that comes back within it continues. Shoal's primary counts the same
// syncs as redis-server's.
func TestReplBacklogTTLAsRedis(t *testing.T) {
	for _, ttl := range []string{"1", "3600"} {
		t.Run("ttl "+ttl, func(t *testing.T) {
			t.Parallel()
			ctx := testutil.Ctx(t)
			var got []string
			for _, p := range bothPeers(t) {
				if err := p.c.ConfigSet(ctx, "repl-backlog-ttl", ttl).Err(); err != nil {
					t.Fatal(err)
				}
				proxy := testutil.NewProxy(t, p.addr)
				r := replicaOf(t, p.c, proxy.HostPort())
				p.c.Set(ctx, "k", "v", 0)
				rc := r.Client(t, 0)
				eventuallyTrue(t, "the key on the replica", func() bool { return rc.Get(ctx, "k").Val() == "v" })
				proxy.Close() // the replica's retries are refused from now on
				eventuallyTrue(t, p.name+": the replica gone", func() bool { return infoText(t, p.c, "connected_slaves") == "0" })
				time.Sleep(3 * time.Second)
				if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", p.port).Err(); err != nil {
					t.Fatal(err)
				}
				eventuallyTrue(t, p.name+": the replica back", func() bool { return slaveField(t, p.c) != "" })
				got = append(got, fmt.Sprintf("sync_full %s, sync_partial_ok %s",
					infoText(t, p.c, "sync_full"), infoText(t, p.c, "sync_partial_ok")))
			}
			want := map[string]string{"1": "sync_full 2, sync_partial_ok 0", "3600": "sync_full 1, sync_partial_ok 1"}[ttl]
			if got[0] != got[1] || got[0] != want {
				t.Fatalf("Shoal: %s; redis-server: %s; want %s", got[0], got[1], want)
			}
		})
	}
}

// TestReplDisableTCPNoDelay: repl-disable-tcp-nodelay yes turns
// TCP_NODELAY off on a replica's socket at its PSYNC, as Redis's SYNC
// does; by default it stays on.
func TestReplDisableTCPNoDelay(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	nodelay := func() int {
		nc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		io.WriteString(nc, "CLIENT ID\r\n")
		line, _ := br.ReadString('\n')
		id := strings.TrimSpace(strings.TrimPrefix(line, ":"))
		var fd int
		for _, l := range strings.Split(testutil.Client(t, s, 2).ClientList(ctx).Val(), "\n") {
			if strings.HasPrefix(l, "id="+id+" ") {
				f := strings.Fields(l)
				for _, kv := range f {
					if v, ok := strings.CutPrefix(kv, "fd="); ok {
						fd, _ = strconv.Atoi(v)
					}
				}
			}
		}
		io.WriteString(nc, "PSYNC ? -1\r\n")
		if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "+FULLRESYNC") {
			t.Fatalf("PSYNC: %q", line)
		}
		v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := nodelay(); v != 1 {
		t.Fatalf("TCP_NODELAY %d on a replica's socket by default", v)
	}
	testutil.Client(t, s, 2).ConfigSet(ctx, "repl-disable-tcp-nodelay", "yes")
	if v := nodelay(); v != 0 {
		t.Fatalf("TCP_NODELAY %d on a replica's socket with repl-disable-tcp-nodelay yes", v)
	}
}

// TestSoftOutputLimitWithoutTrafficAsRedis follows obuf-limits.tcl's "soft
// limit is not enforced too early and is enforced when no traffic": a
// subscriber that reads nothing, past pubsub's soft limit, is closed once
// the limit's time has passed even though nothing more is published.
func TestSoftOutputLimitWithoutTrafficAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	for _, p := range bothPeers(t) {
		t.Run(p.name, func(t *testing.T) {
			if err := p.c.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 0 100000 1").Err(); err != nil {
				t.Fatal(err)
			}
			sub := testutil.Dial(t, p.addr)
			sub.Send("CLIENT SETNAME slow\r\nSUBSCRIBE foo\r\n")
			omem := func() (int, bool) {
				for _, ln := range strings.Split(p.c.ClientList(ctx).Val(), "\n") {
					if strings.Contains(ln, "name=slow ") {
						_, v, _ := strings.Cut(ln, " omem=")
						n, _ := strconv.Atoi(strings.Fields(v)[0])
						return n, true
					}
				}
				return 0, false
			}
			eventuallyTrue(t, "subscribed", func() bool { return infoText(t, p.c, "pubsub_channels") == "1" })
			msg := strings.Repeat("x", 1000)
			for i := 0; ; i++ {
				if n, _ := omem(); n > 100000 {
					// NB: on a busy machine the subscriber's writer may
					// not have tried the socket yet: over the limit is
					// what the socket refused, still there a moment later.
					time.Sleep(200 * time.Millisecond)
					if n, _ := omem(); n > 100000 {
						break
					}
				}
				if i == 100000 {
					t.Fatal("the subscriber's output never passed 100000 bytes")
				}
				p.c.Publish(ctx, "foo", msg)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, ok := omem(); !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the subscriber is still connected 5 s after the soft limit's second")
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestHugeRandomCountStopsAtOutputLimitAsRedis follows obuf-limits.tcl's
// "HRANDFIELD with huge count stopped mid-run": under a normal output
// limit, a draw of a billion members stops at the limit and the client is
// closed, for HRANDFIELD, SRANDMEMBER and ZRANDMEMBER as in redis-server
// 7.0.15, rather than building the whole reply.
func TestHugeRandomCountStopsAtOutputLimitAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	for _, p := range bothPeers(t) {
		t.Run(p.name, func(t *testing.T) {
			p.c.ConfigSet(ctx, "client-output-buffer-limit", "normal 1000000 0 0")
			p.c.HSet(ctx, "myhash", "a", "b")
			p.c.SAdd(ctx, "myset", "a")
			p.c.ZAdd(ctx, "myzset", redis.Z{Score: 1, Member: "a"})
			for _, args := range [][]any{{"HRANDFIELD", "myhash", "-999999999"}, {"HRANDFIELD", "myhash", "-999999999", "WITHVALUES"},
				{"SRANDMEMBER", "myset", "-999999999"}, {"ZRANDMEMBER", "myzset", "-999999999"}} {
				c := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2, MaxRetries: -1})
				err := c.Do(ctx, args...).Err()
				c.Close()
				if err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "closed")) {
					t.Fatalf("%v: %v, want the connection closed", args, err)
				}
			}
		})
	}
}
