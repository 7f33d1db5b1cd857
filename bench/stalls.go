package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The stalls run: loads that could hold other clients behind them, each
// beside a client that PINGs in a loop, reporting that client's p99 and
// longest PING. Each load runs on a fresh server, Shoal and redis-server
// one after the other. PINGs go on for stallTail after the
// load.

// stallLoad is one load: prepare fills the server on port (not
// measured), run is the load measured.
type stallLoad struct {
	id, name string
	prepare  func(port int) error
	run      func(port int, dir string) error
}

// stallRow is one load's measurements on one server.
type stallRow struct {
	load, server string
	took         time.Duration
	pings        int
	p99, maxPing time.Duration
	loadavg      string // the 1-minute load average at the start and the end
}

// stallTail is how long PINGs go on after a load, for the work it left
// behind (compactions, memory returned).
const stallTail = 2 * time.Second

func stallLoads() []stallLoad {
	return []stallLoad{
		{"setrange", "SETRANGE k 536870911 x; SETBIT k 4294967295 1; DEL k", nil, func(port int, _ string) error {
			return sendAll(port, []any{"SETRANGE", "k", "536870911", "x"}, []any{"SETBIT", "k", "4294967295", "1"}, []any{"DEL", "k"})
		}},
		{"bigset", "3 clients SET 100 MB each, 1 MB every 100 ms; DEL", nil, func(port int, _ string) error {
			return slowLargeSets(port, 100*time.Millisecond)
		}},
		{"hset", "HSET 1M fields (10k per command); DEL", nil, func(port int, _ string) error {
			if err := hsetFields(port, "h", 1000000, 10000); err != nil {
				return err
			}
			return sendAll(port, []any{"DEL", "h"})
		}},
		{"flushall", "FLUSHALL of 1M keys", func(port int) error {
			return fillKeys(port, 1000000)
		}, func(port int, _ string) error {
			return sendAll(port, []any{"FLUSHALL"})
		}},
		{"setload", "SET load alone for 8 s, over 1M keys (the row below without its saves)", func(port int) error {
			return fillKeys(port, 1000000)
		}, func(port int, _ string) error {
			return underSetLoad(port, func() error { time.Sleep(8 * time.Second); return nil })
		}},
		{"save", "SAVE, BGSAVE, BACKUP TO (Shoal) of 1M keys under SET load", func(port int) error {
			return fillKeys(port, 1000000)
		}, func(port int, dir string) error {
			return underSetLoad(port, func() error { return saveBackup(port, dir) })
		}},
	}
}

