// Package config reads Shoal's configuration in redis.conf's form: a file
// of "directive arg..." lines and command-line "--directive value" flags,
// into a Config validated before the server starts. One table of directives
// (directives.go) serves parsing, CONFIG GET, CONFIG SET and CONFIG
// REWRITE: every directive of redis-server 7.0, with its types, bounds and
// error texts, and Shoal's own.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Config is Shoal's configuration. Each field documents its directive and
// default; Default returns a Config with every default set.
type Config struct {
	// Port is the RESP port ("port"); default 6379; 0 picks a free one.
	Port int
	// BindSourceAddr is the local address of the node's outgoing
	// connections: to its primary, and MIGRATE's ("bind-source-addr");
	// "" lets the system choose.
	BindSourceAddr string
	// UnixSocket is a Unix socket path to serve clients on too
	// ("unixsocket"); UnixSocketPerm its permissions, in octal
	// ("unixsocketperm"; "0" leaves the process's umask's).
	UnixSocket, UnixSocketPerm string
	// TLS is the TLS listener's and the replication link's settings
	// ("tls-*").
	TLS TLSConfig
	// TCPBacklog bounds the connections the TCP listeners queue before
	// they are accepted ("tcp-backlog"); default 511.
	TCPBacklog int
	// TCPKeepalive is the keepalive period of clients' TCP connections,
	// in seconds, 0 for none ("tcp-keepalive"); default 300.
	TCPKeepalive int
	// ShutdownTimeout is how long, in seconds, a shutdown waits for the
	// replicas to acknowledge every write ("shutdown-timeout"); 0 does not
	// wait. Default 10.
	ShutdownTimeout int
	// ShutdownOnSigint and ShutdownOnSigterm are what SIGINT and SIGTERM
	// do ("shutdown-on-sigint", "shutdown-on-sigterm"): with "now" they
	// shut down without waiting for the replicas. Default "default".
	ShutdownOnSigint, ShutdownOnSigterm string
	// OOMScoreAdj is how the process's OOM score is set ("oom-score-adj"):
	// no, relative (yes) to the score it started with, or absolute;
	// OOMScoreAdjValues the primary's, a replica's and a child's scores
	// ("oom-score-adj-values", default "0 200 800").
	OOMScoreAdj, OOMScoreAdjValues string
	// Daemonize runs the server in the background, detached from its
	// terminal ("daemonize"); the command that started it returns at once.
	Daemonize bool
	// Supervised is how the server tells its supervisor it is ready
	// ("supervised"): no, systemd (sd_notify on NOTIFY_SOCKET), upstart,
	// or auto (systemd when NOTIFY_SOCKET is set).
	Supervised string
	// PidFile is where the process writes its pid at start and removes it
	// at shutdown ("pidfile"); "" writes none.
	PidFile string
	// Bind lists the addresses to listen on ("bind"); default Redis's
	// "* -::*": every IPv4 address, and every IPv6 one where the machine
	// has IPv6 ("-": optional). None ("") listens on no TCP port.
	Bind []string
	// Dir is the data folder ("dir"), created if missing; default ./data.
	Dir string
	// DBFilename is the RDB file SAVE and BGSAVE write in Dir
	// ("dbfilename"); default dump.rdb.
	DBFilename string
	// RequirePass, when set, makes clients AUTH first ("requirepass").
	RequirePass string
	// ACLFile is where ACL LOAD and SAVE read and write the users
	// ("aclfile"), read at start; "" for none.
	ACLFile string
	// ACLPubsubDefault is the channels a new ACL user may use
	// ("acl-pubsub-default"): resetchannels (none, the default) or
	// allchannels.
	ACLPubsubDefault string
	// EnableProtectedConfigs says who may CONFIG SET the protected
	// directives dir and dbfilename ("enable-protected-configs"): no
	// (default), yes, or local (clients on the loopback).
	EnableProtectedConfigs string
	// EnableDebugCommand says who may run DEBUG ("enable-debug-command"):
	// no (default), yes, or local (clients on the loopback). It is read
	// at start only, as in Redis.
	EnableDebugCommand string
	// EnableModuleCommand is the same for MODULE LOAD, LOADEX and UNLOAD
	// ("enable-module-command").
	EnableModuleCommand string
	// AppendFsync is when writes reach stable storage ("appendfsync"):
	// always, everysec (default) or no.
	AppendFsync string
	// Databases is the number of SELECTable databases ("databases"),
	// 1..256 (Redis allows more); default 16.
	Databases int
	// MaxClients caps connected clients ("maxclients"); default 10000.
	MaxClients int
	// Timeout closes clients idle this many seconds ("timeout"); 0 never.
	Timeout int
	// LogLevel is debug, verbose, notice (default) or warning ("loglevel").
	LogLevel string
	// LogFile is where logs go ("logfile"); empty means standard output.
	LogFile string
	// ProtoMaxBulkLen caps one bulk string of a request
	// ("proto-max-bulk-len"); default 512mb.
	ProtoMaxBulkLen int64
	// ClientQueryBufferLimit caps one client's unparsed input
	// ("client-query-buffer-limit"); default 1gb.
	ClientQueryBufferLimit int64
	// CrashLogEnabled writes a crash report to the log when the process
	// dies of a signal or a fatal error ("crash-log-enabled"); default yes.
	CrashLogEnabled bool
	// ProtectedMode refuses non-loopback clients when no password is set and
	// no bind address was configured ("protected-mode"); default yes.
	ProtectedMode bool
	// MetricsPort serves Prometheus metrics on /metrics ("metrics-port");
	// 0 (default) disables it.
	MetricsPort int
	// MetricsBind is the address of the metrics listener ("metrics-bind");
	// default 127.0.0.1.
	MetricsBind string
	// MetricsPprof serves Go's profiles under /debug/pprof/ on the
	// metrics listener ("metrics-pprof"); default no. They ask for the
	// requirepass password as the admin API does, and a listener that is
	// not loopback serves them only when requirepass is set.
	MetricsPprof bool
	// SlowlogSlowerThan logs commands slower than this many microseconds
	// ("slowlog-log-slower-than"); default 10000; -1 disables.
	SlowlogSlowerThan int64
	// SlowlogMaxLen is the slow log's length ("slowlog-max-len"); default 128.
	SlowlogMaxLen int
	// NotifyKeyspaceEvents are the keyspace event classes published
	// ("notify-keyspace-events"), as CONFIG GET shows them; default none.
	NotifyKeyspaceEvents string
	// TrackingTableMaxKeys caps the keys client tracking remembers
	// ("tracking-table-max-keys"); default 1000000, 0 no limit.
	TrackingTableMaxKeys int
	// LatencyMonitorThreshold records latency events (LATENCY LATEST,
	// HISTORY, DOCTOR) of at least this many milliseconds
	// ("latency-monitor-threshold"); default 0, off.
	LatencyMonitorThreshold int64
	// LatencyTracking keeps a histogram of every command's latency
	// (LATENCY HISTOGRAM, INFO latencystats) ("latency-tracking");
	// default yes.
	LatencyTracking bool
	// LatencyPercentiles are the percentiles INFO latencystats reports,
	// separated by spaces ("latency-tracking-info-percentiles"); default
	// "50 99 99.9".
	LatencyPercentiles string
	// Hz is how often per second background work runs ("hz"), 1..500
	// (Redis cuts wider values to that range); default 10.
	Hz int
	// CacheSize is Pebble's block cache ("cache-size"); default 128mb.
	CacheSize int64
	// HotCacheSize is the in-memory cache of hot keys' metadata and string
	// values ("hot-cache-size"); default 64mb; 0 disables it.
	HotCacheSize int64
	// MemtableSize sizes each of Pebble's memtables ("memtable-size");
	// default 8mb.
	MemtableSize int64
	// MaxMemory is shown by INFO and, with MaxMemoryPolicy, decides
	// OBJECT REFCOUNT's shared integers as in Redis ("maxmemory"); nothing
	// is evicted, data lives on disk. Default 0.
	MaxMemory uint64
	// MaxMemoryClients bounds the memory of every client together
	// ("maxmemory-clients"): bytes, or a percentage of MaxMemory kept as
	// its negative; past it the largest clients are closed. Default 0,
	// no bound.
	MaxMemoryClients int64
	// MaxMemoryPolicy is the eviction policy INFO and OBJECT FREQ and
	// IDLETIME read ("maxmemory-policy"); default noeviction.
	MaxMemoryPolicy string
	// LFULogFactor and LFUDecayTime shape the access counter OBJECT FREQ
	// reports under an LFU policy, as in Redis: how slowly it grows
	// ("lfu-log-factor", default 10) and every how many minutes it
	// decays by one ("lfu-decay-time", default 1; 0 never).
	LFULogFactor, LFUDecayTime int64

	// HashMaxListpackEntries and HashMaxListpackValue bound the hashes
	// OBJECT ENCODING reports as listpack: at most this many fields, none
	// longer than this many bytes ("hash-max-listpack-entries", default
	// 512, and "hash-max-listpack-value", default 64; aliases
	// hash-max-ziplist-*).
	HashMaxListpackEntries, HashMaxListpackValue int64
	// SetMaxIntsetEntries bounds the sets of integers reported as intset
	// ("set-max-intset-entries"); default 512.
	SetMaxIntsetEntries int64
	// ZSetMaxListpackEntries and ZSetMaxListpackValue bound the sorted
	// sets reported as listpack ("zset-max-listpack-entries", default 128,
	// "zset-max-listpack-value", default 64; aliases zset-max-ziplist-*).
	ZSetMaxListpackEntries, ZSetMaxListpackValue int64
	// HllSparseMaxBytes is the size past which a HyperLogLog turns dense
	// ("hll-sparse-max-bytes"); default 3000.
	HllSparseMaxBytes int64
	// ListMaxListpackSize bounds the nodes a list's elements are kept in,
	// as Redis's quicklist nodes ("list-max-listpack-size", alias
	// "list-max-ziplist-size", default -2): a negative value -1 to -5
	// is a byte size of 4, 8, 16, 32 or 64 KiB, a positive one an
	// element count.
	ListMaxListpackSize int64
	// StreamNodeMaxBytes and StreamNodeMaxEntries bound the nodes stream
	// entries are placed in, as Redis's listpacks ("stream-node-max-bytes",
	// default 4096, and "stream-node-max-entries", default 100; 0 means no
	// bound).
	StreamNodeMaxBytes, StreamNodeMaxEntries int64
	// ClientOutputBufferLimit holds the "client-output-buffer-limit" classes.
	ClientOutputBufferLimit string

	// ReplicaOf is "host port" of this node's primary ("replicaof" or
	// "slaveof"); empty for a primary.
	ReplicaOf string
	// MasterAuth is the password sent to the primary ("masterauth").
	MasterAuth string
	// MasterUser is the user named with MasterAuth in the primary's AUTH
	// ("masteruser"); empty: AUTH with the password alone.
	MasterUser string
	// ReplicaAnnounceIP and ReplicaAnnouncePort are the address a replica
	// reports to its primary ("replica-announce-ip", "replica-announce-port";
	// 0 announces Port).
	ReplicaAnnounceIP   string
	ReplicaAnnouncePort int
	// ReplicaServeStaleData lets a replica whose link to its primary is
	// down serve its data ("replica-serve-stale-data"); when false it
	// answers MASTERDOWN but to the commands Redis flags stale. Default
	// true.
	ReplicaServeStaleData bool
	// RDBCompression packs the strings of RDB files and DUMP payloads
	// with LZF where that saves space ("rdbcompression"); default yes.
	RDBCompression bool
	// RDBChecksum ends RDB files with their CRC64, else zeros
	// ("rdbchecksum", read at start); default yes.
	RDBChecksum bool
	// Save is the save points, "seconds changes" pairs: an RDB file is
	// written in the background once that many changes are that old
	// ("save"); default none, where Redis has "3600 1 300 100 60 10000".
	Save string
	// StopWritesOnBgsaveError refuses writes while save points are set
	// and the last background save failed ("stop-writes-on-bgsave-error");
	// default yes.
	StopWritesOnBgsaveError bool
	// PropagationErrorBehavior is what a read-only replica does when a
	// command of its primary's stream fails: "ignore" logs it, "panic" and
	// "panic-on-replicas" stop the process ("propagation-error-behavior").
	PropagationErrorBehavior string
	// ReplicaReadOnly refuses client writes on a replica
	// ("replica-read-only"); default yes.
	ReplicaReadOnly bool
	// ReplBacklogSize is how much replication log a primary keeps for
	// partial resyncs ("repl-backlog-size"); default 16mb.
	ReplBacklogSize int64
	// ReplBacklogTTL is the seconds the stream fed to redis-server replicas
	// outlives its last one, 0 for ever ("repl-backlog-ttl"); default 3600.
	ReplBacklogTTL int64
	// ReplPingPeriod is the seconds between the PINGs a primary sends its
	// redis-server replicas ("repl-ping-replica-period"); default 10.
	ReplPingPeriod int
	// ReplDisableTCPNoDelay lets the kernel group small writes to replicas
	// ("repl-disable-tcp-nodelay"); default no.
	ReplDisableTCPNoDelay bool
	// ReplTimeout is the seconds of silence after which a replication link is
	// considered dead ("repl-timeout"); default 60.
	ReplTimeout int
	// MinReplicasToWrite refuses writes unless this many replicas acked
	// within MinReplicasMaxLag seconds ("min-replicas-to-write"); default 0.
	MinReplicasToWrite int
	// MinReplicasMaxLag is the lag bound for MinReplicasToWrite
	// ("min-replicas-max-lag"); default 10.
	MinReplicasMaxLag int
	// WaitAllDisconnectGrace is how many seconds a disconnected replica still
	// counts in WAITALL's expected set ("waitall-disconnect-grace"); default 60.
	WaitAllDisconnectGrace int
	// WaitAllMinReplicas is the floor of WAITALL's expected count
	// ("waitall-min-replicas"); default 0.
	WaitAllMinReplicas int

	// ClusterEnabled makes the node a member of a Shoal cluster
	// ("cluster-enabled"); default no.
	ClusterEnabled bool
	// ClusterPort is the gossip port, TCP and UDP ("cluster-port"); 0
	// (default) means Port+10000, as Redis's cluster bus.
	ClusterPort int
	// ClusterCatalogPort is the catalog's port: raft and the catalog's
	// requests ("cluster-catalog-port"); 0 (default) means Port+20000.
	ClusterCatalogPort int
	// ClusterJoin lists gossip addresses ("host:port ...") of members to
	// join at the first start ("cluster-join"); empty bootstraps a new
	// cluster.
	ClusterJoin string
	// ClusterNodeTimeout is how many milliseconds a member may be
	// unreachable before it is failed ("cluster-node-timeout"); default
	// 15000.
	ClusterNodeTimeout int
	// ClusterAnnounceIP is the address other members and clients reach
	// this node at ("cluster-announce-ip"); default the first bind address.
	ClusterAnnounceIP string
	// ClusterGossipKey is a base64 key of 16, 24 or 32 bytes that encrypts
	// gossip ("cluster-gossip-key"); empty (default) leaves it plain.
	ClusterGossipKey string
	// ClusterEpochBumpTimeout bounds, in milliseconds, the retries of a
	// writer epoch bump that meets conflicts ("cluster-epoch-bump-timeout");
	// default 30000.
	ClusterEpochBumpTimeout int
	// SchemaRetryBaseMs is the delay, in milliseconds, before the first
	// retry of a catalog change the node failed to apply; each further
	// retry doubles it, up to 5 s, with jitter ("schema-retry-base-ms");
	// default 100.
	SchemaRetryBaseMs int
	// SchemaEventMaxRetries bounds the retries of a catalog change that
	// failed to apply; then the node runs a full resync
	// ("schema-event-max-retries"); default 5.
	SchemaEventMaxRetries int
	// SchemaResyncInterval is the period, in milliseconds, of the full
	// resync of the node's derived admin state ("schema-resync-interval");
	// 0 turns it off; default 300000 (5 minutes).
	SchemaResyncInterval int
	// ComponentLockLease is the lease, in milliseconds, of a component's
	// deploy lock ("component-lock-lease"): the holder renews it while it
	// deploys, and another deploy may take the lock once it lapsed, so a
	// holder that died blocks deploys for at most this long; default 30000.
	ComponentLockLease int
	// BusyReplyThreshold is how long, in milliseconds, a script or function
	// may run before other clients get -BUSY and SCRIPT KILL or FUNCTION
	// KILL may stop it ("busy-reply-threshold", alias "lua-time-limit");
	// default 5000; 0 or less never.
	BusyReplyThreshold int64

	// File is the configuration file read, if any; CONFIG REWRITE writes it.
	File string
	// Ignored lists directives read but unknown, logged once at start.
	Ignored []string
	// AclLogMaxLen is how many entries ACL LOG keeps ("acllog-max-len").
	AclLogMaxLen int
	// Users are the user lines: a name, then its ACL rules.
	Users [][]string
	// RenameCommands are the rename-command lines, in order: the command
	// named first answers to the second name from then on, or to none
	// when it is empty. Read at start only, as in Redis.
	RenameCommands [][2]string
	// stored holds the values of the directives Shoal keeps without acting
	// on them, by name, in CONFIG GET's form; absent means the default.
	// NB: never changed in place (Directive.put copies it), so Clone shares
	// it.
	stored map[string]string
}

