// Package server wires the RESP front end (tidwall/redcon) to the command
// table: it accepts connections, keeps per-connection state, runs the
// dispatch gates, writes replies in RESP2 or RESP3 and translates errors.
package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/shoaldb/shoal/acl"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/replication"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
)

// Options carry what a Server takes besides its Config: the parts a test
// or an embedding program replaces.
type Options struct {
	// Logger receives the server's log; default one built from the config.
	Logger *slog.Logger
	// Registerer receives the server's metrics; default a new registry.
	Registry Registry
	// Now is the clock; default time.Now.
	Now func() time.Time
	// FS is the file system the store writes its data through; default
	// the operating system's. Tests pass one that injects faults.
	FS vfs.FS
}

// Registry is where a server registers its metrics and what /metrics
// serves: a *prometheus.Registry, or a wrapper of one.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Server is one Shoal node's RESP server.
type Server struct {
	log *slog.Logger
	// logLevel is the level of the logger loglevel made; nil when the
	// logger came from Options.
	logLevel *slog.LevelVar
	// logOut is where the logger New made writes (nil when Options gave
	// one): a crash report goes there too.
	logOut   *os.File
	store    *storage.Store
	table    *commands.Table
	started  time.Time
	releaser memoryReleaser // the cron goroutine's
	// overMemory is set while the memory maxmemory bounds reads over it
	// (oom.go).
	overMemory atomic.Bool
	oomState   oomState
	// startupMemory is used_memory once the server started (MEMORY
	// STATS' startup.allocated).
	startupMemory int64

	cfgMu sync.Mutex
	cfg   *config.Config
	// Hot configuration read by every connection.
	maxBulk      atomic.Int64
	maxQuery     atomic.Int64
	maxClients   atomic.Int64
	keepalive    atomic.Int64 // tcp-keepalive, seconds
	clientsLimit atomic.Int64 // maxmemory-clients, bytes (evict.go)
	// evictDue is set when a message queued for a client left part of
	// its output beyond the reply buffer (evict.go).
	evictDue atomic.Bool
	evictMu  sync.Mutex // held by evictClients
	// replyCron is the clients' reply buffers' cron (clientmem.go).
	replyCron       *replyCron
	slowerThan      atomic.Int64
	protectedMode   atomic.Bool
	replicaReadOnly atomic.Bool
	serveStale      atomic.Bool // replica-serve-stale-data
	// enableDebug and enableModule are enable-debug-command and
	// enable-module-command as the server started with.
	enableDebug, enableModule string
	// latencyThreshold and latencyTracking are latency-monitor-threshold
	// and latency-tracking.
	latencyThreshold atomic.Int64
	latencyTracking  atomic.Bool
	latency          latencyMonitor

	repl *replication.Manager
	// cluster is the node's cluster membership, nil without
	// cluster-enabled; reg is the metrics registry it registers into.
	cluster *cluster.Node
	reg     prometheus.Registerer
	// catalog is the node's catalog, its own one-voter catalog without
	// cluster-enabled: the admin state (maintenance, components, schema
	// epochs) lives there.
	catalog *cluster.Node

	ln listeners
	// oom is what oom-score-adj changed of the process's OOM score.
	oom oomScore
	// pidFile is the pidfile Start wrote, which Close removes.
	pidFile string
	// tls is TLS as the tls-* directives configure it, nil while no
	// directive asks for it.
	tls atomic.Pointer[tlsSetup]

	clientsMu sync.Mutex
	clients   map[int64]*conn
	nextID    atomic.Int64
	nclients  atomic.Int64
	// unexpectedErrors counts the commands of a primary's stream that
	// failed here (INFO unexpected_error_replies).
	unexpectedErrors atomic.Int64

	watch    watchRegistry
	pubsub   pubsubRegistry
	monitors monitorRegistry
	tracking trackingRegistry
	events   commands.Events
	// eventsValue is notify-keyspace-events as CONFIG GET shows it when
	// events was last set from it.
	eventsValue string
	pause       pauseState
	// sleeping holds every other command while DEBUG SLEEP runs, as
	// Redis's one thread serves no client then.
	sleeping pauseState
	// calledDB is the database the calls passed to Shoal replicas were
	// last in (feed.go's appendCalled); -1 before the first.
	calledDB atomic.Int64
	// cronPaused is DEBUG PAUSE-CRON.
	cronPaused atomic.Bool
	// allowNoScript is DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call
	// the commands flagged noscript.
	allowNoScript atomic.Bool
	failover      failoverState
	// shutdownWait is a shutdown waiting for the replicas (shutdown.go).
	shutdownWait shutdownState
	aclLog       aclLog
	users        *users
	stats        stats
	slowlog      slowlog
	metrics      *metrics
	cursors      *commands.CursorTable
	info         infoState

	// scripts runs EVAL scripts and FUNCTION libraries.
	scripts *scripting.Engine

	// blocking queues the clients parked in BLPOP and friends.
	blocking blockRegistry

	closing  atomic.Bool
	shutdown chan struct{} // closed when SHUTDOWN asks Run to stop
	stop     chan struct{} // closed when Close begins: background loops end
	closeMu  sync.Once
	shutOnce sync.Once
	wg       sync.WaitGroup
}

