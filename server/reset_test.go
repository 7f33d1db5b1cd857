package server_test

import (
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestResetClearsClientState checks that RESET clears each piece of a
// connection's state as Redis 7.0's clearClientConnectionState does. The
// replies were recorded from redis-server 7.0.15 over raw sockets; AUTH is
// covered by TestReset.
func TestResetClearsClientState(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	reply := func(want string) {
		t.Helper()
		if got, err := r.ReadReply(); err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}

	// CLIENT REPLY OFF is cleared before RESET replies; a RESET that
	// CLIENT REPLY SKIP skips sends nothing.
	r.Send("CLIENT REPLY OFF\r\nRESET\r\nPING\r\n")
	reply("+RESET\r\n")
	reply("+PONG\r\n")
	r.Send("CLIENT REPLY SKIP\r\nRESET\r\nPING\r\n")
	reply("+PONG\r\n")

	// MULTI and WATCH.
	exchange(t, r,
		"MULTI\r\n", "+OK\r\n",
		"SET a 1\r\n", "+QUEUED\r\n",
		"RESET\r\n", "+RESET\r\n",
		"EXEC\r\n", "-ERR EXEC without MULTI\r\n",
		"WATCH w\r\n", "+OK\r\n",
		"RESET\r\n", "+RESET\r\n",
	)
	exchange(t, testutil.Dial(t, s.Addr()), "SET w 1\r\n", "+OK\r\n")
	exchange(t, r,
		"MULTI\r\n", "+OK\r\n",
		"EXEC\r\n", "*0\r\n",
	)

	// Subscriptions, and the protocol back to RESP2.
	r.Send("HELLO 3\r\n")
	if _, err := r.ReadReply(); err != nil {
		t.Fatal(err)
	}
	r.Send("SUBSCRIBE c\r\nPSUBSCRIBE p*\r\n")
	reply(">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")
	reply(">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n")
	exchange(t, r,
		"RESET\r\n", "+RESET\r\n",
		"GET nokey\r\n", "$-1\r\n",
		"PUBSUB NUMSUB c\r\n", "*2\r\n$1\r\nc\r\n:0\r\n",
		"PUBSUB NUMPAT\r\n", ":0\r\n",
	)

	// Database and name; CLIENT NO-EVICT survives RESET in Redis 7.0.
	exchange(t, r,
		"SELECT 3\r\n", "+OK\r\n",
		"CLIENT SETNAME foo\r\n", "+OK\r\n",
		"CLIENT NO-EVICT on\r\n", "+OK\r\n",
		"RESET\r\n", "+RESET\r\n",
		"CLIENT GETNAME\r\n", "$-1\r\n",
	)
	r.Send("CLIENT INFO\r\n")
	info, err := r.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{" name= ", " flags=e ", " db=0 ", " sub=0 ", " psub=0 ", " multi=-1 ", " user=default ", " resp=2"} {
		if !strings.Contains(info, f) {
			t.Errorf("CLIENT INFO after RESET lacks %q: %q", f, info)
		}
	}
}
