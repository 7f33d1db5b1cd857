package replication

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count WAIT, WAITAOF and WAITALL by result and time them; the
// collector reads replication state at scrape time.
type metrics struct {
	waits    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(m *Manager, reg prometheus.Registerer) *metrics {
	mt := &metrics{
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_replication_waits_total",
			Help: "WAIT, WAITAOF and WAITALL calls by command and result (satisfied, timeout, nonblocking, error).",
		}, []string{"command", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shoal_replication_wait_duration_seconds",
			Help:    "Time WAIT, WAITAOF and WAITALL calls spent, by command.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 12),
		}, []string{"command"}),
	}
	for _, cmd := range []string{"wait", "waitaof", "waitall"} {
		for _, r := range []string{"satisfied", "timeout", "nonblocking", "error"} {
			mt.waits.WithLabelValues(cmd, r)
		}
	}
	if reg != nil {
		reg.MustRegister(mt.waits, mt.duration, &collector{m: m})
	}
	return mt
}

func (mt *metrics) done(cmd, result string, start time.Time) {
	mt.waits.WithLabelValues(cmd, result).Inc()
	mt.duration.WithLabelValues(cmd).Observe(time.Since(start).Seconds())
}

var (
	descOffset  = prometheus.NewDesc("shoal_replication_offset_bytes", "The node's replication offset.", nil, nil)
	descOnline  = prometheus.NewDesc("shoal_replication_online_replicas", "Replicas connected and online.", nil, nil)
	descKnown   = prometheus.NewDesc("shoal_replication_known_replicas", "Replicas WAITALL expects now.", nil, nil)
	descBacklog = prometheus.NewDesc("shoal_replication_backlog_bytes", "Bytes of replication log retained.", nil, nil)
	descSyncs   = prometheus.NewDesc("shoal_replication_syncs_total", "Replica synchronisations served, by kind.", []string{"kind"}, nil)
	descLinkUp  = prometheus.NewDesc("shoal_replication_upstream_link_up", "1 when this replica's link to its primary is up.", nil, nil)
)

type collector struct{ m *Manager }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOffset, descOnline, descKnown, descBacklog, descSyncs, descLinkUp} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	st := m.store
	ch <- prometheus.MustNewConstMetric(descOffset, prometheus.GaugeValue, float64(st.ReplOffset()))
	ch <- prometheus.MustNewConstMetric(descOnline, prometheus.GaugeValue, float64(len(m.Replicas())))
	ch <- prometheus.MustNewConstMetric(descKnown, prometheus.GaugeValue, float64(m.KnownReplicas()))
	ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(st.ReplOffset()-st.LogStart()))
	ch <- prometheus.MustNewConstMetric(descSyncs, prometheus.CounterValue, float64(m.FullSyncs.Load()), "full")
	ch <- prometheus.MustNewConstMetric(descSyncs, prometheus.CounterValue, float64(m.PartialOK.Load()), "partial")
	up := 0.0
	if u, ok := m.Upstream(); ok && u.LinkUp {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descLinkUp, prometheus.GaugeValue, up)
}
