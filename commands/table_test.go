package commands

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The command table is the one source for dispatch, COMMAND, ACL checks and
// metric labels, so its literals must hold Redis's invariants. Each failure
// names the command and the field to fix; when adding a command, copy its
// arity, flags, key positions, ACL categories and docs from Redis 7
// (redis-cli COMMAND INFO <name> and COMMAND DOCS <name>).

// redisGroups are the values COMMAND DOCS reports as "group".
var redisGroups = []string{"bitmap", "cluster", "connection", "generic", "geo", "hash", "hyperloglog",
	"list", "module", "pubsub", "scripting", "sentinel", "server", "set", "sorted-set", "stream", "string", "transactions"}

// redisACLCategories are Redis 7's ACL categories, without "@".
var redisACLCategories = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
	"connection", "transaction", "scripting"}

var sinceRe = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// everyCommand returns every command and subcommand of the table.
func everyCommand(t *Table) []*Command {
	var out []*Command
	for _, c := range t.All() {
		out = append(out, c)
		out = append(out, c.Subcommands...)
	}
	return out
}

func TestTableNames(t *testing.T) {
	tab := Default()
	seen := map[string]bool{}
	for _, c := range everyCommand(tab) {
		if seen[c.Name] {
			t.Errorf("%s: name used twice", c.Name)
		}
		seen[c.Name] = true
		if c.Name != strings.ToLower(c.Name) || strings.ContainsAny(c.Name, " \t") || c.Name == "" {
			t.Errorf("%q: command names are lower case without spaces", c.Name)
		}
		if tab.Lookup([]byte(strings.ToUpper(c.Name))) != c && c.Parent == nil {
			t.Errorf("%s: Table.Lookup does not find it in upper case", c.Name)
		}
	}
	for _, c := range tab.All() {
		if strings.Contains(c.Name, "|") {
			t.Errorf("%s: only subcommands have '|' in their name; put it in its container's Subcommands", c.Name)
		}
		for _, s := range c.Subcommands {
			parent, sub, ok := strings.Cut(s.Name, "|")
			if !ok || parent != c.Name || sub == "" || strings.Contains(sub, "|") {
				t.Errorf("%s: a subcommand of %s must be named %q", s.Name, c.Name, c.Name+"|<sub>")
				continue
			}
			if c.Sub([]byte(strings.ToUpper(sub))) != s {
				t.Errorf("%s: %s.Sub(%q) does not find it", s.Name, c.Name, sub)
			}
			if s.Parent != c {
				t.Errorf("%s: Parent is not %s", s.Name, c.Name)
			}
			if len(s.Subcommands) > 0 {
				t.Errorf("%s: subcommands cannot have subcommands", s.Name)
			}
		}
	}
}

func TestTableFlags(t *testing.T) {
	for _, c := range everyCommand(Default()) {
		if c.Flags.Has(Write) && c.Flags.Has(ReadOnly) {
			t.Errorf("%s: flags Write and ReadOnly together; a command is write, readonly or neither", c.Name)
		}
		if c.Arity == 0 {
			t.Errorf("%s: Arity 0; use N for exactly N arguments counting the name, -N for at least N", c.Name)
		}
		if c.Parent != nil && (c.Arity < 2 && c.Arity > -2) {
			t.Errorf("%s: a subcommand's arity counts the container and the subcommand: at least 2 or -2, got %d", c.Name, c.Arity)
		}
		isContainer := len(c.Subcommands) > 0
		if !isContainer && c.Handler == nil {
			t.Errorf("%s: no Handler", c.Name)
		}
		if isContainer && c.Handler == nil && c.ArityOK(1) {
			t.Errorf("%s: a container callable without a subcommand (arity %d) needs a Handler", c.Name, c.Arity)
		}
	}
}

