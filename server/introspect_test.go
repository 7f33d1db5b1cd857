package server_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// testClock is a clock the test moves.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// infoValue reads one field of an INFO section.
func infoValue(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	info, err := c.Info(testutil.Ctx(t), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && name == field {
			return v
		}
	}
	return ""
}

func TestDebugNeedsEnableDebugCommand(t *testing.T) {
	const refused = `ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`
	for _, tc := range []struct{ setting, want string }{
		{"no", refused}, {"local", "OK"}, {"yes", "OK"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			cfg := testutil.Config(t)
			cfg.EnableDebugCommand = tc.setting
			c := testutil.Client(t, testutil.Start(t, cfg), 2)
			ctx := testutil.Ctx(t)
			got, err := c.Do(ctx, "DEBUG", "SLEEP", "0").Text()
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("DEBUG SLEEP 0 under enable-debug-command %s = %q, want %q", tc.setting, got, tc.want)
			}
			if tc.setting == "no" {
				// Refused before it runs: a rejected call, as in Redis.
				if v := infoValue(t, c, "commandstats", "cmdstat_debug"); !strings.Contains(v, "rejected_calls=1,failed_calls=0") {
					t.Fatalf("cmdstat_debug = %q, want one rejected call", v)
				}
				if v, _ := c.ConfigGet(ctx, "enable-debug-command").Result(); v["enable-debug-command"] != "no" {
					t.Fatalf("CONFIG GET enable-debug-command = %v", v)
				}
			}
		})
	}
}

