package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The many-arguments run: single commands of 100,000 arguments (or
// pairs), each on a fresh server, timed by the client from the request's
// first byte to the reply, with the server's peak RSS (its high-water
// mark) after them. Both servers get the same requests from the same
// client, back to back.

// manyArgs is how many members, pairs or keys each command carries.
const manyArgs = 100000

// manyArgsLoad is one command; setup, when set, runs first, untimed.
type manyArgsLoad struct {
	name  string
	setup [][]any
	cmd   []any
}

func manyArgsLoads() []manyArgsLoad {
	members := func(prefix string, pairs bool) []any {
		var out []any
		for i := range manyArgs {
			out = append(out, prefix+strconv.Itoa(i))
			if pairs {
				out = append(out, "value:"+strconv.Itoa(i))
			}
		}
		return out
	}
	cmd := func(head []any, rest []any) []any { return append(head, rest...) }
	mset := cmd([]any{"MSET"}, members("key:", true))
	return []manyArgsLoad{
		{name: "SADD k m0..m99999", cmd: cmd([]any{"SADD", "s"}, members("member:", false))},
		{name: "MSET of 100,000 pairs", cmd: mset},
		{name: "HSET of 100,000 fields", cmd: cmd([]any{"HSET", "h"}, members("field:", true))},
		{name: "RPUSH of 100,000 elements", cmd: cmd([]any{"RPUSH", "l"}, members("element:", false))},
		{name: "DEL of 100,000 keys", setup: [][]any{mset}, cmd: cmd([]any{"DEL"}, members("key:", false))},
	}
}

// manyArgsRow is one command's measurements on one server.
type manyArgsRow struct {
	load, server string
	took         time.Duration // median of the rounds
	startRSS     int64         // RSS before the command, the largest of the rounds
	peakRSS      int64         // largest of the rounds
	fileRSS      int64         // of peakRSS, the pages mapped from files (the binary), largest of the rounds
	reply        string
}

// manyArgsBench runs every load o.rounds times on each server, a fresh
// one each time, alternating between them.
func manyArgsBench(o *options, bin, work string) ([]manyArgsRow, error) {
	var rows []manyArgsRow
	for _, load := range manyArgsLoads() {
		took := map[string][]time.Duration{}
		peak, before, file := map[string]int64{}, map[string]int64{}, map[string]int64{}
		reply := map[string]string{}
		for round := range o.rounds {
			for _, name := range []string{"shoal", "redis"} {
				p, err := startFresh(o, bin, work, name, "manyargs")
				if err != nil {
					return nil, err
				}
				progress("%s: %s, round %d", name, load.name, round+1)
				d, r, err := runManyArgs(p, load, func(rss int64) { before[name] = max(before[name], rss) })
				if err == nil {
					var rss int64
					rss, err = p.peakRSSBytes()
					peak[name] = max(peak[name], rss)
				}
				if err == nil {
					var rss int64
					rss, err = p.status("RssFile:")
					file[name] = max(file[name], rss)
				}
				p.stop()
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", name, load.name, err)
				}
				took[name] = append(took[name], d)
				reply[name] = r
			}
		}
		for _, name := range []string{"shoal", "redis"} {
			ds := took[name]
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			rows = append(rows, manyArgsRow{load: load.name, server: name, took: ds[len(ds)/2], startRSS: before[name], peakRSS: peak[name], fileRSS: file[name], reply: reply[name]})
		}
	}
	return rows, nil
}

// runManyArgs runs load's setup, tells started the RSS then, and times
// load's command.
func runManyArgs(p *proc, load manyArgsLoad, started func(rss int64)) (time.Duration, string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr(p.port), ReadTimeout: 5 * time.Minute, PoolSize: 1})
	defer c.Close()
	ctx := context.Background()
	for _, cmd := range load.setup {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			return 0, "", err
		}
	}
	if err := c.Ping(ctx).Err(); err != nil {
		return 0, "", err
	}
	rss, err := p.rssBytes()
	if err != nil {
		return 0, "", err
	}
	started(rss)
	t0 := time.Now()
	v, err := c.Do(ctx, load.cmd...).Result()
	return time.Since(t0), fmt.Sprint(v), err
}

func renderManyArgs(machine string, rounds int, rows []manyArgsRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Commands of 100,000 arguments (`go run ./bench -manyargs`)\n\n%s\n\n", machine)
	fmt.Fprintf(&b, "Each command alone on a fresh server, median of %d rounds, timed by the client from sending it to its reply; RSS before is the server's just before it (after the setup), peak RSS its high-water mark (VmHWM) after it. File-backed is the part of the RSS mapped from files (RssFile after the command: the executable's pages, which the kernel may map in 2 MiB folios whole), and peak − file the rest of the peak: the memory the server allocated.\n\n", rounds)
	b.WriteString("| command | server | reply | took | RSS before | peak RSS | file-backed | peak − file |\n|---|---|---|---|---|---|---|---|\n")
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f ms | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB |\n", r.load, r.server, r.reply,
			float64(r.took.Microseconds())/1000, mib(r.startRSS), mib(r.peakRSS), mib(r.fileRSS), mib(r.peakRSS-r.fileRSS))
	}
	return b.String()
}
