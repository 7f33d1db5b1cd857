package scripting

import (
	"regexp"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua words its runtime errors its own way; Redis's scripts raise
// Lua 5.1's. luaMessage rewrites the ones scripts meet, in the form Lua 5.1
// uses when it cannot name the variable ("attempt to index a nil value").
var (
	reOperation = regexp.MustCompile(`cannot perform (\w+) operation between (\w+) and (\w+)`)
	reIndex     = regexp.MustCompile(`attempt to index a non-table object\((\w+)\) with key '[^']*'`)
	reCompare   = regexp.MustCompile(`attempt to compare (\w+) with (\w+)`)
)

func luaMessage(msg string) string {
	msg = reOperation.ReplaceAllStringFunc(msg, func(m string) string {
		p := reOperation.FindStringSubmatch(m)
		op, lhs, rhs := p[1], p[2], p[3]
		if op == "concat" {
			bad := lhs
			if lhs == "string" || lhs == "number" {
				bad = rhs
			}
			return "attempt to concatenate a " + bad + " value"
		}
		bad := lhs
		if lhs == "number" || lhs == "string" {
			bad = rhs
		}
		return "attempt to perform arithmetic on a " + bad + " value"
	})
	msg = reIndex.ReplaceAllString(msg, "attempt to index a $1 value")
	msg = reCompare.ReplaceAllStringFunc(msg, func(m string) string {
		p := reCompare.FindStringSubmatch(m)
		if p[1] == p[2] {
			return "attempt to compare two " + p[1] + " values"
		}
		return m
	})
	return strings.Replace(msg, "attempt to call a non-function object", "attempt to call a nil value", 1)
}

// numberString formats a number as Lua 5.1's tostring does ("%.14g").
func numberString(f float64) string {
	switch {
	case f != f:
		return "nan"
	case f > 1.7976931348623157e308:
		return "inf"
	case f < -1.7976931348623157e308:
		return "-inf"
	}
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// tostring is Lua 5.1's tostring, with its number format.
func tostring(orig *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if n, ok := L.Get(1).(lua.LNumber); ok {
			L.Push(lua.LString(numberString(float64(n))))
			return 1
		}
		return orig.GFunction(L)
	}
}
