package commands

import (
	"errors"

	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
)

// scriptingCommands are EVAL, EVALSHA, FCALL, their read-only forms, and
// the SCRIPT and FUNCTION containers.
func scriptingCommands() []*Command {
	run := func(name string, ro bool, summary, since string, h func(*Ctx) error) *Command {
		flags := NoScript | Stale | SkipMonitor | NoMandatoryKeys
		if ro {
			flags |= ReadOnly
		} else {
			flags |= MayReplicate
		}
		return &Command{Name: name, Arity: -3, Flags: flags, Keys: scriptKeys, ACL: []string{"slow", "scripting"},
			Group: "scripting", Summary: summary, Since: since, Complexity: "Depends on the script that is executed.", Handler: h}
	}
	return []*Command{
		run("eval", false, "Execute a Lua script server side", "2.6.0", func(c *Ctx) error { return eval(c, false, false) }),
		run("evalsha", false, "Execute a Lua script server side", "2.6.0", func(c *Ctx) error { return eval(c, true, false) }),
		run("eval_ro", true, "Execute a read-only Lua script server side", "7.0.0", func(c *Ctx) error { return eval(c, false, true) }),
		run("evalsha_ro", true, "Execute a read-only Lua script server side", "7.0.0", func(c *Ctx) error { return eval(c, true, true) }),
		run("fcall", false, "Invoke a function", "7.0.0", func(c *Ctx) error { return fcall(c, false) }),
		run("fcall_ro", true, "Invoke a read-only function", "7.0.0", func(c *Ctx) error { return fcall(c, true) }),
		scriptCommand(),
		functionCommand(),
	}
}

// scriptKeys finds the keys of EVAL and FCALL: numkeys of them after it.
func scriptKeys(args [][]byte) []int {
	if len(args) < 3 {
		return nil
	}
	n, err := ParseInt(args[2])
	if err != nil || n <= 0 || n > int64(len(args)-3) {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 3 + i
	}
	return out
}

// scriptArgs splits EVAL's and FCALL's arguments into keys and the rest.
func scriptArgs(c *Ctx) (keys, args [][]byte, err error) {
	n, err := ParseInt(c.Args[2])
	if err != nil {
		return nil, nil, ErrNotInteger
	}
	if n < 0 {
		return nil, nil, Errf("Number of keys can't be negative")
	}
	if n > int64(len(c.Args)-3) {
		return nil, nil, Errf("Number of keys can't be greater than number of args")
	}
	return c.Args[3 : 3+n], c.Args[3+n:], nil
}

// scriptGate refuses a run its flags forbid here, before it starts, as
// Redis's scriptPrepareForRun. declared is false for a script without a
// shebang, whose writes are checked one by one instead.
func scriptGate(c *Ctx, flags scripting.Flags, declared, ro bool) error {
	if !declared {
		if c.Server.Stale() {
			return ErrMasterDown
		}
		return nil
	}
	if ro && flags&scripting.NoWrites == 0 {
		return Errf("Can not execute a script with write flag using *_ro command.")
	}
	if c.Cluster != nil && flags&scripting.NoCluster != 0 {
		return Errf("Can not run script on cluster, 'no-cluster' flag is set.")
	}
	if flags&scripting.NoWrites == 0 {
		if err := c.Server.WriteGate(); err != nil {
			return err
		}
	}
	if flags&(scripting.NoWrites|scripting.AllowOOM) == 0 && !c.Client.Master && c.Server.OutOfMemory() {
		return &Error{"OOM", "allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"}
	}
	return nil
}

// ScriptMayReplicate reports whether EVAL, EVALSHA or FCALL (cmd) with
// args may write, as Redis's scriptFlagsToCmdFlags decides it for CLIENT
// PAUSE WRITE: a script that declares its flags writes unless one is
// no-writes; one that declares none, or is not found, may.
func ScriptMayReplicate(eng *scripting.Engine, cmd string, args [][]byte) bool {
	flags, declared := ScriptFlags(eng, cmd, args)
	return !declared || flags&scripting.NoWrites == 0
}

