package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/testutil"
)

// child is a shoal process started by a test.
type child struct {
	cmd *exec.Cmd
	log string
}

// startShoal starts bin and waits until it answers PING.
func startShoal(t *testing.T, bin string, port int, dir, logName string, args ...string) *child {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), logName)
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args = append([]string{"--port", strconv.Itoa(port), "--dir", dir}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, log: logPath}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	rc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DisableIdentity: true})
	defer rc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("shoal did not answer PING: %v\n%s", err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startFirst builds the shoal binary and starts it on a fresh folder with
// the given appendfsync policy: the process a crash test kills.
func startFirst(t *testing.T, fsync string) (bin, dir string, port int, first *child) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the shoal binary")
	}
	bin = filepath.Join(t.TempDir(), "shoal")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir = filepath.Join(t.TempDir(), "data")
	port = testutil.FreePort(t)
	return bin, dir, port, startShoal(t, bin, port, dir, "first.log", "--appendfsync", fsync)
}

// TestCrashKeepsAcknowledgedWrites kills a shoal running with appendfsync
// always in the middle of a write load and checks, after a restart on the
// same folder, that every write it acknowledged is there.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	bin, dir, port, first := startFirst(t, "always")
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	haveIncr := commands.Default().Lookup([]byte("incr")) != nil
	const (
		writers   = 4
		maxWrites = 2000 // per writer
		killAfter = 300  // acknowledged writes in all
	)
	var (
		acked    [writers][]int // per writer, the i of each acknowledged SET
		incrs    atomic.Int64   // acknowledged INCRs
		total    atomic.Int64
		wg       sync.WaitGroup
		reachedN = make(chan struct{})
		once     sync.Once
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true, PoolSize: 1})
			defer c.Close()
			ctx := context.Background()
			for i := 0; i < maxWrites; i++ {
				if err := c.Set(ctx, fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("v%d-%d", w, i), 0).Err(); err != nil {
					return // the server is gone
				}
				acked[w] = append(acked[w], i)
				if haveIncr {
					if err := c.Incr(ctx, "counter").Err(); err != nil {
						return
					}
					incrs.Add(1)
				}
				if total.Add(1) >= killAfter {
					once.Do(func() { close(reachedN) })
				}
			}
		}(w)
	}
	select {
	case <-reachedN:
	case <-time.After(60 * time.Second):
		t.Fatalf("only %d writes acknowledged in 60s", total.Load())
	}
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	first.cmd.Wait()
	wg.Wait()

	logText, _ := os.ReadFile(first.log)
	if !strings.Contains(string(logText), "Ready to accept connections") {
		t.Fatalf("start-up log lacks 'Ready to accept connections':\n%s", logText)
	}

	startShoal(t, bin, port, dir, "second.log", "--appendfsync", "always")
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := 0
	for w := 0; w < writers; w++ {
		for _, i := range acked[w] {
			key, want := fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("v%d-%d", w, i)
			got, err := c.Get(ctx, key).Result()
			if err != nil || got != want {
				t.Fatalf("acknowledged %s = %s lost after the crash: got %q, %v", key, want, got, err)
			}
			n++
		}
	}
	if haveIncr {
		got, err := c.Get(ctx, "counter").Int64()
		if err != nil || got < incrs.Load() {
			t.Fatalf("counter = %d (%v) after the crash, want at least the %d acknowledged INCRs", got, err, incrs.Load())
		}
	} else {
		t.Log("INCR is not in the command table; the counter part is skipped")
	}
	t.Logf("%d acknowledged SETs and %d INCRs survived SIGKILL", n, incrs.Load())
}

// TestCrashEverysecKeepsWritesOfEarlierSeconds checks appendfsync
// everysec's promise: a crash loses at most the writes of the last second.
// The writes are few, so the log's last block does not fill and reaches
// the disk only through the background sync.
func TestCrashEverysecKeepsWritesOfEarlierSeconds(t *testing.T) {
	bin, dir, port, first := startFirst(t, "everysec")
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	const n = 100
	for i := 0; i < n; i++ {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2500 * time.Millisecond)              // two background syncs at least
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	first.cmd.Wait()

	startShoal(t, bin, port, dir, "second.log")
	for i := 0; i < n; i++ {
		got, err := c.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		if err != nil || got != i {
			t.Fatalf("k%d = %d (%v) after the crash, written 2.5 s before it", i, got, err)
		}
	}
}
