package storage

import (
	"bytes"
	"encoding/binary"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A streamNode is what Shoal keeps of one of Redis's stream listpacks: the
// ID of its first entry (its master, the radix tree's key), the fields of
// that entry (the master fields, which entries with the same fields do not
// repeat), its counts of live and deleted entries, the ID of its last
// entry, deleted or not, and the size of the listpack without the two
// counts, so that its size is known as the counts change.
//
// Record, under streamNodeKey(master):
//
//	uvarint count | uvarint deleted | uvarint body | last ID(16) |
//	uvarint fields | (uvarint length | field)*
type streamNode struct {
	master         encoding.StreamID
	count, deleted uint64
	body           uint64
	last           encoding.StreamID
	fields         [][]byte
}

// lpFlagSameFields marks, in a listpack, an entry whose fields are the
// master fields and are left out (STREAM_ITEM_FLAG_SAMEFIELDS); the
// deleted flag is streamDeletedFlag.
const lpFlagSameFields = 2

// newStreamNode starts the node whose first entry will be id with pairs:
// its listpack holds the header, the master entry (count, deleted, the
// fields and a 0) and the terminator.
func newStreamNode(id encoding.StreamID, pairs [][]byte) *streamNode {
	n := &streamNode{master: id}
	n.body = listpackHeaderSize + 1 + uint64(listpackIntSize(int64(len(pairs)/2))) + uint64(listpackIntSize(0))
	for i := 0; i < len(pairs); i += 2 {
		n.fields = append(n.fields, bytes.Clone(pairs[i]))
		n.body += uint64(listpackEntrySize(pairs[i]))
	}
	return n
}

// lpBytes is the size of the node's listpack.
func (n *streamNode) lpBytes() uint64 {
	return n.body + uint64(listpackIntSize(int64(n.count))+listpackIntSize(int64(n.deleted)))
}

// sameFields reports whether pairs has the node's master fields, in
// order: such an entry is written with lpFlagSameFields and no fields.
func (n *streamNode) sameFields(pairs [][]byte) bool {
	if len(pairs) != 2*len(n.fields) {
		return false
	}
	for i, f := range n.fields {
		if !bytes.Equal(pairs[2*i], f) {
			return false
		}
	}
	return true
}

// entrySize is the size of the listpack elements of the entry id with
// pairs: flags, the ID's two differences from the master, [the number of
// fields and the fields], the values and the element count.
func (n *streamNode) entrySize(id encoding.StreamID, pairs [][]byte) uint64 {
	nf := len(pairs) / 2
	size := listpackIntSize(lpFlagSameFields) + listpackIntSize(int64(id.Ms-n.master.Ms)) + listpackIntSize(int64(id.Seq-n.master.Seq))
	count := nf + 3
	same := n.sameFields(pairs)
	if !same {
		size += listpackIntSize(int64(nf))
		count += nf + 1
	}
	for i, p := range pairs {
		if i%2 == 1 || !same {
			size += listpackEntrySize(p)
		}
	}
	return uint64(size + listpackIntSize(int64(count)))
}

// add accounts for the live entry id appended to the node.
func (n *streamNode) add(id encoding.StreamID, pairs [][]byte) {
	n.body += n.entrySize(id, pairs)
	n.count++
	n.last = id
}

func (n *streamNode) encode() []byte {
	v := binary.AppendUvarint(nil, n.count)
	v = binary.AppendUvarint(v, n.deleted)
	v = binary.AppendUvarint(v, n.body)
	v = encoding.AppendStreamID(v, n.last)
	v = binary.AppendUvarint(v, uint64(len(n.fields)))
	for _, f := range n.fields {
		v = binary.AppendUvarint(v, uint64(len(f)))
		v = append(v, f...)
	}
	return v
}

// decodeStreamNode decodes the node record v stored under key; the node
// keeps copies.
func decodeStreamNode(key, v []byte) (*streamNode, error) {
	if len(key) < 16 {
		return nil, encoding.ErrCorrupt
	}
	n := &streamNode{}
	n.master, _ = encoding.DecodeStreamID(key[len(key)-16:])
	var vals [4]uint64
	for i := range vals[:3] {
		x, w := binary.Uvarint(v)
		if w <= 0 {
			return nil, encoding.ErrCorrupt
		}
		vals[i], v = x, v[w:]
	}
	n.count, n.deleted, n.body = vals[0], vals[1], vals[2]
	var ok bool
	if n.last, ok = encoding.DecodeStreamID(v); !ok {
		return nil, encoding.ErrCorrupt
	}
	v = v[16:]
	nf, w := binary.Uvarint(v)
	if w <= 0 || nf > uint64(len(v)) {
		return nil, encoding.ErrCorrupt
	}
	v = v[w:]
	for i := uint64(0); i < nf; i++ {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return nil, encoding.ErrCorrupt
		}
		n.fields = append(n.fields, bytes.Clone(v[w:w+int(l)]))
		v = v[w+int(l):]
	}
	return n, nil
}

func (t *Tx) putStreamNode(k *Key, n *streamNode) {
	t.SetMember(streamNodeKey(nil, k, n.master), n.encode())
}

// streamLastNode returns k's last node; k has one.
func (t *Tx) streamLastNode(k *Key) (*streamNode, error) {
	prefix := MemberPrefix(k, streamNodeTag)
	return t.streamNodeBefore(prefix, encoding.PrefixEnd(prefix))
}

// streamNodeOf returns the node that holds the entry id of k.
func (t *Tx) streamNodeOf(k *Key, id encoding.StreamID) (*streamNode, error) {
	return t.streamNodeBefore(MemberPrefix(k, streamNodeTag), append(streamNodeKey(nil, k, id), 0))
}

// streamNodeBefore returns the last node in [lower, upper).
func (t *Tx) streamNodeBefore(lower, upper []byte) (*streamNode, error) {
	it, err := t.Iter(lower, upper)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, encoding.ErrCorrupt
	}
	return decodeStreamNode(it.Key(), it.Value())
}

// streamNodes calls fn with each node of k in ID order until fn returns
// false.
func (t *Tx) streamNodes(k *Key, fn func(n *streamNode) bool) error {
	return scanDecoded(t, MemberPrefix(k, streamNodeTag), decodeStreamNode, fn)
}

// StreamRaxNodes returns the number of nodes of the radix tree Redis
// would key the nodes of k in: XINFO STREAM's radix-tree-nodes. It reads
// every node of k.
func (t *Tx) StreamRaxNodes(k *Key) (int64, error) {
	var keys [][]byte
	err := t.streamNodes(k, func(n *streamNode) bool {
		keys = append(keys, encoding.AppendStreamID(nil, n.master))
		return true
	})
	if err != nil {
		return 0, err
	}
	return raxNodes(keys), nil
}

// raxNodes counts the nodes of Redis's radix tree (rax.c) holding keys,
// which are sorted, distinct and of one length, so that none is a prefix
// of another. A rax node starts at the root, at each branching point, at
// each child of a branching point and at each key (the leaf holding its
// value); a chain of single children between them is one compressed
// node.
func raxNodes(keys [][]byte) int64 {
	starts := map[string]struct{}{"": {}}
	for i, key := range keys {
		starts[string(key)] = struct{}{}
		if i == 0 {
			continue
		}
		prev := keys[i-1]
		l := 0
		for l < len(key) && l < len(prev) && key[l] == prev[l] {
			l++
		}
		if l == len(key) {
			continue // not distinct
		}
		starts[string(key[:l])] = struct{}{}
		starts[string(key[:l+1])] = struct{}{}
		starts[string(prev[:l+1])] = struct{}{}
	}
	return int64(len(starts))
}
