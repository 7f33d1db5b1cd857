package server_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

func unixClient(t *testing.T, path string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: path, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// clientInfo returns the fields of c's CLIENT INFO.
func clientInfo(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	line, err := c.Do(testutil.Ctx(t), "CLIENT", "INFO").Text()
	if err != nil {
		t.Fatal(err)
	}
	return clientFields(t, line, "")
}

// firstMonitorLine runs cmd on c while a MONITOR client of the socket at
// path watches, and returns the monitor's line, its timestamp cut off.
func firstMonitorLine(t *testing.T, path string, c *redis.Client, cmd ...any) string {
	t.Helper()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(nc)
	nc.Write([]byte("MONITOR\r\n"))
	if ok, err := rd.ReadString('\n'); err != nil || ok != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", ok, err)
	}
	if err := c.Do(testutil.Ctx(t), cmd...).Err(); err != nil {
		t.Fatal(err)
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	return rest
}

// TestUnixSocket serves clients on unixsocket as redis-server 7.0.15 does:
// the socket's file with unixsocketperm's mode, replacing a stale one and
// removed at shutdown; its clients named "<path>:0" with flag U in CLIENT
// LIST and "unix:<path>" by MONITOR, and local for enable-debug-command.
// Port 0 beside it serves no TCP, as in Redis.
func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shoal.sock")
	if err := os.WriteFile(path, []byte("left by a server that did not close"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t)
	cfg.UnixSocket, cfg.UnixSocketPerm = path, "700"
	s := testutil.Start(t, cfg)
	if s.Addr() != "" || s.UnixSocket() != path {
		t.Fatalf("TCP %q, Unix socket %q", s.Addr(), s.UnixSocket())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket file: %v, %v", st.Mode(), err)
	}
	ctx := testutil.Ctx(t)
	c := unixClient(t, path)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "DEBUG", "SLEEP", "0").Err(); err != nil {
		t.Fatalf("DEBUG under enable-debug-command local: %v", err)
	}

	rpath := filepath.Join(t.TempDir(), "redis.sock")
	testutil.StartRedisServer(t, t.TempDir(), "--unixsocket", rpath, "--unixsocketperm", "700")
	rst, err := os.Stat(rpath)
	if err != nil || rst.Mode().Perm() != st.Mode().Perm() {
		t.Fatalf("redis-server's socket file: %v, %v; Shoal's %v", rst.Mode(), err, st.Mode())
	}
	rc := unixClient(t, rpath)
	got, want := clientInfo(t, c), clientInfo(t, rc)
	for _, f := range []string{"addr", "laddr"} {
		if g, w := strings.ReplaceAll(got[f], path, "PATH"), strings.ReplaceAll(want[f], rpath, "PATH"); g != w {
			t.Errorf("CLIENT INFO %s: shoal %q, redis %q", f, got[f], want[f])
		}
	}
	if got["flags"] != want["flags"] {
		t.Errorf("CLIENT INFO flags: shoal %q, redis %q", got["flags"], want["flags"])
	}
	gm := strings.ReplaceAll(firstMonitorLine(t, path, c, "SET", "k", "v"), path, "PATH")
	wm := strings.ReplaceAll(firstMonitorLine(t, rpath, rc, "SET", "k", "v"), rpath, "PATH")
	if gm != wm {
		t.Errorf("MONITOR: shoal %q, redis %q", gm, wm)
	}

	s.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file after Close: %v", err)
	}
	if err := unixClient(t, path).Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING after Close succeeded")
	}
}
