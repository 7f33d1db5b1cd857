package server

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shoaldb/shoal/commands"
)

// The memory fields of CLIENT LIST and CLIENT INFO, as Redis 7.0's
// catClientInfoString reports them: qbuf and qbuf-free (the query
// buffer's bytes not yet made arguments, and its room), argv-mem (the
// bytes of the arguments read), multi-mem (MULTI's queued commands), obl,
// oll and omem (replies not yet written: the first 16 KiB in Redis's
// fixed buffer, the rest in 16 KiB blocks), and tot-mem (all of them with
// the connection's own buffers). Nothing is counted per command: the
// connection publishes a request's partial state once per read and its
// unwritten replies around each write, and CLIENT LIST reads these, the
// pub/sub queues and, for the calling connection, its own state.

// replyChunk is Redis's PROTO_REPLY_CHUNK_BYTES: its fixed reply buffer,
// and the size of each block of its reply list.
const replyChunk = 16 << 10

// replyBuf follows the reply buffer Redis 7.0 keeps for a client, whose
// size and peak CLIENT LIST shows as rbs and rbp. It starts at 16 KiB
// with a peak of 16 KiB; the replies written at once (a pipeline's) fill
// it up to its size, the rest going to Redis's reply list; every 100 ms
// (clientsCron at hz 10) a buffer whose peak is under half its size
// shrinks to the peak, not under 1 KiB, and a full one doubles, up to 16
// KiB, in jemalloc's size classes; every 5 s the peak starts over. The
// cron is applied when the connection writes and when CLIENT LIST reads
// it, for the ticks passed since.
type replyBuf struct {
	cron *replyCron
	mu   struct {
		sync.Mutex
		size, peak int64
		tick       int64 // the last cron tick applied (ms / replyCronMs)
		reset      int64 // ms of the peak's last new start; 0: never
	}
}

// replyCron is the server's side of the reply buffers' cron: DEBUG
// REPLYBUFFER's settings and INFO's reply_buffer_shrinks and
// reply_buffer_expands.
type replyCron struct {
	// peakResetMs is how often a peak starts over (-1: never), resizing
	// whether the cron runs at all.
	peakResetMs      atomic.Int64
	resizing         atomic.Bool
	shrinks, expands atomic.Int64
}

func newReplyCron() *replyCron {
	r := &replyCron{}
	r.peakResetMs.Store(replyPeakResetMs)
	r.resizing.Store(true)
	return r
}

const (
	replyCronMs      = 100  // clientsCron's period at hz 10
	replyPeakResetMs = 5000 // REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME
	replyMinBytes    = 1024 // PROTO_REPLY_MIN_BYTES
)

// newReplyBuf returns the buffer of a new client: 16 KiB, its peak too.
func newReplyBuf(cron *replyCron) *replyBuf {
	b := &replyBuf{cron: cron}
	b.mu.size, b.mu.peak = replyChunk, replyChunk
	return b
}

// wrote records n bytes of replies written at once at Unix ms now.
func (b *replyBuf) wrote(n, now int64) {
	b.mu.Lock()
	b.advanceLocked(now)
	b.mu.peak = max(b.mu.peak, min(n, b.mu.size))
	b.mu.Unlock()
}

// read returns the size and peak at Unix ms now.
func (b *replyBuf) read(now int64) (size, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked(now)
	return b.mu.size, b.mu.peak
}

// advanceLocked applies the cron ticks up to now, as Redis's
// clientsCronResizeOutputBuffer runs them. An idle buffer settles within
// a few ticks, so at most replyMaxTicks are run one by one.
func (b *replyBuf) advanceLocked(now int64) {
	m := &b.mu
	tick := now / replyCronMs
	if m.tick == 0 {
		m.tick = tick
		return
	}
	cron := b.cron
	resetMs := cron.peakResetMs.Load()
	for t := max(m.tick+1, tick-replyMaxTicks); t <= tick && cron.resizing.Load(); t++ {
		ms := t * replyCronMs
		switch {
		case m.size/2 >= replyMinBytes && m.peak < m.size/2:
			m.size = jemallocSize(max(replyMinBytes, m.peak+1))
			cron.shrinks.Add(1)
		case m.size*2 < 2*replyChunk && m.peak == m.size:
			m.size = min(replyChunk, m.size*2)
			cron.expands.Add(1)
		}
		if resetMs >= 0 && ms-m.reset >= resetMs {
			// NB: the replies went out, so the buffer holds none.
			m.peak, m.reset = 0, ms
		}
	}
	m.tick = max(m.tick, tick)
}

// replyMaxTicks bounds the ticks advanceLocked runs: more than two peak
// resets at the default period.
const replyMaxTicks = 2*replyPeakResetMs/replyCronMs + 2

