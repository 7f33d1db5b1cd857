package storage

import "github.com/shoaldb/shoal/storage/encoding"

// Object encodings. Redis keeps a small hash or sorted set in a listpack
// and a small set of integers in an intset, converts the value to a
// hashtable or skiplist when a write takes it past the thresholds in force,
// and never converts it back while the key lives (a value it builds whole,
// for RESTORE or a STORE variant, starts compact when it fits). Shoal
// stores every collection the same way, but records in each key's metadata
// (Meta.Enc) the encoding Redis would have reached, so that OBJECT ENCODING
// answers as Redis does.

// Encodings are the thresholds of Redis's compact encodings, from
// hash-max-listpack-entries and -value, set-max-intset-entries,
// zset-max-listpack-entries and -value and hll-sparse-max-bytes. A value
// stays compact while it has at most that many members, none longer than
// that many bytes.
type Encodings struct {
	HashEntries, HashValue int64
	SetIntsetEntries       int64
	ZSetEntries, ZSetValue int64
	// HllSparseBytes is the size past which a HyperLogLog turns dense.
	HllSparseBytes int64
	// StreamNodeBytes and StreamNodeEntries bound a stream's nodes
	// (stream-node-max-bytes and -entries; 0: no bound), see stream.go.
	StreamNodeBytes, StreamNodeEntries int64
	// ListFill bounds a list's nodes as list-max-listpack-size does (see
	// listFits).
	ListFill int64
}

// DefaultEncodings are Redis 7.0's defaults.
var DefaultEncodings = Encodings{HashEntries: 512, HashValue: 64, SetIntsetEntries: 512,
	ZSetEntries: 128, ZSetValue: 64, HllSparseBytes: 3000, StreamNodeBytes: 4096, StreamNodeEntries: 100, ListFill: -2}

// SetEncodings changes the thresholds (CONFIG SET); the writes that follow
// convert by them. Values already written keep their encoding, as in Redis.
func (s *Store) SetEncodings(e Encodings) { s.enc.Store(&e) }

// Encodings returns the thresholds in force.
func (s *Store) Encodings() Encodings {
	if e := s.enc.Load(); e != nil {
		return *e
	}
	return DefaultEncodings
}

// over reports whether n exceeds the threshold max.
func over(n int, max int64) bool { return int64(n) > max }

// hashWritten applies Redis's conversion after field = value was written to
// hash k (hashTypeTryConversion and hashTypeSet): a field or value longer
// than the threshold, or more fields than it, make a compact hash a
// hashtable.
func (t *Tx) hashWritten(k *Key, field, value []byte) {
	if k.Meta.Enc != encoding.EncCompact {
		return
	}
	e := t.s.Encodings()
	if over(len(field), e.HashValue) || over(len(value), e.HashValue) || over(int(k.Meta.Size), e.HashEntries) {
		k.Meta.Enc = encoding.EncLarge
	}
}

// setAdded applies Redis's conversion after member joined set k
// (setTypeAdd): a member that is no integer, or more members than the
// threshold, make an intset a hashtable.
func (t *Tx) setAdded(k *Key, member []byte) {
	if k.Meta.Enc != encoding.EncCompact {
		return
	}
	if _, ok := encoding.ParseInt(member); !ok || over(int(k.Meta.Size), t.s.Encodings().SetIntsetEntries) {
		k.Meta.Enc = encoding.EncLarge
	}
}

// zsetAdded applies Redis's conversion after member joined sorted set k
// (zsetAdd): a member longer than the threshold, or more members than it,
// make a listpack a skiplist. A score change converts nothing.
func (t *Tx) zsetAdded(k *Key, member []byte) {
	if k.Meta.Enc != encoding.EncCompact {
		return
	}
	e := t.s.Encodings()
	if over(len(member), e.ZSetValue) || over(int(k.Meta.Size), e.ZSetEntries) {
		k.Meta.Enc = encoding.EncLarge
	}
}

// builtEncoding is the encoding Redis gives a hash, set or sorted set it
// builds whole: compact when it fits the thresholds. items are a set's or
// sorted set's members, or a hash's fields and values in turn.
func (t *Tx) builtEncoding(typ encoding.Type, items [][]byte) encoding.Enc {
	e := t.s.Encodings()
	fits := false
	switch typ {
	case encoding.TypeHash:
		fits = !over(len(items)/2, e.HashEntries) && shortItems(items, e.HashValue)
	case encoding.TypeZSet:
		fits = !over(len(items), e.ZSetEntries) && shortItems(items, e.ZSetValue)
	case encoding.TypeSet:
		fits = !over(len(items), e.SetIntsetEntries)
		for _, m := range items {
			if _, ok := encoding.ParseInt(m); !ok {
				fits = false
				break
			}
		}
	default:
		return encoding.EncUnknown
	}
	if fits {
		return encoding.EncCompact
	}
	return encoding.EncLarge
}

func shortItems(items [][]byte, max int64) bool {
	for _, it := range items {
		if over(len(it), max) {
			return false
		}
	}
	return true
}

// Compact reports whether Redis would hold the live hash, set or sorted set
// k in its compact encoding (listpack or intset): as its writes decided or,
// for a collection written before Shoal recorded that, as its contents
// fit the thresholds now, which reads at most that many members.
func (t *Tx) Compact(k *Key) (bool, error) {
	switch k.Meta.Enc {
	case encoding.EncCompact:
		return true, nil
	case encoding.EncLarge:
		return false, nil
	}
	e := t.s.Encodings()
	fits := true
	var err error
	switch k.Meta.Type {
	case encoding.TypeHash:
		if over(int(k.Meta.Size), e.HashEntries) {
			return false, nil
		}
		_, err = t.HashScan(k, nil, func(f, v []byte) bool {
			fits = !over(len(f), e.HashValue) && !over(len(v), e.HashValue)
			return fits
		})
	case encoding.TypeSet:
		if over(int(k.Meta.Size), e.SetIntsetEntries) {
			return false, nil
		}
		_, err = t.SetScan(k, nil, func(m []byte) bool {
			_, fits = encoding.ParseInt(m)
			return fits
		})
	case encoding.TypeZSet:
		if over(int(k.Meta.Size), e.ZSetEntries) {
			return false, nil
		}
		err = t.WalkMembers(k, ZTagMember, nil, func(m, _ []byte) bool {
			fits = !over(len(m), e.ZSetValue)
			return fits
		})
	default:
		return false, nil
	}
	return fits && err == nil, err
}
