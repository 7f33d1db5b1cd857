package commands

import (
	"math"
	"math/bits"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// bitmapCommands returns the bitmaps command group: bit operations on
// string values, as in Redis's bitops.c.
func bitmapCommands() []*Command {
	return []*Command{
		{Name: "setbit", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "bitmap", "slow"},
			Group: "bitmap", Summary: "Sets or clears the bit at offset in the string value stored at key", Since: "2.2.0", Complexity: "O(1)", Handler: setbit},
		{Name: "getbit", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "fast"},
			Group: "bitmap", Summary: "Returns the bit value at offset in the string value stored at key", Since: "2.2.0", Complexity: "O(1)", Handler: getbit},
		{Name: "bitcount", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "slow"},
			Group: "bitmap", Summary: "Count set bits in a string", Since: "2.6.0", Complexity: "O(N)", Handler: bitcount},
		{Name: "bitpos", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "slow"},
			Group: "bitmap", Summary: "Find first bit set or clear in a string", Since: "2.8.7", Complexity: "O(N)", Handler: bitpos},
		{Name: "bitop", Arity: -4, Flags: Write | DenyOOM, FirstKey: 2, LastKey: -1, Step: 1, ACL: []string{"write", "bitmap", "slow"},
			Group: "bitmap", Summary: "Perform bitwise operations between strings", Since: "2.6.0", Complexity: "O(N)", Handler: bitop},
		{Name: "bitfield", Arity: -2, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "bitmap", "slow"},
			Group: "bitmap", Summary: "Perform arbitrary bitfield integer operations on strings", Since: "3.2.0", Complexity: "O(1) for each subcommand specified",
			Handler: func(c *Ctx) error { return bitfield(c, false) }},
		{Name: "bitfield_ro", Arity: -2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "fast"},
			Group: "bitmap", Summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", Since: "6.0.0", Complexity: "O(1) for each subcommand specified",
			Handler: func(c *Ctx) error { return bitfield(c, true) }},
	}
}

var (
	errBitValue    = &Error{"ERR", "bit is not an integer or out of range"}
	errBitArg      = &Error{"ERR", "The bit argument must be 1 or 0."}
	errBitNot      = &Error{"ERR", "BITOP NOT must be called with a single source key."}
	errBitfieldRO  = &Error{"ERR", "BITFIELD_RO only supports the GET subcommand"}
	errOverflowArg = &Error{"ERR", "Invalid OVERFLOW type specified"}
	errFieldType   = &Error{"ERR", "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."}
)

// parseBitOffset reads a bit offset as Redis's getBitOffsetFromArgument:
// with hash set and a width given, "#N" means N*width. The offset's byte
// must fall below proto-max-bulk-len.
func parseBitOffset(c *Ctx, arg []byte, hash bool, width int) (uint64, error) {
	useHash := hash && width > 0 && len(arg) > 0 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	n, ok := parseInt(arg)
	if !ok {
		return 0, ErrBitRange
	}
	if useHash {
		if n > math.MaxInt64/int64(width) || n < math.MinInt64/int64(width) {
			return 0, ErrBitRange
		}
		n *= int64(width)
	}
	if n < 0 || n>>3 >= c.Server.Config().ProtoMaxBulkLen {
		return 0, ErrBitRange
	}
	return uint64(n), nil
}

// writeBits locks name for a bit write and returns its key, its current
// value (nil when absent) and the expiry to keep.
func (c *Ctx) writeBits(name []byte) (*storage.Key, []byte, int64, error) {
	k, err := c.WriteKey(name)
	if err != nil {
		return nil, nil, 0, err
	}
	if err := CheckType(k, encoding.TypeString); err != nil {
		return nil, nil, 0, err
	}
	if !k.Live {
		return k, nil, 0, nil
	}
	return k, k.Meta.Value, k.Meta.ExpireAt, nil
}

// growTo returns a copy of val zero-padded to at least n bytes.
func growTo(val []byte, n uint64) []byte {
	size := uint64(len(val))
	if n > size {
		size = n
	}
	out := make([]byte, size)
	copy(out, val)
	return out
}