// hsetFields writes n fields to the hash key, per fields to a command.
func hsetFields(port int, key string, n, per int) error {
	c := redis.NewClient(&redis.Options{Addr: addr(port), ReadTimeout: time.Minute})
	defer c.Close()
	ctx := context.Background()
	for i := 0; i < n; i += per {
		args := make([]any, 0, 2*per)
		for j := i; j < min(i+per, n); j++ {
			args = append(args, "field:"+strconv.Itoa(j), "value")
		}
		if err := c.HSet(ctx, key, args...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// fillKeys writes n keys of 100 bytes, 1000 to a pipeline.
func fillKeys(port, n int) error {
	c := redis.NewClient(&redis.Options{Addr: addr(port), ReadTimeout: time.Minute})
	defer c.Close()
	ctx := context.Background()
	val := strings.Repeat("v", 100)
	for i := 0; i < n; i += 1000 {
		p := c.Pipeline()
		for j := i; j < min(i+1000, n); j++ {
			p.Set(ctx, "key:"+strconv.Itoa(j), val, 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// underSetLoad runs action while a client SETs keys in pipelines of 100.
func underSetLoad(port int, action func() error) error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loadErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := redis.NewClient(&redis.Options{Addr: addr(port), ReadTimeout: time.Minute})
		defer c.Close()
		ctx := context.Background()
		val := strings.Repeat("w", 100)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := c.Pipeline()
			for j := 0; j < 100; j++ {
				p.Set(ctx, "load:"+strconv.Itoa((i*100+j)%100000), val, 0)
			}
			if _, err := p.Exec(ctx); err != nil {
				loadErr = err
				return
			}
		}
	}()
	err := action()
	close(stop)
	wg.Wait()
	if err == nil {
		err = loadErr
	}
	return err
}

// saveBackup runs SAVE, then BGSAVE until it ends, then (on Shoal)
// BACKUP TO.
func saveBackup(port int, dir string) error {
	c := redis.NewClient(&redis.Options{Addr: addr(port), ReadTimeout: 5 * time.Minute})
	defer c.Close()
	ctx := context.Background()
	if err := c.Save(ctx).Err(); err != nil {
		return fmt.Errorf("SAVE: %w", err)
	}
	if err := c.BgSave(ctx).Err(); err != nil {
		return fmt.Errorf("BGSAVE: %w", err)
	}
	for {
		info, err := c.Info(ctx, "persistence").Result()
		if err != nil {
			return err
		}
		if strings.Contains(info, "rdb_bgsave_in_progress:0") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := c.Info(ctx, "server").Result()
	if err != nil || !strings.Contains(info, "shoal") {
		return err // redis-server has no BACKUP
	}
	if err := c.Do(ctx, "BACKUP", "TO", filepath.Join(dir, "..", "backup-"+strconv.Itoa(port))).Err(); err != nil {
		return fmt.Errorf("BACKUP: %w", err)
	}
	return nil
}

// stallsBench runs the loads o.stallLoads names (all when empty) on the
// servers o.stallServers names.
func stallsBench(o *options, bin, work string) ([]stallRow, error) {
	var rows []stallRow
	for _, load := range stallLoads() {
		if len(o.stallLoads) > 0 && !slices.Contains(o.stallLoads, load.id) {
			continue
		}
		err := onFreshServers(o, bin, work, o.stallServers, o.fsyncs[0], "stalls", load.name, func(p *proc) error {
			row, err := measureStall(p, load)
			if err == nil {
				progress("%s: took %.1f s, %d PINGs, p99 %.1f ms, max %.1f ms, load %s", p.name, row.took.Seconds(), row.pings,
					ms(row.p99), ms(row.maxPing), row.loadavg)
				rows = append(rows, row)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func measureStall(p *proc, load stallLoad) (stallRow, error) {
	row := stallRow{load: load.name, server: p.name}
	if load.prepare != nil {
		if err := load.prepare(p.port); err != nil {
			return row, fmt.Errorf("prepare: %w", err)
		}
	}
	before := loadAverage()
	pinger := startPinger(p.port)
	t0 := time.Now()
	err := load.run(p.port, p.dir)
	row.took = time.Since(t0)
	time.Sleep(stallTail)
	pings := pinger.stop()
	row.loadavg = before + " → " + loadAverage()
	row.pings = len(pings)
	row.p99, row.maxPing = percentile(pings, 0.99), percentile(pings, 1)
	return row, err
}

// pinger is a client that sends PING in a loop, 1 ms apart, and keeps
// how long each took.
type pinger struct {
	done  chan struct{}
	wg    sync.WaitGroup
	pings []time.Duration
}

func startPinger(port int) *pinger {
	pg := &pinger{done: make(chan struct{})}
	c := redis.NewClient(&redis.Options{Addr: addr(port), ReadTimeout: 5 * time.Minute})
	c.Ping(context.Background()) // NB: connected before the load starts
	pg.wg.Add(1)
	go func() {
		defer pg.wg.Done()
		defer c.Close()
		for {
			select {
			case <-pg.done:
				return
			default:
			}
			t0 := time.Now()
			c.Ping(context.Background())
			pg.pings = append(pg.pings, time.Since(t0))
			time.Sleep(time.Millisecond)
		}
	}()
	return pg
}

// stop ends the loop and returns the PINGs' durations.
func (pg *pinger) stop() []time.Duration {
	close(pg.done)
	pg.wg.Wait()
	return pg.pings
}

// percentile returns the q-th quantile of ds (1: the largest).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// loadAverage returns the 1-minute load average of the machine.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func renderStalls(machine string, rows []stallRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Stalls (`go run ./bench -stalls`)\n\n%s\n\n", machine)
	b.WriteString("| load | server | took | PINGs | PING p99 | longest PING | load average |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.1f s | %d | %.1f ms | %.1f ms | %s |\n", r.load, r.server,
			r.took.Seconds(), r.pings, ms(r.p99), ms(r.maxPing), r.loadavg)
	}
	return b.String()
}
