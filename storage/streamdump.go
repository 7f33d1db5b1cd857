package storage

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Streams in DUMP payloads, as Redis 7.0's rdb.c writes and reads them
// (RDB_TYPE_STREAM_LISTPACKS_2):
//
//	nodes: len | (string master ID(16) | string listpack)*
//	len length | len last ms | len last seq | len first ms | len first seq |
//	len max deleted ms | len max deleted seq | len entries added
//	groups: len | (string name | len last ms | len last seq | len entries read |
//	        PEL: len | (raw ID(16) | delivery time int64 LE | len delivery count)* |
//	        consumers: len | (string name | seen time int64 LE |
//	                   [7.2: active time int64 LE] | PEL: len | raw ID(16)*)*)*
//
// A node's listpack holds its master entry (live count, deleted count,
// the number of master fields, the fields, 0) and then each entry:
// flags, the ID's ms and seq differences from the master, [the number of
// fields], the fields unless flagged as the master's, the values, and
// the entry's element count. Shoal writes a node's listpack from its
// record and its entries, tombstones included, so Redis gets the same
// nodes back. It reads RDB_TYPE_STREAM_LISTPACKS (Redis 5 and 6, which
// lack the counters 7.0 added: they are derived as Redis derives them),
// _2 and _3 (Redis 7.2, with each consumer's active time).

// RDB stream types (rdb.h).
const (
	rdbTypeStreamListpacks  = 15
	rdbTypeStreamListpacks2 = 19
	rdbTypeStreamListpacks3 = 21
)

// StreamDump is a stream decoded from a DUMP payload.
type StreamDump struct {
	Length uint64
	Meta   encoding.StreamMeta
	Nodes  []*streamNode
	// Entries are every entry of the nodes in ID order, tombstones
	// included.
	Entries []StreamDumpEntry
	Groups  []StreamDumpGroup
}

// StreamDumpEntry is one entry of a dumped stream.
type StreamDumpEntry struct {
	ID      encoding.StreamID
	Deleted bool
	Pairs   [][]byte
}

// StreamDumpGroup is one consumer group of a dumped stream.
type StreamDumpGroup struct {
	Name        []byte
	LastID      encoding.StreamID
	EntriesRead int64
	PEL         []StreamDumpNACK // in ID order
	Consumers   []StreamDumpConsumer
}

// StreamDumpNACK is one pending entry of a dumped group.
type StreamDumpNACK struct {
	ID            encoding.StreamID
	DeliveryTime  int64
	DeliveryCount uint64
	Consumer      []byte
}

// StreamDumpConsumer is one consumer of a dumped group.
type StreamDumpConsumer struct {
	Name     []byte
	SeenTime int64
	Pending  uint64
}

