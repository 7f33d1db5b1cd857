package scripting

import (
	"context"
	"fmt"
	"math"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// state is one Lua interpreter with Redis's environment: the libraries
// Redis 7.0 loads, the redis table, and globals that scripts may read but
// not create or change. States are pooled; a run has one to itself.
type state struct {
	L *lua.LState
	e *Engine
	// globals is the real global table; env is the read-only view of it
	// that every script and function runs in (and calls _G).
	globals, env *lua.LTable
	// envMeta is env's metatable: its __index is globals while scripts
	// run and loadAPI while a library loads (FUNCTION LOAD).
	envMeta *lua.LTable
	// loadAPI is what a library sees while it loads: the libraries and a
	// redis table with register_function and log only.
	loadAPI *lua.LTable
	// readonly maps each read-only view to the table behind it, for
	// pairs, next and rawget.
	readonly map[*lua.LTable]*lua.LTable
	views    map[*lua.LTable]*lua.LTable // view → its metatable
	// scripts caches the functions made from compiled scripts, by SHA.
	scripts    map[string]*lua.LFunction
	scriptsGen uint64
	// funcs holds the library functions of generation funcsGen.
	funcs    map[string]*lua.LFunction
	funcsGen uint64
	// loading collects register_function's work while a library loads.
	loading *loading
	// run is the run in progress, nil between runs.
	run *Run
	// kill is the context the interpreter checks between instructions.
	kill       *killContext
	errHandler *lua.LFunction
}

// Globals Redis 7.0 removes or never loads.
var absentGlobals = []string{"_GOPHER_LUA_VERSION", "dofile", "loadfile", "print", "getfenv", "setfenv", "module", "require", "newproxy", "_printregs"}

func newState(e *Engine) *state {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 200, RegistrySize: 1024, RegistryMaxSize: 1 << 20, RegistryGrowStep: 256})
	s := &state{L: L, e: e, readonly: map[*lua.LTable]*lua.LTable{}, views: map[*lua.LTable]*lua.LTable{}, scripts: map[string]*lua.LFunction{}}
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}, {lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	openLibs(L)
	s.globals = L.G.Global
	for _, name := range absentGlobals {
		s.globals.RawSetString(name, lua.LNil)
	}
	s.addCompat()
	redis := s.newRedisTable(false)
	s.globals.RawSetString("redis", redis)

	// The load-time API: a restricted redis and nothing else.
	s.loadAPI = L.NewTable()
	s.loadAPI.RawSetString("redis", s.newRedisTable(true))

	// Read-only views: library tables, then the globals.
	s.globals.ForEach(func(k, v lua.LValue) {
		if t, ok := v.(*lua.LTable); ok && k.Type() == lua.LTString {
			s.globals.RawSet(k, s.readOnlyView(t, nil))
		}
	})
	if r, ok := s.loadAPI.RawGetString("redis").(*lua.LTable); ok {
		s.loadAPI.RawSetString("redis", s.readOnlyView(r, s.missingGlobal()))
	}
	s.globals.RawSetString("_G", lua.LNil)
	missing := L.NewTable()
	missing.RawSetString("__index", s.missingGlobal())
	L.SetMetatable(s.globals, missing)
	loadMissing := L.NewTable()
	loadMissing.RawSetString("__index", s.missingGlobal())
	L.SetMetatable(s.loadAPI, loadMissing)
	s.env = s.readOnlyView(s.globals, nil)
	s.envMeta = s.views[s.env]
	s.globals.RawSetString("_G", s.env)
	s.protectGetmetatable()
	s.errHandler = L.NewFunction(s.errorHandler)
	s.globals.RawSetString("__redis__err__handler", s.errHandler)

	s.kill = newKillContext()
	L.SetContext(s.kill)
	return s
}

// readOnlyView returns an empty table whose reads go to t and whose writes
// fail as Redis's read-only tables do. index, when set, answers reads of
// keys t lacks.
func (s *state) readOnlyView(t *lua.LTable, index *lua.LFunction) *lua.LTable {
	L := s.L
	if index != nil {
		m := L.NewTable()
		m.RawSetString("__index", index)
		L.SetMetatable(t, m)
	}
	view := L.NewTable()
	meta := L.NewTable()
	meta.RawSetString("__index", t)
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	meta.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(view, meta)
	s.readonly[view] = t
	s.views[view] = meta
	return view
}

