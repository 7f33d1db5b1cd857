package server

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/storage"
)

// The latency monitor, as Redis's latency.c: while
// latency-monitor-threshold is set, every event at least that slow (in
// ms) is kept in its event's series of the last 160 seconds that had
// one, with the slowest of each second, and the slowest ever. Events are
// named as Redis names them: command and fast-command (a command by its
// table's fast flag), expire-cycle (a pass of the expiry sweeper); and
// Shoal's own write-stall (Pebble held writes while memtables flushed or
// L0 compacted).
type latencyMonitor struct {
	mu     sync.Mutex
	events map[string]*latencySeries
}

// latencySeriesLen is Redis's LATENCY_TS_LEN.
const latencySeriesLen = 160

type latencySeries struct {
	idx     int
	max     int64
	samples [latencySeriesLen]latencySample
}

type latencySample struct {
	time    int64 // Unix seconds; 0: unused
	latency int64 // ms
}

// add is Redis's latencyAddSample.
func (m *latencyMonitor) add(event string, ms int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		m.events = map[string]*latencySeries{}
	}
	ts := m.events[event]
	if ts == nil {
		ts = &latencySeries{}
		m.events[event] = ts
	}
	ts.max = max(ts.max, ms)
	sec := now.Unix()
	prev := &ts.samples[(ts.idx+latencySeriesLen-1)%latencySeriesLen]
	if prev.time == sec {
		prev.latency = max(prev.latency, ms)
		return
	}
	ts.samples[ts.idx] = latencySample{sec, ms}
	ts.idx = (ts.idx + 1) % latencySeriesLen
}

// observeLatency records a latency event of d when it reaches
// latency-monitor-threshold.
func (s *Server) observeLatency(event string, d time.Duration) {
	ms := d.Milliseconds()
	if t := s.latencyThreshold.Load(); t > 0 && ms >= t {
		s.latency.add(event, ms, time.Now())
	}
}

// storageLatency receives the store's latency events.
func (s *Server) storageLatency(event storage.LatencyEvent, d time.Duration) {
	s.observeLatency(string(event), d)
}

// --- command latency histograms ---

// latencyHistogram counts a command's latencies as Redis 7.0's
// hdr_histogram of 1 ns to 1 s with 2 significant digits: 256 exact
// values, then buckets of 128 values that double in width. Redis records
// a command's duration in whole microseconds, times 1000; so does Shoal,
// so that the same durations fall in the same buckets.
type latencyHistogram struct {
	total  atomic.Int64
	counts [histCounts]atomic.Int64
}

const (
	histMax = 1_000_000_000 // ns, Redis's LATENCY_HISTOGRAM_MAX_VALUE
	// histCounts is hdr_histogram's counts_len for that range: 23
	// buckets of which each past the first adds 128 counts.
	histCounts = (23 + 1) * 128
)

// histIndex is hdr_histogram's counts_index_for(v).
func histIndex(v int64) int {
	bucket := 64 - bits.LeadingZeros64(uint64(v)|255) - 8
	sub := int(v >> bucket)
	return (bucket+1)<<7 + sub - 128
}

// histRange returns the lowest and highest value of index i.
func histRange(i int) (lo, hi int64) {
	bucket, sub := i>>7-1, i&127+128
	if bucket < 0 {
		bucket, sub = 0, sub-128
	}
	lo = int64(sub) << bucket
	return lo, lo + 1<<bucket - 1
}

// record counts one command that took d.
func (h *latencyHistogram) record(d time.Duration) {
	v := min(max(d.Microseconds()*1000, 1), histMax)
	h.counts[histIndex(v)].Add(1)
	h.total.Add(1)
}

// percentile is hdr_value_at_percentile, in ns.
func (h *latencyHistogram) percentile(p float64) int64 {
	total := h.total.Load()
	want := int64(min(p, 100)/100*float64(total) + 0.5)
	want = max(want, 1)
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
		if n >= want {
			lo, hi := histRange(i)
			if p == 0 {
				return lo
			}
			return hi
		}
	}
	return 0
}