// TLSConfig holds the tls-* directives Shoal acts on.
type TLSConfig struct {
	// Port serves TLS clients on every bind address ("tls-port"); 0 none.
	Port int
	// CertFile and KeyFile are the server's certificate chain and key
	// ("tls-cert-file", "tls-key-file"), KeyFilePass the key's passphrase
	// ("tls-key-file-pass"). ClientCertFile, ClientKeyFile and
	// ClientKeyFilePass are the certificate a replica presents to its
	// primary, the server's when unset.
	CertFile, KeyFile, KeyFilePass                   string
	ClientCertFile, ClientKeyFile, ClientKeyFilePass string
	// DHParamsFile is read and checked ("tls-dh-params-file"); Go's TLS
	// has no DHE suites to use it for.
	DHParamsFile string
	// CACertFile and CACertDir hold the certificates that verify clients
	// and a replica's primary ("tls-ca-cert-file", "tls-ca-cert-dir").
	CACertFile, CACertDir string
	// AuthClients is yes, no or optional ("tls-auth-clients").
	AuthClients string
	// Replication makes a replica reach its primary over TLS
	// ("tls-replication").
	Replication bool
	// Protocols, Ciphers and Ciphersuites are OpenSSL's names
	// ("tls-protocols", "tls-ciphers", "tls-ciphersuites").
	Protocols, Ciphers, Ciphersuites string
	// SessionCaching enables session tickets ("tls-session-caching").
	SessionCaching bool
}

