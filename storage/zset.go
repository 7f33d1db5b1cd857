package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Sorted sets keep two sub-keys per member:
//
//	MemberKey(k, 'm', member)                            → score, math.Float64bits uint64 BE
//	MemberKey(k, 's', encoding.EncodeFloat(score) | member) → empty
//
// The 'm' entries answer ZSCORE and membership in O(1) reads; the 's' entries
// are the score index, ordered by score and then by member bytes, which is
// exactly Redis's order, so ranges by score and by lex are bounded Pebble
// scans and never load the whole set. The key's metadata Size is the member
// count.
const (
	ZTagMember = 'm'
	ZTagScore  = 's'
)

// ZEntry is one member of a sorted set with its score.
type ZEntry struct {
	Member []byte
	Score  float64
}

// ScoreRange is a range of scores as ZRANGEBYSCORE takes it: "(" makes a
// bound exclusive.
type ScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// Empty reports whether no score can fall in r.
func (r ScoreRange) Empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

// Contains reports whether s falls in r.
func (r ScoreRange) Contains(s float64) bool {
	return r.GteMin(s) && r.LteMax(s)
}

// GteMin reports whether s is at or above r's lower bound.
func (r ScoreRange) GteMin(s float64) bool {
	if r.MinEx {
		return s > r.Min
	}
	return s >= r.Min
}

// LteMax reports whether s is at or below r's upper bound.
func (r ScoreRange) LteMax(s float64) bool {
	if r.MaxEx {
		return s < r.Max
	}
	return s <= r.Max
}

// LexBound is one end of a lex range: "[v" (inclusive), "(v" (exclusive),
// "-" (Inf -1, below every string) or "+" (Inf 1, above every string).
type LexBound struct {
	Value []byte
	Ex    bool
	Inf   int
}

// LexRange is a range of members as ZRANGEBYLEX takes it. Like Redis, lex
// ranges assume every member has the same score.
type LexRange struct {
	Min, Max LexBound
}

// cmpLex compares two bounds' values, ±infinity included.
func cmpLex(a, b LexBound) int {
	if a.Inf != 0 || b.Inf != 0 {
		switch {
		case a.Inf == b.Inf:
			return 0
		case a.Inf < b.Inf:
			return -1
		default:
			return 1
		}
	}
	return bytes.Compare(a.Value, b.Value)
}

// Empty reports whether no member can fall in r.
func (r LexRange) Empty() bool {
	c := cmpLex(r.Min, r.Max)
	return c > 0 || (c == 0 && (r.Min.Ex || r.Max.Ex))
}

// GteMin reports whether m is at or above r's lower bound.
func (r LexRange) GteMin(m []byte) bool {
	switch r.Min.Inf {
	case -1:
		return true
	case 1:
		return false
	}
	c := bytes.Compare(m, r.Min.Value)
	if r.Min.Ex {
		return c > 0
	}
	return c >= 0
}

// LteMax reports whether m is at or below r's upper bound.
func (r LexRange) LteMax(m []byte) bool {
	switch r.Max.Inf {
	case 1:
		return true
	case -1:
		return false
	}
	c := bytes.Compare(m, r.Max.Value)
	if r.Max.Ex {
		return c < 0
	}
	return c <= 0
}

// ZMemberKey returns the sub-key holding member's score.
func ZMemberKey(k *Key, member []byte) []byte {
	return MemberKey(nil, k, ZTagMember, member)
}

// ZIndexKey returns the score index sub-key of member at score.
func ZIndexKey(k *Key, score float64, member []byte) []byte {
	return appendZIndexKey(nil, k, score, member)
}

func appendZIndexKey(dst []byte, k *Key, score float64, member []byte) []byte {
	dst = MemberKey(dst, k, ZTagScore, nil)
	dst = encoding.EncodeFloat(dst, score)
	return append(dst, member...)
}