// RunsScript reports whether the command named runs a script or function
// (EVAL, EVALSHA, FCALL and their _RO forms), whose declared flags stand
// for the command's own, as Redis's getCommandFlags takes them.
func RunsScript(name string) bool {
	switch name {
	case "eval", "evalsha", "fcall", "eval_ro", "evalsha_ro", "fcall_ro":
		return true
	}
	return false
}

// CommandFlags returns cmd's flags as it runs with args, as Redis's
// getCommandFlags: a script or function that declares its flags has them
// stand for the command's write, denyoom and stale flags
// (scriptFlagsToCmdFlags); no-writes implies allow-oom.
func CommandFlags(eng *scripting.Engine, cmd *Command, args [][]byte) Flags {
	f := cmd.Flags
	if !RunsScript(cmd.Name) {
		return f
	}
	sf, declared := ScriptFlags(eng, cmd.Name, args)
	if !declared {
		return f
	}
	f &^= Write | DenyOOM | Stale
	if sf&scripting.NoWrites == 0 {
		f |= Write
		if sf&scripting.AllowOOM == 0 {
			f |= DenyOOM
		}
	}
	if sf&scripting.AllowStale != 0 {
		f |= Stale
	}
	return f
}

// ScriptFlags returns the flags the script or function EVAL, EVALSHA or
// FCALL (cmd) with args runs declares; declared is false for a script
// without a shebang, or one not found.
func ScriptFlags(eng *scripting.Engine, cmd string, args [][]byte) (flags scripting.Flags, declared bool) {
	if len(args) < 2 {
		return 0, false
	}
	switch cmd {
	case "eval", "evalsha", "eval_ro", "evalsha_ro":
		var s *scripting.Script
		if cmd == "eval" || cmd == "eval_ro" {
			s, _ = eng.Load(args[1])
		} else {
			s = eng.Lookup(args[1])
		}
		if s == nil || !s.Shebang {
			return 0, false
		}
		return s.Flags, true
	case "fcall", "fcall_ro":
		if f := eng.Function(string(args[1])); f != nil {
			return f.Flags, true
		}
	}
	return 0, false
}

func eval(c *Ctx, bySHA, ro bool) error {
	keys, args, err := scriptArgs(c)
	if err != nil {
		return err
	}
	eng := c.Server.Scripts()
	var script *scripting.Script
	if bySHA {
		if script = eng.Lookup(c.Args[1]); script == nil {
			return &Error{"NOSCRIPT", "No matching script. Please use EVAL."}
		}
	} else if script, err = eng.Load(c.Args[1]); err != nil {
		return err
	}
	if err := scriptGate(c, script.Flags, script.Shebang, ro); err != nil {
		return err
	}
	run := &scripting.Run{Name: script.SHA, Keys: keys, Args: args, Flags: script.Flags,
		ReadOnly: ro || script.Flags&scripting.NoWrites != 0}
	return c.Server.RunScript(c, run, func(out *resp.Writer) error { return eng.Eval(run, script, out) })
}

func fcall(c *Ctx, ro bool) error {
	eng := c.Server.Scripts()
	f := eng.Function(string(c.Args[1]))
	if f == nil {
		return Errf("Function not found")
	}
	if _, err := ParseInt(c.Args[2]); err != nil {
		return Errf("Bad number of keys provided") // FCALL's words, not EVAL's
	}
	keys, args, err := scriptArgs(c)
	if err != nil {
		return err
	}
	if err := scriptGate(c, f.Flags, true, ro); err != nil {
		return err
	}
	run := &scripting.Run{Name: f.Name, Function: true, Command: c.Args, Keys: keys, Args: args, Flags: f.Flags,
		ReadOnly: ro || f.Flags&scripting.NoWrites != 0}
	return c.Server.RunScript(c, run, func(out *resp.Writer) error { return eng.Call(run, f, out) })
}