// TLSEnabled reports whether TLS is in use, as Redis decides whether to
// configure it: a TLS port, or TLS for replication or (stored only,
// "tls-cluster") the cluster bus.
func (c *Config) TLSEnabled() bool {
	return c.TLS.Port != 0 || c.TLS.Replication || c.Value("tls-cluster") == "yes"
}

// InDir returns the file name as Redis opens it: Redis works in its
// directory ("dir", where it chdirs), so a relative aclfile, pidfile or
// logfile is in dir.
func (c *Config) InDir(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(c.Dir, name)
}

// Default returns the configuration Shoal runs with when given nothing:
// every directive's default.
func Default() *Config {
	c := &Config{}
	for _, d := range directives {
		if d.field != nil {
			d.field.put(c, d.Default)
		}
	}
	return c
}

// Value returns the value of the directive called name (or its alias) as
// CONFIG GET shows it; "" for no such directive.
func (c *Config) Value(name string) string {
	if d := Lookup(name); d != nil {
		return d.Get(c)
	}
	return ""
}

// Validate checks every field and names the field and value it rejects:
// the directives' own checks (a number within its bounds, an enumeration
// among its names), then what Shoal needs of their combination.
func (c *Config) Validate() error {
	var errs []error
	for _, d := range directives {
		if d.field == nil {
			continue // checked when set
		}
		if err := d.check(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w", d.Name, d.Get(c), err))
		}
	}
	return errors.Join(append(errs, c.validateShoal()...)...)
}

