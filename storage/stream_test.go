package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/storage/encoding"
)

// redisStreamPayloads were captured with DUMP from redis-server 7.0.15.
var redisStreamPayloads = map[string]string{
	// XADD st 1-1 a 1 b hello; XADD st 2-0 a 2 b world; XADD st 2-1 c 300000;
	// XGROUP CREATE st g 0; XREADGROUP GROUP g alice COUNT 2 STREAMS st >;
	// XGROUP CREATECONSUMER st g bob
	"group": "13011000000000000000010000000000000001404a4a0000001900030100010201816102816202000102010001000101018568656c6c6f06050102010101dfff02020185776f726c640605010001010100010101816302f2e09304040601ff0302010101000003010167020002020000000000000001000000000000000103dddd48a2010000010000000000000002000000000000000003dddd48a2010000010205616c69636503dddd48a201000002000000000000000100000000000000010000000000000002000000000000000003626f623bdddd48a2010000000a003e34aa1a770518f9",
	// XGROUP CREATE empty g $ MKSTREAM
	"empty": "13000000000000000000010167000081ffffffffffffffff00000a00a01a953dfb9cddde",
	// stream-node-max-entries 3; XADD nodes <i>-0 f v<i> for i in 1..7;
	// XDEL nodes 2-0 4-0 6-0; XADD nodes 8-0 g x
	"nodes": "13031000000000000000010000000000000000363600000014000201010101018166020001020100010001827631030401030101010001827632030401020102010001827633030401ff1000000000000000040000000000000000363600000014000101020101018166020001030100010001827634030401020101010001827635030401030102010001827636030401ff10000000000000000700000000000000002e2e0000001100020100010101816602000102010001000182763703040100010101000101018167028178020601ff0508000100060008000a009c5c8aad1da8ab20",
}

// canonStream writes out everything a decoded stream holds, its groups
// and consumers in name order, as Redis and Shoal keep them.
func canonStream(d *StreamDump) string {
	groups := slices.Clone(d.Groups)
	slices.SortFunc(groups, func(a, b StreamDumpGroup) int { return bytes.Compare(a.Name, b.Name) })
	var b strings.Builder
	fmt.Fprintf(&b, "stream len=%d meta=%+v\n", d.Length, d.Meta)
	for _, n := range d.Nodes {
		fmt.Fprintf(&b, "node %v count=%d deleted=%d body=%d last=%v fields=%q\n", n.master, n.count, n.deleted, n.body, n.last, n.fields)
	}
	for _, e := range d.Entries {
		fmt.Fprintf(&b, "entry %v deleted=%v %q\n", e.ID, e.Deleted, e.Pairs)
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "group %q last=%v read=%d\n", g.Name, g.LastID, g.EntriesRead)
		for _, n := range g.PEL {
			fmt.Fprintf(&b, "  pending %v %d %d %q\n", n.ID, n.DeliveryTime, n.DeliveryCount, n.Consumer)
		}
		consumers := slices.Clone(g.Consumers)
		slices.SortFunc(consumers, func(a, b StreamDumpConsumer) int { return bytes.Compare(a.Name, b.Name) })
		for _, c := range consumers {
			fmt.Fprintf(&b, "  consumer %q %d %d\n", c.Name, c.SeenTime, c.Pending)
		}
	}
	return b.String()
}

