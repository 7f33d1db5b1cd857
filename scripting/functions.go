package scripting

import (
	"context"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/resp"
)

// Library is a function library (FUNCTION LOAD): its code and the
// functions it registered.
type Library struct {
	Name      string
	Code      string
	Functions []*Function
	proto     *lua.FunctionProto
}

// Function is one registered function.
type Function struct {
	Name        string
	Description *string
	Flags       Flags
	Library     *Library
}

// libSet is the libraries and functions in force; changes replace it
// whole, so a run reads one consistent set.
type libSet struct {
	gen   uint64
	libs  map[string]*Library
	funcs map[string]*Function // by lower-case name: FCALL finds a function whatever its case, as in Redis
}

// loading collects what a library registers while its code runs.
type loading struct {
	lib   *Library
	funcs map[string]*lua.LFunction
	list  []*Function
}

// parseLibrary reads a library's "#!lua name=<lib>" header and compiles
// its code.
func parseLibrary(code string) (*Library, error) {
	if !strings.HasPrefix(code, "#!") {
		return nil, &ReplyError{"ERR Missing library metadata"}
	}
	line, _, found := strings.Cut(code, "\n")
	// NB: the words as Redis splits them (sdssplitargs): the engine is
	// what follows "#!" in the first ("#! lua" names none).
	parts, err := config.SplitArgs(line)
	if !found || err != nil || len(parts) == 0 {
		return nil, &ReplyError{"ERR Invalid library metadata"}
	}
	name := ""
	seen := false
	for _, p := range parts[1:] {
		if len(p) < 5 || !strings.EqualFold(p[:5], "name=") {
			return nil, &ReplyError{"ERR Invalid metadata value given: " + p}
		}
		v := p[5:]
		if seen {
			return nil, &ReplyError{"ERR Invalid metadata value, name argument was given multiple times"}
		}
		name, seen = v, true
	}
	if !seen {
		return nil, &ReplyError{"ERR Library name was not given"}
	}
	if !validName(name) {
		return nil, &ReplyError{"ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"}
	}
	if engine := parts[0][2:]; !strings.EqualFold(engine, "lua") {
		return nil, &ReplyError{"ERR Engine '" + engine + "' not found"}
	}
	proto, err := compile("--"+code, "user_function")
	if err != nil {
		return nil, &ReplyError{"ERR Error compiling function: " + err.Error()}
	}
	return &Library{Name: name, Code: code, proto: proto}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// runLibrary runs lib's code in s under the load-time API and returns the
// functions it registered.
func (s *state) runLibrary(lib *Library, timeout time.Duration) (map[string]*lua.LFunction, []*Function, error) {
	L := s.L
	var deadline context.Context
	if timeout > 0 {
		var cancel context.CancelFunc
		deadline, cancel = context.WithTimeout(context.Background(), timeout)
		defer cancel()
		L.SetContext(deadline)
		defer L.SetContext(s.kill)
	}
	ld := &loading{lib: lib, funcs: map[string]*lua.LFunction{}}
	s.loading = ld
	s.envMeta.RawSetString("__index", s.loadAPI)
	fn := L.NewFunctionFromProto(lib.proto)
	fn.Env = s.env
	L.Push(fn)
	err := L.PCall(0, 0, s.errHandler)
	s.envMeta.RawSetString("__index", s.globals)
	s.loading = nil
	if err != nil {
		msg := err.Error()
		if ae, ok := err.(*lua.ApiError); ok {
			if t, ok := ae.Object.(*lua.LTable); ok {
				msg = lua.LVAsString(t.RawGetString("err"))
			}
		}
		if deadline != nil && deadline.Err() != nil {
			msg = "ERR FUNCTION LOAD timeout"
		}
		return nil, nil, &ReplyError{"ERR Error registering functions: " + msg}
	}
	if len(ld.funcs) == 0 {
		return nil, nil, &ReplyError{"ERR No functions registered"}
	}
	return ld.funcs, ld.list, nil
}

// registerFunction is redis.register_function(name, callback) or
// redis.register_function{function_name=, callback=, flags=, description=}.
func (s *state) registerFunction(L *lua.LState) int {
	ld := s.loading
	if ld == nil {
		s.raise("redis.register_function can only be called on FUNCTION LOAD command")
	}
	var (
		name  string
		cb    *lua.LFunction
		flags Flags
		desc  *string
	)
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			s.raise("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		var bad string
		t.ForEach(func(k, v lua.LValue) {
			if bad != "" {
				return
			}
			key, ok := k.(lua.LString)
			if !ok {
				bad = "named argument key given to redis.register_function is not a string"
				return
			}
			switch string(key) {
			case "function_name":
				str, ok := v.(lua.LString)
				if !ok {
					bad = "function_name argument given to redis.register_function must be a string"
					return
				}
				name = string(str)
			case "description":
				if !lua.LVCanConvToString(v) {
					bad = "description argument given to redis.register_function must be a string"
					return
				}
				d := lua.LVAsString(v)
				desc = &d
			case "callback":
				f, ok := v.(*lua.LFunction)
				if !ok {
					bad = "callback argument given to redis.register_function must be a function"
					return
				}
				cb = f
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					bad = "flags argument to redis.register_function must be a table representing function flags"
					return
				}
				for i := 1; i <= ft.Len(); i++ {
					fs, ok := ft.RawGetInt(i).(lua.LString)
					f, known := flagByName(string(fs))
					if !ok || !known {
						bad = "unknown flag given"
						return
					}
					flags |= f
				}
			default:
				bad = "unknown argument given to redis.register_function"
			}
		})
		if bad != "" {
			s.raise(bad)
		}
		if name == "" {
			s.raise("redis.register_function must get a function name argument")
		}
		if cb == nil {
			s.raise("redis.register_function must get a callback argument")
		}
	case 2:
		str, ok := L.Get(1).(lua.LString)
		if !ok {
			s.raise("first argument to redis.register_function must be a string")
		}
		name = string(str)
		f, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			s.raise("second argument to redis.register_function must be a function")
		}
		cb = f
	default:
		s.raise("wrong number of arguments to redis.register_function")
	}
	if !validName(name) {
		// NB: Redis 7.0 says "Library" here too.
		s.raise("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
	}
	if _, dup := ld.funcs[name]; dup {
		s.raise("Function already exists in the library")
	}
	ld.funcs[name] = cb
	ld.list = append(ld.list, &Function{Name: name, Description: desc, Flags: flags, Library: ld.lib})
	return 0
}