func setbit(c *Ctx) error {
	off, err := parseBitOffset(c, c.Args[2], false, 0)
	if err != nil {
		return err
	}
	var on bool
	switch string(c.Args[3]) {
	case "0":
	case "1":
		on = true
	default:
		return errBitValue
	}
	k, err := lockInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	n, err := k.strLen()
	if err != nil {
		return err
	}
	// NB: one byte read and written, so a chunked string has one chunk
	// read and written.
	byteIdx, mask := int64(off>>3), byte(1)<<(7-off&7)
	b := byte(0)
	if k.Live {
		cur, err := c.Tx.ReadRange(&k.Key, byteIdx, 1, k.num[:0])
		if err != nil {
			return err
		}
		if len(cur) == 1 {
			b = cur[0]
		}
	}
	old := b&mask != 0
	if on {
		b |= mask
	} else {
		b &^= mask
	}
	// As Redis: a bit set as it was, in a value that did not grow,
	// changes nothing, and is not written, signalled nor counted.
	if grew := !k.Live || n < byteIdx+1; grew || old != on { // NB: n is 0 for a new key
		if _, err := writeRange(c, k, byteIdx, []byte{b}); err != nil {
			return err
		}
		c.Notify(NotifyString, "setbit", c.Args[1])
		c.Changed(1)
	} else {
		// Redis still makes the value its own raw string.
		if k.Meta.Enc != encoding.EncRaw {
			if _, err := writeRange(c, k, byteIdx, []byte{b}); err != nil {
				return err
			}
		}
		c.Changed(0)
		c.PropagateNothing()
	}
	c.Out.Int(b2i(old))
	return nil
}

func getbit(c *Ctx) error {
	off, err := parseBitOffset(c, c.Args[2], false, 0)
	if err != nil {
		return err
	}
	k, err := lookupInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	if _, err := k.strLen(); err != nil {
		return err
	}
	var bit int64
	if k.Live {
		b, err := c.Tx.ReadRange(&k.Key, int64(off>>3), 1, k.num[:0])
		if err != nil {
			return err
		}
		if len(b) == 1 && b[0]&(1<<(7-off&7)) != 0 {
			bit = 1
		}
	}
	c.Out.Int(bit)
	return nil
}

// eachBitPiece calls fn with the bytes holding the bits [from, to] of the
// live string k, in pieces (one per chunk of a chunked string), each with
// the bit index of its first bit and the range of bit indexes it covers
// as indexes into the piece; it stops when fn returns false.
func eachBitPiece(c *Ctx, k *storage.Key, from, to int64, fn func(p []byte, first, lo, hi int64) bool) error {
	base := from >> 3
	return c.Tx.EachRange(k, base, to>>3-base+1, func(p []byte) bool {
		first := base * 8
		base += int64(len(p))
		return fn(p, first, max(from, first)-first, min(to, base*8-1)-first)
	})
}

// bitRange resolves BITCOUNT/BITPOS's start and end (inclusive) in the
// unit asked for, clamped to the value as Redis does; ok is false for an
// empty range. In BIT mode the results are bit indexes.
func bitRange(start, end, total int64) (int64, int64, bool) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= total {
		end = total - 1
	}
	return start, end, start <= end
}

// parseBitUnit reads BYTE or BIT.
func parseBitUnit(arg []byte) (bool, error) {
	switch {
	case Is(arg, "bit"):
		return true, nil
	case Is(arg, "byte"):
		return false, nil
	}
	return false, ErrSyntax
}

// NB: BITCOUNT and BITPOS look the key up before parsing the range, as
// Redis 7.0 does: a missing key answers 0 (or BITPOS's default) whatever
// the range arguments.

func bitcount(c *Ctx) error {
	k, err := lookupInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	size, err := k.strLen()
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Int(0)
		return nil
	}
	var startBit, endBit int64
	switch len(c.Args) {
	case 2:
		startBit, endBit = 0, size*8-1
	case 4, 5:
		start, err := ParseInt(c.Args[2])
		if err != nil {
			return err
		}
		end, err := ParseInt(c.Args[3])
		if err != nil {
			return err
		}
		if start < 0 && end < 0 && start > end {
			c.Out.Int(0)
			return nil
		}
		isBit := false
		if len(c.Args) == 5 {
			if isBit, err = parseBitUnit(c.Args[4]); err != nil {
				return err
			}
		}
		total := size
		if isBit {
			total *= 8
		}
		s, e, ok := bitRange(start, end, total)
		if !ok {
			c.Out.Int(0)
			return nil
		}
		if isBit {
			startBit, endBit = s, e
		} else {
			startBit, endBit = s*8, e*8+7
		}
	default:
		return ErrSyntax
	}
	var n int64
	if startBit <= endBit {
		if err := eachBitPiece(c, &k.Key, startBit, endBit, func(p []byte, _, lo, hi int64) bool {
			n += countBits(p, lo, hi)
			return true
		}); err != nil {
			return err
		}
	}
	c.Out.Int(n)
	return nil
}

