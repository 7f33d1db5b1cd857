package main

import (
	"encoding/csv"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sample is one redis-benchmark run of one test.
type sample struct {
	rps, p50, p99 float64
}

// result is the median of the rounds of one case on both servers.
type result struct {
	fsync        string
	test         string
	pipeline     int
	size         int
	shoal, redis sample
}

func (r result) ratio() float64 {
	if r.redis.rps == 0 {
		return 0
	}
	return r.shoal.rps / r.redis.rps
}

// throughput runs the matrix for one fsync policy. Each case starts both
// servers on fresh folders and runs every test against them, alternating
// which server goes first from round to round.
func throughput(o *options, bin, work, fsync string) ([]result, error) {
	var out []result
	for _, size := range o.sizes {
		for _, pipe := range o.pipelines {
			samples := map[string]map[string][]sample{"shoal": {}, "redis": {}}
			err := alternate(o.rounds, func(round int, name string) error {
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
					shoal: median(samples["shoal"][key]), redis: median(samples["redis"][key])})
			}
		}
	}
	return out, nil
}

// alternate runs f for Shoal and redis-server in each of rounds rounds,
// which goes first alternating from round to round.
func alternate(rounds int, f func(round int, name string) error) error {
	for round := 0; round < rounds; round++ {
		order := []string{"shoal", "redis"}
		if round%2 == 1 {
			order = []string{"redis", "shoal"}
		}
		for _, name := range order {
			if err := f(round, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// startServer starts Shoal or redis-server ("shoal" or "redis").
func startServer(o *options, name, bin, dir, fsync string, port int) (*proc, error) {
	if name == "shoal" {
		return startShoal(o, bin, dir, fsync, port)
	}
	return startRedis(o, dir, fsync, port)
}

func runCase(o *options, bin, work, name, fsync string, size, pipe, round int) (map[string]sample, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, fmt.Sprintf("%s-%s-%d-%d-%d", name, fsync, size, pipe, round))
	p, err := startServer(o, name, bin, dir, fsync, port)
	if err != nil {
		return nil, err
	}
	defer p.stop()
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
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-c", strconv.Itoa(o.clients),
		"-n", strconv.Itoa(n), "-r", strconv.Itoa(o.keyspace), "-d", strconv.Itoa(size),
		"-P", strconv.Itoa(pipe), "--csv", "-q"}
	args = append(args, extra...)
	bin := "redis-benchmark"
	if o.taskset {
		args = append([]string{"-c", "1", bin}, args...)
		bin = "taskset"
	}
	outb, err := exec.Command(bin, args...).CombinedOutput()
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
		rps: pick(func(x sample) float64 { return x.rps }),
		p50: pick(func(x sample) float64 { return x.p50 }),
		p99: pick(func(x sample) float64 { return x.p99 }),
	}
}
