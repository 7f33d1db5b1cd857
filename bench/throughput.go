package main

import (
	"encoding/csv"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sample is one redis-benchmark run of one test.
type sample struct {
	rps, p50, p99 float64
	// catchUp is how long the replicas took, after the run, to hold all
	// the primary wrote (-replicas).
	catchUp time.Duration
}

// result is the median of the rounds of one case on both servers.
type result struct {
	fsync        string
	test         string
	pipeline     int
	size         int
	shoal, redis sample
	// alone is Shoal without replicas, in the same rounds as a -replicas run.
	alone sample
}

func (r result) ratio() float64 { return ratio(r.shoal.rps, r.redis.rps) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// throughput runs the matrix for one fsync policy. Each case starts both
// servers on fresh folders (with -replicas, each with its replicas, and
// Shoal once more without) and runs every test against them, rotating
// which goes first from round to round.
func throughput(o *options, bin, work, fsync string) ([]result, error) {
	names := []string{"shoal", "redis"}
	if o.replicas > 0 {
		names = append(names, "alone")
	}
	var out []result
	for _, size := range o.sizes {
		for _, pipe := range o.pipelines {
			samples := map[string]map[string][]sample{}
			for _, name := range names {
				samples[name] = map[string][]sample{}
			}
			err := alternate(o.rounds, names, func(round int, name string) error {
				progress("fsync=%s d=%d P=%d round %d/%d: %s", fsync, size, pipe, round+1, o.rounds, name)
				got, err := runCase(o, bin, work, name, fsync, size, pipe, round)
				for test, s := range got {
					samples[name][test] = append(samples[name][test], s)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			for _, test := range o.tests {
				key := benchName(test)
				out = append(out, result{fsync: fsync, test: key, pipeline: pipe, size: size,
					shoal: median(samples["shoal"][key]), redis: median(samples["redis"][key]),
					alone: median(samples["alone"][key])})
			}
		}
	}
	return out, nil
}

// alternate runs f for each of names in each of rounds rounds, rotating
// which goes first from round to round.
func alternate(rounds int, names []string, f func(round int, name string) error) error {
	for round := 0; round < rounds; round++ {
		for i := range names {
			if err := f(round, names[(round+i)%len(names)]); err != nil {
				return err
			}
		}
	}
	return nil
}

// runCase starts name's server ("alone" is Shoal without replicas) with
// o.replicas replicas, fills it with o.keyspace keys under -large, and
// runs every test; after each test it waits until the replicas caught up.
func runCase(o *options, bin, work, name, fsync string, size, pipe, round int) (map[string]sample, error) {
	server, replicas := name, o.replicas
	if name == "alone" {
		server, replicas = "shoal", 0
	}
	dir := filepath.Join(work, fmt.Sprintf("%s-%s-%d-%d-%d", name, fsync, size, pipe, round))
	g, err := startGroup(o, server, bin, dir, fsync, replicas)
	if err != nil {
		return nil, err
	}
	defer g.stop()
	port := g.primary.port
	if o.large {
		progress("%s: writing %d keys of %d bytes", name, o.keyspace, size)
		t0 := time.Now()
		if err := load(port, o.keyspace, benchmarkKey, func(i int) []byte { return randomValue(i, size) }); err != nil {
			return nil, err
		}
		if err := waitKeys(port, o.keyspace); err != nil {
			return nil, err
		}
		progress("%s: %d keys in %s", name, o.keyspace, time.Since(t0).Round(time.Second))
		if _, err := g.catchUp(); err != nil {
			return nil, fmt.Errorf("%s: after the fill: %w", name, err)
		}
	}
	n := o.n16
	if pipe == 1 {
		n = o.n1
	}
	if fsync == "always" {
		n /= 4 // every request waits for an fsync; keep runs comparable in length
	}
	res := map[string]sample{}
	for _, test := range o.tests {
		tn := n
		if test == "mset" {
			tn = max(n/10, 1000) // ten keys per request: as many key writes as the others
		}
		s, err := redisBenchmark(o, port, test, tn, size, pipe)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, test, err)
		}
		if s.catchUp, err = g.catchUp(); err != nil {
			return nil, fmt.Errorf("%s %s: the replicas did not catch up: %w", name, test, err)
		}
		res[benchName(test)] = s
	}
	return res, nil
}

// benchName is the row name redis-benchmark prints for a -t test.
func benchName(test string) string {
	if test == "mset" {
		return "MSET (10 keys)"
	}
	return strings.ToUpper(test)
}

func redisBenchmark(o *options, port int, test string, n, size, pipe int) (sample, error) {
	return benchmark(o, port, n, size, pipe, benchName(test), "-t", test)
}

// benchmark runs redis-benchmark with the common arguments and extra
// (a -t test, or a command), and returns the CSV row called want ("" for
// the only row).
func benchmark(o *options, port, n, size, pipe int, want string, extra ...string) (sample, error) {
	outb, err := benchmarkCmd(o, port, n, size, pipe, extra...).CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("redis-benchmark: %v: %s", err, outb)
	}
	// Keep only the CSV rows: redis-benchmark may print warnings first.
	var csvText strings.Builder
	for _, line := range strings.Split(string(outb), "\n") {
		if strings.HasPrefix(line, "\"") {
			csvText.WriteString(line + "\n")
		}
	}
	rows, err := csv.NewReader(strings.NewReader(csvText.String())).ReadAll()
	if err != nil {
		return sample{}, fmt.Errorf("parse %q: %w", outb, err)
	}
	for _, row := range rows {
		if len(row) >= 7 && row[0] != "test" && (want == "" || row[0] == want) {
			rps, _ := strconv.ParseFloat(row[1], 64)
			p50, _ := strconv.ParseFloat(row[4], 64)
			p99, _ := strconv.ParseFloat(row[6], 64)
			return sample{rps: rps, p50: p50, p99: p99}, nil
		}
	}
	return sample{}, fmt.Errorf("no %q row in %q", want, outb)
}

// benchmarkCmd is redis-benchmark with the common arguments and extra,
// pinned to CPU 1 under -taskset.
func benchmarkCmd(o *options, port, n, size, pipe int, extra ...string) *exec.Cmd {
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-c", strconv.Itoa(o.clients),
		"-n", strconv.Itoa(n), "-r", strconv.Itoa(o.keyspace), "-d", strconv.Itoa(size),
		"-P", strconv.Itoa(pipe), "--csv", "-q"}
	args = append(args, extra...)
	bin := "redis-benchmark"
	if o.taskset {
		args = append([]string{"-c", "1", bin}, args...)
		bin = "taskset"
	}
	return exec.Command(bin, args...)
}

// median takes each field's median separately.
func median(s []sample) sample {
	if len(s) == 0 {
		return sample{}
	}
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return sample{
		rps:     pick(func(x sample) float64 { return x.rps }),
		p50:     pick(func(x sample) float64 { return x.p50 }),
		p99:     pick(func(x sample) float64 { return x.p99 }),
		catchUp: time.Duration(pick(func(x sample) float64 { return float64(x.catchUp) })),
	}
}
