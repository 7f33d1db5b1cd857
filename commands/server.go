package commands

import (
	"net"
	"os"
	"strings"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// serverCommands are the server group: INFO, CONFIG, COMMAND, the
// persistence commands, SLOWLOG, SHUTDOWN and the diagnostics containers
// (MEMORY, LATENCY, DEBUG), plus FUNCTION FLUSH for clients that reset
// a server between tests.
func serverCommands() []*Command {
	return []*Command{
		{Name: "info", Arity: -1, Flags: Loading | Stale | MaintenanceOK, ACL: []string{"slow", "dangerous"},
			Group: "server", Summary: "Returns information and statistics about the server.", Since: "1.0.0", Complexity: "O(1)",
			Handler: info},
		configCommand(),
		commandCommand(),
		{Name: "monitor", Arity: 1, Flags: Admin | NoScript | Loading | Stale, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Listen for all requests received by the server in real time", Since: "1.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { return c.Server.Monitor(c) }},
		{Name: "time", Arity: 1, Flags: Loading | Stale | Fast | MaintenanceOK, ACL: []string{"fast"},
			Group: "server", Summary: "Returns the server time.", Since: "2.6.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error {
				now := c.Store.Now()
				c.Out.Array(2)
				c.Out.BulkInt(now.Unix())
				c.Out.BulkInt(int64(now.Nanosecond() / 1000))
				return nil
			}},
		{Name: "lastsave", Arity: 1, Flags: Loading | Stale | Fast | MaintenanceOK, ACL: []string{"admin", "fast", "dangerous"},
			Group: "server", Summary: "Returns the Unix timestamp of the last successful save to disk.", Since: "1.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { c.Out.Int(c.Store.Stats.LastSaveUnix.Load()); return nil }},
		{Name: "save", Arity: 1, Flags: Admin | NoScript | NoMulti | NoAsyncLoading | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Synchronously saves the database(s) to disk.", Since: "1.0.0",
			Complexity: "O(N) where N is the total number of keys in all databases", Handler: save},
		{Name: "bgsave", Arity: -1, Flags: Admin | NoScript | NoAsyncLoading | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Asynchronously saves the database(s) to disk.", Since: "1.0.0", Complexity: "O(1)", Handler: bgsave},
		{Name: "backup", Arity: 3, Flags: Admin | NoScript | NoMulti | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Writes a checkpoint of the data folder to a new folder, which shoal --dir starts from.", Since: "7.2.0",
			Complexity: "O(N) where N is the number of files of the data folder", Handler: backup},
		{Name: "bgrewriteaof", Arity: 1, Flags: Admin | NoScript | NoAsyncLoading | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Asynchronously rewrites the append-only file to disk.", Since: "1.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error {
				started, err := c.Server.RewriteAOF()
				if err != nil {
					return err
				}
				if started {
					c.Out.Simple("Background append only file rewriting started")
				} else {
					c.Out.Simple("Background append only file rewriting scheduled")
				}
				return nil
			}},
		slowlogCommand(),
		{Name: "shutdown", Arity: -1, Flags: Admin | NoScript | Loading | Stale | NoMulti | AllowBusy | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", Since: "1.0.0",
			Complexity: "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
			Handler:    shutdown},
		memoryCommand(),
		aclCommand(),
		moduleCommand(),
		lolwutCommand(),
		latencyCommand(),
		{Name: "debug", Arity: -2, Flags: Admin | NoScript | Loading | Stale | Protected, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "A container for debugging commands.", Since: "1.0.0", Complexity: "Depends on subcommand.",
			Handler: debug},
	}
}

// serverSub builds a container's subcommand literal; parent names it
// "parent|name".
func serverSub(parent, name string, arity int, flags Flags, acl []string, group, summary, since, complexity string, h func(*Ctx) error) *Command {
	return &Command{Name: parent + "|" + name, Arity: arity, Flags: flags, ACL: acl, Group: group,
		Summary: summary, Since: since, Complexity: complexity, Handler: h}
}

// containerHelp is a container's HELP subcommand: the lines Redis prints,
// after "<NAME> <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
// and before "HELP / Prints this help.".
func containerHelp(parent, group, since string, acl []string, lines ...string) *Command {
	return serverSub(parent, "help", 2, Loading|Stale|MaintenanceOK, acl, group,
		"Returns helpful text about the different subcommands.", since, "O(1)",
		func(c *Ctx) error {
			c.Out.Array(len(lines) + 3)
			c.Out.Simple(upper(parent) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
			for _, l := range lines {
				c.Out.Simple(l)
			}
			c.Out.Simple("HELP")
			c.Out.Simple("    Prints this help.")
			return nil
		})
}

// ErrSubcommandSyntax is Redis's reply to a known subcommand called with
// arguments it does not take.
func ErrSubcommandSyntax(c *Ctx) error {
	return Errf("unknown subcommand or wrong number of arguments for '%s'. Try %s HELP.", truncate(c.Args[1], 128), upper(string(c.Args[0])))
}

func info(c *Ctx) error {
	sections := make([]string, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		sections = append(sections, strings.ToLower(string(a)))
	}
	c.Out.Verbatim("txt", c.Server.Info(c.Client, sections))
	return nil
}

// --- CONFIG ---

func configCommand() *Command {
	admin := Admin | NoScript | Loading | Stale | MaintenanceOK
	acl := []string{"admin", "slow", "dangerous"}
	sub := func(name string, arity int, summary, since, complexity string, h func(*Ctx) error) *Command {
		return serverSub("config", name, arity, admin, acl, "server", summary, since, complexity, h)
	}
	return &Command{Name: "config", Arity: -2, ACL: []string{"slow"}, Group: "server",
		Summary: "A container for server configuration commands.", Since: "2.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("get", -3, "Returns the effective values of configuration parameters.", "2.0.0",
				"O(N) when N is the number of configuration parameters provided", configGet),
			serverSub("config", "set", -4, admin|Topology, acl, "server", "Sets configuration parameters in-flight.", "2.0.0",
				"O(N) when N is the number of configuration parameters provided", configSet),
			sub("resetstat", 2, "Resets the server's statistics.", "2.0.0", "O(1)", func(c *Ctx) error {
				c.Server.ResetStats()
				c.Out.OK()
				return nil
			}),
			sub("rewrite", 2, "Persists the effective configuration to file.", "2.8.0", "O(1)", func(c *Ctx) error {
				if err := c.Server.ConfigRewrite(false); err != nil {
					return err
				}
				c.Out.OK()
				return nil
			}),
			containerHelp("config", "server", "5.0.0", []string{"slow"},
				"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
				"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
				"RESETSTAT", "    Reset statistics reported by the INFO command.",
				"REWRITE", "    Rewrite the configuration file."),
		}}
}

// configGet answers CONFIG GET as Redis 7.0 does: a pattern without glob
// characters names one directive or alias exactly (hidden ones too) and
// answers under the name as given; a pattern matches names and aliases in
// any case; each name is listed once.
func configGet(c *Ctx) error {
	cfg := c.Server.Config()
	var pairs []string
	seen := map[string]bool{}
	for _, arg := range c.Args[2:] {
		p := string(arg)
		if !strings.ContainsAny(p, "[*?") {
			if d := config.Lookup(p); d != nil && !seen[strings.ToLower(p)] {
				seen[strings.ToLower(p)] = true
				pairs = append(pairs, p, d.Get(cfg))
			}
			continue
		}
		for _, e := range config.Entries() {
			if e.Hidden || seen[e.Name] || !GlobMatchFold(arg, []byte(e.Name)) {
				continue
			}
			seen[e.Name] = true
			pairs = append(pairs, e.Name, e.Get(cfg))
		}
	}
	c.Out.Map(len(pairs) / 2)
	for _, s := range pairs {
		c.Out.BulkString(s)
	}
	return nil
}

func configSet(c *Ctx) error {
	if (len(c.Args)-2)%2 != 0 {
		return ErrSyntax
	}
	pairs := make([][2]string, 0, (len(c.Args)-2)/2)
	for i := 2; i+1 < len(c.Args); i += 2 {
		pairs = append(pairs, [2]string{string(c.Args[i]), string(c.Args[i+1])})
	}
	if err := c.Server.ConfigSet(pairs, c.Client.Local()); err != nil {
		return err
	}
	c.Out.OK()
	return nil
}

// Local reports whether the client is on this host, as Redis's
// islocalClient decides: connected to the Unix socket or from the
// loopback.
func (cl *Client) Local() bool {
	host, _, err := net.SplitHostPort(cl.Addr)
	if cl.Unix {
		return true
	}
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// --- persistence ---

func save(c *Ctx) error {
	started, err := c.Server.Save(false)
	if err != nil {
		return &Error{Code: "ERR"} // Redis's bare ERR; the reason is logged
	}
	if !started {
		return Errf("Background save already in progress")
	}
	c.Out.OK()
	return nil
}

// backup runs BACKUP TO <dir>: a Pebble checkpoint of the data, hard
// links to its tables, in a folder that must not exist yet.
func backup(c *Ctx) error {
	if !Is(c.Args[1], "to") {
		return ErrSyntax
	}
	dir := string(c.Args[2])
	if _, err := os.Stat(dir); err == nil {
		return Errf("Backup folder '%s' already exists", dir)
	}
	if err := c.Store.Checkpoint(dir); err != nil {
		return Errf("Backup to '%s' failed: %s", dir, err)
	}
	c.Out.OK()
	return nil
}

func bgsave(c *Ctx) error {
	schedule := false
	switch {
	case len(c.Args) == 1:
	case len(c.Args) == 2 && Is(c.Args[1], "schedule"):
		schedule = true
	default:
		return ErrSyntax
	}
	started, err := c.Server.Save(true)
	if err != nil {
		return err
	}
	switch {
	case started:
		c.Out.Simple("Background saving started")
	case schedule:
		c.Out.Simple("Background saving scheduled")
	default:
		return Errf("Background save already in progress")
	}
	return nil
}

func shutdown(c *Ctx) error {
	var nosave, save, abort, now, force bool
	for _, a := range c.Args[1:] {
		switch {
		case Is(a, "nosave"):
			nosave = true
		case Is(a, "save"):
			save = true
		case Is(a, "now"):
			now = true
		case Is(a, "force"):
			force = true
		case Is(a, "abort"):
			abort = true
		default:
			return ErrSyntax
		}
	}
	if (nosave && save) || (abort && (nosave || save || now || force)) {
		return ErrSyntax
	}
	if abort {
		if err := c.Server.ShutdownAbort(); err != nil {
			return err
		}
		c.Out.OK()
		return nil
	}
	// NB: every write is on disk already: SAVE and NOSAVE change nothing.
	return c.Server.Shutdown(c, now)
}

// --- SLOWLOG ---

func slowlogCommand() *Command {
	flags := Admin | Loading | Stale | MaintenanceOK
	acl := []string{"admin", "slow", "dangerous"}
	toServer := func(c *Ctx) error { return c.Server.Slowlog(c) }
	return &Command{Name: "slowlog", Arity: -2, ACL: []string{"slow"}, Group: "server",
		Summary: "A container for slow log commands.", Since: "2.2.12", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			serverSub("slowlog", "get", -2, flags, acl, "server", "Returns the slow log's entries.", "2.2.12",
				"O(N) where N is the number of entries returned", func(c *Ctx) error {
					if len(c.Args) > 3 {
						return ErrSubcommandSyntax(c)
					}
					return c.Server.Slowlog(c)
				}),
			serverSub("slowlog", "len", 2, flags, acl, "server", "Returns the number of entries in the slow log.", "2.2.12", "O(1)", toServer),
			serverSub("slowlog", "reset", 2, flags, acl, "server", "Clears all entries from the slow log.", "2.2.12",
				"O(N) where N is the number of entries in the slowlog", toServer),
			containerHelp("slowlog", "server", "6.2.0", []string{"slow"},
				"GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
				"    Entries are made of:",
				"    id, timestamp, time in microseconds, arguments array, client IP and port,",
				"    client name",
				"LEN", "    Return the length of the slowlog.",
				"RESET", "    Reset the slowlog."),
		}}
}

// --- MEMORY ---

func memoryCommand() *Command {
	return &Command{Name: "memory", Arity: -2, ACL: []string{"slow"}, Group: "server",
		Summary: "A container for memory diagnostics commands.", Since: "4.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			serverSub("memory", "doctor", 2, 0, []string{"slow"}, "server", "Outputs memory problems report", "4.0.0", "O(1)", toMemory),
			serverSub("memory", "malloc-stats", 2, 0, []string{"slow"}, "server", "Show allocator internal stats", "4.0.0",
				"Depends on how much memory is allocated, could be slow", toMemory),
			serverSub("memory", "purge", 2, 0, []string{"slow"}, "server", "Ask the allocator to release memory", "4.0.0",
				"Depends on how much memory is allocated, could be slow", toMemory),
			serverSub("memory", "stats", 2, 0, []string{"slow"}, "server", "Show memory usage details", "4.0.0", "O(1)", toMemory),
			{Name: "memory|usage", Arity: -3, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"read", "slow"},
				Group: "server", Summary: "Estimates the memory usage of a key.", Since: "4.0.0",
				Complexity: "O(N) where N is the number of samples.", Handler: memoryUsage},
			containerHelp("memory", "server", "4.0.0", []string{"slow"},
				"DOCTOR", "    Return memory problems reports.",
				"MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
				"PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
				"STATS", "    Return information about the memory usage of the server.",
				"USAGE <key> [SAMPLES <count>]", "    Return memory in bytes used by <key> and its value. Nested values are",
				"    sampled up to <count> times (default: 5, 0 means sample all)."),
		}}
}