// jemallocSize is the size class jemalloc gives an allocation of n bytes,
// for n from 1 KiB to 16 KiB: four classes in each doubling.
func jemallocSize(n int64) int64 {
	step := int64(256)
	for lim := int64(2048); lim < n; lim *= 2 {
		step *= 2
	}
	return (n + step - 1) / step * step
}

// clientMem is what a connection holds, in bytes.
type clientMem struct {
	qbuf, qbufFree, argv, multi, out int64
	// rbs and rbp are the reply buffer's size and peak (replyBuf).
	rbs, rbp int64
	// extra is memory counted in tot-mem only: the connection's own
	// buffers beyond the query buffer, and Redis's bookkeeping of its
	// watched keys, subscriptions and queued commands (stateOverhead).
	extra int64
}

// Sizes in Redis 7.0 on 64 bits, for stateOverhead.
const (
	listNodeSize   = 24 // listNode
	watchedKeySize = 32 // watchedKey
	dictEntrySize  = 24 // dictEntry
	multiCmdSize   = 24 // multiCmd
)

// stateOverhead is what Redis's getClientMemoryUsage adds for a client's
// state beyond its buffers: its watched keys' list nodes
// (multiStateMemOverhead), the room for its queued commands (an array
// of 2, doubled as it fills), and its subscriptions (pubsubMemOverhead:
// a list node per pattern, a dictionary entry per channel and the
// dictionary's slots, 4 at first, doubled when full).
func stateOverhead(snap *clientSnapshot) int64 {
	n := int64(snap.watch) * (listNodeSize + watchedKeySize)
	if snap.multi > 0 {
		n += dictSlots(snap.multi, 2) * multiCmdSize
	}
	n += int64(snap.Patterns) * listNodeSize
	for _, c := range []int{snap.Channels, snap.ShardChannels} {
		if c > 0 {
			n += int64(c)*dictEntrySize + dictSlots(c, 4)*8
		}
	}
	return n
}

// dictSlots is the size of a table that starts at least and doubles
// when an insert finds it full: the least power of two holding n.
func dictSlots(n, least int) int64 {
	size := int64(least)
	for size < int64(n) {
		size *= 2
	}
	return size
}

// argvMem is Redis's argv_len_sum: the arguments' lengths.
func argvMem(args [][]byte) int64 {
	var n int64
	for _, a := range args {
		n += int64(len(a))
	}
	return n
}

// multiMem is Redis's mstate.argv_len_sums: each queued command's
// arguments and one pointer per argument.
func multiMem(m *multiState) int64 {
	if m == nil {
		return 0
	}
	var n int64
	for _, q := range m.queued {
		n += argvMem(q.args) + int64(len(q.args))*int64(unsafe.Sizeof(uintptr(0)))
	}
	return n
}

// held returns the bytes of the request being read that are not
// arguments yet (a header, an inline line, a bulk's payload so far), the
// room left for a big argument's payload (0 when none is being read)
// and the bytes of its complete arguments, which the framer copied out of
// the read buffer. A big argument's room is what Redis's query buffer has
// left once sized for it on reading its header (bigArgFree).
func (f *framer) held() (query, free, argv int64) {
	args := f.argv[f.cur:]
	switch f.state {
	case stMultiHdr, stBulkHdr:
		query = int64(len(f.hdr))
	case stBulkBody:
		query = int64(len(f.body))
		if n := query + f.skip; n >= bigArg {
			free = bigArgFree(n, query)
		}
	case stBulkCRLF:
		// NB: a big argument whose line end is still to come is in
		// Redis's query buffer yet, not an argument.
		if last := args[len(args)-1]; len(last) >= bigArg {
			args = args[:len(args)-1]
			query = int64(len(last)) + int64(2-f.crlf)
			free = bigArgFree(int64(len(last)), query)
		}
	case stInline:
		query = int64(len(f.line))
	}
	return query, free, argvMem(args)
}

// bigArgFree is what Redis's query buffer has left with query bytes in
// it once sized for a big argument of n bytes and its line end
// (sdsMakeRoomForNonGreedy: a string header and jemalloc's size class).
func bigArgFree(n, query int64) int64 {
	n += 2
	hdr := int64(5) // sdshdr16
	if n >= 1<<16 {
		hdr = 9 // sdshdr32
	}
	return jemallocSize(hdr+n+1) - hdr - 1 - query
}

