package server_test

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestTCPKeepalive sets each client socket's keepalive as Redis's
// anetKeepAlive does for tcp-keepalive: idle for the period, probes every
// third of it, three of them; 0 turns it off. CONFIG SET applies to the
// connections made after it. The server's socket is this process's, so
// CLIENT INFO's fd names it.
func TestTCPKeepalive(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	sockopt := func(level, opt int) int {
		t.Helper()
		c := testutil.Client(t, s, 2)
		fd, err := strconv.Atoi(clientInfo(t, c)["fd"])
		if err != nil {
			t.Fatal(err)
		}
		v, err := syscall.GetsockoptInt(fd, level, opt)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := map[string][2]int{ // by the default, 300 s
		"SO_KEEPALIVE":  {sockopt(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE), 1},
		"TCP_KEEPIDLE":  {sockopt(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE), 300},
		"TCP_KEEPINTVL": {sockopt(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL), 100},
		"TCP_KEEPCNT":   {sockopt(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT), 3},
	}
	for name, w := range want {
		if w[0] != w[1] {
			t.Errorf("tcp-keepalive 300: %s = %d, want %d", name, w[0], w[1])
		}
	}
	testutil.Client(t, s, 2).ConfigSet(ctx, "tcp-keepalive", "2")
	if got := sockopt(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL); got != 1 {
		t.Errorf("tcp-keepalive 2: TCP_KEEPINTVL = %d, want 1", got)
	}
	testutil.Client(t, s, 2).ConfigSet(ctx, "tcp-keepalive", "0")
	if got := sockopt(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); got != 0 {
		t.Errorf("tcp-keepalive 0: SO_KEEPALIVE = %d", got)
	}
}

// TestPidFile writes the process's pid into pidfile at start, as Redis
// does, and removes it at shutdown.
func TestPidFile(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.PidFile = filepath.Join(t.TempDir(), "shoal.pid")
	s := testutil.Start(t, cfg)
	b, err := os.ReadFile(cfg.PidFile)
	if err != nil || string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Fatalf("pidfile holds %q (%v), want %d", b, err, os.Getpid())
	}
	s.Close()
	if _, err := os.Stat(cfg.PidFile); !os.IsNotExist(err) {
		t.Fatalf("pidfile after shutdown: %v", err)
	}
}
