package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"math"
	"strconv"
	"sync"
)

// The pieces of Redis's RDB format that a DUMP payload is made of: length
// and string encodings, LZF, listpacks, ziplists, intsets and the CRC64
// footer. Every reader bounds-checks against its input and allocates only
// in proportion to the bytes it has actually been given, so a corrupt or
// hostile payload yields ErrDumpFormat, never a panic or a huge allocation.

// ErrDumpFormat reports a DUMP payload whose object cannot be decoded;
// RESTORE answers "ERR Bad data format".
var ErrDumpFormat = errors.New("storage: bad DUMP data format")

// errEmptyKey reports a collection of no elements: RESTORE refuses it
// (ErrDumpFormat), as Redis does, and an RDB file's loader skips its key,
// as Redis's skips the empty keys an old bug could write (#8453).
var errEmptyKey = fmt.Errorf("%w: empty key", ErrDumpFormat)

// RDB length and string encodings (rdb.h).
const (
	rdbLen6    = 0
	rdbLen14   = 1
	rdbLen32   = 0x80
	rdbLen64   = 0x81
	rdbEncVal  = 3
	rdbEncInt8 = 0
	rdbEncInt6 = 1 // int16
	rdbEncInt2 = 2 // int32
	rdbEncLZF  = 3
)

// crcJones is the table of Redis's crc64 (Jones polynomial 0xad93d23594c935a9,
// reflected, no initial or final inversion): Go's table takes the reversed
// polynomial.
var crcJones = crc64.MakeTable(0x95ac9329ac4bc9b5)

// redisCRC64 computes Redis's crc64(crc, p). Go's Update inverts on entry
// and exit; Redis's does not, so undo both.
func redisCRC64(crc uint64, p []byte) uint64 {
	return ^crc64.Update(^crc, crcJones, p)
}

// rdbReader reads RDB encodings from a byte slice.
type rdbReader struct {
	b   []byte
	pos int
	// scratch takes the LZF-compressed strings that strScratch reads;
	// reuse lets a string value be read there too (a loader that writes
	// each value before it reads the next).
	scratch []byte
	reuse   bool
}

func (r *rdbReader) left() int { return len(r.b) - r.pos }

func (r *rdbReader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, ErrDumpFormat
	}
	r.pos++
	return r.b[r.pos-1], nil
}

func (r *rdbReader) bytes(n uint64) ([]byte, error) {
	if n > uint64(r.left()) {
		return nil, ErrDumpFormat
	}
	p := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return p, nil
}

// length reads an RDB length; encoded is true when it is instead a special
// string encoding (the value then says which).
func (r *rdbReader) length() (n uint64, encoded bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case rdbLen6:
		return uint64(c & 0x3f), false, nil
	case rdbLen14:
		d, err := r.byte()
		if err != nil {
			return 0, false, err
		}
		return uint64(c&0x3f)<<8 | uint64(d), false, nil
	case rdbEncVal:
		return uint64(c & 0x3f), true, nil
	}
	switch c {
	case rdbLen32:
		p, err := r.bytes(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case rdbLen64:
		p, err := r.bytes(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, ErrDumpFormat
}

// count reads a collection length: a plain length that cannot exceed the
// bytes left (every element takes at least one byte), so callers may size
// slices by it.
func (r *rdbReader) count() (int, error) {
	n, enc, err := r.length()
	if err != nil || enc {
		return 0, ErrDumpFormat
	}
	if n == 0 {
		return 0, errEmptyKey
	}
	if n > uint64(r.left()) {
		return 0, ErrDumpFormat
	}
	return int(n), nil
}

// str reads an RDB string: raw, an integer encoding (returned as its
// decimal text) or LZF-compressed. The result may alias r's buffer.
func (r *rdbReader) str() ([]byte, error) { return r.strInto(nil) }

// strScratch is str, with an LZF-compressed string expanded into
// r.scratch: the result is valid until r's next strScratch.
func (r *rdbReader) strScratch() ([]byte, error) { return r.strInto(&r.scratch) }

// strInto is str, expanding an LZF-compressed string into *buf, grown as
// needed, when buf is not nil.
func (r *rdbReader) strInto(buf *[]byte) ([]byte, error) {
	n, enc, err := r.length()
	if err != nil {
		return nil, err
	}
	if !enc {
		return r.bytes(n)
	}
	switch n {
	case rdbEncInt8:
		c, err := r.byte()
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int8(c)), 10), nil
	case rdbEncInt6:
		p, err := r.bytes(2)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(p))), 10), nil
	case rdbEncInt2:
		p, err := r.bytes(4)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(p))), 10), nil
	case rdbEncLZF:
		clen, cenc, err := r.length()
		if err != nil || cenc {
			return nil, ErrDumpFormat
		}
		ulen, uenc, err := r.length()
		if err != nil || uenc {
			return nil, ErrDumpFormat
		}
		comp, err := r.bytes(clen)
		if err != nil {
			return nil, err
		}
		if buf == nil {
			return lzfDecompress(comp, ulen)
		}
		out, err := lzfDecompressTo(*buf, comp, ulen)
		if err == nil {
			*buf = out
		}
		return out, err
	}
	return nil, ErrDumpFormat
}

