package server

import (
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

// clientMem is what a connection holds, in bytes.
type clientMem struct {
	qbuf, qbufFree, argv, multi, out int64
	// extra is memory counted in tot-mem only: the connection's own
	// buffers beyond the query buffer.
	extra int64
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
// arguments yet (a header, an inline line, a bulk's payload so far) and
// those of its complete arguments, which the framer copied out of the
// read buffer.
func (f *framer) held() (query, argv int64) {
	switch f.state {
	case stMultiHdr, stBulkHdr:
		query = int64(len(f.hdr))
	case stBulkBody, stBulkCRLF:
		query = int64(len(f.body))
	case stInline:
		query = int64(len(f.line))
	}
	return query, argvMem(f.argv[f.cur:])
}

// publishHeld makes the partial request f holds after a read visible to
// CLIENT LIST; a read that ends at a request's end stores nothing new.
func (c *conn) publishHeld() {
	q, a := c.fr.held()
	if c.heldQuery.Load() != q {
		c.heldQuery.Store(q)
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
		m.out = int64(cn.out.Len())
	} else {
		m.qbuf = cn.heldQuery.Load()
		m.argv = cn.heldArgv.Load()
		m.multi = snap.multiMem
		m.out = cn.outPending.Load()
	}
	m.qbufFree = max(readChunk-m.qbuf, 0)
	for _, sub := range []*subscriber{cn.ps.Load(), cn.mon.Load(), cn.push.Load()} {
		if sub != nil {
			sub.mu.Lock()
			m.out += sub.pending
			sub.mu.Unlock()
		}
	}
	m.extra = int64(unsafe.Sizeof(*cn))
	return m
}

// writeMem writes the fields from qbuf to tot-mem in Redis's order; rbs
// and rbp, the size and peak of Redis's reply buffer, stay 0, as Shoal's
// grows with the replies of a pipeline.
func (m clientMem) writeMem(num func(name string, v int64)) {
	obl := min(m.out, replyChunk)
	oll := (m.out - obl + replyChunk - 1) / replyChunk
	omem := oll * replyChunk
	num("qbuf", m.qbuf)
	num("qbuf-free", m.qbufFree)
	num("argv-mem", m.argv)
	num("multi-mem", m.multi)
	num("rbs", 0)
	num("rbp", 0)
	num("obl", obl)
	num("oll", oll)
	num("omem", omem)
	// NB: as Redis's getClientMemoryUsage adds them up: the reply
	// blocks, the query buffer, the fixed reply buffer's bytes, the
	// arguments, the queued commands and the connection itself.
	num("tot-mem", omem+m.qbuf+m.qbufFree+obl+m.argv+m.multi+m.extra)
}
