// Package encoding holds Shoal's byte layouts on Pebble: how user keys,
// collection members, expiry entries and system records become Pebble keys
// and values. It imports nothing else of Shoal's.
//
// Pebble key space (every key starts with one tag byte):
//
//	0x00 | name                                      system records (never shown to users)
//	'm'  | db(1) | userkey                           metadata of a user key   → Meta value
//	's'  | db(1) | keylen(4 BE) | userkey | version(8 BE) | subkey
//	                                                 collection members      → member value
//	'e'  | db(1) | expireAt ms(8 BE) | userkey       expiry index entry       → empty
//
// The metadata of a key says its type, its expiry and, for collections, the
// version its members are stored under. Deleting or overwriting a collection
// writes only metadata plus one range tombstone over the key's sub-key span,
// so the cost does not depend on the number of members (Kvrocks' layout,
// with Pebble's DeleteRange instead of a compaction filter).
//
// db is a physical database slot: SWAPDB swaps the mapping from logical to
// physical slots, never the data.
package encoding

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
)

// Key tags: the first byte of every Pebble key.
const (
	TagSystem = 0x00
	TagMeta   = 'm'
	TagSub    = 's'
	TagExpiry = 'e'
)

// Type is the Redis type of a key, stored in its metadata.
type Type uint8

// Redis types. The numbers are persisted: never renumber.
const (
	TypeNone   Type = 0
	TypeString Type = 1
	TypeHash   Type = 2
	TypeList   Type = 3
	TypeSet    Type = 4
	TypeZSet   Type = 5
	TypeStream Type = 6
)

// String returns the name TYPE reports.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeHash:
		return "hash"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeStream:
		return "stream"
	}
	return "none"
}

// IsCollection reports whether members of the type live in sub-keys.
func (t Type) IsCollection() bool { return t >= TypeHash && t <= TypeStream }

// ErrCorrupt reports a stored record that cannot be decoded.
var ErrCorrupt = errors.New("encoding: corrupt record")

// MetaKey returns the metadata key of userkey in physical database db,
// appended to dst.
func MetaKey(dst []byte, db uint8, userkey []byte) []byte {
	dst = append(dst, TagMeta, db)
	return append(dst, userkey...)
}

// MetaPrefix returns the prefix of every metadata key of database db.
func MetaPrefix(db uint8) []byte { return []byte{TagMeta, db} }

// UserKeyFromMeta returns the user key of a metadata key; the result aliases mk.
func UserKeyFromMeta(mk []byte) []byte {
	if len(mk) < 2 {
		return nil
	}
	return mk[2:]
}

// SubPrefix returns the prefix shared by every sub-key of userkey at version,
// appended to dst.
//
//	's' | db | len(userkey) uint32 BE | userkey | version uint64 BE
func SubPrefix(dst []byte, db uint8, userkey []byte, version uint64) []byte {
	dst = append(dst, TagSub, db)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(userkey)))
	dst = append(dst, userkey...)
	return binary.BigEndian.AppendUint64(dst, version)
}

// SubKeyTag returns the tag byte of sub-key k (what follows SubPrefix); ok
// is false when k is not a well-formed sub-key.
func SubKeyTag(k []byte) (tag byte, ok bool) {
	if len(k) < 6 || k[0] != TagSub {
		return 0, false
	}
	at := 6 + int(binary.BigEndian.Uint32(k[2:6])) + 8
	if at >= len(k) || at < 0 {
		return 0, false
	}
	return k[at], true
}

// IsVersionSpan reports whether [start, end) is every sub-key of one
// version of one user key: [SubPrefix, PrefixEnd(SubPrefix)).
func IsVersionSpan(start, end []byte) bool {
	if len(start) < 6 || start[0] != TagSub {
		return false
	}
	if len(start) != 6+int(binary.BigEndian.Uint32(start[2:6]))+8 {
		return false
	}
	return bytes.Equal(end, PrefixEnd(start))
}