// --- SCRIPT ---

func scriptCommand() *Command {
	acl := []string{"slow", "scripting"}
	sub := func(name string, arity int, flags Flags, summary string, h func(*Ctx) error) *Command {
		return serverSub("script", name, arity, flags|NoScript, acl, "scripting", summary, "2.6.0", "O(1)", h)
	}
	return &Command{Name: "script", Arity: -2, ACL: []string{"slow"}, Group: "scripting",
		Summary: "A container for Lua scripts management commands", Since: "2.6.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("load", 3, Stale, "Load the specified Lua script into the script cache.", func(c *Ctx) error {
				s, err := c.Server.Scripts().Load(c.Args[2])
				if err != nil {
					return err
				}
				c.Out.BulkString(s.SHA)
				return nil
			}),
			sub("exists", -3, 0, "Check existence of scripts in the script cache.", func(c *Ctx) error {
				eng := c.Server.Scripts()
				c.Out.Array(len(c.Args) - 2)
				for _, sha := range c.Args[2:] {
					if eng.Exists(sha) {
						c.Out.Int(1)
					} else {
						c.Out.Int(0)
					}
				}
				return nil
			}),
			sub("flush", -2, 0, "Remove all the scripts from the script cache.", func(c *Ctx) error {
				if err := flushMode(c, "SCRIPT FLUSH only support"); err != nil {
					return err
				}
				c.Server.Scripts().Flush()
				c.Out.OK()
				return nil
			}),
			sub("kill", 2, AllowBusy, "Kill the script currently in execution.", func(c *Ctx) error {
				return okOr(c, c.Server.Scripts().Kill(false))
			}),
			sub("debug", 3, 0, "Set the debug mode for executed scripts.", func(c *Ctx) error {
				switch {
				case Is(c.Args[2], "no"):
					c.Out.OK()
					return nil
				case Is(c.Args[2], "yes"), Is(c.Args[2], "sync"):
					return Errf("SCRIPT DEBUG is not supported: Shoal has no Lua debugger")
				}
				return Errf("Use SCRIPT DEBUG YES/SYNC/NO")
			}),
			containerHelp("script", "scripting", "5.0.0", acl,
				"DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed.",
				"EXISTS <sha1> [<sha1> ...]", "    Return information about the existence of the scripts in the script cache.",
				"FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
				"    When called without the optional mode argument, the behavior is determined by the",
				"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
				"    * ASYNC: Asynchronously flush the scripts cache.",
				"    * SYNC: Synchronously flush the scripts cache.",
				"KILL", "    Kill the currently executing Lua script.",
				"LOAD <script>", "    Load a script into the scripts cache without executing it."),
		}}
}

// flushMode checks the [ASYNC|SYNC] of SCRIPT FLUSH and FUNCTION FLUSH,
// whose errors Redis words differently.
func flushMode(c *Ctx, refusal string) error {
	switch {
	case len(c.Args) == 2:
	case len(c.Args) == 3 && (Is(c.Args[2], "async") || Is(c.Args[2], "sync")):
	case len(c.Args) == 3:
		return Errf("%s SYNC|ASYNC option", refusal)
	default:
		return ErrSubcommandSyntax(c)
	}
	return nil
}

// --- FUNCTION ---

