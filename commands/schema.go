package commands

import (
	"github.com/shoaldb/shoal/cluster"
)

// schemaCommands are the SCHEMA commands: the catalog's epoch and the
// pipeline that turns its changes into the node's derived state.
func schemaCommands() []*Command {
	return []*Command{
		{Name: "schema", Arity: -2, Flags: NoScript | Loading | Stale | MaintenanceOK, ACL: []string{"slow"},
			Group: "server", Summary: "A container for the catalog's schema epoch commands.", Since: "7.2.0", Complexity: "Depends on subcommand.",
			Subcommands: []*Command{
				{Name: "schema|epoch", Arity: 2, Flags: NoScript | Loading | Stale | Fast | MaintenanceOK, ACL: []string{"fast"},
					Group: "server", Summary: "Returns the catalog's epoch, which grows by one with every change of the catalog.", Since: "7.2.0", Complexity: "O(1)",
					Handler: schemaEpoch},
				{Name: "schema|status", Arity: 2, Flags: NoScript | Loading | Stale | MaintenanceOK, ACL: []string{"slow"},
					Group: "server", Summary: "Returns how far this node applied the catalog's changes to its derived state, and its retries and resyncs.", Since: "7.2.0", Complexity: "O(1)",
					Handler: schemaStatus},
				{Name: "schema|resync", Arity: 2, Flags: Admin | NoScript | Loading | Stale | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
					Group: "server", Summary: "Queues a full resync of this node's derived state from the catalog.", Since: "7.2.0", Complexity: "O(1)",
					Handler: schemaResync},
				{Name: "schema|help", Arity: 2, Flags: Loading | Stale | MaintenanceOK, ACL: []string{"slow"},
					Group: "server", Summary: "Returns helpful text about the different subcommands.", Since: "7.2.0", Complexity: "O(1)",
					Handler: func(c *Ctx) error {
						c.Out.StringArray([]string{
							"SCHEMA <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
							"EPOCH",
							"    Return the catalog's epoch.",
							"STATUS",
							"    Return the epoch this node applied, pending changes, retries and resyncs.",
							"RESYNC",
							"    Queue a full resync of this node's derived state from the catalog.",
							"HELP",
							"    Print this help.",
						})
						return nil
					}},
			}},
	}
}

// schemaCatalog returns the node's catalog, or the error to reply before the
// server started it.
func schemaCatalog(c *Ctx) (*cluster.Node, error) {
	if c.Catalog == nil {
		return nil, &Error{"LOADING", "Shoal is loading the catalog"}
	}
	return c.Catalog, nil
}

func schemaEpoch(c *Ctx) error {
	n, err := schemaCatalog(c)
	if err != nil {
		return err
	}
	c.Out.Int(int64(n.SchemaEpoch()))
	return nil
}

// schemaStatus writes SCHEMA STATUS: a map in RESP3, a flat array of
// names and values in RESP2; flags are 0 or 1, times Unix milliseconds.
func schemaStatus(c *Ctx) error {
	n, err := schemaCatalog(c)
	if err != nil {
		return err
	}
	s := n.SchemaStatus()
	c.Out.Map(10)
	c.Out.BulkString("epoch")
	c.Out.Int(int64(s.Epoch))
	c.Out.BulkString("applied_epoch")
	c.Out.Int(int64(s.AppliedEpoch))
	c.Out.BulkString("dirty")
	c.Out.Int(b2i(s.Dirty))
	c.Out.BulkString("degraded")
	c.Out.Int(b2i(s.Degraded))
	c.Out.BulkString("degraded_error")
	c.Out.BulkString(s.DegradedError)
	c.Out.BulkString("pending_events")
	c.Out.Int(int64(s.PendingEvents))
	c.Out.BulkString("last_resync_at")
	c.Out.Int(s.LastResyncAt)
	c.Out.BulkString("last_resync_reason")
	c.Out.BulkString(s.LastResyncReason)
	c.Out.BulkString("retries")
	c.Out.Int(s.Retries)
	c.Out.BulkString("resyncs")
	c.Out.Int(s.Resyncs)
	return nil
}

func schemaResync(c *Ctx) error {
	n, err := schemaCatalog(c)
	if err != nil {
		return err
	}
	n.SchemaResync(cluster.ResyncManual)
	c.Out.OK()
	return nil
}
