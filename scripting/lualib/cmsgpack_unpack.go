package lualib

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// msgpackErr is lua-cmsgpack's cursor error.
type msgpackErr int

const (
	msgpackOK     msgpackErr = iota
	msgpackEOF               // MP_CUR_ERROR_EOF: the input ends inside a value
	msgpackBadFmt            // MP_CUR_ERROR_BADFMT: a type byte it does not know
)

// msgpackDecoder is lua-cmsgpack's mp_cur plus the count of C Lua stack
// slots the C decoder would hold (the argument, the values decoded so far,
// open tables and their pending keys); its luaL_checkstack fails past
// maxCStack.
type msgpackDecoder struct {
	L    *lua.LState
	s    string
	p    int
	err  msgpackErr
	used int
}

// msgpackUnpack is mp_unpack_full: up to limit values from offset, all of
// them when both are 0. With a limit or an offset the first result is the
// offset of the next value, or -1 at the end of the input.
func msgpackUnpack(L *lua.LState, limit, offset int64) int {
	s := checkString(L, 1)
	if offset < 0 || limit < 0 {
		// NB: lua-cmsgpack prints the input length as the limit.
		raise(L, "Invalid request to unpack with offset of %d and limit of %d.", int32(offset), int32(len(s)))
	} else if offset > int64(len(s)) {
		raise(L, "Start offset %d greater than input length %d.", int32(offset), int32(len(s)))
	}
	all := limit == 0 && offset == 0
	if all {
		limit = math.MaxInt32
	}
	d := &msgpackDecoder{L: L, s: s, p: int(offset), used: 1}
	var values []lua.LValue
	for cnt := int64(0); d.p < len(s) && cnt < limit; cnt++ {
		v := d.value()
		switch d.err {
		case msgpackEOF:
			raise(L, "Missing bytes in input.")
		case msgpackBadFmt:
			raise(L, "Bad data format in input.")
		}
		values = append(values, v)
	}
	if !all {
		next := lua.LNumber(d.p)
		if d.p == len(s) {
			next = -1
		}
		L.Push(next)
	}
	for _, v := range values {
		L.Push(v)
	}
	if all {
		return len(values)
	}
	return len(values) + 1
}

// need is mp_cur_need: false, with the EOF error set, when fewer than n
// bytes are left.
func (d *msgpackDecoder) need(n int) bool {
	if len(d.s)-d.p < n {
		d.err = msgpackEOF
		return false
	}
	return true
}

func (d *msgpackDecoder) checkStack(msg string) {
	if d.used+1 > maxCStack {
		raise(d.L, "stack overflow (%s)", msg)
	}
}

// str reads a string of n bytes after a header of hdr bytes.
func (d *msgpackDecoder) str(hdr, n int) lua.LValue {
	if !d.need(hdr + n) {
		return lua.LNil
	}
	v := lua.LString(d.s[d.p+hdr : d.p+hdr+n])
	d.p += hdr + n
	return v
}

// number reads the n-byte big-endian field after the type byte.
func (d *msgpackDecoder) number(n int) (uint64, bool) {
	if !d.need(1 + n) {
		return 0, false
	}
	var u uint64
	for _, b := range []byte(d.s[d.p+1 : d.p+1+n]) {
		u = u<<8 | uint64(b)
	}
	d.p += 1 + n
	return u, true
}

// value is mp_decode_to_lua_type. On success it leaves one value on the C
// stack, which used counts until the caller stores it.
func (d *msgpackDecoder) value() lua.LValue {
	if !d.need(1) {
		return lua.LNil
	}
	d.checkStack("too many return values at once; use unpack_one or unpack_limit instead.")
	v := d.scalar()
	if d.err == msgpackOK {
		d.used++
	}
	return v
}

