package scripting

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/resp"
)

// Flags are a script's or function's declared flags (#!lua flags=...,
// register_function's flags).
type Flags uint8

// The flags Redis 7.0 knows.
const (
	NoWrites Flags = 1 << iota
	AllowOOM
	AllowStale
	NoCluster
	AllowCrossSlot
)

var flagNames = []struct {
	f    Flags
	name string
}{{NoWrites, "no-writes"}, {AllowOOM, "allow-oom"}, {AllowStale, "allow-stale"}, {NoCluster, "no-cluster"}, {AllowCrossSlot, "allow-cross-slot-keys"}}

// Names returns the flags' names in Redis's order.
func (f Flags) Names() []string {
	out := []string{}
	for _, n := range flagNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

func flagByName(name string) (Flags, bool) {
	for _, n := range flagNames {
		if n.name == name {
			return n.f, true
		}
	}
	return 0, false
}

// Script is a compiled EVAL script.
type Script struct {
	SHA  string
	Body string
	// Flags are the script's declared flags; Shebang reports that it
	// declared them with "#!lua" (a script without is a legacy script
	// that may write).
	Flags   Flags
	Shebang bool
	proto   *lua.FunctionProto
}

// Host runs the commands a script calls through redis.call and
// redis.pcall. The server implements it for the calling client.
type Host interface {
	// Call runs args (args[0] the command's name) and writes its reply to
	// out in out's protocol. It returns an error, without a reply, when
	// the command may not run from the script; the error's text is
	// "-CODE message" or a message that takes the code ERR. ErrRetry
	// aborts the whole run.
	Call(run *Run, args [][]byte, out *resp.Writer) error
	// ACLCheckCmd reports whether the script's user may run args, as
	// redis.acl_check_cmd asks; an error when no such command exists.
	ACLCheckCmd(run *Run, args [][]byte) (bool, error)
}

// ErrRetry is what Host.Call returns when the run must be abandoned and
// run again (its writes discarded): a key it reached for was locked.
var ErrRetry = errors.New("scripting: run again")

// Run is one execution of a script or a function.
type Run struct {
	// Name is the SHA of a script or the name of a function: error
	// replies cite it.
	Name string
	// Function reports an FCALL (FUNCTION KILL stops it, SCRIPT KILL
	// does not).
	Function bool
	// Command is the caller's whole command, as FUNCTION STATS shows it.
	Command [][]byte
	Keys    [][]byte
	Args    [][]byte
	// ReadOnly refuses writes: EVAL_RO, FCALL_RO and no-writes.
	ReadOnly bool
	Flags    Flags
	// ClientProto is the protocol of the calling client: the script's
	// reply is written in it.
	ClientProto int
	Host        Host

	// Proto is the protocol redis.setresp chose for replies of calls.
	Proto int
	// ReplOff holds the bits of redis.set_repl's flags the run's calls
	// now leave out (REPL_AOF 1, REPL_REPLICA 2): 0, the default, is
	// REPL_ALL.
	ReplOff int
	// Wrote is set once the run called a write command: SCRIPT KILL can
	// no longer stop it.
	Wrote atomic.Bool
	start time.Time
	busy  atomic.Bool
	st    *state
	retry bool
	// mu orders a kill against the run's end.
	mu     sync.Mutex
	ended  bool
	killed bool
	// scratch is the writer redis.call's replies are written into.
	scratch resp.Writer
}

// Engine compiles, caches and runs scripts and function libraries.
type Engine struct {
	log *slog.Logger

	mu      sync.RWMutex
	scripts map[string]*Script
	gen     atomic.Uint64 // bumped by SCRIPT FLUSH

	libs   atomic.Pointer[libSet]
	libsMu sync.Mutex // serialises changes of libs

	pool chan *state

	runMu     sync.Mutex
	runs      map[*Run]struct{}
	busy      atomic.Int32
	threshold atomic.Int64 // ms; 0 or less: never busy
	watchOnce sync.Once

	// Exclusive is held by the one run that may wait for key locks while
	// it holds others (storage.AtomicWait).
	Exclusive sync.Mutex

	// Version and VersionNum are redis.REDIS_VERSION and
	// redis.REDIS_VERSION_NUM.
	Version    string
	VersionNum int
}

// New returns an engine that logs redis.log lines to log.
func New(log *slog.Logger, version string, versionNum int) *Engine {
	e := &Engine{log: log, scripts: map[string]*Script{}, pool: make(chan *state, 64),
		runs: map[*Run]struct{}{}, Version: version, VersionNum: versionNum}
	e.libs.Store(&libSet{libs: map[string]*Library{}, funcs: map[string]*Function{}})
	e.threshold.Store(5000)
	return e
}

// SetBusyThreshold sets busy-reply-threshold in milliseconds.
func (e *Engine) SetBusyThreshold(ms int64) { e.threshold.Store(ms) }

// SHA1 returns the hex SHA1 of body, a script's name.
func SHA1(body []byte) string {
	sum := sha1.Sum(body)
	return hex.EncodeToString(sum[:])
}

// Lookup returns the cached script with sha (any case), or nil.
func (e *Engine) Lookup(sha []byte) *Script {
	if len(sha) != 40 {
		return nil
	}
	key := strings.ToLower(string(sha))
	e.mu.RLock()
	s := e.scripts[key]
	e.mu.RUnlock()
	return s
}

// Exists reports whether sha is cached.
func (e *Engine) Exists(sha []byte) bool { return e.Lookup(sha) != nil }

// Load compiles body and caches it (SCRIPT LOAD, EVAL). The error is
// Redis's reply text.
func (e *Engine) Load(body []byte) (*Script, error) {
	sha := SHA1(body)
	if s := e.Lookup([]byte(sha)); s != nil {
		return s, nil
	}
	flags, shebang, code, err := parseShebang(string(body))
	if err != nil {
		return nil, err
	}
	// As Redis, the body becomes a function of no arguments, on the same
	// lines: "..." and a vararg's arg table are not the body's.
	chunk, err := compile("function f_"+sha+"() "+code+"\nend", "user_script")
	if err != nil {
		return nil, &ReplyError{"ERR Error compiling script (new function): " + err.Error()}
	}
	if len(chunk.FunctionPrototypes) != 1 {
		return nil, &ReplyError{"ERR Error compiling script (new function): user_script:1: '<eof>' expected"}
	}
	proto := chunk.FunctionPrototypes[0]
	s := &Script{SHA: sha, Body: string(body), Flags: flags, Shebang: shebang, proto: proto}
	e.mu.Lock()
	if old := e.scripts[sha]; old != nil {
		s = old
	} else {
		e.scripts[sha] = s
	}
	e.mu.Unlock()
	return s, nil
}

// Flush forgets every cached script (SCRIPT FLUSH).
func (e *Engine) Flush() {
	e.mu.Lock()
	e.scripts = map[string]*Script{}
	e.gen.Add(1)
	e.mu.Unlock()
}

// ScriptCount returns the number of cached scripts.
func (e *Engine) ScriptCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.scripts)
}

