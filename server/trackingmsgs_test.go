package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawSession is a connection that sends lines and reads what came back
// within a short wait, as bytes.
type rawSession struct {
	nc net.Conn
	br *bufio.Reader
}

func newRawSession(t *testing.T, addr string) *rawSession {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawSession{nc: nc, br: bufio.NewReader(nc)}
}

// do sends lines and returns what arrives until the connection is quiet
// for wait.
func (s *rawSession) do(wait time.Duration, lines ...string) string {
	for _, l := range lines {
		io.WriteString(s.nc, l+"\r\n")
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		s.nc.SetReadDeadline(time.Now().Add(wait))
		n, err := s.br.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}

// TestTrackingMessagesAsRedis: the invalidation messages a tracking
// client gets, byte for byte as from redis-server 7.0.15: in BCAST mode
// one message per prefix, its keys in order; one per key otherwise; the
// declared keys of a script that read; and, in RESP3,
// tracking-redir-broken once the redirect client is gone.
func TestTrackingMessagesAsRedis(t *testing.T) {
	const wait = 300 * time.Millisecond
	var got []string
	for _, p := range bothPeers(t) {
		var out []string
		redir := newRawSession(t, p.addr)
		id := strings.TrimSpace(strings.TrimPrefix(redir.do(wait, "CLIENT ID"), ":"))
		redir.do(wait, "SUBSCRIBE __redis__:invalidate")
		c := newRawSession(t, p.addr)
		c.do(wait, "CLIENT TRACKING on BCAST REDIRECT "+id+" PREFIX a: PREFIX b: NOLOOP")
		newRawSession(t, p.addr).do(wait, "MULTI", "INCR b:2", "INCR a:1", "INCR b:1", "INCR a:2", "INCR c:1", "INCR a:1", "EXEC")
		out = append(out, "bcast: "+redir.do(wait))
		d := newRawSession(t, p.addr)
		d.do(wait, "CLIENT TRACKING on REDIRECT "+id, "GET k1", "GET k2", "EVAL \"return redis.call('get', 'k3')\" 2 k4 k5")
		newRawSession(t, p.addr).do(wait, "MSET k2 1 k1 2 k5 3 k3 4 k4 5")
		out = append(out, "default and script: "+redir.do(wait))
		e := newRawSession(t, p.addr)
		e.do(wait, "HELLO 3", "CLIENT TRACKING on REDIRECT "+id, "GET k6")
		redir.do(wait, "QUIT")
		newRawSession(t, p.addr).do(wait, "SET k6 x")
		out = append(out, "broken: "+strings.ReplaceAll(e.do(wait, "PING"), ":"+id+"\r\n", ":<id>\r\n"))
		got = append(got, strings.Join(out, "\n"))
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
	}
}

// TestOwnInvalidationsFollowRepliesAsRedis follows tracking.tcl's "not
// interleaved" tests: a tracking client's own invalidations come after
// the reply of the command that caused them, a key it wrote and then
// read in one transaction stays tracked, and so does one read after a
// FLUSHALL in it; entries left by CLIENT TRACKING off end at the next
// write or flush; byte for byte as from redis-server 7.0.15.
func TestOwnInvalidationsFollowRepliesAsRedis(t *testing.T) {
	const wait = 200 * time.Millisecond
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		addr := p.addr
		c := newRawSession(t, addr)
		other := newRawSession(t, addr)
		c.do(wait, "HELLO 3")
		var out strings.Builder
		run := func(lines ...string) {
			for _, l := range lines {
				fmt.Fprintf(&out, "> %s\n%s", l, c.do(wait, l))
			}
		}
		run("CLIENT TRACKING on", "DEBUG SET-ACTIVE-EXPIRE 0",
			"MULTI", "MSET x{t} 1 y{t} 2", "PEXPIRE y{t} 100", "GET y{t}", "EXEC")
		time.Sleep(150 * time.Millisecond)
		run("MGET x{t} y{t}", "DEBUG SET-ACTIVE-EXPIRE 1")
		run("MSET a{t} 1 b{t} 2", "GET a{t}", "MULTI", "INCR a{t}", "GET b{t}", "EXEC")
		run("GET c", "MULTI", "SET c 1", "GET c", "EXEC")
		other.do(wait, "SET c 2")
		run("PING")
		run("GET d", "MULTI", "FLUSHALL", "GET d", "EXEC")
		other.do(wait, "SET d 1")
		run("PING")
		// The table outlives CLIENT TRACKING off: a write or a flush
		// meanwhile ends the entries, and nothing comes after on.
		run("GET e", "GET f", "CLIENT TRACKING off")
		other.do(wait, "SET e 1")
		run("FLUSHALL", "CLIENT TRACKING on")
		other.do(wait, "SET e 2", "SET f 2")
		run("PING", "GET g", "CLIENT TRACKING off", "CLIENT TRACKING on")
		other.do(wait, "SET g 1")
		run("PING")
		// A key written in BCAST mode ends the entry of an earlier read.
		run("GET h", "CLIENT TRACKING off", "CLIENT TRACKING on BCAST PREFIX h", "SET h 1",
			"CLIENT TRACKING off", "CLIENT TRACKING on")
		other.do(wait, "SET h 2")
		run("PING")
		got = append(got, out.String())
	}
	sameOnBoth(t, got)
}

