package config

import (
	"math"
	"strconv"
	"strings"
)

// Directive is one configuration parameter: its names, its value type with
// Redis's checks, its default, whether CONFIG SET may change it, and where
// its value lives. Every directive of redis-server 7.0 is one, as are
// Shoal's own (metrics-*, cluster-*, schema-*, ...).
type Directive struct {
	// Name is the directive's name; Alias its other name, if any, which
	// reads and sets the same value (hash-max-ziplist-entries for
	// hash-max-listpack-entries, slaveof for replicaof).
	Name, Alias string
	// Mutable reports that CONFIG SET may change it while the server runs.
	Mutable bool
	// Protected directives are changed by CONFIG SET only as
	// enable-protected-configs allows (dir, dbfilename).
	Protected bool
	// Hidden directives answer CONFIG GET only when named exactly, never
	// through a pattern (key-load-delay and Redis's other test hooks).
	Hidden bool
	// MultiArg directives take several words (save, bind); CONFIG SET
	// splits their value at spaces.
	MultiArg bool
	// Sensitive directives hold secrets (requirepass, masterauth,
	// masteruser): the slow log shows "(redacted)" for the values CONFIG
	// SET gives them.
	Sensitive bool
	// Own directives are Shoal's, unknown to Redis. CONFIG SET of the
	// value one already holds is accepted even when it is not Mutable,
	// so a tool that writes back every value CONFIG GET * read (knowing
	// only Redis's immutable directives) does not stop at Shoal's.
	Own bool
	// Default is the value Shoal starts with, as CONFIG GET shows it.
	Default string

	kind kind
	// field is where a directive Shoal acts on keeps its value; nil for
	// one Shoal only stores and shows.
	field *field
}

// field binds a directive to a Config field: put stores a value already
// checked by the directive's kind, get renders the field as CONFIG GET
// shows it.
type field struct {
	get func(c *Config) string
	put func(c *Config, v string)
}

// NoEffect reports that Shoal accepts, stores and shows the directive
// without acting on it.
func (d *Directive) NoEffect() bool { return d.field == nil }

// Get renders the directive's value in c as CONFIG GET shows it.
func (d *Directive) Get(c *Config) string {
	if d.field != nil {
		return d.field.get(c)
	}
	if v, ok := c.stored[d.Name]; ok {
		return v
	}
	return d.Default
}

// Set reads args (one word unless MultiArg) into c with Redis's checks;
// the error's text is Redis's reason.
func (d *Directive) Set(c *Config, args []string) error {
	v, err := d.kind.parse(d.Get(c), args)
	if err != nil {
		return err
	}
	d.put(c, v)
	return nil
}

func (d *Directive) put(c *Config, v string) {
	if d.field != nil {
		d.field.put(c, v)
		return
	}
	// NB: copy on write. Clone shares the map, so a Config handed out
	// by the server stays as it was.
	m := make(map[string]string, len(c.stored)+1)
	for k, x := range c.stored {
		m[k] = x
	}
	m[d.Name] = v
	c.stored = m
}

// check reports whether the value of a field-bound directive in c is one
// its kind accepts, for Validate: numbers within range, enumerations and
// booleans among their names.
func (d *Directive) check(c *Config) error {
	switch k := d.kind.(type) {
	case enum:
		if k.flags {
			// NB: CONFIG GET shows several flags as words.
			_, err := d.kind.parse("", strings.Fields(d.Get(c)))
			return err
		}
		_, err := d.kind.parse("", []string{d.Get(c)})
		return err
	case number, yesNo:
		_, err := d.kind.parse("", []string{d.Get(c)})
		return err
	}
	return nil
}

func intField(f func(*Config) *int) *field {
	return &field{
		get: func(c *Config) string { return strconv.Itoa(*f(c)) },
		put: func(c *Config, v string) { *f(c), _ = strconv.Atoi(v) },
	}
}

func int64Field(f func(*Config) *int64) *field {
	return &field{
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) },
		put: func(c *Config, v string) { *f(c), _ = strconv.ParseInt(v, 10, 64) },
	}
}

