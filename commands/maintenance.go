package commands

import (
	"context"
	"time"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/resp"
)

// maintenanceCommands are the MAINTENANCE commands: maintenance mode kept
// in the catalog (cluster/maintenance.go).
func maintenanceCommands() []*Command {
	adm := []string{"admin", "slow", "dangerous", "blocking"}
	sub := func(name string, arity int, flags Flags, acl []string, summary, complexity string, h func(*Ctx) error) *Command {
		return serverSub("maintenance", name, arity, flags, acl, "server", summary, "7.2.0", complexity, h)
	}
	return []*Command{
		{Name: "maintenance", Arity: -2, ACL: []string{"slow"}, Group: "server",
			Summary: "A container for Shoal's maintenance mode commands.", Since: "7.2.0", Complexity: "Depends on subcommand.",
			Subcommands: []*Command{
				sub("start", -2, Admin|NoScript|NoMulti|Stale|Blocking, adm,
					"Waits for full syncs in progress, then holds automatic failover, defers full syncs and pauses background jobs, and refuses topology changes until MAINTENANCE END.",
					"O(N) where N is the number of cluster members", maintenanceStart),
				sub("end", 2, Admin|NoScript|NoMulti|Stale|Blocking, adm,
					"Resumes what MAINTENANCE START paused and is still paused, then clears the maintenance flag.",
					"O(N) where N is the number of cluster members", maintenanceEnd),
				sub("status", 2, Loading|Stale, []string{"slow"},
					"Returns the maintenance state: phase, who started it, what it paused and the full syncs it waits for.",
					"O(N) where N is the number of paused activities", func(c *Ctx) error {
						WriteMaintenanceStatus(c.Out, c.Catalog.MaintenanceStatus())
						return nil
					}),
				containerHelp("maintenance", "server", "7.2.0", []string{"slow"},
					"START [TIMEOUT <ms>] [SKIPSYNC <node-id> ...]",
					"    Wait for full syncs in progress (up to TIMEOUT ms, 0 forever; not for the replicas",
					"    named by SKIPSYNC, which also releases a START already waiting), then hold automatic",
					"    failover, defer full syncs not yet started, pause active expiry and refuse topology",
					"    and replication or cluster configuration changes. A second START is a no-op.",
					"END",
					"    Resume what START paused and is still paused, then clear the flag.",
					"STATUS",
					"    Return enabled, phase, started_at, started_by, paused and waiting."),
			}},
	}
}

func maintenanceStart(c *Ctx) error {
	o := cluster.MaintenanceOptions{By: "client " + c.Client.Addr}
	cur := NewCursor(c.Args, 2)
	for cur.More() {
		a, _ := cur.Next()
		switch {
		case Is(a, "timeout"):
			ms, err := cur.Int()
			if err != nil {
				return err
			}
			if ms < 0 {
				return Errf("timeout is negative")
			}
			o.Timeout = time.Duration(ms) * time.Millisecond
		case Is(a, "skipsync"):
			n := 0
			for cur.More() && !Is(cur.Peek(), "timeout") && !Is(cur.Peek(), "skipsync") {
				id, _ := cur.Next()
				o.SkipSync = append(o.SkipSync, string(id))
				n++
			}
			if n == 0 {
				return ErrSyntax
			}
		default:
			return ErrSyntax
		}
	}
	return blockOn(c, func(ctx context.Context) error { return c.Catalog.MaintenanceStart(ctx, o) })
}

func maintenanceEnd(c *Ctx) error {
	return blockOn(c, c.Catalog.MaintenanceEnd)
}

// WriteMaintenanceStatus writes MAINTENANCE STATUS: a map (a flat array
// in RESP2) of enabled, phase, started_at, started_by, paused (kind and
// id of each item) and waiting (replicas whose full syncs START waits
// for).
func WriteMaintenanceStatus(w *resp.Writer, s cluster.MaintenanceStatus) {
	w.Map(6)
	w.BulkString("enabled")
	w.Int(b2i(s.Enabled))
	w.BulkString("phase")
	w.BulkString(s.Phase)
	w.BulkString("started_at")
	w.Int(s.StartedAt)
	w.BulkString("started_by")
	w.BulkString(s.StartedBy)
	w.BulkString("paused")
	w.Array(len(s.Paused))
	for _, it := range s.Paused {
		w.Map(2)
		w.BulkString("kind")
		w.BulkString(it.Kind)
		w.BulkString("id")
		w.BulkString(it.ID)
	}
	w.BulkString("waiting")
	w.StringArray(s.Waiting)
}