// protectGetmetatable makes getmetatable answer for the read-only views
// as Redis's Lua does for its read-only tables: _G's metatable, itself
// read-only, so that changing it fails as changing _G does; no metatable
// for the others.
func (s *state) protectGetmetatable() {
	L := s.L
	meta := L.NewTable()
	meta.RawSetString("__index", s.missingGlobal())
	gmeta := s.readOnlyView(meta, nil)
	getmt := s.globals.RawGetString("getmetatable").(*lua.LFunction)
	s.globals.RawSetString("getmetatable", L.NewFunction(func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && s.readonly[t] != nil {
			if t == s.env {
				L.Push(gmeta)
			} else {
				L.Push(lua.LNil)
			}
			return 1
		}
		return getmt.GFunction(L)
	}))
}

// missingGlobal is the __index of the globals: reading a global that does
// not exist is an error in Redis.
func (s *state) missingGlobal() *lua.LFunction {
	return s.L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.ToString(2))
		return 0
	})
}

// addCompat adds what Lua 5.1 has and gopher-lua lacks, and wraps the
// functions that must see through or refuse the read-only views.
func (s *state) addCompat() {
	L, g := s.L, s.globals
	str := g.RawGetString("string").(*lua.LTable)
	str.RawSetString("gfind", str.RawGetString("gmatch"))
	// NB: Redis's Lua loads no binary chunk, so what string.dump makes is
	// of no use to a script but as a string: it gets a Lua 5.1 chunk's
	// signature, which loadstring refuses, where gopher-lua's raised an
	// error of its own.
	str.RawSetString("dump", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		if fn.IsG {
			L.RaiseError("unable to dump given function")
		}
		L.Push(lua.LString("\x1bLuaQ\x00"))
		return 1
	}))
	tbl := g.RawGetString("table").(*lua.LTable)
	tbl.RawSetString("foreach", L.NewFunction(tableForeach(false)))
	tbl.RawSetString("foreachi", L.NewFunction(tableForeach(true)))
	tbl.RawSetString("setn", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("'setn' is obsolete")
		return 0
	}))
	g.RawSetString("tostring", L.NewFunction(tostring(g.RawGetString("tostring").(*lua.LFunction))))
	setProtectedCalls(L, g)
	mlib := g.RawGetString("math").(*lua.LTable)
	mlib.RawSetString("random", L.NewFunction(mathRandom))
	mlib.RawSetString("randomseed", L.NewFunction(mathRandomSeed))
	g.RawSetString("gcinfo", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(0))
		return 1
	}))
	unwrap := func(v lua.LValue) lua.LValue {
		if t, ok := v.(*lua.LTable); ok {
			if real, ok := s.readonly[t]; ok {
				return real
			}
		}
		return v
	}
	next := g.RawGetString("next").(*lua.LFunction)
	nextFn := L.NewFunction(func(L *lua.LState) int {
		L.Replace(1, unwrap(L.Get(1)))
		return next.GFunction(L)
	})
	g.RawSetString("next", nextFn)
	g.RawSetString("pairs", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		L.Push(nextFn)
		L.Push(unwrap(t))
		L.Push(lua.LNil)
		return 3
	}))
	rawget := g.RawGetString("rawget").(*lua.LFunction)
	g.RawSetString("rawget", L.NewFunction(func(L *lua.LState) int {
		L.Replace(1, unwrap(L.Get(1)))
		return rawget.GFunction(L)
	}))
	// The functions that change the table they are given refuse a
	// read-only one, as Redis's Lua does in its C API: without the
	// caller's position.
	refuse := func(t *lua.LTable, name string) {
		orig := t.RawGetString(name).(*lua.LFunction)
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			if t, ok := L.Get(1).(*lua.LTable); ok && (s.readonly[t] != nil || t == s.globals) {
				L.Error(lua.LString("Attempt to modify a readonly table"), 0)
			}
			return orig.GFunction(L)
		}))
	}
	refuse(g, "rawset")
	refuse(g, "setmetatable")
	refuse(tbl, "insert")
	// NB: the read-only tables have no array part: removing from or
	// sorting one writes nothing, and is no error, in Redis too.
	for _, name := range []string{"remove", "sort"} {
		orig := tbl.RawGetString(name).(*lua.LFunction)
		tbl.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			if t, ok := L.Get(1).(*lua.LTable); ok && s.readonly[t] != nil {
				return 0
			}
			return orig.GFunction(L)
		}))
	}
	// Chunks that loadstring and load make run in the scripts' globals.
	for _, name := range []string{"loadstring", "load"} {
		orig := g.RawGetString(name).(*lua.LFunction)
		g.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			n := orig.GFunction(L)
			if fn, ok := L.Get(-n).(*lua.LFunction); ok && n > 0 {
				fn.Env = s.env
			}
			return n
		}))
	}
}

