package storage

import (
	"bytes"
	"encoding/binary"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Streams keep Redis's model on the metadata + sub-key layout. The
// metadata holds the length (Size) and encoding.StreamMeta; the sub-keys
// of the stream's version are:
//
//	'e' | ID(16)                               → an entry (streamEntry)
//	'n' | master ID(16)                        → a node (streamNode)
//	'g' | group                                → a consumer group (streamgroup.go)
//	'p' | len(group) u32 | group | ID(16)      → an entry pending in a group
//	'c' | len(group) u32 | group | consumer    → a consumer
//	'q' | len(group) u32 | group | len(consumer) u32 | consumer | ID(16)
//	                                           → an entry pending for a consumer
//
// IDs are 16 bytes big-endian, so Pebble's order is ID order and a range
// of IDs is one bounded iteration.
//
// Redis stores a stream's entries in listpacks of at most
// stream-node-max-entries entries and stream-node-max-bytes bytes (as
// they are when each entry is added: Encodings), keyed
// in a radix tree by the ID of their first entry, their master. Where an
// entry falls decides what XINFO reports, which entries approximate
// trimming (~) removes, and what DUMP writes. So Shoal keeps a record per
// node with what Redis's decisions read (the counts of live and deleted
// entries, the listpack's size, the last ID, the master fields), and keeps
// deleted entries as tombstones until their node goes, as Redis marks them
// deleted in their listpack until the whole listpack is freed.
//
// Writers hold the stream's lock, prepared it with PrepareCollection, and
// store the metadata with StreamStore when done.
const (
	streamEntryTag    = 'e'
	streamNodeTag     = 'n'
	streamGroupTag    = 'g'
	streamNACKTag     = 'p'
	streamConsumerTag = 'c'
	streamOwnedTag    = 'q'
)

// streamDeletedFlag marks a tombstone in an entry's flags, as
// STREAM_ITEM_FLAG_DELETED does in a listpack.
const streamDeletedFlag = 1

// StreamEntryLimit is the largest total size of an entry's fields and
// values, and of a node (STREAM_LISTPACK_MAX_SIZE): XADD refuses larger
// entries.
const StreamEntryLimit = 1 << 30

func streamEntryKey(dst []byte, k *Key, id encoding.StreamID) []byte {
	return encoding.AppendStreamID(MemberKey(dst, k, streamEntryTag, nil), id)
}

func streamNodeKey(dst []byte, k *Key, id encoding.StreamID) []byte {
	return encoding.AppendStreamID(MemberKey(dst, k, streamNodeTag, nil), id)
}

// appendStreamEntry encodes an entry: flags(1) | uvarint pairs | then
// each field and value as uvarint length | bytes. pairs alternates
// fields and values.
func appendStreamEntry(dst []byte, flags byte, pairs [][]byte) []byte {
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(pairs)/2))
	for _, p := range pairs {
		dst = binary.AppendUvarint(dst, uint64(len(p)))
		dst = append(dst, p...)
	}
	return dst
}

// decodeStreamEntry decodes an entry into pairs[:0]; the pairs alias v.
func decodeStreamEntry(v []byte, pairs [][]byte) (flags byte, _ [][]byte, err error) {
	if len(v) < 1 {
		return 0, nil, encoding.ErrCorrupt
	}
	flags, v = v[0], v[1:]
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return 0, nil, encoding.ErrCorrupt
	}
	v = v[w:]
	pairs = pairs[:0]
	for i := uint64(0); i < 2*n; i++ {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return 0, nil, encoding.ErrCorrupt
		}
		pairs = append(pairs, v[w:w+int(l)])
		v = v[w+int(l):]
	}
	return flags, pairs, nil
}

// StreamStore stores k's metadata as the stream operations left it in
// k.Meta. Unlike other collections, an empty stream stays.
func (t *Tx) StreamStore(k *Key) { t.storeMeta(k, k.Meta, true) }

