package storage

import (
	"bytes"
	"encoding/binary"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Consumer groups of a stream (see stream.go for the sub-keys). A group's
// record holds its last delivered ID, its read counter and the sizes of
// its pending entries list (PEL) and of its consumers, so that XINFO and
// XPENDING's summary need no scan. Each pending entry is one sub-key of
// the group's PEL naming its consumer, and one of the consumer's own PEL,
// which XREADGROUP's history and XPENDING ... <consumer> read in ID order.
//
//	group:    last ID(16) | entries read int64 BE | uvarint pending | uvarint consumers
//	consumer: seen time int64 BE | uvarint pending
//	pending:  delivery time int64 BE | uvarint delivery count | consumer

// StreamGroup is a consumer group opened under its stream's lock. Changes
// to the PEL and to consumers go to the Tx's batch at once; the group's
// own record and those of the consumers it changed are written by Save.
type StreamGroup struct {
	Name   []byte
	LastID encoding.StreamID
	// EntriesRead is the group's read counter, -1 when unknown.
	EntriesRead int64
	// Pending is the size of the group's PEL.
	Pending uint64
	// Consumers is the number of consumers.
	Consumers uint64

	t         *Tx
	k         *Key
	consumers map[string]*StreamConsumer
}

// StreamConsumer is a consumer of a group.
type StreamConsumer struct {
	Name []byte
	// SeenTime is when the consumer last read or claimed (Unix ms).
	SeenTime int64
	// Pending is the size of the consumer's PEL.
	Pending uint64
	dirty   bool
}

// StreamNACK is an entry pending in a group: delivered, not acknowledged.
type StreamNACK struct {
	// DeliveryTime is when it was last delivered (Unix ms).
	DeliveryTime  int64
	DeliveryCount uint64
	// Consumer owns it.
	Consumer []byte
}

// groupPrefix returns the prefix of the sub-keys of group with tag.
func groupPrefix(k *Key, tag byte, group []byte) []byte {
	p := MemberKey(nil, k, tag, nil)
	p = binary.BigEndian.AppendUint32(p, uint32(len(group)))
	return append(p, group...)
}

func (g *StreamGroup) nackKey(id encoding.StreamID) []byte {
	return encoding.AppendStreamID(groupPrefix(g.k, streamNACKTag, g.Name), id)
}

func (g *StreamGroup) consumerKey(name []byte) []byte {
	return append(groupPrefix(g.k, streamConsumerTag, g.Name), name...)
}

func (g *StreamGroup) ownedPrefix(consumer []byte) []byte {
	p := groupPrefix(g.k, streamOwnedTag, g.Name)
	p = binary.BigEndian.AppendUint32(p, uint32(len(consumer)))
	return append(p, consumer...)
}

func (g *StreamGroup) encode() []byte {
	v := encoding.AppendStreamID(nil, g.LastID)
	v = binary.BigEndian.AppendUint64(v, uint64(g.EntriesRead))
	v = binary.AppendUvarint(v, g.Pending)
	return binary.AppendUvarint(v, g.Consumers)
}

func (t *Tx) decodeGroup(k *Key, name, v []byte) (*StreamGroup, error) {
	g := &StreamGroup{Name: bytes.Clone(name), t: t, k: k}
	var ok bool
	if g.LastID, ok = encoding.DecodeStreamID(v); !ok || len(v) < 24 {
		return nil, encoding.ErrCorrupt
	}
	g.EntriesRead = int64(binary.BigEndian.Uint64(v[16:]))
	v = v[24:]
	var w1, w2 int
	g.Pending, w1 = binary.Uvarint(v)
	if w1 > 0 {
		g.Consumers, w2 = binary.Uvarint(v[w1:])
	}
	if w1 <= 0 || w2 <= 0 {
		return nil, encoding.ErrCorrupt
	}
	return g, nil
}

// StreamGroup opens the group name of the stream k; nil when there is
// none.
func (t *Tx) StreamGroup(k *Key, name []byte) (*StreamGroup, error) {
	if !k.Live || k.Meta.Stream.Groups == 0 {
		return nil, nil
	}
	v, ok, err := t.GetMember(MemberKey(nil, k, streamGroupTag, name), nil)
	if err != nil || !ok {
		return nil, err
	}
	return t.decodeGroup(k, name, v)
}

// StreamCreateGroup creates the group name of k with its last delivered
// ID and read counter, and counts it in k.Meta; created is false when
// the group exists.
func (t *Tx) StreamCreateGroup(k *Key, name []byte, last encoding.StreamID, entriesRead int64) (created bool, err error) {
	if g, err := t.StreamGroup(k, name); err != nil || g != nil {
		return false, err
	}
	g := &StreamGroup{Name: name, LastID: last, EntriesRead: entriesRead, t: t, k: k}
	g.Save()
	k.Meta.Stream.Groups++
	return true, nil
}

// StreamDestroyGroup removes the group name of k with its consumers and
// PEL, reporting whether it was there, and counts it out of k.Meta.
func (t *Tx) StreamDestroyGroup(k *Key, name []byte) (bool, error) {
	g, err := t.StreamGroup(k, name)
	if err != nil || g == nil {
		return false, err
	}
	t.DeleteMember(MemberKey(nil, k, streamGroupTag, name))
	for _, tag := range []byte{streamNACKTag, streamConsumerTag, streamOwnedTag} {
		p := groupPrefix(k, tag, name)
		if err := t.deleteSpan(p, encoding.PrefixEnd(p)); err != nil {
			return false, err
		}
	}
	k.Meta.Stream.Groups--
	return true, nil
}

// StreamGroups calls fn with each group of k in name order until fn
// returns false.
func (t *Tx) StreamGroups(k *Key, fn func(g *StreamGroup) bool) error {
	prefix := MemberPrefix(k, streamGroupTag)
	return scanDecoded(t, prefix, func(key, v []byte) (*StreamGroup, error) {
		return t.decodeGroup(k, key[len(prefix):], v)
	}, fn)
}

// Save writes the group's record and the consumers it changed.
func (g *StreamGroup) Save() {
	g.t.SetMember(MemberKey(nil, g.k, streamGroupTag, g.Name), g.encode())
	for _, c := range g.consumers {
		if c.dirty {
			v := binary.BigEndian.AppendUint64(nil, uint64(c.SeenTime))
			g.t.SetMember(g.consumerKey(c.Name), binary.AppendUvarint(v, c.Pending))
			c.dirty = false
		}
	}
}

// Consumer returns the consumer name; nil when there is none.
func (g *StreamGroup) Consumer(name []byte) (*StreamConsumer, error) {
	if c, ok := g.consumers[string(name)]; ok {
		return c, nil
	}
	v, ok, err := g.t.GetMember(g.consumerKey(name), nil)
	if err != nil || !ok {
		return nil, err
	}
	c, err := decodeConsumer(name, v)
	if err != nil {
		return nil, err
	}
	g.keep(c)
	return c, nil
}

func decodeConsumer(name, v []byte) (*StreamConsumer, error) {
	if len(v) < 9 {
		return nil, encoding.ErrCorrupt
	}
	c := &StreamConsumer{Name: bytes.Clone(name), SeenTime: int64(binary.BigEndian.Uint64(v))}
	var w int
	if c.Pending, w = binary.Uvarint(v[8:]); w <= 0 {
		return nil, encoding.ErrCorrupt
	}
	return c, nil
}

func (g *StreamGroup) keep(c *StreamConsumer) {
	if g.consumers == nil {
		g.consumers = map[string]*StreamConsumer{}
	}
	g.consumers[string(c.Name)] = c
}

// CreateConsumer returns the consumer name, created (seen at now) when
// there is none.
func (g *StreamGroup) CreateConsumer(name []byte, now int64) (c *StreamConsumer, created bool, err error) {
	if c, err = g.Consumer(name); err != nil || c != nil {
		return c, false, err
	}
	c = &StreamConsumer{Name: bytes.Clone(name), SeenTime: now, dirty: true}
	g.keep(c)
	g.Consumers++
	return c, true, nil
}

// Touch records that c was seen at now.
func (c *StreamConsumer) Touch(now int64) {
	c.SeenTime = now
	c.dirty = true
}

// DeleteConsumer removes the consumer name and its pending entries from
// the group, returning how many it had; ok is false when there was none.
func (g *StreamGroup) DeleteConsumer(name []byte) (pending uint64, ok bool, err error) {
	c, err := g.Consumer(name)
	if err != nil || c == nil {
		return 0, false, err
	}
	var ids []encoding.StreamID
	err = g.OwnedRange(name, encoding.StreamID{}, encoding.MaxStreamID, func(id encoding.StreamID) bool {
		ids = append(ids, id)
		return true
	})
	if err != nil {
		return 0, false, err
	}
	for _, id := range ids {
		g.t.DeleteMember(g.nackKey(id))
	}
	p := g.ownedPrefix(name)
	if err := g.t.deleteSpan(p, encoding.PrefixEnd(p)); err != nil {
		return 0, false, err
	}
	g.t.DeleteMember(g.consumerKey(name))
	delete(g.consumers, string(name))
	g.Pending -= uint64(len(ids))
	g.Consumers--
	return c.Pending, true, nil
}

// ConsumerList calls fn with each consumer of the group in name order,
// as stored, until fn returns false.
func (g *StreamGroup) ConsumerList(fn func(c *StreamConsumer) bool) error {
	prefix := groupPrefix(g.k, streamConsumerTag, g.Name)
	return scanDecoded(g.t, prefix, func(key, v []byte) (*StreamConsumer, error) {
		return decodeConsumer(key[len(prefix):], v)
	}, fn)
}

// NACK returns the pending entry id; ok is false when id is not pending.
func (g *StreamGroup) NACK(id encoding.StreamID) (n StreamNACK, ok bool, err error) {
	v, ok, err := g.t.GetMember(g.nackKey(id), nil)
	if err != nil || !ok {
		return n, false, err
	}
	n, err = decodeNACK(v)
	return n, err == nil, err
}

func decodeNACK(v []byte) (StreamNACK, error) {
	if len(v) < 9 {
		return StreamNACK{}, encoding.ErrCorrupt
	}
	n := StreamNACK{DeliveryTime: int64(binary.BigEndian.Uint64(v))}
	count, w := binary.Uvarint(v[8:])
	if w <= 0 {
		return StreamNACK{}, encoding.ErrCorrupt
	}
	n.DeliveryCount, n.Consumer = count, v[8+w:]
	return n, nil
}

// SetNACK makes id pending for the consumer c with n's delivery time and
// count (n.Consumer is ignored). prev is what NACK returned for id, so
// that an entry moving from another consumer leaves that consumer's PEL.
func (g *StreamGroup) SetNACK(id encoding.StreamID, c *StreamConsumer, n StreamNACK, prev *StreamNACK) error {
	v := binary.BigEndian.AppendUint64(nil, uint64(n.DeliveryTime))
	v = binary.AppendUvarint(v, n.DeliveryCount)
	g.t.SetMember(g.nackKey(id), append(v, c.Name...))
	if prev != nil && bytes.Equal(prev.Consumer, c.Name) {
		return nil
	}
	if prev == nil {
		g.Pending++
	} else if err := g.disown(prev.Consumer, id); err != nil {
		return err
	}
	g.t.SetMember(encoding.AppendStreamID(g.ownedPrefix(c.Name), id), nil)
	c.Pending++
	c.dirty = true
	return nil
}

// disown takes id out of the PEL of consumer.
func (g *StreamGroup) disown(consumer []byte, id encoding.StreamID) error {
	g.t.DeleteMember(encoding.AppendStreamID(g.ownedPrefix(consumer), id))
	old, err := g.Consumer(consumer)
	if err != nil || old == nil {
		return err
	}
	old.Pending--
	old.dirty = true
	return nil
}

// Ack removes id from the PEL, reporting whether it was pending.
func (g *StreamGroup) Ack(id encoding.StreamID) (bool, error) {
	n, ok, err := g.NACK(id)
	if err != nil || !ok {
		return false, err
	}
	g.t.DeleteMember(g.nackKey(id))
	g.Pending--
	return true, g.disown(n.Consumer, id)
}

// PEL calls fn with each pending entry whose ID is in [start, end], in
// ID order, until fn returns false. n.Consumer is valid only during the
// call.
func (g *StreamGroup) PEL(start, end encoding.StreamID, fn func(id encoding.StreamID, n StreamNACK) bool) error {
	prefix := groupPrefix(g.k, streamNACKTag, g.Name)
	var ferr error
	err := g.t.scanIDs(prefix, start, end, false, func(id encoding.StreamID, v []byte) bool {
		n, err := decodeNACK(v)
		if err != nil {
			ferr = err
			return false
		}
		return fn(id, n)
	})
	if err != nil {
		return err
	}
	return ferr
}

// PELEdge returns the first pending ID, or the last when last; ok is
// false when none is pending.
func (g *StreamGroup) PELEdge(last bool) (id encoding.StreamID, ok bool, err error) {
	prefix := groupPrefix(g.k, streamNACKTag, g.Name)
	err = g.t.scanIDs(prefix, encoding.StreamID{}, encoding.MaxStreamID, last, func(e encoding.StreamID, _ []byte) bool {
		id, ok = e, true
		return false
	})
	return id, ok, err
}

// OwnedRange calls fn with each ID in [start, end] pending for the
// consumer name, in ID order, until fn returns false.
func (g *StreamGroup) OwnedRange(name []byte, start, end encoding.StreamID, fn func(id encoding.StreamID) bool) error {
	return g.t.scanIDs(g.ownedPrefix(name), start, end, false, func(id encoding.StreamID, _ []byte) bool { return fn(id) })
}

// scanIDs iterates the sub-keys prefix | ID(16) with IDs in [start, end].
func (t *Tx) scanIDs(prefix []byte, start, end encoding.StreamID, rev bool, fn func(id encoding.StreamID, v []byte) bool) error {
	if start.Compare(end) > 0 {
		return nil
	}
	lower := encoding.AppendStreamID(bytes.Clone(prefix), start)
	upper := append(encoding.AppendStreamID(bytes.Clone(prefix), end), 0)
	it, err := t.Iter(lower, upper)
	if err != nil {
		return err
	}
	first, next := it.First, it.Next
	if rev {
		first, next = it.Last, it.Prev
	}
	for ok := first(); ok; ok = next() {
		key := it.Key()
		if len(key) != len(prefix)+16 {
			continue
		}
		id, _ := encoding.DecodeStreamID(key[len(prefix):])
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if !fn(id, v) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// scanPrefix iterates the sub-keys that start with prefix, in order.
func (t *Tx) scanPrefix(prefix []byte, fn func(key, v []byte) bool) error {
	it, err := t.Iter(prefix, encoding.PrefixEnd(prefix))
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if !fn(it.Key(), v) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// scanDecoded iterates the sub-keys that start with prefix, calling fn
// with each as decode reads it, until fn returns false or decode fails.
func scanDecoded[T any](t *Tx, prefix []byte, decode func(key, v []byte) (T, error), fn func(T) bool) error {
	var derr error
	err := t.scanPrefix(prefix, func(key, v []byte) bool {
		x, err := decode(key, v)
		if err != nil {
			derr = err
			return false
		}
		return fn(x)
	})
	if err != nil {
		return err
	}
	return derr
}
