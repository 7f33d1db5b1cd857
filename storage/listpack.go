package storage

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Listpacks as Redis 7 writes them (listpack.c): a header of the total
// size (uint32 LE) and the element count (uint16 LE, 65535 when larger),
// the elements, and a 0xff terminator. Each element is its encoding and a
// back-length. A string that is the canonical text of a 64-bit integer is
// stored as that integer (lpStringToInt64), in the smallest of the 7, 13,
// 16, 24, 32 and 64-bit forms.
//
// Shoal writes listpacks for DUMP and computes their sizes to place
// stream entries in nodes where Redis would (stream.go); rdb.go reads
// them.

const (
	listpackHeaderSize = 6
	listpackEnd        = 0xff
)

// listpackIntLen is the size of an integer's encoding, without its
// back-length.
func listpackIntLen(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 1
	case v >= -4096 && v <= 4095:
		return 2
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 3
	case v >= -1<<23 && v < 1<<23:
		return 4
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 5
	}
	return 9
}

// listpackStrLen is the size of a string's encoding, without its
// back-length.
func listpackStrLen(l int) int {
	switch {
	case l < 64:
		return 1 + l
	case l < 4096:
		return 2 + l
	}
	return 5 + l
}

// withBacklen adds the back-length's size to an encoding of n bytes.
func withBacklen(n int) int { return n + backlenSize(n) }

// listpackEntrySize returns the bytes the element v takes in a listpack,
// back-length included: an integer (lpStringToInt64 reads as string2ll
// does) in its integer encoding.
func listpackEntrySize(v []byte) int {
	if i, ok := encoding.ParseInt(v); ok {
		return withBacklen(listpackIntLen(i))
	}
	return withBacklen(listpackStrLen(len(v)))
}

// listpackIntSize returns the bytes the integer v takes in a listpack.
func listpackIntSize(v int64) int { return withBacklen(listpackIntLen(v)) }

// listpackWriter builds a listpack.
type listpackWriter struct {
	b []byte
	n int
}

func newListpackWriter() *listpackWriter {
	return &listpackWriter{b: make([]byte, listpackHeaderSize, 64)}
}

// appendInt appends the integer v.
func (w *listpackWriter) appendInt(v int64) {
	start := len(w.b)
	u := uint64(v)
	switch listpackIntLen(v) {
	case 1:
		w.b = append(w.b, byte(v))
	case 2:
		w.b = append(w.b, 0xc0|byte(u>>8)&0x1f, byte(u))
	case 3:
		w.b = append(w.b, 0xf1, byte(u), byte(u>>8))
	case 4:
		w.b = append(w.b, 0xf2, byte(u), byte(u>>8), byte(u>>16))
	case 5:
		w.b = append(w.b, 0xf3)
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(u))
	default:
		w.b = append(w.b, 0xf4)
		w.b = binary.LittleEndian.AppendUint64(w.b, u)
	}
	w.endEntry(start)
}

// appendStr appends s, as an integer when it is one.
func (w *listpackWriter) appendStr(s []byte) {
	if v, ok := encoding.ParseInt(s); ok {
		w.appendInt(v)
		return
	}
	start := len(w.b)
	switch l := len(s); {
	case l < 64:
		w.b = append(w.b, 0x80|byte(l))
	case l < 4096:
		w.b = append(w.b, 0xe0|byte(l>>8), byte(l))
	default:
		w.b = append(w.b, 0xf0)
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(l))
	}
	w.b = append(w.b, s...)
	w.endEntry(start)
}

// endEntry appends the back-length of the element that starts at start:
// its size in 7-bit groups, most significant first, every byte but the
// first with the high bit set (lpEncodeBacklen).
func (w *listpackWriter) endEntry(start int) {
	l := len(w.b) - start
	n := backlenSize(l)
	for i := n - 1; i >= 0; i-- {
		c := byte(l>>(7*i)) & 0x7f
		if i != n-1 {
			c |= 0x80
		}
		w.b = append(w.b, c)
	}
	w.n++
}

// bytes finishes the listpack and returns it.
func (w *listpackWriter) bytes() []byte {
	w.b = append(w.b, listpackEnd)
	binary.LittleEndian.PutUint32(w.b, uint32(len(w.b)))
	n := w.n
	if n > math.MaxUint16-1 {
		n = math.MaxUint16
	}
	binary.LittleEndian.PutUint16(w.b[4:], uint16(n))
	return w.b
}

// listpackEntry decodes the entry at the start of p, a listpack's body
// from an entry on: its value (a string aliasing p, or an integer's
// decimal text in num) and its size with its back-length. ok is false when
// the entry or its back-length is malformed.
func listpackEntry(p []byte, num *[20]byte) (e []byte, size int, ok bool) {
	if len(p) == 0 {
		return nil, 0, false
	}
	var hdr, dlen int // header bytes, data bytes
	var ival int64
	isInt := true
	c := p[0]
	switch {
	case c&0x80 == 0: // 7-bit uint
		hdr, ival = 1, int64(c&0x7f)
	case c&0xc0 == 0x80: // 6-bit string length
		hdr, dlen, isInt = 1, int(c&0x3f), false
	case c&0xe0 == 0xc0: // 13-bit int
		if len(p) < 2 {
			return nil, 0, false
		}
		hdr = 2
		u := uint64(c&0x1f)<<8 | uint64(p[1])
		ival = int64(u<<51) >> 51
	case c&0xf0 == 0xe0: // 12-bit string length
		if len(p) < 2 {
			return nil, 0, false
		}
		hdr, dlen, isInt = 2, int(c&0x0f)<<8|int(p[1]), false
	case c == 0xf0: // 32-bit string length
		if len(p) < 5 {
			return nil, 0, false
		}
		l := binary.LittleEndian.Uint32(p[1:])
		if uint64(l) > uint64(len(p)) {
			return nil, 0, false
		}
		hdr, dlen, isInt = 5, int(l), false
	case c >= 0xf1 && c <= 0xf4:
		width := [...]int{2, 3, 4, 8}[c-0xf1]
		if len(p) < 1+width {
			return nil, 0, false
		}
		hdr = 1 + width
		var u uint64
		for i := width; i >= 1; i-- {
			u = u<<8 | uint64(p[i])
		}
		shift := 64 - 8*width
		ival = int64(u<<shift) >> shift
	default: // 0xff inside the body, or an unused encoding
		return nil, 0, false
	}
	elen := hdr + dlen
	if elen > len(p) {
		return nil, 0, false
	}
	bl := backlenSize(elen)
	if elen+bl > len(p) || decodeBacklen(p[elen:elen+bl]) != elen {
		return nil, 0, false
	}
	if isInt {
		return strconv.AppendInt(num[:0], ival, 10), elen + bl, true
	}
	return p[hdr:elen], elen + bl, true
}
