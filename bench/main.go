// Command bench runs Shoal and a real redis-server side by side on loopback
// and compares them with redis-benchmark: same arguments, alternating
// rounds, medians, Shoal/Redis ratios. It writes a Markdown table and a plot
// of the ratios, and optionally measures memory and restart time with a
// large dataset.
//
//	go run ./bench                      # the default matrix
//	go run ./bench -quick               # a short smoke run
//	go run ./bench -memory -keys 10000000
//	go run ./bench -replicas 2          # the matrix with 2 replicas on each primary
//	go run ./bench -large               # GET and SET on 1M keys of 1 KB, written first
//	go run ./bench -replication         # SET with 2 replicas vs none, SET+WAIT latency
//	go run ./bench -failover 20         # kill the primary of 3 cluster nodes 20 times
//	go run ./bench -scripting           # EVALSHA of a 1- and a 10-command script
//	go run ./bench -resilience          # huge values and large deletes: PING latency and RSS
//	go run ./bench -manyargs            # single commands of 100,000 arguments: time and peak RSS
//	go run ./bench -stalls              # PING's p99 and longest beside loads that could hold it
//
// redis-server and redis-benchmark come from Debian's redis-server and
// redis-tools packages.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	rounds    int
	n1, n16   int
	clients   int
	keyspace  int
	sizes     []int
	pipelines []int
	tests     []string
	fsyncs    []string
	taskset   bool
	out       string
	memory    bool
	keys      int
	quick     bool
	// replicas attaches this many replicas to each primary (replicas.go).
	replicas int
	// large writes every key of the keyspace before the tests (large.go).
	large bool
	// replication runs the replication benchmark (replication.go).
	replication bool
	waitN       int
	// kills > 0 runs only the failover measurement (failover.go).
	kills       int
	nodeTimeout int
	// scripting runs only the scripting benchmark (scripting.go).
	scripting bool
	// resilience runs only the resilience loads (resilience.go).
	resilience bool
	// manyArgs runs only the commands of 100,000 arguments (manyargs.go).
	manyArgs bool
	// stalls runs only the stall loads (stalls.go): those of stallLoads
	// (all when empty) on stallServers.
	stalls       bool
	stallLoads   []string
	stallServers []string
	// bin is a prebuilt shoal binary to measure instead of this tree's.
	bin string
	// cpu runs only the CPU-per-command measurement (cpu.go).
	cpu bool
	// shoalArgs are more command-line directives for every Shoal started.
	shoalArgs []string
}