// countBits counts the set bits of val in [from, to] (bit indexes, MSB
// first within each byte).
func countBits(val []byte, from, to int64) int64 {
	if from > to {
		return 0
	}
	fb, lb := from>>3, to>>3
	var n int
	for _, b := range val[fb : lb+1] {
		n += bits.OnesCount8(b)
	}
	// Remove the bits of the edge bytes outside the range.
	n -= bits.OnesCount8(val[fb] & ^byte(0xff>>(from&7)))
	n -= bits.OnesCount8(val[lb] & byte(0xff>>(to&7+1)))
	return int64(n)
}

func bitpos(c *Ctx) error {
	bitArg, ok := parseInt(c.Args[2])
	if !ok {
		return ErrNotInteger
	}
	if bitArg != 0 && bitArg != 1 {
		return errBitArg
	}
	want := bitArg == 1
	k, err := lookupInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	size, err := k.strLen()
	if err != nil {
		return err
	}
	if !k.Live {
		// A missing key is an endless run of zeros.
		if want {
			c.Out.Int(-1)
		} else {
			c.Out.Int(0)
		}
		return nil
	}
	var startBit, endBit int64
	endGiven := false
	switch len(c.Args) {
	case 3:
		startBit, endBit = 0, size*8-1
	case 4, 5, 6:
		start, err := ParseInt(c.Args[3])
		if err != nil {
			return err
		}
		isBit := false
		if len(c.Args) == 6 {
			if isBit, err = parseBitUnit(c.Args[5]); err != nil {
				return err
			}
		}
		total := size
		if isBit {
			total *= 8
		}
		end := total - 1
		if len(c.Args) >= 5 {
			if end, err = ParseInt(c.Args[4]); err != nil {
				return err
			}
			endGiven = true
		}
		s, e, ok := bitRange(start, end, total)
		if !ok {
			c.Out.Int(-1)
			return nil
		}
		if isBit {
			startBit, endBit = s, e
		} else {
			startBit, endBit = s*8, e*8+7
		}
	default:
		return ErrSyntax
	}
	if startBit > endBit {
		c.Out.Int(-1)
		return nil
	}
	pos := int64(-1)
	if err := eachBitPiece(c, &k.Key, startBit, endBit, func(p []byte, first, lo, hi int64) bool {
		if i := findBit(p, lo, hi, want); i >= 0 {
			pos = first + i
			return false
		}
		return true
	}); err != nil {
		return err
	}
	if pos < 0 && !want && !endGiven {
		// Without an explicit end the string continues with zeros.
		pos = endBit + 1
	}
	c.Out.Int(pos)
	return nil
}

// findBit returns the index of the first bit equal to want in [from, to],
// or -1.
func findBit(val []byte, from, to int64, want bool) int64 {
	var skip byte // a byte made only of bits not wanted
	if !want {
		skip = 0xff
	}
	for i := from; i <= to; {
		b := val[i>>3]
		if i&7 == 0 && i+7 <= to && b == skip {
			i += 8
			continue
		}
		if (b&(1<<(7-i&7)) != 0) == want {
			return i
		}
		i++
	}
	return -1
}