// LoadPolicy is how FUNCTION RESTORE treats existing libraries.
type LoadPolicy int

// FUNCTION RESTORE's policies.
const (
	PolicyAppend LoadPolicy = iota
	PolicyReplace
	PolicyFlush
)

// LoadTimeout is how long a client's FUNCTION LOAD may run the library's
// code, as Redis's LOAD_TIMEOUT_MS: a library that registers functions
// needs far less, one that loops must not hold the server.
const LoadTimeout = 500 * time.Millisecond

// CheckLibrary reports whether code would load, alone, within LoadTimeout
// (COMPONENT DEPLOY KIND function checks its payload with it).
func (e *Engine) CheckLibrary(code string) error {
	_, err := e.prepare(code, LoadTimeout)
	return err
}

// LibraryName returns the name a library's header gives.
func LibraryName(code string) (string, error) {
	lib, err := parseLibrary(code)
	if err != nil {
		return "", err
	}
	return lib.Name, nil
}

// LoadLibrary loads code (FUNCTION LOAD); replace allows replacing a
// library of the same name; the code's run fails after timeout, unless 0
// (what a primary sends is obeyed). It returns the library's name.
func (e *Engine) LoadLibrary(code string, replace bool, timeout time.Duration) (string, error) {
	e.libsMu.Lock()
	defer e.libsMu.Unlock()
	lib, err := e.prepare(code, timeout)
	if err != nil {
		return "", err
	}
	cur := e.libs.Load()
	if _, exists := cur.libs[lib.Name]; exists && !replace {
		return "", &ReplyError{"ERR Library '" + lib.Name + "' already exists"}
	}
	next := cur.without(lib.Name)
	if err := next.add(lib); err != nil {
		return "", err
	}
	e.install(next)
	return lib.Name, nil
}

// prepare parses code and runs it once, for at most timeout unless 0, to
// learn its functions.
func (e *Engine) prepare(code string, timeout time.Duration) (*Library, error) {
	lib, err := parseLibrary(code)
	if err != nil {
		return nil, err
	}
	st := e.getState()
	defer e.putState(st)
	_, list, err := st.runLibrary(lib, timeout)
	if err != nil {
		return nil, err
	}
	lib.Functions = list
	return lib, nil
}

