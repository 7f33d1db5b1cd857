package server

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
)

const (
	// flushBytes sends replies early when a pipeline's output grows large.
	flushBytes = 64 << 10
	// batchBytes commits a pipeline's writes early when the batch grows large.
	batchBytes = 4 << 20
)

// dispatch runs the gates in Redis's order and then the command. Exactly
// one reply is written (or none, under CLIENT REPLY OFF/SKIP).
func (c *conn) dispatch(args [][]byte) {
	if len(args) == 0 {
		return
	}
	skip := c.skipNext
	c.skipNext, c.skipping = false, skip
	c.out.Discard = c.ReplyOff || skip
	defer func() {
		if c.ReplySkip {
			c.ReplySkip, c.skipNext = false, true
		}
		c.out.Discard = false
	}()

	if c.s.sleeping.active() {
		c.flush()
		c.s.sleeping.await(true, nil, nil) // NB: not blocked: Redis serves no INFO meanwhile
	}
	// Lookup.
	cmd := c.s.table.Lookup(args[0])
	if cmd == nil {
		c.lastCmd.Store(nil)
		c.failQueued()
		c.replyError(unknownCommand(args))
		return
	}
	// Containers resolve their subcommand.
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		sub := cmd.Sub(args[1])
		if sub == nil {
			c.lastCmd.Store(nil)
			c.failQueued()
			c.replyError(commands.ErrUnknownSubcommand(args[1], cmd.Name))
			return
		}
		cmd = sub
	}
	// CLIENT LIST's cmd is the command being run, as Redis's lastcmd is
	// set at lookup: a blocked or paused client shows what it waits in.
	c.lastCmd.Store(&cmd.Name) // NB: commands are never changed once made
	// Arity.
	if !cmd.ArityOK(len(args)) {
		c.reject(cmd, commands.ErrArity(cmd.Name))
		return
	}
	// DEBUG and MODULE LOAD, as enable-debug-command and
	// enable-module-command allow.
	if cmd.Flags.Has(commands.Protected) {
		if err := c.s.protectedRefused(cmd, &c.Client); err != nil {
			c.reject(cmd, err)
			return
		}
	}
	// Auth.
	if !c.Authenticated && !cmd.Flags.Has(commands.NoAuth) {
		c.reject(cmd, commands.ErrNoAuth)
		return
	}
	// ACL: the user's permissions for the command, its keys and its
	// channels; the primary's own stream passes.
	if err := c.aclCheck(cmd, args); err != nil {
		c.reject(cmd, err)
		return
	}
	// RESP2 subscriber mode allows only the pub/sub commands.
	if c.subscribed() && c.out.Proto() == 2 && !cmd.Flags.Has(commands.SubscriberOK) {
		c.reject(cmd, commands.Errf("Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", cmd.Name))
		return
	}
	// Cluster redirection, and a primary without a lease.
	if c.s.cluster != nil {
		if err := c.clusterGate(cmd, args); err != nil {
			c.reject(cmd, err)
			return
		}
	}
	// The tracking table is kept within tracking-table-max-keys before
	// each command, as Redis's processCommand does.
	if c.s.tracking.n.Load() > 0 && c.s.trimTrackingTable() {
		c.flush()
		for _, sub := range []*subscriber{c.ps.Load(), c.push.Load()} {
			if sub != nil {
				sub.drainNow()
			}
		}
	}
	// Past maxmemory, what may grow memory is refused (oom.go); the
	// primary's own stream passes.
	if c.s.overMemory.Load() && !c.master && c.refusedOnOOM(cmd, args) {
		c.reject(cmd, errOOM)
		return
	}
	// Maintenance refuses topology and configuration changes.
	if err := c.s.maintenanceGate(cmd, args); err != nil {
		c.reject(cmd, err)
		return
	}
	// A failing disk refuses writes (MISCONF); the primary's own stream
	// passes.
	write := c.writes(cmd, args)
	if err := c.s.diskGate(cmd, write); err != nil && !c.master {
		c.reject(cmd, err)
		return
	}
	// Read-only replica, and min-replicas-to-write on a primary; the
	// primary's own stream passes.
	if err := c.s.replicationGate(write); err != nil && !c.master {
		c.reject(cmd, err)
		return
	}
	if err := c.staleGate(cmd, args); err != nil {
		c.reject(cmd, err)
		return
	}
	// A script that runs past busy-reply-threshold holds every other
	// command but the few that may end it.
	if busy, fn := c.s.scripts.Busy(); busy && !cmd.Flags.Has(commands.AllowBusy) {
		if fn {
			c.reject(cmd, scripting.ErrBusyFunction)
		} else {
			c.reject(cmd, scripting.ErrBusyScript)
		}
		return
	}
	// MULTI queueing.
	if c.multi != nil && !cmd.Flags.Has(commands.MultiCtl) {
		if cmd.Flags.Has(commands.NoMulti) {
			c.reject(cmd, commands.Errf("Command not allowed inside a transaction"))
			return
		}
		c.multi.queue(cmd, args)
		c.out.Simple("QUEUED")
		return
	}
	// FAILOVER holds writes until the node follows its target, which
	// refuses them from then on as a replica.
	if c.s.failover.pause.active() && !c.master {
		c.flush()
		c.s.failover.pause.wait(c.mayReplicate(cmd, args), &c.blocked)
		if err := c.s.replicationGate(write); err != nil {
			c.reject(cmd, err)
			return
		}
	}
	// A shutdown waiting for its replicas holds writes, as a pause does,
	// until it shuts down or SHUTDOWN ABORT.
	if c.s.shutdownWait.pause.active() && !c.master {
		c.flush()
		c.s.shutdownWait.pause.wait(c.mayReplicate(cmd, args), &c.blocked)
	}
	// CLIENT PAUSE holds the command until the pause ends.
	if c.s.pause.active() && !c.master {
		c.flush()
		c.s.pause.wait(c.mayReplicate(cmd, args), &c.blocked)
		// NB: a manual failover pauses writers and then moves the
		// primary away: route again what waited.
		if c.s.cluster != nil {
			if err := c.clusterGate(cmd, args); err != nil {
				c.reject(cmd, err)
				return
			}
		}
	}
	c.call(cmd, args, false)
}

