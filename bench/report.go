package main

import (
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func describeMachine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				fmt.Fprintf(&b, ", %s", strings.TrimSpace(strings.SplitN(line, ":", 2)[1]))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		line := strings.SplitN(string(data), "\n", 2)[0]
		fmt.Fprintf(&b, ", %s", strings.Join(strings.Fields(line)[1:], " ")+" memory")
	}
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		fmt.Fprintf(&b, "; %s", strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(&b, "; %s", runtime.Version())
	return b.String()
}

func renderMarkdown(o *options, machine string, rs []result, mem *memoryResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Shoal vs redis-server, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %s\n\n", machine)
	fmt.Fprintf(&b, "redis-benchmark -c %d -r %d, -n %d at P1 and %d at P16 (a quarter of that under appendfsync always; a tenth for MSET, which writes 10 keys per request); "+
		"median of %d alternating rounds; %s. Redis runs with appendonly yes and the same appendfsync.\n\n",
		o.clients, o.keyspace, o.n1, o.n16, o.rounds, pinning(o))
	if o.large {
		fmt.Fprintf(&b, "Before its tests each server was given every key -r draws from (key:000000000000 to key:%012d), "+
			"each holding -d random bytes: %.2f GiB at -d %d, against Shoal's hot cache of 64 MiB (which keeps no value over 256 bytes) "+
			"and block cache of 128 MiB.\n\n",
			o.keyspace-1, float64(o.keyspace)*float64(o.sizes[0])/(1<<30), o.sizes[0])
	}
	if o.replicas > 0 {
		fmt.Fprintf(&b, "Each primary had %d replicas of its own kind (REPLICAOF on loopback: Shoal's of Shoal, redis-server's of redis-server), "+
			"all on fresh folders. A case began once every replica was online with the primary's offset and key count, and after each test "+
			"the harness waited until they were equal again (catch-up: how long that took, median). "+
			"Shoal alone is Shoal without replicas in the same rotating rounds; vs alone is Shoal with replicas over it "+
			"(target: SET at P16 with two replicas ≥ 0.85).\n\n", o.replicas)
	}
	switch {
	case len(rs) > 0 && o.replicas > 0:
		b.WriteString("| fsync | test | P | value | Shoal req/s | Redis req/s | ratio | Shoal alone req/s | vs alone | Shoal p50/p99 ms | Redis p50/p99 ms | catch-up Shoal / Redis |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "| %s | %s | %d | %d B | %.0f | %.0f | **%.2f** | %.0f | **%.2f** | %.3f / %.3f | %.3f / %.3f | %s / %s |\n",
				r.fsync, r.test, r.pipeline, r.size, r.shoal.rps, r.redis.rps, r.ratio(), r.alone.rps, ratio(r.shoal.rps, r.alone.rps),
				r.shoal.p50, r.shoal.p99, r.redis.p50, r.redis.p99, r.shoal.catchUp.Round(time.Millisecond), r.redis.catchUp.Round(time.Millisecond))
		}
	case len(rs) > 0:
		b.WriteString("| fsync | test | P | value | Shoal req/s | Redis req/s | ratio | Shoal p50/p99 ms | Redis p50/p99 ms |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "| %s | %s | %d | %d B | %.0f | %.0f | **%.2f** | %.3f / %.3f | %.3f / %.3f |\n",
				r.fsync, r.test, r.pipeline, r.size, r.shoal.rps, r.redis.rps, r.ratio(), r.shoal.p50, r.shoal.p99, r.redis.p50, r.redis.p99)
		}
	}
	if mem != nil {
		b.WriteString("\n## Memory and restart\n\n")
		fmt.Fprintf(&b, "%d keys of 100 bytes loaded into each server.\n\n", mem.keys)
		b.WriteString("| server | RSS after load | restart to serving all keys |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| Shoal | %.0f MiB | %s |\n", float64(mem.shoalRSS)/(1<<20), mem.shoalRestart.Round(time.Millisecond))
		fmt.Fprintf(&b, "| Redis | %.0f MiB | %s |\n", float64(mem.redisRSS)/(1<<20), mem.redisRestart.Round(time.Millisecond))
		fmt.Fprintf(&b, "\nRSS ratio Shoal/Redis: **%.2f**; restart ratio: **%.2f**\n",
			float64(mem.shoalRSS)/float64(mem.redisRSS), mem.shoalRestart.Seconds()/mem.redisRestart.Seconds())
	}
	return b.String()
}

// pinning says where the processes ran.
func pinning(o *options) string {
	switch {
	case !o.taskset:
		return "no taskset pinning"
	case o.replicas > 0:
		return "pinned with taskset: each primary and its replicas on CPU 0, redis-benchmark on CPU 1"
	}
	return "pinned with taskset: the server on CPU 0, redis-benchmark on CPU 1"
}

// plotRatios draws one bar per case: Shoal's throughput over Redis's.
func plotRatios(rs []result, path string) error {
	p := plot.New()
	p.Title.Text = "Shoal / Redis throughput (1.0 = parity)"
	p.Y.Label.Text = "ratio"
	vals := make(plotter.Values, len(rs))
	names := make([]string, len(rs))
	for i, r := range rs {
		vals[i] = r.ratio()
		names[i] = fmt.Sprintf("%s P%d %dB %s", r.test, r.pipeline, r.size, r.fsync[:1])
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(8))
	if err != nil {
		return err
	}
	bars.Color = color.RGBA{R: 40, G: 110, B: 200, A: 255}
	p.Add(bars)
	parity := plotter.NewFunction(func(float64) float64 { return 1 })
	parity.Color = color.RGBA{R: 200, A: 255}
	p.Add(parity)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 1.2
	p.X.Tick.Label.XAlign = -1
	p.X.Tick.Label.YAlign = -0.5
	w := vg.Length(len(rs))*12*vg.Points(1) + 2*vg.Inch
	return p.Save(w, 5*vg.Inch, path)
}
