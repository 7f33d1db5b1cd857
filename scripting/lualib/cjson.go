package lualib

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cjson library is lua-cjson 2.1.0 as Redis 7.0 bundles it: encode and
// decode, the settings functions, new, and the null sentinel. This file
// holds the module table and its settings; cjson_encode.go and
// cjson_decode.go the two directions.

// cjsonConfig is the settings one cjson table's functions share (lua-cjson's
// json_config_t); cjson.new() makes a table with settings of its own.
type cjsonConfig struct {
	sparseConvert  int // encode excessively sparse arrays as objects instead of failing
	sparseRatio    int // an array is excessively sparse past max index > items*ratio ...
	sparseSafe     int // ... and max index > safe
	encodeMaxDepth int // tables nested deeper fail to encode
	decodeMaxDepth int // arrays and objects nested deeper fail to decode
	encodeInvalid  int // NaN and Inf: 0 fail, 1 written as nan/inf, 2 written as null
	decodeInvalid  int // 1 accepts NaN, Inf, hexadecimal, "+" and leading zeros
	keepBuffer     int // reported only: Go has no buffer to keep
	precision      int // significant digits of encoded numbers, 1 to 14
}

func defaultCJSONConfig() *cjsonConfig {
	return &cjsonConfig{
		sparseRatio:    2,
		sparseSafe:     10,
		encodeMaxDepth: 1000,
		decodeMaxDepth: 1000,
		decodeInvalid:  1,
		keepBuffer:     1,
		precision:      14,
	}
}

// nullMarker is the Value of the userdata that stands for cjson.null, the
// NULL lightuserdata of C Lua.
type nullMarker struct{}

// IsNull reports whether v is cjson.null, the value cjson.decode gives for
// JSON null (C Lua's NULL lightuserdata).
func IsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return false
	}
	_, ok = ud.Value.(nullMarker)
	return ok
}

// newNull makes the cjson.null value of a state. Like C's NULL
// lightuserdata it prints as "userdata: (nil)".
func newNull(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = nullMarker{}
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: (nil)"))
		return 1
	}))
	ud.Metatable = mt
	return ud
}

// OpenCJSON registers the global table cjson, lua-cjson 2.1.0 as Redis 7.0
// loads it.
func OpenCJSON(L *lua.LState) {
	L.SetGlobal("cjson", newCJSON(L, newNull(L)))
}

// newCJSON is lua_cjson_new: a module table whose functions share a fresh
// configuration.
func newCJSON(L *lua.LState, null *lua.LUserData) *lua.LTable {
	cfg := defaultCJSONConfig()
	t := L.NewTable()
	fns := map[string]lua.LGFunction{
		"encode": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				argError(L, 1, "expected 1 argument")
			}
			L.Push(lua.LString(encodeJSON(L, cfg, L.Get(1))))
			return 1
		},
		"decode": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				argError(L, 1, "expected 1 argument")
			}
			L.Push(decodeJSON(L, cfg, null, checkString(L, 1)))
			return 1
		},
		"encode_sparse_array": func(L *lua.LState) int {
			cfgArgs(L, 3)
			enumOption(L, 1, &cfg.sparseConvert, nil, 1)
			integerOption(L, 2, &cfg.sparseRatio, 0, math.MaxInt32)
			integerOption(L, 3, &cfg.sparseSafe, 0, math.MaxInt32)
			return 3
		},
		"encode_max_depth": func(L *lua.LState) int {
			cfgArgs(L, 1)
			integerOption(L, 1, &cfg.encodeMaxDepth, 1, math.MaxInt32)
			return 1
		},
		"decode_max_depth": func(L *lua.LState) int {
			cfgArgs(L, 1)
			integerOption(L, 1, &cfg.decodeMaxDepth, 1, math.MaxInt32)
			return 1
		},
		"encode_number_precision": func(L *lua.LState) int {
			cfgArgs(L, 1)
			integerOption(L, 1, &cfg.precision, 1, 14)
			return 1
		},
		"encode_keep_buffer": func(L *lua.LState) int {
			cfgArgs(L, 1)
			enumOption(L, 1, &cfg.keepBuffer, nil, 1)
			return 1
		},
		"encode_invalid_numbers": func(L *lua.LState) int {
			cfgArgs(L, 1)
			enumOption(L, 1, &cfg.encodeInvalid, []string{"off", "on", "null"}, 1)
			return 1
		},
		"decode_invalid_numbers": func(L *lua.LState) int {
			cfgArgs(L, 1)
			enumOption(L, 1, &cfg.decodeInvalid, nil, 1)
			return 1
		},
		"new": func(L *lua.LState) int {
			L.Push(newCJSON(L, null))
			return 1
		},
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

// cfgArgs is json_arg_init: at most n arguments, padded with nil to n so
// that the values the options push land above them.
func cfgArgs(L *lua.LState, n int) {
	if L.GetTop() > n {
		argError(L, n+1, "found too many arguments")
	}
	for L.GetTop() < n {
		L.Push(lua.LNil)
	}
}

// integerOption is json_integer_option: sets *setting from argument n when
// it is not nil, then pushes the setting. The range error names argument
// #1 whatever n is, as lua-cjson does.
func integerOption(L *lua.LState, n int, setting *int, lo, hi int) {
	if !isNoneOrNil(L, n) {
		v := int(int32(checkInteger(L, n))) // C assigns lua_Integer to int
		if v < lo || v > hi {
			argError(L, 1, fmt.Sprintf("expected integer between %d and %d", lo, hi))
		}
		*setting = v
	}
	L.Push(lua.LNumber(*setting))
}

// enumOption is json_enum_option: sets *setting from argument n, a boolean
// (true meaning boolTrue) or one of options ("off", "on" when nil), then
// pushes it as a boolean where it is one, else as its option name.
func enumOption(L *lua.LState, n int, setting *int, options []string, boolTrue int) {
	if options == nil {
		options = []string{"off", "on"}
	}
	if !isNoneOrNil(L, n) {
		if b, ok := L.Get(n).(lua.LBool); ok {
			*setting = 0
			if b {
				*setting = boolTrue
			}
		} else {
			*setting = checkOption(L, n, options)
		}
	}
	if *setting == 0 || *setting == boolTrue {
		L.Push(lua.LBool(*setting != 0))
	} else {
		L.Push(lua.LString(options[*setting]))
	}
}
