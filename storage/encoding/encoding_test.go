package encoding

import (
	"bytes"
	"math"
	"sort"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	cases := []Meta{
		{Type: TypeString, Value: []byte("hello")},
		{Type: TypeString, ExpireAt: 1700000000123, Value: []byte{}},
		{Type: TypeString, Value: []byte("12"), Enc: EncRaw},
		{Type: TypeString, ExpireAt: 3, Chunked: true, Version: 4, Size: 5 << 20, Enc: EncRaw},
		{Type: TypeHash, Version: 7, Size: 3},
		{Type: TypeHash, Version: 7, Size: 3, Enc: EncCompact},
		{Type: TypeHash, ExpireAt: 4, Version: 7, Size: 2, Enc: EncCompact, Order: []byte("\x01b\x01a")},
		{Type: TypeSet, ExpireAt: 5, Version: 1, Size: 1 << 40, Enc: EncLarge},
		{Type: TypeZSet, Version: 9, Size: 2, Enc: EncLarge},
		{Type: TypeList, Version: 2, Size: 2, Head: ListIndexBase - 1, Tail: ListIndexBase + 1, HeadLen: 1, TailLen: 1, Nodes: 2},
		{Type: TypeStream, ExpireAt: 9, Version: 3, Size: 4, Stream: StreamMeta{LastID: StreamID{5, 6}, FirstID: StreamID{1, 2},
			MaxDeletedID: MaxStreamID, EntriesAdded: 7, Groups: 8, Nodes: 9}},
	}
	for _, c := range cases {
		enc := AppendMeta(nil, &c)
		var got Meta
		if err := DecodeMeta(enc, &got); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got.Type != c.Type || got.ExpireAt != c.ExpireAt || !bytes.Equal(got.Value, c.Value) ||
			got.Version != c.Version || got.Size != c.Size || got.Head != c.Head || got.Tail != c.Tail || got.HeadLen != c.HeadLen || got.TailLen != c.TailLen || got.Nodes != c.Nodes || got.Enc != c.Enc ||
			got.Stream != c.Stream || got.Chunked != c.Chunked || !bytes.Equal(got.Order, c.Order) {
			t.Fatalf("round trip: got %+v want %+v", got, c)
		}
		if cap(got.Order) != len(got.Order) {
			t.Fatalf("a decoded Order has room to grow into the record (cap %d, len %d): an append would write over it", cap(got.Order), len(got.Order))
		}
	}
}

func TestDecodeMetaCorrupt(t *testing.T) {
	for _, v := range [][]byte{nil, {0}, {0x0f}, {byte(TypeHash)}, {0x80 | byte(TypeString), 1, 2}, {byte(TypeList), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		append([]byte{byte(TypeStream)}, make([]byte, 16+streamMetaLen-1)...), {7}} {
		var m Meta
		if err := DecodeMeta(v, &m); err == nil {
			t.Fatalf("DecodeMeta(%v) = nil error", v)
		}
	}
}

func TestFloatOrder(t *testing.T) {
	fs := []float64{math.Inf(-1), -1e300, -2.5, -1, -math.SmallestNonzeroFloat64, 0, math.SmallestNonzeroFloat64, 1, 2.5, 1e300, math.Inf(1)}
	keys := make([][]byte, len(fs))
	for i, f := range fs {
		keys[i] = EncodeFloat(nil, f)
		if g := DecodeFloat(keys[i]); g != f {
			t.Fatalf("DecodeFloat(EncodeFloat(%v)) = %v", f, g)
		}
	}
	if !sort.SliceIsSorted(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 }) {
		t.Fatal("encoded floats are not in numeric order")
	}
	if !bytes.Equal(EncodeFloat(nil, math.Copysign(0, -1)), EncodeFloat(nil, 0)) {
		t.Fatal("-0 and +0 encode differently")
	}
}

func TestSubKeySpanCoversVersions(t *testing.T) {
	start, end := SubKeySpan(3, []byte("k"))
	for _, v := range []uint64{0, 1, math.MaxUint64} {
		k := append(SubPrefix(nil, 3, []byte("k"), v), "field"...)
		if bytes.Compare(k, start) < 0 || bytes.Compare(k, end) >= 0 {
			t.Fatalf("version %d sub-key outside span", v)
		}
	}
	// A longer key sharing the prefix must fall outside.
	other := SubPrefix(nil, 3, []byte("kk"), 1)
	if bytes.Compare(other, start) >= 0 && bytes.Compare(other, end) < 0 {
		t.Fatal("sub-key of another key inside span")
	}
}

func TestExpiryKey(t *testing.T) {
	k := ExpiryKey(nil, 2, 12345, []byte("user"))
	db, at, key, err := DecodeExpiryKey(k)
	if err != nil || db != 2 || at != 12345 || string(key) != "user" {
		t.Fatalf("got %d %d %q %v", db, at, key, err)
	}
	if _, _, _, err := DecodeExpiryKey([]byte{TagExpiry, 1}); err == nil {
		t.Fatal("short key decoded")
	}
}
