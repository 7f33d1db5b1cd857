package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The -cpu mode measures what a command costs each process: the servers
// run redis-benchmark's load in a loop (-l), and over a window of cpuWindow
// the harness reads each process's CPU time from /proc and the primary's
// total_commands_processed, so a row gives CPU per command of the primary
// and of each replica, for Shoal and redis-server alike. For Shoal's
// primary it also takes a CPU profile of the window (pprof on the metrics
// port) and splits it by part of the command path with `go tool pprof`.

// cpuWarmup is how long the load runs before the window; cpuWindow the window.
const (
	cpuWarmup = 3 * time.Second
	cpuWindow = 10 * time.Second
)

// cpuRow is one server's measurement of one case.
type cpuRow struct {
	server, test, fsync string
	pipe                int
	rate                float64   // commands per second over the window
	perCmd              []float64 // µs of CPU per command: primary, then each replica
	profile             string    // Shoal's profile of the window
}

// cpuParts are the parts of Shoal's command path a profile is split into:
// a name and the focus expression of `go tool pprof`.
var cpuParts = []struct{ name, focus string }{
	{"Pebble memtable insert", `pebble/v2.\(\*DB\).commitApply`},
	{"Pebble commit (the memtable insert included)", `pebble/v2.\(\*commitPipeline\).Commit`},
	{"Pebble flushes", `pebble/v2.\(\*DB\).flush`},
	{"Pebble compactions", `pebble/v2.\(\*DB\).compact`},
	{"metadata lookups (pending, hot cache, Pebble)", `storage.\(\*Tx\).getMeta`},
	{"Pebble point reads", `pebble/v2.\(\*DB\).Get`},
	{"hot cache publish at commit", `storage.\(\*Tx\).publishMetaLocked`},
	{"key locks", `storage.\(\*Tx\).lockStripes`},
	{"command handlers, all", `server.runHandler`},
	{"request framing", `server.\(\*framer\)`},
	{"socket reads", `internal/poll.\(\*FD\).Read`},
	{"socket writes", `internal/poll.\(\*FD\).Write`},
	{"replication log feeders", `replication.\(\*Manager\).stream`},
	{"garbage collection", `runtime.gcBgMarkWorker|runtime.gcAssistAlloc|runtime.bgsweep`},
	{"scheduler and network poller", `runtime.schedule|runtime.findRunnable|runtime.netpoll`},
}

func cpuBench(o *options, bin, work string) ([]cpuRow, error) {
	var rows []cpuRow
	for _, fsync := range o.fsyncs {
		for _, pipe := range o.pipelines {
			for _, test := range o.tests {
				for _, name := range []string{"shoal", "redis"} {
					progress("cpu: %s %s -P %d %s, %d replicas", name, test, pipe, fsync, o.replicas)
					r, err := cpuCase(o, bin, work, name, test, fsync, pipe)
					if err != nil {
						return nil, fmt.Errorf("%s %s: %w", name, test, err)
					}
					rows = append(rows, r)
				}
			}
		}
	}
	return rows, nil
}

func cpuCase(o *options, bin, work, name, test, fsync string, pipe int) (cpuRow, error) {
	row := cpuRow{server: name, test: test, fsync: fsync, pipe: pipe}
	var extra []string
	mport := 0
	if name == "shoal" {
		p, err := freePort()
		if err != nil {
			return row, err
		}
		mport = p
		extra = []string{"--metrics-port", strconv.Itoa(p), "--metrics-pprof", "yes"}
	}
	dir := filepath.Join(work, fmt.Sprintf("cpu-%s-%s-%s-%d", name, test, fsync, pipe))
	g, err := startGroupWith(o, name, bin, dir, fsync, o.replicas, extra)
	if err != nil {
		return row, err
	}
	defer g.stop()
	port := g.primary.port
	if test == "get" || test == "rpop" {
		// The keys or the list to read, written first.
		fill := map[string]string{"get": "set", "rpop": "lpush"}[test]
		if err := benchmarkCmd(o, port, 4*o.keyspace, o.sizes[0], 16, "-t", fill).Run(); err != nil {
			return row, fmt.Errorf("fill: %w", err)
		}
	}
	load := benchmarkCmd(o, port, o.n16, o.sizes[0], pipe, "-t", test, "-l")
	if err := load.Start(); err != nil {
		return row, err
	}
	defer func() {
		load.Process.Kill()
		load.Wait()
	}()
	time.Sleep(cpuWarmup)
	procs := append([]*proc{g.primary}, g.replicas...)
	before := make([]float64, len(procs))
	for i, p := range procs {
		if before[i], err = p.cpuSeconds(); err != nil {
			return row, err
		}
	}
	n0, err := commandsProcessed(g)
	if err != nil {
		return row, err
	}
	t0 := time.Now()
	if mport != 0 {
		row.profile = filepath.Join(o.out, fmt.Sprintf("cpu-%s-%s-P%d.pprof", test, fsync, pipe))
		if err := fetchProfile(mport, row.profile); err != nil {
			return row, err
		}
	} else {
		time.Sleep(cpuWindow)
	}
	n1, err := commandsProcessed(g)
	if err != nil {
		return row, err
	}
	took := time.Since(t0)
	for i, p := range procs {
		after, err := p.cpuSeconds()
		if err != nil {
			return row, err
		}
		row.perCmd = append(row.perCmd, (after-before[i])*1e6/float64(n1-n0))
	}
	row.rate = float64(n1-n0) / took.Seconds()
	return row, nil
}

