package commands

import (
	"strings"
)

// COMMAND and its subcommands render the table as Redis 7.0 renders its
// command table: flags and ACL categories in Redis's order, key specs,
// tips and docs from each command's Meta (docs.go), keys found by the key
// specs (keyspecs.go).

func commandCommand() *Command {
	flags := Loading | Stale | MaintenanceOK
	acl := []string{"slow", "connection"}
	sub := func(name string, arity int, summary, since, complexity string, h func(*Ctx) error) *Command {
		return serverSub("command", name, arity, flags, acl, "server", summary, since, complexity, h)
	}
	return &Command{Name: "command", Arity: -1, Flags: flags, ACL: acl, Group: "server",
		Summary: "Returns detailed information about all commands.", Since: "2.8.13",
		Complexity: "O(N) where N is the total number of Redis commands",
		Handler: func(c *Ctx) error {
			all := c.Server.Table().All()
			c.Out.Array(len(all))
			for _, cmd := range all {
				writeCommandInfo(c, cmd)
			}
			return nil
		},
		Subcommands: []*Command{
			sub("count", 2, "Returns a count of commands.", "2.8.13", "O(1)", func(c *Ctx) error {
				c.Out.Int(int64(len(c.Server.Table().All())))
				return nil
			}),
			sub("info", -2, "Returns information about one, multiple or all commands.", "2.8.13",
				"O(N) where N is the number of commands to look up", commandInfo),
			sub("docs", -2, "Returns documentary information about one, multiple or all commands.", "7.0.0",
				"O(N) where N is the number of commands to look up", commandDocs),
			sub("list", -2, "Returns a list of command names.", "7.0.0",
				"O(N) where N is the total number of Redis commands", commandList),
			sub("getkeys", -4, "Extracts the key names from an arbitrary command.", "2.8.13",
				"O(N) where N is the number of arguments to the command", func(c *Ctx) error { return commandGetKeys(c, false) }),
			sub("getkeysandflags", -4, "Extracts the key names and access flags for an arbitrary command.", "7.0.0",
				"O(N) where N is the number of arguments to the command", func(c *Ctx) error { return commandGetKeys(c, true) }),
			containerHelp("command", "server", "5.0.0", acl,
				"(no subcommand)", "    Return details about all Redis commands.",
				"COUNT", "    Return the total number of commands in this Redis server.",
				"LIST", "    Return a list of all commands in this Redis server.",
				"INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
				"    If no command names are given, documentation details for all",
				"    commands are returned.",
				"DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
				"    If no command names are given, documentation details for all",
				"    commands are returned.",
				"GETKEYS <full-command>", "    Return the keys from a full Redis command.",
				"GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command."),
		}}
}

// LookupFullName finds "get" or "client|list" (any case) in the table.
func LookupFullName(t *Table, name []byte) *Command {
	parent, sub, isSub := strings.Cut(string(name), "|")
	cmd := t.Lookup([]byte(parent))
	if cmd == nil || !isSub {
		return cmd
	}
	return cmd.Sub([]byte(sub))
}

// aclOrder is the order of Redis's ACL categories, in which COMMAND INFO
// lists a command's.
var aclOrder = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
	"connection", "transaction", "scripting"}

// infoFlags returns the names COMMAND INFO gives a command's flags, in
// Redis's order, with movablekeys where its key specs say so.
func infoFlags(cmd *Command) []string {
	names := cmd.Flags.Names()
	if cmd.MovableKeys() {
		// NB: Redis lists movablekeys after no_multi, before allow_busy.
		i := len(names)
		if i > 0 && names[i-1] == "allow_busy" {
			i--
		}
		names = append(names[:i], append([]string{"movablekeys"}, names[i:]...)...)
	}
	return names
}

// writeStatusSet writes names as a set of simple strings, Redis's form for
// flags.
func writeStatusSet(c *Ctx, names []string) {
	c.Out.Set(len(names))
	for _, n := range names {
		c.Out.Simple(n)
	}
}

// writeCommandInfo writes one command in Redis 7's COMMAND reply shape:
// name, arity, flags, first key, last key, step, ACL categories, tips,
// key specifications and subcommands.
func writeCommandInfo(c *Ctx, cmd *Command) {
	out := c.Out
	out.Array(10)
	out.BulkString(cmd.Name)
	out.Int(int64(cmd.Arity))
	writeStatusSet(c, infoFlags(cmd))
	out.Int(int64(cmd.FirstKey))
	out.Int(int64(cmd.LastKey))
	out.Int(int64(cmd.Step))
	var acl []string
	for _, a := range aclOrder {
		for _, b := range cmd.ACL {
			if a == b {
				acl = append(acl, "@"+a)
			}
		}
	}
	out.MarkDeferred() // NB: as Redis's addReplyCommandCategories
	writeStatusSet(c, acl)
	var specs []KeySpec
	var tips []string
	if cmd.Meta != nil {
		specs, tips = cmd.Meta.KeySpecs, cmd.Meta.Tips
	}
	out.Set(len(tips))
	for _, tip := range tips {
		out.BulkString(tip)
	}
	out.Set(len(specs))
	for i := range specs {
		writeKeySpec(c, &specs[i])
	}
	// NB: Redis answers an empty set for a command without subcommands,
	// an array for a container's.
	if len(cmd.Subcommands) == 0 {
		out.Set(0)
		return
	}
	out.Array(len(cmd.Subcommands))
	for _, s := range cmd.Subcommands {
		writeCommandInfo(c, s)
	}
}