// storeOptions are the store's options under cfg.
func storeOptions(cfg *config.Config, now func() time.Time, log *slog.Logger) storage.Options {
	fsync, _ := storage.ParseFsyncPolicy(cfg.AppendFsync)
	return storage.Options{
		Dir:           cfg.Dir,
		Fsync:         fsync,
		Databases:     cfg.Databases,
		CacheBytes:    cfg.CacheSize,
		MemTableBytes: uint64(cfg.MemtableSize),
		MetaCacheBytes: func() int64 {
			if cfg.HotCacheSize == 0 {
				return -1
			}
			return cfg.HotCacheSize
		}(),
		Now:      now,
		Logger:   log,
		ExpireHz: cfg.Hz,
	}
}

// New opens the store in cfg.Dir and prepares a server; Start listens.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	var level *slog.LevelVar
	var logOut *os.File
	if log == nil {
		level = new(slog.LevelVar)
		var err error
		if log, logOut, err = newLogger(cfg, level); err != nil {
			return nil, err
		}
	}
	table := commands.Default()
	for _, r := range cfg.RenameCommands {
		if err := table.Rename(r[0], r[1]); err != nil {
			return nil, fmt.Errorf("config: rename-command %s %q: %s", r[0], r[1], err.(*commands.Error).Msg)
		}
	}
	so := storeOptions(cfg, opts.Now, log)
	so.FS = opts.FS
	store, err := storage.Open(so)
	if err != nil {
		return nil, err
	}
	if err := loadRDBAtStart(store, cfg, log); err != nil {
		store.Close()
		return nil, err
	}
	s := &Server{replyCron: newReplyCron(),
		log:      log,
		logLevel: level,
		logOut:   logOut,
		store:    store,
		table:    table,
		started:  time.Now(),
		cfg:      cfg.Clone(),
		clients:  map[int64]*conn{},
		shutdown: make(chan struct{}),
		stop:     make(chan struct{}),
		cursors:  commands.NewCursorTable(commands.DefaultCursors),

		enableDebug:  cfg.EnableDebugCommand,
		enableModule: cfg.EnableModuleCommand,
	}
	s.users = newUsers(acl.NewIndex(table), cfg.RequirePass)
	if err := s.loadUsers(cfg); err != nil {
		store.Close()
		return nil, err
	}
	s.scripts = newScripts(s)
	s.applyHotConfig(cfg)
	s.watch.init()
	store.SetWriteListener(s.keyWritten)
	store.SetReplicatedListener(s.replicatedWrites)
	store.SetEventListener(s.replicatedEvent)
	store.SetCallsListener(s.replicatedCalls)
	s.calledDB.Store(-1)
	store.SetPublishListener(func(shard bool, channel, message []byte) {
		if shard {
			s.publishShard(channel, message)
		} else {
			s.Publish(channel, message)
		}
	})
	store.SetSwapListener(s.dbSwapped)
	// NB: a failover's pause holds expiry too: its target must catch up
	// with an offset that stands still.
	store.SetExpireHold(func() bool {
		return s.pause.holding() || s.failover.pause.holding() || s.shutdownWait.pause.holding()
	})
	if err := s.loadFunctions(); err != nil {
		store.Close()
		return nil, err
	}
	store.OnRecordChange(s.recordChanged)
	store.SetReadyListener(s.wakeBlocked)
	store.SetLatencyHook(s.storageLatency)
	s.slowlog.init()
	var reg Registry = prometheus.NewRegistry()
	if opts.Registry != nil {
		reg = opts.Registry
	}
	s.metrics = newMetrics(s, reg)
	s.reg = reg
	s.repl = replication.New(store, s.replConfig(cfg), log, reg)
	s.repl.SetClientIDs(func() int64 { return s.nextID.Add(1) })
	s.repl.SetApplier(s.newApplier)
	s.repl.SetApplyHold(s.holdReplicaApply)
	s.repl.SetEventsHooks(s.events.SetShip, func() bool {
		f := s.events.Flags()
		return f&(commands.NotifyKeyspace|commands.NotifyKeyevent) != 0 && f&commands.Shippable != 0
	})
	store.SetExpireHook(s.keyExpired)
	for _, name := range cfg.Ignored {
		log.Warn("ignoring unsupported directive", "directive", name)
	}
	return s, nil
}