// lzfMaxRatio bounds how much one compressed byte can expand: a 3-byte
// back reference yields at most 264 bytes.
const lzfMaxRatio = 88

// lzfDecompress expands LZF data (Redis's lzf_d.c) that must come to
// exactly ulen bytes.
func lzfDecompress(in []byte, ulen uint64) ([]byte, error) {
	return lzfDecompressTo(nil, in, ulen)
}

// lzfDecompressTo is lzfDecompress into dst's buffer when it holds ulen
// bytes.
func lzfDecompressTo(dst, in []byte, ulen uint64) ([]byte, error) {
	if ulen == 0 || ulen > uint64(len(in))*lzfMaxRatio+lzfMaxRatio {
		return nil, ErrDumpFormat
	}
	out := dst[:0]
	if uint64(cap(out)) < ulen {
		out = make([]byte, 0, ulen)
	}
	for ip := 0; ip < len(in); {
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 {
			n := ctrl + 1
			if ip+n > len(in) || uint64(len(out)+n) > ulen {
				return nil, ErrDumpFormat
			}
			out = append(out, in[ip:ip+n]...)
			ip += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(in) {
				return nil, ErrDumpFormat
			}
			n += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return nil, ErrDumpFormat
		}
		ref := len(out) - (ctrl&0x1f)<<8 - 1 - int(in[ip])
		ip++
		n += 2
		if ref < 0 || uint64(len(out)+n) > ulen {
			return nil, ErrDumpFormat
		}
		for i := 0; i < n; i++ { // byte by byte: the source may overlap
			out = append(out, out[ref+i])
		}
	}
	if uint64(len(out)) != ulen {
		return nil, ErrDumpFormat
	}
	return out, nil
}

// rdbDouble reads the string-encoded double of RDB_TYPE_ZSET.
func (r *rdbReader) double() (float64, error) {
	n, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	p, err := r.bytes(uint64(n))
	if err != nil {
		return 0, err
	}
	return parseScore(p)
}

// parseScore parses a score stored as text, as Redis's strtod would.
func parseScore(p []byte) (float64, error) {
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, ErrDumpFormat
		}
	}
	if math.IsNaN(f) {
		return 0, ErrDumpFormat
	}
	return f, nil
}

// appendLen appends an RDB length.
func appendLen(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, byte(n>>8)|rdbLen14<<6, byte(n))
	case n <= math.MaxUint32:
		dst = append(dst, rdbLen32)
		return binary.BigEndian.AppendUint32(dst, uint32(n))
	}
	dst = append(dst, rdbLen64)
	return binary.BigEndian.AppendUint64(dst, n)
}

// appendStr appends an RDB string, with Redis's integer encodings when the
// string is the canonical text of a 32-bit integer (rdbTryIntegerEncoding).
func appendStr(dst, s []byte) []byte {
	if len(s) > 0 && len(s) <= 11 {
		if v, err := strconv.ParseInt(string(s), 10, 64); err == nil && strconv.FormatInt(v, 10) == string(s) {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(dst, rdbEncVal<<6|rdbEncInt8, byte(int8(v)))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				dst = append(dst, rdbEncVal<<6|rdbEncInt6)
				return binary.LittleEndian.AppendUint16(dst, uint16(int16(v)))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				dst = append(dst, rdbEncVal<<6|rdbEncInt2)
				return binary.LittleEndian.AppendUint32(dst, uint32(int32(v)))
			}
		}
	}
	dst = appendLen(dst, uint64(len(s)))
	return append(dst, s...)
}