// appendStream appends the RDB object of the stream k, type byte
// included, its strings written by str (appendStr, or appendStrLZF for
// RDB files).
func (t *Tx) appendStream(out []byte, k *Key, str func(dst, s []byte) []byte) ([]byte, error) {
	s := &k.Meta.Stream
	out = appendLen(append(out, rdbTypeStreamListpacks2), s.Nodes)
	var nodes []*streamNode
	if err := t.streamNodes(k, func(n *streamNode) bool { nodes = append(nodes, n); return true }); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		lp, err := t.nodeListpack(k, n)
		if err != nil {
			return nil, err
		}
		out = str(out, encoding.AppendStreamID(nil, n.master))
		out = str(out, lp)
	}
	for _, v := range []uint64{k.Meta.Size, s.LastID.Ms, s.LastID.Seq, s.FirstID.Ms, s.FirstID.Seq,
		s.MaxDeletedID.Ms, s.MaxDeletedID.Seq, s.EntriesAdded, s.Groups} {
		out = appendLen(out, v)
	}
	var groups []*StreamGroup
	if err := t.StreamGroups(k, func(g *StreamGroup) bool { groups = append(groups, g); return true }); err != nil {
		return nil, err
	}
	for _, g := range groups {
		var err error
		if out, err = appendStreamGroup(out, g, str); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nodeListpack writes the listpack of node n of k.
func (t *Tx) nodeListpack(k *Key, n *streamNode) ([]byte, error) {
	w := newListpackWriter()
	w.appendInt(int64(n.count))
	w.appendInt(int64(n.deleted))
	w.appendInt(int64(len(n.fields)))
	for _, f := range n.fields {
		w.appendStr(f)
	}
	w.appendInt(0)
	err := t.streamScan(k, n.master, n.last, false, func(id encoding.StreamID, flags byte, pairs [][]byte) bool {
		same := n.sameFields(pairs)
		nf := len(pairs) / 2
		count := nf + 3
		if same {
			flags |= lpFlagSameFields
		}
		w.appendInt(int64(flags))
		w.appendInt(int64(id.Ms - n.master.Ms))
		w.appendInt(int64(id.Seq - n.master.Seq))
		if !same {
			w.appendInt(int64(nf))
			count += nf + 1
		}
		for i, p := range pairs {
			if i%2 == 1 || !same {
				w.appendStr(p)
			}
		}
		w.appendInt(int64(count))
		return true
	})
	return w.bytes(), err
}

func appendStreamGroup(out []byte, g *StreamGroup, str func(dst, s []byte) []byte) ([]byte, error) {
	out = str(out, g.Name)
	out = appendLen(out, g.LastID.Ms)
	out = appendLen(out, g.LastID.Seq)
	out = appendLen(out, uint64(g.EntriesRead))
	out = appendLen(out, g.Pending)
	err := g.PEL(encoding.StreamID{}, encoding.MaxStreamID, func(id encoding.StreamID, n StreamNACK) bool {
		out = encoding.AppendStreamID(out, id)
		out = binary.LittleEndian.AppendUint64(out, uint64(n.DeliveryTime))
		out = appendLen(out, n.DeliveryCount)
		return true
	})
	if err != nil {
		return nil, err
	}
	var consumers []*StreamConsumer
	if err := g.ConsumerList(func(c *StreamConsumer) bool { consumers = append(consumers, c); return true }); err != nil {
		return nil, err
	}
	out = appendLen(out, uint64(len(consumers)))
	for _, c := range consumers {
		out = str(out, c.Name)
		out = binary.LittleEndian.AppendUint64(out, uint64(c.SeenTime))
		out = appendLen(out, c.Pending)
		err := g.OwnedRange(c.Name, encoding.StreamID{}, encoding.MaxStreamID, func(id encoding.StreamID) bool {
			out = encoding.AppendStreamID(out, id)
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeStream reads a stream object of RDB type typ.
func decodeStream(r *rdbReader, typ byte) (*DumpValue, error) {
	d := &StreamDump{}
	nodes, enc, err := r.length()
	if err != nil || enc || nodes > uint64(r.left()) {
		return nil, ErrDumpFormat
	}
	var prev encoding.StreamID
	for i := uint64(0); i < nodes; i++ {
		key, err := r.str()
		if err != nil || len(key) != 16 {
			return nil, ErrDumpFormat
		}
		lp, err := r.str()
		if err != nil {
			return nil, err
		}
		master, _ := encoding.DecodeStreamID(key)
		if i > 0 && master.Compare(prev) <= 0 {
			return nil, ErrDumpFormat
		}
		n, err := d.decodeNode(master, lp)
		if err != nil {
			return nil, err
		}
		prev = n.last
		d.Nodes = append(d.Nodes, n)
	}
	var v [8]uint64
	count := 3
	if typ != rdbTypeStreamListpacks {
		count = 8
	}
	for i := range v[:count] {
		if v[i], err = r.plainLen(); err != nil {
			return nil, err
		}
	}
	d.Length = v[0]
	s := &d.Meta
	s.LastID = encoding.StreamID{Ms: v[1], Seq: v[2]}
	s.Nodes = uint64(len(d.Nodes))
	if typ == rdbTypeStreamListpacks {
		s.EntriesAdded = d.Length
		s.FirstID = d.firstLive()
	} else {
		s.FirstID = encoding.StreamID{Ms: v[3], Seq: v[4]}
		s.MaxDeletedID = encoding.StreamID{Ms: v[5], Seq: v[6]}
		s.EntriesAdded = v[7]
	}
	var live uint64
	for _, e := range d.Entries {
		if !e.Deleted {
			live++
		}
	}
	if live != d.Length || (len(d.Entries) > 0 && d.Entries[len(d.Entries)-1].ID.Compare(s.LastID) > 0) {
		return nil, ErrDumpFormat
	}
	groups, err := r.plainLen()
	if err != nil || groups > uint64(r.left()) {
		return nil, ErrDumpFormat
	}
	seen := map[string]bool{}
	for i := uint64(0); i < groups; i++ {
		g, err := decodeStreamGroup(r, typ, d)
		if err != nil {
			return nil, err
		}
		if seen[string(g.Name)] {
			return nil, ErrDumpFormat
		}
		seen[string(g.Name)] = true
		d.Groups = append(d.Groups, g)
	}
	s.Groups = uint64(len(d.Groups))
	return &DumpValue{Type: encoding.TypeStream, Stream: d}, nil
}

// plainLen reads a length that is not a string encoding.
func (r *rdbReader) plainLen() (uint64, error) {
	n, enc, err := r.length()
	if err != nil || enc {
		return 0, ErrDumpFormat
	}
	return n, nil
}

// firstLive returns the ID of the first live entry, 0-0 when none.
func (d *StreamDump) firstLive() encoding.StreamID {
	for _, e := range d.Entries {
		if !e.Deleted {
			return e.ID
		}
	}
	return encoding.StreamID{}
}

// decodeNode reads the listpack of the node master into a node record
// and its entries, which must follow the entries already read. The
// listpack's elements may come in any of its encodings.
func (d *StreamDump) decodeNode(master encoding.StreamID, lp []byte) (*streamNode, error) {
	var elems [][]byte
	if err := listpackEach(lp, func(e []byte) error {
		elems = append(elems, bytes.Clone(e))
		return nil
	}); err != nil {
		return nil, err
	}
	p := &lpCursor{elems: elems}
	count, deleted, nf := p.int(), p.int(), p.int()
	if p.bad || count < 0 || deleted < 0 || nf < 0 || nf > int64(len(elems)) {
		return nil, ErrDumpFormat
	}
	var mpairs [][]byte // the master fields as pairs, for newStreamNode
	for i := int64(0); i < nf; i++ {
		mpairs = append(mpairs, p.next(), nil)
	}
	n := newStreamNode(master, mpairs)
	n.count, n.deleted = uint64(count), uint64(deleted)
	if p.int() != 0 || p.bad {
		return nil, ErrDumpFormat
	}
	var live, dead int64
	for !p.done() {
		flags := p.int()
		id := encoding.StreamID{Ms: master.Ms + uint64(p.int()), Seq: master.Seq + uint64(p.int())}
		e := StreamDumpEntry{ID: id, Deleted: flags&streamDeletedFlag != 0}
		efields := nf
		if flags&lpFlagSameFields == 0 {
			if efields = p.int(); efields < 0 || efields > int64(len(elems)) {
				return nil, ErrDumpFormat
			}
		}
		for i := int64(0); i < efields; i++ {
			if flags&lpFlagSameFields != 0 {
				e.Pairs = append(e.Pairs, n.fields[i])
			} else {
				e.Pairs = append(e.Pairs, p.next())
			}
			e.Pairs = append(e.Pairs, p.next())
		}
		want := efields + 3
		if flags&lpFlagSameFields == 0 {
			want += efields + 1
		}
		if p.int() != want || p.bad {
			return nil, ErrDumpFormat
		}
		if last := len(d.Entries); last > 0 && id.Compare(d.Entries[last-1].ID) <= 0 || id.Compare(master) < 0 {
			return nil, ErrDumpFormat
		}
		if e.Deleted {
			dead++
		} else {
			live++
		}
		d.Entries = append(d.Entries, e)
		// NB: the size as Shoal would write the listpack: Redis wrote the
		// same, and a listpack another writer encoded otherwise is
		// dumped again as Shoal writes it.
		n.body += n.entrySize(id, e.Pairs)
		n.last = id
	}
	if live != count || dead != deleted || live+dead == 0 {
		return nil, ErrDumpFormat
	}
	return n, nil
}

// lpCursor walks a listpack's elements; a missing or non-integer element
// where an integer is due sets bad.
type lpCursor struct {
	elems [][]byte
	at    int
	bad   bool
}

func (p *lpCursor) done() bool { return p.at >= len(p.elems) || p.bad }

func (p *lpCursor) next() []byte {
	if p.at >= len(p.elems) {
		p.bad = true
		return nil
	}
	p.at++
	return p.elems[p.at-1]
}

func (p *lpCursor) int() int64 {
	e := p.next()
	v, err := strconv.ParseInt(string(e), 10, 64)
	if err != nil {
		p.bad = true
	}
	return v
}

func decodeStreamGroup(r *rdbReader, typ byte, d *StreamDump) (StreamDumpGroup, error) {
	var g StreamDumpGroup
	name, err := r.str()
	if err != nil {
		return g, ErrDumpFormat
	}
	g.Name = bytes.Clone(name)
	var v [3]uint64
	for i := range v {
		if v[i], err = r.plainLen(); err != nil {
			return g, err
		}
		if i == 1 && typ == rdbTypeStreamListpacks {
			break
		}
	}
	g.LastID = encoding.StreamID{Ms: v[0], Seq: v[1]}
	if typ == rdbTypeStreamListpacks {
		m := encoding.Meta{Size: d.Length, Stream: d.Meta}
		g.EntriesRead = StreamEntriesRead(&m, g.LastID)
	} else {
		g.EntriesRead = int64(v[2])
	}
	pel, err := r.plainLen()
	if err != nil || pel > uint64(r.left())/16 {
		return g, ErrDumpFormat
	}
	index := make(map[encoding.StreamID]int, pel)
	for i := uint64(0); i < pel; i++ {
		raw, err := r.bytes(24)
		if err != nil {
			return g, err
		}
		id, _ := encoding.DecodeStreamID(raw)
		n := StreamDumpNACK{ID: id, DeliveryTime: int64(binary.LittleEndian.Uint64(raw[16:]))}
		if n.DeliveryCount, err = r.plainLen(); err != nil {
			return g, err
		}
		if i > 0 && id.Compare(g.PEL[i-1].ID) <= 0 {
			return g, ErrDumpFormat
		}
		index[id] = int(i)
		g.PEL = append(g.PEL, n)
	}
	consumers, err := r.plainLen()
	if err != nil || consumers > uint64(r.left()) {
		return g, ErrDumpFormat
	}
	names := map[string]bool{}
	for i := uint64(0); i < consumers; i++ {
		name, err := r.str()
		if err != nil || names[string(name)] {
			return g, ErrDumpFormat
		}
		names[string(name)] = true
		c := StreamDumpConsumer{Name: bytes.Clone(name)}
		skip := uint64(8)
		if typ == rdbTypeStreamListpacks3 {
			skip = 16 // the active time, which Redis 7.0 does not keep
		}
		raw, err := r.bytes(skip)
		if err != nil {
			return g, err
		}
		c.SeenTime = int64(binary.LittleEndian.Uint64(raw))
		owned, err := r.plainLen()
		if err != nil || owned > uint64(r.left())/16 {
			return g, ErrDumpFormat
		}
		for j := uint64(0); j < owned; j++ {
			raw, err := r.bytes(16)
			if err != nil {
				return g, err
			}
			id, _ := encoding.DecodeStreamID(raw)
			at, ok := index[id]
			if !ok || g.PEL[at].Consumer != nil {
				return g, ErrDumpFormat
			}
			g.PEL[at].Consumer = c.Name
		}
		c.Pending = owned
		g.Consumers = append(g.Consumers, c)
	}
	for _, n := range g.PEL {
		if n.Consumer == nil {
			return g, ErrDumpFormat // Redis would crash on it later
		}
	}
	return g, nil
}

// restoreStream writes the dumped stream d under the version of k, whose
// metadata the caller stores.
func (t *Tx) restoreStream(k *Key, d *StreamDump) {
	for _, n := range d.Nodes {
		t.putStreamNode(k, n)
	}
	for _, e := range d.Entries {
		var flags byte
		if e.Deleted {
			flags = streamDeletedFlag
		}
		t.SetMember(streamEntryKey(nil, k, e.ID), appendStreamEntry(nil, flags, e.Pairs))
	}
	for _, dg := range d.Groups {
		g := &StreamGroup{Name: dg.Name, LastID: dg.LastID, EntriesRead: dg.EntriesRead,
			Pending: uint64(len(dg.PEL)), Consumers: uint64(len(dg.Consumers)), t: t, k: k}
		for _, c := range dg.Consumers {
			g.keep(&StreamConsumer{Name: c.Name, SeenTime: c.SeenTime, Pending: c.Pending, dirty: true})
		}
		for _, n := range dg.PEL {
			v := binary.BigEndian.AppendUint64(nil, uint64(n.DeliveryTime))
			v = binary.AppendUvarint(v, n.DeliveryCount)
			t.SetMember(g.nackKey(n.ID), append(v, n.Consumer...))
			t.SetMember(encoding.AppendStreamID(g.ownedPrefix(n.Consumer), n.ID), nil)
		}
		g.Save()
	}
}