func tableForeach(indexed bool) lua.LGFunction {
	return func(L *lua.LState) int {
		t := L.CheckTable(1)
		f := L.CheckFunction(2)
		call := func(k, v lua.LValue) bool {
			L.Push(f)
			L.Push(k)
			L.Push(v)
			L.Call(2, 1)
			r := L.Get(-1)
			L.Pop(1)
			if r != lua.LNil {
				L.Push(r)
				return true
			}
			return false
		}
		if indexed {
			for i := 1; i <= t.Len(); i++ {
				if call(lua.LNumber(i), t.RawGetInt(i)) {
					return 1
				}
			}
			return 0
		}
		for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
			if call(k, v) {
				return 1
			}
		}
		return 0
	}
}

// errorHandler is __redis__err__handler: it turns an error into Redis's
// error table {err=..., source=..., line=...}, taking the place from the
// innermost Lua function.
func (s *state) errorHandler(L *lua.LState) int {
	errv := L.Get(1)
	t, ok := errv.(*lua.LTable)
	if !ok {
		t = L.NewTable()
		t.RawSetString("err", lua.LString("ERR "+lua.LVAsString(reworded(L, lua.LString(lua.LVAsString(L.ToStringMeta(errv)))))))
	}
	for level := 0; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			continue
		}
		if dbg.What == "G" || dbg.CurrentLine <= 0 {
			continue
		}
		t.RawSetString("source", lua.LString("@"+dbg.Source))
		t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
		break
	}
	L.Push(t)
	return 1
}

// killContext is the context the interpreter polls: cancelling it raises
// an error at the next instruction, and again at each one after, so a
// pcall in the script cannot swallow it.
type killContext struct {
	context.Context
	done chan struct{}
	msg  string
}

func newKillContext() *killContext {
	return &killContext{Context: context.Background(), done: make(chan struct{})}
}

// reset readies a cancelled context for the next run.
func (k *killContext) reset() {
	select {
	case <-k.done:
		k.done = make(chan struct{})
	default:
	}
}

func (k *killContext) Done() <-chan struct{} { return k.done }
func (k *killContext) Err() error {
	select {
	case <-k.done:
		return fmt.Errorf("%s", k.msg)
	default:
		return nil
	}
}

// prng is Redis's script PRNG (rand.c's redisLrand48, drand48's
// generator), one for the process as in Redis: math.random gives Redis's
// numbers after the same math.randomseed.
var prng struct {
	sync.Mutex
	x uint64 // 48 bits
}

func init() { prng.x = 0x1234ABCD330E }

// lrand48 is redisLrand48: the next 31 bits.
func lrand48() int32 {
	prng.Lock()
	defer prng.Unlock()
	prng.x = (prng.x*0x5DEECE66D + 0xB) & (1<<48 - 1)
	return int32(prng.x >> 17)
}

// mathRandomSeed is Redis's redis_math_randomseed: luaL_checkint's
// number (a number's string too), its 32 bits the generator's high ones.
func mathRandomSeed(L *lua.LState) int {
	seed := int32(int64(L.CheckNumber(1)))
	prng.Lock()
	prng.x = uint64(uint32(seed))<<16 | 0x330E
	prng.Unlock()
	return 0
}

// mathRandom is Redis's redis_math_random, Lua 5.1's math.random over
// redisLrand48.
func mathRandom(L *lua.LState) int {
	const max = math.MaxInt32
	r := float64(lrand48()%max) / float64(max)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := int(L.CheckNumber(1))
		if u < 1 {
			L.RaiseError("bad argument #1 to 'random' (interval is empty)")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l, u := int(L.CheckNumber(1)), int(L.CheckNumber(2))
		if l > u {
			L.RaiseError("bad argument #2 to 'random' (interval is empty)")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}
