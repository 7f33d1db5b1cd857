package replication

import (
	"crypto/tls"
	"errors"
	"github.com/shoaldb/shoal/internal/obuf"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoaldb/shoal/storage"
)

// Config is the replication part of the node's configuration; Manager
// takes a new one at run time through SetConfig.
type Config struct {
	// ListenPort is this node's RESP port, announced to its primary;
	// AnnounceIP, when set, the address it announces.
	ListenPort int
	AnnounceIP string
	// TLS, when set, is how this node reaches its primary over TLS;
	// SourceAddr the local address it connects from (bind-source-addr).
	TLS        *tls.Config
	SourceAddr string
	// MasterUser and MasterAuth are the user and password this node
	// authenticates with to its primary (the password alone without a
	// user).
	MasterUser, MasterAuth string
	// BacklogBytes is how much log a primary keeps for partial resyncs.
	BacklogBytes int64
	// Timeout ends a replication link silent this long.
	Timeout time.Duration
	// PingPeriod is how often the stream fed to redis-server replicas
	// carries a PING (repl-ping-replica-period); 10 s when zero.
	PingPeriod time.Duration
	// BacklogTTL is how long that stream outlives its last redis-server
	// replica (repl-backlog-ttl); zero keeps it for ever.
	BacklogTTL time.Duration
	// ReplicaLimit is client-output-buffer-limit's replica class, applied
	// to what a redis-server replica has not read of the stream.
	ReplicaLimit obuf.Limit
	// MinReplicasToWrite and MinReplicasMaxLag gate writes on a primary.
	MinReplicasToWrite int
	MinReplicasMaxLag  time.Duration
	// WaitAllGrace keeps a disconnected replica in WAITALL's expected set.
	WaitAllGrace time.Duration
	// WaitAllMin is the floor of WAITALL's expected count.
	WaitAllMin int
	// Dir is the data folder: a replica of a redis-server receives the
	// primary's RDB into a file there before loading it.
	Dir string
}

// ErrUnblocked ends a wait whose primary became a replica.
var ErrUnblocked = errors.New("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)")

