package cluster

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoaldb/shoal/internal/netfault"
)

// The catalog port carries two protocols, told apart by the first byte a
// dialer sends (as Consul multiplexes its server port): raft's own
// transport, and the catalog's requests (rpc.go).
const (
	connRaft byte = 'R'
	connRPC  byte = 'C'
)

// mux accepts on the catalog port and hands each connection to raft or to
// the request server.
type mux struct {
	ln     net.Listener
	adv    net.Addr
	raftCh chan net.Conn
	rpc    func(net.Conn)
	once   sync.Once
	closed chan struct{}
	wg     sync.WaitGroup
}

func listenMux(bind string, adv net.Addr, rpc func(net.Conn)) (*mux, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	m := &mux{ln: ln, adv: adv, raftCh: make(chan net.Conn), rpc: rpc, closed: make(chan struct{})}
	m.wg.Add(1)
	go m.serve()
	return m, nil
}

func (m *mux) serve() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go m.route(c)
	}
}

func (m *mux) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	switch b[0] {
	case connRaft:
		select {
		case m.raftCh <- c:
		case <-m.closed:
			c.Close()
		}
	case connRPC:
		m.rpc(c)
	default:
		c.Close()
	}
}

func (m *mux) close() {
	m.once.Do(func() {
		close(m.closed)
		m.ln.Close()
	})
	m.wg.Wait()
}

// raftLayer is raft's StreamLayer over the mux.
type raftLayer struct{ m *mux }

var errMuxClosed = errors.New("cluster: catalog listener closed")

func (l raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftCh:
		return c, nil
	case <-l.m.closed:
		return nil, errMuxClosed
	}
}

func (l raftLayer) Close() error { l.m.close(); return nil }

func (l raftLayer) Addr() net.Addr { return l.m.adv }

func (l raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialMux(string(addr), connRaft, timeout)
}

func dialMux(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	c, err := netfault.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}