// publishHeld makes the partial request f holds after a read visible to
// CLIENT LIST; a read that ends at a request's end stores nothing new.
// The room Redis keeps in its query buffer after a big argument is kept
// until a read of small requests comes 100 ms later or more, as Redis's
// clientsCronResizeQueryBuffer shrinks it to the lower peak it finds on
// its next visit, or until the client is idle for 2 s (parkIdleReaders).
func (c *conn) publishHeld() {
	if room := c.fr.bigRoom; room > 0 {
		c.fr.bigRoom = 0
		c.bigRoom.Store(room)
		c.bigAt = time.Now()
	} else if c.bigRoom.Load() > 0 && c.readLen < bigArg && time.Since(c.bigAt) >= 100*time.Millisecond {
		c.bigRoom.Store(0)
	}
	q, free, a := c.fr.held()
	if c.heldQuery.Load() != q {
		c.heldQuery.Store(q)
	}
	if c.heldFree.Load() != free {
		c.heldFree.Store(free)
	}
	if c.heldArgv.Load() != a {
		c.heldArgv.Store(a)
	}
}

// memOf returns what cn holds. self, set when cn is the calling
// connection, is read directly: the read being served is in the query
// buffer, the command's arguments are read, and the replies of the
// commands before it in the pipeline are not written yet.
func (cn *conn) memOf(self *commands.Ctx, snap *clientSnapshot) clientMem {
	var m clientMem
	if self != nil {
		m.qbuf = int64(cn.readLen)
		m.argv = argvMem(self.Args)
		m.multi = multiMem(cn.multi)
		m.out = int64(cn.out.Len()) + cn.queued()
	} else {
		m.qbuf = cn.heldQuery.Load()
		m.argv = cn.heldArgv.Load()
		m.multi = snap.multiMem
		m.out = cn.outPending.Load()
	}
	if free := cn.heldFree.Load(); free > 0 {
		m.qbufFree = free
	} else if room := cn.bigRoom.Load(); room > 0 {
		m.qbufFree = max(room-m.qbuf, 0)
	} else if cn.rd != nil && cn.rd.held.Load() {
		m.qbufFree = max(readChunk-m.qbuf, 0)
	}
	for _, sub := range []*subscriber{cn.ps.Load(), cn.mon.Load(), cn.push.Load()} {
		if sub != nil {
			sub.mu.Lock()
			m.out += sub.pending
			sub.mu.Unlock()
		}
	}
	m.rbs, m.rbp = cn.rbuf.read(time.Now().UnixMilli())
	m.extra = int64(unsafe.Sizeof(*cn))
	if snap != nil {
		m.extra += stateOverhead(snap)
	}
	if t := cn.trkInfo.Load(); t != nil {
		m.extra += int64(t.nodes) * raxNodeCost
	}
	return m
}

// writeMem writes the fields from qbuf to tot-mem in Redis's order.
func (m clientMem) writeMem(num func(name string, v int64)) {
	obl := min(m.out, replyChunk)
	oll := replyBlocks(m.out - obl)
	omem := omemOf(m.out)
	num("qbuf", m.qbuf)
	num("qbuf-free", m.qbufFree)
	num("argv-mem", m.argv)
	num("multi-mem", m.multi)
	num("rbs", m.rbs)
	num("rbp", m.rbp)
	num("obl", obl)
	num("oll", oll)
	num("omem", omem)
	num("tot-mem", m.total())
}

// total is tot-mem: as Redis's getClientMemoryUsage adds them up, the
// reply blocks, the query buffer, the reply buffer, the arguments, the
// queued commands and the connection itself.
func (m clientMem) total() int64 {
	return omemOf(m.out) + m.qbuf + m.qbufFree + m.rbs + m.argv + m.multi + m.extra
}

// omemOf is CLIENT LIST's omem for out bytes of pending output: what
// passes Redis's 16 KiB reply buffer, in whole blocks of its reply list.
// A subscriber's output limit is checked against the same figure.
func omemOf(out int64) int64 { return omemBeyond(out, replyChunk) }

// omemBeyond is Redis's getClientOutputBufferMemoryUsage for out bytes of
// output of which the first static sit in its reply buffer: the rest in
// blocks of its reply list, each a 16 KiB block and its header, which
// jemalloc rounds up to 20 KiB (replyBlockData bytes of replies), counted
// with its list node.
func omemBeyond(out, static int64) int64 {
	return replyBlocks(out-min(out, static)) * replyBlockMem
}

// replyBlocks is how many blocks of Redis's reply list n bytes fill.
func replyBlocks(n int64) int64 { return (n + replyBlockData - 1) / replyBlockData }

const (
	// replyBlockData is the room for replies of a block of Redis's
	// reply list: 16 KiB and a 16-byte header allocated in jemalloc's
	// 20 KiB class, less the header.
	replyBlockData = 20480 - 16
	// replyBlockMem is what omem counts a block: its room, its header
	// and its list node.
	replyBlockMem = replyBlockData + 16 + 24
)
