package server_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestBigArgumentAsRedis: a bulk of 32 KiB or more counts whole in its
// client's memory from its header on, as Redis sizes its query buffer for
// it: CLIENT LIST's qbuf and qbuf-free of a client halfway through one
// are redis-server 7.0.15's, and under maxmemory-clients a client that
// announced a bulk past the limit is closed before the rest arrives. The
// payload, read straight into the argument, comes back whole.
func TestBigArgumentAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		ctx := testutil.Ctx(t)
		// NB: Redis's cron trims a query buffer sized for a big argument
		// to the argument's length when it visits the client between the
		// read of the header and the next read; paused, it leaves the
		// size the read made.
		p.c.Do(ctx, "DEBUG", "PAUSE-CRON", "1")
		var b strings.Builder
		// sent announces a bulk of size bytes and sends part of it; it
		// returns the client, its ID and its CLIENT LIST line once the
		// server read the part (nil when the client is gone).
		sent := func(size, part int) (*testutil.Raw, string, map[string]string) {
			r := testutil.Dial(t, p.addr)
			id := rawClientID(r)
			r.Send(fmt.Sprintf("*2\r\n$4\r\nECHO\r\n$%d\r\n%s", size, bytes.Repeat([]byte("x"), part)))
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				list := p.c.ClientList(ctx).Val()
				if !strings.Contains(list, "id="+id+" ") {
					return r, id, nil
				}
				f := clientFields(t, list, id)
				if fieldInt(t, f, "qbuf") >= int64(part) {
					return r, id, f
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Fatalf("%s: the server did not read %d bytes", p.name, part)
			return nil, "", nil
		}
		r, _, f := sent(200000, 50000)
		fmt.Fprintf(&b, "halfway: qbuf=%s qbuf-free=%s\n", f["qbuf"], f["qbuf-free"])
		r.Send(strings.Repeat("x", 150000) + "\r\n")
		reply, err := r.ReadReply()
		fmt.Fprintf(&b, "ECHO: %d bytes, whole %v, %v\n", len(reply), reply == "$200000\r\n"+strings.Repeat("x", 200000)+"\r\n", err)

		p.c.Do(ctx, "DEBUG", "PAUSE-CRON", "0")
		p.c.ConfigSet(ctx, "maxmemory-clients", "1mb")
		_, id, f := sent(2000000, 100000)
		if f != nil {
			// NB: read but not yet weighed: give the check a moment.
			deadline := time.Now().Add(3 * time.Second)
			for f != nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				if list := p.c.ClientList(ctx).Val(); !strings.Contains(list, "id="+id+" ") {
					f = nil
				}
			}
		}
		fmt.Fprintf(&b, "announced 2000000 of 1mb, sent 100000: evicted %v\n", f == nil)
		p.c.ConfigSet(ctx, "maxmemory-clients", "0")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}

// TestBigArgumentRoomAsRedis follows querybuf.tcl's "query buffer
// resized correctly when not idle": after a request with a 400 KB
// argument a client keeps a query buffer of that size, as Redis expects
// another such argument (CLIENT LIST's qbuf and qbuf-free equal Redis's),
// and small requests over the next 100 ms or more shrink it.
func TestBigArgumentRoomAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t) {
		ctx := testutil.Ctx(t)
		var b strings.Builder
		r := testutil.Dial(t, p.addr)
		id := rawClientID(r)
		room := func() string {
			f := clientFields(t, p.c.ClientList(ctx).Val(), id)
			return "qbuf=" + f["qbuf"] + " qbuf-free=" + f["qbuf-free"]
		}
		r.Send(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$400000\r\n%s\r\n", strings.Repeat("A", 400000)))
		r.ReadReply()
		fmt.Fprintf(&b, "after a 400 KB argument: %s\n", room())
		shrunk := false
		for deadline := time.Now().Add(2 * time.Second); !shrunk && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			r.Send("SET x small\r\n")
			r.ReadReply()
			f := clientFields(t, p.c.ClientList(ctx).Val(), id)
			shrunk = fieldInt(t, f, "qbuf")+fieldInt(t, f, "qbuf-free") < 32768
		}
		fmt.Fprintf(&b, "small requests shrink it: %v\n", shrunk)
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
