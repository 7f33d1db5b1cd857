package server_test

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestSupervisedSystemd tells systemd, through NOTIFY_SOCKET, that the
// server is ready once it listens and that it stops at shutdown, as
// redis-server does under supervised systemd.
func TestSupervisedSystemd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	cfg := testutil.Config(t)
	cfg.Supervised = "systemd"
	s := testutil.Start(t, cfg)
	read := func() string {
		t.Helper()
		ln.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if got := read(); got != "STATUS=Ready to accept connections\nREADY=1\n" {
		t.Fatalf("at start: %q", got)
	}
	if v := infoText(t, testutil.Client(t, s, 2), "process_supervised"); v != "systemd" {
		t.Fatalf("process_supervised:%s", v)
	}
	s.Close()
	if got := read(); got != "STOPPING=1\n" {
		t.Fatalf("at shutdown: %q", got)
	}
}
