package main

import (
	"cmp"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// BenchmarkReplicaCatchUp measures how fast a Shoal replica of a
// redis-server applies a backlog of the primary's stream: the replica's
// link runs through a loopback proxy that holds its traffic while
// redis-benchmark writes to the primary (-P 16, the six write tests of
// bench/migration.sh, -n catchUpRequests each), then lets it through; an
// iteration is the time until the replica's offset reaches the primary's.
// SHOAL_CATCHUP_TESTS names other redis-benchmark tests (comma-separated).
// It reports the process's CPU (user + system, the proxy's copy included)
// per command of the stream, and the stream's megabytes per second.
func BenchmarkReplicaCatchUp(b *testing.B) {
	bench := testutil.RequireTool(b, "redis-benchmark")
	r := testutil.StartRedisServer(b, b.TempDir(), "--repl-backlog-size", "512mb",
		"--client-output-buffer-limit", "replica 0 0 0", "--repl-diskless-sync-delay", "0")
	rc := r.Client(b, 0)
	// NB: not testutil.Ctx, whose 30 s would end a longer run.
	ctx := context.Background()
	px := testutil.NewProxy(b, r.Addr())
	cfg := testutil.Config(b)
	if v := os.Getenv("SHOAL_CATCHUP_MEMTABLE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MemtableSize = n << 20
	}
	s := testutil.Start(b, cfg)
	sc := testutil.Client(b, s, 2)
	if err := sc.Do(ctx, append([]any{"REPLICAOF"}, anys(strings.Fields(px.HostPort()))...)...).Err(); err != nil {
		b.Fatal(err)
	}
	offset := func(c *redis.Client, field string) int64 {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		b.Fatalf("INFO replication has no %s", field)
		return 0
	}
	caughtUp := func() {
		want := offset(rc, "master_repl_offset")
		for deadline := time.Now().Add(5 * time.Minute); offset(sc, "slave_repl_offset") < want; {
			if time.Now().After(deadline) {
				b.Fatal("the replica did not catch up within 5 minutes")
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	for !strings.Contains(sc.Info(ctx, "replication").Val(), "master_link_status:up") {
		time.Sleep(10 * time.Millisecond)
	}
	tests := strings.Split(cmp.Or(os.Getenv("SHOAL_CATCHUP_TESTS"), "set,incr,lpush,sadd,hset,zadd"), ",")
	var cpu time.Duration
	var cmds, bytes int64
	for b.Loop() {
		b.StopTimer()
		caughtUp()
		from := offset(rc, "master_repl_offset")
		px.Pause()
		out, err := exec.Command(bench, "-p", strconv.Itoa(r.Port), "-t", strings.Join(tests, ","),
			"-n", strconv.Itoa(catchUpRequests), "-c", "50", "-P", "16", "-r", "100000", "-q").CombinedOutput()
		if err != nil {
			b.Fatalf("redis-benchmark: %v\n%s", err, out)
		}
		bytes += offset(rc, "master_repl_offset") - from
		cmds += int64(len(tests)) * catchUpRequests
		before := processCPU()
		b.StartTimer()
		px.Resume()
		caughtUp()
		b.StopTimer()
		cpu += processCPU() - before
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(cmds), "cpu-µs/cmd")
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// catchUpRequests is redis-benchmark's -n for each test of an iteration.
const catchUpRequests = 100000

// processCPU returns the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
