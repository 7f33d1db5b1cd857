package server_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// listenBacklog reads a listening socket's backlog from ss -ltn (its
// Send-Q column for a listener).
func listenBacklog(t *testing.T, port int) string {
	t.Helper()
	ss := testutil.RequireTool(t, "ss")
	out, err := exec.Command(ss, "-ltnH", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		t.Fatalf("ss: %q", out)
	}
	return f[2]
}

// TestTCPBacklog listens with tcp-backlog's queue, 511 by default as
// redis-server's, as ss shows both.
func TestTCPBacklog(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir())
	s := testutil.Start(t, nil)
	_, p, _ := net.SplitHostPort(s.Addr())
	port, _ := strconv.Atoi(p)
	if got, want := listenBacklog(t, port), listenBacklog(t, r.Port); got != want {
		t.Errorf("default backlog: shoal %s, redis %s", got, want)
	}
	cfg := testutil.Config(t)
	cfg.TCPBacklog = 123
	s = testutil.Start(t, cfg)
	_, p, _ = net.SplitHostPort(s.Addr())
	port, _ = strconv.Atoi(p)
	if got := listenBacklog(t, port); got != "123" {
		t.Errorf("tcp-backlog 123: %s", got)
	}
}
