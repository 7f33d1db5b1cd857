package storage

import (
	"encoding/binary"
	"math"
)

// A list node is a listpack as Redis 7.0's quicklist keeps one
// (listpack.go), stored whole in one sub-key. These calls edit a node in
// place at either end; the element count in its header is set by
// listNodeFinish, from the count the list's records keep.

// listNodeEmpty returns a node without elements.
func listNodeEmpty() []byte {
	return []byte{listpackHeaderSize + 1, 0, 0, 0, 0, 0, listpackEnd}
}

// listNodeFinish sets node's header (total size and count n) and
// returns it.
func listNodeFinish(node []byte, n uint64) []byte {
	binary.LittleEndian.PutUint32(node, uint32(len(node)))
	if n > math.MaxUint16-1 {
		n = math.MaxUint16
	}
	binary.LittleEndian.PutUint16(node[4:], uint16(n))
	return node
}

// listNodePush adds v at the head (left) or the tail of node and returns
// the node, which may have moved. scratch is a buffer for v's encoding.
func listNodePush(node, v []byte, left bool, scratch *[]byte) []byte {
	w := listpackWriter{b: (*scratch)[:0]}
	w.appendStr(v)
	*scratch = w.b
	e := w.b
	if !left {
		node = append(node[:len(node)-1], e...)
		return append(node, listpackEnd)
	}
	old := len(node)
	node = append(node, e...)
	copy(node[listpackHeaderSize+len(e):], node[listpackHeaderSize:old])
	copy(node[listpackHeaderSize:], e)
	return node
}

// listNodePop removes the element at the head (left) or the tail of the
// non-empty node and returns a copy of it with the node.
func listNodePop(node []byte, left bool) (v, rest []byte, err error) {
	var num [20]byte
	at, size, err := listNodeEnd(node, left, &num)
	if err != nil {
		return nil, nil, err
	}
	e, _, _ := listpackEntry(node[at:len(node)-1], &num)
	v = append([]byte(nil), e...)
	return v, append(node[:at], node[at+size:]...), nil
}

// listNodeDrop removes the element at the head (left) or the tail of the
// non-empty node and returns the node.
func listNodeDrop(node []byte, left bool) ([]byte, error) {
	var num [20]byte
	at, size, err := listNodeEnd(node, left, &num)
	if err != nil {
		return nil, err
	}
	return append(node[:at], node[at+size:]...), nil
}

// listNodeEnd returns the offset and size of the element at the head
// (left) or the tail of the non-empty node.
func listNodeEnd(node []byte, left bool, num *[20]byte) (at, size int, err error) {
	at = listpackHeaderSize
	if !left {
		if at, err = listNodeLast(node); err != nil {
			return 0, 0, err
		}
	}
	if at >= len(node)-1 {
		return 0, 0, errListNode
	}
	_, size, ok := listpackEntry(node[at:len(node)-1], num)
	if !ok {
		return 0, 0, errListNode
	}
	return at, size, nil
}

// listNodeLast returns the offset of the last element of the non-empty
// node, read from its back-length: the last byte holds the least
// significant 7 bits, and each byte but the first stored has the high bit
// set.
func listNodeLast(node []byte) (int, error) {
	end := len(node) - 1 // the terminator
	l, shift, i := 0, 0, end-1
	for ; i >= listpackHeaderSize; i-- {
		c := node[i]
		l |= int(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			break
		}
	}
	at := i - l
	if i < listpackHeaderSize || at < listpackHeaderSize || shift > 35 {
		return 0, errListNode
	}
	return at, nil
}

// listNodeEach calls fn with each element of node from the head, integers
// as their decimal text, until fn returns false; v is valid only during
// the call.
func listNodeEach(node []byte, fn func(v []byte) bool) error {
	var num [20]byte
	if len(node) < listpackHeaderSize+1 {
		return errListNode
	}
	p := node[listpackHeaderSize : len(node)-1]
	for len(p) > 0 {
		e, size, ok := listpackEntry(p, &num)
		if !ok {
			return errListNode
		}
		if !fn(e) {
			return nil
		}
		p = p[size:]
	}
	return nil
}

// listNodeOffsets returns the offsets in node of its elements, head first.
func listNodeOffsets(node []byte) ([]int, error) {
	var num [20]byte
	var offs []int
	at := listpackHeaderSize
	for at < len(node)-1 {
		_, size, ok := listpackEntry(node[at:len(node)-1], &num)
		if !ok {
			return nil, errListNode
		}
		offs = append(offs, at)
		at += size
	}
	return offs, nil
}

// listNodeItems returns copies of node's elements, head first.
func listNodeItems(node []byte) ([][]byte, error) {
	var out [][]byte
	err := listNodeEach(node, func(v []byte) bool {
		out = append(out, append([]byte(nil), v...))
		return true
	})
	return out, err
}

// listNodeSizes are the node sizes of list-max-listpack-size -1 to -5
// (quicklist.c's optimization_level).
var listNodeSizes = [...]int{4096, 8192, 16384, 32768, 65536}

const (
	// listNodeSafetyLimit bounds a node counted by elements (a positive
	// list-max-listpack-size) in bytes as well (SIZE_SAFETY_LIMIT).
	listNodeSafetyLimit = 8192
	// listFillMax is the largest element count a node may be given.
	listFillMax = 1 << 15
)

// ListInsertOverhead is the bytes beyond its own n that Redis 7.0's
// _quicklistNodeAllowInsert counts for an element of n bytes: its
// header and the previous entry's length.
func ListInsertOverhead(n int) int {
	over := 1 // the previous entry's length
	if n >= 254 {
		over = 5
	}
	switch {
	case n < 64:
		over++
	case n < 16384:
		over += 2
	default:
		over += 5
	}
	return over
}

// listFits reports whether an element of vlen bytes may join a node of
// size bytes holding n elements under list-max-listpack-size fill, as
// Redis 7.0's _quicklistNodeAllowInsert decides: a negative fill bounds
// the node's estimated size, a positive one its count (and its size by
// listNodeSafetyLimit). An empty node takes any element.
func listFits(fill int64, size int, n uint64, vlen int) bool {
	if n == 0 {
		return true
	}
	est := size + vlen + ListInsertOverhead(vlen)
	if fill < 0 {
		i := min(-fill-1, int64(len(listNodeSizes)-1))
		return est <= listNodeSizes[i]
	}
	return est <= listNodeSafetyLimit && int64(n) < min(fill, listFillMax)
}

// listChunk packs items into nodes as listFits allows, in order.
func listChunk(items [][]byte, fill int64) [][]byte {
	var nodes [][]byte
	w := newListpackWriter()
	for _, v := range items {
		if !listFits(fill, len(w.b)+1, uint64(w.n), len(v)) {
			nodes = append(nodes, w.bytes())
			w = newListpackWriter()
		}
		w.appendStr(v)
	}
	if w.n > 0 {
		nodes = append(nodes, w.bytes())
	}
	return nodes
}
