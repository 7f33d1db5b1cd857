package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// group is a primary and its replicas, all Shoal or all redis-server, each
// in a fresh folder.
type group struct {
	primary  *proc
	replicas []*proc
	// clients[0] talks to the primary, clients[i+1] to replicas[i].
	clients []*redis.Client
}

// startGroup starts a primary ("shoal" or "redis") in the fresh folder dir
// and n replicas of the same server in folders beside it, each following
// the primary through REPLICAOF, and returns once every replica is online
// and holds everything the primary wrote. With -taskset the replicas share
// CPU 0 with their primary, as every server does.
func startGroup(o *options, name, bin, dir, fsync string, n int) (*group, error) {
	return startGroupWith(o, name, bin, dir, fsync, n, nil)
}

// startGroupWith is startGroup with more --directive value pairs for the
// primary.
func startGroupWith(o *options, name, bin, dir, fsync string, n int, extra []string) (*group, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := startServer(o, name, bin, dir, fsync, port, extra...)
	if err != nil {
		return nil, err
	}
	g := &group{primary: p, clients: []*redis.Client{newClient(port)}}
	for i := 0; i < n; i++ {
		rport, err := freePort()
		if err != nil {
			g.stop()
			return nil, err
		}
		r, err := startServer(o, name, bin, dir+"-replica"+strconv.Itoa(i), fsync, rport,
			"--replicaof", "127.0.0.1", strconv.Itoa(port))
		if err != nil {
			g.stop()
			return nil, err
		}
		g.replicas = append(g.replicas, r)
		g.clients = append(g.clients, newClient(rport))
	}
	if _, err := g.catchUp(); err != nil {
		g.stop()
		return nil, fmt.Errorf("%s: %d replicas did not come in sync: %w", name, n, err)
	}
	return g, nil
}

func newClient(port int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addrOf(port), PoolSize: 2, DisableIdentity: true})
}

// stop shuts the replicas and then the primary down, and removes their
// folders: a large dataset is not left behind on the disk.
func (g *group) stop() {
	for _, c := range g.clients {
		c.Close()
	}
	for _, p := range append(g.replicas, g.primary) {
		p.stop()
		os.RemoveAll(p.dir)
	}
}

// catchUp waits until the primary counts every replica online, each
// replica's link is up with its offset equal to the primary's, and each
// holds as many keys as the primary, so that nothing measured on the
// primary was left unreplicated. It returns how long that took.
func (g *group) catchUp() (time.Duration, error) {
	if len(g.replicas) == 0 {
		return 0, nil
	}
	ctx := context.Background()
	t0 := time.Now()
	var last string
	err := waitFor(5*time.Minute, func() bool {
		info, err := infoFields(ctx, g.clients[0], "replication")
		if err != nil {
			last = err.Error()
			return false
		}
		if online := strings.Count(info["raw"], "state=online"); online != len(g.replicas) {
			last = fmt.Sprintf("%d of %d replicas online", online, len(g.replicas))
			return false
		}
		want := info["master_repl_offset"]
		keys, err := g.clients[0].DBSize(ctx).Result()
		if err != nil {
			last = err.Error()
			return false
		}
		for i, c := range g.clients[1:] {
			ri, err := infoFields(ctx, c, "replication")
			if err != nil {
				last = err.Error()
				return false
			}
			if ri["master_link_status"] != "up" || ri["slave_repl_offset"] != want {
				last = fmt.Sprintf("replica %d: link %s, offset %s of %s", i, ri["master_link_status"], ri["slave_repl_offset"], want)
				return false
			}
			if n, err := c.DBSize(ctx).Result(); err != nil || n != keys {
				last = fmt.Sprintf("replica %d: DBSIZE %d of %d (%v)", i, n, keys, err)
				return false
			}
		}
		return true
	})
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, last)
	}
	return time.Since(t0), nil
}

// infoFields reads an INFO section as its name:value fields; "raw" holds
// the whole reply.
func infoFields(ctx context.Context, c *redis.Client, section string) (map[string]string, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	f := map[string]string{"raw": info}
	for _, line := range strings.Split(info, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			f[k] = v
		}
	}
	return f, nil
}
