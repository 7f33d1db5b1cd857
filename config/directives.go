package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Directive is one configuration parameter: how to read it from arguments,
// how to show it in CONFIG GET, and whether CONFIG SET may change it while
// the server runs.
type Directive struct {
	Name string
	// Mutable reports that CONFIG SET may change it at run time.
	Mutable bool
	set     func(c *Config, args []string) error
	get     func(c *Config) string
}

// Set applies args to c.
func (d *Directive) Set(c *Config, args []string) error { return d.set(c, args) }

// Get renders the directive's value as CONFIG GET shows it.
func (d *Directive) Get(c *Config) string { return d.get(c) }

func one(args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("wants one argument, got %d", len(args))
	}
	return args[0], nil
}

func intDir(name string, mutable bool, f func(*Config) *int) *Directive {
	return &Directive{Name: name, Mutable: mutable,
		set: func(c *Config, a []string) error {
			s, err := one(a)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%q is not an integer", s)
			}
			*f(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*f(c)) }}
}

func int64Dir(name string, mutable bool, f func(*Config) *int64) *Directive {
	return &Directive{Name: name, Mutable: mutable,
		set: func(c *Config, a []string) error {
			s, err := one(a)
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not an integer", s)
			}
			*f(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) }}
}

func memDir(name string, mutable bool, f func(*Config) *int64) *Directive {
	return &Directive{Name: name, Mutable: mutable,
		set: func(c *Config, a []string) error {
			s, err := one(a)
			if err != nil {
				return err
			}
			n, err := ParseMemory(s)
			if err != nil {
				return err
			}
			*f(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) }}
}

func boolDir(name string, mutable bool, f func(*Config) *bool) *Directive {
	return &Directive{Name: name, Mutable: mutable,
		set: func(c *Config, a []string) error {
			s, err := one(a)
			if err != nil {
				return err
			}
			switch strings.ToLower(s) {
			case "yes":
				*f(c) = true
			case "no":
				*f(c) = false
			default:
				return fmt.Errorf("%q is not yes or no", s)
			}
			return nil
		},
		get: func(c *Config) string {
			if *f(c) {
				return "yes"
			}
			return "no"
		}}
}

func stringDir(name string, mutable bool, f func(*Config) *string) *Directive {
	return &Directive{Name: name, Mutable: mutable,
		set: func(c *Config, a []string) error {
			s, err := one(a)
			if err != nil {
				return err
			}
			*f(c) = s
			return nil
		},
		get: func(c *Config) string { return *f(c) }}
}

// wordsDir keeps all arguments joined by spaces (save, client-output-buffer-limit).
func wordsDir(name string, mutable bool, f func(*Config) *string) *Directive {
	return &Directive{Name: name, Mutable: mutable,
		set: func(c *Config, a []string) error { *f(c) = strings.Join(a, " "); return nil },
		get: func(c *Config) string { return *f(c) }}
}

func enumDir(name string, mutable bool, values []string, f func(*Config) *string) *Directive {
	d := stringDir(name, mutable, f)
	set := d.set
	d.set = func(c *Config, a []string) error {
		if len(a) == 1 {
			a = []string{strings.ToLower(a[0])}
			for _, v := range values {
				if a[0] == v {
					return set(c, a)
				}
			}
			return fmt.Errorf("%q is not one of %s", a[0], strings.Join(values, ", "))
		}
		return set(c, a)
	}
	return d
}

// Directives returns every directive Shoal implements, in CONFIG GET order.
func Directives() []*Directive { return directives }

