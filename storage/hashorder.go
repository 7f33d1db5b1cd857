package storage

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sort"

	"github.com/shoaldb/shoal/storage/encoding"
)

// The order of a compact hash. Redis keeps a hash of the compact encoding
// in a listpack, whose fields come in the order they were added (a field
// written again keeps its place), and HGETALL, HKEYS, HVALS, HSCAN and
// DUMP answer in that order. Shoal's fields are sub-keys in byte order, so
// a compact hash's metadata also lists its fields in order (Meta.Order),
// written with the size that every write of a new field rewrites anyway;
// a write that makes the hash large (a hashtable, whose order is its hash
// table's in Redis and not followed) drops the list. A compact hash
// without one (written before orders were kept) is answered in byte order
// and keeps none.

// hashOrderAdd records that field, new to compact hash k, comes last. k's
// size already counts it.
func hashOrderAdd(k *Key, field []byte) {
	m := &k.Meta
	if len(m.Order) == 0 && m.Size > 1 {
		return // written before orders were kept
	}
	// NB: a decoded Order is clipped, so the first append copies it.
	m.Order = binary.AppendUvarint(m.Order, uint64(len(field)))
	m.Order = append(m.Order, field...)
}

// hashOrderRemove takes field, just deleted from compact hash k, out of
// its order.
func hashOrderRemove(k *Key, field []byte) error {
	order := k.Meta.Order
	for off := 0; off < len(order); {
		f, end, err := orderField(order, off)
		if err != nil {
			return err
		}
		if bytes.Equal(f, field) {
			// NB: a copy, as Order may alias a record.
			k.Meta.Order = append(slices.Clip(order[:off]), order[end:]...)
			return nil
		}
		off = end
	}
	return nil
}

// orderField returns the field of order at off and the offset after it.
func orderField(order []byte, off int) (field []byte, end int, err error) {
	n, w := binary.Uvarint(order[off:])
	if w <= 0 || n > uint64(len(order)-off-w) {
		return nil, 0, encoding.ErrCorrupt
	}
	end = off + w + int(n)
	return order[off+w : end], end, nil
}

// hashOrderOf returns the order of the compact hash built whole from
// items (fields and values alternating, in order).
func hashOrderOf(items [][]byte) []byte {
	var order []byte
	for i := 0; i < len(items); i += 2 {
		order = binary.AppendUvarint(order, uint64(len(items[i])))
		order = append(order, items[i]...)
	}
	return order
}

// hashOrder returns the fields of hash k in the order its metadata keeps,
// nil when it keeps none (a large hash, or one written before orders
// were kept). They alias k's metadata.
func hashOrder(k *Key) ([][]byte, error) {
	order := k.Meta.Order
	if k.Meta.Enc != encoding.EncCompact || len(order) == 0 {
		return nil, nil
	}
	fields := make([][]byte, 0, min(k.Meta.Size, 1024))
	for off := 0; off < len(order); {
		f, end, err := orderField(order, off)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		off = end
	}
	return fields, nil
}

// HashWalk calls fn for every field of the live hash k and its value, in
// the order Redis answers them: a compact hash's in the order its fields
// were added, a large one's in byte order. field and value are fn's only
// during the call.
func (t *Tx) HashWalk(k *Key, fn func(field, value []byte) bool) error {
	fields, vals, err := t.HashEntries(k)
	for i := range fields {
		if !fn(fields[i], vals[i]) {
			break
		}
	}
	return err
}

// HashEntries returns every field of the live hash k and its value, in
// HashWalk's order; they are the caller's.
func (t *Tx) HashEntries(k *Key) (fields, vals [][]byte, err error) {
	order, err := hashOrder(k)
	if err != nil {
		return nil, nil, err
	}
	// NB: the fields and values are copied into one buffer, and come in
	// byte order: a compact hash's are then put in its order, each found
	// by a binary search.
	n := min(k.Meta.Size, 1<<16)
	buf := make([]byte, 0, 32*n)
	ends := make([]int, 0, 2*n) // where each field and each value end in buf
	if _, err := t.HashScan(k, nil, func(f, v []byte) bool {
		buf = append(buf, f...)
		ends = append(ends, len(buf))
		buf = append(buf, v...)
		ends = append(ends, len(buf))
		return true
	}); err != nil {
		return nil, nil, err
	}
	span := func(i int) []byte {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return buf[start:ends[i]:ends[i]]
	}
	count := len(ends) / 2
	both := make([][]byte, 2*count)
	fields, vals = both[:count:count], both[count:]
	for i := range count {
		fields[i], vals[i] = span(2*i), span(2*i+1)
	}
	if order == nil || len(order) != count {
		// NB: an order that disagrees with the fields is not followed.
		return fields, vals, nil
	}
	// NB: ends is free now: it takes the order's positions in fields.
	at := ends[:count]
	seen := make([]uint64, count/64+1)
	for i, f := range order {
		j := sort.Search(count, func(j int) bool { return bytes.Compare(fields[j], f) >= 0 })
		if j == count || !bytes.Equal(fields[j], f) || seen[j/64]&(1<<(j%64)) != 0 {
			return fields, vals, nil
		}
		seen[j/64] |= 1 << (j % 64)
		at[i] = j
	}
	out := make([][]byte, 2*count)
	of, ov := out[:count:count], out[count:]
	for i, j := range at {
		of[i], ov[i] = fields[j], vals[j]
	}
	return of, ov, nil
}