// validateShoal checks what Shoal needs beyond the directives' own bounds.
// Each message starts with the directive's name and ": ".
func (c *Config) validateShoal() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Dir == "" {
		bad("dir: must not be empty")
	}
	if c.Hz < 1 || c.Hz > 500 {
		bad("hz: %d is outside 1..500", c.Hz)
	}
	if c.ReplBacklogSize < 16<<10 {
		bad("repl-backlog-size: %d is below 16kb", c.ReplBacklogSize)
	}
	if c.ReplicaOf != "" {
		if f := strings.Fields(c.ReplicaOf); len(f) != 2 {
			bad("replicaof: %q is not \"host port\"", c.ReplicaOf)
		} else if p, err := strconv.Atoi(f[1]); err != nil || p < 1 || p > 65535 {
			bad("replicaof: port %q is not within 1..65535", f[1])
		}
	}
	if c.ClusterEnabled {
		if c.ReplicaOf != "" {
			bad("replicaof: a cluster node follows the primary its catalog names; remove replicaof or cluster-enabled")
		}
		if c.ClusterCatalogPort < 0 || c.ClusterCatalogPort > 65535 {
			bad("cluster-catalog-port: %d is outside 0..65535", c.ClusterCatalogPort)
		}
		if c.Port+20000 > 65535 && (c.ClusterPort == 0 || c.ClusterCatalogPort == 0) {
			bad("port: %d leaves no room for the default cluster ports (port+10000, port+20000); set cluster-port and cluster-catalog-port", c.Port)
		}
		if c.ClusterNodeTimeout < 100 {
			bad("cluster-node-timeout: %d is below 100 ms", c.ClusterNodeTimeout)
		}
		for _, a := range strings.Fields(c.ClusterJoin) {
			if _, p, err := net.SplitHostPort(a); err != nil || p == "" {
				bad("cluster-join: %q is not host:port", a)
			}
		}
		if c.ClusterGossipKey != "" {
			k, err := base64.StdEncoding.DecodeString(c.ClusterGossipKey)
			if err != nil || (len(k) != 16 && len(k) != 24 && len(k) != 32) {
				bad("cluster-gossip-key: must be base64 of 16, 24 or 32 bytes")
			}
		}
	}
	if c.ClusterEpochBumpTimeout < 1 {
		bad("cluster-epoch-bump-timeout: %d must be at least 1 ms", c.ClusterEpochBumpTimeout)
	}
	if c.SchemaRetryBaseMs < 1 {
		bad("schema-retry-base-ms: %d must be at least 1 ms", c.SchemaRetryBaseMs)
	}
	if c.SchemaEventMaxRetries < 0 || c.SchemaEventMaxRetries > 100 {
		bad("schema-event-max-retries: %d is outside 0..100", c.SchemaEventMaxRetries)
	}
	if c.SchemaResyncInterval < 0 {
		bad("schema-resync-interval: %d must not be negative (0 turns it off)", c.SchemaResyncInterval)
	}
	if c.ComponentLockLease < 100 {
		bad("component-lock-lease: %d is below 100 ms", c.ComponentLockLease)
	}
	if c.WaitAllMinReplicas < 0 {
		bad("waitall-min-replicas: %d must not be negative", c.WaitAllMinReplicas)
	}
	if c.WaitAllDisconnectGrace < 0 {
		bad("waitall-disconnect-grace: %d must not be negative", c.WaitAllDisconnectGrace)
	}
	return errs
}