func decodeHex(t testing.TB, h string) *DumpValue {
	t.Helper()
	p, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeDump(p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDecodeRedisStreams(t *testing.T) {
	v := decodeHex(t, redisStreamPayloads["group"])
	want := `stream len=3 meta={LastID:2-1 FirstID:1-1 MaxDeletedID:0-0 EntriesAdded:3 Groups:1 Nodes:1}
node 1-1 count=3 deleted=0 body=70 last=2-1 fields=["a" "b"]
entry 1-1 deleted=false ["a" "1" "b" "hello"]
entry 2-0 deleted=false ["a" "2" "b" "world"]
entry 2-1 deleted=false ["c" "300000"]
group "g" last=2-0 read=2
  pending 1-1 1796518829315 1 "alice"
  pending 2-0 1796518829315 1 "alice"
  consumer "alice" 1796518829315 2
  consumer "bob" 1796518829371 0
`
	if got := canonStream(v.Stream); got != want {
		t.Fatalf("group:\n%s\nwant\n%s", got, want)
	}
	v = decodeHex(t, redisStreamPayloads["empty"])
	want = `stream len=0 meta={LastID:0-0 FirstID:0-0 MaxDeletedID:0-0 EntriesAdded:0 Groups:1 Nodes:0}
group "g" last=0-0 read=-1
`
	if got := canonStream(v.Stream); got != want {
		t.Fatalf("empty:\n%s\nwant\n%s", got, want)
	}
	v = decodeHex(t, redisStreamPayloads["nodes"])
	got := canonStream(v.Stream)
	for _, line := range []string{
		"meta={LastID:8-0 FirstID:1-0 MaxDeletedID:6-0 EntriesAdded:8 Groups:0 Nodes:3}",
		"node 1-0 count=2 deleted=1 body=50 last=3-0",
		"node 4-0 count=1 deleted=2 body=50 last=6-0",
		"node 7-0 count=2 deleted=0 body=42 last=8-0",
		"entry 4-0 deleted=true [\"f\" \"v4\"]",
		"entry 8-0 deleted=false [\"g\" \"x\"]",
	} {
		if !strings.Contains(got, line) {
			t.Fatalf("nodes: no %q in\n%s", line, got)
		}
	}
}

// TestStreamDumpMatchesRedisBytes restores streams Redis dumped and dumps
// them again: Shoal's listpacks and counters come out byte for byte as
// Redis wrote them (these payloads are short enough for Redis not to
// compress them).
func TestStreamDumpMatchesRedisBytes(t *testing.T) {
	s := openMemStore(t)
	for name, h := range redisStreamPayloads {
		v := decodeHex(t, h)
		if got := hex.EncodeToString(roundTripAt(t, s, []byte(name), v)); got != h {
			t.Fatalf("%s: DUMP\n %s\nRedis wrote\n %s", name, got, h)
		}
	}
}

// streamTx looks up stream name for writing, prepared as XADD prepares it.
func streamTx(t testing.TB, tx *Tx, name string) *Key {
	t.Helper()
	tx.Lock(0, []byte(name))
	k, err := tx.Lookup(0, []byte(name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.PrepareCollection(k, encoding.TypeStream); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestStreamNodeSizes checks the size Shoal keeps of each node against
// the listpack it writes for DUMP, through adds of every element
// encoding, deletions and trims: the size decides where Redis starts a
// node, so it must be exact.
func TestStreamNodeSizes(t *testing.T) {
	s := openMemStore(t)
	tx := s.NewTx()
	k := streamTx(t, tx, "s")
	r := rand.New(rand.NewPCG(1, 2))
	values := func() []byte {
		switch r.IntN(7) {
		case 0:
			return strconv.AppendInt(nil, r.Int64N(200)-100, 10)
		case 1:
			return strconv.AppendInt(nil, r.Int64()-r.Int64(), 10)
		case 2:
			return bytes.Repeat([]byte("x"), r.IntN(70))
		case 3:
			return bytes.Repeat([]byte("y"), 4090+r.IntN(10))
		case 4:
			return []byte("007")
		case 5:
			return strconv.AppendInt(nil, r.Int64N(1<<24), 10)
		}
		return bytes.Repeat([]byte("z"), 120+r.IntN(20))
	}
	id := encoding.StreamID{Ms: 1}
	for i := 0; i < 3000; i++ {
		if r.IntN(3) == 0 {
			id = encoding.StreamID{Ms: id.Ms + uint64(r.IntN(1<<20)), Seq: uint64(r.IntN(3))}
		} else {
			id.Seq++
		}
		pairs := [][]byte{[]byte("a"), values()}
		if r.IntN(3) == 0 {
			pairs = append(pairs, []byte(strconv.Itoa(r.IntN(3))), values())
		}
		if err := tx.StreamAdd(k, id, pairs); err != nil {
			t.Fatal(err)
		}
		switch r.IntN(20) {
		case 0:
			if _, err := tx.StreamDelete(k, encoding.StreamID{Ms: id.Ms, Seq: id.Seq - uint64(r.IntN(2))}); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := tx.StreamTrim(k, StreamTrimArgs{MaxLen: uint64(r.IntN(400)), Approx: r.IntN(2) == 0, Limit: int64(r.IntN(2)) * 10000}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tx.StreamStore(k)
	var nodes []*streamNode
	if err := tx.streamNodes(k, func(n *streamNode) bool { nodes = append(nodes, n); return true }); err != nil {
		t.Fatal(err)
	}
	if len(nodes) < 10 || uint64(len(nodes)) != k.Meta.Stream.Nodes {
		t.Fatalf("%d nodes, meta says %d", len(nodes), k.Meta.Stream.Nodes)
	}
	var live uint64
	for _, n := range nodes {
		lp, err := tx.nodeListpack(k, n)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(lp)) != n.lpBytes() {
			t.Fatalf("node %v: listpack of %d bytes, counted %d", n.master, len(lp), n.lpBytes())
		}
		if err := listpackEach(lp, func([]byte) error { return nil }); err != nil {
			t.Fatalf("node %v: own listpack does not read back: %v", n.master, err)
		}
		if e := DefaultEncodings; n.count+n.deleted > uint64(e.StreamNodeEntries) || n.lpBytes() > uint64(e.StreamNodeBytes)+2*4200 {
			t.Fatalf("node %v overfull: %d entries, %d bytes", n.master, n.count+n.deleted, n.lpBytes())
		}
		live += n.count
	}
	if live != k.Meta.Size {
		t.Fatalf("nodes hold %d live entries, length %d", live, k.Meta.Size)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRaxNodes(t *testing.T) {
	id := func(ms, seq uint64) []byte {
		return encoding.AppendStreamID(nil, encoding.StreamID{Ms: ms, Seq: seq})
	}
	for _, tc := range []struct {
		keys [][]byte
		want int64
	}{
		{nil, 1},                          // the empty head
		{[][]byte{id(1, 0)}, 2},           // a compressed head and the leaf
		{[][]byte{id(1, 0), id(1, 1)}, 4}, // head, branch at byte 15, two leaves
		{[][]byte{id(1, 0), id(1, 1), id(1, 2)}, 5},
		{[][]byte{id(1, 0), id(2, 0)}, 6},     // branch at byte 7: two chains to two leaves
		{[][]byte{id(1, 0), id(1<<56, 0)}, 5}, // the head itself branches
		{[][]byte{id(1, 0), id(1, 1), id(2, 0)}, 8},
	} {
		if got := raxNodes(tc.keys); got != tc.want {
			t.Errorf("raxNodes(%d keys) = %d, want %d", len(tc.keys), got, tc.want)
		}
	}
}

func TestStreamIDOrder(t *testing.T) {
	ids := []encoding.StreamID{{}, {Seq: 1}, {Ms: 1}, {Ms: 1, Seq: 1 << 63}, {Ms: 1 << 40}, encoding.MaxStreamID}
	for i := 1; i < len(ids); i++ {
		a, b := encoding.AppendStreamID(nil, ids[i-1]), encoding.AppendStreamID(nil, ids[i])
		if bytes.Compare(a, b) >= 0 || ids[i-1].Compare(ids[i]) >= 0 {
			t.Fatalf("%v is not before %v", ids[i-1], ids[i])
		}
		if next, _ := ids[i-1].Next(); next.Compare(ids[i]) > 0 {
			t.Fatalf("Next(%v) = %v, past %v", ids[i-1], next, ids[i])
		}
	}
	if _, ok := encoding.MaxStreamID.Next(); ok {
		t.Fatal("the largest ID has a next")
	}
	if _, ok := (encoding.StreamID{}).Prev(); ok {
		t.Fatal("0-0 has a previous ID")
	}
}

// restamp rewrites a Redis 7.0 stream payload (RDB_TYPE_STREAM_LISTPACKS_2)
// as Redis 5/6 (RDB_TYPE_STREAM_LISTPACKS: no first ID, max deleted ID,
// entries added, group read counters) or 7.2
// (RDB_TYPE_STREAM_LISTPACKS_3: each consumer's active time after its
// seen time) would have written it.
func restamp(t *testing.T, p []byte, typ byte) []byte {
	t.Helper()
	r := &rdbReader{b: p[:len(p)-dumpFooterLen]}
	must := func(n uint64, err error) uint64 {
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	str := func() []byte {
		s, err := r.str()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	raw := func(n uint64) []byte {
		b, err := r.bytes(n)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b, _ := r.byte(); b != rdbTypeStreamListpacks2 {
		t.Fatalf("type %d", b)
	}
	out := []byte{typ}
	nodes := must(r.plainLen())
	out = appendLen(out, nodes)
	for i := uint64(0); i < nodes; i++ {
		out = appendStr(out, str())
		lp := str()
		out = append(appendLen(out, uint64(len(lp))), lp...)
	}
	for i := 0; i < 8; i++ {
		if n := must(r.plainLen()); typ != rdbTypeStreamListpacks || i < 3 {
			out = appendLen(out, n)
		}
	}
	groups := must(r.plainLen())
	out = appendLen(out, groups)
	for i := uint64(0); i < groups; i++ {
		out = appendStr(out, str())
		for j := 0; j < 3; j++ {
			if n := must(r.plainLen()); typ != rdbTypeStreamListpacks || j < 2 {
				out = appendLen(out, n)
			}
		}
		pel := must(r.plainLen())
		out = appendLen(out, pel)
		for j := uint64(0); j < pel; j++ {
			out = append(out, raw(24)...)
			out = appendLen(out, must(r.plainLen()))
		}
		consumers := must(r.plainLen())
		out = appendLen(out, consumers)
		for j := uint64(0); j < consumers; j++ {
			out = appendStr(out, str())
			seen := raw(8)
			out = append(out, seen...)
			if typ == rdbTypeStreamListpacks3 {
				out = append(out, seen...)
			}
			owned := must(r.plainLen())
			out = appendLen(out, owned)
			out = append(out, raw(16*owned)...)
		}
	}
	out = binary.LittleEndian.AppendUint16(out, 11)
	return binary.LittleEndian.AppendUint64(out, redisCRC64(0, out))
}

func TestDecodeOtherStreamVersions(t *testing.T) {
	p, _ := hex.DecodeString(redisStreamPayloads["group"])
	want := canonStream(decodeHex(t, redisStreamPayloads["group"]).Stream)
	v, err := DecodeDump(restamp(t, p, rdbTypeStreamListpacks3))
	if err != nil {
		t.Fatal(err)
	}
	if got := canonStream(v.Stream); got != want {
		t.Fatalf("7.2's stream:\n%s\nwant\n%s", got, want)
	}
	// Redis 6 kept no counters: 7.0 takes every entry as added and
	// estimates each group's read counter.
	p, _ = hex.DecodeString(redisStreamPayloads["nodes"])
	v, err = DecodeDump(restamp(t, p, rdbTypeStreamListpacks))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%+v", v.Stream.Meta); got != "{LastID:8-0 FirstID:1-0 MaxDeletedID:0-0 EntriesAdded:5 Groups:0 Nodes:3}" {
		t.Fatalf("6.2's stream: %s", got)
	}
	p, _ = hex.DecodeString(redisStreamPayloads["group"])
	v, err = DecodeDump(restamp(t, p, rdbTypeStreamListpacks))
	if err != nil {
		t.Fatal(err)
	}
	if g := v.Stream.Groups[0]; g.EntriesRead != -1 || g.LastID != (encoding.StreamID{Ms: 2}) {
		t.Fatalf("6.2's group: %+v", g)
	}
}

// TestDecodeStreamErrors cuts and damages a stream payload everywhere: each
// must be refused, none may panic.
func TestDecodeStreamErrors(t *testing.T) {
	for name, h := range redisStreamPayloads {
		p, _ := hex.DecodeString(h)
		obj := p[:len(p)-dumpFooterLen]
		for n := 1; n < len(obj); n++ {
			if _, err := DecodeDump(AppendDumpFooter(bytes.Clone(obj[:n]))); err == nil {
				t.Fatalf("%s cut at %d bytes decodes", name, n)
			}
		}
		for i := 1; i < len(obj); i++ {
			bad := bytes.Clone(obj)
			bad[i] ^= 0x41
			_, _ = DecodeDump(AppendDumpFooter(bad))
		}
	}
}
