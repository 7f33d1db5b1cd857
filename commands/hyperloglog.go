package commands

import (
	"encoding/binary"
	"math"

	"github.com/shoaldb/shoal/storage/encoding"
)

// hyperloglogCommands returns the hyperloglog command group. A HyperLogLog
// is a string value in Redis's own layout (hyperloglog.c), so GET, SET,
// DUMP-style copies and APPEND see the same bytes Redis would and a value
// written by Redis reads here:
//
//	"HYLL" | encoding (1 byte: 0 dense, 1 sparse) | 3 unused bytes |
//	cached cardinality (8 bytes little endian; MSB of the last byte set
//	means stale) | registers
//
// Dense registers are 16384 6-bit counters packed LSB first (12288 bytes);
// sparse registers are run-length opcodes: ZERO 00xxxxxx (1-64 zero
// registers), XZERO 01xxxxxx yyyyyyyy (1-16384 zero registers) and VAL
// 1vvvvvxx (1-4 registers of value 1-32).
func hyperloglogCommands() []*Command {
	return append([]*Command{
		{Name: "pfadd", Arity: -2, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hyperloglog", "fast"},
			Group: "hyperloglog", Summary: "Adds the specified elements to the specified HyperLogLog.", Since: "2.8.9", Complexity: "O(1) to add every element.", Handler: pfadd},
		{Name: "pfcount", Arity: -2, Flags: ReadOnly | MayReplicate, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"read", "hyperloglog", "slow"},
			Group: "hyperloglog", Summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", Since: "2.8.9",
			Complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", Handler: pfcount},
		{Name: "pfmerge", Arity: -2, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"write", "hyperloglog", "slow"},
			Group: "hyperloglog", Summary: "Merge N different HyperLogLogs into a single one.", Since: "2.8.9", Complexity: "O(N) to merge N HyperLogLogs, but with high constant times.", Handler: pfmerge},
	}, hllDebugCommands()...)
}

const (
	hllP            = 14
	hllQ            = 64 - hllP
	hllRegisters    = 1 << hllP
	hllBits         = 6
	hllRegisterMax  = 1<<hllBits - 1
	hllHdrSize      = 16
	hllDenseSize    = hllHdrSize + (hllRegisters*hllBits+7)/8
	hllDense        = 0
	hllSparse       = 1
	hllSparseMaxVal = 32
	hllSparseMaxLen = 4
	hllZeroMaxLen   = 64
	hllXZeroMaxLen  = 16384
	hllAlphaInf     = 0.721347520444481703680 // 0.5/ln(2)
)

var (
	errNotHLL     = &Error{"WRONGTYPE", "Key is not a valid HyperLogLog string value."}
	errCorruptHLL = &Error{"INVALIDOBJ", "Corrupted HLL object detected"}
)

