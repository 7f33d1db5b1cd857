// Package config reads Shoal's configuration in redis.conf's form: a file
// of "directive arg..." lines and command-line "--directive value" flags,
// into a Config validated before the server starts. One table of directives
// serves parsing, CONFIG GET, CONFIG SET and CONFIG REWRITE.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Config is Shoal's configuration. Each field documents its directive and
// default; Default returns a Config with every default set.
type Config struct {
	// Port is the RESP port ("port"); default 6379; 0 picks a free one.
	Port int
	// Bind lists the addresses to listen on ("bind"); default 127.0.0.1.
	Bind []string
	// Dir is the data folder ("dir"), created if missing; default ./data.
	Dir string
	// RequirePass, when set, makes clients AUTH first ("requirepass").
	RequirePass string
	// AppendOnly is accepted for compatibility ("appendonly"); Shoal always
	// persists every write. Default yes.
	AppendOnly bool
	// AppendFsync is when writes reach stable storage ("appendfsync"):
	// always, everysec (default) or no.
	AppendFsync string
	// Databases is the number of SELECTable databases ("databases"),
	// 1..256; default 16.
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
	// ProtectedMode refuses non-loopback clients when no password is set and
	// no bind address was configured ("protected-mode"); default yes.
	ProtectedMode bool
	// Save is accepted for compatibility ("save"); persistence is always on.
	Save string
	// MetricsPort serves Prometheus metrics on /metrics ("metrics-port");
	// 0 (default) disables it.
	MetricsPort int
	// MetricsBind is the address of the metrics listener ("metrics-bind");
	// default 127.0.0.1.
	MetricsBind string
	// SlowlogSlowerThan logs commands slower than this many microseconds
	// ("slowlog-log-slower-than"); default 10000; negative disables.
	SlowlogSlowerThan int64
	// SlowlogMaxLen is the slow log's length ("slowlog-max-len"); default 128.
	SlowlogMaxLen int
	// Hz is how often per second background work runs ("hz"); default 10.
	Hz int
	// CacheSize is Pebble's block cache ("cache-size"); default 128mb.
	CacheSize int64
	// HotCacheSize is the in-memory cache of hot keys' metadata and string
	// values ("hot-cache-size"); default 64mb; 0 disables it.
	HotCacheSize int64
	// MaxMemory is accepted for compatibility ("maxmemory"); data lives on
	// disk. Default 0.
	MaxMemory int64
	// MaxMemoryPolicy is accepted for compatibility ("maxmemory-policy").
	MaxMemoryPolicy string
	// ClientOutputBufferLimit holds the "client-output-buffer-limit" classes.
	ClientOutputBufferLimit string

	// ReplicaOf is "host port" of this node's primary ("replicaof" or
	// "slaveof"); empty for a primary.
	ReplicaOf string
	// MasterAuth is the password sent to the primary ("masterauth").
	MasterAuth string
	// ReplicaReadOnly refuses client writes on a replica
	// ("replica-read-only"); default yes.
	ReplicaReadOnly bool
	// ReplBacklogSize is how much replication log a primary keeps for
	// partial resyncs ("repl-backlog-size"); default 16mb.
	ReplBacklogSize int64
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
	// Ignored lists directives read but not implemented, logged once at start.
	Ignored []string
	// bindSet records that bind was given explicitly (protected mode).
	bindSet bool
}

// Default returns the configuration Shoal runs with when given nothing.
func Default() *Config {
	return &Config{
		Port:                    6379,
		Bind:                    []string{"127.0.0.1"},
		Dir:                     "./data",
		AppendOnly:              true,
		AppendFsync:             "everysec",
		Databases:               16,
		MaxClients:              10000,
		LogLevel:                "notice",
		ProtoMaxBulkLen:         512 << 20,
		ClientQueryBufferLimit:  1 << 30,
		ProtectedMode:           true,
		Save:                    "3600 1 300 100 60 10000",
		MetricsBind:             "127.0.0.1",
		SlowlogSlowerThan:       10000,
		SlowlogMaxLen:           128,
		Hz:                      10,
		CacheSize:               128 << 20,
		HotCacheSize:            64 << 20,
		MaxMemoryPolicy:         "noeviction",
		ClientOutputBufferLimit: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		ReplicaReadOnly:         true,
		ReplBacklogSize:         16 << 20,
		ReplTimeout:             60,
		MinReplicasMaxLag:       10,
		WaitAllDisconnectGrace:  60,
		ClusterNodeTimeout:      15000,
		ClusterEpochBumpTimeout: 30000,
		SchemaRetryBaseMs:       100,
		SchemaEventMaxRetries:   5,
		SchemaResyncInterval:    300000,
		ComponentLockLease:      30000,
		BusyReplyThreshold:      5000,
	}
}

// BindExplicit reports whether bind was configured rather than defaulted.
func (c *Config) BindExplicit() bool { return c.bindSet }

