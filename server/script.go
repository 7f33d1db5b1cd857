package server

import (
	"errors"
	"fmt"
	"github.com/shoaldb/shoal/acl"
	"runtime/debug"
	"strings"
	"time"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
)

// functionsRecord is the store record that keeps the function libraries:
// FUNCTION DUMP's payload of every library.
const functionsRecord = storage.FunctionsRecord

// redisVersionNum is RedisVersion as redis.REDIS_VERSION_NUM (0x00MMmmpp).
const redisVersionNum = 7<<16 | 2<<8 | 4

func newScripts(s *Server) *scripting.Engine {
	e := scripting.New(s.log, RedisVersion, redisVersionNum)
	e.SetBusyThreshold(s.cfg.BusyReplyThreshold)
	return e
}

// loadFunctions brings the engine's libraries in line with the store's
// record: at start, and on a replica when the primary changed them.
func (s *Server) loadFunctions() error {
	payload, ok, err := s.store.Record(functionsRecord)
	if err != nil {
		return err
	}
	if !ok {
		s.scripts.FlushLibraries()
		return nil
	}
	codes, err := storage.DecodeFunctions(payload)
	if err != nil {
		return fmt.Errorf("function libraries in the store: %w", err)
	}
	return s.scripts.Restore(codes, scripting.PolicyFlush)
}

func (s *Server) recordChanged(name string) {
	if name != "" && name != functionsRecord {
		return
	}
	if err := s.loadFunctions(); err != nil {
		s.log.Error("loading replicated function libraries", "err", err)
	}
}

// Scripts returns the script engine.
func (s *Server) Scripts() *scripting.Engine { return s.scripts }

// SaveFunctions writes the libraries to the store in c's batch.
func (s *Server) SaveFunctions(c *commands.Ctx) { s.saveFunctions(c.Tx) }

func (s *Server) saveFunctions(tx *storage.Tx) {
	if codes := s.scripts.Codes(); len(codes) > 0 {
		tx.PutRecord(functionsRecord, storage.EncodeFunctions(codes))
	} else {
		tx.PutRecord(functionsRecord, nil)
	}
}

// WriteGate implements commands.Server.
func (s *Server) WriteGate() error { return s.replicationGate(true) }

// functionLoader loads the components of KIND function through the same
// code as FUNCTION LOAD REPLACE: a primary also writes the libraries to
// the store (they replicate from there); a replica loads them into its
// engine only, its store following its primary's.
func (s *Server) functionLoader() cluster.FunctionLoader {
	change := func(apply func() error) error {
		if s.repl.IsReplica() {
			return apply()
		}
		tx := s.store.NewTx()
		tx.Lock(0, commands.FunctionsLock)
		if err := apply(); err != nil {
			tx.Discard()
			return err
		}
		s.saveFunctions(tx)
		return tx.Commit()
	}
	return cluster.FunctionLoader{
		Check: func(code []byte) error { return s.scripts.CheckLibrary(string(code)) },
		Load: func(code []byte) error {
			return change(func() error {
				_, err := s.scripts.LoadLibrary(string(code), true, 0) // checked before
				return err
			})
		},
		Unload: func(code []byte) error {
			return change(func() error {
				name, err := scripting.LibraryName(string(code))
				if err != nil {
					return nil
				}
				if err := s.scripts.DeleteLibrary(name); err != nil && err.Error() != "ERR Library not found" {
					return err
				}
				return nil
			})
		},
	}
}

// RunScript runs a script or function for c so that no other client sees
// part of it: it holds the locks of every key it touches until its writes
// commit as one batch (one replication record). A run that reaches for a
// key another client holds is rolled back and run again alone, waiting
// for the keys it needs (see storage.AtomicMode).
func (s *Server) RunScript(c *commands.Ctx, run *scripting.Run, exec func(out *resp.Writer) error) error {
	cn := connOf(c)
	host := &scriptHost{c: cn, caller: c, writeGate: s.replicationGate(true)}
	run.Host = host
	if !c.Tx.ClockFrozen() {
		// As Redis 7.0: the keys a script reads expire by the time it
		// began, however long it runs.
		c.Tx.FreezeClock(s.store.NowMs())
		defer c.Tx.FreezeClock(0)
	}
	run.ClientProto = c.Out.Proto()
	// The run's writes reach redis-server replicas with the call's others
	// (an EXEC's), as one MULTI ... EXEC, once it is over, under its locks.
	defer func() {
		cn.fed = append(cn.fed, host.fed...)
		cn.called = append(cn.called, host.called...)
	}()
	if cn.scriptExclusive {
		// Inside an EXEC that holds the run's keys and Exclusive.
		c.Tx.SetAtomic(storage.AtomicWait)
		defer c.Tx.SetAtomic(storage.AtomicOff)
		return exec(c.Out)
	}
	if s.holdStream(cn) {
		defer s.store.Release()
	}
	if len(run.Keys) > 0 {
		c.Tx.Lock(c.DB(), run.Keys...)
	}
	// The connection's earlier writes of this pipeline stay in the batch:
	// a run abandoned rolls back to here.
	sp := c.Tx.Savepoint()
	c.Tx.SetAtomic(storage.AtomicTry)
	err := exec(c.Out)
	if errors.Is(err, scripting.ErrRetry) {
		c.Tx.SetAtomic(storage.AtomicOff)
		c.Tx.Rollback(sp)
		host.fedCalls = fedCalls{}
		// Commit the earlier writes and let go of every lock: only then
		// may the run wait for Exclusive.
		c.Tx.Commit()
		run.Proto = 0
		run.Wrote.Store(false)
		s.scripts.Exclusive.Lock()
		if len(run.Keys) > 0 {
			c.Tx.Lock(c.DB(), run.Keys...)
		}
		c.Tx.SetAtomic(storage.AtomicWait)
		err = exec(c.Out)
		s.scripts.Exclusive.Unlock()
	}
	c.Tx.SetAtomic(storage.AtomicOff)
	return err
}

