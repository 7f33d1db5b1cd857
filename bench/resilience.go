package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The resilience run: loads an operator might throw at a server, each
// beside a client that PINGs in a loop, recording the longest PING, the
// peak RSS during the load and the RSS a few seconds after its keys are
// deleted.

// resilienceLoad is one load: run sends it to the server on port.
type resilienceLoad struct {
	name string
	run  func(port int) error
}

// resilienceRow is one load's measurements on one server.
type resilienceRow struct {
	load, server      string
	took, maxPing     time.Duration
	peakRSS, afterRSS int64
}

// settleAfterDelete is how long after the last DEL the idle RSS is read.
const settleAfterDelete = 5 * time.Second

func resilienceLoads() []resilienceLoad {
	return []resilienceLoad{
		{"SETRANGE k 536870911 x; SETBIT k 4294967295 1; DEL k", func(port int) error {
			return sendAll(port, []any{"SETRANGE", "k", "536870911", "x"}, []any{"SETBIT", "k", "4294967295", "1"}, []any{"DEL", "k"})
		}},
		{"3 clients SET 100 MB each, slowly (1 MB every 10 ms); DEL", func(port int) error {
			return slowLargeSets(port, 10*time.Millisecond)
		}},
		{"HSET 1M fields (1000 per command); DEL", func(port int) error {
			if err := hsetFields(port, "h", 1000000, 1000); err != nil {
				return err
			}
			return sendAll(port, []any{"DEL", "h"})
		}},
	}
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func sendAll(port int, cmds ...[]any) error {
	c := redis.NewClient(&redis.Options{Addr: addr(port), ReadTimeout: 5 * time.Minute})
	defer c.Close()
	for _, cmd := range cmds {
		if err := c.Do(context.Background(), cmd...).Err(); err != nil {
			return fmt.Errorf("%v: %w", cmd[0], err)
		}
	}
	return nil
}

// slowLargeSets has three clients each send a 100 MB SET 1 MB at a time,
// every interval, then deletes the keys.
func slowLargeSets(port int, interval time.Duration) error {
	const size, piece = 100 << 20, 1 << 20
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr(port))
			if err != nil {
				errs[i] = err
				return
			}
			defer nc.Close()
			key := "big" + strconv.Itoa(i)
			fmt.Fprintf(nc, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, size)
			buf := make([]byte, piece)
			for j := range buf {
				buf[j] = byte('a' + j%26)
			}
			for sent := 0; sent < size; sent += piece {
				if _, err := nc.Write(buf); err != nil {
					errs[i] = err
					return
				}
				time.Sleep(interval)
			}
			nc.Write([]byte("\r\n"))
			reply := make([]byte, 16)
			n, err := nc.Read(reply)
			if err == nil && !strings.HasPrefix(string(reply[:n]), "+OK") {
				err = fmt.Errorf("SET answered %q", reply[:n])
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return sendAll(port, []any{"DEL", "big0", "big1", "big2"})
}

// resilienceBench runs every load on a fresh Shoal and a fresh
// redis-server.
func resilienceBench(o *options, bin, work string) ([]resilienceRow, error) {
	var rows []resilienceRow
	for _, load := range resilienceLoads() {
		err := onFreshServers(o, bin, work, []string{"shoal", "redis"}, "everysec", "resilience", load.name, func(p *proc) error {
			row, err := measureLoad(p, load)
			rows = append(rows, row)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// onFreshServers starts a server of each name ("shoal" or "redis") on a
// fresh data folder, one after the other, and runs measure on it.
func onFreshServers(o *options, bin, work string, names []string, fsync, mode, load string, measure func(p *proc) error) error {
	for _, name := range names {
		p, err := startFreshFsync(o, bin, work, name, mode, fsync)
		if err != nil {
			return err
		}
		progress("%s: %s", name, load)
		err = measure(p)
		p.stop()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, load, err)
		}
	}
	return nil
}

// measureLoad runs load against p beside a PING loop and an RSS sampler.
func measureLoad(p *proc, load resilienceLoad) (resilienceRow, error) {
	row := resilienceRow{load: load.name, server: p.name}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	pinger := startPinger(p.port)
	go func() {
		defer wg.Done()
		for {
			if rss, err := p.rssBytes(); err == nil {
				row.peakRSS = max(row.peakRSS, rss)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t0 := time.Now()
	err := load.run(p.port)
	row.took = time.Since(t0)
	time.Sleep(settleAfterDelete)
	close(stop)
	wg.Wait()
	row.maxPing = percentile(pinger.stop(), 1)
	if err != nil {
		return row, err
	}
	row.afterRSS, err = p.rssBytes()
	return row, err
}

func renderResilience(machine string, rows []resilienceRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Resilience (`go run ./bench -resilience`)\n\n%s\n\n", machine)
	b.WriteString("| load | server | took | longest PING | peak RSS | RSS 5 s after DEL |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.1f s | %.1f ms | %.0f MiB | %.0f MiB |\n", r.load, r.server,
			r.took.Seconds(), float64(r.maxPing.Microseconds())/1000, float64(r.peakRSS)/(1<<20), float64(r.afterRSS)/(1<<20))
	}
	return b.String()
}
