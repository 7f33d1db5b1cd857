package server

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// metrics are the node's Prometheus metrics on its own registry. Command
// metrics are labelled by the table's command names only.
type metrics struct {
	s        *Server
	reg      Registry
	calls    *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	httpSrv *http.Server
	ln      net.Listener
}

// cmdMetrics are one command's children of the labelled metrics, kept
// with its stats line: labelled lookups are slow on a hot path.
type cmdMetrics struct {
	calls, failures prometheus.Counter
	latency         prometheus.Observer
}

func newMetrics(s *Server, reg Registry) *metrics {
	m := &metrics{
		s:   s,
		reg: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_commands_calls_total", Help: "Commands executed, by command.",
		}, []string{"command"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_commands_failed_total", Help: "Commands that replied with an error, by command.",
		}, []string{"command"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shoal_commands_duration_seconds",
			Help:    "Time to execute a command, by command, excluding network and fsync wait.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12),
		}, []string{"command"}),
	}
	reg.MustRegister(m.calls, m.failures, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newServerCollector(s),
	)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shoal_build_info", Help: "Shoal's build: version and the Redis version it follows.",
		ConstLabels: prometheus.Labels{"version": Version, "redis_version": RedisVersion},
	})
	build.Set(1)
	reg.MustRegister(build)
	return m
}

// forCommand returns cmd's metrics, made once by the caller (cmdStat).
func (m *metrics) forCommand(cmd *commands.Command) *cmdMetrics {
	return &cmdMetrics{
		calls:    m.calls.WithLabelValues(cmd.Name),
		failures: m.failures.WithLabelValues(cmd.Name),
		latency:  m.latency.WithLabelValues(cmd.Name),
	}
}

func (ch *cmdMetrics) observe(d time.Duration, failed bool) {
	ch.calls.Inc()
	if failed {
		ch.failures.Inc()
	}
	ch.latency.Observe(d.Seconds())
}

// The sampling of the mutex and block profiles under metrics-pprof: one
// contended lock in mutexProfileFraction, and about one blocking event
// per blockProfileRate nanoseconds spent blocked.
const (
	mutexProfileFraction = 100
	blockProfileRate     = int(time.Millisecond)
)

// pprofRoutes serves the node's profiles to the holders of the password,
// and not at all on a listener other clients can reach while no password
// is set, as protected mode keeps RESP to loopback.
func (m *metrics) pprofRoutes(mux *http.ServeMux, ln net.Listener) {
	loopback := isLoopback(ln.Addr())
	guard := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !loopback && !m.s.defaultHasPassword() {
				http.Error(w, "DENIED profiles are served off loopback only with requirepass set", http.StatusForbidden)
				return
			}
			if !m.s.adminAuthorized(r) {
				w.Header().Set("WWW-Authenticate", `Basic realm="shoal"`)
				http.Error(w, "NOAUTH Authentication required.", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("/debug/pprof/", guard(pprof.Index))
	mux.HandleFunc("/debug/pprof/cmdline", guard(pprof.Cmdline))
	mux.HandleFunc("/debug/pprof/profile", guard(pprof.Profile))
	mux.HandleFunc("/debug/pprof/symbol", guard(pprof.Symbol))
	mux.HandleFunc("/debug/pprof/trace", guard(pprof.Trace))
}

func (m *metrics) start(cfg *config.Config) error {
	if cfg.MetricsPort == 0 {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.MetricsBind, strconv.Itoa(cfg.MetricsPort)))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	if cfg.MetricsPprof {
		m.pprofRoutes(mux, ln)
		// NB: the mutex and block profiles record nothing unless asked
		// to; sampled, they cost little, and they show who held others.
		runtime.SetMutexProfileFraction(mutexProfileFraction)
		runtime.SetBlockProfileRate(blockProfileRate)
	}
	m.s.adminRoutes(mux)
	m.ln = ln
	m.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.httpSrv.Serve(ln)
	return nil
}

func (m *metrics) addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

func (m *metrics) stop() {
	if m.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m.httpSrv.Shutdown(ctx)
	}
}

// serverCollector reads connection, keyspace and Pebble state at scrape time.
type serverCollector struct {
	s                                          *Server
	clients, connections, keys, expires        *prometheus.Desc
	compactions, stalls, cacheHits, cacheMiss  *prometheus.Desc
	diskBytes, memtableBytes, commits, expired *prometheus.Desc
	hotHits, hotMisses, hotComplete            *prometheus.Desc
}