// Load builds a Config from command-line arguments in redis-server's form:
// an optional config file path first (or "-", first or last, for one read
// from standard input), then "--directive value..." options that override
// it. As redis-server 7.0 does, the options become lines appended to the
// file's text, so an error names the line of the whole ("at line 2" for
// the first option after no file), and the word after a directive's name
// is its value even when it starts with "--" (--proc-title-template
// --my--title); a bare --save is save "".
func Load(args []string) (*Config, error) {
	l := loader{c: Default()}
	var text strings.Builder
	file := len(args) > 0 && !strings.HasPrefix(args[0], "-")
	if file {
		l.c.File = args[0]
		data, err := os.ReadFile(args[0])
		if err != nil {
			return nil, openFailed(args[0], err)
		}
		text.Write(data)
		args = args[1:]
	}
	options, stdin := commandLineOptions(args, file)
	if stdin {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("Reading config from stdin: %w", err)
		}
		text.Write(data)
	}
	text.WriteByte('\n')
	text.WriteString(options)
	if err := l.load(text.String()); err != nil {
		return nil, err
	}
	return l.c, l.c.Validate()
}

// commandLineOptions turns redis-server's options into configuration
// lines, as its main does: "--name" starts a line unless the line before
// still waits for its value; other words are values, quoted as
// sdscatrepr quotes them. stdin reports a "-" last, or first of the
// command line (no file before it), as redis-server reads it.
func commandLineOptions(args []string, file bool) (options string, stdin bool) {
	var b strings.Builder
	handled := true // the line before has a value
	for j, a := range args {
		last := j == len(args)-1
		switch {
		case a == "-" && ((j == 0 && !file) || last):
			stdin = true
		case handled && strings.HasPrefix(a, "--"):
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(a[2:])
			b.WriteByte(' ')
			if words, _ := SplitArgs(a); len(words) != 1 {
				break // name and value in one word: "--port 6380"
			}
			handled = false
			nextIsOption := !last && strings.HasPrefix(args[j+1], "--")
			switch {
			case strings.EqualFold(a, "--save") && (last || nextIsOption):
				b.WriteString(`""`)
				handled = !last
			case strings.EqualFold(a, "--sentinel") && nextIsOption:
				handled = true
			}
		default:
			b.WriteString(quote(a))
			b.WriteByte(' ')
			handled = true
		}
	}
	return b.String(), stdin
}

