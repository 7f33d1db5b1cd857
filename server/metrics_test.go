package server_test

import (
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

func TestMetrics(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MetricsPort = testutil.FreePort(t)
	s := testutil.Start(t, cfg)
	if s.MetricsAddr() == "" {
		t.Fatal("no metrics listener")
	}
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	for i := 0; i < 3; i++ {
		if err := c.Set(ctx, "k"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c.Do(ctx, "config", "get") // an arity error: no command runs
	c.Do(ctx, "client", "kill", "1.2.3.4:5")

	m := testutil.ScrapeMetrics(t, s.MetricsAddr())
	want := map[string]float64{
		`shoal_commands_calls_total{command="set"}`:                       3,
		`shoal_commands_duration_seconds_count{command="set"}`:            3,
		`shoal_commands_failed_total{command="client|kill"}`:              1,
		`shoal_commands_failed_total{command="set"}`:                      0,
		`shoal_clients_connected`:                                         1,
		`shoal_keyspace_keys{db="0"}`:                                     3,
		`shoal_keyspace_expiring_keys{db="0"}`:                            0,
		`shoal_build_info{redis_version="7.2.4",version="0.1.0"}`:         1,
		`shoal_commands_duration_seconds_bucket{command="set",le="+Inf"}`: 3,
	}
	for name, v := range want {
		got, ok := m[name]
		if !ok {
			t.Errorf("metric %s missing", name)
		} else if got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	for _, name := range []string{"shoal_pebble_compactions_total", "shoal_pebble_write_stalls_total",
		"shoal_pebble_block_cache_hits_total", "shoal_pebble_block_cache_misses_total",
		"shoal_pebble_disk_usage_bytes", "shoal_pebble_memtable_bytes", "shoal_storage_commits_total",
		"shoal_keyspace_expired_keys_total", "shoal_connections_received_total",
		`shoal_commands_duration_seconds_sum{command="set"}`, "go_goroutines"} {
		if _, ok := m[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if m["shoal_pebble_disk_usage_bytes"] <= 0 || m["shoal_storage_commits_total"] < 1 {
		t.Errorf("storage gauges did not move: disk %v, commits %v", m["shoal_pebble_disk_usage_bytes"], m["shoal_storage_commits_total"])
	}
	conns := m["shoal_connections_received_total"]
	if conns < 1 {
		t.Errorf("shoal_connections_received_total = %v", conns)
	}

	// The counters move; a second client and a fourth key show up.
	c2 := testutil.Client(t, s, 2)
	if err := c2.Set(ctx, "k9", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// CONFIG RESETSTAT zeroes INFO, never Prometheus counters.
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	m2 := testutil.ScrapeMetrics(t, s.MetricsAddr())
	for name, v := range map[string]float64{
		`shoal_commands_calls_total{command="set"}`:            4,
		`shoal_commands_duration_seconds_count{command="set"}`: 4,
		`shoal_clients_connected`:                              2,
		`shoal_keyspace_keys{db="0"}`:                          4,
		`shoal_connections_received_total`:                     conns + 1,
	} {
		if m2[name] != v {
			t.Errorf("after more work: %s = %v, want %v", name, m2[name], v)
		}
	}
	if m2["shoal_storage_commits_total"] <= m["shoal_storage_commits_total"] {
		t.Errorf("shoal_storage_commits_total did not grow: %v then %v", m["shoal_storage_commits_total"], m2["shoal_storage_commits_total"])
	}
}

func TestMetricsDisabledByDefault(t *testing.T) {
	s := testutil.Start(t, nil)
	if addr := s.MetricsAddr(); addr != "" {
		t.Fatalf("metrics listener on %s without metrics-port", addr)
	}
}

// Profiles are served only with metrics-pprof, behind the password, and
// not off loopback without one.
func TestMetricsPprof(t *testing.T) {
	get := func(addr, pass string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/debug/pprof/cmdline", nil)
		if pass != "" {
			req.SetBasicAuth("default", pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := func(pprof bool, bind, pass string) string {
		cfg := testutil.Config(t)
		cfg.MetricsPort = testutil.FreePort(t)
		cfg.MetricsBind = bind
		cfg.MetricsPprof = pprof
		cfg.RequirePass = pass
		s := testutil.Start(t, cfg)
		_, port, _ := net.SplitHostPort(s.MetricsAddr())
		return "127.0.0.1:" + port
	}
	if code := get(start(false, "127.0.0.1", ""), ""); code != http.StatusNotFound {
		t.Fatalf("without metrics-pprof: %d", code)
	}
	if code := get(start(true, "127.0.0.1", ""), ""); code != http.StatusOK {
		t.Fatalf("on loopback without a password: %d", code)
	}
	addr := start(true, "127.0.0.1", "secret")
	if code := get(addr, ""); code != http.StatusUnauthorized {
		t.Fatalf("with requirepass and no password: %d", code)
	}
	if code := get(addr, "secret"); code != http.StatusOK {
		t.Fatalf("with the password: %d", code)
	}
	if code := get(start(true, "0.0.0.0", ""), ""); code != http.StatusForbidden {
		t.Fatalf("off loopback without requirepass: %d", code)
	}
}
