package lualib

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// This file gives the libraries the checks and conversions of the Lua 5.1
// C API they were written against (lauxlib.c, lobject.c), so that their
// errors read as redis-server's do. gopher-lua's own Check* helpers word
// their errors differently and prefix positions the C API does not.

// maxCStack is LUAI_MAXCSTACK, the number of stack slots a C function may
// use in Redis's Lua 5.1; lua_checkstack fails past it, and the libraries
// that return many values turn that into an error.
const maxCStack = 8000

// raise raises msg as luaL_error does: prefixed with the position of the
// Lua code that called the library function, or with nothing when a Go
// function (pcall, for one) called it.
func raise(L *lua.LState, format string, args ...any) {
	L.Error(lua.LString(where(L)+fmt.Sprintf(format, args...)), 0)
}

// raiseRuntime raises msg with no position, as the Lua VM does for an error
// met while a C function runs (lua_settable's "table index is nil").
func raiseRuntime(L *lua.LState, msg string) {
	L.Error(lua.LString(msg), 0)
}

// where is luaL_where(L, 1): "chunk:line: " when the caller of the running
// Go function is Lua code, "" otherwise.
func where(L *lua.LState) string {
	dbg, ok := L.GetStack(1)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
		return ""
	}
	if dbg.What == "G" || dbg.CurrentLine <= 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", dbg.Source, dbg.CurrentLine)
}

// funcName is the name luaL_argerror gives the running function: the name
// the calling Lua code used for it, or "?" when Go code (pcall) called it.
func funcName(L *lua.LState) string {
	dbg, ok := L.GetStack(0)
	if !ok {
		return "?"
	}
	if _, err := L.GetInfo("n", dbg, lua.LNil); err != nil {
		return "?"
	}
	switch n := dbg.Name; {
	case n == "", n == "(anonymous)", n == "main chunk", strings.HasPrefix(n, "<"):
		return "?"
	default:
		return n
	}
}

// argError is luaL_argerror.
func argError(L *lua.LState, n int, msg string) {
	raise(L, "bad argument #%d to '%s' (%s)", n, funcName(L), msg)
}

// typeError is luaL_typerror.
func typeError(L *lua.LState, n int, expected string) {
	argError(L, n, expected+" expected, got "+typeName(L, n))
}

// typeName is luaL_typename: "no value" past the last argument.
func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

// isNoneOrNil is lua_isnoneornil.
func isNoneOrNil(L *lua.LState, n int) bool {
	return n > L.GetTop() || L.Get(n) == lua.LNil
}

// checkNumber is luaL_checknumber: a number, or a string Lua converts to one.
func checkNumber(L *lua.LState, n int) float64 {
	f, ok := toNumber(L.Get(n))
	if !ok {
		typeError(L, n, "number")
	}
	return f
}

// checkInteger is luaL_checkinteger: the number truncated to a lua_Integer.
func checkInteger(L *lua.LState, n int) int64 {
	f, ok := toNumber(L.Get(n))
	if !ok {
		typeError(L, n, "number")
	}
	return truncInt64(f)
}

// optInteger is luaL_optinteger.
func optInteger(L *lua.LState, n int, def int64) int64 {
	if isNoneOrNil(L, n) {
		return def
	}
	return checkInteger(L, n)
}

// checkString is luaL_checklstring: a string, or a number in Lua's "%.14g".
func checkString(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return formatG(float64(v), 14)
	}
	typeError(L, n, "string")
	return ""
}

// checkOption is luaL_checkoption with no default: the index of the
// argument's string in options.
func checkOption(L *lua.LState, n int, options []string) int {
	name := checkString(L, n)
	for i, o := range options {
		if o == name {
			return i
		}
	}
	argError(L, n, fmt.Sprintf("invalid option '%s'", name))
	return 0
}

// toNumber is lua_tonumber: numbers, and strings that luaO_str2d accepts
// (strtod, then a hexadecimal integer, then only trailing white space).
func toNumber(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		return str2d(string(v))
	}
	return 0, false
}

