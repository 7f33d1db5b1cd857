package commands

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
)

// aclCommand is ACL. CAT and GENPASS are answered here; the server
// keeps the users and answers the rest.
func aclCommand() *Command {
	admin := []string{"admin", "slow", "dangerous"}
	flags := Admin | NoScript | Loading | Stale
	sub := func(name string, arity int, f Flags, acl []string, summary, since, complexity string, h func(*Ctx) error) *Command {
		return serverSub("acl", name, arity, f, acl, "server", summary, since, complexity, h)
	}
	toServer := func(c *Ctx) error { return c.Server.ACL(c) }
	return &Command{Name: "acl", Arity: -2, ACL: []string{"slow"}, Group: "server",
		Summary: "A container for Access List Control commands ", Since: "6.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("cat", -2, NoScript|Loading|Stale, []string{"slow"}, "List the ACL categories or the commands inside a category", "6.0.0",
				"O(1) since the categories and commands are a fixed set.", aclCat),
			sub("deluser", -3, flags, admin, "Remove the specified ACL users and the associated rules", "6.0.0",
				"O(1) amortized time considering the typical user.", toServer),
			sub("dryrun", -4, flags, admin, "Returns whether the user can execute the given command without executing the command.", "7.0.0",
				"O(1).", toServer),
			sub("genpass", -2, NoScript|Loading|Stale, []string{"slow"}, "Generate a pseudorandom secure password to use for ACL users", "6.0.0",
				"O(1)", aclGenPass),
			sub("getuser", 3, flags, admin, "Get the rules for a specific ACL user", "6.0.0",
				"O(N). Where N is the number of password, command and pattern rules that the user has.", toServer),
			sub("list", 2, flags, admin, "List the current ACL rules in ACL config file format", "6.0.0",
				"O(N). Where N is the number of configured users.", toServer),
			sub("load", 2, flags, admin, "Reload the ACLs from the configured ACL file", "6.0.0",
				"O(N). Where N is the number of configured users.", toServer),
			sub("log", -2, flags, admin, "List latest events denied because of ACLs in place", "6.0.0",
				"O(N) with N being the number of entries shown.", toServer),
			sub("save", 2, flags, admin, "Save the current ACL rules in the configured ACL file", "6.0.0",
				"O(N). Where N is the number of configured users.", toServer),
			sub("setuser", -3, flags, admin, "Modify or create the rules for a specific ACL user", "6.0.0",
				"O(N). Where N is the number of rules provided.", toServer),
			sub("users", 2, flags, admin, "List the username of all the configured ACL rules", "6.0.0",
				"O(N). Where N is the number of configured users.", toServer),
			sub("whoami", 2, NoScript|Loading|Stale, []string{"slow"}, "Return the name of the user associated to the current connection", "6.0.0",
				"O(1)", toServer),
			containerHelp("acl", "server", "6.0.0", []string{"slow"},
				"CAT [<category>]",
				"    List all commands that belong to <category>, or all command categories",
				"    when no category is specified.",
				"DELUSER <username> [<username> ...]",
				"    Delete a list of users.",
				"DRYRUN <username> <command> [<arg> ...]",
				"    Returns whether the user can execute the given command without executing the command.",
				"GETUSER <username>",
				"    Get the user's details.",
				"GENPASS [<bits>]",
				"    Generate a secure 256-bit user password. The optional `bits` argument can",
				"    be used to specify a different size.",
				"LIST",
				"    Show users details in config file format.",
				"LOAD",
				"    Reload users from the ACL file.",
				"LOG [<count> | RESET]",
				"    Show the ACL log entries.",
				"SAVE",
				"    Save the current config to the ACL file.",
				"SETUSER <username> <attribute> [<attribute> ...]",
				"    Create or modify a user with the specified attributes.",
				"USERS",
				"    List all the registered usernames.",
				"WHOAMI",
				"    Return the current connection username."),
		}}
}

// aclCategories are Redis 7.0's ACL categories, in ACL CAT's order.
var aclCategories = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
	"transaction", "scripting"}

// aclCat is ACL CAT [category]: the categories, or the commands of one
// (a container's subcommands as container|sub).
func aclCat(c *Ctx) error {
	if len(c.Args) == 2 {
		c.Out.MarkDeferred() // NB: Redis counts the categories as it goes
		c.Out.StringArray(aclCategories)
		return nil
	}
	if len(c.Args) > 3 {
		return ErrSubcommandSyntax(c)
	}
	cat := string(c.Args[2])
	if !slices.ContainsFunc(aclCategories, func(s string) bool { return Is([]byte(s), cat) }) {
		return Errf("Unknown category '%s'", cat)
	}
	var names []string
	var walk func(cmds []*Command)
	walk = func(cmds []*Command) {
		for _, cmd := range cmds {
			if len(cmd.Subcommands) > 0 {
				walk(cmd.Subcommands)
				continue
			}
			if slices.ContainsFunc(cmd.ACL, func(s string) bool { return Is([]byte(s), cat) }) {
				names = append(names, cmd.Name)
			}
		}
	}
	walk(c.Server.Table().All())
	c.Out.MarkDeferred() // NB: Redis counts the commands as it goes
	c.Out.StringArray(names)
	return nil
}

// aclGenPass is ACL GENPASS [bits]: random hex of bits rounded up to
// whole hex digits, 256 by default.
func aclGenPass(c *Ctx) error {
	bits := int64(256)
	if len(c.Args) > 3 {
		return ErrSubcommandSyntax(c)
	}
	if len(c.Args) > 2 {
		n, err := ParseInt(c.Args[2])
		if err != nil {
			return err
		}
		if n <= 0 || n > 4096 {
			return Errf("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
		}
		bits = n
	}
	chars := (bits + 3) / 4
	b := make([]byte, (chars+1)/2)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	c.Out.BulkString(hex.EncodeToString(b)[:chars])
	return nil
}
