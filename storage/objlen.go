package storage

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"github.com/shoaldb/shoal/storage/encoding"
)

// SerializedLen returns the length of the RDB object redis-server 7.0
// writes for the live key k (rdbSavedObjectLen: DEBUG OBJECT's
// serializedlength), without its type byte: AppendObject's, with strings
// and blobs LZF-compressed when compress is set (rdbcompression).
func (t *Tx) SerializedLen(k *Key, compress bool) (int, error) {
	str := appendStr
	if compress {
		str = appendStrLZF
	}
	out, err := t.appendObject(nil, k, str)
	if err != nil {
		return 0, err
	}
	return len(out) - 1, nil
}

// setIntset returns the intset Redis 7.0 holds for the compact set k, or
// nil when a member is not an integer: Redis would hold a hash table,
// whatever the recorded encoding says.
func (t *Tx) setIntset(k *Key) ([]byte, error) {
	var ints []int64
	_, err := t.SetScan(k, nil, func(m []byte) bool {
		v, ok := encoding.ParseInt(m)
		if ok {
			ints = append(ints, v)
		}
		return ok
	})
	if err != nil || len(ints) != int(k.Meta.Size) {
		return nil, err
	}
	return intsetBlob(ints), nil
}

// intsetBlob is Redis's intset of ints: the smallest width that holds
// them all, then the count and the values ascending, little-endian.
func intsetBlob(ints []int64) []byte {
	slices.Sort(ints)
	width := 2
	for _, v := range ints {
		switch {
		case v < math.MinInt32 || v > math.MaxInt32:
			width = 8
		case (v < math.MinInt16 || v > math.MaxInt16) && width < 4:
			width = 4
		}
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(width))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ints)))
	for _, v := range ints {
		switch width {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// listpackScore is a score as Redis 7.0's zzlInsertAt writes it into a
// listpack (d2string): an integer in the exact range as one, else
// "%.17g".
func listpackScore(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "inf"
	case math.IsInf(s, -1):
		return "-inf"
	case s == 0 && math.Signbit(s):
		return "-0"
	case s > -4503599627370495 && s < 4503599627370496 && s == math.Trunc(s):
		return strconv.FormatInt(int64(s), 10)
	}
	return strconv.FormatFloat(s, 'g', 17, 64)
}