func toMemory(c *Ctx) error { return c.Server.Memory(c) }

// memoryUsage estimates what a key costs: its name, metadata record and,
// for strings, the value; for lists, their nodes, sampled as Redis samples
// a quicklist's; other collections' members are estimated from the size.
// Shoal keeps data on disk, so this is the size of the records, not RAM.
func memoryUsage(c *Ctx) error {
	cur := NewCursor(c.Args, 3)
	samples := int64(5) // Redis's default
	for cur.More() {
		opt, _ := cur.Next()
		if !Is(opt, "samples") {
			return ErrSyntax
		}
		n, err := cur.Int()
		if err != nil {
			return err
		}
		if n < 0 {
			return ErrSyntax
		}
		samples = n
	}
	// NB: Redis finds the key in its dictionary: no keyspace hit or miss.
	k, err := c.lookup(c.Args[2], true)
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Null()
		return nil
	}
	const recordOverhead = 32 // metadata header and Pebble's per-record bookkeeping
	n := int64(len(c.Args[2])) + recordOverhead
	switch k.Meta.Type {
	case encoding.TypeString:
		n += k.Meta.Len()
		if k.Meta.Chunked {
			chunks := (k.Meta.Len() + storage.ChunkSize - 1) / storage.ChunkSize
			n += chunks * (int64(len(c.Args[2])) + recordOverhead)
		}
	case encoding.TypeList:
		nodes, err := c.Tx.ListNodeBytes(k, samples)
		if err != nil {
			return err
		}
		n += nodes + int64(k.Meta.Nodes)*(int64(len(c.Args[2]))+recordOverhead)
	default:
		n += int64(k.Meta.Size) * (int64(len(c.Args[2])) + recordOverhead)
	}
	c.Out.Int(n)
	return nil
}