func TestTableKeyPositions(t *testing.T) {
	for _, c := range everyCommand(Default()) {
		arity := c.Arity
		if arity < 0 {
			arity = -arity
		}
		if c.FirstKey == 0 {
			if (c.LastKey != 0 || c.Step != 0) && c.Keys == nil {
				t.Errorf("%s: FirstKey 0 (no keys) but LastKey %d, Step %d", c.Name, c.LastKey, c.Step)
			}
			if c.Flags.Has(Write) && c.Keys == nil && c.Parent == nil && !slices.Contains(c.ACL, "keyspace") &&
				!slices.Contains(c.ACL, "scripting") && !slices.Contains(c.ACL, "pubsub") {
				// Write commands without keys exist (FLUSHALL, SWAPDB); they are keyspace commands.
				t.Errorf("%s: Write without keys; give it key positions or the keyspace category", c.Name)
			}
			continue
		}
		if c.FirstKey < 0 {
			t.Errorf("%s: FirstKey %d is negative", c.Name, c.FirstKey)
		}
		if c.Name == "sunsubscribe" {
			// NB: Redis 7.0 gives it keys 1 to -1 with arity -1: its
			// channels, which may be none.
			continue
		}
		if c.FirstKey >= arity {
			t.Errorf("%s: FirstKey %d is beyond the %d arguments arity %d guarantees", c.Name, c.FirstKey, arity, c.Arity)
		}
		if c.Step < 1 {
			t.Errorf("%s: Step %d; a command with keys steps by at least 1", c.Name, c.Step)
		}
		switch {
		case c.LastKey >= 0 && c.LastKey < c.FirstKey:
			t.Errorf("%s: LastKey %d before FirstKey %d", c.Name, c.LastKey, c.FirstKey)
		case c.LastKey >= 0 && c.Arity > 0 && c.LastKey >= c.Arity:
			t.Errorf("%s: LastKey %d beyond arity %d", c.Name, c.LastKey, c.Arity)
		case c.LastKey < 0 && c.Arity > 0:
			t.Errorf("%s: LastKey %d counts from the end but arity %d is fixed; give the index", c.Name, c.LastKey, c.Arity)
		case c.LastKey < 0 && arity+c.LastKey < c.FirstKey:
			t.Errorf("%s: LastKey %d with arity %d leaves no key at FirstKey %d", c.Name, c.LastKey, c.Arity, c.FirstKey)
		}
		// The minimal call must yield keys, all within the arguments.
		args := make([][]byte, arity)
		for i := range args {
			args[i] = []byte("a")
		}
		for _, p := range c.KeyPositions(args) {
			if p < 1 || p >= len(args) {
				t.Errorf("%s: key position %d outside a minimal call of %d arguments", c.Name, p, len(args))
			}
		}
	}
}

func TestTableDocs(t *testing.T) {
	for _, c := range everyCommand(Default()) {
		// NB: Redis documents no complexity for LOLWUT.
		if c.Summary == "" || c.Since == "" || c.Group == "" || (c.Complexity == "" && c.Name != "lolwut") {
			t.Errorf("%s: docs missing (Summary %q, Since %q, Group %q, Complexity %q); copy them from COMMAND DOCS",
				c.Name, c.Summary, c.Since, c.Group, c.Complexity)
		}
		if c.Since != "" && !sinceRe.MatchString(c.Since) {
			t.Errorf("%s: Since %q is not a version like 7.0.0", c.Name, c.Since)
		}
		if c.Group != "" && !slices.Contains(redisGroups, c.Group) {
			t.Errorf("%s: Group %q is not one of Redis's groups %v; a Shoal-only command takes the nearest (server, cluster, ...)", c.Name, c.Group, redisGroups)
		}
		if c.Parent != nil && c.Group != c.Parent.Group {
			t.Errorf("%s: Group %q differs from its container's %q", c.Name, c.Group, c.Parent.Group)
		}
		if c.Meta == nil {
			t.Errorf("%s: no entry in commanddocs.json or shoaldocs.json", c.Name)
			continue
		}
		// NB: Redis gives PSYNC and SYNC no complexity.
		if d := c.Meta.Docs; d.Summary == "" || d.Since == "" || d.Group == "" {
			t.Errorf("%s: COMMAND DOCS would miss a field (summary %q, since %q, group %q)", c.Name, d.Summary, d.Since, d.Group)
		}
		checkDocsArgs(t, c, c.Meta.Docs.Arguments)
		// The keys the table routes and locks by are the ones the key
		// specs name; specs of channels (not_key) are not keys.
		if hasKeys := c.FirstKey > 0 || c.Keys != nil; hasKeys != c.HasKeySpecs() && !(hasKeys && len(c.Meta.KeySpecs) > 0) {
			t.Errorf("%s: key positions (first %d, function %v) but key specs %v", c.Name, c.FirstKey, c.Keys != nil, c.Meta.KeySpecs)
		}
	}
}