// Validate checks every field and names the field and value it rejects.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Port < 0 || c.Port > 65535 {
		bad("port: %d is outside 0..65535", c.Port)
	}
	if len(c.Bind) == 0 {
		bad("bind: at least one address is needed")
	}
	if c.Dir == "" {
		bad("dir: must not be empty")
	}
	switch c.AppendFsync {
	case "always", "everysec", "no":
	default:
		bad("appendfsync: %q is not always, everysec or no", c.AppendFsync)
	}
	if c.Databases < 1 || c.Databases > 256 {
		bad("databases: %d is outside 1..256", c.Databases)
	}
	if c.MaxClients < 1 {
		bad("maxclients: %d must be at least 1", c.MaxClients)
	}
	if c.Timeout < 0 {
		bad("timeout: %d must not be negative", c.Timeout)
	}
	switch c.LogLevel {
	case "debug", "verbose", "notice", "warning", "nothing":
	default:
		bad("loglevel: %q is not debug, verbose, notice or warning", c.LogLevel)
	}
	if c.ProtoMaxBulkLen < 1<<20 {
		bad("proto-max-bulk-len: %d is below 1mb", c.ProtoMaxBulkLen)
	}
	if c.ClientQueryBufferLimit < 1<<20 {
		bad("client-query-buffer-limit: %d is below 1mb", c.ClientQueryBufferLimit)
	}
	if c.MetricsPort < 0 || c.MetricsPort > 65535 {
		bad("metrics-port: %d is outside 0..65535", c.MetricsPort)
	}
	if c.SlowlogMaxLen < 0 {
		bad("slowlog-max-len: %d must not be negative", c.SlowlogMaxLen)
	}
	if c.Hz < 1 || c.Hz > 500 {
		bad("hz: %d is outside 1..500", c.Hz)
	}
	if c.HotCacheSize < 0 {
		bad("hot-cache-size: %d must not be negative", c.HotCacheSize)
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
		for _, p := range []struct {
			name string
			v    int
		}{{"cluster-port", c.ClusterPort}, {"cluster-catalog-port", c.ClusterCatalogPort}} {
			if p.v < 0 || p.v > 65535 {
				bad("%s: %d is outside 0..65535", p.name, p.v)
			}
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
	if c.ReplBacklogSize < 16<<10 {
		bad("repl-backlog-size: %d is below 16kb", c.ReplBacklogSize)
	}
	if c.ReplTimeout < 1 {
		bad("repl-timeout: %d must be at least 1", c.ReplTimeout)
	}
	if c.MinReplicasToWrite < 0 || c.MinReplicasMaxLag < 0 || c.WaitAllMinReplicas < 0 || c.WaitAllDisconnectGrace < 0 {
		bad("min-replicas-to-write, min-replicas-max-lag, waitall-min-replicas and waitall-disconnect-grace must not be negative")
	}
	if c.CacheSize < 1<<20 {
		bad("cache-size: %d is below 1mb", c.CacheSize)
	}
	return errors.Join(errs...)
}

// Load builds a Config from command-line arguments in redis-server's form:
// an optional config file path first, then "--directive value..." pairs
// that override it.
func Load(args []string) (*Config, error) {
	c := Default()
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		c.File = args[0]
		data, err := os.ReadFile(args[0])
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := c.parse(string(data), args[0]); err != nil {
			return nil, err
		}
		args = args[1:]
	}
	// "--port 7000 --bind a b" becomes the lines "port 7000" and "bind a b".
	var b strings.Builder
	for i, a := range args {
		if strings.HasPrefix(a, "--") {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(a[2:])
			continue
		}
		if i == 0 {
			return nil, fmt.Errorf("config: argument %q: expected --directive", a)
		}
		b.WriteByte(' ')
		b.WriteString(quoteArg(a))
	}
	if err := c.parse(b.String(), "command line"); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

// Parse reads redis.conf text into a Config over the defaults.
func Parse(text string) (*Config, error) {
	c := Default()
	if err := c.parse(text, "config"); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func (c *Config) parse(text, source string) error {
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		words, err := SplitArgs(line)
		if err != nil {
			return fmt.Errorf("config: %s line %d: %w", source, n+1, err)
		}
		if len(words) == 0 {
			continue
		}
		name := strings.ToLower(words[0])
		d := lookup(name)
		if d == nil {
			c.Ignored = append(c.Ignored, name)
			continue
		}
		if err := d.set(c, words[1:]); err != nil {
			return fmt.Errorf("config: %s line %d: %s: %w", source, n+1, name, err)
		}
	}
	return nil
}

func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\"'\\") {
		return a
	}
	return strconv.Quote(a)
}

// SplitArgs splits a line into words as redis.conf does: spaces separate,
// double quotes take \n \t \xHH escapes, single quotes are literal.
func SplitArgs(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var w strings.Builder
		switch line[i] {
		case '"':
			i++
			for {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				ch := line[i]
				if ch == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						w.WriteByte('\n')
					case 'r':
						w.WriteByte('\r')
					case 't':
						w.WriteByte('\t')
					case 'x':
						if i+2 < len(line) {
							if v, err := strconv.ParseUint(line[i+1:i+3], 16, 8); err == nil {
								w.WriteByte(byte(v))
								i += 2
								break
							}
						}
						w.WriteByte('x')
					default:
						w.WriteByte(line[i])
					}
					i++
					continue
				}
				if ch == '"' {
					i++
					break
				}
				w.WriteByte(ch)
				i++
			}
		case '\'':
			i++
			for {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				if line[i] == '\'' {
					i++
					break
				}
				w.WriteByte(line[i])
				i++
			}
		default:
			for i < len(line) && line[i] != ' ' && line[i] != '\t' {
				w.WriteByte(line[i])
				i++
			}
			out = append(out, w.String())
			continue
		}
		if i < len(line) && line[i] != ' ' && line[i] != '\t' {
			return nil, errors.New("closing quote must be followed by a space")
		}
		out = append(out, w.String())
	}
}

// ParseMemory parses Redis memory sizes: 100, 1k, 1kb, 5mb, 1gb (k = 1000,
// kb = 1024, and so on).
func ParseMemory(s string) (int64, error) {
	ls := strings.ToLower(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}, {"b", 1}} {
		if strings.HasSuffix(ls, u.suffix) {
			ls = strings.TrimSuffix(ls, u.suffix)
			mult = u.mult
			break
		}
	}
	n, err := strconv.ParseInt(ls, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a memory size", s)
	}
	return n * mult, nil
}
