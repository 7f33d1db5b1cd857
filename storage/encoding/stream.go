package encoding

import (
	"encoding/binary"
	"math"
	"strconv"
)

// StreamID is the ID of a stream entry: a time in milliseconds and a
// sequence number within it. IDs order by Ms, then Seq.
type StreamID struct {
	Ms, Seq uint64
}

// MaxStreamID is the largest ID, 18446744073709551615-18446744073709551615.
var MaxStreamID = StreamID{math.MaxUint64, math.MaxUint64}

// Compare returns -1, 0 or 1 as id is before, equal to or after o.
func (id StreamID) Compare(o StreamID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// IsZero reports whether id is 0-0.
func (id StreamID) IsZero() bool { return id.Ms == 0 && id.Seq == 0 }

// Next returns the ID after id; ok is false when id is the largest ID.
func (id StreamID) Next() (next StreamID, ok bool) {
	switch {
	case id.Seq < math.MaxUint64:
		return StreamID{id.Ms, id.Seq + 1}, true
	case id.Ms < math.MaxUint64:
		return StreamID{id.Ms + 1, 0}, true
	}
	return StreamID{}, false
}

// Prev returns the ID before id; ok is false when id is 0-0.
func (id StreamID) Prev() (prev StreamID, ok bool) {
	switch {
	case id.Seq > 0:
		return StreamID{id.Ms, id.Seq - 1}, true
	case id.Ms > 0:
		return StreamID{id.Ms - 1, math.MaxUint64}, true
	}
	return StreamID{}, false
}

// AppendText appends id as Redis writes it, "<ms>-<seq>".
func (id StreamID) AppendText(dst []byte) []byte {
	dst = strconv.AppendUint(dst, id.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Seq, 10)
}

// String returns id as "<ms>-<seq>".
func (id StreamID) String() string { return string(id.AppendText(nil)) }

// AppendStreamID appends id as 16 bytes, Ms then Seq, big-endian: the
// byte order is the ID order (Redis keys its radix tree the same way).
func AppendStreamID(dst []byte, id StreamID) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id.Ms)
	return binary.BigEndian.AppendUint64(dst, id.Seq)
}

// DecodeStreamID reads the 16-byte ID at the start of b; ok is false
// when b is shorter.
func DecodeStreamID(b []byte) (id StreamID, ok bool) {
	if len(b) < 16 {
		return StreamID{}, false
	}
	return StreamID{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}, true
}

// StreamMeta is the state of a stream kept in its metadata record, beside
// its version and its length (Meta.Size): what XADD needs to make the next
// ID and XINFO STREAM reports.
//
// Layout, after the collection fields:
//
//	last ID (16) | first ID (16) | max deleted ID (16) |
//	entries added uint64 BE | groups uint64 BE | nodes uint64 BE
type StreamMeta struct {
	// LastID is the last ID generated or set (XSETID).
	LastID StreamID
	// FirstID is the ID of the first entry, 0-0 when there is none
	// (XINFO's recorded-first-entry-id).
	FirstID StreamID
	// MaxDeletedID is the largest ID ever deleted.
	MaxDeletedID StreamID
	// EntriesAdded counts the entries ever added.
	EntriesAdded uint64
	// Groups counts the consumer groups.
	Groups uint64
	// Nodes counts the stream's nodes: the listpacks Redis would keep its
	// entries in (XINFO's radix-tree-keys).
	Nodes uint64
}

const streamMetaLen = 3*16 + 3*8

func appendStreamMeta(dst []byte, s *StreamMeta) []byte {
	dst = AppendStreamID(dst, s.LastID)
	dst = AppendStreamID(dst, s.FirstID)
	dst = AppendStreamID(dst, s.MaxDeletedID)
	dst = binary.BigEndian.AppendUint64(dst, s.EntriesAdded)
	dst = binary.BigEndian.AppendUint64(dst, s.Groups)
	return binary.BigEndian.AppendUint64(dst, s.Nodes)
}

// decodeStreamMeta reads what appendStreamMeta wrote; v holds at least
// streamMetaLen bytes.
func decodeStreamMeta(v []byte, s *StreamMeta) {
	s.LastID, _ = DecodeStreamID(v)
	s.FirstID, _ = DecodeStreamID(v[16:])
	s.MaxDeletedID, _ = DecodeStreamID(v[32:])
	s.EntriesAdded = binary.BigEndian.Uint64(v[48:])
	s.Groups = binary.BigEndian.Uint64(v[56:])
	s.Nodes = binary.BigEndian.Uint64(v[64:])
}
