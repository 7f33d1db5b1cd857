package server_test

import (
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestClientReplyOn checks that CLIENT REPLY ON answers after OFF and SKIP.
// The replies were recorded from redis-server 7.0.15 over a raw socket.
func TestClientReplyOn(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	r.Send("CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\n" +
		"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\n")
	for _, want := range []string{"+OK\r\n", "+PONG\r\n", "+OK\r\n"} {
		if got, err := r.ReadReply(); err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
}

// TestClientReplyOffSubscriber checks that a subscriber under CLIENT REPLY
// OFF still gets its confirmations and messages, which Redis writes as
// pushes whatever the reply mode, while its other replies are dropped.
// Recorded on redis-server 7.0.15 over raw sockets, RESP2 and RESP3.
func TestClientReplyOffSubscriber(t *testing.T) {
	s := testutil.Start(t, nil)
	pub := testutil.Dial(t, s.Addr())
	reply := func(r *testutil.Raw, want string) {
		t.Helper()
		if got, err := r.ReadReply(); err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}

	r := testutil.Dial(t, s.Addr())
	r.Send("CLIENT REPLY OFF\r\nSUBSCRIBE c\r\n")
	reply(r, "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")
	exchange(t, pub, "PUBLISH c hello\r\n", ":1\r\n")
	reply(r, "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$5\r\nhello\r\n")
	// PING's reply and CLIENT's refusal are dropped.
	r.Send("PING\r\nCLIENT REPLY ON\r\nUNSUBSCRIBE\r\n")
	reply(r, "*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n")
	r.Send("CLIENT REPLY ON\r\nPING\r\n")
	reply(r, "+OK\r\n")
	reply(r, "+PONG\r\n")

	r3 := testutil.Dial(t, s.Addr())
	r3.Send("HELLO 3\r\n")
	if _, err := r3.ReadReply(); err != nil {
		t.Fatal(err)
	}
	r3.Send("CLIENT REPLY OFF\r\nSUBSCRIBE c\r\n")
	reply(r3, ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")
	exchange(t, pub, "PUBLISH c hello\r\n", ":1\r\n")
	reply(r3, ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$5\r\nhello\r\n")
	r3.Send("PING\r\nGET x\r\nCLIENT REPLY ON\r\nPING\r\n")
	reply(r3, "+OK\r\n")
	reply(r3, "+PONG\r\n")
}
