package scripting

import (
	"reflect"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Lua 5.1 names the variable a runtime error is about ("attempt to call
// field 'cal' (a nil value)", "attempt to index local 'x' (a nil value)"),
// as Redis's scripts report it; gopher-lua raises its own texts, without
// names or, for a call, the value's type. namedVMError finds the
// instruction that failed in the erring function's bytecode (the same
// opcodes as Lua 5.1's, plus GETTABLEKS, SETTABLEKS and MOVEN) and words
// the error as Lua 5.1's luaG_typeerror does, naming the operand as its
// getobjname does.

// The raw texts gopher-lua raises for the errors Lua 5.1 names.
var vmErrorTexts = []string{
	"attempt to call a non-function object",
	"attempt to index a non-table object(",
	"cannot perform ",
	"__unm undefined",
	"__len undefined",
}

// namedVMError returns Lua 5.1's text of msg, an error the interpreter
// raised at an instruction of the function at stack level 1 (below the
// error handler), and whether it could word it so.
func namedVMError(L *lua.LState, msg string) (string, bool) {
	pos, text := splitPosition(msg)
	raw := false
	for _, t := range vmErrorTexts {
		raw = raw || strings.HasPrefix(text, t)
	}
	if !raw {
		return "", false
	}
	dbg, ok := L.GetStack(1)
	if !ok {
		return "", false
	}
	fv, err := L.GetInfo("f", dbg, lua.LNil)
	fn, isFn := fv.(*lua.LFunction)
	pc, pcOK := framePc(dbg)
	if err != nil || !isFn || fn.IsG || !pcOK || pc < 1 || pc > len(fn.Proto.Code) {
		return "", false
	}
	f := fault{L: L, dbg: dbg, p: fn.Proto, pc: pc - 1}
	inst := f.p.Code[f.pc]
	a, b, c := argA(inst), argB(inst), argC(inst)
	var what string
	var operand int // a register, or a constant as rk encodes it
	switch op := opcode(inst); {
	case (op == lua.OP_CALL || op == lua.OP_TAILCALL) && strings.HasPrefix(text, "attempt to call"):
		what, operand = "call", a
	case (op == lua.OP_GETTABLE || op == lua.OP_GETTABLEKS || op == lua.OP_SELF) && strings.HasPrefix(text, "attempt to index"):
		what, operand = "index", b
	case (op == lua.OP_SETTABLE || op == lua.OP_SETTABLEKS) && strings.HasPrefix(text, "attempt to index"):
		what, operand = "index", a
	case op >= lua.OP_ADD && op <= lua.OP_POW && strings.HasPrefix(text, "cannot perform"):
		// NB: luaG_aritherror names the first operand that is not a
		// number, a numeric string counting as one.
		what, operand = "perform arithmetic on", b
		if isNumeric(f.value(b)) {
			operand = c
		}
	case op == lua.OP_UNM && strings.HasPrefix(text, "__unm"):
		what, operand = "perform arithmetic on", b
	case op == lua.OP_LEN && strings.HasPrefix(text, "__len"):
		what, operand = "get length of", b
	case op == lua.OP_CONCAT && strings.HasPrefix(text, "cannot perform concat"):
		what, operand = "concatenate", f.concatFault(b, c)
	default:
		return "", false
	}
	typ := f.value(operand).Type().String()
	if kind, name := f.objName(operand); kind != "" {
		return pos + "attempt to " + what + " " + kind + " '" + name + "' (a " + typ + " value)", true
	}
	return pos + "attempt to " + what + " a " + typ + " value", true
}

// splitPosition splits "source:line: text" into its position prefix and
// its text.
func splitPosition(msg string) (string, string) {
	i := strings.Index(msg, ": ")
	if i < 0 || strings.Count(msg[:i], ":") != 1 {
		return "", msg
	}
	return msg[:i+2], msg[i+2:]
}

// framePc is the program counter of the call frame dbg describes: one past
// the instruction it is at. gopher-lua keeps the frame unexported; its Pc
// is read, never written.
func framePc(dbg *lua.Debug) (int, bool) {
	v := reflect.ValueOf(dbg).Elem().FieldByName("frame")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, false
	}
	pc := v.Elem().FieldByName("Pc")
	if !pc.IsValid() || !pc.CanInt() {
		return 0, false
	}
	return int(pc.Int()), true
}

// fault is the failed instruction pc of proto p, run by the frame dbg.
type fault struct {
	L   *lua.LState
	dbg *lua.Debug
	p   *lua.FunctionProto
	pc  int
}

// value returns the operand rk: a constant or a register of the frame.
func (f fault) value(rk int) lua.LValue {
	if isK(rk) {
		if k := rk &^ bitRK; k < len(f.p.Constants) {
			return f.p.Constants[k]
		}
		return lua.LNil
	}
	_, v := f.L.GetLocal(f.dbg, rk+1)
	return v
}

// concatFault is the register of R(b) .. ... .. R(c) that Lua 5.1's
// luaV_concat fails on: it joins from the right, and of the pair it
// fails on names the left operand unless that one is a string or number.
func (f fault) concatFault(b, c int) int {
	if !lua.LVCanConvToString(f.value(c)) {
		if c > b && !lua.LVCanConvToString(f.value(c-1)) {
			return c - 1
		}
		return c
	}
	for r := c - 1; r >= b; r-- {
		if !lua.LVCanConvToString(f.value(r)) {
			return r
		}
	}
	return c
}

// isNumeric reports whether arithmetic takes v: a number, or a string
// the interpreter reads as one (as its parseNumber does).
func isNumeric(v lua.LValue) bool {
	switch v := v.(type) {
	case lua.LNumber:
		return true
	case lua.LString:
		s := strings.Trim(string(v), " \t\n")
		if _, err := strconv.ParseInt(s, 0, 64); err == nil {
			return true
		}
		_, err := strconv.ParseFloat(s, 64)
		return err == nil
	}
	return false
}

// objName is Lua 5.1's getobjname: what operand rk is, when it can tell
// ("local", "global", "field", "upvalue", "method") and its name.
func (f fault) objName(rk int) (string, string) {
	if isK(rk) {
		return "", ""
	}
	return f.regName(rk, f.pc)
}

func (f fault) regName(reg, pc int) (string, string) {
	if name, ok := f.localName(reg+1, pc); ok {
		return "local", name
	}
	inst, ok := f.lastSet(pc, reg)
	if !ok {
		return "", ""
	}
	switch opcode(inst) {
	case lua.OP_GETGLOBAL:
		if k := argBx(inst); k < len(f.p.Constants) {
			return "global", lua.LVAsString(f.p.Constants[k])
		}
	case lua.OP_MOVE, lua.OP_MOVEN:
		if b, a := argB(inst), argA(inst); b < a {
			return f.regName(b, pc)
		}
	case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
		return "field", f.constName(argC(inst))
	case lua.OP_GETUPVAL:
		if u := argB(inst); u < len(f.p.DbgUpvalues) {
			return "upvalue", f.p.DbgUpvalues[u]
		}
		return "upvalue", "?"
	case lua.OP_SELF:
		return "method", f.constName(argC(inst))
	}
	return "", ""
}

// localName is Lua 5.1's luaF_getlocalname: the name of the n-th local
// variable active at pc.
func (f fault) localName(n, pc int) (string, bool) {
	for _, v := range f.p.DbgLocals {
		if v.StartPc > pc {
			break
		}
		if pc < v.EndPc {
			if n--; n == 0 {
				return v.Name, true
			}
		}
	}
	return "", false
}

// constName is Lua 5.1's kname: a string constant's text, else "?".
func (f fault) constName(rk int) string {
	if isK(rk) {
		if k := rk &^ bitRK; k < len(f.p.Constants) {
			if s, ok := f.p.Constants[k].(lua.LString); ok {
				return string(s)
			}
		}
	}
	return "?"
}

// lastSet is Lua 5.1's symbexec: the last instruction before lastpc that
// set register reg, following forward jumps that do not pass lastpc.
func (f fault) lastSet(lastpc, reg int) (uint32, bool) {
	last := -1
	code := f.p.Code
	for pc := 0; pc < lastpc && pc < len(code); pc++ {
		inst := code[pc]
		op, a, b := opcode(inst), argA(inst), argB(inst)
		if setsA(op) && a == reg {
			last = pc
		}
		switch op {
		case lua.OP_LOADNIL:
			if a <= reg && reg <= b {
				last = pc
			}
		case lua.OP_SELF:
			if reg == a+1 {
				last = pc
			}
		case lua.OP_TFORLOOP:
			if reg >= a+2 {
				last = pc
			}
		case lua.OP_CALL, lua.OP_TAILCALL:
			if reg >= a {
				last = pc
			}
		case lua.OP_JMP, lua.OP_FORLOOP, lua.OP_FORPREP:
			if dest := pc + 1 + argSbx(inst); pc < dest && dest <= lastpc {
				pc += argSbx(inst)
			}
		}
	}
	if last < 0 {
		return 0, false
	}
	return code[last], true
}

// setsA reports whether op writes its register A (Lua 5.1's testAMode).
func setsA(op int) bool {
	switch op {
	case lua.OP_SETGLOBAL, lua.OP_SETUPVAL, lua.OP_SETTABLE, lua.OP_SETTABLEKS,
		lua.OP_JMP, lua.OP_EQ, lua.OP_LT, lua.OP_LE, lua.OP_RETURN,
		lua.OP_TFORLOOP, lua.OP_SETLIST, lua.OP_CLOSE, lua.OP_NOP:
		return false
	}
	return true
}

// gopher-lua's instruction layout: opcode in the top 6 bits, then A (8),
// C (9) and B (9); Bx is B and C together, sBx Bx less its bias; an RK
// operand with bitRK set is a constant.
const (
	bitRK    = 1 << 8
	sBxBias  = (1<<18 - 1) >> 1
	opShift  = 26
	argAMask = 0xff
)

func opcode(i uint32) int { return int(i >> opShift) }
func argA(i uint32) int   { return int(i>>18) & argAMask }
func argB(i uint32) int   { return int(i & 0x1ff) }
func argC(i uint32) int   { return int(i>>9) & 0x1ff }
func argBx(i uint32) int  { return int(i & 0x3ffff) }
func argSbx(i uint32) int { return argBx(i) - sBxBias }
func isK(rk int) bool     { return rk&bitRK != 0 }

// setProtectedCalls replaces the base library's pcall and xpcall with
// ones that hand an error the interpreter raised at an instruction to the
// caller, or to xpcall's handler, in Lua 5.1's words, as the error handler
// of a whole script does: they reword it before the stack unwinds. error
// takes no value as Lua 5.1's does.
func setProtectedCalls(L *lua.LState, g *lua.LTable) {
	reword := L.NewFunction(func(L *lua.LState) int {
		L.Push(reworded(L, L.Get(1)))
		return 1
	})
	g.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int {
		L.CheckAny(1)
		v := L.Get(1)
		if v.Type() != lua.LTFunction && L.GetMetaField(v, "__call").Type() != lua.LTFunction {
			L.Push(lua.LFalse)
			L.Push(lua.LString("attempt to call a " + v.Type().String() + " value"))
			return 2
		}
		if err := L.PCall(L.GetTop()-1, lua.MultRet, reword); err != nil {
			L.Push(lua.LFalse)
			L.Push(errorObject(err))
			return 2
		}
		L.Insert(lua.LTrue, 1)
		return L.GetTop()
	}))
	g.RawSetString("error", L.NewFunction(func(L *lua.LState) int {
		// NB: Lua 5.1's error() raises nil; gopher-lua's asks for a value.
		L.Error(L.Get(1), L.OptInt(2, 1))
		return 0
	}))
	g.RawSetString("xpcall", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		handler := L.CheckFunction(2)
		top := L.GetTop()
		L.Push(fn)
		h := L.NewFunction(func(L *lua.LState) int {
			msg := reworded(L, L.Get(1))
			L.Push(handler)
			L.Push(msg)
			L.Call(1, 1)
			return 1
		})
		if err := L.PCall(0, lua.MultRet, h); err != nil {
			L.Push(lua.LFalse)
			L.Push(errorObject(err))
			return 2
		}
		L.Insert(lua.LTrue, top+1)
		return L.GetTop() - top
	}))
}

// reworded is v, an error value, in Lua 5.1's words when it is the text
// of an error the interpreter raised.
func reworded(L *lua.LState, v lua.LValue) lua.LValue {
	s, ok := v.(lua.LString)
	if !ok {
		return v
	}
	if named, ok := namedVMError(L, string(s)); ok {
		return lua.LString(named)
	}
	return lua.LString(luaMessage(string(s)))
}

// errorObject is the value a protected call that failed with err
// returns.
func errorObject(err error) lua.LValue {
	if aerr, ok := err.(*lua.ApiError); ok {
		return aerr.Object
	}
	return lua.LString(err.Error())
}