// writeKeySpec writes one key spec as Redis's addReplyCommandKeySpecs does.
func writeKeySpec(c *Ctx, ks *KeySpec) {
	out := c.Out
	if ks.Notes != "" {
		out.Map(4)
		out.BulkString("notes")
		out.BulkString(ks.Notes)
	} else {
		out.Map(3)
	}
	out.BulkString("flags")
	writeStatusSet(c, ks.Flags)
	out.BulkString("begin_search")
	out.Map(2)
	out.BulkString("type")
	out.BulkString(ks.BeginSearch.Type)
	out.BulkString("spec")
	switch ks.BeginSearch.Type {
	case "index":
		writeIntMap(c, "index", ks.BeginSearch.Index)
	case "keyword":
		out.Map(2)
		out.BulkString("keyword")
		out.BulkString(ks.BeginSearch.Keyword)
		out.BulkString("startfrom")
		out.Int(int64(ks.BeginSearch.StartFrom))
	default:
		out.Map(0)
	}
	out.BulkString("find_keys")
	out.Map(2)
	out.BulkString("type")
	out.BulkString(ks.FindKeys.Type)
	out.BulkString("spec")
	switch fk := ks.FindKeys; fk.Type {
	case "range":
		writeIntMap(c, "lastkey", fk.LastKey, "keystep", fk.KeyStep, "limit", fk.Limit)
	case "keynum":
		writeIntMap(c, "keynumidx", fk.KeyNumIdx, "firstkey", fk.FirstKey, "keystep", fk.KeyStep)
	default:
		out.Map(0)
	}
}

// writeIntMap writes a map of names to integers, given as name, value,
// name, value ...
func writeIntMap(c *Ctx, kv ...any) {
	c.Out.Map(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Out.BulkString(kv[i].(string))
		c.Out.Int(int64(kv[i+1].(int)))
	}
}

func commandInfo(c *Ctx) error {
	t := c.Server.Table()
	if len(c.Args) == 2 {
		all := t.All()
		c.Out.Array(len(all))
		for _, cmd := range all {
			writeCommandInfo(c, cmd)
		}
		return nil
	}
	c.Out.Array(len(c.Args) - 2)
	for _, name := range c.Args[2:] {
		if cmd := LookupFullName(t, name); cmd != nil {
			writeCommandInfo(c, cmd)
		} else {
			c.Out.Null()
		}
	}
	return nil
}

// writeCommandDocs writes a command's docs map as Redis's
// addReplyCommandDocs does: the fields its Meta gives, in Redis's order,
// then its subcommands'.
func writeCommandDocs(c *Ctx, cmd *Command) {
	out := c.Out
	var d Docs
	if cmd.Meta != nil {
		d = cmd.Meta.Docs
	}
	n := 1 // group
	for _, s := range []string{d.Summary, d.Since, d.Complexity, d.DeprecatedSince, d.ReplacedBy} {
		if s != "" {
			n++
		}
	}
	for _, l := range []int{len(d.DocFlags), len(d.History), len(d.Arguments), len(cmd.Subcommands)} {
		if l > 0 {
			n++
		}
	}
	out.Map(n)
	pair := func(k, v string) {
		if v != "" {
			out.BulkString(k)
			out.BulkString(v)
		}
	}
	pair("summary", d.Summary)
	pair("since", d.Since)
	out.BulkString("group")
	out.BulkString(d.Group)
	pair("complexity", d.Complexity)
	if len(d.DocFlags) > 0 {
		out.BulkString("doc_flags")
		writeStatusSet(c, d.DocFlags)
	}
	pair("deprecated_since", d.DeprecatedSince)
	pair("replaced_by", d.ReplacedBy)
	if len(d.History) > 0 {
		out.BulkString("history")
		out.Set(len(d.History))
		for _, h := range d.History {
			out.Array(2)
			out.BulkString(h[0])
			out.BulkString(h[1])
		}
	}
	if len(d.Arguments) > 0 {
		out.BulkString("arguments")
		writeDocsArgs(c, d.Arguments)
	}
	if len(cmd.Subcommands) > 0 {
		out.BulkString("subcommands")
		out.Map(len(cmd.Subcommands))
		for _, s := range cmd.Subcommands {
			out.BulkString(s.Name)
			writeCommandDocs(c, s)
		}
	}
}

