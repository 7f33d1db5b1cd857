package main

import (
	"bytes"
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

var built struct {
	once sync.Once
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// buildShoal builds the shoal binary once for the tests of the package.
func buildShoal(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "shoal-bin")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "shoal")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// startFirst builds the shoal binary and starts it on a fresh folder with
// the given appendfsync policy: the process a crash test kills.
func startFirst(t *testing.T, fsync string) (bin, dir string, port int, first *child) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the shoal binary")
	}
	bin = buildShoal(t)
	dir = filepath.Join(t.TempDir(), "data")
	port = testutil.FreePort(t)
	return bin, dir, port, startShoal(t, bin, port, dir, "first.log", "--appendfsync", fsync)
}

// crashTrials is how many times TestCrashKeepsAcknowledgedWrites kills
// the server: SHOAL_CRASH_TRIALS, default 10.
func crashTrials(t *testing.T) int {
	n := 10
	if v := os.Getenv("SHOAL_CRASH_TRIALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SHOAL_CRASH_TRIALS=%q is not a positive number", v)
		}
	}
	return n
}

// crashLoad is what writers sent to a server and what it acknowledged,
// over every trial of a crash test.
type crashLoad struct {
	acked      [][]string // per writer, the keys of acknowledged SETs
	incrSent   atomic.Int64
	incrAcked  atomic.Int64
	pushSent   int64 // RPUSHes of the sequence, by writer 0 only
	pushAcked  int64
	total      atomic.Int64 // acknowledged writes of the current trial
	killAfter  int64
	reached    chan struct{}
	reachedOne sync.Once
}

// run writes to addr until the server dies: each writer SETs unique
// keys and INCRs counter; writer 0 also RPUSHes the sequence 0, 1, 2, ...
// to list. reached is closed after killAfter acknowledged writes.
func (l *crashLoad) run(addr string, trial int, writers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true, PoolSize: 1})
			defer c.Close()
			ctx := context.Background()
			ack := func() {
				if l.total.Add(1) >= l.killAfter {
					l.reachedOne.Do(func() { close(l.reached) })
				}
			}
			for i := 0; ; i++ {
				key := fmt.Sprintf("t%d-w%d-%d", trial, w, i)
				if err := c.Set(ctx, key, key, 0).Err(); err != nil {
					return // the server is gone
				}
				l.acked[w] = append(l.acked[w], key)
				ack()
				l.incrSent.Add(1)
				if err := c.Incr(ctx, "counter").Err(); err != nil {
					return
				}
				l.incrAcked.Add(1)
				ack()
				if w == 0 {
					l.pushSent++
					if err := c.RPush(ctx, "list", l.pushAcked).Err(); err != nil {
						return
					}
					l.pushAcked++
					ack()
				}
			}
		}()
	}
	return &wg
}

// check checks, on the restarted server, every acknowledged SET, the
// counter against the INCRs acknowledged and sent, and that the list is
// the sequence 0, 1, ... with every acknowledged RPUSH and none not sent.
func (l *crashLoad) check(t *testing.T, c *redis.Client, trial int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := 0
	for _, keys := range l.acked {
		for _, key := range keys {
			got, err := c.Get(ctx, key).Result()
			if err != nil || got != key {
				t.Fatalf("trial %d: acknowledged SET %s lost after SIGKILL: got %q, %v", trial, key, got, err)
			}
			n++
		}
	}
	counter, err := c.Get(ctx, "counter").Int64()
	if err != nil || counter < l.incrAcked.Load() || counter > l.incrSent.Load() {
		t.Fatalf("trial %d: counter = %d (%v) after SIGKILL; %d INCRs acknowledged, %d sent", trial, counter, err, l.incrAcked.Load(), l.incrSent.Load())
	}
	list, err := c.LRange(ctx, "list", 0, -1).Result()
	if err != nil || int64(len(list)) < l.pushAcked || int64(len(list)) > l.pushSent {
		t.Fatalf("trial %d: list of %d items (%v) after SIGKILL; %d RPUSHes acknowledged, %d sent", trial, len(list), err, l.pushAcked, l.pushSent)
	}
	for i, v := range list {
		if v != strconv.Itoa(i) {
			t.Fatalf("trial %d: list[%d] = %q after SIGKILL, want the sequence 0, 1, ...", trial, i, v)
		}
	}
	// A push that was sent but not acknowledged and survived is part of
	// the sequence now: the next one continues it.
	l.pushAcked = int64(len(list))
	l.pushSent = l.pushAcked
	l.incrSent.Store(counter)
	l.incrAcked.Store(counter)
	t.Logf("trial %d: %d acknowledged SETs, counter %d, list of %d survived SIGKILL", trial, n, counter, len(list))
}

