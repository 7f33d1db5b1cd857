package storage

import (
	"encoding/binary"
	"fmt"
)

// Lists keep their elements as sub-keys indexed by position:
//
//	sub-key: SubPrefix(key, version) | 'i' | index uint64 BE   → element
//
// The metadata's Head and Tail delimit the elements, which live at the
// dense indexes [Head, Tail). A new list starts at encoding.ListIndexBase,
// so LPUSH (Head-1) and RPUSH (Tail+1) never wrap. Because indexes are
// fixed-width big-endian, Pebble's key order is list order and a range of
// positions is one bounded iteration.
//
// Positions in this file's API are 0-based from the head, already checked
// by the caller against ListLen; the element calls take the key's lock
// from the caller (WriteKey) and end with SetSize, which stores Head and
// Tail with the metadata or deletes the key when the list is empty.

const listTag = 'i'

// ListItemKey returns the sub-key of the element at absolute index i of
// list k, appended to dst.
func ListItemKey(dst []byte, k *Key, i uint64) []byte {
	dst = MemberKey(dst, k, listTag, nil)
	return binary.BigEndian.AppendUint64(dst, i)
}

// ListLen returns the number of elements of list k (0 when not live).
func ListLen(k *Key) uint64 {
	if !k.Live {
		return 0
	}
	return k.Meta.Tail - k.Meta.Head
}

// ListPush adds vals one by one at the head (left) or the tail of k, which
// PrepareCollection readied as a list, so LPUSH a b c leaves c b a. It
// stores the metadata and returns the new length.
func (t *Tx) ListPush(k *Key, left bool, vals [][]byte) uint64 {
	var buf []byte
	for _, v := range vals {
		if left {
			k.Meta.Head--
			buf = ListItemKey(buf[:0], k, k.Meta.Head)
		} else {
			buf = ListItemKey(buf[:0], k, k.Meta.Tail)
			k.Meta.Tail++
		}
		t.SetMember(buf, v)
	}
	n := k.Meta.Tail - k.Meta.Head
	t.SetSize(k, n)
	return n
}

// ListPop removes up to n elements from the head (left) or the tail of the
// live list k and returns copies of them in pop order: head first for
// left, tail first for right. The key is deleted when it empties.
func (t *Tx) ListPop(k *Key, left bool, n uint64) ([][]byte, error) {
	size := ListLen(k)
	if n > size {
		n = size
	}
	if n == 0 {
		return nil, nil
	}
	from, to := k.Meta.Head, k.Meta.Head+n
	if !left {
		from, to = k.Meta.Tail-n, k.Meta.Tail
	}
	out := make([][]byte, 0, n)
	if n <= pointDeleteMax {
		// NB: the metadata knows the indexes: read and delete them point by
		// point. An iterator and a range tombstone per pop would make a long
		// queue quadratic, each iterator fragmenting every earlier tombstone.
		var key []byte
		for j := uint64(0); j < n; j++ {
			i := from + j
			if !left {
				i = to - 1 - j
			}
			key = ListItemKey(key[:0], k, i)
			v, ok, err := t.GetMember(key, nil)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("storage: list %q has no element at index %d", k.Name, i)
			}
			out = append(out, v)
			if n < size {
				t.DeleteMember(key)
			}
		}
	} else {
		err := t.listScan(k, from, to, !left, func(_ uint64, v []byte) bool {
			out = append(out, append([]byte(nil), v...))
			return true
		})
		if err != nil {
			return nil, err
		}
		if n < size {
			t.DeleteMemberRange(ListItemKey(nil, k, from), ListItemKey(nil, k, to))
		}
	}
	if n == size {
		t.SetSize(k, 0) // the whole list goes with its metadata
		return out, nil
	}
	if left {
		k.Meta.Head = to
	} else {
		k.Meta.Tail = from
	}
	t.SetSize(k, size-n)
	return out, nil
}

// ListGet returns a copy of the element at position pos of list k,
// appended to dst[:0]; ok is false if it is missing.
func (t *Tx) ListGet(k *Key, pos uint64, dst []byte) (v []byte, ok bool, err error) {
	return t.GetMember(ListItemKey(nil, k, k.Meta.Head+pos), dst)
}

// ListSet replaces the element at position pos of list k.
func (t *Tx) ListSet(k *Key, pos uint64, v []byte) {
	t.SetMember(ListItemKey(nil, k, k.Meta.Head+pos), v)
	t.Touch(k)
}

// ListRange calls fn with each element at positions [from, to] of list k,
// from head to tail, or tail to head when reverse, until fn returns false.
// v is valid only during the call.
func (t *Tx) ListRange(k *Key, from, to uint64, reverse bool, fn func(pos uint64, v []byte) bool) error {
	if from > to {
		return nil
	}
	h := k.Meta.Head
	return t.listScan(k, h+from, h+to+1, reverse, func(i uint64, v []byte) bool {
		return fn(i-h, v)
	})
}