// percentField binds a memory-or-percent number: a percentage n% is kept
// as -n, as Redis keeps it.
func percentField(f func(*Config) *int64) *field {
	return &field{
		get: func(c *Config) string {
			if v := *f(c); v < 0 {
				return strconv.FormatInt(-v, 10) + "%"
			}
			return strconv.FormatInt(*f(c), 10)
		},
		put: func(c *Config, v string) {
			if p, ok := strings.CutSuffix(v, "%"); ok {
				n, _ := strconv.ParseInt(p, 10, 64)
				*f(c) = -n
				return
			}
			*f(c), _ = strconv.ParseInt(v, 10, 64)
		},
	}
}

func uint64Field(f func(*Config) *uint64) *field {
	return &field{
		get: func(c *Config) string { return strconv.FormatUint(*f(c), 10) },
		put: func(c *Config, v string) { *f(c), _ = strconv.ParseUint(v, 10, 64) },
	}
}

func boolField(f func(*Config) *bool) *field {
	return &field{
		get: func(c *Config) string {
			if *f(c) {
				return "yes"
			}
			return "no"
		},
		put: func(c *Config, v string) { *f(c) = v == "yes" },
	}
}

func stringField(f func(*Config) *string) *field {
	return &field{
		get: func(c *Config) string { return *f(c) },
		put: func(c *Config, v string) { *f(c) = v },
	}
}

// clamped stores a number cut to [lo, hi], as Redis applies hz (1..500)
// and repl-backlog-size (16kb at least) after accepting a wider range.
func clamped(f *field, lo, hi int64) *field {
	return &field{get: f.get, put: func(c *Config, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		f.put(c, strconv.FormatInt(min(max(n, lo), hi), 10))
	}}
}

// opt is a directive's flags in the table below.
type opt uint16

const (
	mut       opt = 1 << iota // CONFIG SET may change it
	protected                 // ... as enable-protected-configs allows
	hidden                    // CONFIG GET patterns skip it
	null                      // a string whose "" means unset
	sensitive                 // a secret
	unsigned                  // bounds checked as unsigned (size_t, unsigned int)
	mem                       // a number that reads memory sizes
	percent                   // ... and percentages
	octal                     // a number in base 8
	own                       // Shoal's, not Redis's
)

func newDirective(name string, o opt, def string, k kind) *Directive {
	return &Directive{Name: name, Mutable: o&mut != 0, Protected: o&protected != 0, Hidden: o&hidden != 0,
		Sensitive: o&sensitive != 0, Own: o&own != 0, Default: def, kind: k}
}

func boolean(name string, o opt, def string) *Directive { return newDirective(name, o, def, yesNo{}) }

func str(name string, o opt, def string) *Directive {
	return newDirective(name, o, def, text{null: o&null != 0})
}

func num(name string, o opt, lo, hi int64, def string) *Directive {
	return newDirective(name, o, def, number{min: lo, max: hi, unsigned: o&unsigned != 0,
		memory: o&mem != 0, percent: o&percent != 0, octal: o&octal != 0})
}

func choice(name string, o opt, def string, names ...string) *Directive {
	return newDirective(name, o, def, enum{names: names})
}

func special(name string, o opt, def string, k kind) *Directive {
	d := newDirective(name, o, def, k)
	d.MultiArg = true
	return d
}

// alias gives d its other name.
func (d *Directive) alias(a string) *Directive { d.Alias = a; return d }

// to binds d to a Config field Shoal acts on.
func (d *Directive) to(f *field) *Directive { d.field = f; return d }

// check sets a text directive's validity test.
func (d *Directive) valid(check func(string) error) *Directive {
	k := d.kind.(text)
	k.check = check
	d.kind = k
	return d
}

const (
	intMax  = math.MaxInt32
	intMin  = math.MinInt32
	longMax = math.MaxInt64
	uintMax = math.MaxUint32
	// ullongMax is 2^64-1 as an unsigned number's bound.
	ullongMax = -1
)

// Directives returns every directive, Shoal's and Redis 7.0's, in the
// order CONFIG GET lists them.
func Directives() []*Directive { return directives }

