package commands

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/replication"
)

func replicationCommands() []*Command {
	replicaOf := func(name string) *Command {
		return &Command{Name: name, Arity: 3, Flags: Admin | NoScript | Stale | NoAsyncLoading | Topology, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Configures a server as replica of another, or promotes it to a master.", Since: "5.0.0",
			Complexity: "O(1)", Handler: replicaOfCmd}
	}
	slaveof := replicaOf("slaveof")
	slaveof.Since = "1.0.0"
	slaveof.Summary = "Sets a Redis server as a replica of another, or promotes it to being a master."
	return []*Command{
		replicaOf("replicaof"),
		slaveof,
		{Name: "role", Arity: 1, Flags: NoScript | Loading | Stale | Fast | MaintenanceOK, ACL: []string{"admin", "fast", "dangerous"},
			Group: "server", Summary: "Returns the replication role.", Since: "2.8.12", Complexity: "O(1)", Handler: role},
		{Name: "wait", Arity: 3, Flags: NoScript, ACL: []string{"slow", "connection"},
			Group: "generic", Summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
			Since: "3.0.0", Complexity: "O(1)", Handler: wait},
		{Name: "waitaof", Arity: 4, Flags: Blocking | NoScript, ACL: []string{"slow", "blocking", "connection"},
			Group: "generic", Summary: "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.",
			Since: "7.2.0", Complexity: "O(1)", Handler: waitAOF},
		{Name: "waitall", Arity: 2, Flags: NoScript | Blocking, ACL: []string{"slow", "blocking", "connection"},
			Group: "generic", Summary: "Blocks until every replica the primary knows, including ones disconnected within the grace period, acknowledged the connection's preceding writes; replies [acked, expected].",
			Since: "7.2.0", Complexity: "O(N) where N is the number of known replicas", Handler: waitAll},
		{Name: "replconf", Arity: -1, Flags: Admin | NoScript | Loading | Stale | AllowBusy | MaintenanceOK, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "An internal command for configuring the replication stream.", Since: "3.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { return c.Server.Replconf(c) }},
		{Name: "failover", Arity: -1, Flags: Admin | NoScript | Stale | Topology, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "Start a coordinated failover between this server and one of its replicas.", Since: "6.2.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { return c.Server.Failover(c) }},
		{Name: "psync", Arity: -3, Flags: Admin | NoMulti | NoScript | NoAsyncLoading, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "An internal command used in replication.", Since: "2.8.0", Complexity: "O(1)", Handler: psync},
		{Name: "sync", Arity: 1, Flags: Admin | NoMulti | NoScript | NoAsyncLoading, ACL: []string{"admin", "slow", "dangerous"},
			Group: "server", Summary: "An internal command used in replication.", Since: "1.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { return c.Server.Psync(c, "?", -1) }},
		{Name: "replica", Arity: -2, Flags: NoScript | Stale, ACL: []string{"slow"},
			Group: "server", Summary: "A container for Shoal's replica administration commands.", Since: "7.2.0", Complexity: "Depends on subcommand.",
			Subcommands: []*Command{
				{Name: "replica|forget", Arity: 3, Flags: Admin | NoScript | Stale | NoAsyncLoading | Topology, ACL: []string{"admin", "slow", "dangerous"},
					Group: "server", Summary: "Removes a replica, by node id or ip:port, from the replicas WAITALL expects.", Since: "7.2.0", Complexity: "O(N) where N is the number of known replicas",
					Handler: func(c *Ctx) error {
						if !c.Server.Repl().Forget(string(c.Args[2])) {
							return Errf("Unknown replica '%s'", c.Args[2])
						}
						c.Out.OK()
						return nil
					}},
				{Name: "replica|help", Arity: 2, Flags: Loading | Stale, ACL: []string{"slow"},
					Group: "server", Summary: "Returns helpful text about the different subcommands.", Since: "7.2.0", Complexity: "O(1)",
					Handler: func(c *Ctx) error {
						c.Out.StringArray([]string{
							"REPLICA <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
							"FORGET <node-id|ip:port>",
							"    Remove a replica from the set WAITALL waits for (a replica that is gone for good).",
							"HELP",
							"    Print this help.",
						})
						return nil
					}},
			}},
	}
}

func replicaOfCmd(c *Ctx) error {
	if Is(c.Args[1], "no") && Is(c.Args[2], "one") {
		return c.Server.ReplicaOf(c, "", 0)
	}
	port, err := ParseInt(c.Args[2])
	if err != nil {
		return ErrNotInteger
	}
	if port < 0 || port > 65535 {
		return Errf("Invalid master port")
	}
	if err := c.Server.ReplicaOf(c, string(c.Args[1]), int(port)); err != nil {
		return err
	}
	return nil
}

func role(c *Ctx) error {
	r := c.Server.Repl()
	if up, ok := r.Upstream(); ok {
		c.Out.Array(5)
		c.Out.BulkString("slave")
		c.Out.BulkString(up.Host)
		c.Out.Int(int64(up.Port))
		c.Out.BulkString(up.State)
		c.Out.Int(c.Store.ReplOffset())
		return nil
	}
	reps := append(r.Replicas(), r.RedisReplicas()...)
	c.Out.Array(3)
	c.Out.BulkString("master")
	c.Out.Int(c.Store.ReplOffset())
	c.Out.MarkDeferred() // NB: Redis counts the online replicas as it goes
	c.Out.Array(len(reps))
	for _, rep := range reps {
		c.Out.Array(3)
		c.Out.BulkString(rep.IP)
		c.Out.BulkString(strconv.Itoa(rep.Port))
		c.Out.BulkString(strconv.FormatInt(rep.Offset, 10))
	}
	return nil
}

// parseWaitTimeout parses WAIT's timeout in milliseconds, with Redis's
// errors; 0 means forever.
func parseWaitTimeout(arg []byte) (time.Duration, error) {
	ms, err := ParseInt(arg)
	if err != nil {
		return 0, Errf("timeout is not an integer or out of range")
	}
	if ms < 0 {
		return 0, Errf("timeout is negative")
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, Errf("timeout is out of range")
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// waitStart commits the connection's pending writes (their offsets, in
// Shoal's log and in the stream fed to redis-server replicas, are what the
// wait is for) and, when the call may block, parks the connection:
// cancel ends the wait early, end releases it (see Server.WaitBlock).
func waitStart(c *Ctx, block bool) (woff replication.Written, cancel <-chan struct{}, end func() error) {
	c.Tx.Commit()
	woff = replication.Written{Log: c.Tx.WriteOffset(), Fed: c.Client.FedOffset}
	if !block {
		return woff, nil, func() error { return nil }
	}
	cancel, end = c.Server.WaitBlock(c)
	return woff, cancel, end
}

// blockOn runs a long admin call as a blocked client: the connection's
// earlier replies go out first, and the call's context ends when the
// client goes away, is unblocked or the server shuts down. It replies +OK
// when run returns nil.
func blockOn(c *Ctx, run func(ctx context.Context) error) error {
	cancel, end := c.Server.WaitBlock(c)
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		select {
		case <-cancel:
			stop()
		case <-ctx.Done():
		}
	}()
	err := run(ctx)
	stop()
	if uerr := end(); uerr != nil {
		return uerr
	}
	return okOr(c, err)
}

func waitErr(c *Ctx, err error) error {
	var ce *cluster.Error
	if errors.As(err, &ce) {
		return ce // a fenced primary
	}
	if errors.Is(err, replication.ErrUnblocked) {
		c.Server.Quit(c) // Redis closes the connection after this reply
		return &Error{"UNBLOCKED", "force unblock from blocking operation, instance state changed (master -> replica?)"}
	}
	return Errf("server is shutting down")
}

func wait(c *Ctx) error {
	if c.Server.Repl().IsReplica() {
		return Errf("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
	}
	n, err := ParseInt(c.Args[1])
	if err != nil {
		return err
	}
	timeout, err := parseWaitTimeout(c.Args[2])
	if err != nil {
		return err
	}
	block := !c.InMulti
	woff, cancel, end := waitStart(c, block)
	got, err := c.Server.Repl().Wait(cancel, woff, int(min(n, math.MaxInt32)), timeout, block)
	if uerr := end(); uerr != nil {
		return uerr
	}
	if err != nil {
		return waitErr(c, err)
	}
	c.Out.Int(int64(got))
	return nil
}

func waitAOF(c *Ctx) error {
	numLocal, err := ParseInt(c.Args[1])
	if err != nil {
		return err
	}
	if numLocal < 0 || numLocal > 1 {
		return Errf("value is out of range, value must between 0 and 1")
	}
	numReplicas, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	if numReplicas < 0 {
		return ErrPositive
	}
	timeout, err := parseWaitTimeout(c.Args[3])
	if err != nil {
		return err
	}
	if c.Server.Repl().IsReplica() {
		return Errf("WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated.")
	}
	block := !c.InMulti
	woff, cancel, end := waitStart(c, block)
	local, reps, err := c.Server.Repl().WaitAOF(cancel, woff, int(numLocal), int(min(numReplicas, math.MaxInt32)), timeout, block)
	if uerr := end(); uerr != nil {
		return uerr
	}
	if err != nil {
		return waitErr(c, err)
	}
	c.Out.Array(2)
	c.Out.Int(int64(local))
	c.Out.Int(int64(reps))
	return nil
}

func waitAll(c *Ctx) error {
	if c.Server.Repl().IsReplica() {
		return Errf("WAITALL cannot be used with replica instances")
	}
	timeout, err := parseWaitTimeout(c.Args[1])
	if err != nil {
		return err
	}
	block := !c.InMulti
	woff, cancel, end := waitStart(c, block)
	acked, expected, err := c.Server.Repl().WaitAll(cancel, woff, timeout, block)
	if uerr := end(); uerr != nil {
		return uerr
	}
	if err != nil {
		return waitErr(c, err)
	}
	c.Out.Array(2)
	c.Out.Int(int64(acked))
	c.Out.Int(int64(expected))
	return nil
}

func psync(c *Ctx) error {
	off, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	return c.Server.Psync(c, string(c.Args[1]), off)
}