// CodeBytes returns the bytes of the cached scripts' and the libraries'
// code: what INFO memory reports for them.
func (e *Engine) CodeBytes() (scripts, functions int64) {
	e.mu.RLock()
	for _, s := range e.scripts {
		scripts += int64(len(s.Body))
	}
	e.mu.RUnlock()
	for _, l := range e.libs.Load().libs {
		functions += int64(len(l.Code))
	}
	return scripts, functions
}

// ReplyError is an error whose text is a whole reply error, code first.
type ReplyError struct{ Text string }

func (e *ReplyError) Error() string { return e.Text }

// parseShebang reads "#!lua flags=a,b" off the first line of a script.
// Code keeps the line (as a comment) so line numbers hold.
func parseShebang(body string) (flags Flags, shebang bool, code string, err error) {
	if !strings.HasPrefix(body, "#!") {
		return 0, false, body, nil
	}
	line, _, found := strings.Cut(body, "\n")
	if !found {
		return 0, false, "", &ReplyError{"ERR Invalid script shebang"}
	}
	parts, err := config.SplitArgs(line)
	if err != nil || len(parts) == 0 {
		return 0, false, "", &ReplyError{"ERR Invalid engine in script shebang"}
	}
	if parts[0] != "#!lua" {
		return 0, false, "", &ReplyError{"ERR Unexpected engine in script shebang: " + parts[0]}
	}
	for _, p := range parts[1:] {
		v, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return 0, false, "", &ReplyError{"ERR Unknown lua shebang option: " + p}
		}
		if v == "" {
			continue
		}
		for _, name := range strings.Split(v, ",") {
			f, ok := flagByName(name)
			if !ok {
				return 0, false, "", &ReplyError{"ERR Unexpected flag in script shebang: " + name}
			}
			flags |= f
		}
	}
	return flags, true, "--" + body, nil
}

