// Package deploy_test checks what ships beside the server for operators:
// the Grafana dashboard and the Prometheus alert rules read only metrics a
// Shoal node registers, and the rules pass promtool.
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// recordingRegistry is a registry that remembers the name of every metric
// registered in it, including vectors that have no series yet.
type recordingRegistry struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recordingRegistry) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	r.mu.Lock()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	r.mu.Unlock()
	return r.Registry.Register(c)
}

func (r *recordingRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// registered starts a cluster-enabled node and returns every metric name
// it registers.
func registered(t *testing.T) map[string]bool {
	reg := &recordingRegistry{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	cfg := testutil.Config(t)
	cfg.ClusterEnabled = true
	cfg.ClusterNodeTimeout = 1000
	cfg.ClusterPort, cfg.ClusterCatalogPort = testutil.FreePort(t), testutil.FreePort(t)
	testutil.StartWith(t, cfg, server.Options{Registry: reg})
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.names
}

var metricRef = regexp.MustCompile(`\bshoal_[a-z0-9_]+`)

// referenced returns the shoal_ metric names in text, histogram series
// (_bucket, _sum, _count) named by their histogram.
func referenced(text string) []string {
	seen := map[string]bool{}
	for _, m := range metricRef.FindAllString(text, -1) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			m = strings.TrimSuffix(m, suf)
		}
		seen[m] = true
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func TestDashboardAndRulesReadRegisteredMetrics(t *testing.T) {
	names := registered(t)
	dash, err := os.ReadFile("grafana/shoal.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("grafana/shoal.json is not valid JSON: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("dashboard has only %d queries", len(exprs))
	}
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for file, text := range map[string]string{"grafana/shoal.json": strings.Join(exprs, "\n"), "prometheus/alerts.yml": string(rules)} {
		for _, m := range referenced(text) {
			if !names[m] {
				t.Errorf("%s reads %s, which no Shoal node registers", file, m)
			}
		}
	}
}

func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := testutil.RequireTool(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", "prometheus/alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