// murmurHash64A is MurmurHash2, 64-bit version, as Redis uses it (little
// endian reads).
func murmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(key)) * m)
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		k := binary.LittleEndian.Uint64(key[i:])
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	tail := key[n:]
	switch len(tail) {
	case 7:
		h ^= uint64(tail[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(tail[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(tail[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(tail[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(tail[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen returns the register an element maps to and the length of
// the run of zeros plus one in the rest of its hash.
func hllPatLen(ele []byte) (int, uint8) {
	hash := murmurHash64A(ele, 0xadc83b19)
	index := int(hash & (hllRegisters - 1))
	hash >>= hllP
	hash |= 1 << hllQ
	count := uint8(1)
	for bit := uint64(1); hash&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

func denseGet(regs []byte, i int) uint8 {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	b0 := uint(regs[b])
	var b1 uint
	if b+1 < len(regs) {
		b1 = uint(regs[b+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & hllRegisterMax)
}

func denseSet(regs []byte, i int, v uint8) {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	regs[b] &^= byte(hllRegisterMax << fb)
	regs[b] |= byte(uint(v) << fb)
	if b+1 < len(regs) {
		regs[b+1] &^= byte(hllRegisterMax >> (8 - fb))
		regs[b+1] |= byte(uint(v) >> (8 - fb))
	}
}

// Sparse opcodes.
func spIsZero(b byte) bool  { return b&0xc0 == 0 }
func spIsXZero(b byte) bool { return b&0xc0 == 0x40 }
func spIsVal(b byte) bool   { return b&0x80 != 0 }
func spZeroLen(b byte) int  { return int(b&0x3f) + 1 }
func spXZeroLen(p []byte) int {
	return (int(p[0]&0x3f)<<8 | int(p[1])) + 1
}
func spValValue(b byte) uint8    { return (b>>2)&0x1f + 1 }
func spValLen(b byte) int        { return int(b&0x3) + 1 }
func spVal(v uint8, n int) byte  { return byte(int(v-1)<<2|(n-1)) | 0x80 }
func spZero(n int) byte          { return byte(n - 1) }
func spXZero(n int) (byte, byte) { return byte((n-1)>>8) | 0x40, byte((n - 1) & 0xff) }

// isHLL reports whether v is a HyperLogLog value, as isHLLObjectOrReply.
func isHLL(v []byte) bool {
	if len(v) < hllHdrSize || string(v[:4]) != "HYLL" || v[4] > hllSparse {
		return false
	}
	return v[4] != hllDense || len(v) == hllDenseSize
}

// newHLL returns an empty sparse HyperLogLog: one XZERO covering every
// register.
func newHLL() []byte {
	v := make([]byte, hllHdrSize+2)
	copy(v, "HYLL")
	v[4] = hllSparse
	v[hllHdrSize], v[hllHdrSize+1] = spXZero(hllRegisters)
	return v
}

func hllInvalidate(v []byte) { v[15] |= 0x80 }

// hllMergeInto sets max[i] = MAX(max[i], register i of v); false when v
// is corrupt.
func hllMergeInto(max []uint8, v []byte) bool {
	regs := v[hllHdrSize:]
	if v[4] == hllDense {
		for i := 0; i < hllRegisters; i++ {
			if r := denseGet(regs, i); r > max[i] {
				max[i] = r
			}
		}
		return true
	}
	i := 0
	for p := 0; p < len(regs); {
		switch b := regs[p]; {
		case spIsZero(b):
			i += spZeroLen(b)
			p++
		case spIsXZero(b):
			if p+1 >= len(regs) {
				return false
			}
			i += spXZeroLen(regs[p:])
			p += 2
		default:
			n, val := spValLen(b), spValValue(b)
			if i+n > hllRegisters {
				return false
			}
			for ; n > 0; n-- {
				if val > max[i] {
					max[i] = val
				}
				i++
			}
			p++
		}
		if i > hllRegisters {
			return false
		}
	}
	return i == hllRegisters
}

// hllToDense converts a sparse value to dense, keeping the header.
func hllToDense(v []byte) ([]byte, bool) {
	if v[4] == hllDense {
		return v, true
	}
	regs := make([]uint8, hllRegisters)
	if !hllMergeInto(regs, v) {
		return nil, false
	}
	d := make([]byte, hllDenseSize)
	copy(d, v[:hllHdrSize])
	d[4] = hllDense
	for i, r := range regs {
		if r != 0 {
			denseSet(d[hllHdrSize:], i, r)
		}
	}
	return d, true
}

// hllSet raises register index to count when it is lower, as Redis's
// hllDenseSet and hllSparseSet do, including the sparse representation's
// in-place splits and merges and its promotion to dense when it would grow
// past maxSparse bytes (hll-sparse-max-bytes). It returns the possibly
// reallocated value, whether a register changed, and false when the value
// is corrupt.
func hllSet(v []byte, index int, count uint8, maxSparse int64) ([]byte, bool, bool) {
	if v[4] == hllDense {
		regs := v[hllHdrSize:]
		if denseGet(regs, index) >= count {
			return v, false, true
		}
		denseSet(regs, index, count)
		return v, true, true
	}
	if count > hllSparseMaxVal {
		return hllPromote(v, index, count)
	}
	// Step 1: find the opcode covering index.
	p, first, span := hllHdrSize, 0, 0
	prev := -1
	end := len(v)
	for p < end {
		oplen := 1
		switch b := v[p]; {
		case spIsZero(b):
			span = spZeroLen(b)
		case spIsVal(b):
			span = spValLen(b)
		default:
			if p+1 >= end {
				return v, false, false
			}
			span = spXZeroLen(v[p:])
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return v, false, false
	}
	b := v[p]
	isZero, isXZero, isVal := spIsZero(b), spIsXZero(b), spIsVal(b)
	var runlen int
	switch {
	case isZero:
		runlen = spZeroLen(b)
	case isXZero:
		runlen = spXZeroLen(v[p:])
	default:
		runlen = spValLen(b)
	}
	updated := false
	if isVal {
		if spValValue(b) >= count {
			return v, false, true
		}
		if runlen == 1 {
			v[p] = spVal(count, 1)
			updated = true
		}
	}
	if !updated && isZero && runlen == 1 {
		v[p] = spVal(count, 1)
		updated = true
	}
	if !updated {
		// General case: split the opcode into up to three.
		var seq []byte
		last := first + span - 1
		if isZero || isXZero {
			zeros := func(n int) {
				if n > hllZeroMaxLen {
					x, y := spXZero(n)
					seq = append(seq, x, y)
				} else {
					seq = append(seq, spZero(n))
				}
			}
			if index != first {
				zeros(index - first)
			}
			seq = append(seq, spVal(count, 1))
			if index != last {
				zeros(last - index)
			}
		} else {
			cur := spValValue(b)
			if index != first {
				seq = append(seq, spVal(cur, index-first))
			}
			seq = append(seq, spVal(count, 1))
			if index != last {
				seq = append(seq, spVal(cur, last-index))
			}
		}
		oldlen := 1
		if isXZero {
			oldlen = 2
		}
		delta := len(seq) - oldlen
		if delta > 0 && int64(len(v)+delta) > maxSparse {
			return hllPromote(v, index, count)
		}
		nv := make([]byte, 0, len(v)+delta)
		nv = append(nv, v[:p]...)
		nv = append(nv, seq...)
		nv = append(nv, v[p+oldlen:]...)
		v = nv
		end = len(v)
	}
	// Step 4: merge adjacent VAL opcodes of the same value, scanning up
	// to five opcodes from the previous one.
	q := hllHdrSize
	if prev >= 0 {
		q = prev
	}
	for scan := 5; q < end && scan > 0; scan-- {
		switch {
		case spIsXZero(v[q]):
			q += 2
			continue
		case spIsZero(v[q]):
			q++
			continue
		}
		if q+1 < end && spIsVal(v[q+1]) {
			v1, v2 := spValValue(v[q]), spValValue(v[q+1])
			if v1 == v2 {
				if n := spValLen(v[q]) + spValLen(v[q+1]); n <= hllSparseMaxLen {
					v[q+1] = spVal(v1, n)
					v = append(v[:q], v[q+1:]...)
					end--
					continue
				}
			}
		}
		q++
	}
	hllInvalidate(v)
	return v, true, true
}

func hllPromote(v []byte, index int, count uint8) ([]byte, bool, bool) {
	d, ok := hllToDense(v)
	if !ok {
		return v, false, false
	}
	denseSet(d[hllHdrSize:], index, count)
	return d, true, true
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if zPrime == z {
			break
		}
	}
	return z / 3
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zPrime := z
		z += x * y
		y += y
		if zPrime == z {
			break
		}
	}
	return z
}

// hllCountRegs estimates the cardinality from the registers' histogram
// with Ertl's estimator, as Redis 7's hllCount.
func hllCountHisto(histo *[64]int) uint64 {
	m := float64(hllRegisters)
	z := m * hllTau((m-float64(histo[hllQ+1]))/m)
	for j := hllQ; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += m * hllSigma(float64(histo[0])/m)
	return uint64(math.Round(hllAlphaInf * m * m / z))
}

func hllCountRegs(regs []uint8) uint64 {
	var histo [64]int
	for _, r := range regs {
		histo[r]++
	}
	return hllCountHisto(&histo)
}

// hllCount estimates v's cardinality; false when v is corrupt.
func hllCount(v []byte) (uint64, bool) {
	if v[4] == hllDense {
		var histo [64]int
		regs := v[hllHdrSize:]
		for i := 0; i < hllRegisters; i++ {
			histo[denseGet(regs, i)]++
		}
		return hllCountHisto(&histo), true
	}
	regs := make([]uint8, hllRegisters)
	if !hllMergeInto(regs, v) {
		return 0, false
	}
	return hllCountRegs(regs), true
}

func pfadd(c *Ctx) error {
	k, err := c.WriteKey(c.Args[1])
	if err != nil {
		return err
	}
	if err := CheckType(k, encoding.TypeString); err != nil {
		return err
	}
	var v []byte
	var exp int64
	// updated counts the changes as Redis's server.dirty does: the
	// creation and each register raised.
	var updated int64
	if k.Live {
		if !isHLL(k.Meta.Value) {
			return errNotHLL
		}
		v = append([]byte(nil), k.Meta.Value...)
		exp = k.Meta.ExpireAt
	} else {
		v = newHLL()
		updated = 1
	}
	maxSparse := c.Tx.Store().Encodings().HllSparseBytes
	for _, ele := range c.Args[2:] {
		index, count := hllPatLen(ele)
		var changed, ok bool
		if v, changed, ok = hllSet(v, index, count, maxSparse); !ok {
			return errCorruptHLL
		}
		if changed {
			updated++
		}
	}
	c.Changed(updated)
	if updated > 0 {
		hllInvalidate(v)
		c.PutRawString(k, v, exp)
		c.Notify(NotifyString, "pfadd", c.Args[1])
		c.Out.Int(1)
	} else {
		c.Out.Int(0)
	}
	return nil
}

func pfcount(c *Ctx) error {
	if len(c.Args) > 2 {
		max := make([]uint8, hllRegisters)
		for _, name := range c.Args[1:] {
			k, err := c.ReadKey(name)
			if err != nil {
				return err
			}
			if !k.Live {
				continue
			}
			if k.Meta.Type != encoding.TypeString || !isHLL(k.Meta.Value) {
				if k.Meta.Type != encoding.TypeString {
					return ErrWrongType
				}
				return errNotHLL
			}
			if !hllMergeInto(max, k.Meta.Value) {
				return errCorruptHLL
			}
		}
		c.Out.Int(int64(hllCountRegs(max)))
		return nil
	}
	// One key: answer the cached cardinality, or compute it and cache
	// it in the value, as Redis does (the value changes, so the key is
	// written and its watchers see it).
	k, err := c.ReadKey(c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Int(0)
		return nil
	}
	if err := CheckType(k, encoding.TypeString); err != nil {
		return err
	}
	if !isHLL(k.Meta.Value) {
		return errNotHLL
	}
	if k.Meta.Value[15]&0x80 == 0 {
		c.Out.Int(int64(binary.LittleEndian.Uint64(k.Meta.Value[8:16])))
		return nil
	}
	if k, err = c.WriteKey(c.Args[1]); err != nil {
		return err
	}
	if !k.Live || k.Meta.Type != encoding.TypeString || !isHLL(k.Meta.Value) {
		return pfcount(c) // changed before the lock was taken
	}
	card, ok := hllCount(k.Meta.Value)
	if !ok {
		return errCorruptHLL
	}
	v := append([]byte(nil), k.Meta.Value...)
	binary.LittleEndian.PutUint64(v[8:16], card)
	c.PutRawString(k, v, k.Meta.ExpireAt)
	c.Out.Int(int64(card))
	return nil
}

func pfmerge(c *Ctx) error {
	c.Tx.Lock(c.DB(), c.Args[1:]...)
	max := make([]uint8, hllRegisters)
	dense := false
	for _, name := range c.Args[1:] {
		k, err := c.ReadKey(name)
		if err != nil {
			return err
		}
		if !k.Live {
			continue
		}
		if err := CheckType(k, encoding.TypeString); err != nil {
			return err
		}
		if !isHLL(k.Meta.Value) {
			return errNotHLL
		}
		if k.Meta.Value[4] == hllDense {
			dense = true
		}
		if !hllMergeInto(max, k.Meta.Value) {
			return errCorruptHLL
		}
	}
	k, err := c.ReadKey(c.Args[1])
	if err != nil {
		return err
	}
	var v []byte
	var exp int64
	if k.Live {
		v = append([]byte(nil), k.Meta.Value...)
		exp = k.Meta.ExpireAt
	} else {
		v = newHLL()
	}
	if dense {
		var ok bool
		if v, ok = hllToDense(v); !ok {
			return errCorruptHLL
		}
	}
	maxSparse := c.Tx.Store().Encodings().HllSparseBytes
	for i, r := range max {
		if r == 0 {
			continue
		}
		var ok bool
		if v, _, ok = hllSet(v, i, r, maxSparse); !ok {
			return errCorruptHLL
		}
	}
	hllInvalidate(v)
	c.PutRawString(k, v, exp)
	c.Notify(NotifyString, "pfadd", c.Args[1])
	c.Out.OK()
	return nil
}
