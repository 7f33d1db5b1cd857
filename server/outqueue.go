package server

import (
	"errors"
	"sync"
	"time"

	"github.com/shoaldb/shoal/internal/obuf"
)

// A connection's replies go to its socket from its own goroutine while
// the socket takes them. When it does not, because the client reads
// slower than it sends, the rest waits in the connection's output queue,
// which a writer goroutine drains, and the connection goes on reading and
// running requests, their replies queued after the ones waiting: Redis
// keeps a client's replies in its output buffer the same way. CLIENT
// LIST's omem and tot-mem count what waits; client-output-buffer-limit
// and maxmemory-clients close a client that lets it grow. A subscriber's
// messages join the queue while it is in use, so nothing overtakes a
// reply. A TLS connection's writes wait for its socket, as before.

// errConnDead is send's error once the socket failed.
var errConnDead = errors.New("connection closed")

// outQueue is a connection's output waiting for its socket; mu guards it.
// Output goes to the socket under conn.wmu, which orders it: straight
// from the sender while the queue is not in use, else through the queue,
// whose writer alone writes then (it needs no wmu: while busy is set no
// sender writes).
type outQueue struct {
	mu    sync.Mutex
	bufs  [][]byte
	bytes int64 // queued, and being written by the writer
	// fresh counts the bytes queued since maxmemory-clients last
	// weighed the connection: CLIENT LIST shows them only once weighed
	// (outPending), so no one sees a client past the limit that the
	// check is about to close.
	fresh int64
	// busy is set while the queue is in use: from the first output the
	// socket did not take until the writer emptied the queue.
	busy bool
	dead bool          // the socket failed: output is dropped
	done chan struct{} // closed when the writer ends
	// watch follows the replies against client-output-buffer-limit.
	watch obuf.Watch
}

// over reports whether used bytes of output at now pass l.
func (q *outQueue) over(l obuf.Limit, used int64, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.watch.Over(l, used, now)
}

// checkQueueLimit is the cron's check of a client's queued replies
// against client-output-buffer-limit, as Redis's clientsCron checks
// every client: a soft limit held past its seconds closes the client
// even when it sends nothing more. A subscriber's queue is checked with
// its messages (subscriber.checkLimit).
func (c *conn) checkQueueLimit(now time.Time) {
	if c.isSubscriber() {
		return
	}
	l, class := c.outputLimit()
	if l.Hard == 0 && l.Soft == 0 {
		return
	}
	q := &c.outq
	q.mu.Lock()
	used := omemOf(q.bytes)
	over := q.bytes > 0 && q.watch.Over(l, used, now)
	q.mu.Unlock()
	if over {
		c.logOutputLimit(class, used)
		c.closeConn()
	}
}

// logOutputLimit logs, as Redis does, that c passed the output limit of
// its class with used bytes.
func (c *conn) logOutputLimit(class int, used int64) {
	c.s.log.Warn("Client scheduled to be closed ASAP for overcoming of output buffer limits.",
		"client", c.ID, "addr", c.Addr, "class", obuf.ClassName(class), "pending", used)
}

// send writes p to the socket, or as much of it as the socket takes at
// once and queues the rest (a copy); while the queue is in use p joins
// it. It reports an error only when the socket failed. The caller holds
// wmu.
func (c *conn) send(p []byte) error {
	q := &c.outq
	if !writeSomeOK || c.rd == nil || c.rd.raw == nil {
		// NB: a TLS connection waits for its socket: a record written
		// in part cannot be taken back.
		c.outPending.Store(int64(len(p)))
		_, err := c.nc.Write(p)
		c.outPending.Store(0)
		return err
	}
	q.mu.Lock()
	switch {
	case q.dead:
		q.mu.Unlock()
		return errConnDead
	case q.busy:
		c.queueLocked(p)
		q.mu.Unlock()
		return nil
	}
	q.mu.Unlock()
	n, err := writeSome(c.rd.raw, p)
	c.s.stats.netOut.Add(int64(n))
	if err != nil {
		return err
	}
	if n < len(p) {
		q.mu.Lock()
		c.queueLocked(p[n:])
		q.busy = true
		q.done = make(chan struct{})
		go c.writeQueue(q.done)
		q.mu.Unlock()
	}
	return nil
}

// queueLocked appends a copy of p to the queue; the sender then calls
// weighOut.
func (c *conn) queueLocked(p []byte) {
	q := &c.outq
	q.bufs = append(q.bufs, append([]byte(nil), p...))
	q.bytes += int64(len(p))
	q.fresh += int64(len(p))
	if q.bytes > replyChunkBytes {
		c.s.noteOutputGrew()
	}
}

// weighOut runs maxmemory-clients' check when output queued past the
// reply buffer asked for it, then shows what is queued in CLIENT LIST.
// Whoever called send calls it, after wmu is released.
func (c *conn) weighOut() {
	c.s.evictIfDue()
	q := &c.outq
	q.mu.Lock()
	if q.fresh > 0 {
		q.fresh = 0
		c.outPending.Store(q.bytes)
	}
	q.mu.Unlock()
}

// unweighed returns the bytes queued since the connection was last
// weighed, for maxmemory-clients' check to count.
func (c *conn) unweighed() int64 {
	q := &c.outq
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fresh
}

// writeQueue drains the queue to the socket, waiting for it to take each
// piece, until the queue is empty or the socket fails.
func (c *conn) writeQueue(done chan struct{}) {
	q := &c.outq
	defer close(done)
	for {
		q.mu.Lock()
		if len(q.bufs) == 0 || q.dead {
			q.busy = false
			q.bufs, q.bytes, q.fresh = nil, 0, 0
			c.outPending.Store(0)
			q.mu.Unlock()
			return
		}
		b := q.bufs[0]
		q.bufs[0] = nil
		q.bufs = q.bufs[1:]
		q.mu.Unlock()
		_, err := c.nc.Write(b)
		q.mu.Lock()
		q.bytes -= int64(len(b))
		c.outPending.Store(max(q.bytes-q.fresh, 0))
		if err != nil {
			q.dead = true
		}
		q.mu.Unlock()
		if err != nil {
			c.closeConn()
		}
	}
}

// queued returns the bytes waiting in the queue.
func (c *conn) queued() int64 {
	q := &c.outq
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// waitOut waits until the queue is empty (or the socket failed): before
// the connection closes after its reply, or becomes a replica's link.
func (c *conn) waitOut() {
	q := &c.outq
	q.mu.Lock()
	done := q.done
	busy := q.busy
	q.mu.Unlock()
	if busy {
		<-done
	}
}
