package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Lists keep their elements in nodes, as Redis's quicklist does: each node
// is a listpack of consecutive elements, bounded by list-max-listpack-size
// (listFits), stored whole in one sub-key:
//
//	sub-key: SubPrefix(key, version) | 'i' | seq uint64 BE   → listpack
//	sub-key: SubPrefix(key, version) | 'j'                   → node index
//
// Nodes are ordered by their sequence numbers, which are sparse: a node
// added at the head takes the head's seq minus listSeqStep, one at the
// tail the tail's plus listSeqStep, and a node split in the middle takes a
// seq between its neighbours' (all nodes are renumbered when there is no
// room left). The metadata holds the head and tail nodes' seqs and element
// counts and the number of nodes, so a push or a pop reads and writes the
// metadata and one node. The node index, present when there are two nodes
// or more, lists every node's seq and element count (seq uint64 BE | count
// uint32 BE), head first; the counts of the head and tail nodes in it are
// stale, the metadata's count. It is rewritten when nodes come or go or an
// inner node changes, and read to find the node of a position inside the
// list: LINDEX, LSET and LRANGE read the index and the nodes they need,
// never the nodes before.
//
// Writes to nodes and the index are kept in the Tx (Tx.lists) until it
// commits, so a pipeline of pushes to one list writes its tail node once;
// anything that reads sub-keys past the list calls (an iterator, a
// savepoint, a commit) flushes them into the batch first. Nodes are
// deleted one by one, never by range, so the hot cache may hold them.
//
// Positions in this file's API are 0-based from the head, already checked
// by the caller against ListLen; the calls take the key's lock from the
// caller (WriteKey) and end with SetSize, which stores the metadata or
// deletes the key when the list is empty.

const (
	listTag      = 'i'
	listIndexTag = 'j'
	// listSeqStep is the distance between the seqs of nodes added at the
	// ends, which leaves room for splits between them.
	listSeqStep = 1 << 20
	// listRefSize is the size of a node index entry.
	listRefSize = 12
)

// errListNode reports a list node or node index that cannot be decoded.
var errListNode = fmt.Errorf("%w: list node", encoding.ErrCorrupt)

// listRef is a node in the node index: its seq and element count.
type listRef struct{ seq, n uint64 }