// holdStream keeps a replica's stream from applying while cn runs a
// script or a transaction, which then reads one state of the data, and
// reports whether it did; the caller then calls s.store.Release when it
// is done. What cn's pipeline wrote before commits first, letting go of
// its key locks (storage.Store.Hold). A master client is the stream.
func (s *Server) holdStream(cn *conn) bool {
	if cn.master || !s.repl.IsReplica() {
		return false
	}
	if cn.tx.Holding() {
		cn.tx.Commit()
	}
	s.store.Hold()
	return true
}

// scriptHost runs the commands of one client's script.
type scriptHost struct {
	c      *conn
	caller *commands.Ctx
	// client is the script's own client state: a SELECT in the script
	// changes the script's database, not the caller's.
	client commands.Client
	inited bool
	slot   int // the slot of the keys so far, cluster mode; -1 none
	// fedCalls is what the run's writes pass on to the replicas.
	fedCalls
	// writeGate is the replication gate's answer when the run began
	// (READONLY, NOREPLICAS or nil): a replica that drops while a script
	// runs does not stop its writes halfway, as Redis counts its good
	// replicas again only outside a script.
	writeGate error
}

// scriptCommand finds the command (or subcommand) a script calls, as
// Redis's lookupCommand does for redis.call and redis.acl_check_cmd; nil
// when there is none.
func (s *Server) scriptCommand(args [][]byte) *commands.Command {
	cmd := s.table.Lookup(args[0])
	if cmd != nil && len(cmd.Subcommands) > 0 && len(args) >= 2 {
		cmd = cmd.Sub(args[1])
	}
	return cmd
}

// ACLCheckCmd implements scripting.Host: redis.acl_check_cmd asks
// whether the caller's user may run args; a command Redis's lookupCommand
// would not find is an error.
func (h *scriptHost) ACLCheckCmd(run *scripting.Run, args [][]byte) (bool, error) {
	cmd := h.c.s.scriptCommand(args)
	if cmd == nil {
		return false, errors.New("no such command")
	}
	r, _ := h.c.aclResult(cmd, args)
	return r == acl.OK, nil
}

