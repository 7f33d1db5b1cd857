package storage

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/shoaldb/shoal/storage/encoding"
)

// DUMP and RESTORE move single values in Redis's own payload format, so a
// value dumped by redis-server restores into Shoal and the reverse:
//
//	payload = object | rdb version uint16 LE | crc64 uint64 LE
//	object  = rdb type byte | type-specific body (rdb.go's encodings)
//
// The CRC is Redis's crc64 (Jones polynomial) of everything before it.
// Shoal writes the plain encodings every Redis since 2.x loads: strings
// (with the integer encodings), RDB_TYPE_LIST, RDB_TYPE_SET,
// RDB_TYPE_ZSET_2 and RDB_TYPE_HASH, and streams as Redis 7.0 does
// (streamdump.go). It reads those and the compact encodings Redis writes
// for small values (listpack, ziplist, intset, quicklist, LZF-compressed
// strings).

// DumpRDBVersion is the RDB version Shoal writes: Redis 7.0's.
const DumpRDBVersion = 10

// dumpMaxRDBVersion is the newest RDB version RESTORE accepts: Redis 7.2's,
// whose set listpacks Shoal decodes.
const dumpMaxRDBVersion = 11

// ErrDumpChecksum reports a DUMP payload with a wrong version or checksum;
// RESTORE answers "ERR DUMP payload version or checksum are wrong".
var ErrDumpChecksum = errors.New("storage: DUMP payload version or checksum are wrong")

// RDB object types (rdb.h).
const (
	rdbTypeString          = 0
	rdbTypeList            = 1
	rdbTypeSet             = 2
	rdbTypeZSet            = 3
	rdbTypeHash            = 4
	rdbTypeZSet2           = 5
	rdbTypeHashZipmap      = 9
	rdbTypeListZiplist     = 10
	rdbTypeSetIntset       = 11
	rdbTypeZSetZiplist     = 12
	rdbTypeHashZiplist     = 13
	rdbTypeListQuicklist   = 14
	rdbTypeHashListpack    = 16
	rdbTypeZSetListpack    = 17
	rdbTypeListQuicklist2  = 18
	rdbTypeSetListpack     = 20
	quicklistNodePlain     = 1
	quicklistNodePacked    = 2
	dumpFooterLen          = 10
	dumpMaxPreallocEntries = 1 << 16
)

// DumpValue is a value decoded from a DUMP payload.
type DumpValue struct {
	Type encoding.Type
	// Str is a string's value.
	Str []byte
	// Items are a list's elements in order, a set's members, a hash's
	// fields and values alternating, or a sorted set's members.
	Items [][]byte
	// Scores are a sorted set's scores, parallel to Items.
	Scores []float64
	// Stream is a stream's content.
	Stream *StreamDump

	// arena holds the items appendItem copied, in chunks that are never
	// moved once items point into them: one allocation for a small
	// collection's items rather than one each.
	arena []byte
}

// Dump returns the DUMP payload of the live key k; compress writes its
// strings and blobs LZF-compressed where that saves space, as Redis's
// DUMP does under rdbcompression.
func (t *Tx) Dump(k *Key, compress bool) ([]byte, error) {
	str := appendStr
	if compress {
		str = appendStrLZF
	}
	out, err := t.appendObject(nil, k, str)
	if err != nil {
		return nil, err
	}
	return AppendDumpFooter(out), nil
}

// AppendObject appends the RDB object of the live key k to dst: its RDB
// type byte and body, as both a DUMP payload and an RDB file hold it, and
// as redis-server 7.0 writes it: a hash or sorted set of the compact
// encoding as one listpack, a compact set of integers as an intset, a
// list as quicklist nodes, a compact hash's fields in the order they were
// added (HashWalk). A Tx that writes an
// RDB file (lzf) compresses strings as Redis does with rdbcompression
// (Dump as the caller says).
func (t *Tx) AppendObject(dst []byte, k *Key) ([]byte, error) {
	str := appendStr
	if t.lzf {
		str = appendStrLZF
	}
	return t.appendObject(dst, k, str)
}

