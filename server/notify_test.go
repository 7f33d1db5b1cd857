package server_test

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestNotifyExpiredByActiveExpiry: a key the sweeper deletes fires
// "expired" on __keyevent@0__:expired.
func TestNotifyExpiredByActiveExpiry(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 2)
	if err := c.ConfigSet(ctx, "notify-keyspace-events", "Ex").Err(); err != nil {
		t.Fatal(err)
	}
	ps := c.Subscribe(ctx, "__keyevent@0__:expired")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "short", "v", 20e6).Err(); err != nil { // 20 ms
		t.Fatal(err)
	}
	m, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Payload != "short" {
		t.Errorf("expired event for %q, want short", m.Payload)
	}
}

// TestNotifyRedisCLI watches events as a user would, with redis-cli
// --csv psubscribe.
func TestNotifyRedisCLI(t *testing.T) {
	bin := testutil.RequireTool(t, "redis-cli")
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 2)
	if err := c.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	cmd := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "--csv", "psubscribe", "__key*__:*")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("redis-cli ended: %v", lines.Err())
		}
		return lines.Text()
	}
	got := next()
	if strings.HasPrefix(got, "Reading messages") {
		got = next()
	}
	if got != `"psubscribe","__key*__:*",1` {
		t.Fatalf("redis-cli said %q", got)
	}
	if err := c.LPush(ctx, "queue", "job").Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"pmessage","__key*__:*","__keyspace@0__:queue","lpush"`,
		`"pmessage","__key*__:*","__keyevent@0__:lpush","queue"`,
	} {
		if got := next(); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// TestNotifyOnReplicaOfRedis: a Shoal replica of a redis-server fires the
// events of the writes it applies, as a Redis replica does.
func TestNotifyOnReplicaOfRedis(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir(), "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
	rc := r.Client(t, 0)
	ctx := testutil.Ctx(t)
	s := testutil.Start(t, nil)
	sc := testutil.Client(t, s, 2)
	if err := sc.ConfigSet(ctx, "notify-keyspace-events", "E$g").Err(); err != nil {
		t.Fatal(err)
	}
	ps := sc.PSubscribe(ctx, "__keyevent@0__:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sc.Do(ctx, "REPLICAOF", "127.0.0.1", r.Port).Err(); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, rc)
	if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Del(ctx, "k").Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"__keyevent@0__:set k", "__keyevent@0__:del k"} {
		m, err := ps.ReceiveMessage(ctx)
		// NB: waitReplicas's INCRs reach Shoal in the RDB or, once the
		// link is up, in the stream, with their events.
		for err == nil && m.Payload == "barrier" {
			m, err = ps.ReceiveMessage(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Channel + " " + m.Payload; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// TestTrackingRedirect: a RESP2 client tracks through a second
// connection subscribed to __redis__:invalidate, as Redis 6 clients do.
func TestTrackingRedirect(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	inval := testutil.Client(t, s, 2)
	// NB: one connection, so the ID is the subscriber's.
	sub := inval.Subscribe(ctx, "__redis__:invalidate")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	var subID int64
	var err error
	for _, line := range strings.Split(testutil.Client(t, s, 2).ClientList(ctx).Val(), "\n") {
		if strings.Contains(line, "flags=P") {
			f := strings.Fields(line)
			if subID, err = strconv.ParseInt(strings.TrimPrefix(f[0], "id="), 10, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	reader := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 2, PoolSize: 1, DisableIdentity: true})
	t.Cleanup(func() { reader.Close() })
	if err := reader.Do(ctx, "CLIENT", "TRACKING", "on", "REDIRECT", subID).Err(); err != nil {
		t.Fatal(err)
	}
	if got := reader.Do(ctx, "CLIENT", "GETREDIR").Val(); got != subID {
		t.Errorf("CLIENT GETREDIR %v, want %d", got, subID)
	}
	reader.Get(ctx, "cached")
	writer := testutil.Client(t, s, 2)
	if err := writer.Set(ctx, "cached", "new", 0).Err(); err != nil {
		t.Fatal(err)
	}
	m, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != "__redis__:invalidate" || len(m.PayloadSlice) != 1 || m.PayloadSlice[0] != "cached" {
		t.Errorf("got %+v, want [cached] on __redis__:invalidate", m)
	}
	info := writer.Info(ctx, "clients", "stats").Val()
	for _, want := range []string{"tracking_clients:1\r\n", "tracking_total_keys:0\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	// RESET ends tracking.
	if err := reader.Do(ctx, "RESET").Err(); err != nil {
		t.Fatal(err)
	}
	if got := reader.Do(ctx, "CLIENT", "GETREDIR").Val(); got != int64(-1) {
		t.Errorf("CLIENT GETREDIR after RESET: %v", got)
	}
}

// TestTrackingOtherWriter: a RESP3 client is told, as a push, of a
// change another client made to a key it read.
func TestTrackingOtherWriter(t *testing.T) {
	s := testutil.Start(t, nil)
	raw := testutil.Dial(t, s.Addr())
	for _, cmd := range []string{"HELLO 3", "CLIENT TRACKING on", "GET k"} {
		raw.Send(cmd + "\r\n")
		if _, err := raw.ReadReply(); err != nil {
			t.Fatal(err)
		}
	}
	c := testutil.Client(t, s, 2)
	if err := c.Set(testutil.Ctx(t), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := raw.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	if want := ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestMonitorClient: a monitor shows in CLIENT LIST with flag O, CLIENT
// KILL ends it, and RESET leaves MONITOR.
func TestMonitorClient(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	mon := testutil.Dial(t, s.Addr())
	mon.Send("MONITOR\r\n")
	if r, err := mon.ReadReply(); err != nil || r != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", r, err)
	}
	c := testutil.Client(t, s, 2)
	list := c.ClientList(ctx).Val()
	if !strings.Contains(list, "flags=O ") {
		t.Fatalf("no monitor in CLIENT LIST:\n%s", list)
	}
	mon.Send("RESET\r\n")
	for {
		r, err := mon.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		if r == "+RESET\r\n" {
			break
		}
	}
	if list := c.ClientList(ctx).Val(); strings.Contains(list, "flags=O ") {
		t.Errorf("RESET left MONITOR on:\n%s", list)
	}
	mon.Send("MONITOR\r\n")
	if r, err := mon.ReadReply(); err != nil || r != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", r, err)
	}
	if n, err := c.ClientKillByFilter(ctx, "SKIPME", "yes").Result(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL: %d %v", n, err)
	}
	if _, err := mon.ReadReply(); err == nil {
		t.Error("the killed monitor's connection is open")
	}
}

// TestTrackingOnReplica: a RESP3 client of a replica that read a key is
// told of the change when the primary's write reaches the replica, and of
// a FLUSHALL as a flush of everything, as Redis's replica tells it.
func TestTrackingOnReplica(t *testing.T) {
	p := testutil.Start(t, nil)
	r := startReplica(t, p)
	ctx := testutil.Ctx(t)
	w := testutil.Client(t, p, 2)
	if err := w.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rc := testutil.Client(t, r, 2)
	eventuallyTrue(t, "the replica has k", func() bool { return rc.Get(ctx, "k").Val() == "v1" })
	raw := testutil.Dial(t, r.Addr())
	for _, cmd := range []string{"HELLO 3", "CLIENT TRACKING on", "GET k"} {
		raw.Send(cmd + "\r\n")
		if _, err := raw.ReadReply(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := raw.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	if want := ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"; got != want {
		t.Errorf("after SET on the primary: got %q, want %q", got, want)
	}
	raw.Send("GET k\r\n")
	if got, err := raw.ReadReply(); err != nil || got != "$2\r\nv2\r\n" {
		t.Fatalf("GET k on the replica: %q, %v", got, err)
	}
	// A write that leaves the key's metadata as it was: a hash field's
	// new value, a list element set in place.
	w.HSet(ctx, "h", "f", "v1")
	w.RPush(ctx, "l", "a", "b")
	eventuallyTrue(t, "the replica has l", func() bool { return rc.LLen(ctx, "l").Val() == 2 })
	for _, cmd := range []string{"HGET h f", "LINDEX l 0"} {
		raw.Send(cmd + "\r\n")
		if _, err := raw.ReadReply(); err != nil {
			t.Fatal(err)
		}
	}
	w.HSet(ctx, "h", "f", "v2")
	w.LSet(ctx, "l", 0, "c")
	for _, key := range []string{"h", "l"} {
		got, err := raw.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		if want := ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\n" + key + "\r\n"; got != want {
			t.Errorf("after a write of %s on the primary: got %q, want %q", key, got, want)
		}
	}
	if err := w.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = raw.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	if want := ">2\r\n$10\r\ninvalidate\r\n_\r\n"; got != want {
		t.Errorf("after FLUSHALL on the primary: got %q, want %q", got, want)
	}
}