// writeDocsArgs writes an argument list as Redis's addReplyCommandArgList
// does.
func writeDocsArgs(c *Ctx, args []Arg) {
	out := c.Out
	out.Array(len(args))
	for i := range args {
		a := &args[i]
		nested := a.Type == "oneof" || a.Type == "block"
		// NB: a pure token always has one, if only the empty string
		// (MIGRATE's key_or_empty_string).
		token := a.Token != "" || a.Type == "pure-token"
		n := 2
		if token {
			n++
		}
		for _, s := range []string{a.Summary, a.Since, a.DeprecatedSince, a.DisplayText} {
			if s != "" {
				n++
			}
		}
		if a.KeySpecIndex >= 0 {
			n++
		}
		if len(a.Flags) > 0 {
			n++
		}
		if nested {
			n++
		}
		out.Map(n)
		out.BulkString("name")
		out.BulkString(a.Name)
		out.BulkString("type")
		out.BulkString(a.Type)
		if a.KeySpecIndex >= 0 {
			out.BulkString("key_spec_index")
			out.Int(int64(a.KeySpecIndex))
		}
		if token {
			out.BulkString("token")
			out.BulkString(a.Token)
		}
		for _, kv := range [][2]string{{"summary", a.Summary}, {"since", a.Since},
			{"deprecated_since", a.DeprecatedSince}, {"display_text", a.DisplayText}} {
			if kv[1] != "" {
				out.BulkString(kv[0])
				out.BulkString(kv[1])
			}
		}
		if len(a.Flags) > 0 {
			out.BulkString("flags")
			writeStatusSet(c, a.Flags)
		}
		if nested {
			out.BulkString("arguments")
			writeDocsArgs(c, a.Arguments)
		}
	}
}

func commandDocs(c *Ctx) error {
	t := c.Server.Table()
	var cmds []*Command
	if len(c.Args) == 2 {
		cmds = t.All()
	} else {
		for _, name := range c.Args[2:] {
			if cmd := LookupFullName(t, name); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	if len(c.Args) > 2 {
		c.Out.MarkDeferred() // NB: Redis counts the commands it found as it goes
	}
	c.Out.Map(len(cmds))
	for _, cmd := range cmds {
		c.Out.BulkString(cmd.Name)
		writeCommandDocs(c, cmd)
	}
	return nil
}

// commandList answers COMMAND LIST [FILTERBY MODULE name|ACLCAT category|
// PATTERN pattern] as Redis 7.0 does: every command and subcommand, a
// category named without "@" in any case, a pattern matched in any case
// against the full name; Shoal has no modules.
func commandList(c *Ctx) error {
	match := func(*Command) bool { return true }
	switch {
	case len(c.Args) == 2:
	case len(c.Args) == 5 && Is(c.Args[2], "filterby"):
		arg := c.Args[4]
		switch {
		case Is(c.Args[3], "module"):
			match = func(*Command) bool { return false }
		case Is(c.Args[3], "aclcat"):
			cat := strings.ToLower(string(arg))
			match = func(cmd *Command) bool {
				for _, a := range cmd.ACL {
					if a == cat {
						return true
					}
				}
				return false
			}
		case Is(c.Args[3], "pattern"):
			match = func(cmd *Command) bool { return GlobMatchFold(arg, []byte(cmd.Name)) }
		default:
			return ErrSyntax
		}
	default:
		return ErrSyntax
	}
	var names []string
	for _, cmd := range c.Server.Table().All() {
		if match(cmd) {
			names = append(names, cmd.Name)
		}
		for _, s := range cmd.Subcommands {
			if match(s) {
				names = append(names, s.Name)
			}
		}
	}
	c.Out.MarkDeferred() // NB: Redis counts the commands as it goes
	c.Out.StringArray(names)
	return nil
}

// commandGetKeys answers COMMAND GETKEYS and GETKEYSANDFLAGS as Redis's
// getKeysSubcommandImpl does.
func commandGetKeys(c *Ctx, withFlags bool) error {
	args := c.Args[2:]
	cmd := c.Server.Table().Lookup(args[0])
	if cmd != nil && len(cmd.Subcommands) > 0 && len(args) >= 2 {
		cmd = cmd.Sub(args[1])
	}
	switch {
	case cmd == nil:
		return Errf("Invalid command specified")
	case !cmd.HasKeySpecs():
		return Errf("The command has no key arguments")
	case !cmd.ArityOK(len(args)):
		return Errf("Invalid number of arguments specified for command")
	}
	keys := cmd.GetKeys(args)
	if len(keys) == 0 && !cmd.Flags.Has(NoMandatoryKeys) {
		return Errf("Invalid arguments specified for command")
	}
	c.Out.Array(len(keys))
	for _, k := range keys {
		if !withFlags {
			c.Out.Bulk(args[k.Pos])
			continue
		}
		c.Out.Array(2)
		c.Out.Bulk(args[k.Pos])
		writeStatusSet(c, k.Flags)
	}
	return nil
}
