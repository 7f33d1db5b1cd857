package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// replResult is the -replication mode's measurements.
type replResult struct {
	fsync          string
	alone, with2   sample        // redis-benchmark SET -P 16, median of the rounds
	catchUp        time.Duration // until both replicas held the last write, after the run
	waitN          int
	waitP50        time.Duration // SET then WAIT 1 0, one connection
	waitP99        time.Duration
	waitMax        time.Duration
	waitThroughput float64 // SET+WAIT pairs per second
}

// replicationBench measures what replication costs a Shoal primary: SET
// throughput with two Shoal replicas attached against none, and the latency
// of a SET followed by WAIT 1 0.
func replicationBench(o *options, bin, work string) (*replResult, error) {
	const fsync = "everysec"
	res := &replResult{fsync: fsync, waitN: o.waitN}
	var alone, with2 []sample
	for round := 0; round < o.rounds; round++ {
		for _, replicas := range []int{0, 2} {
			if round%2 == 1 {
				replicas = 2 - replicas // alternate which goes first
			}
			progress("replication round %d/%d: SET -P 16 with %d replicas", round+1, o.rounds, replicas)
			s, catchUp, err := replicatedRun(o, bin, work, fsync, replicas, fmt.Sprintf("r%d-%d", round, replicas), func(port int) (sample, error) {
				return redisBenchmark(o, port, "set", o.n16, 3, 16)
			})
			if err != nil {
				return nil, err
			}
			if replicas == 0 {
				alone = append(alone, s)
			} else {
				with2 = append(with2, s)
				res.catchUp = max(res.catchUp, catchUp)
			}
		}
	}
	res.alone, res.with2 = median(alone), median(with2)

	progress("replication: %d x SET + WAIT 1 0 with 2 replicas", o.waitN)
	_, _, err := replicatedRun(o, bin, work, fsync, 2, "wait", func(port int) (sample, error) {
		lat, total, err := setWaitLoop(port, o.waitN)
		if err != nil {
			return sample{}, err
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		res.waitP50 = lat[len(lat)/2]
		res.waitP99 = lat[len(lat)*99/100]
		res.waitMax = lat[len(lat)-1]
		res.waitThroughput = float64(len(lat)) / total.Seconds()
		return sample{}, nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// replicatedRun starts a primary and n replicas on fresh folders, waits
// until the replicas are online, runs f against the primary, then waits
// until the replicas hold everything the primary wrote and reports how long
// that took after f returned.
func replicatedRun(o *options, bin, work, fsync string, n int, name string, f func(port int) (sample, error)) (sample, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return sample{}, 0, err
	}
	p, err := startShoal(o, bin, filepath.Join(work, name+"-primary"), fsync, port)
	if err != nil {
		return sample{}, 0, err
	}
	defer p.stop()
	var replicas []*proc
	defer func() {
		for _, r := range replicas {
			r.stop()
		}
	}()
	for i := 0; i < n; i++ {
		rport, err := freePort()
		if err != nil {
			return sample{}, 0, err
		}
		r, err := startShoal(o, bin, filepath.Join(work, fmt.Sprintf("%s-replica%d", name, i)), fsync, rport,
			"--replicaof", "127.0.0.1 "+strconv.Itoa(port))
		if err != nil {
			return sample{}, 0, err
		}
		replicas = append(replicas, r)
	}
	ctx := context.Background()
	pc := redis.NewClient(&redis.Options{Addr: addrOf(port)})
	defer pc.Close()
	if err := waitFor(60*time.Second, func() bool {
		info, err := pc.Info(ctx, "replication").Result()
		return err == nil && strings.Count(info, "state=online") == n
	}); err != nil {
		return sample{}, 0, fmt.Errorf("%d replicas did not come online: %w", n, err)
	}
	s, err := f(port)
	if err != nil {
		return sample{}, 0, err
	}
	done := time.Now()
	want, err := replOffset(ctx, pc)
	if err != nil {
		return sample{}, 0, err
	}
	for _, r := range replicas {
		rc := redis.NewClient(&redis.Options{Addr: addrOf(r.port)})
		err := waitFor(5*time.Minute, func() bool {
			off, err := replOffset(ctx, rc)
			return err == nil && off >= want
		})
		rc.Close()
		if err != nil {
			return sample{}, 0, fmt.Errorf("replica did not catch up: %w", err)
		}
	}
	return s, time.Since(done), nil
}

// setWaitLoop runs n rounds of SET then WAIT 1 0 on one connection and
// returns each round's latency and the total time.
func setWaitLoop(port, n int) ([]time.Duration, time.Duration, error) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addrOf(port), PoolSize: 1})
	defer c.Close()
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := c.Set(ctx, "wait:"+strconv.Itoa(i%1000), i, 0).Err(); err != nil {
			return nil, 0, err
		}
		got, err := c.Do(ctx, "WAIT", 1, 0).Int()
		if err != nil {
			return nil, 0, err
		}
		if got < 1 {
			return nil, 0, fmt.Errorf("WAIT 1 0 replied %d", got)
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, time.Since(start), nil
}

func replOffset(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no master_repl_offset in INFO")
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

func renderReplication(o *options, machine string, r *replResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Shoal replication, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %s\n\n", machine)
	fmt.Fprintf(&b, "A Shoal primary and two Shoal replicas on loopback, appendfsync %s, all on the same machine "+
		"(the replicas compete with the primary and redis-benchmark for the CPUs); taskset pinning: %v.\n\n", r.fsync, o.taskset)
	fmt.Fprintf(&b, "## SET throughput\n\nredis-benchmark -t set -P 16 -c %d -r %d -d 3 -n %d against the primary; median of %d alternating rounds.\n\n",
		o.clients, o.keyspace, o.n16, o.rounds)
	b.WriteString("| replicas | SET req/s | p50/p99 ms | ratio to none |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| none | %.0f | %.3f / %.3f | 1.00 |\n", r.alone.rps, r.alone.p50, r.alone.p99)
	ratio := 0.0
	if r.alone.rps > 0 {
		ratio = r.with2.rps / r.alone.rps
	}
	fmt.Fprintf(&b, "| 2 | %.0f | %.3f / %.3f | **%.2f** |\n\n", r.with2.rps, r.with2.p50, r.with2.p99, ratio)
	fmt.Fprintf(&b, "The replicas held the last write %s after the run ended (the slowest of the rounds).\n\n", r.catchUp.Round(time.Millisecond))
	fmt.Fprintf(&b, "## SET then WAIT 1 0\n\nOne go-redis connection, %d rounds of SET followed by WAIT 1 0, two replicas attached.\n\n", r.waitN)
	b.WriteString("| p50 | p99 | max | rounds/s |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %.3f ms | %.3f ms | %.3f ms | %.0f |\n", ms(r.waitP50), ms(r.waitP99), ms(r.waitMax), r.waitThroughput)
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