func (cur *libSet) without(name string) *libSet {
	next := &libSet{gen: cur.gen + 1, libs: map[string]*Library{}, funcs: map[string]*Function{}}
	for n, l := range cur.libs {
		if n == name {
			continue
		}
		next.libs[n] = l
		for _, f := range l.Functions {
			next.funcs[strings.ToLower(f.Name)] = f
		}
	}
	return next
}

func (ls *libSet) add(lib *Library) error {
	for _, f := range lib.Functions {
		if _, dup := ls.funcs[strings.ToLower(f.Name)]; dup {
			return &ReplyError{"ERR Function " + f.Name + " already exists"}
		}
	}
	ls.libs[lib.Name] = lib
	for _, f := range lib.Functions {
		ls.funcs[strings.ToLower(f.Name)] = f
	}
	return nil
}

func (e *Engine) install(ls *libSet) {
	ls.gen = e.libs.Load().gen + 1
	e.libs.Store(ls)
}

// DeleteLibrary removes a library (FUNCTION DELETE).
func (e *Engine) DeleteLibrary(name string) error {
	e.libsMu.Lock()
	defer e.libsMu.Unlock()
	cur := e.libs.Load()
	if _, ok := cur.libs[name]; !ok {
		return &ReplyError{"ERR Library not found"}
	}
	e.install(cur.without(name))
	return nil
}

// FlushLibraries removes every library (FUNCTION FLUSH).
func (e *Engine) FlushLibraries() {
	e.libsMu.Lock()
	defer e.libsMu.Unlock()
	e.install(&libSet{libs: map[string]*Library{}, funcs: map[string]*Function{}})
}

// Restore loads the libraries' code of a FUNCTION DUMP payload under
// policy, all or none.
func (e *Engine) Restore(codes []string, policy LoadPolicy) error {
	e.libsMu.Lock()
	defer e.libsMu.Unlock()
	var libs []*Library
	for _, code := range codes {
		lib, err := e.prepare(code, 0)
		if err != nil {
			return err
		}
		libs = append(libs, lib)
	}
	cur := e.libs.Load()
	next := cur.without("")
	if policy == PolicyFlush {
		next = &libSet{libs: map[string]*Library{}, funcs: map[string]*Function{}}
	}
	for _, lib := range libs {
		if old, exists := next.libs[lib.Name]; exists {
			if policy != PolicyReplace {
				return &ReplyError{"ERR Library " + lib.Name + " already exists"}
			}
			next = next.without(old.Name)
		}
		if err := next.add(lib); err != nil {
			return err
		}
	}
	e.install(next)
	return nil
}

// Codes returns every library's code, by library name: what FUNCTION DUMP
// and the store keep.
func (e *Engine) Codes() []string {
	libs := e.Libraries()
	out := make([]string, len(libs))
	for i, l := range libs {
		out[i] = l.Code
	}
	return out
}

// Libraries returns the libraries sorted by name.
func (e *Engine) Libraries() []*Library {
	cur := e.libs.Load()
	out := make([]*Library, 0, len(cur.libs))
	for _, l := range cur.libs {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FunctionCount returns the number of registered functions.
func (e *Engine) FunctionCount() int { return len(e.libs.Load().funcs) }

// Function returns the function called name, or nil.
func (e *Engine) Function(name string) *Function {
	return e.libs.Load().funcs[strings.ToLower(name)]
}

// Call runs function f for run (FCALL) and writes its reply to out. It
// returns ErrRetry, having written nothing, when the run must be done
// again.
func (e *Engine) Call(run *Run, f *Function, out *resp.Writer) error {
	st := e.getState()
	defer e.putState(st)
	cur := e.libs.Load()
	if st.funcsGen != cur.gen || st.funcs == nil {
		st.funcs = map[string]*lua.LFunction{}
		for _, lib := range cur.libs {
			fns, _, err := st.runLibrary(lib, 0) // it loaded once
			if err != nil {
				continue
			}
			for n, fn := range fns {
				st.funcs[n] = fn
			}
		}
		st.funcsGen = cur.gen
	}
	fn := st.funcs[f.Name]
	if fn == nil {
		out.Error("ERR Function not found")
		return nil
	}
	st.L.Push(st.stringTable(run.Keys))
	st.L.Push(st.stringTable(run.Args))
	return st.call(run, fn, 2, out)
}
