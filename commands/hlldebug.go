package commands

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/shoaldb/shoal/storage/encoding"
)

// hllDebugCommands are PFDEBUG and PFSELFTEST, Redis's tools for its
// HyperLogLog encodings, which Shoal stores in Redis's bytes.
func hllDebugCommands() []*Command {
	return []*Command{
		{Name: "pfdebug", Arity: 3, Flags: Write | DenyOOM | Admin, FirstKey: 2, LastKey: 2, Step: 1,
			ACL: []string{"write", "hyperloglog", "admin", "slow", "dangerous"}, Group: "hyperloglog",
			Summary: "Internal commands for debugging HyperLogLog values", Since: "2.8.9", Complexity: "N/A",
			Handler: pfdebug},
		{Name: "pfselftest", Arity: 1, Flags: Admin, ACL: []string{"hyperloglog", "admin", "slow", "dangerous"},
			Group: "hyperloglog", Summary: "An internal command for testing HyperLogLog values", Since: "2.8.9", Complexity: "N/A",
			Handler: pfselftest},
	}
}

// pfdebug is PFDEBUG GETREG|DECODE|ENCODING|TODENSE key, as Redis's: the
// key is looked up before the subcommand is, and GETREG and TODENSE turn
// a sparse value dense.
func pfdebug(c *Ctx) error {
	sub := c.Args[1]
	k, err := c.WriteKey(c.Args[2])
	if err != nil {
		return err
	}
	if !k.Live {
		return Errf("The specified key does not exist")
	}
	if err := CheckType(k, encoding.TypeString); err != nil {
		return err
	}
	if !isHLL(k.Meta.Value) {
		return errNotHLL
	}
	v := k.Meta.Value
	dense := func() ([]byte, bool, error) {
		if v[4] == hllDense {
			return v, false, nil
		}
		d, ok := hllToDense(v)
		if !ok {
			return nil, false, errCorruptHLL
		}
		c.PutRawString(k, d, k.Meta.ExpireAt)
		c.Changed(1)
		return d, true, nil
	}
	switch {
	case Is(sub, "getreg"):
		d, _, err := dense()
		if err != nil {
			return err
		}
		c.Out.Array(hllRegisters)
		for i := range hllRegisters {
			c.Out.Int(int64(denseGet(d[hllHdrSize:], i)))
		}
	case Is(sub, "decode"):
		if v[4] != hllSparse {
			return Errf("HLL encoding is not sparse")
		}
		var b strings.Builder
		regs := v[hllHdrSize:]
		for p := 0; p < len(regs); {
			switch op := regs[p]; {
			case spIsZero(op):
				b.WriteString("z:" + strconv.Itoa(spZeroLen(op)) + " ")
				p++
			case spIsXZero(op):
				if p+1 >= len(regs) {
					// NB: Redis reads the byte past the end; a value cut
					// short here is corrupt.
					return errCorruptHLL
				}
				b.WriteString("Z:" + strconv.Itoa(spXZeroLen(regs[p:])) + " ")
				p += 2
			default:
				b.WriteString("v:" + strconv.Itoa(int(spValValue(op))) + "," + strconv.Itoa(spValLen(op)) + " ")
				p++
			}
		}
		c.Out.BulkString(strings.TrimRight(b.String(), " "))
	case Is(sub, "encoding"):
		if v[4] == hllDense {
			c.Out.Simple("dense")
		} else {
			c.Out.Simple("sparse")
		}
	case Is(sub, "todense"):
		_, converted, err := dense()
		if err != nil {
			return err
		}
		if converted {
			c.Out.Int(1)
		} else {
			c.Out.Int(0)
		}
	default:
		return Errf("Unknown PFDEBUG subcommand '%s'", sub)
	}
	return nil
}

// pfselftest is PFSELFTEST, Redis's self-test of its HyperLogLog code, run
// on Shoal's: registers set at random read back as set, in every
// position; then ten million distinct elements go into a dense and a
// sparse value side by side, which must stay sparse while small, agree,
// and estimate each power of ten within six standard errors.
func pfselftest(c *Ctx) error {
	dense := make([]byte, hllDenseSize)
	copy(dense, "HYLL")
	regs := dense[hllHdrSize:]
	var want [hllRegisters]uint8
	for range 1000 {
		for i := range hllRegisters {
			r := uint8(rand.Uint32() & hllRegisterMax)
			want[i] = r
			denseSet(regs, i, r)
		}
		for i := range hllRegisters {
			if got := denseGet(regs, i); got != want[i] {
				return &Error{"TESTFAILED", "Register " + strconv.Itoa(i) + " should be " +
					strconv.Itoa(int(want[i])) + " but is " + strconv.Itoa(int(got))}
			}
		}
	}
	clear(regs)
	sparse := newHLL()
	maxSparse := c.Tx.Store().Encodings().HllSparseBytes
	relerr := 1.04 / math.Sqrt(hllRegisters)
	checkpoint := int64(1)
	seed := rand.Uint64()
	var ele [8]byte
	for j := int64(1); j <= 10_000_000; j++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(j)^seed)
		index, count := hllPatLen(ele[:])
		if denseGet(regs, index) < count {
			denseSet(regs, index, count)
		}
		var ok bool
		if sparse, _, ok = hllSet(sparse, index, count, maxSparse); !ok {
			return &Error{"TESTFAILED", "sparse value corrupted"}
		}
		if j != checkpoint {
			continue
		}
		if j < maxSparse/2 && sparse[4] != hllSparse {
			return &Error{"TESTFAILED", "sparse encoding not used"}
		}
		n, _ := hllCount(dense)
		if m, _ := hllCount(sparse); n != m {
			return &Error{"TESTFAILED", "dense/sparse disagree"}
		}
		maxErr := uint64(math.Ceil(relerr * 6 * float64(checkpoint)))
		if j == 10 {
			maxErr = 1 // NB: collisions make 10 err more, as Redis allows
		}
		absErr := checkpoint - int64(n)
		if absErr < 0 {
			absErr = -absErr
		}
		if uint64(absErr) > maxErr {
			return &Error{"TESTFAILED", "Too big error. card:" + strconv.FormatInt(checkpoint, 10) +
				" abserr:" + strconv.FormatInt(absErr, 10)}
		}
		checkpoint *= 10
	}
	c.Out.OK()
	return nil
}