func bitop(c *Ctx) error {
	op := c.Args[1]
	switch {
	case Is(op, "and"), Is(op, "or"), Is(op, "xor"):
	case Is(op, "not"):
		if len(c.Args) != 4 {
			return errBitNot
		}
	default:
		return ErrSyntax
	}
	c.Tx.Lock(c.DB(), c.Args[2:]...)
	srcs := make([][]byte, 0, len(c.Args)-3)
	maxLen := 0
	for _, name := range c.Args[3:] {
		k, err := c.ReadKey(name)
		if err != nil {
			return err
		}
		if err := CheckType(k, encoding.TypeString); err != nil {
			return err
		}
		var v []byte
		if k.Live {
			v = k.Meta.Value
		}
		srcs = append(srcs, v)
		maxLen = max(maxLen, len(v))
	}
	dst, err := c.ReadKey(c.Args[2])
	if err != nil {
		return err
	}
	if maxLen == 0 {
		if dst.Live {
			c.Tx.Delete(dst)
			c.Notify(NotifyGeneric, "del", c.Args[2])
		}
		c.Out.Int(0)
		return nil
	}
	res := make([]byte, maxLen)
	at := func(v []byte, i int) byte {
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	for i := range res {
		out := at(srcs[0], i)
		switch {
		case Is(op, "not"):
			out = ^out
		case Is(op, "and"):
			for _, s := range srcs[1:] {
				out &= at(s, i)
			}
		case Is(op, "or"):
			for _, s := range srcs[1:] {
				out |= at(s, i)
			}
		default:
			for _, s := range srcs[1:] {
				out ^= at(s, i)
			}
		}
		res[i] = out
	}
	c.PutRawString(dst, res, 0)
	c.Notify(NotifyString, "set", c.Args[2])
	c.Out.Int(int64(maxLen))
	return nil
}

// BITFIELD overflow behaviours.
const (
	overflowWrap = iota
	overflowSat
	overflowFail
)

type bitfieldOp struct {
	set, incr bool // neither: GET
	signed    bool
	width     uint
	offset    uint64
	value     int64
	overflow  int
}

func parseFieldType(arg []byte) (signed bool, width uint, err error) {
	if len(arg) < 2 || (arg[0] != 'i' && arg[0] != 'u') {
		return false, 0, errFieldType
	}
	signed = arg[0] == 'i'
	n, ok := parseInt(arg[1:])
	if !ok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		return false, 0, errFieldType
	}
	return signed, uint(n), nil
}

func bitfield(c *Ctx, readOnly bool) error {
	var ops []bitfieldOp
	overflow := overflowWrap
	writes := false
	var highest uint64
	args := c.Args
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		sub := args[j]
		var op bitfieldOp
		switch {
		case Is(sub, "get") && rem >= 2:
		case Is(sub, "set") && rem >= 3:
			op.set = true
		case Is(sub, "incrby") && rem >= 3:
			op.incr = true
		case Is(sub, "overflow") && rem >= 1:
			j++
			switch {
			case Is(args[j], "wrap"):
				overflow = overflowWrap
			case Is(args[j], "sat"):
				overflow = overflowSat
			case Is(args[j], "fail"):
				overflow = overflowFail
			default:
				return errOverflowArg
			}
			continue
		default:
			return ErrSyntax
		}
		var err error
		if op.signed, op.width, err = parseFieldType(args[j+1]); err != nil {
			return err
		}
		if op.offset, err = parseBitOffset(c, args[j+2], true, int(op.width)); err != nil {
			return err
		}
		if op.set || op.incr {
			writes = true
			highest = max(highest, op.offset+uint64(op.width)-1)
			if op.value, err = ParseInt(args[j+3]); err != nil {
				return err
			}
			j += 3
		} else {
			j += 2
		}
		op.overflow = overflow
		ops = append(ops, op)
	}

	var val []byte
	var k *storage.Key
	var exp int64
	// grew: the value was made or lengthened, which Redis counts as a
	// change of every write (lookupStringForBitCommand's dirty).
	grew := false
	if !writes {
		v, _, err := c.ReadString(c.Args[1])
		if err != nil {
			return err
		}
		val = v
		c.Changed(0)
		c.PropagateNothing()
	} else {
		if readOnly {
			return errBitfieldRO
		}
		var err error
		if k, val, exp, err = c.writeBits(c.Args[1]); err != nil {
			return err
		}
		// As Redis, the value grows to the farthest bit written even when
		// every write fails on overflow.
		had := len(val)
		val = growTo(val, highest>>3+1)
		grew = !k.Live || len(val) != had
	}
	changes := 0

	c.Out.Array(len(ops))
	for _, op := range ops {
		if !op.set && !op.incr {
			// Reads past the end see zeros.
			var buf [9]byte
			b := op.offset >> 3
			if b < uint64(len(val)) {
				copy(buf[:], val[b:])
			}
			u := getField(buf[:], op.offset-b*8, op.width)
			if op.signed {
				c.Out.Int(signExtend(u, op.width))
			} else {
				c.Out.Int(int64(u))
			}
			continue
		}
		var newVal, ret uint64
		var over bool
		if op.signed {
			old := signExtend(getField(val, op.offset, op.width), op.width)
			if op.incr {
				var wrapped int64
				over, wrapped = signedOverflow(old, op.value, op.width, op.overflow)
				n := old + op.value
				if over {
					n = wrapped
				}
				newVal, ret = uint64(n), uint64(n)
			} else {
				n := op.value
				var wrapped int64
				if over, wrapped = signedOverflow(n, 0, op.width, op.overflow); over {
					n = wrapped
				}
				newVal, ret = uint64(n), uint64(old)
			}
		} else {
			old := getField(val, op.offset, op.width)
			if op.incr {
				n := old + uint64(op.value)
				var wrapped uint64
				if over, wrapped = unsignedOverflow(old, op.value, op.width, op.overflow); over {
					n = wrapped
				}
				newVal, ret = n, n
			} else {
				n := uint64(op.value)
				var wrapped uint64
				if over, wrapped = unsignedOverflow(n, 0, op.width, op.overflow); over {
					n = wrapped
				}
				newVal, ret = n, old
			}
		}
		if over && op.overflow == overflowFail {
			c.Out.Null()
			continue
		}
		c.Out.Int(int64(ret))
		prev := getField(val, op.offset, op.width)
		setField(val, op.offset, op.width, newVal)
		if grew || getField(val, op.offset, op.width) != prev {
			changes++
		}
	}
	if writes {
		// As Redis: what changed nothing is not written, signalled nor
		// counted in the changes since the last save.
		// (A value left as it was still becomes a raw string, as in
		// Redis.)
		if grew || changes > 0 || k.Meta.Enc != encoding.EncRaw {
			c.PutRawString(k, val, exp)
		}
		if !grew && changes == 0 {
			c.PropagateNothing()
		}
		if changes > 0 {
			c.Notify(NotifyString, "setbit", c.Args[1])
		}
		c.Changed(int64(changes))
	}
	return nil
}

