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

// guardConn sits between the socket and redcon's reader and enforces
// proto-max-bulk-len and client-query-buffer-limit, which redcon does not:
// it follows the request framing as bytes arrive and, when a bulk header
// or an unparsed request exceeds its limit, answers as Redis does and ends
// the connection before the reader buffers it.
type guardConn struct {
	net.Conn
	s  *Server
	fr framer
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 {
		if perr := g.fr.feed(p[:n], g.s.maxBulk.Load(), g.s.maxQuery.Load()); perr != nil {
			if perr.reply != "" {
				g.Conn.Write([]byte("-" + perr.reply + "\r\n"))
			}
			g.s.log.Warn("closing client", "addr", g.Conn.RemoteAddr().String(), "reason", perr.msg)
			return 0, perr
		}
	}
	return n, err
}