func (d *msgpackDecoder) scalar() lua.LValue {
	c := d.s[d.p]
	fixed := func(n int, conv func(uint64) float64) lua.LValue {
		u, ok := d.number(n)
		if !ok {
			return lua.LNil
		}
		return lua.LNumber(conv(u))
	}
	// The C library pushes unsigned values through lua_Integer, so a
	// uint 64 from 2^63 up reads as negative.
	unsigned := func(u uint64) float64 { return float64(int64(u)) }
	switch c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		return fixed(1<<(c-0xcc), unsigned)
	case 0xd0:
		return fixed(1, func(u uint64) float64 { return float64(int8(u)) })
	case 0xd1:
		return fixed(2, func(u uint64) float64 { return float64(int16(u)) })
	case 0xd2:
		return fixed(4, func(u uint64) float64 { return float64(int32(u)) })
	case 0xd3:
		return fixed(8, func(u uint64) float64 { return float64(int64(u)) })
	case 0xca:
		return fixed(4, func(u uint64) float64 { return float64(math.Float32frombits(uint32(u))) })
	case 0xcb:
		return fixed(8, math.Float64frombits)
	case 0xc0:
		d.p++
		return lua.LNil
	case 0xc3, 0xc2:
		d.p++
		return lua.LBool(c == 0xc3)
	case 0xd9:
		if !d.need(2) {
			return lua.LNil
		}
		return d.str(2, int(d.s[d.p+1]))
	case 0xda:
		if !d.need(3) {
			return lua.LNil
		}
		return d.str(3, int(binary.BigEndian.Uint16([]byte(d.s[d.p+1:d.p+3]))))
	case 0xdb, 0xdc, 0xdd, 0xde, 0xdf:
		width := 2
		if c == 0xdb || c == 0xdd || c == 0xdf {
			width = 4
		}
		u, ok := d.number(width)
		if !ok {
			return lua.LNil
		}
		switch c {
		case 0xdb:
			return d.str(0, int(u))
		case 0xdc, 0xdd:
			return d.array(u)
		}
		return d.hash(u)
	}
	switch {
	case c&0x80 == 0: // positive fixnum
		d.p++
		return lua.LNumber(c)
	case c&0xe0 == 0xe0: // negative fixnum
		d.p++
		return lua.LNumber(int8(c))
	case c&0xe0 == 0xa0: // fix str
		return d.str(1, int(c&0x1f))
	case c&0xf0 == 0x90: // fix array
		d.p++
		return d.array(uint64(c & 0xf))
	case c&0xf0 == 0x80: // fix map
		d.p++
		return d.hash(uint64(c & 0xf))
	}
	d.err = msgpackBadFmt
	return lua.LNil
}

// array is mp_decode_to_lua_array. The table is counted on the stack by
// the caller once it is complete; while it fills, it and the pending index
// are counted here.
func (d *msgpackDecoder) array(n uint64) lua.LValue {
	t := d.L.NewTable()
	d.used++
	defer func() { d.used-- }()
	d.checkStack("in function mp_decode_to_lua_array")
	for i := 1; n > 0; i, n = i+1, n-1 {
		d.used++ // the index
		v := d.value()
		if d.err != msgpackOK {
			return t
		}
		t.RawSetInt(i, v)
		d.used -= 2
	}
	return t
}

// hash is mp_decode_to_lua_hash.
func (d *msgpackDecoder) hash(n uint64) lua.LValue {
	t := d.L.NewTable()
	d.used++
	defer func() { d.used-- }()
	for ; n > 0; n-- {
		k := d.value()
		if d.err != msgpackOK {
			return t
		}
		v := d.value()
		if d.err != msgpackOK {
			return t
		}
		switch k := k.(type) {
		case *lua.LNilType:
			raiseRuntime(d.L, "table index is nil")
		case lua.LNumber:
			if math.IsNaN(float64(k)) {
				raiseRuntime(d.L, "table index is NaN")
			}
		}
		t.RawSet(k, v)
		d.used -= 2
	}
	return t
}