// listpackEach calls fn with each entry of the listpack lp, integers as
// their decimal text. It checks the header, every entry's back-length and
// the terminator; the entry slices alias lp.
func listpackEach(lp []byte, fn func(e []byte) error) error {
	if len(lp) < 7 || binary.LittleEndian.Uint32(lp) != uint32(len(lp)) || lp[len(lp)-1] != 0xff {
		return ErrDumpFormat
	}
	want := int(binary.LittleEndian.Uint16(lp[4:]))
	p := lp[6 : len(lp)-1]
	n := 0
	var num [20]byte
	for len(p) > 0 {
		e, size, ok := listpackEntry(p, &num)
		if !ok {
			return ErrDumpFormat
		}
		if err := fn(e); err != nil {
			return err
		}
		p = p[size:]
		n++
	}
	if want != 0xffff && want != n {
		return ErrDumpFormat
	}
	return nil
}

// backlenSize is the size of a listpack entry's back-length for an entry
// of l bytes (lpEncodeBacklen).
func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// decodeBacklen reads a back-length as stored, front to back: the first
// byte holds the most significant 7 bits and is the only one without the
// continuation bit (lpEncodeBacklen). It returns -1 when malformed.
func decodeBacklen(b []byte) int {
	v := 0
	for i, c := range b {
		if (i == 0) != (c&0x80 == 0) {
			return -1
		}
		v = v<<7 | int(c&0x7f)
	}
	return v
}

// zipmapEach calls fn with each field and value of the zipmap zm, the
// encoding of small hashes before Redis 2.6, which Redis 7.0 still loads:
// a count byte, then each field's length and bytes, the value's length,
// a byte of free space after the value, the value and that space, then
// 0xff. A length under 254 is its byte, 254 is followed by four bytes
// little-endian. As Redis's zipmapValidateIntegrity, an empty zipmap or
// one whose count byte (unless 254, "too many") disagrees is refused.
func zipmapEach(zm []byte, fn func(e []byte) error) error {
	if len(zm) < 2 || zm[len(zm)-1] != 0xff {
		return ErrDumpFormat
	}
	p := zm[1 : len(zm)-1]
	length := func() (int, bool) {
		switch {
		case len(p) >= 1 && p[0] < 254:
			l := int(p[0])
			p = p[1:]
			return l, true
		case len(p) >= 5 && p[0] == 254:
			l := binary.LittleEndian.Uint32(p[1:])
			p = p[5:]
			return int(l), uint64(l) <= uint64(len(p))
		}
		return 0, false
	}
	count := 0
	for len(p) > 0 {
		l, ok := length()
		if !ok || l > len(p) {
			return ErrDumpFormat
		}
		field := p[:l]
		p = p[l:]
		l, ok = length()
		if !ok || len(p) < 1 || 1+l+int(p[0]) > len(p) {
			return ErrDumpFormat
		}
		free := int(p[0])
		value := p[1 : 1+l]
		p = p[1+l+free:]
		if err := fn(field); err != nil {
			return err
		}
		if err := fn(value); err != nil {
			return err
		}
		count++
	}
	if count == 0 || zm[0] != 254 && int(zm[0]) != count {
		return ErrDumpFormat
	}
	return nil
}