var directives = []*Directive{
	intDir("port", false, func(c *Config) *int { return &c.Port }),
	{Name: "bind", set: func(c *Config, a []string) error {
		if len(a) == 0 {
			return fmt.Errorf("wants at least one address")
		}
		c.Bind, c.bindSet = append([]string(nil), a...), true
		return nil
	}, get: func(c *Config) string { return strings.Join(c.Bind, " ") }},
	stringDir("dir", false, func(c *Config) *string { return &c.Dir }),
	stringDir("requirepass", true, func(c *Config) *string { return &c.RequirePass }),
	boolDir("appendonly", true, func(c *Config) *bool { return &c.AppendOnly }),
	enumDir("appendfsync", true, []string{"everysec", "always", "no"}, func(c *Config) *string { return &c.AppendFsync }),
	intDir("databases", false, func(c *Config) *int { return &c.Databases }),
	intDir("maxclients", true, func(c *Config) *int { return &c.MaxClients }),
	intDir("timeout", true, func(c *Config) *int { return &c.Timeout }),
	enumDir("loglevel", true, []string{"debug", "verbose", "notice", "warning", "nothing"}, func(c *Config) *string { return &c.LogLevel }),
	stringDir("logfile", false, func(c *Config) *string { return &c.LogFile }),
	memDir("proto-max-bulk-len", true, func(c *Config) *int64 { return &c.ProtoMaxBulkLen }),
	memDir("client-query-buffer-limit", true, func(c *Config) *int64 { return &c.ClientQueryBufferLimit }),
	boolDir("protected-mode", true, func(c *Config) *bool { return &c.ProtectedMode }),
	wordsDir("save", true, func(c *Config) *string { return &c.Save }),
	intDir("metrics-port", false, func(c *Config) *int { return &c.MetricsPort }),
	stringDir("metrics-bind", false, func(c *Config) *string { return &c.MetricsBind }),
	int64Dir("slowlog-log-slower-than", true, func(c *Config) *int64 { return &c.SlowlogSlowerThan }),
	intDir("slowlog-max-len", true, func(c *Config) *int { return &c.SlowlogMaxLen }),
	intDir("hz", true, func(c *Config) *int { return &c.Hz }),
	memDir("cache-size", false, func(c *Config) *int64 { return &c.CacheSize }),
	memDir("hot-cache-size", false, func(c *Config) *int64 { return &c.HotCacheSize }),
	memDir("maxmemory", true, func(c *Config) *int64 { return &c.MaxMemory }),
	enumDir("maxmemory-policy", true, []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}, func(c *Config) *string { return &c.MaxMemoryPolicy }),
	wordsDir("client-output-buffer-limit", true, func(c *Config) *string { return &c.ClientOutputBufferLimit }),
	wordsDir("replicaof", false, func(c *Config) *string { return &c.ReplicaOf }),
	stringDir("masterauth", true, func(c *Config) *string { return &c.MasterAuth }),
	boolDir("replica-read-only", true, func(c *Config) *bool { return &c.ReplicaReadOnly }),
	memDir("repl-backlog-size", true, func(c *Config) *int64 { return &c.ReplBacklogSize }),
	intDir("repl-timeout", true, func(c *Config) *int { return &c.ReplTimeout }),
	intDir("min-replicas-to-write", true, func(c *Config) *int { return &c.MinReplicasToWrite }),
	intDir("min-replicas-max-lag", true, func(c *Config) *int { return &c.MinReplicasMaxLag }),
	intDir("waitall-disconnect-grace", true, func(c *Config) *int { return &c.WaitAllDisconnectGrace }),
	intDir("waitall-min-replicas", true, func(c *Config) *int { return &c.WaitAllMinReplicas }),
	boolDir("cluster-enabled", false, func(c *Config) *bool { return &c.ClusterEnabled }),
	intDir("cluster-port", false, func(c *Config) *int { return &c.ClusterPort }),
	intDir("cluster-catalog-port", false, func(c *Config) *int { return &c.ClusterCatalogPort }),
	wordsDir("cluster-join", false, func(c *Config) *string { return &c.ClusterJoin }),
	intDir("cluster-node-timeout", false, func(c *Config) *int { return &c.ClusterNodeTimeout }),
	stringDir("cluster-announce-ip", false, func(c *Config) *string { return &c.ClusterAnnounceIP }),
	stringDir("cluster-gossip-key", false, func(c *Config) *string { return &c.ClusterGossipKey }),
	intDir("cluster-epoch-bump-timeout", true, func(c *Config) *int { return &c.ClusterEpochBumpTimeout }),
	intDir("schema-retry-base-ms", false, func(c *Config) *int { return &c.SchemaRetryBaseMs }),
	intDir("schema-event-max-retries", false, func(c *Config) *int { return &c.SchemaEventMaxRetries }),
	intDir("schema-resync-interval", false, func(c *Config) *int { return &c.SchemaResyncInterval }),
	intDir("component-lock-lease", false, func(c *Config) *int { return &c.ComponentLockLease }),
	int64Dir("busy-reply-threshold", true, func(c *Config) *int64 { return &c.BusyReplyThreshold }),
}

// aliases are other names of directives, as redis.conf accepts them.
var aliases = map[string]string{
	"slaveof":             "replicaof",
	"lua-time-limit":      "busy-reply-threshold",
	"slave-read-only":     "replica-read-only",
	"min-slaves-to-write": "min-replicas-to-write",
	"min-slaves-max-lag":  "min-replicas-max-lag",
}

func lookup(name string) *Directive {
	if a, ok := aliases[name]; ok {
		name = a
	}
	for _, d := range directives {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Lookup returns the directive called name (lower case), or nil.
func Lookup(name string) *Directive { return lookup(name) }

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.Bind = append([]string(nil), c.Bind...)
	d.Ignored = append([]string(nil), c.Ignored...)
	return &d
}

// Render writes c as redis.conf text (CONFIG REWRITE): every directive
// that differs from the default, one per line.
func (c *Config) Render() string {
	def := Default()
	var b strings.Builder
	b.WriteString("# Written by Shoal's CONFIG REWRITE.\n")
	for _, d := range directives {
		v := d.get(c)
		if v == d.get(def) {
			continue
		}
		b.WriteString(d.Name)
		if d.Name == "bind" || d.Name == "save" || d.Name == "client-output-buffer-limit" || d.Name == "replicaof" {
			b.WriteString(" " + v)
		} else {
			b.WriteString(" " + quoteArg(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