// directives is the one table of directives: parsing, CONFIG GET, CONFIG
// SET and CONFIG REWRITE read it. The types, bounds, defaults and
// mutability of Redis's directives are redis-server 7.0.15's; a directive
// without a field is stored and shown but has no effect in Shoal.
var directives = []*Directive{
	// The network and the process.
	num("port", mut, 0, 65535, "6379").to(intField(func(c *Config) *int { return &c.Port })),
	special("bind", mut, "* -::*", bindKind{}).to(&field{
		get: func(c *Config) string { return strings.Join(c.Bind, " ") },
		put: func(c *Config, v string) { c.Bind = strings.Fields(v) },
	}),
	str("bind-source-addr", mut|null, "").to(stringField(func(c *Config) *string { return &c.BindSourceAddr })),
	num("tcp-backlog", 0, 0, intMax, "511").to(intField(func(c *Config) *int { return &c.TCPBacklog })),
	num("tcp-keepalive", mut, 0, intMax, "300").to(intField(func(c *Config) *int { return &c.TCPKeepalive })),
	num("socket-mark-id", unsigned, 0, uintMax, "0"),
	str("unixsocket", null, "").to(stringField(func(c *Config) *string { return &c.UnixSocket })),
	num("unixsocketperm", unsigned|octal, 0, 0o777, "0").to(stringField(func(c *Config) *string { return &c.UnixSocketPerm })),
	boolean("protected-mode", mut, "yes").to(boolField(func(c *Config) *bool { return &c.ProtectedMode })),
	num("timeout", mut, 0, intMax, "0").to(intField(func(c *Config) *int { return &c.Timeout })),
	num("maxclients", mut|unsigned, 1, uintMax, "10000").to(intField(func(c *Config) *int { return &c.MaxClients })),
	num("proto-max-bulk-len", mut|mem, 1<<20, longMax, "536870912").to(int64Field(func(c *Config) *int64 { return &c.ProtoMaxBulkLen })),
	num("client-query-buffer-limit", mut|mem|unsigned, 1<<20, longMax, "1073741824").to(int64Field(func(c *Config) *int64 { return &c.ClientQueryBufferLimit })),
	special("client-output-buffer-limit", mut, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", outputLimits{}).to(stringField(func(c *Config) *string { return &c.ClientOutputBufferLimit })),
	num("maxmemory-clients", mut|mem|percent, -100, longMax, "0").to(percentField(func(c *Config) *int64 { return &c.MaxMemoryClients })),
	num("io-threads", 0, 1, 128, "1"),
	boolean("io-threads-do-reads", 0, "no"),
	str("requirepass", mut|null|sensitive, "").to(stringField(func(c *Config) *string { return &c.RequirePass })),
	str("aclfile", 0, "").to(stringField(func(c *Config) *string { return &c.ACLFile })),
	num("acllog-max-len", mut, 0, longMax, "128").to(intField(func(c *Config) *int { return &c.AclLogMaxLen })),
	choice("acl-pubsub-default", mut, "resetchannels", "allchannels", "resetchannels").to(stringField(func(c *Config) *string { return &c.ACLPubsubDefault })),
	choice("enable-protected-configs", 0, "no", "no", "yes", "local").to(stringField(func(c *Config) *string { return &c.EnableProtectedConfigs })),
	choice("enable-debug-command", 0, "no", "no", "yes", "local").to(stringField(func(c *Config) *string { return &c.EnableDebugCommand })),
	choice("enable-module-command", 0, "no", "no", "yes", "local").to(stringField(func(c *Config) *string { return &c.EnableModuleCommand })),
	num("tracking-table-max-keys", mut|unsigned, 0, longMax, "1000000").to(intField(func(c *Config) *int { return &c.TrackingTableMaxKeys })),

	// The process: logging, supervision, signals.
	boolean("daemonize", 0, "no").to(boolField(func(c *Config) *bool { return &c.Daemonize })),
	choice("supervised", 0, "no", "upstart", "systemd", "auto", "no").to(stringField(func(c *Config) *string { return &c.Supervised })),
	str("pidfile", null, "").to(stringField(func(c *Config) *string { return &c.PidFile })),
	choice("loglevel", mut, "notice", "debug", "verbose", "notice", "warning", "nothing").to(stringField(func(c *Config) *string { return &c.LogLevel })),
	str("logfile", 0, "").to(stringField(func(c *Config) *string { return &c.LogFile })),
	boolean("syslog-enabled", 0, "no"),
	str("syslog-ident", 0, "redis"),
	choice("syslog-facility", 0, "local0", "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"),
	boolean("crash-log-enabled", mut, "yes").to(boolField(func(c *Config) *bool { return &c.CrashLogEnabled })),
	boolean("crash-memcheck-enabled", mut, "yes"),
	boolean("use-exit-on-panic", mut|hidden, "no"),
	boolean("always-show-logo", 0, "no"),
	boolean("set-proc-title", 0, "yes"),
	str("proc-title-template", mut, "{title} {listen-addr} {server-mode}").valid(checkProcTitle),
	str("ignore-warnings", mut, ""),
	boolean("disable-thp", 0, "yes"),
	boolean("jemalloc-bg-thread", mut, "yes"),
	choice("oom-score-adj", mut, "no", "no", "yes", "relative", "absolute").kinds(func(k *enum) { k.vals = []int{0, 1, 1, 2} }).to(stringField(func(c *Config) *string { return &c.OOMScoreAdj })),
	special("oom-score-adj-values", mut, "0 200 800", oomValues{}).to(stringField(func(c *Config) *string { return &c.OOMScoreAdjValues })),
	choice("shutdown-on-sigint", mut, "default", shutdownFlags...).kinds(shutdownEnum).to(stringField(func(c *Config) *string { return &c.ShutdownOnSigint })),
	choice("shutdown-on-sigterm", mut, "default", shutdownFlags...).kinds(shutdownEnum).to(stringField(func(c *Config) *string { return &c.ShutdownOnSigterm })),
	num("shutdown-timeout", mut, 0, intMax, "10").to(intField(func(c *Config) *int { return &c.ShutdownTimeout })),
	str("server_cpulist", null, ""),
	str("bio_cpulist", null, ""),
	str("aof_rewrite_cpulist", null, ""),
	str("bgsave_cpulist", null, ""),
	num("watchdog-period", mut|hidden, 0, intMax, "0"),

	// The keyspace.
	num("databases", 0, 1, 256, "16").to(intField(func(c *Config) *int { return &c.Databases })), // Shoal holds 256
	num("hz", mut, 0, intMax, "10").to(clamped(intField(func(c *Config) *int { return &c.Hz }), 1, 500)),
	boolean("dynamic-hz", mut, "yes"),
	num("active-expire-effort", mut, 1, 10, "1"),
	boolean("activerehashing", mut, "yes"),
	special("notify-keyspace-events", mut, "", keyspaceEvents{}).single().to(stringField(func(c *Config) *string { return &c.NotifyKeyspaceEvents })),
	boolean("lazyfree-lazy-eviction", mut, "no"),
	boolean("lazyfree-lazy-expire", mut, "no"),
	boolean("lazyfree-lazy-server-del", mut, "no"),
	boolean("lazyfree-lazy-user-del", mut, "no"),
	boolean("lazyfree-lazy-user-flush", mut, "no"),
	choice("sanitize-dump-payload", mut, "no", "no", "yes", "clients"),

	// Memory and eviction.
	num("maxmemory", mut|mem|unsigned, 0, ullongMax, "0").to(uint64Field(func(c *Config) *uint64 { return &c.MaxMemory })),
	choice("maxmemory-policy", mut, "noeviction", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
		"allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction").to(stringField(func(c *Config) *string { return &c.MaxMemoryPolicy })),
	num("maxmemory-samples", mut, 1, intMax, "5"),
	num("maxmemory-eviction-tenacity", mut, 0, 100, "10"),
	num("lfu-log-factor", mut, 0, intMax, "10").to(int64Field(func(c *Config) *int64 { return &c.LFULogFactor })),
	num("lfu-decay-time", mut, 0, intMax, "1").to(int64Field(func(c *Config) *int64 { return &c.LFUDecayTime })),
	// Shoal has no allocator to defragment: it answers as a redis-server
	// built without active defragmentation (as the one its transcripts
	// were recorded from is).
	newDirective("activedefrag", mut, "no", yesNo{noYes: "Active defragmentation cannot be enabled: it " +
		"requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"}),
	num("active-defrag-ignore-bytes", mut|mem|unsigned, 1, longMax, "104857600"),
	num("active-defrag-threshold-lower", mut, 0, 1000, "10"),
	num("active-defrag-threshold-upper", mut, 0, 1000, "100"),
	num("active-defrag-cycle-min", mut, 1, 99, "1"),
	num("active-defrag-cycle-max", mut, 1, 99, "25"),
	num("active-defrag-max-scan-fields", mut, 1, longMax, "1000"),

	// Encodings: the sizes under which a value keeps its compact form.
	num("hash-max-listpack-entries", mut|unsigned, 0, longMax, "512").alias("hash-max-ziplist-entries").to(int64Field(func(c *Config) *int64 { return &c.HashMaxListpackEntries })),
	num("hash-max-listpack-value", mut|mem|unsigned, 0, longMax, "64").alias("hash-max-ziplist-value").to(int64Field(func(c *Config) *int64 { return &c.HashMaxListpackValue })),
	num("set-max-intset-entries", mut|unsigned, 0, longMax, "512").to(int64Field(func(c *Config) *int64 { return &c.SetMaxIntsetEntries })),
	num("zset-max-listpack-entries", mut|unsigned, 0, longMax, "128").alias("zset-max-ziplist-entries").to(int64Field(func(c *Config) *int64 { return &c.ZSetMaxListpackEntries })),
	num("zset-max-listpack-value", mut|mem|unsigned, 0, longMax, "64").alias("zset-max-ziplist-value").to(int64Field(func(c *Config) *int64 { return &c.ZSetMaxListpackValue })),
	num("list-max-listpack-size", mut, intMin, intMax, "-2").alias("list-max-ziplist-size").to(int64Field(func(c *Config) *int64 { return &c.ListMaxListpackSize })),
	num("list-compress-depth", mut, 0, intMax, "0"),
	num("hll-sparse-max-bytes", mut|mem|unsigned, 0, longMax, "3000").to(int64Field(func(c *Config) *int64 { return &c.HllSparseMaxBytes })),
	num("stream-node-max-bytes", mut|mem|unsigned, 0, longMax, "4096").to(int64Field(func(c *Config) *int64 { return &c.StreamNodeMaxBytes })),
	num("stream-node-max-entries", mut, 0, longMax, "100").to(int64Field(func(c *Config) *int64 { return &c.StreamNodeMaxEntries })),

	// Persistence: every write is durable in Pebble; SAVE and BGSAVE
	// write dbfilename; the other RDB and AOF settings are kept for the
	// clients that read them.
	str("dir", protected, "./data").to(stringField(func(c *Config) *string { return &c.Dir })).forced(),
	special("save", mut, "", saveKind{}).to(stringField(func(c *Config) *string { return &c.Save })),
	boolean("stop-writes-on-bgsave-error", mut, "yes").to(boolField(func(c *Config) *bool { return &c.StopWritesOnBgsaveError })),
	boolean("rdbcompression", mut, "yes").to(boolField(func(c *Config) *bool { return &c.RDBCompression })),
	boolean("rdbchecksum", 0, "yes").to(boolField(func(c *Config) *bool { return &c.RDBChecksum })),
	str("dbfilename", mut|protected, "dump.rdb").valid(checkBaseName("dbfilename can't be a path, just a filename")).to(stringField(func(c *Config) *string { return &c.DBFilename })),
	boolean("rdb-del-sync-files", mut, "no"),
	boolean("rdb-save-incremental-fsync", mut, "yes"),
	num("rdb-key-save-delay", mut|hidden, intMin, intMax, "0"),
	num("key-load-delay", mut|hidden, intMin, intMax, "0"),
	num("loading-process-events-interval-bytes", mut|hidden, 1024, intMax, "2097152"),
	boolean("appendonly", mut, "yes"),
	str("appendfilename", 0, "appendonly.aof"),
	str("appenddirname", 0, "appendonlydir"),
	choice("appendfsync", mut, "everysec", "everysec", "always", "no").to(stringField(func(c *Config) *string { return &c.AppendFsync })),
	boolean("no-appendfsync-on-rewrite", mut, "no"),
	num("auto-aof-rewrite-percentage", mut, 0, intMax, "100"),
	num("auto-aof-rewrite-min-size", mut|mem, 0, longMax, "67108864"),
	boolean("aof-load-truncated", mut, "yes"),
	boolean("aof-use-rdb-preamble", mut, "yes"),
	boolean("aof-timestamp-enabled", mut, "no"),
	boolean("aof-rewrite-incremental-fsync", mut, "yes"),
	boolean("aof-disable-auto-gc", mut, "no"),

	// Replication.
	special("replicaof", 0, "", replicaOf{}).alias("slaveof").to(stringField(func(c *Config) *string { return &c.ReplicaOf })),
	str("masterauth", mut|null|sensitive, "").to(stringField(func(c *Config) *string { return &c.MasterAuth })),
	str("masteruser", mut|null|sensitive, "").to(stringField(func(c *Config) *string { return &c.MasterUser })),
	boolean("replica-serve-stale-data", mut, "yes").alias("slave-serve-stale-data").to(boolField(func(c *Config) *bool { return &c.ReplicaServeStaleData })),
	boolean("replica-read-only", mut, "yes").alias("slave-read-only").to(boolField(func(c *Config) *bool { return &c.ReplicaReadOnly })),
	boolean("replica-lazy-flush", mut, "no").alias("slave-lazy-flush"),
	boolean("replica-ignore-maxmemory", mut, "yes").alias("slave-ignore-maxmemory"),
	boolean("replica-ignore-disk-write-errors", mut, "no"),
	boolean("replica-announced", mut, "yes"),
	str("replica-announce-ip", mut|null, "").alias("slave-announce-ip").to(stringField(func(c *Config) *string { return &c.ReplicaAnnounceIP })),
	num("replica-announce-port", mut, 0, 65535, "0").alias("slave-announce-port").to(intField(func(c *Config) *int { return &c.ReplicaAnnouncePort })),
	num("replica-priority", mut, 0, intMax, "100").alias("slave-priority"),
	boolean("repl-diskless-sync", mut, "yes"),
	num("repl-diskless-sync-delay", mut, 0, intMax, "5"),
	num("repl-diskless-sync-max-replicas", mut, 0, intMax, "0"),
	choice("repl-diskless-load", mut, "disabled", "disabled", "on-empty-db", "swapdb"),
	num("repl-ping-replica-period", mut, 1, intMax, "10").alias("repl-ping-slave-period").to(intField(func(c *Config) *int { return &c.ReplPingPeriod })),
	num("repl-timeout", mut, 1, intMax, "60").to(intField(func(c *Config) *int { return &c.ReplTimeout })),
	boolean("repl-disable-tcp-nodelay", mut, "no").to(boolField(func(c *Config) *bool { return &c.ReplDisableTCPNoDelay })),
	// NB: Shoal's default keeps more of the replication log than Redis's
	// 1mb: resyncs after a restart are partial more often.
	num("repl-backlog-size", mut|mem, 1, longMax, "16777216").to(clamped(int64Field(func(c *Config) *int64 { return &c.ReplBacklogSize }), 16<<10, longMax)),
	num("repl-backlog-ttl", mut, 0, longMax, "3600").to(int64Field(func(c *Config) *int64 { return &c.ReplBacklogTTL })),
	num("min-replicas-to-write", mut, 0, intMax, "0").alias("min-slaves-to-write").to(intField(func(c *Config) *int { return &c.MinReplicasToWrite })),
	num("min-replicas-max-lag", mut, 0, intMax, "10").alias("min-slaves-max-lag").to(intField(func(c *Config) *int { return &c.MinReplicasMaxLag })),
	choice("propagation-error-behavior", mut, "ignore", "ignore", "panic", "panic-on-replicas").to(stringField(func(c *Config) *string { return &c.PropagationErrorBehavior })),
	num("waitall-disconnect-grace", mut|own, intMin, intMax, "60").to(intField(func(c *Config) *int { return &c.WaitAllDisconnectGrace })),
	num("waitall-min-replicas", mut|own, intMin, intMax, "0").to(intField(func(c *Config) *int { return &c.WaitAllMinReplicas })),

	// Cluster: Shoal's cluster reads the directives Redis names alike;
	// the others are stored.
	boolean("cluster-enabled", 0, "no").to(boolField(func(c *Config) *bool { return &c.ClusterEnabled })),
	num("cluster-port", 0, 0, 65535, "0").to(intField(func(c *Config) *int { return &c.ClusterPort })),
	num("cluster-node-timeout", mut, 0, longMax, "15000").to(intField(func(c *Config) *int { return &c.ClusterNodeTimeout })),
	str("cluster-announce-ip", mut|null, "").to(stringField(func(c *Config) *string { return &c.ClusterAnnounceIP })),
	str("cluster-config-file", 0, "nodes.conf"),
	str("cluster-announce-hostname", mut|null, "").valid(checkHostname),
	num("cluster-announce-port", mut, 0, 65535, "0"),
	num("cluster-announce-bus-port", mut, 0, 65535, "0"),
	num("cluster-announce-tls-port", mut, 0, 65535, "0"),
	choice("cluster-preferred-endpoint-type", mut, "ip", "ip", "hostname", "unknown-endpoint"),
	num("cluster-replica-validity-factor", mut, 0, intMax, "10").alias("cluster-slave-validity-factor"),
	boolean("cluster-replica-no-failover", mut, "no").alias("cluster-slave-no-failover"),
	num("cluster-migration-barrier", mut, 0, intMax, "1"),
	boolean("cluster-allow-replica-migration", mut, "yes"),
	boolean("cluster-require-full-coverage", mut, "yes"),
	boolean("cluster-allow-reads-when-down", mut, "no"),
	boolean("cluster-allow-pubsubshard-when-down", mut, "yes"),
	num("cluster-link-sendbuf-limit", mut|mem|unsigned, 0, ullongMax, "0"),
	num("cluster-catalog-port", own, intMin, intMax, "0").to(intField(func(c *Config) *int { return &c.ClusterCatalogPort })),
	special("cluster-join", own, "", words{}).to(stringField(func(c *Config) *string { return &c.ClusterJoin })),
	str("cluster-gossip-key", own, "").to(stringField(func(c *Config) *string { return &c.ClusterGossipKey })),
	num("cluster-epoch-bump-timeout", mut|own, intMin, intMax, "30000").to(intField(func(c *Config) *int { return &c.ClusterEpochBumpTimeout })),
	num("schema-retry-base-ms", own, intMin, intMax, "100").to(intField(func(c *Config) *int { return &c.SchemaRetryBaseMs })),
	num("schema-event-max-retries", own, intMin, intMax, "5").to(intField(func(c *Config) *int { return &c.SchemaEventMaxRetries })),
	num("schema-resync-interval", own, intMin, intMax, "300000").to(intField(func(c *Config) *int { return &c.SchemaResyncInterval })),
	num("component-lock-lease", own, intMin, intMax, "30000").to(intField(func(c *Config) *int { return &c.ComponentLockLease })),

	// Scripts, the slow log and latency tracking.
	num("busy-reply-threshold", mut, 0, longMax, "5000").alias("lua-time-limit").to(int64Field(func(c *Config) *int64 { return &c.BusyReplyThreshold })),
	num("slowlog-log-slower-than", mut, -1, longMax, "10000").to(int64Field(func(c *Config) *int64 { return &c.SlowlogSlowerThan })),
	num("slowlog-max-len", mut, 0, longMax, "128").to(intField(func(c *Config) *int { return &c.SlowlogMaxLen })),
	num("latency-monitor-threshold", mut, 0, longMax, "0").to(int64Field(func(c *Config) *int64 { return &c.LatencyMonitorThreshold })),
	boolean("latency-tracking", mut, "yes").to(boolField(func(c *Config) *bool { return &c.LatencyTracking })),
	special("latency-tracking-info-percentiles", mut, "50 99 99.9", percentiles{}).to(stringField(func(c *Config) *string { return &c.LatencyPercentiles })),

	// TLS (server/tls.go).
	num("tls-port", mut, 0, 65535, "0").to(intField(func(c *Config) *int { return &c.TLS.Port })),
	str("tls-cert-file", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.CertFile })),
	str("tls-key-file", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.KeyFile })),
	str("tls-key-file-pass", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.KeyFilePass })),
	str("tls-client-cert-file", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.ClientCertFile })),
	str("tls-client-key-file", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.ClientKeyFile })),
	str("tls-client-key-file-pass", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.ClientKeyFilePass })),
	str("tls-dh-params-file", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.DHParamsFile })),
	str("tls-ca-cert-file", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.CACertFile })),
	str("tls-ca-cert-dir", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.CACertDir })),
	choice("tls-auth-clients", mut, "yes", "no", "yes", "optional").to(stringField(func(c *Config) *string { return &c.TLS.AuthClients })),
	boolean("tls-replication", mut, "no").to(boolField(func(c *Config) *bool { return &c.TLS.Replication })),
	boolean("tls-cluster", mut, "no"),
	str("tls-protocols", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.Protocols })),
	str("tls-ciphers", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.Ciphers })),
	str("tls-ciphersuites", mut|null, "").to(stringField(func(c *Config) *string { return &c.TLS.Ciphersuites })),
	boolean("tls-prefer-server-ciphers", mut, "no"),
	boolean("tls-session-caching", mut, "yes").to(boolField(func(c *Config) *bool { return &c.TLS.SessionCaching })),
	num("tls-session-cache-size", mut, 0, intMax, "20480"),
	num("tls-session-cache-timeout", mut, 0, intMax, "300"),

	// Shoal's own: storage caches and the metrics listener.
	num("cache-size", mem|own, 1<<20, longMax, "134217728").to(int64Field(func(c *Config) *int64 { return &c.CacheSize })),
	num("hot-cache-size", mem|own, 0, longMax, "67108864").to(int64Field(func(c *Config) *int64 { return &c.HotCacheSize })),
	num("memtable-size", mem|own, 1<<20, 4<<30, "8388608").to(int64Field(func(c *Config) *int64 { return &c.MemtableSize })),
	num("metrics-port", own, 0, 65535, "0").to(intField(func(c *Config) *int { return &c.MetricsPort })),
	str("metrics-bind", own, "127.0.0.1").to(stringField(func(c *Config) *string { return &c.MetricsBind })),
	boolean("metrics-pprof", own, "no").to(boolField(func(c *Config) *bool { return &c.MetricsPprof })),
}

