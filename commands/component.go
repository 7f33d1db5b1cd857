package commands

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/shoaldb/shoal/cluster"
)

// componentCommands are the COMPONENT commands: versioned payloads every
// node loads, one active version per component, deployed under a lock in
// the catalog (cluster/component.go).
func componentCommands() []*Command {
	// NB: Topology makes dispatch's maintenance gate refuse DEPLOY and
	// UNDEPLOY; the HTTP API reaches the same refusal in package cluster.
	deploy := Admin | NoScript | NoMulti | Stale | Topology
	view := Loading | Stale | MaintenanceOK
	adm := []string{"admin", "slow", "dangerous"}
	slow := []string{"slow"}
	sub := func(name string, arity int, flags Flags, acl []string, summary, complexity string, h func(*Ctx) error) *Command {
		return serverSub("component", name, arity, flags, acl, "server", summary, "7.2.0", complexity, h)
	}
	return []*Command{
		{Name: "component", Arity: -2, ACL: slow, Group: "server",
			Summary: "A container for Shoal's component commands: versioned payloads every node loads.",
			Since:   "7.2.0", Complexity: "Depends on subcommand.",
			Subcommands: []*Command{
				sub("deploy", -4, deploy, adm, "Makes a version of a component active on every node, under the component's deploy lock.",
					"O(N) where N is the size of the payload", componentDeploy),
				sub("undeploy", -3, deploy, adm, "Unloads a component from every node, under its deploy lock.", "O(1)", componentUndeploy),
				sub("status", 3, view, slow, "Returns a component's active version, state, lock and the version each node applied.",
					"O(N) where N is the number of nodes", componentStatus),
				sub("list", 2, view, slow, "Lists the components, the built-in 'shoal' first.",
					"O(N) where N is the number of components", componentList),
				sub("history", 3, view, slow, "Returns a component's last deploy events, oldest first.",
					"O(N) where N is the number of events kept", componentHistory),
				containerHelp("component", "server", "7.2.0", slow,
					"DEPLOY <name> <version> [PAYLOAD <bytes>] [KIND blob|function] [REPLACE] [LOCKTIMEOUT <ms>]",
					"    Make <version> the active version of <name> on every node. The active version again is a no-op;",
					"    another active version needs REPLACE. LOCKTIMEOUT bounds the wait for the deploy lock (default 5000).",
					"UNDEPLOY <name> [LOCKTIMEOUT <ms>]",
					"    Unload <name> from every node; its history stays.",
					"STATUS <name>",
					"    Return the state of <name>; 'shoal' shows each node's build and the active storage format.",
					"LIST",
					"    Return the state of every component.",
					"HISTORY <name>",
					"    Return the last deploy events of <name>."),
			}},
	}
}

// parseDeploy reads COMPONENT DEPLOY's arguments.
func parseDeploy(args [][]byte) (cluster.DeployRequest, error) {
	r := cluster.DeployRequest{Name: string(args[2]), Version: string(args[3])}
	cur := NewCursor(args, 4)
	for cur.More() {
		opt, _ := cur.Next()
		switch {
		case Is(opt, "payload"):
			p, err := cur.Next()
			if err != nil {
				return r, err
			}
			r.Payload = append([]byte(nil), p...)
		case Is(opt, "kind"):
			k, err := cur.Next()
			if err != nil {
				return r, err
			}
			r.Kind = string(k)
		case Is(opt, "replace"):
			r.Replace = true
		case Is(opt, "locktimeout"):
			d, err := parseLockTimeout(cur)
			if err != nil {
				return r, err
			}
			r.LockTimeout = d
		default:
			return r, ErrSyntax
		}
	}
	return r, nil
}

