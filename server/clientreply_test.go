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