// ListNodeKey returns the sub-key of the node with seq of list k,
// appended to dst.
func ListNodeKey(dst []byte, k *Key, seq uint64) []byte {
	dst = MemberKey(dst, k, listTag, nil)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// ListLen returns the number of elements of list k (0 when not live).
func ListLen(k *Key) uint64 {
	if !k.Live {
		return 0
	}
	return k.Meta.Size
}

// listRec is a list record written and not yet in the batch.
type listRec struct {
	v []byte // nil: deleted
	// log, when logged, is the edit log that makes v from the stored
	// node: it was read from the store and only edited at its ends since
	// (listmerge.go).
	log    []byte
	logged bool
}

// listRecord reads a node or the node index of a list through t's
// unflushed list writes; the result is t's to modify.
func (t *Tx) listRecord(sk []byte) ([]byte, bool, error) {
	if r := t.lists[string(sk)]; r != nil {
		return r.v, r.v != nil, nil
	}
	var dst []byte
	if n := len(t.spareNodes); n > 0 {
		dst, t.spareNodes = t.spareNodes[n-1], t.spareNodes[:n-1]
	}
	return t.GetMember(sk, dst)
}

// listRecOf returns the record t keeps for sk, made when there is none.
// NB: records are pointers so that a record written again in a pipeline
// costs no map assignment, which would copy its key.
func (t *Tx) listRecOf(sk []byte) *listRec {
	if r := t.lists[string(sk)]; r != nil {
		return r
	}
	if t.lists == nil {
		t.lists = map[string]*listRec{}
	}
	var r *listRec
	if n := len(t.spareRecs); n > 0 {
		r, t.spareRecs = t.spareRecs[n-1], t.spareRecs[:n-1]
	} else {
		r = &listRec{}
	}
	t.lists[string(sk)] = r
	return r
}

// putListRecord keeps a list record write (nil: a delete) until flush.
func (t *Tx) putListRecord(sk, v []byte) {
	r := t.listRecOf(sk)
	r.v, r.logged = v, false
}

// nodeLog returns the edit log to extend for an edit at an end of node
// sk, and whether the node's edits may be logged rather than the node
// written whole: it was read from the store, in this Tx or unedited, and
// only edited at its ends since.
func (t *Tx) nodeLog(sk []byte) ([]byte, bool) {
	r := t.lists[string(sk)]
	if r == nil {
		var log []byte
		if n := len(t.spareLogs); n > 0 {
			log, t.spareLogs = t.spareLogs[n-1], t.spareLogs[:n-1]
		}
		return log, true
	}
	if !r.logged {
		return nil, false
	}
	return r.log, true
}

// putListNode keeps node sk's new value node and, when logged, the edit
// log that makes it from the stored node.
func (t *Tx) putListNode(sk, node, log []byte, logged bool) {
	r := t.listRecOf(sk)
	r.v, r.logged = node, logged && len(log) > 0
	if r.logged {
		r.log = log
	} else if cap(log) > 0 && len(t.spareLogs) < 32 {
		t.spareLogs = append(t.spareLogs, log[:0])
	}
}

// flushLists writes the list records t keeps into its batch: a node
// with an edit log as a merge of the log.
func (t *Tx) flushLists() {
	if len(t.lists) == 0 {
		return
	}
	for sk, r := range t.lists {
		t.kbuf = append(t.kbuf[:0], sk...)
		switch {
		case r.v == nil:
			t.DeleteMember(t.kbuf)
		case r.logged:
			t.batch().Merge(t.kbuf, r.log, nil)
			t.trackMember(t.kbuf, r.v, true)
		default:
			t.SetMember(t.kbuf, r.v)
		}
	}
	t.dropLists()
}

// dropLists forgets the list records t keeps, keeping their buffers for
// later records: the batch and the pending map hold copies.
func (t *Tx) dropLists() {
	for _, r := range t.lists {
		if r.v != nil && len(t.spareNodes) < 32 {
			t.spareNodes = append(t.spareNodes, r.v[:0])
		}
		if r.logged && len(t.spareLogs) < 32 {
			t.spareLogs = append(t.spareLogs, r.log[:0])
		}
		if len(t.spareRecs) < 64 {
			*r = listRec{}
			t.spareRecs = append(t.spareRecs, r)
		}
	}
	clear(t.lists)
}

// listNode reads the node with seq of list k; t.lkey is then its
// sub-key, until the next call.
func (t *Tx) listNode(k *Key, seq uint64) ([]byte, error) {
	t.lkey = ListNodeKey(t.lkey[:0], k, seq)
	v, ok, err := t.listRecord(t.lkey)
	if err != nil {
		return nil, err
	}
	if !ok || len(v) < listpackHeaderSize+1 {
		return nil, fmt.Errorf("%w: list %q has no node %d", encoding.ErrCorrupt, k.Name, seq)
	}
	return v, nil
}

// listRefs returns the nodes of the live list k, head first.
func (t *Tx) listRefs(k *Key) ([]listRef, error) {
	m := &k.Meta
	if m.Nodes == 1 {
		return []listRef{{m.Head, m.Size}}, nil
	}
	v, ok, err := t.listRecord(MemberKey(nil, k, listIndexTag, nil))
	if err != nil {
		return nil, err
	}
	if !ok || len(v) != int(m.Nodes)*listRefSize {
		return nil, fmt.Errorf("%w: list %q has a bad node index", encoding.ErrCorrupt, k.Name)
	}
	refs := make([]listRef, m.Nodes)
	for i := range refs {
		e := v[i*listRefSize:]
		refs[i] = listRef{binary.BigEndian.Uint64(e), uint64(binary.BigEndian.Uint32(e[8:]))}
	}
	refs[0].n, refs[len(refs)-1].n = m.HeadLen, m.TailLen
	return refs, nil
}

// storeListRefs records refs as k's nodes: the node index and the
// metadata's node fields and size (stored by the caller's SetSize).
func (t *Tx) storeListRefs(k *Key, refs []listRef) {
	ik := MemberKey(nil, k, listIndexTag, nil)
	if k.Meta.Nodes >= 2 && len(refs) < 2 {
		t.putListRecord(ik, nil)
	}
	if len(refs) >= 2 {
		t.putListRecord(ik, listIndex(refs))
	}
	setListNodes(&k.Meta, refs)
}

// setListNodes sets m's node fields and size to describe refs.
func setListNodes(m *encoding.Meta, refs []listRef) {
	m.Nodes, m.Size = uint64(len(refs)), 0
	if len(refs) == 0 {
		return
	}
	for _, r := range refs {
		m.Size += r.n
	}
	m.Head, m.HeadLen = refs[0].seq, refs[0].n
	m.Tail, m.TailLen = refs[len(refs)-1].seq, refs[len(refs)-1].n
}

// listIndex encodes the node index of refs.
func listIndex(refs []listRef) []byte {
	v := make([]byte, 0, len(refs)*listRefSize)
	for _, r := range refs {
		v = binary.BigEndian.AppendUint64(v, r.seq)
		v = binary.BigEndian.AppendUint32(v, uint32(r.n))
	}
	return v
}

// listFind returns the index in refs of the node holding position pos and
// pos's offset in it.
func listFind(refs []listRef, pos uint64) (int, uint64) {
	for i, r := range refs {
		if pos < r.n {
			return i, pos
		}
		pos -= r.n
	}
	return len(refs) - 1, refs[len(refs)-1].n
}

// listGrow adds d elements to the head (left) or tail node's count.
func listGrow(m *encoding.Meta, left bool, d uint64) {
	m.Size += d
	if m.Nodes == 1 || left {
		m.HeadLen += d
	}
	if m.Nodes == 1 || !left {
		m.TailLen += d
	}
}

// listShrink takes d elements off the head (left) or tail node's count.
func listShrink(m *encoding.Meta, left bool, d uint64) {
	m.Size -= d
	if m.Nodes == 1 || left {
		m.HeadLen -= d
	}
	if m.Nodes == 1 || !left {
		m.TailLen -= d
	}
}

// ListPush adds vals one by one at the head (left) or the tail of k, which
// PrepareCollection readied as a list, so LPUSH a b c leaves c b a. It
// stores the metadata and returns the new length.
func (t *Tx) ListPush(k *Key, left bool, vals [][]byte) (uint64, error) {
	m := &k.Meta
	fill := t.s.Encodings().ListFill
	seq, n := m.Tail, m.TailLen
	if left {
		seq, n = m.Head, m.HeadLen
	}
	var node, log []byte
	logged := false
	var sk []byte
	if m.Nodes == 0 {
		m.Head, m.Tail, m.HeadLen, m.TailLen, m.Nodes, m.Size = encoding.ListIndexBase, encoding.ListIndexBase, 0, 0, 1, 0
		seq, n, node = encoding.ListIndexBase, 0, listNodeEmpty()
		t.lkey = ListNodeKey(t.lkey[:0], k, seq)
		sk = t.lkey
	} else {
		var err error
		if node, err = t.listNode(k, seq); err != nil {
			return 0, err
		}
		sk = t.lkey
		log, logged = t.nodeLog(sk)
	}
	var scratch []byte
	for _, v := range vals {
		if !listFits(fill, len(node), n, len(v)) {
			t.putListNode(sk, listNodeFinish(node, n), log, logged)
			refs, err := t.listRefs(k)
			if err != nil {
				return 0, err
			}
			if left {
				seq = refs[0].seq - listSeqStep
				refs = slices.Insert(refs, 0, listRef{seq, 0})
			} else {
				seq = refs[len(refs)-1].seq + listSeqStep
				refs = append(refs, listRef{seq, 0})
			}
			t.storeListRefs(k, refs)
			node, n, log, logged = listNodeEmpty(), 0, nil, false
			t.lkey = ListNodeKey(t.lkey[:0], k, seq)
			sk = t.lkey
		}
		node = listNodePush(node, v, left, &scratch)
		if logged {
			log = appendPush(log, left, v)
		}
		n++
		listGrow(m, left, 1)
	}
	t.putListNode(sk, listNodeFinish(node, n), log, logged)
	t.SetSize(k, m.Size)
	return m.Size, nil
}

// ListPop removes up to n elements from the head (left) or the tail of the
// live list k and returns copies of them in pop order: head first for
// left, tail first for right. The key is deleted when it empties.
func (t *Tx) ListPop(k *Key, left bool, n uint64) ([][]byte, error) {
	m := &k.Meta
	size := ListLen(k)
	n = min(n, size)
	if n == 0 {
		return nil, nil
	}
	out := make([][]byte, 0, n)
	if n == size {
		err := t.ListRange(k, 0, size-1, !left, func(_ uint64, v []byte) bool {
			out = append(out, append([]byte(nil), v...))
			return true
		})
		if err != nil {
			return nil, err
		}
		t.SetSize(k, 0) // the whole list goes with its metadata
		return out, nil
	}
	for n > 0 {
		seq, cnt := m.Tail, m.TailLen
		if left {
			seq, cnt = m.Head, m.HeadLen
		}
		node, err := t.listNode(k, seq)
		if err != nil {
			return nil, err
		}
		if n >= cnt {
			// The whole node goes, with one delete; another follows it.
			items, err := listNodeItems(node)
			if err != nil {
				return nil, err
			}
			if !left {
				slices.Reverse(items)
			}
			out = append(out, items...)
			refs, err := t.listRefs(k)
			if err != nil {
				return nil, err
			}
			if left {
				refs = refs[1:]
			} else {
				refs = refs[:len(refs)-1]
			}
			t.putListRecord(t.lkey, nil)
			t.storeListRefs(k, refs)
			n -= cnt
			continue
		}
		sk := t.lkey // listNode's
		log, logged := t.nodeLog(sk)
		if logged {
			log = appendPop(log, left, n)
		}
		for ; n > 0; n-- {
			var v []byte
			if v, node, err = listNodePop(node, left); err != nil {
				return nil, err
			}
			out = append(out, v)
			listShrink(m, left, 1)
			cnt--
		}
		t.putListNode(sk, listNodeFinish(node, cnt), log, logged)
	}
	t.SetSize(k, m.Size)
	return out, nil
}

// listLocate returns the seq of the node holding position pos of list k
// and pos's offset in it; refs is the node index when it was read.
func (t *Tx) listLocate(k *Key, pos uint64) (seq, off uint64, refs []listRef, at int, err error) {
	m := &k.Meta
	if pos < m.HeadLen {
		return m.Head, pos, nil, 0, nil
	}
	if pos >= m.Size-m.TailLen {
		return m.Tail, pos - (m.Size - m.TailLen), nil, int(m.Nodes) - 1, nil
	}
	if refs, err = t.listRefs(k); err != nil {
		return 0, 0, nil, 0, err
	}
	at, off = listFind(refs, pos)
	return refs[at].seq, off, refs, at, nil
}

// ListGet returns a copy of the element at position pos of list k,
// appended to dst[:0]; ok is false if it is missing.
func (t *Tx) ListGet(k *Key, pos uint64, dst []byte) (v []byte, ok bool, err error) {
	seq, off, _, _, err := t.listLocate(k, pos)
	if err != nil {
		return nil, false, err
	}
	node, err := t.listNode(k, seq)
	if err != nil {
		return nil, false, err
	}
	err = listNodeEach(node, func(e []byte) bool {
		if off > 0 {
			off--
			return true
		}
		v, ok = append(dst[:0], e...), true
		return false
	})
	return v, ok, err
}

// ListSet replaces the element at position pos of list k.
func (t *Tx) ListSet(k *Key, pos uint64, v []byte) error {
	refs, err := t.listRefs(k)
	if err != nil {
		return err
	}
	at, off := listFind(refs, pos)
	return t.listEdit(k, refs, at, func(items [][]byte) [][]byte {
		items[off] = v
		return items
	})
}

// listEdit rewrites the node at index at of refs with what edit makes of
// its elements, splitting it when they no longer fit one node, and stores
// the metadata.
func (t *Tx) listEdit(k *Key, refs []listRef, at int, edit func(items [][]byte) [][]byte) error {
	node, err := t.listNode(k, refs[at].seq)
	if err != nil {
		return err
	}
	items, err := listNodeItems(node)
	if err != nil {
		return err
	}
	if refs, err = t.listReplace(k, refs, at, edit(items)); err != nil {
		return err
	}
	t.storeListRefs(k, refs)
	t.SetSize(k, k.Meta.Size)
	return nil
}

// listReplace replaces the node at index at of refs with nodes holding
// items (none when items is empty) and returns the new refs; the caller
// stores them.
func (t *Tx) listReplace(k *Key, refs []listRef, at int, items [][]byte) ([]listRef, error) {
	nodes := listChunk(items, t.s.Encodings().ListFill)
	seq := refs[at].seq
	if len(nodes) == 0 {
		t.putListRecord(ListNodeKey(nil, k, seq), nil)
		return slices.Delete(refs, at, at+1), nil
	}
	extra := uint64(len(nodes) - 1)
	hi := seq + listSeqStep*(extra+1)
	if at+1 < len(refs) {
		hi = refs[at+1].seq
	}
	if hi-seq <= extra {
		// No room for the split: renumber every node, then split.
		var err error
		if refs, err = t.listRenumber(k, refs); err != nil {
			return nil, err
		}
		return t.listReplace(k, refs, at, items)
	}
	d := (hi - seq) / (extra + 1)
	repl := make([]listRef, len(nodes))
	for i, node := range nodes {
		repl[i] = listRef{seq + uint64(i)*d, uint64(binary.LittleEndian.Uint16(node[4:]))}
		if repl[i].n == 0xffff {
			repl[i].n = listNodeCount(node)
		}
		t.putListRecord(ListNodeKey(nil, k, repl[i].seq), node)
	}
	return slices.Replace(refs, at, at+1, repl...), nil
}

// listNodeCount counts node's elements.
func listNodeCount(node []byte) uint64 {
	var n uint64
	listNodeEach(node, func([]byte) bool { n++; return true })
	return n
}

// listRenumber moves the nodes of refs to seqs listSeqStep apart and
// returns the new refs.
func (t *Tx) listRenumber(k *Key, refs []listRef) ([]listRef, error) {
	nodes := make([][]byte, len(refs))
	for i, r := range refs {
		node, err := t.listNode(k, r.seq)
		if err != nil {
			return nil, err
		}
		nodes[i] = node
		t.putListRecord(ListNodeKey(nil, k, r.seq), nil)
	}
	out := make([]listRef, len(refs))
	base := encoding.ListIndexBase - uint64(len(refs)/2)*listSeqStep
	for i, r := range refs {
		out[i] = listRef{base + uint64(i)*listSeqStep, r.n}
		t.putListRecord(ListNodeKey(nil, k, out[i].seq), nodes[i])
	}
	return out, nil
}

// ListRange calls fn with each element at positions [from, to] of list k,
// from head to tail, or tail to head when reverse, until fn returns false.
// v is valid only during the call.
func (t *Tx) ListRange(k *Key, from, to uint64, reverse bool, fn func(pos uint64, v []byte) bool) error {
	if from > to {
		return nil
	}
	start := from
	if reverse {
		start = to
	}
	seq, off, refs, at, err := t.listLocate(k, start)
	if err != nil {
		return err
	}
	left := to - from + 1 // elements still to visit
	pos := start
	for {
		node, err := t.listNode(k, seq)
		if err != nil {
			return err
		}
		stop := false
		if !reverse {
			err = listNodeEach(node, func(v []byte) bool {
				if off > 0 {
					off--
					return true
				}
				if !fn(pos, v) {
					stop = true
					return false
				}
				pos++
				left--
				return left > 0
			})
		} else {
			err = listNodeBackward(node, off, func(v []byte) bool {
				if !fn(pos, v) {
					stop = true
					return false
				}
				pos--
				left--
				return left > 0
			})
		}
		if err != nil || stop || left == 0 {
			return err
		}
		if refs == nil {
			if refs, err = t.listRefs(k); err != nil {
				return err
			}
		}
		if reverse {
			at--
		} else {
			at++
		}
		if at < 0 || at >= len(refs) {
			return fmt.Errorf("%w: list %q ends before its length", encoding.ErrCorrupt, k.Name)
		}
		seq, off = refs[at].seq, 0
		if reverse {
			off = refs[at].n - 1
		}
	}
}

// listNodeBackward calls fn with the elements of node from offset off
// towards the head, until fn returns false.
func listNodeBackward(node []byte, off uint64, fn func(v []byte) bool) error {
	offs, err := listNodeOffsets(node)
	if err != nil {
		return err
	}
	if off >= uint64(len(offs)) {
		return errListNode
	}
	var num [20]byte
	for i := int(off); i >= 0; i-- {
		e, _, _ := listpackEntry(node[offs[i]:len(node)-1], &num)
		if !fn(e) {
			return nil
		}
	}
	return nil
}

// ListInsert inserts v so that it ends at position pos (0..len) of the
// live list k, splitting its node when it no longer fits, and stores the
// metadata. It returns the new length.
func (t *Tx) ListInsert(k *Key, pos uint64, v []byte) (uint64, error) {
	if pos == 0 || pos == ListLen(k) {
		return t.ListPush(k, pos == 0, [][]byte{v})
	}
	refs, err := t.listRefs(k)
	if err != nil {
		return 0, err
	}
	at, off := listFind(refs, pos)
	err = t.listEdit(k, refs, at, func(items [][]byte) [][]byte {
		return slices.Insert(items, int(off), v)
	})
	return k.Meta.Size, err
}

// ListRemove removes the elements at positions (ascending, distinct,
// each < len) of the live list k, rewriting the nodes that held them, and
// stores the metadata (deleting the key when it empties).
func (t *Tx) ListRemove(k *Key, positions []uint64) error {
	if len(positions) == 0 {
		return nil
	}
	if uint64(len(positions)) == ListLen(k) {
		t.SetSize(k, 0)
		return nil
	}
	return t.listKeep(k, func(pos uint64) bool {
		_, found := slices.BinarySearch(positions, pos)
		return !found
	}, positions[0], positions[len(positions)-1])
}

// ListTrim keeps the positions [from, to] of the live list k and drops the
// rest; from > to or from >= len empties the list.
func (t *Tx) ListTrim(k *Key, from, to uint64) error {
	size := ListLen(k)
	if from > to || from >= size {
		t.SetSize(k, 0)
		return nil
	}
	to = min(to, size-1)
	if from == 0 && to == size-1 {
		return nil
	}
	keep := func(pos uint64) bool { return pos >= from && pos <= to }
	if from == 0 {
		return t.listKeep(k, keep, to+1, size-1)
	}
	if to == size-1 {
		return t.listKeep(k, keep, 0, from-1)
	}
	return t.listKeep(k, keep, 0, size-1)
}

// listKeep drops the elements of the live list k at positions in [lo, hi]
// that keep rejects, rewriting the nodes that held them and deleting
// nodes that empty, and stores the metadata. At least one element stays.
func (t *Tx) listKeep(k *Key, keep func(pos uint64) bool, lo, hi uint64) error {
	refs, err := t.listRefs(k)
	if err != nil {
		return err
	}
	// From the tail, so that splits and deletes leave the indexes of the
	// nodes still to visit alone.
	end := k.Meta.Size
	for i := len(refs) - 1; i >= 0; i-- {
		start := end - refs[i].n
		first, last := start, end-1
		end = start
		if last < lo || first > hi {
			continue
		}
		if first >= lo && last <= hi && !anyKept(keep, first, last) {
			t.putListRecord(ListNodeKey(nil, k, refs[i].seq), nil)
			refs = slices.Delete(refs, i, i+1)
			continue
		}
		node, err := t.listNode(k, refs[i].seq)
		if err != nil {
			return err
		}
		var items [][]byte
		pos := first
		if err := listNodeEach(node, func(v []byte) bool {
			if keep(pos) {
				items = append(items, append([]byte(nil), v...))
			}
			pos++
			return true
		}); err != nil {
			return err
		}
		if uint64(len(items)) == refs[i].n {
			continue
		}
		if refs, err = t.listReplace(k, refs, i, items); err != nil {
			return err
		}
	}
	if len(refs) == 0 {
		return errors.New("storage: list trim left no element")
	}
	t.storeListRefs(k, refs)
	t.SetSize(k, k.Meta.Size)
	return nil
}

// anyKept reports whether keep accepts a position in [first, last].
func anyKept(keep func(pos uint64) bool, first, last uint64) bool {
	for p := first; p <= last; p++ {
		if keep(p) {
			return true
		}
	}
	return false
}

// restoreList writes items as the nodes of the fresh list k (no records
// yet), straight into the batch, and sets its metadata's node fields and
// size.
func (t *Tx) restoreList(k *Key, items [][]byte) {
	nodes := listChunk(items, t.s.Encodings().ListFill)
	refs := make([]listRef, len(nodes))
	for i, node := range nodes {
		refs[i] = listRef{encoding.ListIndexBase + uint64(i)*listSeqStep, listNodeCount(node)}
		t.SetMember(ListNodeKey(nil, k, refs[i].seq), node)
	}
	if len(refs) >= 2 {
		t.SetMember(MemberKey(nil, k, listIndexTag, nil), listIndex(refs))
	}
	setListNodes(&k.Meta, refs)
}

// appendListNodes appends the nodes of the live list k to dst as a
// quicklist 2 body: the node count, then each node as a packed container
// and its listpack, through str.
func (t *Tx) appendListNodes(dst []byte, k *Key, str func([]byte, []byte) []byte) ([]byte, error) {
	refs, err := t.listRefs(k)
	if err != nil {
		return nil, err
	}
	dst = appendLen(dst, uint64(len(refs)))
	for _, r := range refs {
		node, err := t.listNode(k, r.seq)
		if err != nil {
			return nil, err
		}
		dst = str(appendLen(dst, quicklistNodePacked), listNodeFinish(node, r.n))
	}
	return dst, nil
}

// ListNodeBytes estimates the bytes of the nodes of the live list k from
// the first samples of them (all when samples is 0), as Redis's MEMORY
// USAGE samples a quicklist's nodes.
func (t *Tx) ListNodeBytes(k *Key, samples int64) (int64, error) {
	refs := []listRef{{k.Meta.Head, k.Meta.HeadLen}}
	if samples != 1 && k.Meta.Nodes > 1 {
		var err error
		if refs, err = t.listRefs(k); err != nil {
			return 0, err
		}
	}
	if samples > 0 && int64(len(refs)) > samples {
		refs = refs[:samples]
	}
	var sum int64
	for _, r := range refs {
		node, err := t.listNode(k, r.seq)
		if err != nil {
			return 0, err
		}
		sum += int64(len(node))
	}
	return sum * int64(k.Meta.Nodes) / int64(len(refs)), nil
}
