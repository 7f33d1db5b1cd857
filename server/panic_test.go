package server

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// TestHandlerPanic checks that a handler's panic becomes "ERR internal
// error" as the command's only reply, is logged, and leaves the connection
// and the server working. The panicking command exists only in this
// test's table.
func TestHandlerPanic(t *testing.T) {
	cfg := config.Default()
	cfg.Port, cfg.Dir = 0, t.TempDir()
	var logBuf syncBuffer
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	boom := &commands.Command{Name: "boom", Arity: 1, Flags: commands.ReadOnly | commands.Fast, Handler: func(c *commands.Ctx) error {
		c.Out.Array(2)
		c.Out.Int(1)
		panic("boom")
	}}
	s.table = commands.NewTable(append(s.table.All(), boom))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write([]byte("BOOM\r\nMULTI\r\nBOOM\r\nPING\r\nEXEC\r\nPING\r\n"))
	want := "-ERR internal error\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR internal error\r\n+PONG\r\n+PONG\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(bufio.NewReader(nc), got); err != nil || string(got) != want {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
	if !strings.Contains(logBuf.String(), `msg="command panicked" command=boom panic=boom`) {
		t.Fatalf("no log line for the panic:\n%s", logBuf.String())
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
