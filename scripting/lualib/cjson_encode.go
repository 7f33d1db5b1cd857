package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// jsonEscapes is lua-cjson's char2escape: control characters, '"', '\\',
// '/' and DEL are escaped; every other byte, UTF-8 or not, passes as is.
var jsonEscapes = func() [256]string {
	var e [256]string
	const hex = "0123456789abcdef"
	for c := 0; c < 0x20; c++ {
		e[c] = `\u00` + string(hex[c>>4]) + string(hex[c&15])
	}
	e['\b'], e['\t'], e['\n'], e['\f'], e['\r'] = `\b`, `\t`, `\n`, `\f`, `\r`
	e['"'], e['\\'], e['/'], e[0x7f] = `\"`, `\\`, `\/`, `\u007f`
	return e
}()

// jsonEncoder writes one cjson.encode result.
type jsonEncoder struct {
	L   *lua.LState
	cfg *cjsonConfig
	buf []byte
	// used counts the C Lua stack slots lua-cjson would hold at this point
	// (the argument, plus one per array level, two per object level); its
	// lua_checkstack fails past maxCStack.
	used int
}

// encodeJSON is json_encode.
func encodeJSON(L *lua.LState, cfg *cjsonConfig, v lua.LValue) string {
	e := &jsonEncoder{L: L, cfg: cfg, used: 1}
	e.value(v, 0)
	return string(e.buf)
}

func (e *jsonEncoder) fail(v lua.LValue, reason string) {
	raise(e.L, "Cannot serialise %s: %s", v.Type().String(), reason)
}

// value is json_append_data.
func (e *jsonEncoder) value(v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		e.string(string(v))
	case lua.LNumber:
		e.number(float64(v))
	case lua.LBool:
		if v {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case *lua.LTable:
		depth++
		if depth > e.cfg.encodeMaxDepth || e.used+3 > maxCStack {
			raise(e.L, "Cannot serialise, excessive nesting (%d)", depth)
		}
		if n := e.arrayLength(v); n > 0 {
			e.array(v, n, depth)
		} else {
			e.object(v, depth)
		}
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	default:
		if IsNull(v) {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.fail(v, "type not supported")
	}
}

// string is json_append_string.
func (e *jsonEncoder) string(s string) {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); i++ {
		if esc := jsonEscapes[s[i]]; esc != "" {
			e.buf = append(e.buf, esc...)
		} else {
			e.buf = append(e.buf, s[i])
		}
	}
	e.buf = append(e.buf, '"')
}

// number is json_append_number: "%.14g" (or the configured precision),
// with NaN and Inf refused, written, or written as null.
func (e *jsonEncoder) number(f float64) {
	bad := math.IsNaN(f) || math.IsInf(f, 0)
	switch {
	case bad && e.cfg.encodeInvalid == 0:
		e.fail(lua.LNumber(f), "must not be NaN or Inf")
	case bad && e.cfg.encodeInvalid == 2:
		e.buf = append(e.buf, "null"...)
		return
	case math.IsNaN(f):
		e.buf = append(e.buf, "nan"...) // never "-nan"
		return
	}
	e.buf = append(e.buf, formatG(f, e.cfg.precision)...)
}

// arrayLength is lua_array_length: the largest key when every key is a
// positive integer, -1 for an object. The largest key is kept in a C int,
// so keys of 2^31 and above turn it negative and the table an object.
func (e *jsonEncoder) arrayLength(t *lua.LTable) int32 {
	var max, items int32
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		f := float64(n)
		if !ok || f == 0 || math.Floor(f) != f || f < 1 {
			return -1
		}
		if f > float64(max) {
			max = truncInt32(f)
		}
		items++
	}
	cfg := e.cfg
	if cfg.sparseRatio > 0 && max > items*int32(cfg.sparseRatio) && max > int32(cfg.sparseSafe) {
		if cfg.sparseConvert == 0 {
			e.fail(t, "excessively sparse array")
		}
		return -1
	}
	return max
}

// array is json_append_array: elements 1 to n, holes as null.
func (e *jsonEncoder) array(t *lua.LTable, n int32, depth int) {
	e.buf = append(e.buf, '[')
	e.used++
	for i := int32(1); i <= n; i++ {
		if i > 1 {
			e.buf = append(e.buf, ',')
		}
		e.value(t.RawGetInt(int(i)), depth)
	}
	e.used--
	e.buf = append(e.buf, ']')
}

// object is json_append_object: number keys are written as strings.
func (e *jsonEncoder) object(t *lua.LTable, depth int) {
	e.buf = append(e.buf, '{')
	e.used += 2
	first := true
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		switch k := k.(type) {
		case lua.LNumber:
			e.buf = append(e.buf, '"')
			e.number(float64(k))
			e.buf = append(e.buf, '"', ':')
		case lua.LString:
			e.string(string(k))
			e.buf = append(e.buf, ':')
		default:
			e.fail(k, "table key must be a number or string")
		}
		e.value(v, depth)
	}
	e.used -= 2
	e.buf = append(e.buf, '}')
}
