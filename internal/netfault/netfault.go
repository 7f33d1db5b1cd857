// Package netfault drops this process's traffic to chosen peer addresses,
// so tests can partition real nodes: outgoing dials to a dropped address
// fail, connections already open to it are closed, and gossip packets to
// and from it are discarded. A symmetric partition drops each side's
// addresses on the other. It is available only when the process starts
// with SHOAL_FAILPOINTS set (see package failpoint); otherwise Drop refuses
// and Dropped is always false.
package netfault

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/internal/failpoint"
)

// ErrDropped is the error of a dial to a dropped address.
var ErrDropped = errors.New("netfault: address dropped")

var (
	active  atomic.Bool
	mu      sync.Mutex
	dropped = map[string]bool{}
	conns   = map[*conn]struct{}{}
)

// Drop replaces the set of dropped addresses ("host:port") and closes the
// tracked connections to any of them. An empty list heals.
func Drop(addrs []string) error {
	if !failpoint.Enabled() {
		return errors.New("netfault: start the process with " + failpoint.EnvVar + " set to inject network faults")
	}
	mu.Lock()
	dropped = map[string]bool{}
	for _, a := range addrs {
		dropped[a] = true
	}
	active.Store(len(dropped) > 0)
	var victims []*conn
	for c := range conns {
		if dropped[c.peer] {
			victims = append(victims, c)
		}
	}
	mu.Unlock()
	for _, c := range victims {
		c.Conn.Close()
	}
	return nil
}

// List returns the dropped addresses.
func List() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(dropped))
	for a := range dropped {
		out = append(out, a)
	}
	return out
}

// Dropped reports whether traffic to addr is dropped.
func Dropped(addr string) bool {
	if !active.Load() {
		return false
	}
	mu.Lock()
	defer mu.Unlock()
	return dropped[addr]
}

// DialTimeout dials addr unless it is dropped; the connection is tracked
// so a later Drop of addr closes it.
func DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	return DialFrom(network, addr, "", timeout)
}

// DialFrom is DialTimeout from the local address source ("" for any), as
// bind-source-addr asks of a node's outgoing connections.
func DialFrom(network, addr, source string, timeout time.Duration) (net.Conn, error) {
	if Dropped(addr) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: ErrDropped}
	}
	d := net.Dialer{Timeout: timeout}
	if source != "" {
		ip := net.ParseIP(source)
		if ip == nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "bind-source-addr is not an IP address", Addr: source}}
		}
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	c, err := d.Dial(network, addr)
	if err != nil || !failpoint.Enabled() {
		return c, err
	}
	return Track(c, addr), nil
}

// Track returns c wrapped so that a Drop of peer closes it. Without
// SHOAL_FAILPOINTS it returns c itself.
func Track(c net.Conn, peer string) net.Conn {
	if !failpoint.Enabled() {
		return c
	}
	tc := &conn{Conn: c, peer: peer}
	mu.Lock()
	conns[tc] = struct{}{}
	drop := dropped[peer]
	mu.Unlock()
	if drop {
		c.Close()
	}
	return tc
}

type conn struct {
	net.Conn
	peer string
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
	})
	return c.Conn.Close()
}
