package scripting

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/shoaldb/shoal/resp"
)

// Conversions between Lua values and replies, as Redis 7.0's
// script_lua.c makes them (luaReplyToRedisReply and
// redisProtocolToLuaType).

// maxReplyDepth bounds the nesting of a script's reply, as Lua's stack
// bounds Redis's conversion.
const maxReplyDepth = 200

// luaToReply writes v as the script's reply in out's protocol.
func (s *state) luaToReply(run *Run, v lua.LValue, out *resp.Writer, depth int) {
	if depth > maxReplyDepth {
		out.Error("ERR reached lua stack limit")
		return
	}
	switch v := v.(type) {
	case lua.LString:
		out.BulkString(string(v))
	case lua.LBool:
		if run.Proto == 2 {
			if v {
				out.Int(1)
			} else {
				out.Null()
			}
		} else {
			out.Bool(bool(v))
		}
	case lua.LNumber:
		out.Int(luaInt(float64(v)))
	case *lua.LTable:
		s.tableToReply(run, v, out, depth)
	default:
		out.Null()
	}
}

// luaInt converts a Lua number to an integer reply as C's (long long)
// cast does on the values where it is defined.
func luaInt(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return math.MinInt64
	case f >= math.MaxInt64:
		return math.MinInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// writeErrorOf writes the error reply msg of error table t, counted in
// INFO errorstats unless t is a failed call's, which counted already.
func writeErrorOf(t *lua.LTable, msg string, out *resp.Writer) {
	if t.RawGetString(ignoreErrorStats) == lua.LTrue {
		out.ErrorUncounted(msg)
		return
	}
	out.Error(msg)
}

func (s *state) tableToReply(run *Run, t *lua.LTable, out *resp.Writer, depth int) {
	if e, ok := t.RawGetString("err").(lua.LString); ok {
		writeErrorOf(t, string(e), out)
		return
	}
	if ok, isStr := t.RawGetString("ok").(lua.LString); isStr {
		out.Simple(sanitize(string(ok)))
		return
	}
	if d, ok := t.RawGetString("double").(lua.LNumber); ok {
		writeDouble(out, float64(d))
		return
	}
	if b, ok := t.RawGetString("big_number").(lua.LString); ok {
		out.BigNumber(sanitize(string(b)))
		return
	}
	if vt, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		format, fok := vt.RawGetString("format").(lua.LString)
		str, sok := vt.RawGetString("string").(lua.LString)
		if fok && sok {
			out.Verbatim(string(format), string(str))
			return
		}
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		n := 0
		m.ForEach(func(_, _ lua.LValue) { n++ })
		out.MarkDeferred() // NB: Redis counts a table's pairs as it goes
		out.Map(n)
		m.ForEach(func(k, v lua.LValue) {
			s.luaToReply(run, k, out, depth+1)
			s.luaToReply(run, v, out, depth+1)
		})
		return
	}
	if set, ok := t.RawGetString("set").(*lua.LTable); ok {
		n := 0
		set.ForEach(func(_, _ lua.LValue) { n++ })
		out.MarkDeferred()
		out.Set(n)
		set.ForEach(func(k, _ lua.LValue) { s.luaToReply(run, k, out, depth+1) })
		return
	}
	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	out.MarkDeferred()
	out.Array(n)
	for i := 1; i <= n; i++ {
		s.luaToReply(run, t.RawGetInt(i), out, depth+1)
	}
}

// writeDouble writes a double as Redis 7.0's addReplyDouble: "%.17g".
func writeDouble(out *resp.Writer, f float64) {
	var s string
	switch {
	case math.IsInf(f, 1):
		s = "inf"
	case math.IsInf(f, -1):
		s = "-inf"
	case math.IsNaN(f):
		s = "nan"
	default:
		// C's "%.17g", which Go's 'g' with 17 digits writes alike.
		s = strconv.FormatFloat(f, 'g', 17, 64)
	}
	if out.Proto() == 3 {
		out.Raw([]byte("," + s + "\r\n"))
		return
	}
	out.BulkString(s)
}

// sanitize replaces CR and LF with spaces, as Redis does in status and
// error replies a script makes.
func sanitize(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// replyToLua converts one RESP reply at the start of p (as a command
// wrote it for the script) into a Lua value, returning the bytes left.
// An error reply becomes {err=...}; isErr reports a top-level one.
func (s *state) replyToLua(p []byte) (v lua.LValue, rest []byte, isErr bool) {
	L := s.L
	if len(p) == 0 {
		return lua.LFalse, p, false
	}
	line, rest := readLine(p[1:])
	switch p[0] {
	case '+':
		t := L.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(line))
		return t, rest, false
	case '-':
		return s.errorTable(string(line)), rest, true
	case ':':
		n, _ := strconv.ParseInt(string(line), 10, 64)
		return lua.LNumber(n), rest, false
	case '$':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, rest, false
		}
		return lua.LString(rest[:n]), rest[n+2:], false
	case '*', '~', '%', '>':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, rest, false
		}
		switch p[0] {
		case '%':
			m := L.CreateTable(0, n)
			for i := 0; i < n; i++ {
				var k, val lua.LValue
				k, rest, _ = s.replyToLua(rest)
				val, rest, _ = s.replyToLua(rest)
				m.RawSet(k, val)
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("map", m)
			return t, rest, false
		case '~':
			m := L.CreateTable(0, n)
			for i := 0; i < n; i++ {
				var k lua.LValue
				k, rest, _ = s.replyToLua(rest)
				m.RawSet(k, lua.LTrue)
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("set", m)
			return t, rest, false
		}
		t := L.CreateTable(n, 0)
		for i := 1; i <= n; i++ {
			var item lua.LValue
			item, rest, _ = s.replyToLua(rest)
			t.RawSetInt(i, item)
		}
		return t, rest, false
	case '_':
		return lua.LNil, rest, false
	case '#':
		return lua.LBool(len(line) > 0 && line[0] == 't'), rest, false
	case ',':
		f, _ := strconv.ParseFloat(string(line), 64)
		t := L.CreateTable(0, 1)
		t.RawSetString("double", lua.LNumber(f))
		return t, rest, false
	case '(':
		t := L.CreateTable(0, 1)
		t.RawSetString("big_number", lua.LString(line))
		return t, rest, false
	case '=':
		n, _ := strconv.Atoi(string(line))
		body := rest[:n]
		rest = rest[n+2:]
		vt := L.CreateTable(0, 2)
		if len(body) >= 4 {
			vt.RawSetString("format", lua.LString(body[:3]))
			vt.RawSetString("string", lua.LString(body[4:]))
		}
		t := L.CreateTable(0, 1)
		t.RawSetString("verbatim_string", vt)
		return t, rest, false
	case '|':
		// An attribute: skip it and convert what it annotates.
		n, _ := strconv.Atoi(string(line))
		for i := 0; i < 2*n; i++ {
			_, rest, _ = s.replyToLua(rest)
		}
		return s.replyToLua(rest)
	}
	return lua.LFalse, nil, false
}

func readLine(p []byte) (line, rest []byte) {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '\r' && p[i+1] == '\n' {
			return p[:i], p[i+2:]
		}
	}
	return p, nil
}