// Parse reads redis.conf text into a Config over the defaults.
func Parse(text string) (*Config, error) {
	l := loader{c: Default()}
	if err := l.load(text); err != nil {
		return nil, err
	}
	return l.c, l.c.Validate()
}

// LineError is a configuration line redis-server would refuse, with its
// number in the text read (the file, then the command line's options) and
// Redis's reason.
type LineError struct {
	Line   int
	Text   string
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("Reading the configuration file, at line %d\n>>> '%s'\n%s", e.Line, e.Text, e.Reason)
}

// loader reads configuration text into c, line by line, as redis-server
// loads its file: the file's first save line replaces the default, later
// ones add to it.
type loader struct {
	c     *Config
	saved bool
	depth int // files being included
}

// includeDepth bounds nested include lines, so that a file including
// itself is an error rather than a loop.
const includeDepth = 16

func (l *loader) load(text string) error {
	for n, ln := range strings.Split(text, "\n") {
		ln = strings.Trim(ln, " \t\r\n")
		if ln == "" || ln[0] == '#' {
			continue
		}
		fail := func(reason string) error { return &LineError{Line: n + 1, Text: ln, Reason: reason} }
		words, err := SplitArgs(ln)
		if err != nil {
			return fail("Unbalanced quotes in configuration line")
		}
		if len(words) == 0 {
			continue
		}
		name := strings.ToLower(words[0])
		if name == "include" && len(words) == 2 {
			// NB: as redis-server reads it: the file's lines in place of
			// this one, its path relative to the working directory.
			if err := l.include(words[1]); err != nil {
				return err
			}
			continue
		}
		if name == "user" && len(words) >= 2 {
			if slices.ContainsFunc(l.c.Users, func(u []string) bool { return u[0] == words[1] }) {
				return fail(fmt.Sprintf("Error in user declaration '%s': Duplicate user found. A user can only be defined once in config files", words[1]))
			}
			l.c.Users = append(l.c.Users, words[1:])
			continue
		}
		if name == "rename-command" && len(words) == 3 {
			l.c.RenameCommands = append(l.c.RenameCommands, [2]string{words[1], words[2]})
			continue
		}
		d := Lookup(name)
		if d == nil {
			l.c.Ignored = append(l.c.Ignored, name)
			continue
		}
		args := words[1:]
		if !d.MultiArg && len(args) != 1 {
			return fail("wrong number of arguments")
		}
		if d.MultiArg && len(args) == 1 && args[0] != "" {
			// As Redis: one word holding several ("--save '900 1'").
			if args, err = SplitArgs(args[0]); err != nil {
				return fail("Unbalanced quotes in configuration line")
			}
		}
		if d.Name == "save" {
			// As Redis: the first save line replaces the default, later
			// ones add to it, and save "" empties it.
			if l.saved && !(len(args) == 1 && args[0] == "") {
				args = append(strings.Fields(d.Get(l.c)), args...)
			}
			l.saved = true
		}
		if err := d.Set(l.c, args); err != nil {
			return fail(err.Error())
		}
	}
	return nil
}

// openFailed words a configuration file that could not be read as
// redis-server does, with the system's reason as strerror words it.
func openFailed(path string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		return fmt.Errorf("Fatal error, can't open config file '%s': %s", path, strings.ToUpper(msg[:1])+msg[1:])
	}
	return fmt.Errorf("Fatal error, can't open config file '%s': %w", path, err)
}

// include loads the configuration file at path.
func (l *loader) include(path string) error {
	if l.depth >= includeDepth {
		return fmt.Errorf("include %s: nested more than %d deep", path, includeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return openFailed(path, err)
	}
	l.depth++
	defer func() { l.depth-- }()
	return l.load(string(data))
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.Bind = append([]string(nil), c.Bind...)
	d.Ignored = append([]string(nil), c.Ignored...)
	d.RenameCommands = append([][2]string(nil), c.RenameCommands...)
	d.Users = append([][]string(nil), c.Users...)
	return &d
}