// call runs the handler under recover and records stats, metrics and the
// slow log.
func (c *conn) call(cmd *commands.Command, args [][]byte, inMulti bool) {
	if cmd.Group == "server" {
		c.flushStats() // INFO, LATENCY, CONFIG RESETSTAT see every call before
	}
	ctx := &c.ctx
	ctx.Args, ctx.Cmd, ctx.InMulti = args, cmd, inMulti
	ctx.ResetKeys()
	c.out.Limit = 0
	if l, _ := c.outputLimit(); l.Hard > 0 {
		c.out.Limit = int(min(l.Hard, 1<<50)) + replyChunkBytes
	}
	// NB: a write's reply is kept even under CLIENT REPLY OFF (and for a
	// primary's stream) until its changes are counted.
	write := cmd.Flags.Has(commands.Write)
	discard := c.out.Discard && write
	if discard {
		c.out.Discard = false
	}
	// NB: a script is shown before the commands it runs, as Redis shows
	// EVAL and FCALL (flagged skip_monitor, they feed monitors first).
	monitored := c.s.monitoring() && !c.master
	if monitored && cmd.Flags.Has(commands.SkipMonitor) && cmd.Group == "scripting" {
		c.s.feedMonitors(cmd, c.DB, c.monitorAddr(), args)
	}
	at := c.out.Len()
	// CLIENT NO-TOUCH: no command but TOUCH moves access clocks; and
	// those Redis looks keys up for with LOOKUP_NOTOUCH never move them.
	c.tx.SetNoTouch((c.NoTouch && cmd.Name != "touch") || noTouch(cmd.Name))
	// A command failed when it answered an error, or wrote one (a
	// script's); as in Redis, an EXEC does not fail with the commands it
	// ran, whose calls moved the mark.
	c.errMark = c.out.Errors()
	start := c.clock
	if start == 0 {
		start = monoNow()
	}
	// A replica applies its primary's batches without key locks: a
	// command on keys holds the stream off while it runs, so that a value
	// of several records (a list's index and nodes, a hash's fields)
	// reads as one state, as on Redis's replica, which applies on the
	// thread that runs the commands. A read of one key holds it only
	// once it finds such a value: a string of one record reads whole.
	// SORT_RO names one key but reads others by its BY and GET patterns;
	// DEBUG (DIGEST, DIGEST-VALUE) names none and reads any.
	stream := !inMulti && c.holdsStream(cmd)
	lazy := stream && !write && !c.master && cmd.FirstKey > 0 && cmd.FirstKey == cmd.LastKey && cmd.Name != "sort_ro" && !c.tx.Holding()
	if lazy {
		c.tx.HoldLazily(c.s.store.Hold)
	}
	held := stream && !lazy && c.s.holdStream(c)
	err := c.run(ctx)
	if held || lazy && c.tx.EndHoldLazily() {
		c.s.store.Release()
	}
	c.clock = monoNow()
	dur := time.Duration(c.clock - start)
	if monitored && !cmd.Flags.Has(commands.SkipMonitor) && !cmd.Flags.Has(commands.Admin) {
		c.s.feedMonitors(cmd, c.DB, c.monitorAddr(), args)
	}
	if c.trk.on {
		c.trackRead(cmd, args)
		// CLIENT CACHING holds for the next command, or transaction.
		if !inMulti && c.multi == nil && cmd.Name != "client|caching" {
			c.trk.caching = false
		}
	}
	var changes int64
	if write && err == nil {
		var reply []byte
		if c.out.Len() >= at {
			reply = c.out.Bytes()[at:]
		}
		changes = changesOf(ctx, cmd, args, reply)
	}
	ctx.TakeChanged()
	if discard {
		c.out.Truncate(min(at, c.out.Len()))
		c.out.Discard = true
	}
	if err != nil {
		c.replyError(err)
	} else if (cmd.Flags.Has(commands.Write) || fedPublish(cmd)) && c.s.feeding() {
		c.feedWrite(ctx, c.DB, cmd, args, changes, c.collectFed)
	}
	if !inMulti && len(c.fed) > 0 {
		// One call's writes, EXEC's and a script's all together, go as
		// one MULTI ... EXEC when there are several, as Redis 7.0's
		// propagatePendingCommands wraps them.
		c.s.repl.FeedMulti(c.fed)
		clear(c.fed)
		c.fed = c.fed[:0]
	}
	if !inMulti && len(c.called) > 0 {
		c.logCalled()
	}
	if c.s.repl.FeedActive() {
		c.FedOffset = c.s.repl.FeedOffset() // what WAIT waits for
	}
	ctx.TakePropagated() // NB: the Ctx serves the connection's next call
	c.stats.hits += ctx.KeyspaceHits
	c.stats.misses += ctx.KeyspaceMisses
	ctx.KeyspaceHits, ctx.KeyspaceMisses = 0, 0
	if c.Asking && !inMulti && cmd.Name != "asking" {
		c.Asking = false // ASKING holds for the next command only
	}
	failed := c.out.Errors() != c.errMark
	c.errMark = c.out.Errors()
	c.s.record(cmd, args, c, dur, failed, changes)
}