func TestObjectIdletimeAndFreqFollowAccesses(t *testing.T) {
	clk := newTestClock()
	s := testutil.StartWith(t, nil, server.Options{Now: clk.Now})
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	wantInt := func(want int64, args ...any) {
		t.Helper()
		if got, err := c.Do(ctx, args...).Int64(); err != nil || got != want {
			t.Fatalf("%v = %d, %v; want %d", args, got, err, want)
		}
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	wantInt(10, "OBJECT", "IDLETIME", "k")
	wantInt(10, "OBJECT", "IDLETIME", "k") // OBJECT does not touch
	if v := c.Do(ctx, "DEBUG", "OBJECT", "k").String(); !strings.Contains(v, "lru_seconds_idle:10") {
		t.Fatalf("DEBUG OBJECT k = %s, want lru_seconds_idle:10", v)
	}
	if err := c.Get(ctx, "k").Err(); err != nil {
		t.Fatal(err)
	}
	wantInt(0, "OBJECT", "IDLETIME", "k")
	clk.Advance(3 * time.Second)
	if err := c.Do(ctx, "TYPE", "k").Err(); err != nil { // LOOKUP_NOTOUCH
		t.Fatal(err)
	}
	wantInt(3, "OBJECT", "IDLETIME", "k")
	if err := c.Get(ctx, "k").Err(); err != nil {
		t.Fatal(err)
	}
	// CLIENT NO-TOUCH leaves the clock alone, but for TOUCH.
	if err := c.Do(ctx, "CLIENT", "NO-TOUCH", "ON").Err(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	c.Get(ctx, "k")
	wantInt(2, "OBJECT", "IDLETIME", "k")
	c.Do(ctx, "TOUCH", "k")
	wantInt(0, "OBJECT", "IDLETIME", "k")

	// Under an LFU policy: a new key starts at 5, its first read always
	// counts, and the counter decays by one per lfu-decay-time minutes.
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lfu").Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "f", "v", 0)
	wantInt(5, "OBJECT", "FREQ", "f")
	c.Do(ctx, "CLIENT", "NO-TOUCH", "OFF")
	c.Get(ctx, "f")
	wantInt(6, "OBJECT", "FREQ", "f")
	clk.Advance(3 * time.Minute)
	wantInt(3, "OBJECT", "FREQ", "f")
	c.ConfigSet(ctx, "lfu-decay-time", "0")
	clk.Advance(time.Hour)
	wantInt(6, "OBJECT", "FREQ", "f") // no decay
	if err := c.Do(ctx, "OBJECT", "IDLETIME", "f").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR An LFU maxmemory policy is selected") {
		t.Fatalf("OBJECT IDLETIME under LFU: %v", err)
	}
}

func TestDebugDigestAndObject(t *testing.T) {
	a := testutil.Client(t, testutil.Start(t, nil), 2)
	b := testutil.Client(t, testutil.Start(t, nil), 3)
	ctx := testutil.Ctx(t)
	digest := func(c *redis.Client) string {
		t.Helper()
		d, err := c.Do(ctx, "DEBUG", "DIGEST").Text()
		if err != nil || len(d) != 40 {
			t.Fatalf("DEBUG DIGEST = %q, %v", d, err)
		}
		return d
	}
	if d := digest(a); d != strings.Repeat("0", 40) {
		t.Fatalf("DEBUG DIGEST of an empty dataset = %s", d)
	}
	// The same data written in another order has the same digest.
	a.SAdd(ctx, "s", "x", "y", "z")
	a.HSet(ctx, "h", "f", "1", "g", "2")
	a.RPush(ctx, "l", "1", "2", "3")
	b.RPush(ctx, "l", "1", "2", "3")
	b.HSet(ctx, "h", "g", "2", "f", "1")
	b.SAdd(ctx, "s", "z", "y", "x")
	if da, db := digest(a), digest(b); da != db {
		t.Fatalf("digests of equal data differ: %s, %s", da, db)
	}
	before := digest(a)
	a.LSet(ctx, "l", 0, "0")
	if digest(a) == before {
		t.Fatal("DEBUG DIGEST did not change with the data")
	}
	obj, err := a.Do(ctx, "DEBUG", "OBJECT", "l").Text()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^Value at:0x[0-9a-f]+ refcount:1 encoding:quicklist serializedlength:\d+ lru:\d+ lru_seconds_idle:\d+ ql_nodes:1 ql_avg_node:3\.00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:\d+$`)
	if !re.MatchString(obj) {
		t.Fatalf("DEBUG OBJECT l = %q", obj)
	}
	// A list of 2000 elements of 1 KB: as redis-server 7.0.15 packs it.
	big := strings.Repeat("x", 1024)
	for i := 0; i < 20; i++ {
		a.RPush(ctx, "big", big)
	}
	obj, _ = a.Do(ctx, "DEBUG", "OBJECT", "big").Text()
	if !strings.Contains(obj, " ql_nodes:3 ql_avg_node:6.67 ") {
		t.Fatalf("DEBUG OBJECT big = %q", obj)
	}
	if err := a.Do(ctx, "DEBUG", "CHANGE-REPL-ID").Err(); err != nil {
		t.Fatal(err)
	}
	if v := infoValue(t, a, "replication", "master_replid2"); v != strings.Repeat("0", 40) {
		t.Fatalf("master_replid2 after DEBUG CHANGE-REPL-ID = %q", v)
	}
}

func TestLatencyMonitorAndHistograms(t *testing.T) {
	c := testutil.Client(t, testutil.Start(t, nil), 3)
	ctx := testutil.Ctx(t)
	if got, _ := c.Do(ctx, "LATENCY", "LATEST").Slice(); len(got) != 0 {
		t.Fatalf("LATENCY LATEST with the monitor off = %v", got)
	}
	c.ConfigSet(ctx, "latency-monitor-threshold", "5")
	if err := c.Do(ctx, "DEBUG", "SLEEP", "0.02").Err(); err != nil {
		t.Fatal(err)
	}
	latest, err := c.Do(ctx, "LATENCY", "LATEST").Slice()
	if err != nil || len(latest) == 0 {
		t.Fatalf("LATENCY LATEST = %v, %v", latest, err)
	}
	var found bool
	for _, e := range latest {
		ev := e.([]any)
		if ev[0] == "command" {
			found = true
			if ev[2].(int64) < 20 || ev[3].(int64) < 20 {
				t.Fatalf("command event = %v, want at least the 20 ms slept", ev)
			}
		}
	}
	if !found {
		t.Fatalf("LATENCY LATEST = %v, want a command event", latest)
	}
	if h, _ := c.Do(ctx, "LATENCY", "HISTORY", "command").Slice(); len(h) != 1 {
		t.Fatalf("LATENCY HISTORY command = %v", h)
	}
	graph, _ := c.Do(ctx, "LATENCY", "GRAPH", "command").Text()
	if !strings.HasPrefix(graph, "command - high ") || !strings.Contains(graph, strings.Repeat("-", 80)) {
		t.Fatalf("LATENCY GRAPH command = %q", graph)
	}
	doctor, _ := c.Do(ctx, "LATENCY", "DOCTOR").Text()
	if !strings.Contains(doctor, "1. command: 1 latency spikes") {
		t.Fatalf("LATENCY DOCTOR = %q", doctor)
	}
	if n, _ := c.Do(ctx, "LATENCY", "RESET", "COMMAND").Int64(); n != 1 {
		t.Fatalf("LATENCY RESET COMMAND = %d", n)
	}

	for i := 0; i < 3; i++ {
		c.Set(ctx, "k", "v", 0)
	}
	hist, err := c.Do(ctx, "LATENCY", "HISTOGRAM", "set", "client").Result()
	if err != nil {
		t.Fatal(err)
	}
	set := hist.(map[any]any)["set"].(map[any]any)
	if set["calls"] != int64(3) {
		t.Fatalf("LATENCY HISTOGRAM set = %v", set)
	}
	var total int64
	for _, n := range set["histogram_usec"].(map[any]any) {
		total = max(total, n.(int64))
	}
	if total != 3 {
		t.Fatalf("histogram_usec of set = %v, want cumulative counts up to 3", set["histogram_usec"])
	}
	line := infoValue(t, c, "latencystats", "latency_percentiles_usec_set")
	if !regexp.MustCompile(`^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$`).MatchString(line) {
		t.Fatalf("latency_percentiles_usec_set = %q", line)
	}
	c.ConfigSet(ctx, "latency-tracking-info-percentiles", "0 100")
	if line := infoValue(t, c, "latencystats", "latency_percentiles_usec_set"); !regexp.MustCompile(`^p0=\d+\.\d{3},p100=\d+\.\d{3}$`).MatchString(line) {
		t.Fatalf("latency_percentiles_usec_set = %q", line)
	}
	c.Do(ctx, "CONFIG", "RESETSTAT")
	if h, _ := c.Do(ctx, "LATENCY", "HISTOGRAM", "set").Result(); len(h.(map[any]any)) != 0 {
		t.Fatalf("LATENCY HISTOGRAM set after CONFIG RESETSTAT = %v", h)
	}
}

func TestNetworkByteCounters(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	read := func() (in, out int64, reply string) {
		req := "INFO stats\r\n"
		r.Send(req)
		reply, err := r.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(reply, "\r\n") {
			if v, ok := strings.CutPrefix(l, "total_net_input_bytes:"); ok {
				in, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(l, "total_net_output_bytes:"); ok {
				out, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return in, out, reply
	}
	in0, out0, info0 := read()
	r.Send("PING\r\n")
	if got, _ := r.ReadReply(); got != "+PONG\r\n" {
		t.Fatalf("PING = %q", got)
	}
	in1, out1, _ := read()
	// Between the two INFO replies: the second INFO and the PING came in,
	// the first INFO's reply and +PONG went out.
	if want := in0 + int64(len("PING\r\n")+len("INFO stats\r\n")); in1 != want {
		t.Fatalf("total_net_input_bytes = %d, want %d", in1, want)
	}
	if want := out0 + int64(len(info0)+len("+PONG\r\n")); out1 != want {
		t.Fatalf("total_net_output_bytes = %d, want %d", out1, want)
	}
}

func TestSlowlogEntries(t *testing.T) {
	c := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := testutil.Ctx(t)
	c.ConfigSet(ctx, "slowlog-log-slower-than", "0")
	c.Do(ctx, "CLIENT", "SETNAME", "logger")
	args := []any{"SADD", "s"}
	for i := 0; i < 40; i++ {
		args = append(args, strconv.Itoa(i))
	}
	c.Do(ctx, args...)
	c.Set(ctx, "long", strings.Repeat("x", 200), 0)
	got, err := c.Do(ctx, "SLOWLOG", "GET", "2").Slice()
	if err != nil || len(got) != 2 {
		t.Fatalf("SLOWLOG GET 2 = %v, %v", got, err)
	}
	set, sadd := got[0].([]any), got[1].([]any)
	if len(set) != 6 || set[5] != "logger" || !strings.HasPrefix(set[4].(string), "127.0.0.1:") {
		t.Fatalf("SLOWLOG entry = %v, want 6 fields with the client's address and name", set)
	}
	if v := set[3].([]any)[2]; v != strings.Repeat("x", 128)+"... (72 more bytes)" {
		t.Fatalf("long argument logged as %q", v)
	}
	sargs := sadd[3].([]any)
	if len(sargs) != 32 || sargs[31] != "... (11 more arguments)" {
		t.Fatalf("SADD logged as %v", sargs)
	}
	all, _ := c.Do(ctx, "SLOWLOG", "GET", "-1").Slice()
	// SLOWLOG GET -1 is logged itself, after its reply.
	if n, _ := c.Do(ctx, "SLOWLOG", "LEN").Int64(); int64(len(all))+1 != n || n < 4 {
		t.Fatalf("SLOWLOG GET -1 = %d entries, LEN %d", len(all), n)
	}
	c.ConfigSet(ctx, "slowlog-log-slower-than", "-1")
	c.Do(ctx, "SLOWLOG", "RESET")
	c.Set(ctx, "k", "v", 0)
	if n, _ := c.Do(ctx, "SLOWLOG", "LEN").Int64(); n != 0 {
		t.Fatalf("SLOWLOG LEN with the log off = %d", n)
	}
}

func TestClientPauseHoldsActiveExpiry(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.Hz = 100
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	if err := c.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	// Past the TTL and across 50 sweeper periods, the key reads as absent
	// but stays stored: the sweeper does not run while clients are paused.
	deadline := time.Now().Add(550 * time.Millisecond)
	for time.Now().Before(deadline) {
		if v := infoValue(t, c, "stats", "expired_keys"); v != "0" {
			t.Fatalf("expired_keys = %s while paused", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET of an expired key while paused: %v", err)
	}
	if n, _ := c.DBSize(ctx).Result(); n != 1 {
		t.Fatalf("DBSIZE while paused = %d, want the expired key still stored", n)
	}
	if err := c.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	for infoValue(t, c, "stats", "expired_keys") != "1" {
		time.Sleep(10 * time.Millisecond) // the test's deadline bounds the wait
	}
}

// TestNoTouchLookupsAsRedis: TTL, PTTL, EXPIRETIME, PEXPIRETIME, TYPE and
// EXISTS leave a key's access clock alone, as Redis looks them up with
// LOOKUP_NOTOUCH, while GET moves it: read through OBJECT FREQ under an
// LFU policy with lfu-log-factor 0, where each access counts one.
func TestNoTouchLookupsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		p.c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lfu")
		p.c.ConfigSet(ctx, "lfu-log-factor", "0")
		p.c.Set(ctx, "k", "v", 0)
		var out []string
		freq := func(after string) {
			out = append(out, after+": "+fmt.Sprint(p.c.ObjectFreq(ctx, "k").Val()))
		}
		freq("SET")
		for _, cmd := range []string{"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "TYPE", "EXISTS"} {
			p.c.Do(ctx, cmd, "k")
			freq(cmd)
		}
		p.c.Get(ctx, "k")
		freq("GET")
		got = append(got, strings.Join(out, ", "))
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal: %s\nredis-server: %s", got[0], got[1])
	}
}

// TestDebugSleepHoldsEveryClientAsRedis checks that DEBUG SLEEP stalls the
// whole server, as Redis's sleeping event loop does: another client's
// PING is answered after the sleep, and a MIGRATE to a sleeping server
// runs into its timeout (Redis's dump.tcl "MIGRATE timeout actually
// works").
func TestDebugSleepHoldsEveryClientAsRedis(t *testing.T) {
	type pair struct{ name, src, dst string }
	shoalSrc, shoalDst := testutil.Start(t, nil), testutil.Start(t, nil)
	redisSrc := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	redisDst := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	for _, p := range []pair{{"shoal", shoalSrc.Addr(), shoalDst.Addr()}, {"redis", redisSrc.Addr(), redisDst.Addr()}} {
		t.Run(p.name, func(t *testing.T) {
			sleeper, other := testutil.Dial(t, p.dst), testutil.Dial(t, p.dst)
			sleeper.Send("DEBUG SLEEP 1\r\n")
			time.Sleep(200 * time.Millisecond) // the sleep has begun
			other.Send("PING\r\n")
			if got, err := other.ReadReply(); got != "+PONG\r\n" || err != nil {
				t.Fatalf("PING = %q, %v", got, err)
			}
			// The sleeper's reply came first: it can be read at once.
			sleeper.Conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if got, err := sleeper.ReadReply(); got != "+OK\r\n" || err != nil {
				t.Fatalf("PING was answered before DEBUG SLEEP ended: %q, %v", got, err)
			}

			ctx := testutil.Ctx(t)
			src := redis.NewClient(&redis.Options{Addr: p.src, Protocol: 2})
			defer src.Close()
			if err := src.Set(ctx, "key", "Some Value", 0).Err(); err != nil {
				t.Fatal(err)
			}
			sleeper.Send("DEBUG SLEEP 1.0\r\n")
			time.Sleep(100 * time.Millisecond)
			host, port, _ := strings.Cut(p.dst, ":")
			err := src.Do(ctx, "MIGRATE", host, port, "key", "9", "500").Err()
			if err == nil || !strings.HasPrefix(err.Error(), "IOERR") {
				t.Fatalf("MIGRATE to a sleeping server = %v, want IOERR", err)
			}
			sleeper.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			sleeper.ReadReply()
		})
	}
}