// ziplistEach calls fn with each entry of the ziplist zl (the encoding of
// Redis before 7.0, still loaded by it), integers as decimal text.
func ziplistEach(zl []byte, fn func(e []byte) error) error {
	if len(zl) < 11 || binary.LittleEndian.Uint32(zl) != uint32(len(zl)) || zl[len(zl)-1] != 0xff {
		return ErrDumpFormat
	}
	want := int(binary.LittleEndian.Uint16(zl[8:]))
	p := zl[10 : len(zl)-1]
	n, prev, last := 0, 0, 0
	var num [20]byte
	for len(p) > 0 {
		start := len(p)
		last = len(zl) - 1 - start
		// prevlen
		var pl int
		if p[0] < 254 {
			pl, p = int(p[0]), p[1:]
		} else if p[0] == 254 && len(p) >= 5 {
			pl, p = int(binary.LittleEndian.Uint32(p[1:])), p[5:]
		} else {
			return ErrDumpFormat
		}
		if pl != prev {
			return ErrDumpFormat
		}
		if len(p) == 0 {
			return ErrDumpFormat
		}
		c := p[0]
		var e []byte
		switch c >> 6 {
		case 0:
			l := int(c & 0x3f)
			if 1+l > len(p) {
				return ErrDumpFormat
			}
			e, p = p[1:1+l], p[1+l:]
		case 1:
			if len(p) < 2 {
				return ErrDumpFormat
			}
			l := int(c&0x3f)<<8 | int(p[1])
			if 2+l > len(p) {
				return ErrDumpFormat
			}
			e, p = p[2:2+l], p[2+l:]
		case 2:
			if c != 0x80 || len(p) < 5 {
				return ErrDumpFormat
			}
			l := uint64(binary.BigEndian.Uint32(p[1:]))
			if 5+l > uint64(len(p)) {
				return ErrDumpFormat
			}
			e, p = p[5:5+l], p[5+l:]
		default:
			var v int64
			var size int
			switch {
			case c == 0xc0:
				size = 2
			case c == 0xd0:
				size = 4
			case c == 0xe0:
				size = 8
			case c == 0xf0:
				size = 3
			case c == 0xfe:
				size = 1
			case c >= 0xf1 && c <= 0xfd:
				v = int64(c&0x0f) - 1
			default:
				return ErrDumpFormat
			}
			if 1+size > len(p) {
				return ErrDumpFormat
			}
			if size > 0 {
				var u uint64
				for i := size; i >= 1; i-- {
					u = u<<8 | uint64(p[i])
				}
				shift := 64 - 8*size
				v = int64(u<<shift) >> shift
			}
			e, p = strconv.AppendInt(num[:0], v, 10), p[1+size:]
		}
		if err := fn(e); err != nil {
			return err
		}
		prev = start - len(p)
		n++
	}
	if want != 0xffff && want != n {
		return ErrDumpFormat
	}
	// As Redis's ziplistValidateIntegrity: the tail offset names the
	// last entry.
	if n > 0 && binary.LittleEndian.Uint32(zl[4:]) != uint32(last) {
		return ErrDumpFormat
	}
	return nil
}

// intsetEach calls fn with each member of the intset is, which must be
// sorted and free of duplicates.
func intsetEach(is []byte, fn func(v int64) error) error {
	if len(is) < 8 {
		return ErrDumpFormat
	}
	enc := binary.LittleEndian.Uint32(is)
	n := uint64(binary.LittleEndian.Uint32(is[4:]))
	if (enc != 2 && enc != 4 && enc != 8) || n == 0 || uint64(len(is)-8) != n*uint64(enc) {
		return ErrDumpFormat
	}
	body := is[8:]
	var prev int64
	for i := 0; i < int(n); i++ {
		var v int64
		switch enc {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(body[2*i:])))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(body[4*i:])))
		default:
			v = int64(binary.LittleEndian.Uint64(body[8*i:]))
		}
		if i > 0 && v <= prev {
			return ErrDumpFormat
		}
		prev = v
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// lzfMinLen is the shortest string an RDB file stores compressed, as
// Redis's rdbSaveRawString with rdbcompression on.
const lzfMinLen = 21

// appendStrLZF appends s as an LZF-compressed RDB string when that saves
// at least four bytes (rdbSaveLzfStringObject), else as appendStr does.
func appendStrLZF(dst, s []byte) []byte {
	if len(s) >= lzfMinLen {
		if comp := lzfCompress(s, len(s)-4); comp != nil {
			dst = append(dst, rdbEncVal<<6|rdbEncLZF)
			dst = appendLen(dst, uint64(len(comp)))
			dst = appendLen(dst, uint64(len(s)))
			return append(dst, comp...)
		}
	}
	return appendStr(dst, s)
}

