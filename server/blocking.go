package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// Blocking commands (BLPOP, BLMOVE, BLMPOP, BZPOPMIN, ...) park the
// connection's goroutine in Block until a key they wait on is written.
//
// Each key has a FIFO queue of waiters. A committed write of a key wakes
// only the first waiter of its queue; that waiter retries its command
// under the key locks and, when it leaves the queue (served, timed out,
// gone), wakes the next one in its place. So when one push can serve one
// client, the client that blocked first gets it, and a push of several
// elements serves several clients in turn. Spurious wakes are harmless:
// a waiter that finds nothing to serve waits again at its place.
//
// Readers (XREAD, XREADGROUP; BlockReader) take nothing, so a write may
// serve every one of them: a woken reader that has nothing to serve wakes
// the waiter behind it, and one that leaves wakes the waiter that took
// its place wherever it stood, so a write goes down the whole queue, in
// order.

// blockRegistry finds the waiters of a written key.
type blockRegistry struct {
	mu    sync.Mutex
	keys  map[watchID][]*waiter
	conns map[*conn]*waiter
}

// waiter is one blocked connection.
type waiter struct {
	cn   *conn
	ids  []watchID
	wake chan struct{} // capacity 1: a wake is never lost, never blocks
	// unblock is closed by CLIENT UNBLOCK, or as the node turns replica;
	// unblockErr, when set, is answered instead of the timeout reply.
	unblock    chan struct{}
	unblockErr error
	done       bool // unblock was closed; under blockRegistry.mu
	reader     bool // passes on writes it does not serve (BlockReader)
}

// errUnblocked is CLIENT UNBLOCK ... ERROR's reply to the blocked client.
var errUnblocked = &commands.Error{Code: "UNBLOCKED", Msg: "client unblocked via CLIENT UNBLOCK"}

// errTurnedReplica ends the blocked commands of a primary that turns
// replica, as Redis's disconnectAllBlockedClients does: what its new
// primary sends must not serve them, or the two would differ.
var errTurnedReplica = &commands.Error{Code: "UNBLOCKED", Msg: "force unblock from blocking operation, instance state changed (master -> replica?)"}

func (w *waiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// add queues cn on keys of database db.
func (s *Server) addWaiter(cn *conn, db int, keys [][]byte, reader bool) *waiter {
	w := &waiter{cn: cn, wake: make(chan struct{}, 1), unblock: make(chan struct{}), reader: reader}
	r := &s.blocking
	r.mu.Lock()
	if r.keys == nil {
		r.keys = map[watchID][]*waiter{}
		r.conns = map[*conn]*waiter{}
	}
	for _, k := range keys {
		id := watchID{db, string(k)}
		dup := false
		for _, have := range w.ids {
			dup = dup || have == id
		}
		if dup {
			continue
		}
		w.ids = append(w.ids, id)
		r.keys[id] = append(r.keys[id], w)
	}
	r.conns[cn] = w
	r.mu.Unlock()
	s.store.AddListener(1)
	return w
}

// removeWaiter takes w out of its queues and wakes the waiter that
// becomes first of each queue w was first of: what w was woken for, or
// what was pushed for more than one client, goes on to the next in line.
func (s *Server) removeWaiter(w *waiter) {
	r := &s.blocking
	r.mu.Lock()
	for _, id := range w.ids {
		q := r.keys[id]
		for i, o := range q {
			if o != w {
				continue
			}
			q = append(q[:i], q[i+1:]...)
			if (i == 0 || w.reader) && i < len(q) {
				q[i].signal()
			}
			break
		}
		if len(q) == 0 {
			delete(r.keys, id)
		} else {
			r.keys[id] = q
		}
	}
	delete(r.conns, w.cn)
	r.mu.Unlock()
	s.store.AddListener(-1)
}

// passOn wakes the waiter behind the reader w in each of its queues: w
// had nothing to serve for the write that woke it.
func (s *Server) passOn(w *waiter) {
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range w.ids {
		q := r.keys[id]
		for i, o := range q {
			if o == w {
				if i+1 < len(q) {
					q[i+1].signal()
				}
				break
			}
		}
	}
}

// wakeBlocked is called by the store's write listener (keyWritten) under
// the writer's key locks: it wakes the first waiter of key, or every
// waiter of db when key is nil (every database when db is -1). It never
// blocks.
func (s *Server) wakeBlocked(db int, key []byte) {
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.keys) == 0 {
		return
	}
	if key == nil {
		for id, q := range r.keys {
			if db == -1 || id.db == db {
				for _, w := range q {
					w.signal()
				}
			}
		}
		return
	}
	if q := r.keys[watchID{db, string(key)}]; len(q) > 0 {
		q[0].signal()
	}
}