// TestTrackingTableLimitLoweredAsRedis follows tracking.tcl's "Tracking
// gets notification on tracking table key eviction": lowering
// tracking-table-max-keys evicts keys past it without another read, and
// their readers are told; one of the two keys, as from redis-server
// 7.0.15.
func TestTrackingTableLimitLoweredAsRedis(t *testing.T) {
	const wait = 1500 * time.Millisecond
	var got []string
	for _, p := range bothPeers(t) {
		redir := newRawSession(t, p.addr)
		id := strings.TrimSpace(strings.TrimPrefix(redir.do(300*time.Millisecond, "CLIENT ID"), ":"))
		redir.do(300*time.Millisecond, "SUBSCRIBE __redis__:invalidate")
		c := newRawSession(t, p.addr)
		c.do(300*time.Millisecond, "CLIENT TRACKING on REDIRECT "+id+" NOLOOP", "MSET key1 1 key2 2", "MGET key1 key2",
			"CONFIG SET tracking-table-max-keys 1")
		out := redir.do(wait)
		out = strings.NewReplacer("key1", "key<n>", "key2", "key<n>").Replace(out)
		got = append(got, out)
	}
	if got[0] != got[1] || !strings.Contains(got[0], "key<n>") {
		t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
	}
}

// TestTrackingRedirectBrokenFlagAsRedis follows tracking.tcl's "CLIENT
// TRACKINGINFO provides reasonable results when tracking redir broken":
// once a message finds the redirect client gone, TRACKINGINFO shows
// broken_redirect and CLIENT LIST flag R, as in redis-server 7.0.15.
func TestTrackingRedirectBrokenFlagAsRedis(t *testing.T) {
	const wait = 300 * time.Millisecond
	var got []string
	for _, p := range bothPeers(t) {
		redir := newRawSession(t, p.addr)
		id := strings.TrimSpace(strings.TrimPrefix(redir.do(wait, "CLIENT ID"), ":"))
		c := newRawSession(t, p.addr)
		c.do(wait, "HELLO 3", "CLIENT TRACKING on REDIRECT "+id, "SET key1 1", "GET key1")
		redir.do(wait, "QUIT")
		newRawSession(t, p.addr).do(wait, "SET key1 2")
		out := c.do(wait, "CLIENT TRACKINGINFO")
		list := c.do(wait, "CLIENT INFO")
		_, flags, _ := strings.Cut(list, " flags=")
		flags, _, _ = strings.Cut(flags, " ")
		got = append(got, strings.ReplaceAll(out, ":"+id+"\r\n", ":<id>\r\n")+"flags="+flags)
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
	}
}

// TestTrackingLimitBeforeEachCommandAsRedis follows tracking.tcl's
// "Regression test for #11715": with the cron paused (DEBUG PAUSE-CRON), a
// lowered tracking-table-max-keys is applied before the next command, a
// PING queued in MULTI here, whose client gets the invalidation before
// QUEUED; byte for byte as from redis-server 7.0.15.
func TestTrackingLimitBeforeEachCommandAsRedis(t *testing.T) {
	const wait = 300 * time.Millisecond
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		addr := p.addr
		admin, c := newRawSession(t, addr), newRawSession(t, addr)
		admin.do(wait, "CONFIG SET tracking-table-max-keys 2", "DEBUG PAUSE-CRON 1")
		c.do(wait, "HELLO 3")
		out := c.do(wait, "CLIENT TRACKING on", "MGET 1{tag} 2{tag}", "MULTI")
		admin.do(wait, "CONFIG SET tracking-table-max-keys 1")
		out += c.do(wait, "PING", "EXEC")
		admin.do(wait, "DEBUG PAUSE-CRON 0", "CONFIG SET tracking-table-max-keys 1000000")
		got = append(got, strings.NewReplacer("1{tag}", "<n>{tag}", "2{tag}", "<n>{tag}").Replace(out))
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal:\n%q\nredis-server:\n%q", got[0], got[1])
	}
}