// appendObject is AppendObject with str writing its strings.
func (t *Tx) appendObject(dst []byte, k *Key, str func(dst, s []byte) []byte) ([]byte, error) {
	out := dst
	var err error
	switch k.Meta.Type {
	case encoding.TypeString:
		out = str(append(out, rdbTypeString), k.Meta.Value)
	case encoding.TypeList:
		out, err = t.appendListNodes(append(out, rdbTypeListQuicklist2), k, str)
	case encoding.TypeSet:
		if k.Meta.Enc == encoding.EncCompact {
			var blob []byte
			if blob, err = t.setIntset(k); err != nil || blob != nil {
				out = str(append(out, rdbTypeSetIntset), blob)
				break
			}
		}
		out = appendLen(append(out, rdbTypeSet), k.Meta.Size)
		_, err = t.SetScan(k, nil, func(m []byte) bool {
			out = str(out, m)
			return true
		})
	case encoding.TypeHash:
		if k.Meta.Enc == encoding.EncCompact {
			w := newListpackWriter()
			err = t.HashWalk(k, func(f, v []byte) bool {
				w.appendStr(f)
				w.appendStr(v)
				return true
			})
			out = str(append(out, rdbTypeHashListpack), w.bytes())
			break
		}
		out = appendLen(append(out, rdbTypeHash), k.Meta.Size)
		_, err = t.HashScan(k, nil, func(f, v []byte) bool {
			out = str(str(out, f), v)
			return true
		})
	case encoding.TypeStream:
		out, err = t.appendStream(out, k, str)
	case encoding.TypeZSet:
		if k.Meta.Enc == encoding.EncCompact {
			w := newListpackWriter()
			err = t.ZWalk(k, false, func(m []byte, score float64) bool {
				w.appendStr(m)
				w.appendStr([]byte(listpackScore(score)))
				return true
			})
			out = str(append(out, rdbTypeZSetListpack), w.bytes())
			break
		}
		out = appendLen(append(out, rdbTypeZSet2), k.Meta.Size)
		// NB: the member entries keep a score's exact bits (-0 included),
		// which the score index folds; Redis writes its skiplist from the
		// greatest element to the smallest, so the entries are sorted so.
		type entry struct {
			end   int // where the member ends in members
			score uint64
		}
		var members []byte
		var es []entry
		bad := false
		err = t.WalkMembers(k, ZTagMember, nil, func(m, score []byte) bool {
			if len(score) != 8 {
				bad = true
				return false
			}
			members = append(members, m...)
			es = append(es, entry{len(members), binary.BigEndian.Uint64(score)})
			return true
		})
		if err == nil && bad {
			err = encoding.ErrCorrupt
		}
		member := func(i int) []byte {
			start := 0
			if i > 0 {
				start = es[i-1].end
			}
			return members[start:es[i].end]
		}
		idx := make([]int, len(es))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int {
			if c := cmp.Compare(math.Float64frombits(es[b].score), math.Float64frombits(es[a].score)); c != 0 {
				return c
			}
			return bytes.Compare(member(b), member(a))
		})
		for _, i := range idx {
			out = str(out, member(i))
			out = binary.LittleEndian.AppendUint64(out, es[i].score)
		}
	default:
		return dst, encoding.ErrCorrupt
	}
	if err != nil {
		return dst, err
	}
	return out, nil
}

// AppendDumpFooter appends the RDB version and the CRC64 of everything
// before it to an RDB object, making it a DUMP payload.
func AppendDumpFooter(obj []byte) []byte {
	obj = binary.LittleEndian.AppendUint16(obj, DumpRDBVersion)
	return binary.LittleEndian.AppendUint64(obj, redisCRC64(0, obj))
}

// DecodeDump checks a DUMP payload's version and checksum (ErrDumpChecksum)
// and decodes its object (ErrDumpFormat). Empty collections and duplicate
// members are refused, as Redis refuses them. The result may alias p.
func DecodeDump(p []byte) (*DumpValue, error) { return decodeDump(p, true) }