// cumulative returns what LATENCY HISTOGRAM prints of h: for each power of
// two from 1024 ns, the count of latencies up to it (to the highest value
// of its bucket), in µs, where the count grew, as hdr's logarithmic
// iterator reports it to Redis.
func (h *latencyHistogram) cumulative() (calls int64, usec, counts []int64) {
	calls = h.total.Load()
	var n, prev int64
	i := 0
	for level := int64(1024); n < calls && level <= 2*histMax; level *= 2 {
		end := histIndex(min(level, histMax))
		for ; i <= end; i++ {
			n += h.counts[i].Load()
		}
		if n > prev {
			_, hi := histRange(end)
			usec = append(usec, hi/1000)
			counts = append(counts, n)
		}
		prev = n
	}
	return calls, usec, counts
}

// histogram returns st's histogram, made on first use; nil while
// latency-tracking is off and none was made.
func (st *cmdStat) histogram(make bool) *latencyHistogram {
	if h := st.hist.Load(); h != nil || !make {
		return h
	}
	st.hist.CompareAndSwap(nil, &latencyHistogram{})
	return st.hist.Load()
}

// --- LATENCY ---

// Latency runs LATENCY's subcommands.
func (s *Server) Latency(c *commands.Ctx) error {
	sub := c.Args[1]
	switch {
	case commands.Is(sub, "latest"):
		s.latency.mu.Lock()
		defer s.latency.mu.Unlock()
		names := s.latencyEventsLocked()
		c.Out.Array(len(names))
		for _, name := range names {
			ts := s.latency.events[name]
			last := ts.samples[(ts.idx+latencySeriesLen-1)%latencySeriesLen]
			c.Out.Array(4)
			c.Out.BulkString(name)
			c.Out.Int(last.time)
			c.Out.Int(last.latency)
			c.Out.Int(ts.max)
		}
	case commands.Is(sub, "history"):
		s.latency.mu.Lock()
		defer s.latency.mu.Unlock()
		ts := s.latency.events[string(c.Args[2])]
		var samples []latencySample
		if ts != nil {
			samples = ts.ordered()
		}
		c.Out.MarkDeferred() // NB: Redis counts the samples as it goes
		c.Out.Array(len(samples))
		for _, sm := range samples {
			c.Out.Array(2)
			c.Out.Int(sm.time)
			c.Out.Int(sm.latency)
		}
	case commands.Is(sub, "reset"):
		s.latency.mu.Lock()
		defer s.latency.mu.Unlock()
		resets := 0
		for name := range s.latency.events {
			reset := len(c.Args) == 2
			for _, a := range c.Args[2:] {
				reset = reset || strings.EqualFold(name, string(a))
			}
			if reset {
				delete(s.latency.events, name)
				resets++
			}
		}
		c.Out.Int(int64(resets))
	case commands.Is(sub, "graph"):
		s.latency.mu.Lock()
		defer s.latency.mu.Unlock()
		name := string(c.Args[2])
		ts := s.latency.events[name]
		if ts == nil {
			return commands.Errf("No samples available for event '%s'", name)
		}
		c.Out.Verbatim("txt", latencyGraph(name, ts, time.Now()))
	case commands.Is(sub, "doctor"):
		c.Out.Verbatim("txt", s.latencyReport())
	case commands.Is(sub, "histogram"):
		s.latencyHistograms(c)
	}
	return nil
}

