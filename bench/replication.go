package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The -replication mode is the -replicas 2 matrix cut to SET -P 16 (what a
// primary's throughput with replicas attached is, against Shoal's own
// without), followed by the latency of SET then WAIT 1 0 on a primary with
// one replica, idle and under a write load.

// waitResult is one server's SET + WAIT 1 0 latency, idle and under load.
type waitResult struct {
	server       string
	idle, loaded latencies
}

// latencies summarizes the SET + WAIT pairs of every round: each pair's
// latency, and its SET's alone (the rest is the WAIT's).
type latencies struct {
	lat, set []time.Duration
	took     time.Duration // the loops' time, for pairs/s
}

func (l *latencies) quantile(q float64) time.Duration { return quantile(l.lat, q) }

// quantile returns the q quantile of sorted durations.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

func (l *latencies) rate() float64 { return float64(len(l.lat)) / l.took.Seconds() }

// waitLatency measures, for Shoal and for redis-server in alternating
// rounds, o.waitN pairs of SET then WAIT 1 0 on one connection to a primary
// with one replica: first idle, then while redis-benchmark SET -P 16 writes
// to the same primary from o.clients connections.
func waitLatency(o *options, bin, work string) ([]waitResult, error) {
	const fsync = "everysec"
	res := map[string]*waitResult{"shoal": {server: "Shoal"}, "redis": {server: "Redis"}}
	err := alternate(o.rounds, []string{"shoal", "redis"}, func(round int, name string) error {
		g, err := startGroup(o, name, bin, filepath.Join(work, fmt.Sprintf("wait-%s-%d", name, round)), fsync, 1)
		if err != nil {
			return err
		}
		defer g.stop()
		for _, l := range []*latencies{&res[name].idle, &res[name].loaded} {
			loaded := l == &res[name].loaded
			progress("WAIT round %d/%d: %s, %d x SET + WAIT 1 0, under load: %v", round+1, o.rounds, name, o.waitN, loaded)
			r, err := setWaitUnder(o, g, loaded)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			l.lat, l.set, l.took = append(l.lat, r.lat...), append(l.set, r.set...), l.took+r.took
			if _, err := g.catchUp(); err != nil {
				return fmt.Errorf("%s: the replica did not catch up: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []waitResult{*res["shoal"], *res["redis"]}
	for i := range out {
		for _, l := range []*latencies{&out[i].idle, &out[i].loaded} {
			slices.Sort(l.lat)
			slices.Sort(l.set)
		}
	}
	return out, nil
}

// setWaitUnder runs the SET + WAIT loop against g's primary, with
// redis-benchmark writing to it in a loop until the last pair if loaded.
func setWaitUnder(o *options, g *group, loaded bool) (latencies, error) {
	port := g.primary.port
	if loaded {
		load := benchmarkCmd(o, port, o.n16, 3, 16, "-t", "set", "-l")
		if err := load.Start(); err != nil {
			return latencies{}, err
		}
		defer func() {
			load.Process.Kill()
			load.Wait()
		}()
		// Start once every load connection is in (they and the harness's own).
		err := waitFor(30*time.Second, func() bool {
			info, err := infoFields(context.Background(), g.clients[0], "clients")
			n, _ := strconv.Atoi(info["connected_clients"])
			return err == nil && n > o.clients
		})
		if err != nil {
			return latencies{}, fmt.Errorf("the load did not connect: %w", err)
		}
	}
	return setWaitLoop(port, o.waitN)
}

// setWaitLoop runs n rounds of SET then WAIT 1 0 on one connection and
// returns each round's latency, its SET's, and the total time.
func setWaitLoop(port, n int) (latencies, error) {
	ctx := context.Background()
	// NB: WAIT 1 0 blocks until the replica acknowledges; a replica far
	// behind a load holds it for seconds, which is a result, not an error.
	c := redis.NewClient(&redis.Options{Addr: addrOf(port), PoolSize: 1, ReadTimeout: time.Minute})
	defer c.Close()
	l := latencies{lat: make([]time.Duration, 0, n), set: make([]time.Duration, 0, n)}
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := c.Set(ctx, "wait:"+strconv.Itoa(i%1000), i, 0).Err(); err != nil {
			return latencies{}, err
		}
		l.set = append(l.set, time.Since(t0))
		got, err := c.Do(ctx, "WAIT", 1, 0).Int()
		if err != nil {
			return latencies{}, fmt.Errorf("WAIT 1 0: %w", err)
		}
		if got < 1 {
			return latencies{}, fmt.Errorf("WAIT 1 0 replied %d", got)
		}
		l.lat = append(l.lat, time.Since(t0))
	}
	l.took = time.Since(start)
	return l, nil
}

func addrOf(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// waitFor polls f until it is true or limit passes.
func waitFor(limit time.Duration, f func() bool) error {
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func renderWait(o *options, rs []waitResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## SET then WAIT 1 0\n\nOne go-redis connection runs SET then WAIT 1 0, %d pairs per round, %d alternating rounds, "+
		"against a primary with one replica of its own kind (appendfsync everysec): idle, and while redis-benchmark "+
		"-t set -P 16 -c %d -r %d -d 3 writes to the same primary. A latency is the pair's; the client runs in the harness, "+
		"not pinned; its SET's own p50 and p99 show how much of the pair is the SET's wait behind the load. "+
		"Target: p99 ≤ 2 ms under load.\n\n", o.waitN, o.rounds, o.clients, o.keyspace)
	b.WriteString("| server | load | p50 | p99 | max | pairs/s | SET alone p50 | SET alone p99 |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		for _, row := range []struct {
			load string
			l    *latencies
		}{{"idle", &r.idle}, {"SET -P 16", &r.loaded}} {
			fmt.Fprintf(&b, "| %s | %s | %.3f ms | **%.3f ms** | %.3f ms | %.0f | %.3f ms | %.3f ms |\n", r.server, row.load,
				ms(row.l.quantile(0.5)), ms(row.l.quantile(0.99)), ms(row.l.quantile(1)), row.l.rate(),
				ms(quantile(row.l.set, 0.5)), ms(quantile(row.l.set, 0.99)))
		}
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