// Manager is a node's replication: the links of its replicas when it has
// any, and its link to its own primary when it is a replica. Both can be
// active at once (a chained replica).
type Manager struct {
	store *storage.Store
	log   *slog.Logger
	cfg   atomic.Pointer[Config]

	// shipEvents is set while a connected replica asks for keyspace
	// events; onEvents is told when it changes, and wantEvents says
	// whether this node, as a replica, asks for them.
	shipEvents atomic.Bool
	onEvents   atomic.Pointer[func(ship bool)]
	wantEvents atomic.Pointer[func() bool]

	// clientIDs gives a link to a primary its client id.
	clientIDs atomic.Pointer[func() int64]
	mu        sync.Mutex
	links     map[string]*link // by replica node id
	up        *upstream        // nil on a primary
	// replica mirrors up != nil for the dispatch path, without the lock.
	replica atomic.Bool
	// demoted is closed when the node becomes a replica: WAIT callers get
	// ErrUnblocked.
	demoted chan struct{}

	ackMu     sync.Mutex
	ackNotify chan struct{}

	// Stats for INFO.
	FullSyncs, PartialOK, PartialErr atomic.Int64
	// ReplInputBytes and ReplOutputBytes count what a replica read from
	// and wrote to its primary (total_net_repl_input_bytes; the writes,
	// its acknowledgements, count in total_net_output_bytes as in Redis).
	ReplInputBytes, ReplOutputBytes atomic.Int64

	// deferFull refuses full syncs not yet started (primary.go).
	deferFull atomic.Bool

	// members lists node ids that cluster gossip says replicate this
	// primary (WAITALL counts them even while they are not connected);
	// fence is checked before WAITALL reports success. Both are set once
	// by a cluster node before the server serves.
	members atomic.Pointer[func() []string]
	fence   atomic.Pointer[func() error]
	// epoch is the newest writer epoch this node has seen in the cluster
	// catalog; a replica sends it to its primary, which refuses it when
	// its own is older (a stale primary).
	epoch atomic.Pointer[func() uint64]

	// applier makes the Applier that runs a redis-server primary's
	// command stream (redisupstream.go).
	applier atomic.Pointer[func() Applier]
	// hold waits while a replica may not apply its primary's stream
	// (CLIENT PAUSE), calling waiting first; false when abort closed
	// first.
	hold atomic.Pointer[func(abort <-chan struct{}, waiting func()) bool]
	// followers are the redis-server replicas fed the logical stream
	// flog (redisfeed.go, feedlog.go); feeding is 1 while the stream
	// exists, for the servers' fast check, and feedOff its offset.
	feedMu    sync.Mutex
	flog      *feedLog
	followers []*follower
	feedBuf   []byte // the command being fed, reused
	feeding   atomic.Int32
	feedOff   atomic.Int64

	metrics *metrics
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New returns the replication manager of store; reg receives its metrics.
func New(store *storage.Store, cfg Config, log *slog.Logger, reg prometheus.Registerer) *Manager {
	m := &Manager{
		store:     store,
		log:       log,
		links:     map[string]*link{},
		demoted:   make(chan struct{}),
		ackNotify: make(chan struct{}),
		stop:      make(chan struct{}),
	}
	m.cfg.Store(&cfg)
	m.metrics = newMetrics(m, reg)
	m.wg.Add(1)
	go m.trimLoop()
	return m
}

// SetMembers installs the source of the replicas cluster gossip knows of
// (node ids): WAITALL expects them besides its own links.
func (m *Manager) SetMembers(fn func() []string) { m.members.Store(&fn) }

// SetEventsHooks installs ship, told whether the commits of this primary
// are to carry their keyspace events because a connected replica asks
// for them, and want, which says whether this node, as a Shoal replica,
// asks its primary for them.
func (m *Manager) SetEventsHooks(ship func(bool), want func() bool) {
	m.onEvents.Store(&ship)
	m.wantEvents.Store(&want)
}

// SetApplyHold installs hold, which a replica calls before it applies
// what it read of its primary's stream: it returns once the stream may be
// applied, true, or when abort is closed, false, and calls waiting (if
// not nil) before it waits. Reading goes on meanwhile, as a paused Redis
// replica's query buffer fills.
func (m *Manager) SetApplyHold(hold func(abort <-chan struct{}, waiting func()) bool) {
	m.hold.Store(&hold)
}

// SetFence installs the check a primary passes before WAITALL reports
// success; its error is the reply instead.
func (m *Manager) SetFence(fn func() error) { m.fence.Store(&fn) }

func (m *Manager) memberIDs() []string {
	if fn := m.members.Load(); fn != nil {
		return (*fn)()
	}
	return nil
}

// SetEpoch installs the source of the newest writer epoch this node saw.
func (m *Manager) SetEpoch(fn func() uint64) { m.epoch.Store(&fn) }

func (m *Manager) writerEpoch() uint64 {
	if fn := m.epoch.Load(); fn != nil {
		return (*fn)()
	}
	return 0
}

// SetConfig replaces the configuration (CONFIG SET).
func (m *Manager) SetConfig(cfg Config) { m.cfg.Store(&cfg) }

func (m *Manager) config() *Config { return m.cfg.Load() }

// Close ends every link and background loop.
func (m *Manager) Close() {
	select {
	case <-m.stop:
		return
	default:
	}
	close(m.stop)
	m.mu.Lock()
	up := m.up
	m.up = nil
	for _, l := range m.links {
		l.close()
	}
	m.mu.Unlock()
	if up != nil {
		up.halt(false)
	}
	m.wg.Wait()
}

// IsReplica reports whether the node replicates a primary.
func (m *Manager) IsReplica() bool { return m.replica.Load() }

// ReplicaOf makes the node a replica of host:port. It returns false when
// it already replicates that primary.
func (m *Manager) ReplicaOf(host string, port int) (changed bool) {
	return m.replicaOf(host, port, nil)
}

// replicaOf is ReplicaOf; prepare, when set, readies the new link before
// it starts.
func (m *Manager) replicaOf(host string, port int, prepare func(*upstream)) (changed bool) {
	m.mu.Lock()
	if m.up != nil && m.up.host == host && m.up.port == port {
		m.mu.Unlock()
		return false
	}
	old := m.up
	if old == nil {
		close(m.demoted) // WAIT callers of a primary are unblocked
	}
	m.up = newUpstream(m, host, port)
	if prepare != nil {
		prepare(m.up)
	}
	m.replica.Store(true)
	up := m.up
	m.mu.Unlock()
	m.resetFeed()
	if old != nil {
		old.halt(true)
	}
	m.store.SetReplica(true)
	m.log.Info("Connecting to MASTER", "host", host, "port", port)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		up.run()
	}()
	return true
}

