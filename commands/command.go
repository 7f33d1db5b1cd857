// Package commands is Shoal's command table and its handlers, one file per
// command group. Every command is one Command literal; dispatch, COMMAND
// INFO/DOCS/COUNT/LIST/GETKEYS, ACL categories, routing and metric labels
// all read the table, and nothing keeps a second list of command names.
package commands

import (
	"slices"
	"sort"
	"strings"
)

// Flags are a command's properties, named as Redis names them in COMMAND INFO.
type Flags uint32

// Command flags. Dispatch gates read these and nothing else.
const (
	Write Flags = 1 << iota
	ReadOnly
	DenyOOM
	Admin
	PubSub // the pub/sub commands, as Redis flags them
	NoScript
	Blocking
	Loading // loading-ok
	Stale   // stale-ok
	SkipMonitor
	SkipSlowlog
	Fast
	NoAuth // allowed before AUTH
	MayReplicate
	NoMandatoryKeys
	NoMulti // refused inside MULTI
	AllowBusy
	MaintenanceOK // runs while the node is in maintenance
	// MultiCtl marks MULTI, EXEC, DISCARD, WATCH, UNWATCH, QUIT and RESET:
	// run at once even inside MULTI instead of being queued.
	MultiCtl
	// Topology marks the commands that change the topology or the
	// replication and cluster configuration (REPLICAOF, CLUSTER FAILOVER,
	// MEET, FORGET, ...): dispatch's maintenance gate refuses them while
	// the catalog holds maintenance; CONFIG SET only when it names a
	// replication or cluster directive. Like MultiCtl it is Shoal's own and
	// has no name in COMMAND INFO, whose flags stay Redis's.
	Topology
	// NoAsyncLoading refuses the command while a replica loads its
	// primary's data in the background (repl-diskless-load swapdb); Shoal
	// never does, so it is only reported.
	NoAsyncLoading
	// SubscriberOK marks the commands a RESP2 connection may run while
	// subscribed: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT, RESET.
	// Shoal's own, with no name in COMMAND INFO, where pubsub is Redis's
	// flag of the pub/sub commands.
	SubscriberOK
	// Protected marks DEBUG: dispatch runs it only as
	// enable-debug-command allows (Redis's CMD_PROTECTED, which Redis
	// 7.0 does not name in COMMAND INFO either).
	Protected
	// Asking marks RESTORE-ASKING, which Redis runs as if ASKING came
	// before it.
	Asking
)

// flagNames are the flags COMMAND INFO shows, in Redis's order.
// may_replicate is hidden there as Redis hides it; MaintenanceOK,
// MultiCtl and Topology are Shoal's own and have no name.
var flagNames = []struct {
	f    Flags
	name string
}{
	{Write, "write"}, {ReadOnly, "readonly"}, {DenyOOM, "denyoom"}, {Admin, "admin"},
	{PubSub, "pubsub"}, {NoScript, "noscript"}, {Blocking, "blocking"}, {Loading, "loading"},
	{Stale, "stale"}, {SkipMonitor, "skip_monitor"}, {SkipSlowlog, "skip_slowlog"},
	{Asking, "asking"}, {Fast, "fast"}, {NoAuth, "no_auth"}, {NoMandatoryKeys, "no_mandatory_keys"},
	{NoAsyncLoading, "no_async_loading"}, {NoMulti, "no_multi"}, {AllowBusy, "allow_busy"},
}

