package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The bit library is LuaBitOp 1.0.2 as Redis 7.0 bundles it: 32-bit
// operations on Lua numbers, results signed.

// OpenBit registers the global table bit, LuaBitOp 1.0.2 as Redis 7.0
// loads it.
func OpenBit(L *lua.LState) {
	t := L.NewTable()
	unary := func(op func(uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int { return bitResult(L, op(bitArg(L, 1))) }
	}
	fold := func(op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1)
			for i := L.GetTop(); i > 1; i-- { // the C loop reads the arguments from the last
				b = op(b, bitArg(L, i))
			}
			return bitResult(L, b)
		}
	}
	shift := func(op func(b, n uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1)
			return bitResult(L, op(b, bitArg(L, 2)&31))
		}
	}
	fns := map[string]lua.LGFunction{
		"tobit": unary(func(b uint32) uint32 { return b }),
		"bnot":  unary(func(b uint32) uint32 { return ^b }),
		"bswap": unary(func(b uint32) uint32 {
			return b>>24 | b>>8&0xff00 | (b&0xff00)<<8 | b<<24
		}),
		"band":    fold(func(a, b uint32) uint32 { return a & b }),
		"bor":     fold(func(a, b uint32) uint32 { return a | b }),
		"bxor":    fold(func(a, b uint32) uint32 { return a ^ b }),
		"lshift":  shift(func(b, n uint32) uint32 { return b << n }),
		"rshift":  shift(func(b, n uint32) uint32 { return b >> n }),
		"arshift": shift(func(b, n uint32) uint32 { return uint32(int32(b) >> n) }),
		"rol":     shift(func(b, n uint32) uint32 { return b<<n | b>>(32-n) }),
		"ror":     shift(func(b, n uint32) uint32 { return b<<(32-n) | b>>n }),
		"tohex":   bitToHex,
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	L.SetGlobal("bit", t)
}

// bitArg is barg: the number's low 32 bits after adding 2^52+2^51, which
// rounds it to an integer (half to even) and wraps it modulo 2^32. Values
// that are not numbers read as 0 and fail only when the result is 0.
func bitArg(L *lua.LState, n int) uint32 {
	f, ok := toNumber(L.Get(n))
	b := uint32(math.Float64bits(f + 6755399441055744.0))
	if math.IsNaN(f) {
		b = 0 // the NaN x86 makes has zero low bits, whatever Go's has
	}
	if b == 0 && !ok {
		typeError(L, n, "number")
	}
	return b
}

// bitResult is BRET: the 32 bits as a signed number.
func bitResult(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

// bitToHex is bit_tohex: n hexadecimal digits (8 by default), upper case
// when n is negative.
func bitToHex(L *lua.LState) int {
	b := bitArg(L, 1)
	n := int32(8)
	if L.GetTop() >= 2 {
		n = int32(bitArg(L, 2))
	}
	digits := "0123456789abcdef"
	if n < 0 {
		n = -n
		digits = "0123456789ABCDEF"
	}
	if n > 8 || n < 0 { // n < 0 only for -2^31, which C prints out of bounds
		n = 8
	}
	buf := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf))
	return 1
}