// holdsStream reports whether cmd holds a replica's stream off while it
// runs: a command on keys (or DEBUG, whose DIGEST reads them all) that
// does not wait for writes (a blocking command waits for the stream) nor
// holds the stream itself (scripts, EXEC: holdStream).
func (c *conn) holdsStream(cmd *commands.Command) bool {
	return c.s.repl.IsReplica() && (cmd.FirstKey > 0 || cmd.Name == "debug") &&
		!cmd.Flags.Has(commands.Blocking) && !commands.RunsScript(cmd.Name)
}

// noTouch reports whether the command's lookups leave access clocks
// alone, as Redis's LOOKUP_NOTOUCH.
func noTouch(name string) bool {
	switch name {
	case "ttl", "pttl", "expiretime", "pexpiretime", "type", "exists":
		return true
	}
	return false
}

// monoBase is the origin of monoNow.
var monoBase = time.Now()

// monoNow is the monotonic clock in nanoseconds since monoBase (a
// cheaper read than time.Now, which reads the wall clock too); never 0.
func monoNow() int64 { return int64(time.Since(monoBase)) + 1 }

func (c *conn) run(ctx *commands.Ctx) (err error) {
	mark := c.out.Len()
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("command panicked", "command", ctx.Cmd.Name, "panic", r, "stack", string(debug.Stack()))
			// NB: drop what the handler wrote before it panicked, so the
			// error is its only reply.
			if c.out.Len() >= mark {
				c.out.Truncate(mark)
			}
			err = fmt.Errorf("panic in %s: %v", ctx.Cmd.Name, r)
		}
	}()
	return runHandler(ctx)
}