func (s *Server) applyHotConfig(c *config.Config) {
	if s.logLevel != nil {
		s.logLevel.Set(logLevel(c.LogLevel))
	}
	s.applyCrashLog(c)
	s.maxBulk.Store(c.ProtoMaxBulkLen)
	s.maxQuery.Store(c.ClientQueryBufferLimit)
	s.maxClients.Store(int64(c.MaxClients))
	s.keepalive.Store(int64(c.TCPKeepalive))
	if s.clientsLimit.Swap(clientsLimit(c)) != clientsLimit(c) && s.clients != nil {
		// NB: as Redis, whose next command finds the clients over a
		// lowered limit.
		s.evictClients()
	}
	s.slowerThan.Store(c.SlowlogSlowerThan)
	s.latencyThreshold.Store(c.LatencyMonitorThreshold)
	s.latencyTracking.Store(c.LatencyTracking)
	// NB: as in Redis 7.0, whatever bind says; the default user's
	// password, requirepass's or an ACL rule's, lifts it (conn.go).
	s.protectedMode.Store(c.ProtectedMode)
	s.replicaReadOnly.Store(c.ReplicaReadOnly)
	s.serveStale.Store(c.ReplicaServeStaleData)
	if s.repl != nil {
		s.repl.SetConfig(s.replConfig(c))
	}
	if s.cluster != nil {
		s.cluster.SetEpochBumpTimeout(time.Duration(c.ClusterEpochBumpTimeout) * time.Millisecond)
	}
	s.pubsub.setLimits(c.ClientOutputBufferLimit)
	s.tracking.maxKeys.Store(int64(c.TrackingTableMaxKeys))
	if v := c.NotifyKeyspaceEvents; v != s.eventsValue {
		s.eventsValue = v
		s.events.Set(commands.ParseEventClasses(v))
	}
	s.scripts.SetBusyThreshold(c.BusyReplyThreshold)
	s.store.SetExpireHz(c.Hz)
	s.store.SetRDBFormat(c.RDBCompression, c.RDBChecksum)
	s.store.SetAccessPolicy(strings.Contains(c.MaxMemoryPolicy, "lfu"), c.LFULogFactor, c.LFUDecayTime)
	s.store.SetEncodings(encodingsOf(c))
}

// encodingsOf is the encoding thresholds c sets.
func encodingsOf(c *config.Config) storage.Encodings {
	return storage.Encodings{
		HashEntries: c.HashMaxListpackEntries, HashValue: c.HashMaxListpackValue,
		SetIntsetEntries: c.SetMaxIntsetEntries,
		ZSetEntries:      c.ZSetMaxListpackEntries, ZSetValue: c.ZSetMaxListpackValue,
		HllSparseBytes:    c.HllSparseMaxBytes,
		StreamNodeBytes:   c.StreamNodeMaxBytes,
		StreamNodeEntries: c.StreamNodeMaxEntries,
		ListFill:          c.ListMaxListpackSize,
	}
}