// compile parses and compiles Lua code; the error reads as Lua's.
func compile(code, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(code), name)
	if err != nil {
		return nil, compileError(err, name)
	}
	return lua.Compile(chunk, name)
}

// compileError rewrites gopher-lua's parse error ("name line:3(column:5)
// near 'x':   syntax error") in Lua's form ("name:3: syntax error near
// 'x'").
func compileError(err error, name string) error {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return err
	}
	msg := strings.TrimSpace(pe.Message)
	if pe.Token != "" {
		msg += " near '" + pe.Token + "'"
	}
	return errors.New(name + ":" + strconv.Itoa(pe.Pos.Line) + ": " + msg)
}

// logLine writes a redis.log line at its level.
func (e *Engine) logLine(level int, msg string) {
	if e.log == nil {
		return
	}
	lv := slog.LevelInfo
	switch level {
	case LogDebug, LogVerbose:
		lv = slog.LevelDebug
	case LogWarning:
		lv = slog.LevelWarn
	}
	e.log.Log(context.Background(), lv, msg, "source", "script")
}

// getState takes a state from the pool or makes one.
func (e *Engine) getState() *state {
	select {
	case s := <-e.pool:
		return s
	default:
		return newState(e)
	}
}

func (e *Engine) putState(s *state) {
	s.L.SetTop(0)
	s.run = nil
	// NB: a killed run leaves its context cancelled; the state's next
	// user may be a library's load, which no run resets.
	s.kill.reset()
	select {
	case e.pool <- s:
	default:
		s.L.Close()
	}
}

// begin registers run as running, for BUSY and KILL.
func (e *Engine) begin(run *Run) {
	e.watchOnce.Do(func() { go e.watch() })
	run.start = time.Now()
	e.runMu.Lock()
	e.runs[run] = struct{}{}
	e.runMu.Unlock()
}

func (e *Engine) end(run *Run) {
	run.mu.Lock()
	run.ended = true
	run.mu.Unlock()
	e.runMu.Lock()
	delete(e.runs, run)
	if run.busy.Load() {
		e.busy.Add(-1)
	}
	e.runMu.Unlock()
}

// watch marks the runs that passed busy-reply-threshold.
func (e *Engine) watch() {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		limit := e.threshold.Load()
		if limit <= 0 {
			continue
		}
		e.runMu.Lock()
		for r := range e.runs {
			if !r.busy.Load() && time.Since(r.start) >= time.Duration(limit)*time.Millisecond {
				r.busy.Store(true)
				e.busy.Add(1)
			}
		}
		e.runMu.Unlock()
	}
}

