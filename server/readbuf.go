package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A connection reads its socket through a buffer of readChunk bytes. A
// client idle for more than readBufIdle gives it back, as Redis frees an
// idle client's query buffer in clientsCronResizeQueryBuffer: the cron
// interrupts the read, which then waits for the socket to be readable
// with no buffer (the socket is peeked, as a blocked client's hangup
// watch does), and takes a buffer again when the client sends. Ten
// thousand idle clients hold no read buffers rather than 160 MB.

// readBufIdle is how long a client waits in a read before its buffer
// is given back: Redis's 2 seconds.
const readBufIdle = 2 * time.Second

var readBufs = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// The states of a connection's reader, as the cron and the reader pass
// the socket's read deadline between them.
const (
	readerBusy    int32 = iota // serving what it read, or not parkable
	readerReading              // in a read of the socket
	readerParking              // the cron set a past read deadline
)

// reader is the buffer and state of a connection's reads.
type reader struct {
	state  atomic.Int32
	parkMu sync.Mutex  // held by the cron while it sets the deadline
	held   atomic.Bool // a buffer is held (CLIENT LIST's qbuf-free)
	raw    syscall.RawConn
	buf    *[]byte
}

// newReader readies the reads of nc; a connection whose socket cannot be
// peeked (TLS) keeps its buffer.
func newReader(nc net.Conn) *reader {
	r := &reader{}
	// NB: a TLS connection's bytes are not the socket's.
	if cc, ok := nc.(*countingConn); ok {
		if sc, ok := cc.Conn.(syscall.Conn); ok {
			r.raw, _ = sc.SyscallConn()
		}
	}
	r.take()
	return r
}

func (r *reader) take() {
	r.buf = readBufs.Get().(*[]byte)
	r.held.Store(true)
}

func (r *reader) release() {
	if r.buf != nil {
		readBufs.Put(r.buf)
		r.buf = nil
	}
	r.held.Store(false)
}

// read reads from nc into the buffer. When the cron parked the reader
// and the read timed out, the buffer goes back until nc is readable.
func (r *reader) read(nc net.Conn) (int, error) {
	for {
		if r.raw != nil {
			r.state.Store(readerReading)
		}
		n, err := nc.Read(*r.buf)
		if r.raw == nil || r.state.CompareAndSwap(readerReading, readerBusy) {
			return n, err
		}
		// The cron parked the read: wait for it to have set the
		// deadline, and clear it.
		r.parkMu.Lock()
		r.parkMu.Unlock()
		nc.SetReadDeadline(time.Time{})
		r.state.Store(readerBusy)
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		r.release()
		var state peekState
		werr := r.raw.Read(func(fd uintptr) bool {
			state = peek(fd)
			return state != peekEmpty
		})
		r.take()
		if werr != nil {
			return 0, werr
		}
	}
}

// park interrupts a read that has waited past readBufIdle, for the
// reader to give its buffer back.
func (r *reader) park(nc net.Conn) {
	r.parkMu.Lock()
	defer r.parkMu.Unlock()
	if r.state.CompareAndSwap(readerReading, readerParking) {
		nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// parkIdleReaders parks the reads of clients idle past readBufIdle
// (once a second, from the cron).
func (s *Server) parkIdleReaders() {
	idle := time.Now().Add(-readBufIdle).UnixNano()
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	for _, c := range s.clients {
		if c.lastActive.Load() >= idle || c.replicaLink.Load() {
			continue
		}
		// NB: Redis frees an idle client's query buffer, however large.
		c.bigRoom.Store(0)
		if c.rd != nil && c.rd.held.Load() {
			c.rd.park(c.nc)
		}
	}
}