// BlockedClients returns the number of clients waiting in a blocking
// command (INFO's blocked_clients).
func (s *Server) BlockedClients() int {
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// unblockClient ends the wait of the blocked client id, as CLIENT UNBLOCK
// does: with the command's timeout reply, or with an UNBLOCKED error when
// withErr. It reports whether the client was blocked.
func (s *Server) unblockClient(id int64, withErr bool) bool {
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	for cn, w := range r.conns {
		if cn.ID == id && !w.done {
			w.done = true
			if withErr {
				w.unblockErr = errUnblocked
			}
			close(w.unblock)
			return true
		}
	}
	return false
}

// unblockAll ends every blocked command with err: a node that follows a
// new primary (errTurnedReplica closes the connection after the reply).
func (s *Server) unblockAll(err error) {
	r := &s.blocking
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.conns {
		if !w.done {
			w.done, w.unblockErr = true, err
			close(w.unblock)
		}
	}
}

// unblockedWith is what a blocked command answers once unblocked with err
// (nil: the timeout reply); errTurnedReplica closes the connection after
// it, as Redis's does.
func (cn *conn) unblockedWith(err error) error {
	if err == errTurnedReplica {
		cn.closing = true
	}
	return err
}

// Block implements commands.Server.Block.
func (s *Server) Block(c *commands.Ctx, keys [][]byte, timeout time.Duration, try func() (bool, error)) (bool, error) {
	return s.block(c, keys, timeout, try, false)
}

// BlockReader implements commands.Server.BlockReader.
func (s *Server) BlockReader(c *commands.Ctx, keys [][]byte, timeout time.Duration, try func() (bool, error)) (bool, error) {
	return s.block(c, keys, timeout, try, true)
}

func (s *Server) block(c *commands.Ctx, keys [][]byte, timeout time.Duration, try func() (bool, error), reader bool) (bool, error) {
	cn := connOf(c)
	// NB: queued while the first try's key locks are still held, so no
	// write to the keys can fall between that try and the queueing.
	w := s.addWaiter(cn, c.DB(), keys, reader)
	cn.blocked.Store(true)
	defer func() {
		cn.blocked.Store(false)
		s.removeWaiter(w)
	}()
	// Commit (releasing the key locks) and send the pipeline's earlier
	// replies: the client may wait long for this one.
	cn.flush()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	hup := watchHangup(cn.nc)
	defer hup.stop()
	for {
		select {
		case <-w.wake:
		case <-expired:
			return false, nil
		case <-hup.gone:
			// Closed by the client, CLIENT KILL or server shutdown.
			return false, nil
		case <-w.unblock:
			return false, cn.unblockedWith(w.unblockErr)
		case <-s.shutdown:
			return false, nil
		}
		if hup.check() {
			// Never pop an element for a client that cannot receive it.
			return false, nil
		}
		served, err := try()
		if served || err != nil {
			return served, err
		}
		cn.tx.Commit() // release the locks the try took
		if reader {
			s.passOn(w)
		}
	}
}

// hangup watches a blocked client's socket for the peer closing it (or
// the server closing it: CLIENT KILL, shutdown) without consuming the
// bytes of commands the client pipelined after the blocking one.
type hangup struct {
	gone chan struct{}
	nc   net.Conn
	raw  syscall.RawConn
	exit chan struct{}
}

func watchHangup(nc net.Conn) *hangup {
	h := &hangup{gone: make(chan struct{}), nc: nc}
	nc = rawConn(nc)
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return h
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return h
	}
	h.raw, h.exit = raw, make(chan struct{})
	go func() {
		defer close(h.exit)
		var state peekState
		err := raw.Read(func(fd uintptr) bool {
			state = peek(fd)
			return state != peekEmpty
		})
		if state == peekClosed || (err != nil && !errors.Is(err, os.ErrDeadlineExceeded)) {
			close(h.gone)
		}
	}()
	return h
}

// check reports whether the peer is gone, looking at the socket now.
func (h *hangup) check() bool {
	select {
	case <-h.gone:
		return true
	default:
	}
	if h.raw == nil {
		return false
	}
	state := peekEmpty
	if err := h.raw.Control(func(fd uintptr) { state = peek(fd) }); err != nil {
		return true
	}
	return state == peekClosed
}

// stop ends the watch and restores the socket for the connection's reader.
func (h *hangup) stop() {
	if h.exit == nil {
		return
	}
	h.nc.SetReadDeadline(time.Unix(1, 0))
	<-h.exit
	h.nc.SetReadDeadline(time.Time{})
}

type peekState int

const (
	peekEmpty  peekState = iota // nothing to read yet
	peekData                    // pipelined bytes wait: the peer is there
	peekClosed                  // end of stream or socket error
)