func functionCommand() *Command {
	acl := []string{"slow", "scripting"}
	wacl := []string{"write", "slow", "scripting"}
	sub := func(name string, arity int, flags Flags, acl []string, summary, complexity string, h func(*Ctx) error) *Command {
		return serverSub("function", name, arity, flags|NoScript, acl, "scripting", summary, "7.0.0", complexity, h)
	}
	return &Command{Name: "function", Arity: -2, ACL: []string{"slow"}, Group: "scripting",
		Summary: "A container for function commands", Since: "7.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("load", -3, Write|DenyOOM, wacl, "Create a function with the given arguments (name, code, description)",
				"O(1) (considering compilation time is redundant)", functionLoad),
			sub("list", -2, 0, acl, "List information about all the functions", "O(N) where N is the number of functions", functionList),
			sub("delete", 3, Write, wacl, "Delete a function by name", "O(1)", func(c *Ctx) error {
				return changeFunctions(c, func(eng *scripting.Engine) error { return eng.DeleteLibrary(string(c.Args[2])) })
			}),
			sub("flush", -2, Write, wacl, "Deleting all functions", "O(N) where N is the number of functions deleted", func(c *Ctx) error {
				if err := flushMode(c, "FUNCTION FLUSH only supports"); err != nil {
					return err
				}
				return changeFunctions(c, func(eng *scripting.Engine) error { eng.FlushLibraries(); return nil })
			}),
			sub("dump", 2, 0, acl, "Dump all functions into a serialized binary payload", "O(N) where N is the number of functions", func(c *Ctx) error {
				c.Out.Bulk(storage.EncodeFunctions(c.Server.Scripts().Codes()))
				return nil
			}),
			sub("restore", -3, Write|DenyOOM, wacl, "Restore all the functions on the given payload",
				"O(N) where N is the number of functions on the payload", functionRestore),
			sub("stats", 2, AllowBusy, acl, "Return information about the function currently running (name, description, duration)", "O(1)", functionStats),
			sub("kill", 2, AllowBusy, acl, "Kill the function currently in execution.", "O(1)", func(c *Ctx) error {
				return okOr(c, c.Server.Scripts().Kill(true))
			}),
			containerHelp("function", "scripting", "7.0.0", acl,
				"LOAD [REPLACE] <FUNCTION CODE>", "    Create a new library with the given library name and code.",
				"DELETE <LIBRARY NAME>", "    Delete the given library.",
				"LIST [LIBRARYNAME PATTERN] [WITHCODE]", "    Return general information on all the libraries:",
				"    * Library name", "    * The engine used to run the Library", "    * Library description",
				"    * Functions list", "    * Library code (if WITHCODE is given)",
				"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
				"STATS", "    Return information about the current function running:",
				"    * Function name", "    * Command used to run the function", "    * Duration in MS that the function is running",
				"    If no function is running, return nil", "    In addition, returns a list of available engines.",
				"KILL", "    Kill the current running function.",
				"FLUSH [ASYNC|SYNC]", "    Delete all the libraries.",
				"    When called without the optional mode argument, the behavior is determined by the",
				"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
				"    * ASYNC: Asynchronously flush the libraries.", "    * SYNC: Synchronously flush the libraries.",
				"DUMP", "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
				"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
				"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
				"    control how to handle existing libraries (default APPEND):",
				"    * FLUSH: delete all existing libraries.",
				"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
				"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
				"      libraries with the new libraries (notice that even on this option there is a chance of failure",
				"      in case of functions name collision with another library)."),
		}}
}

// FunctionsLock is the pseudo-key whose lock orders changes of the
// libraries, so their records commit in the order they were made.
var FunctionsLock = []byte("\x00functions")

// changeFunctions applies change to the engine and writes the libraries
// to the store in the same batch.
func changeFunctions(c *Ctx, change func(*scripting.Engine) error) error {
	c.Tx.Lock(0, FunctionsLock)
	if err := change(c.Server.Scripts()); err != nil {
		return err
	}
	c.Server.SaveFunctions(c)
	c.Out.OK()
	return nil
}

