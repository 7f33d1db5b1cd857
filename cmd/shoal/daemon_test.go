package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestDaemonize: with daemonize yes the command returns at once, as
// redis-server's does, and the server goes on in a session of its own,
// its pid in pidfile until SIGTERM stops it.
func TestDaemonize(t *testing.T) {
	bin := buildShoal(t)
	dir := t.TempDir()
	port := testutil.FreePort(t)
	pidfile := filepath.Join(dir, "shoal.pid")
	logfile := filepath.Join(dir, "shoal.log")
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--dir", filepath.Join(dir, "data"),
		"--daemonize", "yes", "--pidfile", pidfile, "--logfile", logfile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shoal --daemonize yes: %v\n%s", err, out)
	}
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(pidfile)
		if err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if err == nil && pid > 0 {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logfile)
			t.Fatalf("no pidfile: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if pid == cmd.Process.Pid {
		t.Fatalf("the server runs as the command's own process %d", pid)
	}
	if sid := sessionOf(t, pid); sid != pid {
		t.Errorf("the server's session is %d, want its own, %d", sid, pid)
	}
	rc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DisableIdentity: true})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(pidfile); os.IsNotExist(err) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the pidfile outlived SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sessionOf reads the session of process pid from /proc (stat's sixth
// field).
func sessionOf(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	sid, _ := strconv.Atoi(f[3])
	return sid
}