// commandsProcessed is the primary's total_commands_processed.
func commandsProcessed(g *group) (int64, error) {
	f, err := infoFields(context.Background(), g.clients[0], "stats")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(f["total_commands_processed"], 10, 64)
}

// fetchProfile writes a CPU profile of cpuWindow from Shoal's metrics port.
func fetchProfile(mport int, path string) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", mport, int(cpuWindow/time.Second))
	resp, err := (&http.Client{Timeout: cpuWindow + 30*time.Second}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuSeconds is the user and system CPU time p's process has used.
func (p *proc) cpuSeconds() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// NB: the command name, field 2, is in parentheses and may hold spaces.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks, nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

// profileShares returns the share of each of cpuParts in a profile.
func profileShares(path string) ([]float64, error) {
	total, err := pprofSeconds(path, "")
	if err != nil || total == 0 {
		return nil, err
	}
	var out []float64
	for _, p := range cpuParts {
		s, err := pprofSeconds(path, p.focus)
		if err != nil {
			return nil, err
		}
		out = append(out, s/total)
	}
	return out, nil
}

// pprofSeconds returns the seconds of samples in a profile, only those
// under functions matching focus when it is not empty.
func pprofSeconds(path, focus string) (float64, error) {
	// NB: every node, so that the nodes shown account for every sample.
	args := []string{"tool", "pprof", "-top", "-nodefraction=0", "-edgefraction=0"}
	if focus != "" {
		args = append(args, "-focus="+focus)
	}
	out, err := exec.Command("go", append(args, path)...).Output()
	if err != nil {
		return 0, fmt.Errorf("go tool pprof: %w", err)
	}
	// "Showing nodes accounting for 1.2s, 30% of 4s total" (or "Total
	// samples = 4s" when nothing matched the focus).
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "Showing nodes accounting for "); ok {
			if focus == "" {
				_, tot, _ := strings.Cut(rest, " of ")
				return parseSeconds(strings.TrimSuffix(tot, " total"))
			}
			return parseSeconds(strings.SplitN(rest, ",", 2)[0])
		}
	}
	return 0, nil
}

// parseSeconds reads pprof's "1.23s", "450ms" or "0".
func parseSeconds(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	return d.Seconds(), err
}

func renderCPU(o *options, machine string, rows []cpuRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# CPU per command\n\n%s\n\nredis-benchmark -c %d -r %d -d %d in a loop; after %s, a window of %s: "+
		"each process's CPU time over the primary's commands in the window. %d replicas per primary; pinned: %v.\n\n",
		machine, o.clients, o.keyspace, o.sizes[0], cpuWarmup, cpuWindow, o.replicas, o.taskset)
	if len(o.shoalArgs) > 0 {
		fmt.Fprintf(&b, "Shoal ran with `%s`.\n\n", strings.Join(o.shoalArgs, " "))
	}
	b.WriteString("| test | P | fsync | Shoal cmd/s | Redis cmd/s | Shoal µs/cmd | Redis µs/cmd | Redis / Shoal |\n|---|---|---|---|---|---|---|---|\n")
	for i := 0; i+1 < len(rows); i += 2 {
		s, r := rows[i], rows[i+1]
		fmt.Fprintf(&b, "| %s | %d | %s | %.0f | %.0f | %s | %s | %.2f |\n", strings.ToUpper(s.test), s.pipe, s.fsync,
			s.rate, r.rate, perCmd(s.perCmd), perCmd(r.perCmd), r.perCmd[0]/s.perCmd[0])
	}
	b.WriteString("\nµs/cmd lists the primary's, then each replica's. Shoal's profile of each window, by part " +
		"(shares of the samples; parts nest: the memtable insert is inside the commit, point reads inside metadata " +
		"lookups, both inside the handlers):\n\n| part |")
	for i := 0; i < len(rows); i += 2 {
		fmt.Fprintf(&b, " %s P%d %s |", strings.ToUpper(rows[i].test), rows[i].pipe, rows[i].fsync)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", (len(rows)+1)/2) + "\n")
	shares := make([][]float64, 0, len(rows)/2)
	for i := 0; i < len(rows); i += 2 {
		s, err := profileShares(rows[i].profile)
		if err != nil {
			progress("profile %s: %v", rows[i].profile, err)
		}
		shares = append(shares, s)
	}
	for j, p := range cpuParts {
		fmt.Fprintf(&b, "| %s |", p.name)
		for _, s := range shares {
			if j < len(s) {
				fmt.Fprintf(&b, " %.1f%% |", 100*s[j])
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func perCmd(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, " + ")
}