// LZF limits (lzf_c.c): a literal run of at most 32 bytes, a back
// reference at most 8192 bytes back and 264 long.
const (
	lzfMaxLit = 32
	lzfMaxOff = 1 << 13
	lzfMaxRef = 264
	// lzfHashLog is the log2 of the hash table's slots, Redis's HLOG.
	lzfHashLog = 16
)

// lzfTable is lzfCompress's hash table: each slot the position of the
// last 3-byte sequence of its hash, plus one, stamped with the call
// (gen) that set it, so a pooled table needs no clearing.
type lzfTable struct {
	gen  uint32
	slot [1 << lzfHashLog]uint64
}

var lzfTables = sync.Pool{New: func() any { return new(lzfTable) }}

// lzfIdx is liblzf's IDX for VERY_FAST: h holds the last four bytes read.
func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHashLog)) - h*5) & (1<<lzfHashLog - 1)
}

// lzfCompress compresses in into LZF (the format lzfDecompress reads) as
// Redis's lzf_compress does (liblzf with HLOG 16 and VERY_FAST), to the
// byte, so that compressed lengths (DEBUG OBJECT's serializedlength) and
// RDB files are Redis's. It returns nil where lzf_compress returns 0: the
// output would not fit in limit bytes.
func lzfCompress(in []byte, limit int) []byte {
	if len(in) < 2 || limit <= 0 {
		return nil
	}
	t := lzfTables.Get().(*lzfTable)
	defer lzfTables.Put(t)
	t.gen++
	if t.gen == 0 {
		clear(t.slot[:])
		t.gen = 1
	}
	stamp := uint64(t.gen) << 32
	get := func(idx uint32) int {
		if v := t.slot[idx]; v&^0xffffffff == stamp {
			return int(v&0xffffffff) - 1
		}
		return -1
	}
	set := func(idx uint32, pos int) { t.slot[idx] = stamp | uint64(pos+1) }

	out := make([]byte, limit+lzfMaxLit+4) // NB: the checks below keep op within limit
	end := len(in)
	op, lit := 1, 0 // op: next output byte; out[op-lit-1] is the open run's length
	ip := 0
	// literal copies one byte into the open run, closing it when full.
	literal := func() {
		out[op] = in[ip]
		lit++
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	h := uint32(in[0])<<8 | uint32(in[1])
	for ip < end-2 {
		h = h<<8 | uint32(in[ip+2])
		idx := lzfIdx(h)
		ref := get(idx)
		set(idx, ip)
		if ref > 0 && ip-ref-1 < lzfMaxOff &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			off := ip - ref - 1
			n := 2
			maxLen := min(end-ip-n, lzfMaxRef)
			out[op-lit-1] = byte(lit - 1) // close the run
			if lit == 0 {
				op-- // an empty run is dropped
			}
			if op+3+1 >= limit {
				return nil
			}
			// NB: as lzf_compress, up to 16 bytes are compared before
			// the length is checked against maxLen.
			more := true
			if maxLen > 16 {
				for range 16 {
					n++
					if in[ref+n] != in[ip+n] {
						more = false
						break
					}
				}
			}
			if more {
				for {
					n++
					if n >= maxLen || in[ref+n] != in[ip+n] {
						break
					}
				}
			}
			n -= 2 // the match's length less one
			ip++
			if n < 7 {
				out[op] = byte(off>>8 + n<<5)
				op++
			} else {
				out[op], out[op+1] = byte(off>>8+7<<5), byte(n-7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++ // open a run
			ip += n + 1
			if ip >= end-2 {
				break
			}
			// Hash the two positions before the next, as VERY_FAST does.
			ip -= 2
			h = uint32(in[ip])<<8 | uint32(in[ip+1])
			for range 2 {
				h = h<<8 | uint32(in[ip+2])
				set(lzfIdx(h), ip)
				ip++
			}
			continue
		}
		if op >= limit {
			return nil
		}
		literal()
	}
	if op+3 > limit {
		return nil
	}
	for ip < end {
		literal()
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	if op > limit {
		return nil
	}
	return out[:op:op]
}