// StreamStoreQuiet is StreamStore for the changes Redis does not signal as
// modifying the key (XSETID, XGROUP): WATCH and blocked readers see
// nothing. A new stream is always signalled.
func (t *Tx) StreamStoreQuiet(k *Key) { t.storeMeta(k, k.Meta, !k.Live) }

// StreamAdd appends the entry id with pairs (fields and values
// alternating) to the stream k, whose last ID is before id, in the node
// Redis would put it in.
func (t *Tx) StreamAdd(k *Key, id encoding.StreamID, pairs [][]byte) error {
	var node *streamNode
	if k.Meta.Stream.Nodes > 0 {
		var err error
		if node, err = t.streamLastNode(k); err != nil {
			return err
		}
	}
	total := 0
	for _, p := range pairs {
		total += len(p)
	}
	if node != nil {
		e := t.s.Encodings()
		maxBytes := uint64(e.StreamNodeBytes)
		if maxBytes == 0 || maxBytes > StreamEntryLimit {
			maxBytes = StreamEntryLimit
		}
		if node.lpBytes()+uint64(total) >= maxBytes || e.StreamNodeEntries > 0 && node.count+node.deleted >= uint64(e.StreamNodeEntries) {
			node = nil
		}
	}
	if node == nil {
		node = newStreamNode(id, pairs)
		k.Meta.Stream.Nodes++
	}
	node.add(id, pairs)
	t.putStreamNode(k, node)
	t.SetMember(streamEntryKey(nil, k, id), appendStreamEntry(nil, 0, pairs))
	s := &k.Meta.Stream
	k.Meta.Size++
	s.EntriesAdded++
	s.LastID = id
	if k.Meta.Size == 1 {
		s.FirstID = id
	}
	return nil
}

// StreamGet returns copies of the fields and values of the live entry id
// of k; ok is false when there is none.
func (t *Tx) StreamGet(k *Key, id encoding.StreamID) (pairs [][]byte, ok bool, err error) {
	v, ok, err := t.GetMember(streamEntryKey(nil, k, id), nil)
	if err != nil || !ok {
		return nil, false, err
	}
	flags, pairs, err := decodeStreamEntry(v, nil)
	if err != nil || flags&streamDeletedFlag != 0 {
		return nil, false, err
	}
	return pairs, true, nil // they alias v, which GetMember copied
}

// StreamRange calls fn with each live entry of k whose ID is in
// [start, end], in ID order or, when rev, from end to start, until fn
// returns false. pairs is valid only during the call.
func (t *Tx) StreamRange(k *Key, start, end encoding.StreamID, rev bool, fn func(id encoding.StreamID, pairs [][]byte) bool) error {
	if start.Compare(end) > 0 {
		return nil
	}
	return t.streamScan(k, start, end, rev, func(id encoding.StreamID, flags byte, pairs [][]byte) bool {
		if flags&streamDeletedFlag != 0 {
			return true
		}
		return fn(id, pairs)
	})
}

// streamScan iterates the entries of k in [start, end], tombstones
// included.
func (t *Tx) streamScan(k *Key, start, end encoding.StreamID, rev bool, fn func(id encoding.StreamID, flags byte, pairs [][]byte) bool) error {
	var pairs [][]byte
	var derr error
	err := t.scanIDs(MemberPrefix(k, streamEntryTag), start, end, rev, func(id encoding.StreamID, v []byte) bool {
		var flags byte
		if flags, pairs, derr = decodeStreamEntry(v, pairs); derr != nil {
			return false
		}
		return fn(id, flags, pairs)
	})
	if err != nil {
		return err
	}
	return derr
}

// StreamEdge returns the ID of the first live entry of k, or of the last
// when last; ok is false when k has none.
func (t *Tx) StreamEdge(k *Key, last bool) (id encoding.StreamID, ok bool, err error) {
	err = t.StreamRange(k, encoding.StreamID{}, encoding.MaxStreamID, last, func(e encoding.StreamID, _ [][]byte) bool {
		id, ok = e, true
		return false
	})
	return id, ok, err
}