// zMemberKey and zIndexKey are ZMemberKey and ZIndexKey in memberKey's
// buffer: valid until t's next one, for a read or write that does not
// keep the key (a batch and the pending map copy it).
func (t *Tx) zMemberKey(k *Key, member []byte) []byte {
	return t.memberKey(k, ZTagMember, member)
}

func (t *Tx) zIndexKey(k *Key, score float64, member []byte) []byte {
	t.skey = appendZIndexKey(t.skey[:0], k, score, member)
	return t.skey
}

// ZScore returns member's score; ok is false when it is not a member.
func (t *Tx) ZScore(k *Key, member []byte) (score float64, ok bool, err error) {
	var buf [8]byte
	v, ok, err := t.getMemberOf(k, t.zMemberKey(k, member), buf[:0])
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, encoding.ErrCorrupt
	}
	return math.Float64frombits(binary.BigEndian.Uint64(v)), true, nil
}

// ZPut sets member's score. old and hadOld are what ZScore returned, so
// the stale index entry can be removed. The caller keeps the size.
func (t *Tx) ZPut(k *Key, member []byte, score, old float64, hadOld bool) {
	if hadOld {
		if math.Float64bits(old) == math.Float64bits(score) {
			return
		}
		t.DeleteMember(t.zIndexKey(k, old, member))
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], math.Float64bits(score))
	t.SetMember(t.zMemberKey(k, member), v[:])
	t.SetMember(t.zIndexKey(k, score, member), nil)
}

// ZAdd adds member, absent from k, with score; k.Meta.Size counts it and
// k.Meta.Enc follows Redis's conversion.
func (t *Tx) ZAdd(k *Key, member []byte, score float64) {
	t.ZPut(k, member, score, 0, false)
	k.Meta.Size++
	t.zsetAdded(k, member)
}

// ZRemove deletes member, whose score is score. The caller keeps the size.
func (t *Tx) ZRemove(k *Key, member []byte, score float64) {
	t.DeleteMember(t.zMemberKey(k, member))
	t.DeleteMember(t.zIndexKey(k, score, member))
}

// ZStore replaces whatever k holds with a sorted set of entries (members
// must be distinct), or deletes k when entries is empty: the STORE variants'
// write. The new set has no expiry, as in Redis.
func (t *Tx) ZStore(k *Key, entries []ZEntry) {
	if len(entries) == 0 {
		t.Delete(k)
		return
	}
	members := make([][]byte, len(entries))
	for i, e := range entries {
		members[i] = e.Member
	}
	m := encoding.Meta{Type: encoding.TypeZSet, Version: t.NewVersion(), Size: uint64(len(entries)),
		Enc: t.builtEncoding(encoding.TypeZSet, members)}
	fresh := &Key{DB: k.DB, Phys: k.Phys, Name: k.Name, Meta: m}
	for _, e := range entries {
		t.ZPut(fresh, e.Member, e.Score, 0, false)
	}
	// PutMeta drops the members of the old version, if k held a collection.
	t.PutMeta(k, &m)
}

// ZWalkFunc receives one member and its score during a walk; member aliases
// the iterator's memory and is valid only during the call. Returning false
// stops the walk.
type ZWalkFunc func(member []byte, score float64) bool

// ZWalk walks every member of k in score order (from the highest when rev).
// Rank ranges use it and skip their start: O(start+count).
func (t *Tx) ZWalk(k *Key, rev bool, fn ZWalkFunc) error {
	p := MemberPrefix(k, ZTagScore)
	return t.zwalk(p, encoding.PrefixEnd(p), len(p), rev, fn)
}

// ZWalkScore walks the members of k whose scores fall in r, in score order
// (from the highest when rev). Only the range is read.
func (t *Tx) ZWalkScore(k *Key, r ScoreRange, rev bool, fn ZWalkFunc) error {
	if r.Empty() {
		return nil
	}
	p := MemberPrefix(k, ZTagScore)
	lower := encoding.EncodeFloat(bytes.Clone(p), r.Min)
	if r.MinEx {
		lower = encoding.PrefixEnd(lower)
	}
	upper := encoding.EncodeFloat(bytes.Clone(p), r.Max)
	if !r.MaxEx {
		upper = encoding.PrefixEnd(upper)
	}
	return t.zwalk(lower, upper, len(p), rev, fn)
}