func newServerCollector(s *Server) *serverCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &serverCollector{
		s:             s,
		clients:       d("shoal_clients_connected", "Connected clients."),
		connections:   d("shoal_connections_received_total", "Client connections accepted since start."),
		keys:          d("shoal_keyspace_keys", "Keys per database.", "db"),
		expires:       d("shoal_keyspace_expiring_keys", "Keys with an expiry per database.", "db"),
		expired:       d("shoal_keyspace_expired_keys_total", "Keys deleted by expiry."),
		compactions:   d("shoal_pebble_compactions_total", "Pebble compactions."),
		stalls:        d("shoal_pebble_write_stalls_total", "Pebble write stalls."),
		cacheHits:     d("shoal_pebble_block_cache_hits_total", "Pebble block cache hits."),
		cacheMiss:     d("shoal_pebble_block_cache_misses_total", "Pebble block cache misses."),
		diskBytes:     d("shoal_pebble_disk_usage_bytes", "Bytes Pebble uses on disk."),
		memtableBytes: d("shoal_pebble_memtable_bytes", "Bytes in Pebble memtables."),
		commits:       d("shoal_storage_commits_total", "Batches committed to Pebble."),
		hotHits:       d("shoal_hot_cache_hits_total", "Metadata reads served by the hot cache."),
		hotMisses:     d("shoal_hot_cache_misses_total", "Metadata reads that went to Pebble."),
		hotComplete:   d("shoal_hot_cache_complete_shards", "Hot cache shards that hold every key of theirs, of 256: a key they lack is absent, without a Pebble read."),
	}
}

func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.clients, c.connections, c.keys, c.expires, c.expired, c.compactions, c.stalls, c.cacheHits, c.cacheMiss, c.diskBytes, c.memtableBytes, c.commits, c.hotHits, c.hotMisses, c.hotComplete} {
		ch <- d
	}
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(s.nclients.Load()))
	// NB: client ids count accepted connections and, unlike INFO's
	// total_connections_received, never reset, as a counter must not.
	ch <- prometheus.MustNewConstMetric(c.connections, prometheus.CounterValue, float64(s.nextID.Load()))
	for db := 0; db < s.store.Databases(); db++ {
		n := s.store.KeyCount(db)
		if n == 0 {
			continue
		}
		label := strconv.Itoa(db)
		ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(n), label)
		ch <- prometheus.MustNewConstMetric(c.expires, prometheus.GaugeValue, float64(s.store.ExpiresCount(db)), label)
	}
	ch <- prometheus.MustNewConstMetric(c.expired, prometheus.CounterValue, float64(s.store.Stats.ExpiredKeys.Load()))
	ch <- prometheus.MustNewConstMetric(c.commits, prometheus.CounterValue, float64(s.store.Stats.Commits.Load()))
	pm := s.store.DB().Metrics()
	ch <- prometheus.MustNewConstMetric(c.compactions, prometheus.CounterValue, float64(pm.Compact.Count))
	ch <- prometheus.MustNewConstMetric(c.stalls, prometheus.CounterValue, float64(s.store.Stats.WriteStalls.Load()))
	ch <- prometheus.MustNewConstMetric(c.cacheHits, prometheus.CounterValue, float64(pm.BlockCache.Hits))
	ch <- prometheus.MustNewConstMetric(c.cacheMiss, prometheus.CounterValue, float64(pm.BlockCache.Misses))
	ch <- prometheus.MustNewConstMetric(c.diskBytes, prometheus.GaugeValue, float64(pm.DiskSpaceUsage()))
	ch <- prometheus.MustNewConstMetric(c.memtableBytes, prometheus.GaugeValue, float64(pm.MemTable.Size))
	hits, misses := s.store.MetaCacheStats()
	ch <- prometheus.MustNewConstMetric(c.hotHits, prometheus.CounterValue, float64(hits))
	ch <- prometheus.MustNewConstMetric(c.hotMisses, prometheus.CounterValue, float64(misses))
	ch <- prometheus.MustNewConstMetric(c.hotComplete, prometheus.GaugeValue, float64(s.store.MetaCacheCompleteShards()))
}