// SubKeySpan returns [start, end) covering every sub-key of userkey, of every
// version: the range one DeleteRange clears when the key goes away.
func SubKeySpan(db uint8, userkey []byte) (start, end []byte) {
	start = append([]byte{TagSub, db}, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(start[2:], uint32(len(userkey)))
	start = append(start, userkey...)
	return start, PrefixEnd(start)
}

// DBSpan returns [start, end) of every key with tag in physical database db.
func DBSpan(tag byte, db uint8) (start, end []byte) {
	start = []byte{tag, db}
	return start, PrefixEnd(start)
}

// ExpiryKey returns the expiry index key of userkey expiring at ms,
// appended to dst.
//
//	'e' | db | expireAt uint64 BE (Unix ms) | userkey
func ExpiryKey(dst []byte, db uint8, at int64, userkey []byte) []byte {
	dst = append(dst, TagExpiry, db)
	dst = binary.BigEndian.AppendUint64(dst, uint64(at))
	return append(dst, userkey...)
}

// DecodeExpiryKey splits an expiry index key; key aliases ek.
func DecodeExpiryKey(ek []byte) (db uint8, at int64, key []byte, err error) {
	if len(ek) < 10 || ek[0] != TagExpiry {
		return 0, 0, nil, ErrCorrupt
	}
	return ek[1], int64(binary.BigEndian.Uint64(ek[2:10])), ek[10:], nil
}

// SystemKey returns the key of a system record.
func SystemKey(name string) []byte { return append([]byte{TagSystem}, name...) }

// PrefixEnd returns the smallest key greater than every key with prefix p.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// Meta is the decoded metadata of one user key.
//
// Value layout:
//
//	flags(1): low 4 bits Type, 0x80 set when an expiry follows,
//	          bits 0x30 the collection's Enc
//	[expireAt uint64 BE Unix ms]           if flags&0x80
//	string:      payload (rest of the value), or, if flags&0x10, a chunked
//	             string: version uint64 BE | length uint64 BE, its bytes in
//	             sub-keys (StringChunkKey)
//	collection:  version uint64 BE | size uint64 BE
//	             [list: head uint64 BE | tail uint64 BE | headlen uint64 BE | taillen uint64 BE | nodes uint64 BE]
//	             [stream: StreamMeta, see appendStreamMeta]
type Meta struct {
	Type     Type
	ExpireAt int64 // Unix ms; 0 means no expiry.
	// Value is a string's payload. It may alias the decoded record.
	Value   []byte
	Version uint64 // collections: the version members are stored under
	Size    uint64 // collections: member count
	// Head and Tail are the sequence numbers of a list's first and last
	// nodes, HeadLen and TailLen their element counts (equal to Size when
	// one node holds the list), Nodes the number of its nodes.
	Head, Tail       uint64
	HeadLen, TailLen uint64
	Nodes            uint64
	// Enc is the form Redis would keep a hash, set or sorted set in, which
	// follows the value's history rather than its contents (Redis converts
	// one way only).
	Enc Enc
	// Stream is a stream's state besides its version and its length,
	// which is Size.
	Stream StreamMeta
	// Chunked marks a string kept in chunks under Version (sub-keys of
	// StringChunkKey); its length is Size and Value is not stored with
	// the record.
	Chunked bool
	// Order is a compact hash's fields in the order they were added, each
	// a uvarint length and its bytes, as Redis's listpack keeps them;
	// empty for a large hash and for one written before orders were
	// kept. Stored after the size, which a reader of older records stops
	// at. A decoded Order aliases the record, clipped: an append copies.
	Order []byte
}

// HasSubKeys reports whether m's content lives in sub-keys under
// m.Version: a collection or a chunked string.
func (m *Meta) HasSubKeys() bool { return m.Type.IsCollection() || m.Chunked }

// Len returns a string's length in bytes.
func (m *Meta) Len() int64 {
	if m.Chunked {
		return int64(m.Size)
	}
	return int64(len(m.Value))
}

// StringChunkTag is the tag of a chunked string's sub-keys.
const StringChunkTag = 'c'

// StringChunkKey returns the sub-key of chunk i of the chunked string
// userkey at version, appended to dst:
//
//	SubPrefix | 'c' | i uint32 BE  → the chunk's bytes
//
// Chunk i holds the bytes from i*chunk size on; it may be shorter than a
// chunk, or absent, and the bytes it lacks below the string's length are
// zeros.
func StringChunkKey(dst []byte, db uint8, userkey []byte, version uint64, i uint32) []byte {
	dst = SubPrefix(dst, db, userkey, version)
	dst = append(dst, StringChunkTag)
	return binary.BigEndian.AppendUint32(dst, i)
}

// Enc is the encoding Redis would give a hash, set or sorted set.
type Enc uint8

const (
	// EncUnknown marks a collection written before Shoal recorded
	// encodings (and every list and string).
	EncUnknown Enc = iota
	// EncCompact is a listpack (hashes, sorted sets) or an intset (sets).
	EncCompact
	// EncLarge is a hashtable (hashes, sets) or a skiplist (sorted sets).
	EncLarge
	// EncRaw marks a string that Redis keeps raw whatever its length:
	// one written in place (APPEND, SETRANGE, the bit and HyperLogLog
	// commands), where Redis unshares it. Other strings are int, embstr
	// or raw by their value.
	EncRaw = EncLarge
)

const (
	// encShift places Enc in the flags byte.
	encShift = 4

	flagExpire = 0x80
	// flagNoValue marks a string record whose value was left out: a form
	// that only in-memory caches hold, never one stored in Pebble.
	flagNoValue = 0x40
	// flagChunked marks a chunked string (a string's Enc is EncUnknown or
	// EncRaw, whose bit is another).
	flagChunked = 0x10
)

// StringHeader returns the record v (AppendMeta's encoding) without its
// string value when v is a string whose value is longer than max, with
// ok true; otherwise v itself and false. DecodeMeta reads the header alone
// as a string with an empty value; HasValue tells the two apart.
func StringHeader(v []byte, max int) (header []byte, ok bool) {
	if len(v) == 0 || Type(v[0]&0x0f) != TypeString || v[0]&flagChunked != 0 {
		return v, false
	}
	n := 1
	if v[0]&flagExpire != 0 {
		n += 8
	}
	if len(v)-n <= max {
		return v, false
	}
	h := append(make([]byte, 0, n), v[:n]...)
	h[0] |= flagNoValue
	return h, true
}

// HasValue reports whether record v carries its whole content, that is,
// it is not a StringHeader.
func HasValue(v []byte) bool { return len(v) == 0 || v[0]&flagNoValue == 0 }

// AppendMeta encodes m after dst.
func AppendMeta(dst []byte, m *Meta) []byte {
	f := byte(m.Type) | byte(m.Enc&3)<<encShift
	if m.ExpireAt != 0 {
		f |= flagExpire
	}
	dst = append(dst, f)
	flagAt := len(dst) - 1
	if m.ExpireAt != 0 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(m.ExpireAt))
	}
	if m.Type == TypeString {
		if m.Chunked {
			dst[flagAt] |= flagChunked
			dst = binary.BigEndian.AppendUint64(dst, m.Version)
			return binary.BigEndian.AppendUint64(dst, m.Size)
		}
		return append(dst, m.Value...)
	}
	dst = binary.BigEndian.AppendUint64(dst, m.Version)
	dst = binary.BigEndian.AppendUint64(dst, m.Size)
	switch m.Type {
	case TypeList:
		dst = binary.BigEndian.AppendUint64(dst, m.Head)
		dst = binary.BigEndian.AppendUint64(dst, m.Tail)
		dst = binary.BigEndian.AppendUint64(dst, m.HeadLen)
		dst = binary.BigEndian.AppendUint64(dst, m.TailLen)
		dst = binary.BigEndian.AppendUint64(dst, m.Nodes)
	case TypeStream:
		dst = appendStreamMeta(dst, &m.Stream)
	case TypeHash:
		dst = append(dst, m.Order...)
	}
	return dst
}