// NoOne makes a replica a primary with a new replication history whose
// predecessor replicas can continue with a partial sync.
func (m *Manager) NoOne() error {
	m.mu.Lock()
	up := m.up
	m.up = nil
	m.replica.Store(false)
	if up != nil {
		m.demoted = make(chan struct{})
	}
	m.mu.Unlock()
	if up == nil {
		return nil
	}
	up.halt(true)
	m.store.SetReplica(false)
	m.log.Info("MASTER MODE enabled")
	// Writes to this node now make its data diverge from a redis-server
	// it replicated: a later sync with one is a full one.
	if err := m.store.ClearUpstreamMark(); err != nil {
		return err
	}
	return m.store.Promote()
}

// Demoted returns a channel closed if the node stops being a primary.
func (m *Manager) Demoted() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.demoted
}

// acked returns a channel closed at the next acknowledgement.
func (m *Manager) acked() <-chan struct{} {
	m.ackMu.Lock()
	defer m.ackMu.Unlock()
	return m.ackNotify
}

func (m *Manager) notifyAck() {
	m.ackMu.Lock()
	close(m.ackNotify)
	m.ackNotify = make(chan struct{})
	m.ackMu.Unlock()
}

// trimLoop drops log entries beyond the backlog once a second, keeping
// what connected replicas still need unless that exceeds eight backlogs.
func (m *Manager) trimLoop() {
	defer m.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if !m.store.LogEnabled() {
				continue
			}
			cfg := m.config()
			floor := m.store.ReplOffset()
			m.mu.Lock()
			for _, l := range m.links {
				if l.connected {
					if a := l.needs(); a < floor {
						floor = a
					}
				}
			}
			m.mu.Unlock()
			maxKeep := 8 * cfg.BacklogBytes
			if err := m.store.TrimLog(cfg.BacklogBytes, floor, maxKeep); err != nil {
				m.log.Warn("trimming the replication log failed", "err", err)
			}
		}
	}
}

// ReplicaInfo describes one replica for INFO and ROLE.
type ReplicaInfo struct {
	ID        string
	IP        string
	Port      int
	State     string // wait_bgsave, send_bulk, online
	Offset    int64  // acknowledged
	FsyncOff  int64
	Lag       int64 // seconds since the last ack
	Connected bool
}

// Replicas lists the connected replicas, in a stable order.
func (m *Manager) Replicas() []ReplicaInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ReplicaInfo
	for _, l := range m.sortedLinksLocked() {
		if !l.connected {
			continue
		}
		out = append(out, l.info())
	}
	return out
}

// KnownReplicas is WAITALL's expected set right now: connected replicas
// and those disconnected for less than the grace period.
func (m *Manager) KnownReplicas() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.knownLocked(time.Now()))
}

// UpstreamInfo describes the link to this node's primary.
type UpstreamInfo struct {
	Host           string
	Port           int
	State          string // connect, connecting, sync, connected
	LinkUp         bool
	LastIO         time.Duration
	SyncInProgress bool
	ReadOffset     int64
	// Applied is the offset applied; with a redis-server primary, of its
	// stream, whose replication id is RedisReplID (empty otherwise).
	Applied     int64
	RedisReplID string
}

// Upstream returns the primary link's state; ok is false on a primary.
func (m *Manager) Upstream() (UpstreamInfo, bool) {
	up := m.upstream()
	if up == nil {
		return UpstreamInfo{}, false
	}
	return up.info(), true
}

// upstream returns the link to the primary, nil on a primary.
func (m *Manager) upstream() *upstream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.up
}

func hostPort(host string, port int) string { return host + ":" + strconv.Itoa(port) }
