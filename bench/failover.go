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

// failoverResult is -failover: how long clients wait for a write after
// the primary of a 3-node cluster is killed.
type failoverResult struct {
	timeout time.Duration
	// write is from SIGKILL to the first SET acknowledged by another node;
	// confirmed, to the first SET that WAITALL then confirmed on every
	// expected replica.
	write, confirmed []time.Duration
}

// failoverBench starts a 3-node cluster and kills its primary o.kills
// times, restarting the old primary each time and waiting until the
// cluster is whole again. It polls every node every 2 ms.
func failoverBench(o *options, bin, work string) (*failoverResult, error) {
	type node struct {
		args []string
		dir  string
		port int
		p    *proc
		c    *redis.Client
	}
	timeout := time.Duration(o.nodeTimeout) * time.Millisecond
	nodes := make([]*node, 3)
	var bus0 int
	for i := range nodes {
		var ports [3]int
		for j := range ports {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			ports[j] = p
		}
		if i == 0 {
			bus0 = ports[1]
		}
		dir := filepath.Join(work, "failover", strconv.Itoa(i))
		args := []string{"--port", strconv.Itoa(ports[0]), "--dir", dir, "--appendfsync", "always", "--loglevel", "notice",
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(ports[1]), "--cluster-catalog-port", strconv.Itoa(ports[2]),
			"--cluster-node-timeout", strconv.Itoa(o.nodeTimeout)}
		if i > 0 {
			args = append(args, "--cluster-join", "127.0.0.1:"+strconv.Itoa(bus0))
		}
		nodes[i] = &node{args: args, dir: dir, port: ports[0],
			c: redis.NewClient(&redis.Options{Addr: addrOf(ports[0]), MaxRetries: -1, DialTimeout: 200 * time.Millisecond,
				ReadTimeout: time.Second, WriteTimeout: time.Second, PoolSize: 2})}
		defer nodes[i].c.Close()
	}
	startNode := func(n *node) error {
		p, err := start(o, "shoal", bin, n.args, n.dir, n.port)
		n.p = p
		return err
	}
	for _, n := range nodes {
		if err := startNode(n); err != nil {
			return nil, err
		}
		defer func() {
			if n.p != nil {
				n.p.kill()
			}
		}()
	}
	ctx := context.Background()
	serving := func(n *node) bool {
		if n.p == nil {
			return false
		}
		s, err := n.c.Info(ctx, "cluster").Result()
		return err == nil && strings.Contains(s, "cluster_serving:1")
	}
	whole := func() (*node, error) {
		var primary *node
		err := waitFor(60*time.Second, func() bool {
			primary = nil
			for _, n := range nodes {
				if serving(n) {
					primary = n
				}
			}
			if primary == nil {
				return false
			}
			r, err := primary.c.Do(ctx, "WAITALL", 1000).Int64Slice()
			return err == nil && len(r) == 2 && r[0] == 2 && r[1] == 2
		})
		return primary, err
	}
	res := &failoverResult{timeout: timeout}
	for k := 0; k < o.kills; k++ {
		old, err := whole()
		if err != nil {
			return nil, fmt.Errorf("kill %d: the cluster did not come together: %w", k, err)
		}
		old.p.kill()
		old.p = nil
		killed := time.Now()
		var wrote, confirmed time.Duration
		for confirmed == 0 {
			if time.Since(killed) > 10*timeout+10*time.Second {
				return nil, fmt.Errorf("kill %d: no node took writes", k)
			}
			for _, n := range nodes {
				if n == old {
					continue
				}
				conn := n.c.Conn()
				if conn.Set(ctx, "failover", k, 0).Err() == nil {
					if wrote == 0 {
						wrote = time.Since(killed)
					}
					r, err := conn.Do(ctx, "WAITALL", 100).Int64Slice()
					if err == nil && len(r) == 2 && r[0] == r[1] && r[1] >= 1 {
						confirmed = time.Since(killed)
					}
				}
				conn.Close()
			}
			time.Sleep(2 * time.Millisecond)
		}
		res.write = append(res.write, wrote)
		res.confirmed = append(res.confirmed, confirmed)
		progress("kill %d: first write after %v, first confirmed write after %v", k+1, wrote.Round(time.Millisecond), confirmed.Round(time.Millisecond))
		if err := startNode(old); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func renderFailover(o *options, machine string, r *failoverResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Failover: SIGKILL of the primary of 3 nodes, %d kills\n\n%s\n\n", len(r.write), machine)
	fmt.Fprintf(&b, "`go run ./bench -failover %d -node-timeout %d`; `appendfsync always`; every node polled every 2 ms. ", o.kills, o.nodeTimeout)
	fmt.Fprintf(&b, "The design's bound is 2 × cluster-node-timeout + 1 s = %v.\n\n", 2*r.timeout+time.Second)
	b.WriteString("| from SIGKILL to | median | p90 | worst |\n|---|---|---|---|\n")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"the first acknowledged SET", r.write}, {"the first SET confirmed by WAITALL", r.confirmed}} {
		s := slices.Clone(row.d)
		slices.Sort(s)
		q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
		fmt.Fprintf(&b, "| %s | %.0f ms | %.0f ms | %.0f ms |\n", row.name, ms(q(0.5)), ms(q(0.9)), ms(s[len(s)-1]))
	}
	return b.String()
}