// shutdownFlags are the names shutdown-on-sigint and -sigterm combine.
var shutdownFlags = []string{"default", "save", "nosave", "now", "force"}

func shutdownEnum(k *enum) {
	k.vals, k.flags = []int{0, 1, 2, 4, 8}, true
	k.check = func(v int) error {
		if v&1 != 0 && v&2 != 0 {
			return errShutdownSaveNosave
		}
		return nil
	}
}

// kinds adjusts an enumeration's kind.
func (d *Directive) kinds(f func(*enum)) *Directive {
	k := d.kind.(enum)
	f(&k)
	d.kind = k
	d.MultiArg = k.flags
	return d
}

// single marks a special directive that takes one word.
func (d *Directive) single() *Directive { d.MultiArg = false; return d }

// forced makes CONFIG REWRITE write a text directive's value always.
func (d *Directive) forced() *Directive {
	k := d.kind.(text)
	k.always = true
	d.kind = k
	return d
}

// byName finds a directive by its name or alias, lower case.
var byName = func() map[string]*Directive {
	m := make(map[string]*Directive, 2*len(directives))
	for _, d := range directives {
		m[d.Name] = d
		if d.Alias != "" {
			m[d.Alias] = d
		}
	}
	return m
}()

// Lookup returns the directive called name (its name or alias, in any
// case), or nil.
func Lookup(name string) *Directive { return byName[strings.ToLower(name)] }

// Entry is one name CONFIG GET may list: a directive's name or its alias.
type Entry struct {
	Name string
	*Directive
}

// Entries returns every name and alias, each with its directive, in the
// order CONFIG GET lists them.
func Entries() []Entry { return entries }

var entries = func() []Entry {
	var out []Entry
	for _, d := range directives {
		out = append(out, Entry{d.Name, d})
		if d.Alias != "" {
			out = append(out, Entry{d.Alias, d})
		}
	}
	return out
}()