// runHandler runs ctx's handler; a read that found a long string changed
// under it (storage.ErrTornRead: on a replica, a batch of the primary's
// applied between the string's lookup and the read of its chunks) runs
// again from the start, its partial reply dropped, after a pause that
// grows with each try, so that a key overwritten back to back is read
// between two of its writes.
func runHandler(ctx *commands.Ctx) error {
	mark := ctx.Out.Len()
	for try := 1; ; try++ {
		err := ctx.Cmd.Handler(ctx)
		if !errors.Is(err, storage.ErrTornRead) || ctx.Cmd.Flags.Has(commands.Write) || try == tornReadTries {
			return err
		}
		ctx.Out.Truncate(mark)
		ctx.ResetKeys()
		time.Sleep(time.Duration(try) * 100 * time.Microsecond)
	}
}

// tornReadTries bounds the runs of a read that keeps finding its string
// changed: the pauses between them add up to about 0.2 s.
const tornReadTries = 20

// reject answers a command refused by a gate and counts it in INFO
// commandstats' rejected_calls. An open MULTI fails, so EXEC
// will answer EXECABORT; a refused EXEC itself discards the transaction at
// once and says why, as Redis's rejectCommand does
// ("EXECABORT Transaction discarded because of: wrong number of arguments
// for 'exec' command").
func (c *conn) reject(cmd *commands.Command, err error) {
	c.s.recordRejected(cmd)
	if cmd.Name != "exec" {
		c.failQueued()
		c.replyError(err)
		return
	}
	c.multi = nil
	c.s.unwatchAll(c)
	why := c.s.errorText(err)
	if re, ok := err.(*commands.Error); ok && re.Code == "ERR" {
		why = re.Msg
	}
	c.replyError(&commands.Error{Code: "EXECABORT", Msg: "Transaction discarded because of: " + why})
}

// writes reports whether cmd with args writes: a write command, a script
// or function that declares it may, or an EXEC with one of those queued,
// which the gates refuse as a whole when the server's state changed since
// it was queued (a replica now, too few replicas, a failing disk), as
// Redis's processCommand does.
func (c *conn) writes(cmd *commands.Command, args [][]byte) bool {
	if c.flags(cmd, args).Has(commands.Write) {
		return true
	}
	if cmd.Name == "exec" && c.multi != nil {
		for _, q := range c.multi.queued {
			if c.flags(q.cmd, q.args).Has(commands.Write) {
				return true
			}
		}
	}
	return false
}

// flags are cmd's flags as the gates judge it with args
// (commands.CommandFlags: a script's declared flags stand for EVAL's).
func (c *conn) flags(cmd *commands.Command, args [][]byte) commands.Flags {
	return commands.CommandFlags(c.s.scripts, cmd, args)
}

// failQueued marks an open MULTI as failed: EXEC will answer EXECABORT.
func (c *conn) failQueued() {
	if c.multi != nil {
		c.multi.failed = true
	}
}

// protectedRefused is Redis's refusal of a protected command (DEBUG, or
// MODULE LOAD, LOADEX and UNLOAD) that its directive does not allow to a
// client: the directive yes, or local for a client on this host, as
// Redis's allowProtectedAction decides. The directives are read at start.
func (s *Server) protectedRefused(cmd *commands.Command, cl *commands.Client) error {
	name, directive, setting := "DEBUG", "enable-debug-command", s.enableDebug
	if cmd.Parent != nil && cmd.Parent.Name == "module" {
		name, directive, setting = "MODULE", "enable-module-command", s.enableModule
	}
	if setting == "yes" || (setting == "local" && cl.Local()) {
		return nil
	}
	return commands.Errf("%s command not allowed. If the %s option is set to \"local\", "+
		"you can run it from a local connection, otherwise you need to set this option in the configuration file, "+
		"and then restart the server.", name, directive)
}

func unknownCommand(args [][]byte) error {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() > 128 {
			break
		}
		fmt.Fprintf(&b, "'%s' ", truncateArg(a))
	}
	return commands.Errf("unknown command '%s', with args beginning with: %s", truncateArg(args[0]), b.String())
}

func truncateArg(a []byte) string {
	if len(a) > 128 {
		a = a[:128]
	}
	return string(a)
}