// latencyEventsLocked returns the events' names in order (Redis's
// dictionary has none).
func (s *Server) latencyEventsLocked() []string {
	names := make([]string, 0, len(s.latency.events))
	for name := range s.latency.events {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ordered returns the series' samples oldest first.
func (ts *latencySeries) ordered() []latencySample {
	var out []latencySample
	for j := 0; j < latencySeriesLen; j++ {
		if sm := ts.samples[(ts.idx+j)%latencySeriesLen]; sm.time != 0 {
			out = append(out, sm)
		}
	}
	return out
}

// latencyHistograms answers LATENCY HISTOGRAM [command ...]: a map of each
// command (of each named one, and of its subcommands) that has a
// histogram to its calls and histogram_usec.
func (s *Server) latencyHistograms(c *commands.Ctx) {
	stats := s.cmdStats()
	var names []string
	has := func(name string) bool { st := stats[name]; return st != nil && st.histogram(false) != nil }
	if len(c.Args) == 2 {
		for name := range stats {
			if has(name) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
	} else {
		for _, a := range c.Args[2:] {
			cmd := commands.LookupFullName(s.table, a)
			if cmd == nil {
				continue
			}
			if has(cmd.Name) {
				names = append(names, cmd.Name)
			}
			for _, sc := range cmd.Subcommands {
				if has(sc.Name) {
					names = append(names, sc.Name)
				}
			}
		}
	}
	c.Out.MarkDeferred() // NB: Redis counts the commands as it goes
	c.Out.Map(len(names))
	for _, name := range names {
		calls, usec, counts := stats[name].histogram(false).cumulative()
		c.Out.BulkString(name)
		c.Out.Map(2)
		c.Out.BulkString("calls")
		c.Out.Int(calls)
		c.Out.BulkString("histogram_usec")
		c.Out.Map(len(usec))
		for i := range usec {
			c.Out.Int(usec[i])
			c.Out.Int(counts[i])
		}
	}
}

// infoLatencystats is INFO latencystats: each command's percentiles of
// latency-tracking-info-percentiles, in µs, while latency-tracking is on.
func (s *Server) infoLatencystats(b *infoBuilder) {
	cfg := s.Config()
	if !cfg.LatencyTracking {
		return
	}
	var ps []float64
	for _, f := range strings.Fields(cfg.LatencyPercentiles) {
		if p, err := strconv.ParseFloat(f, 64); err == nil {
			ps = append(ps, p)
		}
	}
	stats := s.cmdStats()
	names := make([]string, 0, len(stats))
	for name, st := range stats {
		if st.histogram(false) != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		h := stats[name].histogram(false)
		var line strings.Builder
		for i, p := range ps {
			if i > 0 {
				line.WriteByte(',')
			}
			fmt.Fprintf(&line, "p%s=%.3f", trimDouble(p), float64(h.percentile(p))/1000)
		}
		b.field("latency_percentiles_usec_"+name, line.String())
	}
}

// trimDouble is C's "%f" without trailing zeros and point, as Redis
// names percentiles (50, 99.9).
func trimDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// --- LATENCY GRAPH ---

// latencyGraph is Redis's latencyCommandGenSparkeline: a header and an
// ASCII sparkline of the series, 80 columns, 4 rows, each sample labeled
// with its age.
func latencyGraph(event string, ts *latencySeries, now time.Time) string {
	samples := ts.ordered()
	var lo, hi int64
	values := make([]float64, len(samples))
	labels := make([]string, len(samples))
	for i, sm := range samples {
		if i == 0 {
			lo, hi = sm.latency, sm.latency
		}
		lo, hi = min(lo, sm.latency), max(hi, sm.latency)
		values[i] = float64(sm.latency)
		elapsed := now.Unix() - sm.time
		switch {
		case elapsed < 60:
			labels[i] = strconv.FormatInt(elapsed, 10) + "s"
		case elapsed < 3600:
			labels[i] = strconv.FormatInt(elapsed/60, 10) + "m"
		case elapsed < 3600*24:
			labels[i] = strconv.FormatInt(elapsed/3600, 10) + "h"
		default:
			labels[i] = strconv.FormatInt(elapsed/(3600*24), 10) + "d"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, ts.max)
	b.WriteString(strings.Repeat("-", 80) + "\n")
	sparkline(&b, values, labels, 80, 4)
	return b.String()
}

// sparkline renders values as Redis's sparklineRender with
// SPARKLINE_FILL: rows of "_o#" and "|", then the labels written
// downwards under a blank row, columns at a time.
func sparkline(b *strings.Builder, values []float64, labels []string, columns, rows int) {
	const charset = "_o#"
	if len(values) == 0 {
		return
	}
	vmin, vmax := values[0], values[0]
	for _, v := range values {
		vmin, vmax = math.Min(vmin, v), math.Max(vmax, v)
	}
	relmax := vmax - vmin
	if relmax == 0 {
		relmax = 1
	}
	steps := len(charset) * rows
	labeled := false
	for _, l := range labels {
		labeled = labeled || l != ""
	}
	for off := 0; off < len(values); off += columns {
		if off != 0 {
			b.WriteByte('\n')
		}
		n := min(columns, len(values)-off)
		chars := make([]byte, n)
		for row := 0; ; row++ {
			more := false
			for j := range chars {
				chars[j] = ' '
			}
			for j := 0; j < n; j++ {
				// NB: as C's (int)(relval*steps)/relmax, truncated twice.
				step := int(float64(int((values[off+j]-vmin)*float64(steps))) / relmax)
				step = min(max(step, 0), steps-1)
				if row < rows {
					more = true
					idx := step - (rows-row-1)*len(charset)
					switch {
					case idx >= 0 && idx < len(charset):
						chars[j] = charset[idx]
					case idx >= len(charset):
						chars[j] = '|'
					}
					continue
				}
				if labeled && row-rows < 1 {
					more = true
					break
				}
				if l := labels[off+j]; len(l) > row-rows-1 {
					more = true
					chars[j] = l[row-rows-1]
				}
			}
			if !more {
				break
			}
			b.Write(chars)
			b.WriteByte('\n')
		}
	}
}

// --- LATENCY DOCTOR ---

// latencyReport is Redis's createLatencyReport: each event's statistics
// and the advice that applies to Shoal.
func (s *Server) latencyReport() string {
	cfg := s.Config()
	s.latency.mu.Lock()
	defer s.latency.mu.Unlock()
	if len(s.latency.events) == 0 && cfg.LatencyMonitorThreshold == 0 {
		return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. " +
			"You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. " +
			"If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
	}
	var b strings.Builder
	var slowlogOn, slowlogTune, slowlogInspect, scheduler, hz, large, stall bool
	advices := 0
	now := time.Now().Unix()
	for i, name := range s.latencyEventsLocked() {
		ts := s.latency.events[name]
		if i == 0 {
			b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
		}
		var n, sum, oldest, mad int64
		samples := ts.ordered()
		for _, sm := range samples {
			n++
			sum += sm.latency
			if oldest == 0 || sm.time < oldest {
				oldest = sm.time
			}
		}
		avg, period := int64(0), int64(0)
		if n > 0 {
			avg = sum / n
			if period = now - oldest; period == 0 {
				period = 1
			}
			for _, sm := range samples {
				d := avg - sm.latency
				if d < 0 {
					d = -d
				}
				mad += d
			}
			mad /= n
		}
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.",
			i+1, name, n, avg, mad, float64(period)/float64(n), ts.max)
		switch strings.ToLower(name) {
		case "command":
			if cfg.SlowlogSlowerThan < 0 {
				slowlogOn = true
				advices++
			} else if cfg.SlowlogSlowerThan/1000 > cfg.LatencyMonitorThreshold {
				slowlogTune = true
				advices++
			}
			slowlogInspect, large = true, true
			advices += 2
		case "fast-command":
			scheduler = true
			advices++
		case "expire-cycle":
			hz, large = true, true
			advices += 2
		case string(storage.LatencyWriteStall):
			stall = true
			advices++
		}
		b.WriteByte('\n')
	}
	switch {
	case len(s.latency.events) == 0 && advices == 0:
		b.WriteString("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. " +
			"I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
	case advices == 0:
		b.WriteString("\nWhile there are latency events logged, I'm not able to suggest any easy fix. " +
			"Please use the Redis community to get some help, providing this report in your help request.\n")
	default:
		b.WriteString("\nI have a few advices for you:\n\n")
		if slowlogOn {
			fmt.Fprintf(&b, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n", cfg.LatencyMonitorThreshold*1000)
		}
		if slowlogTune {
			fmt.Fprintf(&b, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %d'.\n", cfg.LatencyMonitorThreshold*1000)
		}
		if slowlogInspect {
			b.WriteString("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n")
		}
		if scheduler {
			b.WriteString("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
				"  1) Lower the system load.\n" +
				"  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
				"  3) Check if you have a \"noisy neighbour\" problem.\n" +
				"  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
				"  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n")
		}
		if stall {
			b.WriteString("- Writes stalled while Pebble flushed memtables or compacted level 0: lower the write load, or give the data folder a faster disk.\n")
		}
		if hz && cfg.Hz < 100 {
			b.WriteString("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n")
		}
		if large {
			b.WriteString("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n")
		}
	}
	return b.String()
}