// Call implements scripting.Host, as Redis's scriptCall: the checks a
// script's command passes, then the command.
func (h *scriptHost) Call(run *scripting.Run, args [][]byte, out *resp.Writer) (err error) {
	c, s := h.c, h.c.s
	// A call's error counts in INFO errorstats, as the reply of a
	// command, or as a refusal of the call, which counts in the refused
	// command's rejected_calls too, as Redis's scriptCall counts it.
	out.OnError = s.countError
	var cmd *commands.Command
	defer func() {
		if err != nil && !errors.Is(err, scripting.ErrRetry) {
			// A refusal with no code of its own counts as ERR.
			text, coded := strings.CutPrefix(err.Error(), "-")
			if !coded {
				text = "ERR " + text
			}
			s.countError(text)
			if cmd != nil {
				s.recordRejected(cmd)
			}
		}
	}()
	if !h.inited {
		h.client, h.inited, h.slot = *h.caller.Client, true, -1
	}
	cmd = s.scriptCommand(args)
	if cmd == nil {
		return errors.New("Unknown Redis command called from script")
	}
	if !cmd.ArityOK(len(args)) {
		return errors.New("Wrong number of args calling Redis command from script")
	}
	if cmd.Flags.Has(commands.NoScript) && !s.allowNoScript.Load() {
		return errors.New("This Redis command is not allowed from script")
	}
	if !cmd.Flags.Has(commands.Stale) && s.stale() {
		return errors.New("Can not execute the command on a stale replica")
	}
	if err := c.aclCheckScript(cmd, args); err != nil {
		return err
	}
	// A read-only script may not write nor run what may replicate (a
	// PUBLISH): so it can run during CLIENT PAUSE WRITE, as in Redis.
	if run.ReadOnly && (cmd.Flags.Has(commands.Write) || cmd.Flags.Has(commands.MayReplicate)) {
		return errors.New("Write commands are not allowed from read-only scripts.")
	}
	wrote := run.Wrote.Load()
	if cmd.Flags.Has(commands.Write) {
		if err := h.writeGate; err != nil {
			return errors.New("-" + s.errorText(err))
		}
		run.Wrote.Store(true)
	}
	// As Redis's scriptVerifyOOM: past maxmemory, a command that may
	// grow memory is refused until the script first wrote, which it
	// cannot be stopped halfway through after.
	if cmd.Flags.Has(commands.DenyOOM) && !wrote && run.Flags&scripting.AllowOOM == 0 && !h.caller.Client.Master && s.overMemory.Load() {
		return errors.New("-" + s.errorText(errOOM))
	}
	if s.cluster != nil {
		if err := h.clusterCheck(run, cmd, args); err != nil {
			return err
		}
	}
	ctx := commands.Ctx{Args: args, Cmd: cmd, Out: out, Tx: c.tx, Store: s.store, Client: &h.client,
		Server: s, Cluster: h.caller.Cluster, Catalog: h.caller.Catalog, Conn: c, InMulti: true, InScript: true, Events: &s.events}
	if pos := cmd.KeyPositions(args); len(pos) > 0 {
		keys := make([][]byte, len(pos))
		for i, p := range pos {
			keys[i] = args[p]
		}
		if err := lockForScript(c.tx, h.client.DB, keys); err != nil {
			return err
		}
	}
	if cmd.Group == "server" {
		c.flushStats() // INFO sees every call before it
	}
	start := time.Now()
	at := out.Len()
	cerr := callHandler(&ctx)
	if errors.Is(cerr, scripting.ErrRetry) {
		return cerr
	}
	if c.trk.on && cmd.Flags.Has(commands.ReadOnly) {
		// As Redis 7.0's call(): a script's read tracks the keys the
		// caller declared, not those the read named.
		c.trackKeys(h.caller.Cmd, h.caller.Args)
	}
	if s.monitoring() && !cmd.Flags.Has(commands.SkipMonitor) && !cmd.Flags.Has(commands.Admin) {
		s.feedMonitors(cmd, h.client.DB, "lua", args)
	}
	var changes int64
	if cerr == nil && cmd.Flags.Has(commands.Write) {
		changes = changesOf(&ctx, cmd, args, out.Bytes()[min(at, out.Len()):])
	}
	if cerr != nil {
		out.Error(s.errorText(cerr))
	} else if (cmd.Flags.Has(commands.Write) || fedPublish(cmd)) && run.ReplOff&2 == 0 {
		// NB: redis.set_repl without REPL_REPLICA keeps the call from
		// redis-server replicas, and from a Shoal replica's commandstats;
		// a Shoal replica applies the run's batch, which holds every write.
		if s.feeding() {
			c.feedWrite(&ctx, h.client.DB, cmd, args, changes, func(db int, args ...[]byte) {
				h.collect(s, c.tx, db, args)
			})
		}
	}
	c.s.record(cmd, args, c, time.Since(start), cerr != nil, changes)
	return nil
}

// lockForScript takes keys' locks in the run's atomic mode, turning a lock
// held elsewhere into a run again.
func lockForScript(tx *storage.Tx, db int, keys [][]byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == storage.ErrContended {
				err = scripting.ErrRetry
				return
			}
			panic(r)
		}
	}()
	tx.Lock(db, keys...)
	return nil
}

// callHandler runs a command's handler for a script: a panic is the
// command's error, and a lock held elsewhere a run again.
func callHandler(ctx *commands.Ctx) (err error) {
	mark := ctx.Out.Len()
	defer func() {
		if r := recover(); r != nil {
			ctx.Out.Truncate(mark)
			if r == storage.ErrContended {
				err = scripting.ErrRetry
				return
			}
			err = fmt.Errorf("panic in %s: %v\n%s", ctx.Cmd.Name, r, debug.Stack())
		}
	}()
	return runHandler(ctx)
}

// clusterCheck refuses keys this node does not serve and, unless the run
// allows it, keys of more than one slot, as Redis's scripts in a cluster.
func (h *scriptHost) clusterCheck(run *scripting.Run, cmd *commands.Command, args [][]byte) error {
	pos := cmd.KeyPositions(args)
	if len(pos) == 0 {
		return nil
	}
	r := h.c.s.cluster.Routes()
	if r == nil {
		return errors.New("-CLUSTERDOWN The cluster is down")
	}
	for _, p := range pos {
		slot := cluster.KeySlot(args[p])
		if sh := r.ShardOf(slot); sh == nil || !(sh.Local || sh.Replica && h.client.ReadOnlyCluster) {
			return errors.New("Script attempted to access a non local key in a cluster node script")
		}
		if run.Flags&scripting.AllowCrossSlot == 0 {
			if h.slot >= 0 && h.slot != slot {
				return errors.New("Script attempted to access keys that do not hash to the same slot")
			}
			h.slot = slot
		}
	}
	return nil
}
