package cluster

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	epoch         prometheus.Gauge
	leader        prometheus.Gauge
	failovers     prometheus.Counter
	bumpAttempts  prometheus.Counter
	bumpConflicts prometheus.Counter
	bumpTimeouts  prometheus.Counter
	fenced        prometheus.Counter
	leaseRenewals prometheus.Counter
}

func newMetrics(n *Node, reg prometheus.Registerer) *metrics {
	m := &metrics{
		epoch:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "shoal_cluster_writer_epoch", Help: "Writer epoch of this node's shard, as this node last applied it."}),
		leader:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "shoal_cluster_catalog_leader", Help: "1 while this node leads the catalog."}),
		failovers:     prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_failovers_total", Help: "Promotions of this node to primary by a failover."}),
		bumpAttempts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_epoch_bump_attempts_total", Help: "Compare-and-swap attempts of writer epoch bumps."}),
		bumpConflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_epoch_bump_conflicts_total", Help: "Writer epoch bump attempts that met a changed shard version."}),
		bumpTimeouts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_epoch_bump_timeouts_total", Help: "Writer epoch bumps that gave up at cluster-epoch-bump-timeout."}),
		fenced:        prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_fenced_total", Help: "Commands and commits refused because this primary held no lease."}),
		leaseRenewals: prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_lease_renewals_total", Help: "Lease renewals granted to this primary."}),
	}
	reg.MustRegister(m.epoch, m.leader, m.failovers, m.bumpAttempts, m.bumpConflicts, m.bumpTimeouts, m.fenced, m.leaseRenewals,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_cluster_catalog_applied_index", Help: "Raft index of the last catalog entry applied here."},
			func() float64 { _, i := n.fsm.state(); return float64(i) }),
		newMembersCollector(n))
	return m
}

// membersCollector reports the members by gossip health at scrape time.
type membersCollector struct {
	n    *Node
	desc *prometheus.Desc
}

func newMembersCollector(n *Node) *membersCollector {
	return &membersCollector{n: n, desc: prometheus.NewDesc("shoal_cluster_members", "Catalog members by gossip health.", []string{"state"}, nil)}
}

func (c *membersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *membersCollector) Collect(ch chan<- prometheus.Metric) {
	if c.n.ml == nil || c.n.fsm == nil {
		return
	}
	counts := map[string]int{"alive": 0, "suspect": 0, "failed": 0}
	st, _ := c.n.fsm.state()
	for id := range st.Members {
		counts[healthName(c.n.health(id))]++
	}
	for s, v := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), s)
	}
}

func healthName(h Health) string {
	switch h {
	case Suspect:
		return "suspect"
	case Failed:
		return "failed"
	}
	return "alive"
}

func itoa(i int) string { return strconv.Itoa(i) }

// count adds one to a counter of INFO and its Prometheus twin.
func (n *Node) count(v *atomic.Int64, c prometheus.Counter) {
	v.Add(1)
	c.Inc()
}
