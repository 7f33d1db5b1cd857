package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
)

// readChunk is how much a connection reads from its socket at once, as
// Redis's PROTO_IOBUF_LEN.
const readChunk = 16 << 10

// serve accepts connections on ln until it is closed, each served by a
// goroutine of its own. A TLS connection's handshake is the first read's,
// in that goroutine, with the TLS settings in force when it was accepted.
func (s *Server) serve(ln net.Listener, kind listenerKind) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept failed", "err", err)
			time.Sleep(10 * time.Millisecond) // NB: out of descriptors, say
			continue
		}
		s.setKeepalive(nc)
		cc := &countingConn{Conn: nc, s: s}
		switch kind {
		case tlsListener:
			setup := s.tls.Load()
			if setup == nil {
				nc.Close()
				continue
			}
			cc.Conn = tls.Server(nc, setup.server)
		case unixListener:
			cc.unixPath = s.ln.first(unixListener)
		}
		go s.serveConn(cc)
	}
}

// setKeepalive sets a client's TCP keepalive as Redis's anetKeepAlive
// does for tcp-keepalive's period: the first probe after the period idle,
// then every third of it, three unanswered ending the connection; 0 turns
// keepalive off.
func (s *Server) setKeepalive(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	secs := s.keepalive.Load()
	if secs <= 0 {
		tc.SetKeepAlive(false)
		return
	}
	tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Duration(secs) * time.Second,
		Interval: time.Duration(max(secs/3, 1)) * time.Second, Count: 3})
}

// serveConn runs a client connection: it reads requests as Redis does
// (framer.go), runs each as it is framed, and when the requests read so far
// are done, commits their writes and sends their replies together. A
// protocol error is answered once the requests before it have been served;
// then the connection ends.
func (s *Server) serveConn(nc net.Conn) {
	c := s.accept(nc)
	if c == nil {
		nc.Close()
		return
	}
	defer func() {
		if !c.detached {
			nc.Close()
		}
		s.closed(c)
	}()
	defer c.rd.release()
	for {
		if space := c.fr.bodySpace(); space != nil {
			if !c.readBody(nc, space) {
				return
			}
			continue
		}
		n, rerr := c.rd.read(nc)
		c.readLen, c.clock, c.passOut = n, 0, 0
		p := (*c.rd.buf)[:n]
		for len(p) > 0 {
			used, ferr := c.fr.feed(p, c.limits())
			for i, r := range c.fr.reqs {
				if c.closing {
					break
				}
				c.dispatch(c.fr.request(r))
				c.unit++
				if c.detached {
					// The connection is a replica's now: what followed the
					// request is the replication stream's to read.
					c.replicaLink.Store(true)
					c.lastActive.Store(time.Now().UnixNano())
					c.publish()
					c.afterDetach(c.detachedReader(bytes.Clone(p[r.rawEnd:])))
					return
				}
				last := i == len(c.fr.reqs)-1
				if c.closing || last || (c.out.Len() > flushBytes && !c.outputLimited()) || c.tx.PendingBytes() > batchBytes {
					// What CLIENT LIST and the idle sweeper read, once per
					// pipeline, published before the replies go out: a
					// client that has read its reply finds its state in
					// CLIENT LIST, the query it was served gone from its
					// qbuf.
					c.lastActive.Store(time.Now().UnixNano())
					c.publishHeld()
					c.publish()
					c.flush()
				}
			}
			if c.closing {
				// NB: Redis stops reading a client that is to close after
				// its reply: what was pipelined after QUIT never runs.
				c.closeConn()
				return
			}
			if ferr != nil {
				c.framingFailed(ferr)
				return
			}
			c.fr.release()
			p = p[used:]
		}
		if !c.afterRead(rerr) {
			return
		}
	}
}

// readBody reads the rest of a big argument's payload straight into it,
// as Redis reads it in one read rather than through its 16 KiB buffer,
// and reports whether the connection goes on.
func (c *conn) readBody(nc net.Conn, space []byte) bool {
	n, rerr := nc.Read(space)
	c.readLen, c.clock, c.passOut = n, 0, 0
	if n > 0 {
		if ferr := c.fr.bodyRead(n, c.limits()); ferr != nil {
			c.framingFailed(ferr)
			return false
		}
	}
	return c.afterRead(rerr)
}

// afterRead publishes the partial request c holds after a read, evicts
// clients when it grew, and reports whether the connection goes on.
func (c *conn) afterRead(rerr error) bool {
	c.publishHeld()
	if rerr == nil && c.heldQuery.Load()+c.heldFree.Load()+c.heldArgv.Load() > readChunk && c.s.clientsLimit.Load() > 0 {
		// NB: a request growing over reads is what a client's memory
		// grows by here; output is weighed as it queues (weighOut), and
		// every client once a second.
		c.s.evictClients()
	}
	if rerr != nil {
		if !errors.Is(rerr, io.EOF) && !errors.Is(rerr, net.ErrClosed) {
			c.s.log.Debug("client read failed", "client", c.ID, "err", rerr)
		}
		return false
	}
	return true
}

func (c *conn) limits() frameLimits {
	return frameLimits{
		maxBulk:  c.s.maxBulk.Load(),
		maxQuery: c.s.maxQuery.Load(),
		unauth:   !c.Authenticated,
	}
}

// framingFailed answers and logs a framing error, and ends the connection.
func (c *conn) framingFailed(fe *framingError) {
	if fe.reply != "" {
		c.wmu.Lock()
		c.send([]byte("-" + fe.reply + "\r\n"))
		c.wmu.Unlock()
		c.weighOut()
		c.waitOut()
	}
	c.s.log.Warn("closing client", "addr", c.nc.RemoteAddr().String(), "reason", fe.msg)
	c.closeConn()
}

// closeConn closes the client's socket; the connection's goroutine then
// ends. It is safe to call more than once and from other goroutines.
func (c *conn) closeConn() {
	if c.nc != nil {
		c.nc.Close()
	}
}

// detachedReader reads the requests of a connection that left the
// command loop (a replica's REPLCONF ACKs), after the bytes it had read;
// each is the link's last interaction, which CLIENT LIST's idle and cmd
// show.
func (c *conn) detachedReader(rest []byte) func() ([][]byte, error) {
	rd := redcon.NewReader(io.MultiReader(bytes.NewReader(rest), c.nc))
	return func() ([][]byte, error) {
		cmd, err := rd.ReadCommand()
		if err == nil && len(cmd.Args) > 0 {
			c.lastActive.Store(time.Now().UnixNano())
			if found := c.s.table.Lookup(cmd.Args[0]); found != nil {
				c.lastCmd.Store(&found.Name) // NB: commands are never changed once made
			}
		}
		return cmd.Args, err
	}
}

// countingConn counts the bytes a client connection reads and writes, for
// INFO's total_net_input_bytes and total_net_output_bytes (or, once it
// carries a replication stream, total_net_repl_output_bytes).
type countingConn struct {
	net.Conn
	s       *Server
	replica atomic.Bool
	// unixPath is the Unix socket a client connected to, "" for TCP.
	unixPath string
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.s.stats.netIn.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.replica.Load() {
		c.s.stats.replOut.Add(int64(n))
	} else {
		c.s.stats.netOut.Add(int64(n))
	}
	return n, err
}

// rawConn returns the socket under a client connection (under its TLS
// too), to look at, never to read or write.
func rawConn(nc net.Conn) net.Conn {
	if c, ok := nc.(*countingConn); ok {
		nc = c.Conn
	}
	if c, ok := nc.(*tls.Conn); ok {
		nc = c.NetConn()
	}
	return nc
}
