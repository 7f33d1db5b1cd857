package server_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// expectClosed reads until the server closes the connection and returns
// what came before.
func expectClosed(t *testing.T, r *testutil.Raw) string {
	t.Helper()
	r.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(r.R)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open; read %q", b)
	}
	return string(b)
}

// expectAlive checks that a fresh connection gets PONG.
func expectAlive(t *testing.T, s *server.Server) {
	t.Helper()
	r := testutil.Dial(t, s.Addr())
	r.Send("PING\r\n")
	if got, err := r.ReadReply(); err != nil || got != "+PONG\r\n" {
		t.Fatalf("PING after the test = %q, %v", got, err)
	}
}

func mbulk(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// TestProtocolErrorsClose checks Redis's protocol error texts, each
// followed by the end of the connection; the replies to the requests
// before the bad one are sent first.
func TestProtocolErrorsClose(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.ProtoMaxBulkLen = 1 << 20
	s := testutil.Start(t, cfg)
	big := strings.Repeat("x", 64*1024+1)
	tests := []struct{ name, in, want string }{
		{"bulk over proto-max-bulk-len", "*2\r\n$3\r\nSET\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"negative bulk", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bad bulk", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"multibulk over 1024*1024", "*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"bad multibulk", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"inline over 64KB", big, "-ERR Protocol error: too big inline request\r\n"},
		{"count line over 64KB", "*" + big, "-ERR Protocol error: too big mbulk count string\r\n"},
		{"bulk line over 64KB", "*1\r\n$" + big, "-ERR Protocol error: too big bulk count string\r\n"},
		{"expected dollar", "*2\r\n$3\r\nfoo\r\nbar\r\n", "-ERR Protocol error: expected '$', got 'b'\r\n"},
		{"unbalanced quotes", "SET a \"b c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"glued closing quote", "SET a 'b'c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"replies before the error", "PING\r\n" + mbulk("ECHO", "hi") + "*1\nx\r\n", "+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: invalid multibulk length\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.Dial(t, s.Addr())
			r.Send(tt.in)
			if got := expectClosed(t, r); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			expectAlive(t, s)
		})
	}
}

// TestProtocolLenient checks the input Redis accepts although it is not
// canonical RESP.
func TestProtocolLenient(t *testing.T) {
	s := testutil.Start(t, nil)
	tests := []struct{ name, in, want string }{
		{"inline", "PING\r\n", "+PONG\r\n"},
		{"inline LF", "PING\n", "+PONG\r\n"},
		{"inline quoted", "SET a \"b c\"\r\nGET a\r\n", "+OK\r\n$3\r\nb c\r\n"},
		{"inline escapes", "SET a \"\\x41\\n\"\r\nGET a\r\n", "+OK\r\n$2\r\nA\n\r\n"},
		{"inline single quotes", "SET a 'it\\'s'\r\nGET a\r\n", "+OK\r\n$4\r\nit's\r\n"},
		{"inline empty arg", "ECHO \"\"\r\n", "$0\r\n\r\n"},
		{"empty lines", "\r\n\n  \r\nPING\r\n", "+PONG\r\n"},
		{"star zero and minus one", "*0\r\n*-1\r\nPING\r\n", "+PONG\r\n"},
		{"bytes after bulk unchecked", "*1\r\n$4\r\nPINGxx" + "PING\r\n", "+PONG\r\n+PONG\r\n"},
		{"dollar as inline", "$3\r\n", "-ERR unknown command '$3', with args beginning with: \r\n"},
		{"split across writes", "*2\r\n$4\r\nEC|HO\r\n$3\r|\nabc|\r\n", "$3\r\nabc\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.Dial(t, s.Addr())
			for _, part := range strings.Split(tt.in, "|") {
				r.Send(part)
			}
			var got string
			for len(got) < len(tt.want) {
				reply, err := r.ReadReply()
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				got += reply
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			// The connection still works.
			r.Send("PING\r\n")
			if reply, err := r.ReadReply(); err != nil || reply != "+PONG\r\n" {
				t.Fatalf("PING = %q, %v", reply, err)
			}
		})
	}
}

// TestIncompleteRequestWaits checks that a partial request is neither
// answered nor refused.
func TestIncompleteRequestWaits(t *testing.T) {
	s := testutil.Start(t, nil)
	for _, in := range []string{"$3", "*1\r\nx", "*2\r\n$4\r\nECHO\r\n$5\r\nab"} {
		r := testutil.Dial(t, s.Addr())
		r.Send(in)
		// A PING on another connection is answered meanwhile.
		expectAlive(t, s)
		r.Conn.(*net.TCPConn).CloseWrite()
		if got := expectClosed(t, r); got != "" {
			t.Fatalf("%q: got %q before the close", in, got)
		}
	}
}

// TestQueryBufferLimit checks that a request larger than
// client-query-buffer-limit ends the connection without a reply.
func TestQueryBufferLimit(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.ClientQueryBufferLimit = 1 << 20
	s := testutil.Start(t, cfg)
	r := testutil.Dial(t, s.Addr())
	r.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
	chunk := strings.Repeat("v", 64<<10)
	for sent := 0; sent < 2000000; sent += len(chunk) {
		if _, err := r.Conn.Write([]byte(chunk)); err != nil {
			break // closed by the server
		}
	}
	if got := expectClosed(t, r); got != "" {
		t.Fatalf("got %q, want a close without reply", got)
	}
	expectAlive(t, s)

	// A value under the limit is fine.
	r = testutil.Dial(t, s.Addr())
	r.Send(mbulk("SET", "k", strings.Repeat("v", 900<<10)))
	if got, err := r.ReadReply(); err != nil || got != "+OK\r\n" {
		t.Fatalf("SET under the limit = %q, %v", got, err)
	}
}

// TestUnauthenticatedLimits checks Redis 7's limits for clients that have
// not yet authenticated, and that an AUTH pipelined before a large request
// lifts them for it.
func TestUnauthenticatedLimits(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.RequirePass = "sekret"
	s := testutil.Start(t, cfg)

	r := testutil.Dial(t, s.Addr())
	r.Send("*11\r\n")
	if got := expectClosed(t, r); got != "-ERR Protocol error: unauthenticated multibulk length\r\n" {
		t.Fatalf("got %q", got)
	}
	r = testutil.Dial(t, s.Addr())
	r.Send("*2\r\n$4\r\nAUTH\r\n$16385\r\n")
	if got := expectClosed(t, r); got != "-ERR Protocol error: unauthenticated bulk length\r\n" {
		t.Fatalf("got %q", got)
	}

	r = testutil.Dial(t, s.Addr())
	val := strings.Repeat("v", 20000)
	r.Send("AUTH sekret\r\n" + mbulk("SET", "k", val) + mbulk("ECHO", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"))
	for _, want := range []string{"+OK\r\n", "+OK\r\n", "-ERR wrong number of arguments for 'echo' command\r\n"} {
		if got, err := r.ReadReply(); err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	expectAlive2 := testutil.Dial(t, s.Addr())
	expectAlive2.Send("PING\r\n")
	if got, _ := expectAlive2.ReadReply(); got != "-NOAUTH Authentication required.\r\n" {
		t.Fatalf("PING before AUTH = %q", got)
	}
}

// TestPipelineOneBatch checks that a pipeline of writes from go-redis is
// committed in a few batches rather than one per command.
func TestPipelineOneBatch(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := s.Store().Stats.Commits.Load()
	const n = 1000
	p := c.Pipeline()
	for i := 0; i < n; i++ {
		p.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	commits := s.Store().Stats.Commits.Load() - before
	for i := 0; i < n; i++ {
		if v, err := c.Get(ctx, fmt.Sprintf("k%d", i)).Result(); err != nil || v != fmt.Sprintf("v%d", i) {
			t.Fatalf("GET k%d = %q, %v", i, v, err)
		}
	}
	if commits >= 100 {
		t.Fatalf("%d SETs took %d commits, want fewer than 100", n, commits)
	}
	t.Logf("%d SETs in %d commits", n, commits)
}