// DecodeDump is the package's DecodeDump, with the checksum left
// unchecked while DEBUG SET-SKIP-CHECKSUM-VALIDATION is on, as Redis's
// verifyDumpPayload leaves it (its version is checked still): the
// decoder then meets corrupt objects, which it refuses (ErrDumpFormat).
func (s *Store) DecodeDump(p []byte) (*DumpValue, error) {
	return decodeDump(p, !s.skipChecksum.Load())
}

// SetSkipChecksumValidation is DEBUG SET-SKIP-CHECKSUM-VALIDATION: while
// on, RESTORE and FUNCTION RESTORE take payloads whose checksum is wrong.
func (s *Store) SetSkipChecksumValidation(on bool) { s.skipChecksum.Store(on) }

func decodeDump(p []byte, checksum bool) (*DumpValue, error) {
	body, err := dumpBody(p, checksum)
	if err != nil {
		return nil, err
	}
	r := &rdbReader{b: body}
	typ, err := r.byte()
	if err != nil {
		return nil, ErrDumpFormat
	}
	v, err := decodeObject(r, typ)
	if err != nil {
		return nil, ErrDumpFormat
	}
	return v, nil
}

// dumpBody checks a payload's footer (ErrDumpChecksum), its checksum
// unless told not to, and returns what precedes it.
func dumpBody(p []byte, checksum bool) ([]byte, error) {
	if len(p) < dumpFooterLen {
		return nil, ErrDumpChecksum
	}
	footer := p[len(p)-dumpFooterLen:]
	if v := binary.LittleEndian.Uint16(footer); v > dumpMaxRDBVersion {
		return nil, ErrDumpChecksum
	}
	if checksum && redisCRC64(0, p[:len(p)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return nil, ErrDumpChecksum
	}
	return p[:len(p)-dumpFooterLen], nil
}

func decodeObject(r *rdbReader, typ byte) (*DumpValue, error) {
	switch typ {
	case rdbTypeString:
		str := r.str
		if r.reuse {
			str = r.strScratch
		}
		s, err := str()
		return &DumpValue{Type: encoding.TypeString, Str: s}, err
	case rdbTypeList, rdbTypeSet, rdbTypeHash:
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		v := &DumpValue{Type: encoding.TypeList}
		per := 1
		switch typ {
		case rdbTypeSet:
			v.Type = encoding.TypeSet
		case rdbTypeHash:
			v.Type, per = encoding.TypeHash, 2
		}
		v.Items = make([][]byte, 0, min(n*per, dumpMaxPreallocEntries))
		for i := 0; i < n*per; i++ {
			s, err := r.str()
			if err != nil {
				return nil, err
			}
			v.Items = append(v.Items, s)
		}
		return v, v.check()
	case rdbTypeZSet, rdbTypeZSet2:
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		v := &DumpValue{Type: encoding.TypeZSet}
		v.Items = make([][]byte, 0, min(n, dumpMaxPreallocEntries))
		v.Scores = make([]float64, 0, min(n, dumpMaxPreallocEntries))
		for i := 0; i < n; i++ {
			m, err := r.str()
			if err != nil {
				return nil, err
			}
			var s float64
			if typ == rdbTypeZSet {
				s, err = r.double()
			} else {
				var b []byte
				b, err = r.bytes(8)
				if err == nil {
					s = math.Float64frombits(binary.LittleEndian.Uint64(b))
				}
			}
			if err != nil {
				return nil, err
			}
			if math.IsNaN(s) {
				return nil, ErrDumpFormat
			}
			v.Items = append(v.Items, m)
			v.Scores = append(v.Scores, s)
		}
		return v, v.check()
	case rdbTypeSetIntset:
		// NB: the blob's items are copied out of it.
		blob, err := r.strScratch()
		if err != nil {
			return nil, err
		}
		v := &DumpValue{Type: encoding.TypeSet}
		err = intsetEach(blob, func(i int64) error {
			v.Items = append(v.Items, strconv.AppendInt(nil, i, 10))
			return nil
		})
		return v, err
	case rdbTypeListZiplist, rdbTypeZSetZiplist, rdbTypeHashZiplist, rdbTypeHashZipmap,
		rdbTypeHashListpack, rdbTypeZSetListpack, rdbTypeSetListpack:
		// NB: the blob's items are copied out of it.
		blob, err := r.strScratch()
		if err != nil {
			return nil, err
		}
		each := listpackEach
		switch typ {
		case rdbTypeListZiplist, rdbTypeZSetZiplist, rdbTypeHashZiplist:
			each = ziplistEach
		case rdbTypeHashZipmap:
			each = zipmapEach
		}
		// NB: the items take about the blob's bytes (an integer's digits
		// may take a few more than its encoding).
		v := &DumpValue{arena: make([]byte, 0, len(blob)+len(blob)/4)}
		switch typ {
		case rdbTypeListZiplist:
			v.Type = encoding.TypeList
		case rdbTypeSetListpack:
			v.Type = encoding.TypeSet
		case rdbTypeHashZiplist, rdbTypeHashListpack, rdbTypeHashZipmap:
			v.Type = encoding.TypeHash
		default:
			v.Type = encoding.TypeZSet
		}
		if err := each(blob, v.appendItem); err != nil {
			return nil, err
		}
		if v.Type == encoding.TypeZSet {
			if err := v.splitScores(); err != nil {
				return nil, err
			}
		}
		return v, v.check()
	case rdbTypeStreamListpacks, rdbTypeStreamListpacks2, rdbTypeStreamListpacks3:
		return decodeStream(r, typ)
	case rdbTypeListQuicklist, rdbTypeListQuicklist2:
		nodes, err := r.count()
		if err != nil {
			return nil, err
		}
		v := &DumpValue{Type: encoding.TypeList}
		for i := 0; i < nodes; i++ {
			container := uint64(quicklistNodePacked)
			if typ == rdbTypeListQuicklist2 {
				var enc bool
				if container, enc, err = r.length(); err != nil || enc {
					return nil, ErrDumpFormat
				}
			}
			blob, err := r.str()
			if err != nil {
				return nil, err
			}
			switch {
			case len(blob) == 0:
				// As Redis's rdbLoadObject: no node is empty, a plain
				// one (an element) included.
				return nil, ErrDumpFormat
			case container == quicklistNodePlain:
				v.Items = append(v.Items, blob)
			case container != quicklistNodePacked:
				return nil, ErrDumpFormat
			case typ == rdbTypeListQuicklist:
				err = ziplistEach(blob, v.appendItem)
			default:
				err = listpackEach(blob, v.appendItem)
			}
			if err != nil {
				return nil, err
			}
		}
		return v, v.check()
	}
	return nil, errRDBType
}

// errRDBType reports an object type that DUMP payloads and RDB files may
// hold but Shoal cannot decode (module types).
var errRDBType = fmt.Errorf("%w: unknown object type", ErrDumpFormat)

// appendItem keeps a copy of e: listpack integers are decoded into a
// reused buffer.
func (v *DumpValue) appendItem(e []byte) error {
	if len(v.arena)+len(e) > cap(v.arena) {
		v.arena = make([]byte, 0, max(len(e), 2*cap(v.arena), 256))
	}
	off := len(v.arena)
	v.arena = append(v.arena, e...)
	v.Items = append(v.Items, v.arena[off:len(v.arena):len(v.arena)])
	return nil
}

// splitScores turns the member, score, member, score... entries of a
// compact sorted set into Items and Scores.
func (v *DumpValue) splitScores() error {
	if len(v.Items)%2 != 0 {
		return ErrDumpFormat
	}
	n := len(v.Items) / 2
	members := make([][]byte, 0, n)
	v.Scores = make([]float64, 0, n)
	for i := 0; i < len(v.Items); i += 2 {
		s, err := parseScore(v.Items[i+1])
		if err != nil {
			return err
		}
		members = append(members, v.Items[i])
		v.Scores = append(v.Scores, s)
	}
	v.Items = members
	return nil
}

// check refuses empty collections, odd hash entries and duplicate set,
// hash or sorted set members.
func (v *DumpValue) check() error {
	if v.Type == encoding.TypeString || v.Type == encoding.TypeStream {
		return nil
	}
	if len(v.Items) == 0 {
		return errEmptyKey
	}
	step := 1
	if v.Type == encoding.TypeHash {
		if len(v.Items)%2 != 0 {
			return ErrDumpFormat
		}
		step = 2
	}
	if v.Type == encoding.TypeList {
		return nil
	}
	if len(v.Items) <= 16*step {
		// A small collection (most of an RDB's) is checked pair by pair,
		// with no map to make.
		for i := 0; i < len(v.Items); i += step {
			for j := i + step; j < len(v.Items); j += step {
				if bytes.Equal(v.Items[i], v.Items[j]) {
					return ErrDumpFormat
				}
			}
		}
		return nil
	}
	seen := make(map[string]struct{}, min(len(v.Items)/step, dumpMaxPreallocEntries))
	for i := 0; i < len(v.Items); i += step {
		if _, dup := seen[string(v.Items[i])]; dup {
			return ErrDumpFormat
		}
		seen[string(v.Items[i])] = struct{}{}
	}
	return nil
}

// Len returns the number of members (elements, fields) of a decoded
// collection.
func (v *DumpValue) Len() int {
	switch v.Type {
	case encoding.TypeHash:
		return len(v.Items) / 2
	case encoding.TypeStream:
		return int(v.Stream.Length)
	}
	return len(v.Items)
}

// Restore replaces whatever k holds with v, expiring at expireAt (Unix ms,
// 0 for none). The caller holds k's lock; v passed DecodeDump's checks.
func (t *Tx) Restore(k *Key, v *DumpValue, expireAt int64) {
	if v.Type == encoding.TypeString {
		t.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, ExpireAt: expireAt, Value: v.Str})
		return
	}
	m := encoding.Meta{Type: v.Type, ExpireAt: expireAt, Version: t.NewVersion(), Size: uint64(v.Len()),
		Enc: t.builtEncoding(v.Type, v.Items)}
	if v.Type == encoding.TypeStream {
		m.Stream = v.Stream.Meta
	}
	fresh := &Key{DB: k.DB, Phys: k.Phys, Name: k.Name, Meta: m}
	var buf []byte
	switch v.Type {
	case encoding.TypeStream:
		t.restoreStream(fresh, v.Stream)
	case encoding.TypeList:
		t.restoreList(fresh, v.Items)
		m = fresh.Meta
	case encoding.TypeSet:
		for _, e := range v.Items {
			buf = MemberKey(buf[:0], fresh, SetMemberTag, e)
			t.SetMember(buf, nil)
		}
	case encoding.TypeHash:
		for i := 0; i < len(v.Items); i += 2 {
			buf = MemberKey(buf[:0], fresh, HashFieldTag, v.Items[i])
			t.SetMember(buf, v.Items[i+1])
		}
		if m.Enc == encoding.EncCompact {
			m.Order = hashOrderOf(v.Items)
		}
	case encoding.TypeZSet:
		for i, e := range v.Items {
			t.ZPut(fresh, e, v.Scores[i], 0, false)
		}
	}
	// PutMeta drops the members of what k held before.
	t.PutMeta(k, &m)
}

// StoreList replaces whatever k holds with a list of items, without
// expiry, or deletes k when items is empty: SORT ... STORE's write. The
// caller holds k's lock.
func (t *Tx) StoreList(k *Key, items [][]byte) {
	if len(items) == 0 {
		t.Delete(k)
		return
	}
	t.Restore(k, &DumpValue{Type: encoding.TypeList, Items: items}, 0)
}