// argTypes are the argument types of COMMAND DOCS.
var argTypes = []string{"string", "integer", "double", "key", "pattern", "unix-time", "pure-token", "oneof", "block"}

func checkDocsArgs(t *testing.T, c *Command, args []Arg) {
	for _, a := range args {
		if a.Name == "" || !slices.Contains(argTypes, a.Type) {
			t.Errorf("%s: argument %+v needs a name and one of the types %v", c.Name, a, argTypes)
		}
		if a.KeySpecIndex >= len(c.Meta.KeySpecs) || (a.Type == "key" && a.KeySpecIndex < 0) {
			t.Errorf("%s: argument %s of type %s has key spec %d of %d", c.Name, a.Name, a.Type, a.KeySpecIndex, len(c.Meta.KeySpecs))
		}
		if (a.Type == "oneof" || a.Type == "block") != (len(a.Arguments) > 0) {
			t.Errorf("%s: argument %s of type %s has %d arguments", c.Name, a.Name, a.Type, len(a.Arguments))
		}
		if a.Type == "pure-token" && a.Token == "" && a.Name != "empty_string" {
			t.Errorf("%s: pure-token argument %s without a token", c.Name, a.Name)
		}
		for _, f := range a.Flags {
			if f != "optional" && f != "multiple" && f != "multiple_token" {
				t.Errorf("%s: argument %s has flag %q", c.Name, a.Name, f)
			}
		}
		checkDocsArgs(t, c, a.Arguments)
	}
}

func TestTableACL(t *testing.T) {
	for _, c := range everyCommand(Default()) {
		if len(c.ACL) == 0 {
			t.Errorf("%s: no ACL categories; every command has at least fast or slow", c.Name)
		}
		for _, a := range c.ACL {
			if !slices.Contains(redisACLCategories, a) {
				t.Errorf("%s: ACL category %q is not one of Redis's (write them without '@')", c.Name, a)
			}
		}
		fast, slow := slices.Contains(c.ACL, "fast"), slices.Contains(c.ACL, "slow")
		if fast == slow {
			t.Errorf("%s: ACL %v must hold exactly one of fast and slow", c.Name, c.ACL)
		}
		if c.Flags.Has(Fast) != fast {
			t.Errorf("%s: the Fast flag and the fast category go together (flag %v, ACL %v)", c.Name, c.Flags.Has(Fast), c.ACL)
		}
		if c.Flags.Has(Write) && !slices.Contains(c.ACL, "write") {
			t.Errorf("%s: Write commands are in the write category, ACL %v", c.Name, c.ACL)
		}
		// NB: EVAL_RO and FCALL_RO are readonly commands that Redis keeps
		// out of @read: what they read is up to the script.
		if c.Flags.Has(ReadOnly) && !slices.Contains(c.ACL, "read") && c.Group != "scripting" {
			t.Errorf("%s: ReadOnly commands are in the read category, ACL %v", c.Name, c.ACL)
		}
		if c.Flags.Has(Admin) && !(slices.Contains(c.ACL, "admin") && slices.Contains(c.ACL, "dangerous")) {
			t.Errorf("%s: Admin commands are in the admin and dangerous categories, ACL %v", c.Name, c.ACL)
		}
		if c.Flags.Has(Blocking) && !slices.Contains(c.ACL, "blocking") {
			t.Errorf("%s: Blocking commands are in the blocking category, ACL %v", c.Name, c.ACL)
		}
	}
}

// TestTableContainersHaveHelp: every Redis container answers
// "<NAME> HELP" with its usage; Shoal's do too.
func TestTableContainersHaveHelp(t *testing.T) {
	for _, c := range Default().All() {
		if len(c.Subcommands) == 0 {
			continue
		}
		h := c.Sub([]byte("help"))
		if h == nil {
			t.Errorf("%s: container without a %s|help subcommand", c.Name, c.Name)
			continue
		}
		if h.Arity != 2 {
			t.Errorf("%s: arity %d, want 2", h.Name, h.Arity)
		}
	}
}