// parseLockTimeout reads LOCKTIMEOUT's milliseconds; 0 means the default.
func parseLockTimeout(cur *Cursor) (time.Duration, error) {
	ms, err := cur.Int()
	if err != nil {
		return 0, err
	}
	if ms < 0 || ms > 24*3600*1000 {
		return 0, Errf("LOCKTIMEOUT must be between 0 and 86400000 milliseconds")
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func componentDeploy(c *Ctx) error {
	r, err := parseDeploy(c.Args)
	if err != nil {
		return err
	}
	return blockOn(c, func(ctx context.Context) error { return c.Catalog.ComponentDeploy(ctx, r) })
}

func componentUndeploy(c *Ctx) error {
	name := string(c.Args[2])
	var timeout time.Duration
	cur := NewCursor(c.Args, 3)
	for cur.More() {
		opt, _ := cur.Next()
		if !Is(opt, "locktimeout") {
			return ErrSyntax
		}
		d, err := parseLockTimeout(cur)
		if err != nil {
			return err
		}
		timeout = d
	}
	return blockOn(c, func(ctx context.Context) error { return c.Catalog.ComponentUndeploy(ctx, name, timeout) })
}

func componentStatus(c *Ctx) error {
	s, err := c.Catalog.ComponentStatus(string(c.Args[2]))
	if err != nil {
		return err
	}
	writeComponentStatus(c, &s)
	return nil
}

func componentList(c *Ctx) error {
	l := c.Catalog.ComponentList()
	c.Out.Array(len(l))
	for i := range l {
		writeComponentStatus(c, &l[i])
	}
	return nil
}

func componentHistory(c *Ctx) error {
	events, err := c.Catalog.ComponentHistory(string(c.Args[2]))
	if err != nil {
		return err
	}
	c.Out.Array(len(events))
	for _, e := range events {
		c.Out.Map(5)
		c.Out.BulkString("at")
		c.Out.Int(e.At)
		c.Out.BulkString("event")
		c.Out.BulkString(e.Event)
		c.Out.BulkString("version")
		c.Out.BulkString(e.Version)
		c.Out.BulkString("node")
		c.Out.BulkString(e.Node)
		c.Out.BulkString("reason")
		c.Out.BulkString(e.Reason)
	}
	return nil
}

// writeComponentStatus writes a component's status as a map (a flat array
// in RESP2): name, kind, active_version, state, reason, deploying_version,
// versions, lock_owner, lock_expires_ms, updated_at and nodes (node id →
// version applied); the built-in "shoal" adds storage_format and
// storage_formats (node id → "read 1 write 1").
func writeComponentStatus(c *Ctx, s *cluster.ComponentStatus) {
	builtin := s.Name == cluster.ShoalComponent
	n := 11
	if builtin {
		n += 2
	}
	c.Out.Map(n)
	c.Out.BulkString("name")
	c.Out.BulkString(s.Name)
	c.Out.BulkString("kind")
	c.Out.BulkString(s.Kind)
	c.Out.BulkString("active_version")
	c.Out.BulkString(s.ActiveVersion)
	c.Out.BulkString("state")
	c.Out.BulkString(s.State)
	c.Out.BulkString("reason")
	c.Out.BulkString(s.Reason)
	c.Out.BulkString("deploying_version")
	c.Out.BulkString(s.Target)
	c.Out.BulkString("versions")
	c.Out.StringArray(s.Versions)
	c.Out.BulkString("lock_owner")
	c.Out.BulkString(s.LockOwner)
	c.Out.BulkString("lock_expires_ms")
	c.Out.Int(s.LockExpiresMs)
	c.Out.BulkString("updated_at")
	c.Out.Int(s.UpdatedAt)
	c.Out.BulkString("nodes")
	ids := sortedKeys(s.Nodes)
	c.Out.Map(len(ids))
	for _, id := range ids {
		c.Out.BulkString(id)
		c.Out.BulkString(s.Nodes[id])
	}
	if !builtin {
		return
	}
	c.Out.BulkString("storage_format")
	c.Out.Int(int64(s.StorageFormat))
	c.Out.BulkString("storage_formats")
	ids = sortedKeys(s.StorageFormats)
	c.Out.Map(len(ids))
	for _, id := range ids {
		f := s.StorageFormats[id]
		c.Out.BulkString(id)
		c.Out.BulkString("read " + joinInts(f.Reads) + " write " + joinInts(f.Writes))
	}
}

func joinInts(v []int) string {
	b := make([]byte, 0, 8)
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
