package testcluster

import (
	"fmt"
	"io"
	"net"
)

// nodePorts are the ports a node keeps across restarts.
type nodePorts struct{ resp, bus, catalog int }

// allocatePorts reserves n sets of loopback ports: each port is held by a
// listener until all are chosen, so no two coincide, then released for the
// nodes to bind. A gossip port is free for TCP and UDP both.
func allocatePorts(n int) ([]nodePorts, error) {
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	tcp := func() (int, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		held = append(held, ln)
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	tcpAndUDP := func() (int, error) {
		for range 50 {
			p, err := tcp()
			if err != nil {
				return 0, err
			}
			pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				continue // taken for UDP; keep the TCP one held and try another
			}
			held = append(held, pc)
			return p, nil
		}
		return 0, fmt.Errorf("testcluster: no loopback port free for TCP and UDP")
	}
	out := make([]nodePorts, n)
	for i := range out {
		var err error
		if out[i].resp, err = tcp(); err != nil {
			return nil, err
		}
		if out[i].bus, err = tcpAndUDP(); err != nil {
			return nil, err
		}
		if out[i].catalog, err = tcp(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