// Busy reports whether a script or function has run past
// busy-reply-threshold, and which: other clients then get BUSY.
func (e *Engine) Busy() (busy, function bool) {
	if e.busy.Load() == 0 {
		return false, false
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	for r := range e.runs {
		if r.busy.Load() {
			return true, r.Function
		}
	}
	return false, false
}

// Busy error replies.
var (
	ErrBusyScript   = &ReplyError{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."}
	ErrBusyFunction = &ReplyError{"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."}
)

// Kill stops the busy scripts (function false) or functions (true) that
// have not written, as SCRIPT KILL and FUNCTION KILL do.
func (e *Engine) Kill(function bool) error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	var busy []*Run
	for r := range e.runs {
		if r.busy.Load() {
			busy = append(busy, r)
		}
	}
	if len(busy) == 0 {
		return &ReplyError{"NOTBUSY No scripts in execution right now."}
	}
	for _, r := range busy {
		if r.Wrote.Load() {
			return &ReplyError{"UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."}
		}
		if r.Function != function {
			if function {
				return ErrBusyScript
			}
			return ErrBusyFunction
		}
	}
	for _, r := range busy {
		r.kill("Script killed by user with SCRIPT KILL...")
	}
	return nil
}

// kill stops the run at its next instruction.
func (r *Run) kill(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended || r.killed {
		return
	}
	r.killed = true
	k := r.st.kill
	k.msg = msg
	close(k.done)
}

// abort stops the run to run it again (ErrRetry).
func (r *Run) abort() {
	r.retry = true
	r.kill("ERR run again")
}

// Running reports the script or function a client runs, for FUNCTION
// STATS: its name, arguments and milliseconds so far.
func (e *Engine) Running() (name string, command [][]byte, ms int64, ok bool) {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	for r := range e.runs {
		if r.Function {
			// NB: copied: the caller's arguments are its to reuse once
			// the run ends.
			command = make([][]byte, len(r.Command))
			for i, a := range r.Command {
				command[i] = bytes.Clone(a)
			}
			return r.Name, command, time.Since(r.start).Milliseconds(), true
		}
	}
	return "", nil, 0, false
}

// Eval runs script for run and writes its reply to out. It returns
// ErrRetry, having written nothing, when the run must be done again.
func (e *Engine) Eval(run *Run, script *Script, out *resp.Writer) error {
	st := e.getState()
	defer e.putState(st)
	fn := st.scriptFunction(script)
	keys := st.stringTable(run.Keys)
	args := st.stringTable(run.Args)
	st.globals.RawSetString("KEYS", keys)
	st.globals.RawSetString("ARGV", args)
	return st.call(run, fn, 0, out)
}

// scriptFunction returns the state's function for script, made once.
func (s *state) scriptFunction(script *Script) *lua.LFunction {
	if gen := s.e.gen.Load(); gen != s.scriptsGen {
		clear(s.scripts)
		s.scriptsGen = gen
	}
	fn := s.scripts[script.SHA]
	if fn == nil {
		fn = s.L.NewFunctionFromProto(script.proto)
		fn.Env = s.env
		s.scripts[script.SHA] = fn
	}
	return fn
}

func (s *state) stringTable(items [][]byte) *lua.LTable {
	t := s.L.CreateTable(len(items), 0)
	for _, it := range items {
		t.Append(lua.LString(it))
	}
	return t
}

// call runs fn on the nargs arguments on the stack, under the error
// handler, and writes the reply.
func (s *state) call(run *Run, fn *lua.LFunction, nargs int, out *resp.Writer) error {
	L := s.L
	run.mu.Lock()
	run.st, run.retry, run.killed, run.ended = s, false, false, false
	run.mu.Unlock()
	// NB: a run again after ErrRetry starts over: redis.setresp and
	// redis.set_repl act from where it calls them.
	run.Proto, run.ReplOff = 2, 0
	s.run = run
	s.kill.reset()
	s.e.begin(run)
	L.Insert(fn, L.GetTop()-nargs+1)
	err := L.PCall(nargs, 1, s.errHandler)
	s.e.end(run)
	if run.retry {
		return ErrRetry
	}
	if err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			obj = ae.Object
		}
		s.writeError(run, obj, out)
		return nil
	}
	s.luaToReply(run, L.Get(-1), out, 0)
	L.Pop(1)
	return nil
}

// writeError writes the reply of a run that raised obj.
func (s *state) writeError(run *Run, obj lua.LValue, out *resp.Writer) {
	t, ok := obj.(*lua.LTable)
	if run.killed {
		// The interpreter raised the kill as a string at the instruction
		// it reached; Redis's kill is an error table of its own text.
		killed := s.errorTable("ERR " + s.kill.msg)
		if ok {
			killed.RawSetString("source", t.RawGetString("source"))
			killed.RawSetString("line", t.RawGetString("line"))
		}
		t, ok = killed, true
	}
	if !ok {
		msg := "execution failure"
		if str, ok := obj.(lua.LString); ok {
			msg = string(str)
		}
		if len(msg) > 100 {
			msg = msg[:100]
		}
		out.Error("ERR Error running script " + run.Name + ", " + msg)
		return
	}
	msg := lua.LVAsString(t.RawGetString("err"))
	src, line := t.RawGetString("source"), t.RawGetString("line")
	if src != lua.LNil && line != lua.LNil {
		msg += " script: " + run.Name + ", on " + lua.LVAsString(src) + ":" + lua.LVAsString(line) + "."
	}
	writeErrorOf(t, msg, out)
}

// errorTable returns {err=msg}.
func (s *state) errorTable(msg string) *lua.LTable {
	t := s.L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	return t
}
