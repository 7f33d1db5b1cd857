package scripting

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Log levels of redis.log, as Redis numbers them.
const (
	LogDebug = iota
	LogVerbose
	LogNotice
	LogWarning
)

// newRedisTable builds the redis table scripts see, or, for loading a
// library, the one FUNCTION LOAD's code sees: register_function, log and
// the constants only.
func (s *state) newRedisTable(loading bool) *lua.LTable {
	L := s.L
	t := L.NewTable()
	t.RawSetString("LOG_DEBUG", lua.LNumber(LogDebug))
	t.RawSetString("LOG_VERBOSE", lua.LNumber(LogVerbose))
	t.RawSetString("LOG_NOTICE", lua.LNumber(LogNotice))
	t.RawSetString("LOG_WARNING", lua.LNumber(LogWarning))
	t.RawSetString("REDIS_VERSION", lua.LString(s.e.Version))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(s.e.VersionNum))
	t.RawSetString("log", L.NewFunction(s.redisLog))
	if loading {
		t.RawSetString("register_function", L.NewFunction(s.registerFunction))
		return t
	}
	for name, v := range map[string]int{"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3} {
		t.RawSetString(name, lua.LNumber(v))
	}
	t.RawSetString("call", L.NewFunction(func(L *lua.LState) int { return s.redisCall(L, true) }))
	t.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int { return s.redisCall(L, false) }))
	t.RawSetString("error_reply", L.NewFunction(func(L *lua.LState) int {
		msg, ok := L.Get(1).(lua.LString)
		if L.GetTop() != 1 || !ok {
			L.Push(s.errorTable("ERR wrong number or type of arguments"))
			return 1
		}
		text := string(msg)
		if !strings.HasPrefix(text, "-") {
			text = "-" + text
		}
		L.Push(s.errorTable(errorText(text)))
		return 1
	}))
	t.RawSetString("status_reply", L.NewFunction(func(L *lua.LState) int {
		msg, ok := L.Get(1).(lua.LString)
		if L.GetTop() != 1 || !ok {
			L.Push(s.errorTable("ERR wrong number or type of arguments"))
			return 1
		}
		r := L.CreateTable(0, 1)
		r.RawSetString("ok", msg)
		L.Push(r)
		return 1
	}))
	t.RawSetString("sha1hex", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			L.RaiseError("wrong number of arguments")
		}
		sum := sha1.Sum([]byte(L.ToString(1)))
		L.Push(lua.LString(hex.EncodeToString(sum[:])))
		return 1
	}))
	t.RawSetString("setresp", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			s.raise("redis.setresp() requires one argument.")
		}
		p := L.CheckInt(1)
		if p != 2 && p != 3 {
			s.raise("RESP version must be 2 or 3.")
		}
		if s.run != nil {
			s.run.Proto = p
		}
		return 0
	}))
	t.RawSetString("set_repl", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			s.raise("redis.set_repl() requires one argument.")
		}
		f := L.CheckInt(1)
		if f&^3 != 0 {
			s.raise("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
		}
		if s.run != nil {
			s.run.ReplOff = 3 &^ f
		}
		return 0
	}))
	t.RawSetString("replicate_commands", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LTrue)
		return 1
	}))
	noop := L.NewFunction(func(L *lua.LState) int { return 0 })
	t.RawSetString("breakpoint", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LFalse)
		return 1
	}))
	t.RawSetString("debug", noop)
	t.RawSetString("acl_check_cmd", L.NewFunction(s.aclCheckCmd))
	return t
}

// ignoreErrorStats marks an error table made of a failed redis.call or
// redis.pcall.
const ignoreErrorStats = "ignore_error_stats_update"

// raise raises Redis's error table for msg (code ERR unless msg is
// "-CODE text").
func (s *state) raise(msg string) {
	s.L.Error(s.errorTable(errorText(msg)), 1)
}

// errorText is luaPushErrorBuff's rule: "-CODE msg" keeps its code, any
// other text takes ERR.
func errorText(msg string) string {
	if strings.HasPrefix(msg, "-") {
		code, rest, ok := strings.Cut(msg[1:], " ")
		if !ok {
			return "ERR " + strings.TrimRight(msg[1:], "\r\n")
		}
		return code + " " + strings.TrimRight(rest, "\r\n")
	}
	return "ERR " + strings.TrimRight(msg, "\r\n")
}

func (s *state) redisLog(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		s.raise("redis.log() requires two arguments or more.")
	}
	lv, ok := L.Get(1).(lua.LNumber)
	if !ok {
		s.raise("First argument must be a number (log level).")
	}
	level := int(lv)
	if level < LogDebug || level > LogWarning {
		s.raise("Invalid debug level.")
	}
	parts := make([]string, 0, n-1)
	for i := 2; i <= n; i++ {
		parts = append(parts, L.ToString(i))
	}
	s.e.logLine(level, strings.Join(parts, " "))
	return 0
}

// callArgs returns the arguments of a redis lib call, as Redis's
// luaArgsToRedisArgv reads them, or the error table of bad ones.
func (s *state) callArgs(L *lua.LState) ([][]byte, *lua.LTable) {
	n := L.GetTop()
	if n == 0 {
		return nil, s.errorTable("ERR Please specify at least one argument for this redis lib call")
	}
	args := make([][]byte, n)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args[i-1] = []byte(v)
		case lua.LNumber:
			args[i-1] = strconv.AppendFloat(nil, float64(v), 'g', 17, 64)
		default:
			return nil, s.errorTable("ERR Lua redis lib command arguments must be strings or integers")
		}
	}
	return args, nil
}

// aclCheckCmd is redis.acl_check_cmd: whether the script's user may run
// the command with its arguments, denials not logged.
func (s *state) aclCheckCmd(L *lua.LState) int {
	args, errTable := s.callArgs(L)
	if errTable != nil {
		L.Error(errTable, 1)
	}
	if s.run == nil {
		s.raise("redis.acl_check_cmd can only be called inside a script invocation")
	}
	ok, err := s.run.Host.ACLCheckCmd(s.run, args)
	if err != nil {
		s.raise("Invalid command passed to redis.acl_check_cmd()")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// redisCall is redis.call (raise true) and redis.pcall.
func (s *state) redisCall(L *lua.LState, raise bool) int {
	run := s.run
	fail := func(t *lua.LTable) int {
		// The error was counted when the call failed: a script that
		// returns or raises it does not count it again (Redis 7.0 sets the
		// same field).
		t.RawSetString(ignoreErrorStats, lua.LTrue)
		if raise {
			L.Error(t, 1)
		}
		L.Push(t)
		return 1
	}
	args, errTable := s.callArgs(L)
	if errTable != nil {
		return fail(errTable)
	}
	if run == nil {
		return fail(s.errorTable("ERR redis.call can only be called inside a script invocation"))
	}
	out := &run.scratch
	out.Reset()
	out.SetProto(run.Proto)
	if err := run.Host.Call(run, args, out); err != nil {
		if err == ErrRetry {
			run.abort()
			L.RaiseError("run again")
		}
		return fail(s.errorTable(errorText(err.Error())))
	}
	v, _, isErr := s.replyToLua(out.Bytes())
	if isErr {
		return fail(v.(*lua.LTable))
	}
	L.Push(v)
	return 1
}