func main() {
	var o options
	var sizes, pipes, tests, fsyncs string
	flag.IntVar(&o.rounds, "rounds", 5, "alternating rounds per case; the median is reported")
	flag.IntVar(&o.n1, "n1", 200000, "requests per run at -P 1")
	flag.IntVar(&o.n16, "n16", 1000000, "requests per run at -P 16")
	flag.IntVar(&o.clients, "c", 50, "redis-benchmark clients")
	flag.IntVar(&o.keyspace, "r", 100000, "random keyspace size (-r)")
	flag.StringVar(&sizes, "d", "3,1024", "value sizes in bytes")
	flag.StringVar(&pipes, "P", "1,16", "pipeline depths")
	flag.StringVar(&tests, "t", "set,get,incr,lpush,rpop,sadd,hset,zadd,mset", "redis-benchmark tests (empty: none, for a -memory run alone)")
	flag.StringVar(&fsyncs, "fsync", "everysec,always", "appendfsync policies to compare")
	flag.BoolVar(&o.taskset, "taskset", false, "pin servers to CPU 0 and redis-benchmark to CPU 1")
	flag.StringVar(&o.out, "out", "bench/out", "folder for results.md and ratios.png")
	flag.BoolVar(&o.memory, "memory", false, "also measure RSS and restart time with -keys keys of 100 bytes")
	flag.IntVar(&o.keys, "keys", 10000000, "keys to load for -memory")
	flag.BoolVar(&o.quick, "quick", false, "smoke run: 1 round, small -n, 3-byte values, P16, everysec")
	flag.IntVar(&o.replicas, "replicas", 0, "attach this many replicas to each primary (Shoal's to Shoal, redis-server's to redis-server) and run Shoal without replicas too")
	flag.BoolVar(&o.large, "large", false, "write every key of -r first, values of -d random bytes; unless given, -r 1000000 -d 1024 -t get,set -fsync everysec")
	flag.BoolVar(&o.replication, "replication", false, "measure replication: -replicas 2 with, unless given, -t set -P 16 -d 3 -fsync everysec; then SET + WAIT 1 0 latency with 1 replica, idle and under SET -P 16, on both servers")
	flag.IntVar(&o.waitN, "waitn", 20000, "SET + WAIT 1 0 pairs per round for -replication")
	flag.IntVar(&o.kills, "failover", 0, "only measure failover: kill the primary of a 3-node cluster this many times")
	flag.IntVar(&o.nodeTimeout, "node-timeout", 1000, "cluster-node-timeout in ms for -failover")
	flag.BoolVar(&o.scripting, "scripting", false, "only measure scripts: EVALSHA of a 1- and a 10-command script, at each -P")
	flag.BoolVar(&o.resilience, "resilience", false, "only measure huge values and large deletes: longest PING beside them, peak RSS and RSS after DEL")
	flag.BoolVar(&o.manyArgs, "manyargs", false, "only measure single commands of 100,000 arguments (SADD, MSET, HSET, RPUSH, DEL): time and peak RSS")
	var stallLoads, stallServers string
	flag.BoolVar(&o.stalls, "stalls", false, "only measure PING's p99 and longest beside loads that could stall it, under the first -fsync")
	flag.StringVar(&stallLoads, "stall-loads", "", "the -stalls loads to run (setrange,bigset,hset,flushall,setload,save; empty: all)")
	flag.StringVar(&stallServers, "stall-servers", "shoal,redis", "the servers -stalls measures")
	flag.BoolVar(&o.cpu, "cpu", false, "only measure CPU per command of each process (and profile Shoal's) under each -t, -P, -fsync, with -replicas, values of the first -d")
	var shoalArgs string
	flag.StringVar(&shoalArgs, "shoal-args", "", "more directives for every Shoal started, as its command line takes them (\"--hot-cache-size 512mb\")")
	flag.StringVar(&o.bin, "bin", "", "a prebuilt shoal binary to measure instead of building this tree")
	flag.Parse()
	o.sizes = atoiList(sizes)
	o.pipelines = atoiList(pipes)
	if tests != "" {
		o.tests = strings.Split(tests, ",")
	}
	o.fsyncs = strings.Split(fsyncs, ",")
	o.shoalArgs = strings.Fields(shoalArgs)
	if stallLoads != "" {
		o.stallLoads = strings.Split(stallLoads, ",")
	}
	o.stallServers = strings.Split(stallServers, ",")
	if o.quick {
		o.rounds, o.n1, o.n16, o.waitN = 1, 20000, 100000, 2000
		o.sizes, o.pipelines, o.fsyncs = []int{3}, []int{16}, []string{"everysec"}
	}
	// A mode's defaults give way to the flags given.
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	unless := func(name string, set func()) {
		if !given[name] {
			set()
		}
	}
	if o.large {
		unless("r", func() { o.keyspace = 1000000 })
		unless("d", func() { o.sizes = []int{1024} })
		unless("t", func() { o.tests = []string{"get", "set"} })
		unless("fsync", func() { o.fsyncs = []string{"everysec"} })
	}
	if o.replication {
		unless("replicas", func() { o.replicas = 2 })
		unless("t", func() { o.tests = []string{"set"} })
		unless("P", func() { o.pipelines = []int{16} })
		unless("d", func() { o.sizes = []int{3} })
		unless("fsync", func() { o.fsyncs = []string{"everysec"} })
	}
	if err := run(&o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o *options) error {
	tools := []string{"redis-server", "redis-benchmark"}
	if o.kills > 0 {
		tools = nil
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install it with `apt-get install redis-server redis-tools`", tool)
		}
	}
	if o.taskset {
		if _, err := exec.LookPath("taskset"); err != nil {
			return fmt.Errorf("taskset not found (util-linux)")
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "shoal-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(work, "shoal")
		progress("building shoal")
		build := exec.Command("go", "build", "-o", bin, "./cmd/shoal")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build shoal: %w", err)
		}
	}
	machine := describeMachine()
	if o.resilience {
		rows, err := resilienceBench(o, bin, work)
		if err != nil {
			return err
		}
		return writeReport(o, "resilience.md", renderResilience(machine, rows))
	}
	if o.manyArgs {
		rows, err := manyArgsBench(o, bin, work)
		if err != nil {
			return err
		}
		return writeReport(o, "manyargs.md", renderManyArgs(machine, o.rounds, rows))
	}
	if o.cpu {
		rows, err := cpuBench(o, bin, work)
		if err != nil {
			return err
		}
		return writeReport(o, "cpu.md", renderCPU(o, machine, rows))
	}
	if o.stalls {
		rows, err := stallsBench(o, bin, work)
		if err != nil {
			return err
		}
		return writeReport(o, "stalls.md", renderStalls(machine, rows))
	}
	if o.kills > 0 {
		r, err := failoverBench(o, bin, work)
		if err != nil {
			return err
		}
		return writeReport(o, "failover.md", renderFailover(o, machine, r))
	}
	var results []result
	if o.scripting {
		if results, err = scriptingBench(o, bin, work); err != nil {
			return err
		}
		o.tests = nil
	}
	for _, fsync := range o.fsyncs {
		if len(o.tests) == 0 {
			break // -t "": only -memory
		}
		rs, err := throughput(o, bin, work, fsync)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	var mem *memoryResult
	if o.memory {
		if mem, err = memoryAndRestart(o, bin, work); err != nil {
			return err
		}
	}
	md := renderMarkdown(o, machine, results, mem)
	mdPath := filepath.Join(o.out, "results.md")
	if o.replication {
		waits, err := waitLatency(o, bin, work)
		if err != nil {
			return err
		}
		md += renderWait(o, waits)
		mdPath = filepath.Join(o.out, "replication.md")
	}
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	if len(results) == 0 {
		progress("wrote %s", mdPath)
		return nil
	}
	pngPath := filepath.Join(o.out, "ratios.png")
	if err := plotRatios(results, pngPath); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	progress("wrote %s and %s", mdPath, pngPath)
	return nil
}

// writeReport writes md to name in the output folder and prints it.
func writeReport(o *options, name, md string) error {
	path := filepath.Join(o.out, name)
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	progress("wrote %s", path)
	return nil
}

func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func atoiList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		fmt.Sscan(strings.TrimSpace(f), &n)
		out = append(out, n)
	}
	return out
}