// Names returns the Redis names of the flags set in f that COMMAND INFO
// shows.
func (f Flags) Names() []string {
	var out []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Has reports whether every flag of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// Command describes one Redis command: everything COMMAND INFO and COMMAND
// DOCS report and the handler that runs it.
type Command struct {
	// Name is the lower-case command name; a subcommand's is "parent|sub".
	Name string
	// Arity follows Redis: N means exactly N arguments counting the name,
	// -N at least N.
	Arity int
	Flags Flags
	// FirstKey, LastKey and Step locate keys among the arguments (1-based,
	// LastKey -1 means the last argument); FirstKey 0 means no keys.
	FirstKey, LastKey, Step int
	// Keys, when set, finds the key positions for commands whose keys
	// move with their arguments (ZUNIONSTORE, SORT ... STORE).
	Keys func(args [][]byte) []int
	// ACL lists the command's ACL categories, without "@".
	ACL []string
	// Group, Summary, Since and Complexity are COMMAND DOCS' fields for
	// Shoal's own commands; those of Redis's commands come with its Meta,
	// in Redis's words.
	Group, Summary, Since, Complexity string
	// Meta holds the key specs, tips and COMMAND DOCS fields, read from
	// the docs files by Default (docs.go).
	Meta *Meta
	// Subcommands are the container's subcommands (CLIENT LIST, ...).
	Subcommands []*Command
	// Handler runs the command. It either writes exactly one reply to
	// c.Out and returns nil, or writes nothing and returns an error that
	// the server translates into the reply.
	Handler func(c *Ctx) error

	subs map[string]*Command
	// Parent is set on subcommands by NewTable.
	Parent *Command
}

// FullName returns the name as Redis writes it in errors: "get", "client|list".
func (c *Command) FullName() string { return c.Name }

// Sub looks up a subcommand of a container by name (any case).
func (c *Command) Sub(name []byte) *Command {
	if c.subs == nil {
		return nil
	}
	return c.subs[strings.ToLower(string(name))]
}

// ArityOK reports whether n arguments (counting the name) fit the arity.
func (c *Command) ArityOK(n int) bool {
	if c.Arity >= 0 {
		return n == c.Arity
	}
	return n >= -c.Arity
}

// KeyPositions returns the indexes of the key arguments in args.
func (c *Command) KeyPositions(args [][]byte) []int {
	if c.Keys != nil {
		return c.Keys(args)
	}
	if c.FirstKey == 0 {
		return nil
	}
	last := c.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := c.Step
	if step <= 0 {
		step = 1
	}
	var out []int
	for i := c.FirstKey; i <= last && i < len(args); i += step {
		out = append(out, i)
	}
	return out
}

// Table is the set of every command, built once by NewTable.
type Table struct {
	byName map[string]*Command
	sorted []*Command
}

// Lookup returns the command called name in any case, or nil.
func (t *Table) Lookup(name []byte) *Command {
	// Fast path: most clients send lower or upper case names.
	var buf [32]byte
	if len(name) <= len(buf) {
		low := buf[:len(name)]
		for i, ch := range name {
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			low[i] = ch
		}
		return t.byName[string(low)]
	}
	return t.byName[strings.ToLower(string(name))]
}

// All returns every top-level command sorted by name.
func (t *Table) All() []*Command { return t.sorted }

// NewTable assembles the given commands into a table. It panics on a
// duplicate name: the table is a literal, so that is a programming error.
// Rename makes the command named from answer to to instead, or to no
// name when to is empty, as redis.conf's rename-command does; the
// command's own name (COMMAND INFO's, CLIENT LIST's) stays.
func (t *Table) Rename(from, to string) error {
	from, to = strings.ToLower(from), strings.ToLower(to)
	c := t.byName[from]
	if c == nil {
		return Errf("No such command in rename-command")
	}
	delete(t.byName, from)
	if to == "" {
		// NB: gone from COMMAND, COMMAND COUNT and COMMAND LIST too.
		t.sorted = slices.DeleteFunc(t.sorted, func(x *Command) bool { return x == c })
		return nil
	}
	if _, taken := t.byName[to]; taken {
		return Errf("Target command name already exists")
	}
	t.byName[to] = c
	return nil
}

func NewTable(cmds ...[]*Command) *Table {
	t := &Table{byName: map[string]*Command{}}
	for _, group := range cmds {
		for _, c := range group {
			if _, dup := t.byName[c.Name]; dup {
				panic("commands: duplicate command " + c.Name)
			}
			t.byName[c.Name] = c
			t.sorted = append(t.sorted, c)
			if len(c.Subcommands) > 0 {
				c.subs = map[string]*Command{}
				for _, s := range c.Subcommands {
					s.Parent = c
					short := strings.TrimPrefix(s.Name, c.Name+"|")
					c.subs[short] = s
				}
			}
		}
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].Name < t.sorted[j].Name })
	return t
}