// ZWalkLex walks the members of k in lex range r, in index order (reversed
// when rev). As Redis does, it assumes every score is equal: it skips to the
// first member inside the range's start and stops at the first member past
// its end.
func (t *Tx) ZWalkLex(k *Key, r LexRange, rev bool, fn ZWalkFunc) error {
	if r.Empty() {
		return nil
	}
	// Redis first checks the range against the set's two ends (the last
	// member must reach min, the first must not pass max); with mixed
	// scores this decides the result, so do the same.
	var first, last []byte
	if err := t.ZWalk(k, false, func(m []byte, _ float64) bool { first = bytes.Clone(m); return false }); err != nil {
		return err
	}
	if err := t.ZWalk(k, true, func(m []byte, _ float64) bool { last = bytes.Clone(m); return false }); err != nil {
		return err
	}
	if first == nil || !r.GteMin(last) || !r.LteMax(first) {
		return nil
	}
	started := false
	return t.ZWalk(k, rev, func(m []byte, s float64) bool {
		if !rev {
			if !started {
				if !r.GteMin(m) {
					return true
				}
				started = true
			}
			if !r.LteMax(m) {
				return false
			}
		} else {
			if !started {
				if !r.LteMax(m) {
					return true
				}
				started = true
			}
			if !r.GteMin(m) {
				return false
			}
		}
		return fn(m, s)
	})
}

// ZRank returns how many members come before member (at score) in score
// order, or after it when rev: its rank. It counts index entries, so it is
// O(rank).
func (t *Tx) ZRank(k *Key, member []byte, score float64, rev bool) (int64, error) {
	p := MemberPrefix(k, ZTagScore)
	at := ZIndexKey(k, score, member)
	lower, upper := p, at
	if rev {
		lower, upper = append(at, 0), encoding.PrefixEnd(p)
	}
	var n int64
	err := t.zwalk(lower, upper, len(p), false, func([]byte, float64) bool {
		n++
		return true
	})
	return n, err
}

func (t *Tx) zwalk(lower, upper []byte, plen int, rev bool, fn ZWalkFunc) (err error) {
	it, err := t.Iter(lower, upper)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	var ok bool
	if rev {
		ok = it.Last()
	} else {
		ok = it.First()
	}
	for ok {
		key := it.Key()
		if len(key) < plen+8 {
			return encoding.ErrCorrupt
		}
		key = key[plen:]
		if !fn(key[8:], encoding.DecodeFloat(key)) {
			break
		}
		if rev {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	return it.Error()
}

// WalkMembers walks k's sub-keys with tag in key order, starting after the
// suffix after (nil: from the first). fn gets each sub-key's suffix and
// value, both valid only during the call; returning false stops the walk.
// Sorted sets walk their 'm' entries this way (member order, for ZSCAN and
// the set operations), and sets, whose members are 'm' sub-keys too.
func (t *Tx) WalkMembers(k *Key, tag byte, after []byte, fn func(suffix, value []byte) bool) (err error) {
	p := MemberPrefix(k, tag)
	lower := p
	if after != nil {
		lower = append(append(bytes.Clone(p), after...), 0)
	}
	it, err := t.Iter(lower, encoding.PrefixEnd(p))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for ok := it.First(); ok; ok = it.Next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			return verr
		}
		if !fn(it.Key()[len(p):], v) {
			break
		}
	}
	return it.Error()
}

// ZDecodeScore decodes a 'm' sub-key's value.
func ZDecodeScore(v []byte) (float64, error) {
	if len(v) != 8 {
		return 0, errors.Join(encoding.ErrCorrupt, errors.New("storage: zset score"))
	}
	return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
}