// StreamDelete deletes the entry id of k (XDEL), reporting whether it was
// there. The last live entry of a node takes the node, tombstones
// included, with it, as Redis frees the listpack.
func (t *Tx) StreamDelete(k *Key, id encoding.StreamID) (bool, error) {
	ek := streamEntryKey(nil, k, id)
	v, ok, err := t.GetMember(ek, nil)
	if err != nil || !ok || len(v) == 0 || v[0]&streamDeletedFlag != 0 {
		return false, err
	}
	node, err := t.streamNodeOf(k, id)
	if err != nil {
		return false, err
	}
	if node.count <= 1 {
		if err := t.dropStreamNodes(k, node.master, node.last); err != nil {
			return false, err
		}
		k.Meta.Stream.Nodes--
	} else {
		v[0] |= streamDeletedFlag
		t.SetMember(ek, v)
		node.count--
		node.deleted++
		t.putStreamNode(k, node)
	}
	s := &k.Meta.Stream
	k.Meta.Size--
	if id.Compare(s.MaxDeletedID) > 0 {
		s.MaxDeletedID = id
	}
	if id == s.FirstID || k.Meta.Size == 0 {
		return true, t.streamRefreshFirst(k)
	}
	return true, nil
}

// streamRefreshFirst records the first live entry's ID, or 0-0.
func (t *Tx) streamRefreshFirst(k *Key) error {
	first := encoding.StreamID{}
	if k.Meta.Size > 0 {
		id, ok, err := t.StreamEdge(k, false)
		if err != nil {
			return err
		}
		if ok {
			first = id
		}
	}
	k.Meta.Stream.FirstID = first
	return nil
}

// StreamTrimArgs says how XADD and XTRIM trim a stream.
type StreamTrimArgs struct {
	// ByID trims the entries before MinID (MINID); otherwise the stream
	// keeps its last MaxLen entries (MAXLEN).
	ByID   bool
	MaxLen uint64
	MinID  encoding.StreamID
	// Approx (~) removes whole nodes only.
	Approx bool
	// Limit, when not 0, stops before removing more than that many
	// entries.
	Limit int64
}

// StreamTrim trims k as Redis's streamTrim does and returns the number of
// entries removed: whole nodes from the head while they go entirely, then,
// unless Approx, the entries of the next node that must go, marked
// deleted.
func (t *Tx) StreamTrim(k *Key, a StreamTrimArgs) (int64, error) {
	var (
		removed   int64
		dropTo    *streamNode // the last of the whole nodes removed
		dropFrom  encoding.StreamID
		partial   *streamNode
		length    = k.Meta.Size
		nodesGone uint64
	)
	err := t.streamNodes(k, func(n *streamNode) bool {
		if !a.ByID && length <= a.MaxLen || a.Limit != 0 && removed+int64(n.count) > a.Limit {
			return false
		}
		var whole bool
		if a.ByID {
			whole = n.last.Compare(a.MinID) < 0
		} else {
			whole = length-n.count >= a.MaxLen
		}
		if !whole {
			if !a.Approx {
				partial = n
			}
			return false
		}
		if dropTo == nil {
			dropFrom = n.master
		}
		dropTo = n
		length -= n.count
		removed += int64(n.count)
		nodesGone++
		return true
	})
	if err != nil {
		return 0, err
	}
	if dropTo != nil {
		if err := t.dropStreamNodes(k, dropFrom, dropTo.last); err != nil {
			return 0, err
		}
		k.Meta.Stream.Nodes -= nodesGone
	}
	if partial != nil {
		n, err := t.trimStreamNode(k, partial, a, length)
		if err != nil {
			return 0, err
		}
		length -= n
		removed += int64(n)
	}
	k.Meta.Size = length
	if removed > 0 {
		return removed, t.streamRefreshFirst(k)
	}
	return 0, nil
}

