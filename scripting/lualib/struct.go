package lualib

import (
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The struct library is Roberto Ierusalimschy's struct.c as Redis 7.0
// bundles it (lua_struct.c), built for amd64: native order little endian,
// long and size_t 8 bytes, int 4, maximum alignment 8.

const (
	structMaxIntSize = 32 // MAXINTSIZE: the largest i/I size
	structMaxAlign   = 8  // MAXALIGN: the alignment a bare '!' sets
)

// structHeader is lua_struct.c's Header: the byte order and the alignment
// the format has set so far.
type structHeader struct {
	little bool
	align  uint64
}

// OpenStruct registers the global table struct, lua_struct.c as Redis 7.0
// loads it. Like cmsgpack.unpack, struct.unpack may return thousands of
// values.
func OpenStruct(L *lua.LState) {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	L.SetGlobal("struct", t)
}

// structFormat walks a format string as the C loop does: one option byte
// at a time, with the digits that follow some options read by getnum. The
// format ends at its first NUL, as the C string does.
type structFormat struct {
	s string
	i int
}

func newStructFormat(s string) *structFormat {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return &structFormat{s: s}
}

func (f *structFormat) more() bool { return f.i < len(f.s) }

func (f *structFormat) next() byte {
	c := f.s[f.i]
	f.i++
	return c
}

// getnum reads a decimal number, or returns def when no digit follows;
// numbers past the C int's range are an error.
func (f *structFormat) getnum(L *lua.LState, def int32) int32 {
	if !f.more() || !isDigit(f.s[f.i]) {
		return def
	}
	var a int32
	for f.more() && isDigit(f.s[f.i]) {
		d := int32(f.s[f.i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			raise(L, "integral size overflow")
		}
		a = a*10 + d
		f.i++
	}
	return a
}

// optsize is the size of option opt, reading its digits; 0 for options
// that take no room or need no alignment.
func (f *structFormat) optsize(L *lua.LState, opt byte) uint64 {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return uint64(f.getnum(L, 1))
	case 'i', 'I':
		sz := f.getnum(L, 4)
		if sz > structMaxIntSize {
			raise(L, "integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return uint64(sz)
	}
	return 0
}

// toAlign is gettoalign: the padding before an option of size bytes at
// offset n.
func (h *structHeader) toAlign(n uint64, opt byte, size uint64) uint64 {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (n & (size - 1))) & (size - 1)
}

// control is controloptions: byte order, alignment and spaces.
func (h *structHeader) control(L *lua.LState, f *structFormat, opt byte) {
	switch opt {
	case ' ':
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := f.getnum(L, structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			raise(L, "alignment %d is not a power of 2", a)
		}
		h.align = uint64(a)
	default:
		argError(L, 1, "invalid format option '"+string([]byte{opt})+"'")
	}
}

func isIntegerOption(opt byte) bool {
	return strings.IndexByte("bBhHlLTiI", opt) >= 0
}

// structPack is b_pack.
func structPack(L *lua.LState) int {
	f := newStructFormat(checkString(L, 1))
	h := structHeader{little: true, align: 1}
	arg := 2
	// NB: b_pack pushes a nil above its arguments, so a missing argument
	// right after the last one reads as nil, not as no value.
	L.Push(lua.LNil)
	var b []byte
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		pad := h.toAlign(uint64(len(b)), opt, size)
		b = append(b, make([]byte, pad)...)
		switch {
		case isIntegerOption(opt):
			n := checkNumber(L, arg)
			arg++
			var v uint64
			if n < 0 {
				v = uint64(truncInt64(n))
			} else {
				v = truncUint64(n)
			}
			b = appendInteger(b, v, int(size), h.little)
		case opt == 'x':
			b = append(b, 0)
		case opt == 'f':
			v := math.Float32bits(float32(checkNumber(L, arg)))
			arg++
			b = appendInteger(b, uint64(v), 4, h.little)
		case opt == 'd':
			v := math.Float64bits(checkNumber(L, arg))
			arg++
			b = appendInteger(b, v, 8, h.little)
		case opt == 'c' || opt == 's':
			s := checkString(L, arg)
			arg++
			if size == 0 {
				size = uint64(len(s))
			}
			if uint64(len(s)) < size {
				argError(L, arg, "string too short") // NB: the C code names the next argument
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			h.control(L, f, opt)
		}
	}
	L.Push(lua.LString(b))
	return 1
}

// appendInteger writes the low size bytes of v (zeros past the eighth) in
// the given byte order.
func appendInteger(b []byte, v uint64, size int, little bool) []byte {
	buf := make([]byte, size)
	for i := 0; i < size && i < 8; i++ {
		if little {
			buf[i] = byte(v)
		} else {
			buf[size-1-i] = byte(v)
		}
		v >>= 8
	}
	return append(b, buf...)
}

// getInteger is getinteger: size bytes in the given order, of which an
// unsigned long keeps the last eight read, sign-extended from the top bit
// of the size when signed. The C shift by size*8-1 wraps at 64 as amd64's
// does.
func getInteger(data string, little, signed bool, size int) float64 {
	l := getIntegerBits(data, little, size)
	if !signed {
		return float64(l)
	}
	mask := ^uint64(0) << (uint(size*8-1) & 63)
	if l&mask != 0 {
		l |= mask
	}
	return float64(int64(l))
}

// structUnpack is b_unpack: the values, then the position after them.
func structUnpack(L *lua.LState) int {
	f := newStructFormat(checkString(L, 1))
	data := checkString(L, 2)
	pos := uint64(optInteger(L, 3, 1)) // a size_t: negative offsets are huge
	if pos == 0 {
		argError(L, 3, "offset must be 1 or greater")
	}
	pos--
	h := structHeader{little: true, align: 1}
	ld := uint64(len(data))
	base := L.GetTop() // the C stack holds the arguments below the results
	var results []lua.LValue
	fits := func(size uint64) {
		if size > ld || pos > ld-size {
			argError(L, 2, "data string too short")
		}
	}
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		pos += h.toAlign(pos, opt, size)
		fits(size)
		if base+len(results)+2 > maxCStack {
			raise(L, "stack overflow (too many results)")
		}
		switch {
		case isIntegerOption(opt):
			signed := opt >= 'a'
			results = append(results, lua.LNumber(getInteger(data[pos:], h.little, signed, int(size))))
		case opt == 'x':
		case opt == 'f':
			v := uint32(getIntegerBits(data[pos:], h.little, 4))
			results = append(results, lua.LNumber(math.Float32frombits(v)))
		case opt == 'd':
			v := getIntegerBits(data[pos:], h.little, 8)
			results = append(results, lua.LNumber(math.Float64frombits(v)))
		case opt == 'c':
			if size == 0 {
				// The length is the previous result, which it replaces.
				var n float64
				ok := len(results) > 0
				if ok {
					n, ok = toNumber(results[len(results)-1])
				}
				if !ok {
					raise(L, "format 'c0' needs a previous size")
				}
				size = truncUint64(n)
				results = results[:len(results)-1]
				fits(size)
			}
			results = append(results, lua.LString(data[pos:pos+size]))
		case opt == 's':
			e := strings.IndexByte(data[pos:], 0)
			if e < 0 {
				raise(L, "unfinished string in data")
			}
			size = uint64(e) + 1
			results = append(results, lua.LString(data[pos:pos+uint64(e)]))
		default:
			h.control(L, f, opt)
		}
		pos += size
	}
	for _, v := range results {
		L.Push(v)
	}
	L.Push(lua.LNumber(int64(pos + 1))) // size_t to lua_Integer
	return len(results) + 1
}

// getIntegerBits reads size bytes in the given order as raw bits; past
// eight bytes the first ones read shift out.
func getIntegerBits(data string, little bool, size int) uint64 {
	var l uint64
	for i := 0; i < size; i++ {
		j := i
		if little {
			j = size - 1 - i
		}
		l = l<<8 | uint64(data[j])
	}
	return l
}

// structSize is b_size: the bytes a format packs to, alignment included.
func structSize(L *lua.LState) int {
	f := newStructFormat(checkString(L, 1))
	h := structHeader{little: true, align: 1}
	var pos uint64
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		pos += h.toAlign(pos, opt, size)
		if opt == 's' {
			argError(L, 1, "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "option 'c0' has no fixed size")
		}
		if !isAlnum(opt) {
			h.control(L, f, opt)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