// TestCrashKeepsAcknowledgedWrites kills a shoal running with appendfsync
// always in the middle of a write load, SHOAL_CRASH_TRIALS times (default
// 10), each time at another point, and checks after each restart on the
// same folder that every write it acknowledged is there and that nothing
// it was not sent is: unique keys, a counter, an ordered list.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	bin, dir, port, proc := startFirst(t, "always")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const writers = 4
	l := &crashLoad{acked: make([][]string, writers)}
	trials := crashTrials(t)
	for trial := range trials {
		l.total.Store(0)
		l.killAfter = int64(20 + 37*trial%150)
		l.reached, l.reachedOne = make(chan struct{}), sync.Once{}
		wg := l.run(addr, trial, writers)
		select {
		case <-l.reached:
		case <-time.After(60 * time.Second):
			t.Fatalf("trial %d: only %d writes acknowledged in 60s", trial, l.total.Load())
		}
		if err := proc.cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		proc.cmd.Wait()
		wg.Wait()
		if trial == 0 {
			logText, _ := os.ReadFile(proc.log)
			if !strings.Contains(string(logText), "Ready to accept connections") {
				t.Fatalf("start-up log lacks 'Ready to accept connections':\n%s", logText)
			}
		}
		proc = startShoal(t, bin, port, dir, fmt.Sprintf("after-%d.log", trial), "--appendfsync", "always")
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
		l.check(t, c, trial)
		c.Close()
	}
}

// TestCrashDuringFullSync kills a replica with SIGKILL while it takes a
// full sync of its primary, restarts it and checks that it ends with the
// primary's data.
func TestCrashDuringFullSync(t *testing.T) {
	bin, _, port, _ := startFirst(t, "everysec")
	primary := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DisableIdentity: true})
	defer primary.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// Enough data for a transfer of several chunks.
	value := strings.Repeat("v", 200)
	for b := range 40 {
		p := primary.Pipeline()
		for i := range 500 {
			p.Set(ctx, fmt.Sprintf("k%d-%d", b, i), value, 0)
		}
		p.HSet(ctx, "h", fmt.Sprintf("f%d", b), b)
		p.RPush(ctx, "l", b)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rdir := filepath.Join(t.TempDir(), "replica")
	rport := testutil.FreePort(t)
	primaryPort := strconv.Itoa(port)
	replica := startShoal(t, bin, rport, rdir, "replica.log", "--replicaof", "127.0.0.1", primaryPort)
	rc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rport), MaxRetries: -1, DisableIdentity: true})
	defer rc.Close()
	// Kill it as soon as it reports the full sync in progress, or has
	// keys: in the middle of the transfer.
	for {
		info, _ := rc.Info(ctx, "replication").Result()
		n, _ := rc.DBSize(ctx).Result()
		if strings.Contains(info, "master_sync_in_progress:1") || n > 0 {
			t.Logf("replica killed with %d keys, master_sync_in_progress:%s", n, infoField(info, "master_sync_in_progress"))
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the replica never started its full sync")
		}
		time.Sleep(time.Millisecond)
	}
	if err := replica.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	replica.cmd.Wait()
	// Writes go on while the replica is down.
	for range 100 {
		if err := primary.Incr(ctx, "after").Err(); err != nil {
			t.Fatal(err)
		}
	}
	startShoal(t, bin, rport, rdir, "replica-after.log", "--replicaof", "127.0.0.1", primaryPort)
	for {
		pinfo, _ := primary.Info(ctx, "replication").Result()
		rinfo, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(rinfo, "master_link_status:up") && infoField(pinfo, "master_repl_offset") == infoField(rinfo, "master_repl_offset") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the restarted replica did not catch up:\n%s\n%s", pinfo, rinfo)
		}
		time.Sleep(10 * time.Millisecond)
	}
	testutil.SameDataset(t, "replica killed during its full sync", testutil.Dataset(t, primary), testutil.Dataset(t, rc))
}

// infoField returns field's value in an INFO text.
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
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
	// The last write's bytes in a log file are in the operating system's
	// hands: they survive the process.
	waitLogHolds(t, dir, []byte(fmt.Sprintf("k%d", n-1)))
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	first.cmd.Wait()

	startShoal(t, bin, port, dir, "second.log")
	for i := 0; i < n; i++ {
		got, err := c.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		if err != nil || got != i {
			t.Fatalf("k%d = %d (%v) after the crash, written before the background sync", i, got, err)
		}
	}
}

// waitLogHolds waits until a Pebble log file in dir holds b: the
// background sync wrote it out.
func waitLogHolds(t *testing.T, dir string, b []byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, name := range logs {
			if data, err := os.ReadFile(name); err == nil && bytes.Contains(data, b) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log file in %s holds %q after 30 s", dir, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
