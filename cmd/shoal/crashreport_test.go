package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestCrashReportAsRedis crashes Shoal and redis-server 7.0.15 the same
// ways, a SIGABRT sent to the process and DEBUG SEGFAULT, each with a
// logfile, and checks that each log says it "crashed by signal" (as
// logging.tcl looks for) and that the process died of a signal. Shoal's
// log then holds its goroutines' stacks, which the Go runtime writes to
// standard error alone otherwise (a daemon's is /dev/null). DEBUG PANIC
// and ASSERT crash both with their own lines. With crash-log-enabled no
// neither writes a report to its log.
func TestCrashReportAsRedis(t *testing.T) {
	bin := buildShoal(t)
	redisBin := testutil.RequireTool(t, "redis-server")
	type run struct {
		name      string
		how       string // "SIGABRT" or a DEBUG subcommand
		crashLog  string
		want      *regexp.Regexp
		wantShoal *regexp.Regexp // more of Shoal's log
	}
	stacks := regexp.MustCompile(`(?s)=== SHOAL BUG REPORT START.*STACK TRACE.*goroutine \d+`)
	for _, r := range []run{
		{"abort", "SIGABRT", "yes", regexp.MustCompile(`crashed by signal: 6\b`), stacks},
		{"segfault", "SEGFAULT", "yes", regexp.MustCompile(`crashed by signal: 11\b`), regexp.MustCompile(`(?s)STACK TRACE.*SIGSEGV`)},
		{"panic", "PANIC", "yes", regexp.MustCompile(`Guru Meditation: DEBUG PANIC called at Unix time`), stacks},
		{"assert", "ASSERT", "yes", regexp.MustCompile(`=== ASSERTION FAILED ===`), stacks},
		{"off", "SIGABRT", "no", nil, nil},
	} {
		t.Run(r.name, func(t *testing.T) {
			for _, server := range []string{bin, redisBin} {
				dir := t.TempDir()
				port := testutil.FreePort(t)
				logPath := filepath.Join(dir, "server.log")
				cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
					"--save", "", "--logfile", logPath, "--enable-debug-command", "yes", "--crash-log-enabled", r.crashLog)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DisableIdentity: true})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				for c.Ping(ctx).Err() != nil && ctx.Err() == nil {
					time.Sleep(20 * time.Millisecond)
				}
				if r.how == "SIGABRT" {
					cmd.Process.Signal(syscall.SIGABRT)
				} else if err := c.Do(ctx, "DEBUG", r.how).Err(); err == nil {
					t.Errorf("%s: DEBUG %s answered", server, r.how)
				}
				cancel()
				c.Close()
				var err error
				select {
				case err = <-done:
				case <-time.After(60 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("%s: still running after %s", server, r.how)
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
					t.Errorf("%s: after %s the process ended with %v, not of a signal", server, r.how, err)
				}
				log, _ := os.ReadFile(logPath)
				switch {
				case r.want == nil && regexp.MustCompile(`BUG REPORT START`).Match(log):
					t.Errorf("%s: crash-log-enabled no, and the log has a report:\n%s", server, log)
				case r.want != nil && !r.want.Match(log):
					t.Errorf("%s: the log lacks %q:\n%s", server, r.want, log)
				case server == bin && r.wantShoal != nil && !r.wantShoal.Match(log):
					t.Errorf("shoal: the log lacks %q:\n%s", r.wantShoal, log)
				}
			}
		})
	}
}