// listScan iterates the elements at absolute indexes [from, to).
func (t *Tx) listScan(k *Key, from, to uint64, reverse bool, fn func(i uint64, v []byte) bool) error {
	lo, hi := ListItemKey(nil, k, from), ListItemKey(nil, k, to)
	it, err := t.Iter(lo, hi)
	if err != nil {
		return err
	}
	valid := it.First
	next := it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	for ok := valid(); ok; ok = next() {
		key := it.Key()
		idx := binary.BigEndian.Uint64(key[len(key)-8:])
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if !fn(idx, v) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// listLoad returns copies of the elements at absolute indexes [from, to).
func (t *Tx) listLoad(k *Key, from, to uint64) ([][]byte, error) {
	var out [][]byte
	if from < to {
		out = make([][]byte, 0, to-from)
	}
	err := t.listScan(k, from, to, false, func(_ uint64, v []byte) bool {
		out = append(out, append([]byte(nil), v...))
		return true
	})
	return out, err
}

// ListInsert inserts v so that it ends at position pos (0..len) of the
// live list k, moving the elements of the shorter side by one index, and
// stores the metadata. It returns the new length.
func (t *Tx) ListInsert(k *Key, pos uint64, v []byte) (uint64, error) {
	size := ListLen(k)
	h := k.Meta.Head
	var buf []byte
	if pos < size-pos {
		// Shift [0, pos) one index towards the head.
		moved, err := t.listLoad(k, h, h+pos)
		if err != nil {
			return 0, err
		}
		for i, e := range moved {
			buf = ListItemKey(buf[:0], k, h-1+uint64(i))
			t.SetMember(buf, e)
		}
		k.Meta.Head--
		t.SetMember(ListItemKey(buf[:0], k, h+pos-1), v)
	} else {
		// Shift [pos, len) one index towards the tail.
		moved, err := t.listLoad(k, h+pos, k.Meta.Tail)
		if err != nil {
			return 0, err
		}
		for i, e := range moved {
			buf = ListItemKey(buf[:0], k, h+pos+1+uint64(i))
			t.SetMember(buf, e)
		}
		k.Meta.Tail++
		t.SetMember(ListItemKey(buf[:0], k, h+pos), v)
	}
	t.SetSize(k, size+1)
	return size + 1, nil
}

// ListRemove removes the elements at positions (ascending, distinct,
// each < len) of the live list k, closing the gaps from the side that
// moves fewer elements, and stores the metadata (deleting the key when it
// empties).
func (t *Tx) ListRemove(k *Key, positions []uint64) error {
	m := uint64(len(positions))
	if m == 0 {
		return nil
	}
	size := ListLen(k)
	if m == size {
		t.SetSize(k, 0)
		return nil
	}
	h, tail := k.Meta.Head, k.Meta.Tail
	first, last := positions[0], positions[m-1]
	var buf []byte
	if size-first <= last+1 {
		// Compact [first, len) towards the head, then drop the last m.
		elems, err := t.listLoad(k, h+first, tail)
		if err != nil {
			return err
		}
		dst, r := h+first, 0
		for i, e := range elems {
			if r < len(positions) && positions[r] == first+uint64(i) {
				r++
				continue
			}
			buf = ListItemKey(buf[:0], k, dst)
			t.SetMember(buf, e)
			dst++
		}
		t.DeleteMemberRange(ListItemKey(nil, k, tail-m), ListItemKey(nil, k, tail))
		k.Meta.Tail = tail - m
	} else {
		// Compact [0, last] towards the tail, then drop the first m.
		elems, err := t.listLoad(k, h, h+last+1)
		if err != nil {
			return err
		}
		dst, r := h+last, len(positions)-1
		for i := len(elems) - 1; i >= 0; i-- {
			if r >= 0 && positions[r] == uint64(i) {
				r--
				continue
			}
			buf = ListItemKey(buf[:0], k, dst)
			t.SetMember(buf, elems[i])
			dst--
		}
		t.DeleteMemberRange(ListItemKey(nil, k, h), ListItemKey(nil, k, h+m))
		k.Meta.Head = h + m
	}
	t.SetSize(k, size-m)
	return nil
}

// ListTrim keeps the positions [from, to] of the live list k and drops the
// rest with range tombstones; from > to or from >= len empties the list.
func (t *Tx) ListTrim(k *Key, from, to uint64) {
	size := ListLen(k)
	if from > to || from >= size {
		t.SetSize(k, 0)
		return
	}
	if to >= size {
		to = size - 1
	}
	if from == 0 && to == size-1 {
		return
	}
	h, tail := k.Meta.Head, k.Meta.Tail
	if from > 0 {
		t.DeleteMemberRange(ListItemKey(nil, k, h), ListItemKey(nil, k, h+from))
	}
	if h+to+1 < tail {
		t.DeleteMemberRange(ListItemKey(nil, k, h+to+1), ListItemKey(nil, k, tail))
	}
	k.Meta.Head, k.Meta.Tail = h+from, h+to+1
	t.SetSize(k, to-from+1)
}