// --- LATENCY ---

// latencyCommand is LATENCY: the latency monitor's events and the
// commands' latency histograms, which the server keeps.
func latencyCommand() *Command {
	flags := Admin | NoScript | Loading | Stale | MaintenanceOK
	acl := []string{"admin", "slow", "dangerous"}
	toServer := func(c *Ctx) error { return c.Server.Latency(c) }
	sub := func(name string, arity int, summary, since, complexity string) *Command {
		return serverSub("latency", name, arity, flags, acl, "server", summary, since, complexity, toServer)
	}
	return &Command{Name: "latency", Arity: -2, ACL: []string{"slow"}, Group: "server",
		Summary: "A container for latency diagnostics commands.", Since: "2.8.13", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("latest", 2, "Returns the latest latency samples for all events.", "2.8.13", "O(1)"),
			sub("history", 3, "Returns timestamp-latency samples for an event.", "2.8.13", "O(1)"),
			sub("reset", -2, "Resets the latency data for one or more events.", "2.8.13", "O(1)"),
			sub("graph", 3, "Returns a latency graph for an event.", "2.8.13", "O(1)"),
			sub("doctor", 2, "Returns a human-readable latency analysis report.", "2.8.13", "O(1)"),
			sub("histogram", -2, "Returns the cumulative distribution of latencies of a subset or all commands.", "7.0.0",
				"O(N) where N is the number of commands with latency information being retrieved."),
			containerHelp("latency", "server", "2.8.13", []string{"slow"},
				"DOCTOR", "    Return a human readable latency analysis report.",
				"GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
				"HISTORY <event>", "    Return time-latency samples for the <event> class.",
				"LATEST", "    Return the latest latency samples for all events.",
				"RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
				"    (default: reset all data for all event classes)",
				"HISTOGRAM [COMMAND ...]", "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
				"    If no commands are specified then all histograms are replied."),
		}}
}