func functionLoad(c *Ctx) error {
	replace := false
	i := 2
	for ; i < len(c.Args)-1; i++ {
		if !Is(c.Args[i], "replace") {
			return Errf("Unknown option given: %s", c.Args[i])
		}
		replace = true
	}
	if i != len(c.Args)-1 {
		return Errf("Function code is missing")
	}
	c.Tx.Lock(0, FunctionsLock)
	timeout := scripting.LoadTimeout
	if c.Client.Master {
		timeout = 0 // a primary's FUNCTION LOAD is obeyed
	}
	name, err := c.Server.Scripts().LoadLibrary(string(c.Args[i]), replace, timeout)
	if err != nil {
		return err
	}
	c.Server.SaveFunctions(c)
	c.Out.BulkString(name)
	return nil
}

func functionRestore(c *Ctx) error {
	policy := scripting.PolicyAppend
	if len(c.Args) > 4 {
		return ErrSubcommandSyntax(c)
	}
	if len(c.Args) == 4 {
		switch {
		case Is(c.Args[3], "append"):
		case Is(c.Args[3], "replace"):
			policy = scripting.PolicyReplace
		case Is(c.Args[3], "flush"):
			policy = scripting.PolicyFlush
		default:
			return Errf("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
		}
	}
	codes, err := c.Store.DecodeFunctions(c.Args[2])
	if errors.Is(err, storage.ErrDumpChecksum) {
		return Errf("DUMP payload version or checksum are wrong")
	}
	if err != nil {
		return Errf("given type is not a function")
	}
	return changeFunctions(c, func(eng *scripting.Engine) error { return eng.Restore(codes, policy) })
}

func functionList(c *Ctx) error {
	var pattern []byte
	withCode := false
	for i := 2; i < len(c.Args); i++ {
		switch {
		case Is(c.Args[i], "withcode"):
			if withCode {
				return Errf("Unknown argument withcode")
			}
			withCode = true
		case Is(c.Args[i], "libraryname"):
			if pattern != nil {
				return Errf("Unknown argument libraryname")
			}
			if i+1 >= len(c.Args) {
				return Errf("library name argument was not given")
			}
			i++
			pattern = c.Args[i]
		default:
			return Errf("Unknown argument %s", c.Args[i])
		}
	}
	var libs []*scripting.Library
	for _, l := range c.Server.Scripts().Libraries() {
		if pattern == nil || GlobMatch(pattern, []byte(l.Name)) {
			libs = append(libs, l)
		}
	}
	out := c.Out
	if pattern != nil {
		out.MarkDeferred() // NB: Redis counts the libraries matched as it goes
	}
	out.Array(len(libs))
	for _, l := range libs {
		n := 3
		if withCode {
			n++
		}
		out.Map(n)
		out.BulkString("library_name")
		out.BulkString(l.Name)
		out.BulkString("engine")
		out.BulkString("LUA")
		out.BulkString("functions")
		out.Array(len(l.Functions))
		for _, f := range l.Functions {
			out.Map(3)
			out.BulkString("name")
			out.BulkString(f.Name)
			out.BulkString("description")
			if f.Description == nil {
				out.Null()
			} else {
				out.BulkString(*f.Description)
			}
			out.BulkString("flags")
			names := f.Flags.Names()
			out.Set(len(names))
			for _, n := range names {
				out.BulkString(n)
			}
		}
		if withCode {
			out.BulkString("library_code")
			out.BulkString(l.Code)
		}
	}
	return nil
}

func functionStats(c *Ctx) error {
	eng := c.Server.Scripts()
	out := c.Out
	out.Map(2)
	out.BulkString("running_script")
	if name, command, ms, ok := eng.Running(); ok {
		out.Map(3)
		out.BulkString("name")
		out.BulkString(name)
		out.BulkString("command")
		out.Array(len(command))
		for _, a := range command {
			out.Bulk(a)
		}
		out.BulkString("duration_ms")
		out.Int(ms)
	} else {
		out.Null()
	}
	out.BulkString("engines")
	out.Map(1)
	out.BulkString("LUA")
	out.Map(2)
	out.BulkString("libraries_count")
	out.Int(int64(len(eng.Libraries())))
	out.BulkString("functions_count")
	out.Int(int64(eng.FunctionCount()))
	return nil
}
