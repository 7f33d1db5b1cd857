package lualib

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cmsgpack library is lua-cmsgpack 0.4.0 as Redis 7.0 bundles it.

// msgpackMaxNesting is LUACMSGPACK_MAX_NESTING: tables nested deeper are
// packed as nil, which also ends cycles.
const msgpackMaxNesting = 16

// OpenCMsgpack registers the global table cmsgpack, lua-cmsgpack 0.4.0 as
// Redis 7.0 loads it. cmsgpack.unpack returns up to 7999 values, as in
// Redis: the state's registry must be allowed to grow to hold them
// (lua.Options.RegistryMaxSize), or gopher-lua fails first.
func OpenCMsgpack(L *lua.LState) {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(msgpackPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int {
		return msgpackUnpack(L, 0, 0)
	}))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		offset := optInteger(L, 2, 0)
		L.SetTop(1)
		return msgpackUnpack(L, 1, offset)
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		limit := checkInteger(L, 2)
		offset := optInteger(L, 3, 0)
		L.SetTop(1)
		return msgpackUnpack(L, limit, offset)
	}))
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	L.SetGlobal("cmsgpack", t)
}

// msgpackPack is mp_pack: every argument packed, the results concatenated.
func msgpackPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "MessagePack pack needs input.")
	}
	if n+n > maxCStack {
		argError(L, 0, "Too many arguments for MessagePack pack.")
	}
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = msgpackEncode(buf, L.Get(i), 0)
	}
	L.Push(lua.LString(buf))
	return 1
}

// msgpackEncode is mp_encode_lua_type: v appended to buf. Values that are
// neither string, boolean, number nor table (functions, cjson.null) pack as
// nil.
func msgpackEncode(buf []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return msgpackBytes(buf, string(v))
	case lua.LBool:
		if v {
			return append(buf, 0xc3)
		}
		return append(buf, 0xc2)
	case lua.LNumber:
		return msgpackNumber(buf, float64(v))
	case *lua.LTable:
		if level == msgpackMaxNesting {
			break
		}
		if n, ok := msgpackArrayLen(v); ok {
			buf = msgpackHeader(buf, 0x90, 0xdc, n)
			for i := 1; i <= n; i++ {
				buf = msgpackEncode(buf, v.RawGetInt(i), level+1)
			}
			return buf
		}
		n := 0
		for k, _ := v.Next(lua.LNil); k != lua.LNil; k, _ = v.Next(k) {
			n++
		}
		buf = msgpackHeader(buf, 0x80, 0xde, n)
		for k, e := v.Next(lua.LNil); k != lua.LNil; k, e = v.Next(k) {
			buf = msgpackEncode(buf, k, level+1)
			buf = msgpackEncode(buf, e, level+1)
		}
		return buf
	}
	return append(buf, 0xc0)
}

// msgpackBytes is mp_encode_bytes: fix str, str 8, str 16 or str 32.
func msgpackBytes(buf []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		buf = append(buf, 0xa0|byte(n))
	case n <= 0xff:
		buf = append(buf, 0xd9, byte(n))
	case n <= 0xffff:
		buf = append(buf, 0xda, byte(n>>8), byte(n))
	default:
		buf = append(buf, 0xdb)
		buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	}
	return append(buf, s...)
}

// msgpackHeader is mp_encode_array and mp_encode_map: the fix form (fix
// ORed with n) up to 15 elements, then the 16-bit form (code16) and the
// 32-bit form (code16+1).
func msgpackHeader(buf []byte, fix, code16 byte, n int) []byte {
	switch {
	case n <= 15:
		return append(buf, fix|byte(n))
	case n <= 0xffff:
		return append(buf, code16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(buf, code16+1), uint32(n))
}

// msgpackNumber is mp_encode_lua_number: a number that converts to int64
// and back unchanged is an integer in its smallest encoding; any other is a
// float 32 when that holds it exactly, else a float 64.
func msgpackNumber(buf []byte, f float64) []byte {
	if i := truncInt64(f); !math.IsInf(f, 0) && float64(i) == f {
		return msgpackInt(buf, i)
	}
	if f32 := float32(f); float64(f32) == f {
		return binary.BigEndian.AppendUint32(append(buf, 0xca), math.Float32bits(f32))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xcb), math.Float64bits(f))
}

// msgpackInt is mp_encode_int.
func msgpackInt(buf []byte, n int64) []byte {
	switch {
	case n >= 0 && n <= 127:
		return append(buf, byte(n))
	case n >= 0 && n <= 0xff:
		return append(buf, 0xcc, byte(n))
	case n >= 0 && n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(buf, 0xcd), uint16(n))
	case n >= 0 && n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(buf, 0xce), uint32(n))
	case n >= 0:
		return binary.BigEndian.AppendUint64(append(buf, 0xcf), uint64(n))
	case n >= -32:
		return append(buf, byte(n))
	case n >= -128:
		return append(buf, 0xd0, byte(n))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(buf, 0xd1), uint16(n))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(buf, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xd3), uint64(n))
}

// msgpackArrayLen is table_is_an_array: whether every key is a positive
// number that fits a C int and the keys are exactly 1 to their count.
func msgpackArrayLen(t *lua.LTable) (int, bool) {
	var count, max int32
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		f := float64(n)
		if !ok || f <= 0 || math.IsInf(f, 0) || float64(truncInt32(f)) != f {
			return 0, false
		}
		if i := truncInt32(f); i > max {
			max = i
		}
		count++
	}
	return int(count), max == count
}