// trimStreamNode marks deleted the entries of node n that a trim removes,
// from its first, and returns how many.
func (t *Tx) trimStreamNode(k *Key, n *streamNode, a StreamTrimArgs, length uint64) (uint64, error) {
	type mark struct {
		id encoding.StreamID
		v  []byte
	}
	var marks []mark
	err := t.streamScan(k, n.master, n.last, false, func(id encoding.StreamID, flags byte, pairs [][]byte) bool {
		if a.ByID && id.Compare(a.MinID) >= 0 || !a.ByID && length <= a.MaxLen {
			return false
		}
		if flags&streamDeletedFlag == 0 {
			marks = append(marks, mark{id, appendStreamEntry(nil, flags|streamDeletedFlag, pairs)})
			length--
		}
		return true
	})
	if err != nil || len(marks) == 0 {
		return 0, err
	}
	for _, m := range marks {
		t.SetMember(streamEntryKey(nil, k, m.id), m.v)
	}
	n.count -= uint64(len(marks))
	n.deleted += uint64(len(marks))
	t.putStreamNode(k, n)
	return uint64(len(marks)), nil
}

// dropStreamNodes deletes the nodes whose masters are in [from, last]
// and their entries, tombstones included, up to last.
func (t *Tx) dropStreamNodes(k *Key, from, last encoding.StreamID) error {
	if err := t.deleteSpan(streamNodeKey(nil, k, from), append(streamNodeKey(nil, k, last), 0)); err != nil {
		return err
	}
	return t.deleteSpan(streamEntryKey(nil, k, from), append(streamEntryKey(nil, k, last), 0))
}

// deleteSpan deletes the sub-keys in [start, end): one by one when there
// are at most pointDeleteMax of them, else with one range tombstone (see
// dropMembers for why).
func (t *Tx) deleteSpan(start, end []byte) error {
	it, err := t.Iter(start, end)
	if err != nil {
		return err
	}
	var keys [][]byte
	ok := it.First()
	for ; ok && len(keys) <= pointDeleteMax; ok = it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
	}
	if err := it.Close(); err != nil {
		return err
	}
	if len(keys) > pointDeleteMax {
		t.DeleteMemberRange(start, end)
		return nil
	}
	for _, key := range keys {
		t.DeleteMember(key)
	}
	return nil
}

// StreamTombstonesFrom reports whether an entry at or after start of the
// stream m may have been deleted (streamRangeHasTombstones with no end):
// a consumer group's read counter stays valid while none was.
func StreamTombstonesFrom(m *encoding.Meta, start encoding.StreamID) bool {
	s := &m.Stream
	if m.Size == 0 || s.MaxDeletedID.IsZero() || s.FirstID.Compare(s.MaxDeletedID) > 0 {
		return false
	}
	return start.Compare(s.MaxDeletedID) <= 0
}

// StreamEntriesRead returns the read counter of a group of the stream m
// whose last delivered ID is id, as Redis 7.0's
// streamEstimateDistanceFromFirstEverEntry computes it, or -1 when it
// cannot be known: after deletions, or for an ID between the first and
// the last entry.
func StreamEntriesRead(m *encoding.Meta, id encoding.StreamID) int64 {
	s := &m.Stream
	added := int64(s.EntriesAdded)
	if added == 0 {
		return 0
	}
	last := id.Compare(s.LastID)
	switch {
	case m.Size == 0 && last <= 0, last == 0:
		return added
	case last > 0:
		return -1
	}
	if s.MaxDeletedID.IsZero() || s.MaxDeletedID.Compare(s.FirstID) < 0 {
		switch id.Compare(s.FirstID) {
		case -1:
			return added - int64(m.Size)
		case 0:
			return added - int64(m.Size) + 1
		}
	}
	return -1
}

// StreamFirstEntry returns the ID of the first entry of k, deleted or
// not, or the largest ID when there is none (Redis's streamGetEdgeID
// without skipping tombstones): the MINID Redis replicates for a MINID ~.
func (t *Tx) StreamFirstEntry(k *Key) (encoding.StreamID, error) {
	id := encoding.MaxStreamID
	err := t.streamScan(k, encoding.StreamID{}, encoding.MaxStreamID, false, func(e encoding.StreamID, _ byte, _ [][]byte) bool {
		id = e
		return false
	})
	return id, err
}