func str2d(s string) (float64, bool) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i] // C strings end at the first NUL
	}
	f, end := strtod(s)
	if end == 0 {
		return 0, false
	}
	for end < len(s) && isSpace(s[end]) {
		end++
	}
	return f, end == len(s)
}

func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// strtod parses the longest prefix of s that C's strtod accepts in the C
// locale (white space, sign, decimal or hexadecimal digits with an optional
// exponent, inf, infinity, nan) and returns its value and length; a length
// of 0 means no number.
func strtod(s string) (float64, int) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	i := 0
	for isSpace(at(i)) {
		i++
	}
	neg := false
	if c := at(i); c == '+' || c == '-' {
		neg = c == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	rest := strings.ToLower(s[i:min(i+8, len(s))])
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return sign(math.Inf(1)), i + 8
	case strings.HasPrefix(rest, "inf"):
		return sign(math.Inf(1)), i + 3
	case strings.HasPrefix(rest, "nan"):
		n := i + 3
		if at(n) == '(' {
			j := n + 1
			for isDigit(at(j)) || (at(j)|0x20 >= 'a' && at(j)|0x20 <= 'z') || at(j) == '_' {
				j++
			}
			if at(j) == ')' {
				n = j + 1
			}
		}
		// glibc's NaN, not Go's math.NaN(), whose low bit is set: packed
		// by cmsgpack or struct, the bits show.
		nan := math.Float64frombits(0x7ff8000000000000)
		if neg {
			nan = math.Copysign(nan, -1)
		}
		return nan, n
	}
	if at(i) == '0' && at(i+1)|0x20 == 'x' {
		end, mant, exp := scanFloat(s, i+2, isHexDigit, 'p')
		if end < 0 {
			return sign(0), i + 1 // "0x" with no digits reads as 0
		}
		if exp == "" {
			exp = "p0" // Go's hexadecimal floats need their exponent
		}
		f, _ := strconv.ParseFloat("0x"+mant+exp, 64)
		return sign(f), end
	}
	end, mant, exp := scanFloat(s, i, isDigit, 'e')
	if end < 0 {
		return 0, 0
	}
	f, _ := strconv.ParseFloat(mant+exp, 64) // range errors still give ±Inf or 0
	return sign(f), end
}

// scanFloat reads from s[i:] the digits of a mantissa with an optional
// point, then an optional exponent: the marker, a sign and decimal digits,
// taken only when a digit follows. It returns the end, the mantissa and the
// exponent, or -1 when the mantissa has no digit.
func scanFloat(s string, i int, digit func(byte) bool, marker byte) (end int, mant, exp string) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	start, digits := i, 0
	for ; digit(at(i)); i++ {
		digits++
	}
	if at(i) == '.' {
		for i++; digit(at(i)); i++ {
			digits++
		}
	}
	if digits == 0 {
		return -1, "", ""
	}
	mant = s[start:i]
	if at(i)|0x20 == marker {
		j := i + 1
		if at(j) == '+' || at(j) == '-' {
			j++
		}
		if isDigit(at(j)) {
			for isDigit(at(j)) {
				j++
			}
			exp, i = s[i:j], j
		}
	}
	return i, mant, exp
}

// formatG is C's "%.<prec>g", as Lua's tostring (precision 14) and cjson
// write numbers.
func formatG(f float64, prec int) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', prec, 64)
}

// truncInt64 converts as C's (int64_t)d does on amd64: toward zero, with
// NaN and out-of-range values giving the minimum int64.
func truncInt64(f float64) int64 {
	if !(f >= -1<<63 && f < 1<<63) { // NaN fails both
		return math.MinInt64
	}
	return int64(f)
}

// truncInt32 converts as C's (int)d does on amd64.
func truncInt32(f float64) int32 {
	if !(f > -1<<31-1 && f < 1<<31) {
		return math.MinInt32
	}
	return int32(f)
}

// truncUint64 converts as C's (uint64_t)d does on amd64 with gcc: values
// from 2^63 go through a subtraction, so 2^64 and above give 0 and NaN
// gives 2^63.
func truncUint64(f float64) uint64 {
	if f >= 1<<63 {
		return uint64(truncInt64(f-(1<<63))) ^ (1 << 63)
	}
	return uint64(truncInt64(f))
}