// Start listens on every bind address and serves in the background.
func (s *Server) Start() error {
	cfg := s.Config()
	if err := s.listenAtStart(cfg); err != nil {
		return err
	}
	// NB: the catalog starts before the first connection is served: a
	// connection's context names it.
	if err := s.startCluster(cfg); err != nil {
		s.Close()
		return err
	}
	s.ln.serveAll(s)
	s.applyOOMScore()
	if cfg.PidFile != "" {
		// As Redis's createPidFile: best effort.
		pidFile := cfg.InDir(cfg.PidFile)
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			s.log.Warn("Failed to write PID file", "err", err)
		} else {
			s.pidFile = pidFile
		}
	}
	s.wg.Add(1)
	go s.cron()
	if err := s.metrics.start(cfg); err != nil {
		s.Close()
		return err
	}
	s.startupMemory = s.memory().used
	ready := []any{"addr", s.Addr(), "version", Version}
	if a := s.TLSAddr(); a != "" {
		ready = append(ready, "tls-addr", a)
	}
	if p := s.UnixSocket(); p != "" {
		ready = append(ready, "unixsocket", p)
	}
	s.log.Info("Ready to accept connections", ready...)
	if cfg.Supervised == "upstart" {
		s.log.Warn("supervised upstart is not supported: the server does not stop itself when ready")
	}
	s.notifySupervisor("STATUS=Ready to accept connections\nREADY=1\n")
	s.startReplicaOf(cfg)
	return nil
}

// MetricsAddr returns the metrics listener's address, or "".
func (s *Server) MetricsAddr() string { return s.metrics.addr() }

// Store returns the server's store.
func (s *Server) Store() *storage.Store { return s.store }

// Cursors returns the server's SCAN cursor table.
func (s *Server) Cursors() *commands.CursorTable { return s.cursors }

// Done is closed when SHUTDOWN was called.
func (s *Server) Done() <-chan struct{} { return s.shutdown }

// Run starts the server and serves until ctx ends or SHUTDOWN, then closes.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.shutdown:
	}
	return s.Close()
}

// Close stops accepting, closes every connection, syncs and closes the store.
func (s *Server) Close() error {
	var err error
	s.closeMu.Do(func() {
		s.closing.Store(true)
		close(s.stop)
		s.log.Info("Shutting down")
		s.notifySupervisor("STOPPING=1\n")
		s.ln.closeAll()
		commands.CloseMigrateSockets(s.store)
		if s.pidFile != "" {
			os.Remove(s.pidFile)
		}
		s.clientsMu.Lock()
		for _, c := range s.clients {
			c.nc.Close()
		}
		s.clientsMu.Unlock()
		s.pause.stop()
		s.shutdownWait.pause.stop()
		s.metrics.stop()
		if s.catalog != nil {
			s.catalog.Close()
		}
		s.repl.Close()
		s.wg.Wait()
		err = s.store.Close()
		if err == nil {
			s.log.Info("Shoal is now ready to exit, bye bye...")
		}
		s.signalShutdown()
	})
	return err
}

func (s *Server) signalShutdown() { s.shutOnce.Do(func() { close(s.shutdown) }) }

// cron runs once a second: save points, idle timeouts, output limits, the
// tracking table's limit and pause expiry.
func (s *Server) cron() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			if s.cronPaused.Load() {
				continue
			}
			s.saveCron(now)
			s.closeIdleClients()
			s.parkIdleReaders()
			s.checkOutputLimits(now)
			s.trimTrackingTable()
			s.evictClients()
			s.releaser.tick()
			s.checkOOM(s.Config())
			s.info.sample(s.rateTotals(), time.Now())
		}
	}
}

// newLogger makes the server's logger, writing to logfile or standard
// output, which it returns too (a crash report goes there: crash.go).
func newLogger(c *config.Config, level *slog.LevelVar) (*slog.Logger, *os.File, error) {
	out := os.Stdout
	if c.LogFile != "" {
		path := c.InDir(c.LogFile)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, nil, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("server: logfile: %w", err)
		}
		out = f
	}
	level.Set(logLevel(c.LogLevel))
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), out, nil
}

// logLevel maps loglevel to slog's levels; CONFIG SET loglevel changes
// the running logger's.
func logLevel(name string) slog.Level {
	switch name {
	case "debug", "verbose":
		return slog.LevelDebug
	case "warning":
		return slog.LevelWarn
	case "nothing":
		return slog.LevelError + 4
	}
	return slog.LevelInfo
}

var errShutdown = errors.New("server: shutting down")
