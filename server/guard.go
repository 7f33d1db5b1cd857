package server

import (
	"net"
)

// guardListener wraps accepted connections in guardConn.
type guardListener struct {
	net.Listener
	s *Server
}

func (l *guardListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: nc, s: l.s}, nil
}

// readChunk is how much a guardConn reads from the socket at once, as
// Redis's PROTO_IOBUF_LEN.
const readChunk = 16 << 10

// guardConn sits between the socket and redcon's reader. Its framer reads
// the requests as Redis does and hands redcon their canonical form, so
// redcon never sees input it would read differently from Redis. A protocol
// error is held back until the requests before it have been served; then
// the reply is written, the error logged and the connection ends.
//
// Read is called by the connection's own goroutine only, the one that
// runs its commands, so it may read the conn's authentication state.
type guardConn struct {
	net.Conn
	s  *Server
	c  *conn // set by accept
	fr framer

	in       []byte // read from the socket, framed from inOff on
	inOff    int
	out      []byte // framed, served from outOff on
	outOff   int
	err      error // ends the connection once out is served
	reported bool
}

func (g *guardConn) Read(p []byte) (int, error) {
	for g.outOff == len(g.out) {
		g.out, g.outOff = g.out[:0], 0
		if g.err != nil {
			return 0, g.fail()
		}
		if g.inOff == len(g.in) {
			if g.in == nil {
				g.in = make([]byte, readChunk)
			}
			n, err := g.Conn.Read(g.in[:readChunk])
			g.in, g.inOff = g.in[:n], 0
			if err != nil {
				g.err = err
			}
		}
		out, used, ferr := g.fr.feed(g.out, g.in[g.inOff:], g.limits())
		g.out = out
		g.inOff += used
		if ferr != nil {
			g.err, g.inOff = ferr, len(g.in)
		}
		if cap(g.out) > 4*readChunk && len(g.out) == 0 {
			g.out = nil // an inline request made it large once
		}
	}
	n := copy(p, g.out[g.outOff:])
	g.outOff += n
	return n, nil
}

// Write skips empty writes. redcon flushes its own reply buffer after
// every pipeline, and Shoal writes its replies itself, so that buffer is
// always empty; an empty write would still cost a syscall.
func (g *guardConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return g.Conn.Write(p)
}

func (g *guardConn) limits() frameLimits {
	return frameLimits{
		maxBulk:  g.s.maxBulk.Load(),
		maxQuery: g.s.maxQuery.Load(),
		unauth:   g.c != nil && !g.c.Authenticated,
	}
}

// fail reports g.err once: a framing error is answered and logged.
func (g *guardConn) fail() error {
	if fe, ok := g.err.(*framingError); ok && !g.reported {
		g.reported = true
		if fe.reply != "" {
			if g.c != nil {
				g.c.wmu.Lock()
				defer g.c.wmu.Unlock()
			}
			g.Conn.Write([]byte("-" + fe.reply + "\r\n"))
		}
		g.s.log.Warn("closing client", "addr", g.Conn.RemoteAddr().String(), "reason", fe.msg)
	}
	return g.err
}