// DecodeMeta decodes v into m. m.Value aliases v.
func DecodeMeta(v []byte, m *Meta) error {
	*m = Meta{}
	if len(v) < 1 {
		return ErrCorrupt
	}
	f := v[0]
	m.Type = Type(f & 0x0f)
	if m.Type == TypeNone || m.Type > TypeStream {
		return ErrCorrupt
	}
	m.Enc = Enc(f>>encShift) & 3
	v = v[1:]
	if f&flagExpire != 0 {
		if len(v) < 8 {
			return ErrCorrupt
		}
		m.ExpireAt = int64(binary.BigEndian.Uint64(v))
		v = v[8:]
	}
	if m.Type == TypeString {
		m.Enc = EncUnknown
		if f&(byte(EncRaw)<<encShift) != 0 {
			m.Enc = EncRaw
		}
		if f&flagChunked != 0 && f&flagNoValue == 0 {
			if len(v) < 16 {
				return ErrCorrupt
			}
			m.Chunked = true
			m.Version = binary.BigEndian.Uint64(v)
			m.Size = binary.BigEndian.Uint64(v[8:])
			return nil
		}
		m.Value = v
		return nil
	}
	need := 16
	switch m.Type {
	case TypeList:
		need = 56
	case TypeStream:
		need = 16 + streamMetaLen
	}
	if len(v) < need {
		return ErrCorrupt
	}
	m.Version = binary.BigEndian.Uint64(v)
	m.Size = binary.BigEndian.Uint64(v[8:])
	switch m.Type {
	case TypeList:
		m.Head = binary.BigEndian.Uint64(v[16:])
		m.Tail = binary.BigEndian.Uint64(v[24:])
		m.HeadLen = binary.BigEndian.Uint64(v[32:])
		m.TailLen = binary.BigEndian.Uint64(v[40:])
		m.Nodes = binary.BigEndian.Uint64(v[48:])
	case TypeStream:
		decodeStreamMeta(v[16:], &m.Stream)
	case TypeHash:
		if len(v) > 16 {
			m.Order = v[16:len(v):len(v)]
		}
	}
	return nil
}

// Expired reports whether m has an expiry at or before now (Unix ms).
func (m *Meta) Expired(now int64) bool { return m.ExpireAt != 0 && m.ExpireAt <= now }

// EncodeFloat returns an 8-byte key whose byte order is the numeric order of
// f (sign bit flipped for positives, all bits flipped for negatives), so
// score indexes sort by score.
func EncodeFloat(dst []byte, f float64) []byte {
	b := math.Float64bits(f)
	if f == 0 {
		b = 0 // -0 and +0 sort as one
	}
	if b&(1<<63) != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, b)
}

// DecodeFloat reverses EncodeFloat on the first 8 bytes of b.
func DecodeFloat(b []byte) float64 {
	u := binary.BigEndian.Uint64(b)
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u)
}

// ListIndexBase is the sequence number of a new list's first node, so that
// nodes added at either end never wrap.
const ListIndexBase = math.MaxUint64 / 2

// ParseInt parses a 64-bit signed integer as Redis's string2ll does: an
// optional '-', no '+', no leading zeros, no spaces. Redis keeps the sets
// whose members all read so as intsets.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}