// getField reads width bits at bit offset, most significant first.
func getField(p []byte, offset uint64, width uint) uint64 {
	var v uint64
	for j := uint(0); j < width; j++ {
		b := p[offset>>3]
		v = v<<1 | uint64(b>>(7-offset&7))&1
		offset++
	}
	return v
}

func setField(p []byte, offset uint64, width uint, v uint64) {
	for j := uint(0); j < width; j++ {
		mask := byte(1) << (7 - offset&7)
		if v>>(width-1-j)&1 != 0 {
			p[offset>>3] |= mask
		} else {
			p[offset>>3] &^= mask
		}
		offset++
	}
}

func signExtend(u uint64, width uint) int64 {
	if width < 64 && u&(1<<(width-1)) != 0 {
		u |= ^uint64(0) << width
	}
	return int64(u)
}

// unsignedOverflow is Redis's checkUnsignedBitfieldOverflow: whether
// value+incr leaves a width-bit unsigned field, and the value to store
// under WRAP or SAT.
func unsignedOverflow(value uint64, incr int64, width uint, mode int) (bool, uint64) {
	maxV := uint64(1)<<width - 1
	maxIncr := int64(maxV - value)
	minIncr := -int64(value)
	wrap := func() (bool, uint64) { return true, (value + uint64(incr)) &^ (^uint64(0) << width) }
	if value > maxV || (incr > 0 && incr > maxIncr) {
		if mode == overflowWrap {
			return wrap()
		}
		return true, maxV
	}
	if incr < 0 && incr < minIncr {
		if mode == overflowWrap {
			return wrap()
		}
		return true, 0
	}
	return false, 0
}

// signedOverflow is Redis's checkSignedBitfieldOverflow.
func signedOverflow(value, incr int64, width uint, mode int) (bool, int64) {
	maxV := int64(math.MaxInt64)
	if width < 64 {
		maxV = int64(1)<<(width-1) - 1
	}
	minV := -maxV - 1
	maxIncr := int64(uint64(maxV) - uint64(value))
	minIncr := minV - value
	wrap := func() (bool, int64) {
		r := uint64(value) + uint64(incr)
		if width < 64 {
			mask := ^uint64(0) << width
			if r&(1<<(width-1)) != 0 {
				r |= mask
			} else {
				r &^= mask
			}
		}
		return true, int64(r)
	}
	if value > maxV || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr) {
		if mode == overflowWrap {
			return wrap()
		}
		return true, maxV
	}
	if value < minV || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr) {
		if mode == overflowWrap {
			return wrap()
		}
		return true, minV
	}
	return false, 0
}
