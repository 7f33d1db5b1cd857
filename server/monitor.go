package server

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// MONITOR: every command that ran is shown to the monitoring clients as
// one line, as Redis's replicationFeedMonitors writes it:
//
//	+1700000000.123456 [0 127.0.0.1:50000] "set" "k" "v"
//
// A monitor receives its lines through a subscriber (pubsub.go): a queue
// its own writer drains, so a command never waits on a monitor's socket.

// monitorRegistry holds the monitoring connections; n lets a command skip
// the feed with one atomic load when nobody monitors.
type monitorRegistry struct {
	n  atomic.Int32
	mu sync.RWMutex
	m  map[*conn]*subscriber
}

// Monitor implements commands.Server (MONITOR).
func (s *Server) Monitor(c *commands.Ctx) error {
	cn := connOf(c)
	if c.InMulti {
		return commands.Errf("MONITOR isn't allowed for DENY BLOCKING client")
	}
	if cn.mon.Load() != nil {
		return nil // NB: Redis ignores it, with no reply
	}
	sub := newSubscriber(cn)
	sub.hold = true // the lines wait for MONITOR's +OK
	cn.mon.Store(sub)
	r := &s.monitors
	r.mu.Lock()
	if r.m == nil {
		r.m = map[*conn]*subscriber{}
	}
	r.m[cn] = sub
	r.n.Store(int32(len(r.m)))
	r.mu.Unlock()
	c.Out.OK()
	return nil
}

// stopMonitor ends c's MONITOR (RESET, connection close).
func (s *Server) stopMonitor(c *conn) {
	sub := c.mon.Load()
	if sub == nil {
		return
	}
	r := &s.monitors
	r.mu.Lock()
	delete(r.m, c)
	r.n.Store(int32(len(r.m)))
	r.mu.Unlock()
	sub.stop()
	c.mon.Store(nil)
}

// monitoring reports whether any client monitors.
func (s *Server) monitoring() bool { return s.monitors.n.Load() > 0 }

// feedMonitors shows a command that ran in database db to the monitors;
// addr is the client's address, or "lua" for a script's command.
func (s *Server) feedMonitors(cmd *commands.Command, db int, addr string, args [][]byte) {
	line := monitorLine(time.Now(), db, addr, redactArgs(cmd, args))
	now := time.Now()
	r := &s.monitors
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sub := range r.m {
		sub.deliver(line, now)
	}
}

// monitorAddr is how MONITOR names the client: its address, or for a
// client of the Unix socket "unix:" and the socket's path, as Redis does.
func (c *conn) monitorAddr() string {
	if c.Unix {
		return "unix:" + strings.TrimSuffix(c.Addr, ":0")
	}
	return c.Addr
}

// monitorLine renders one MONITOR line as a simple string, each argument
// quoted as Redis's sdscatrepr does.
func monitorLine(t time.Time, db int, addr string, args [][]byte) []byte {
	b := make([]byte, 0, 64)
	b = append(b, '+')
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '.')
	us := strconv.AppendInt(nil, int64(t.Nanosecond()/1000), 10)
	for i := len(us); i < 6; i++ {
		b = append(b, '0')
	}
	b = append(b, us...)
	b = append(b, " ["...)
	b = strconv.AppendInt(b, int64(db), 10)
	b = append(b, ' ')
	b = append(b, addr...)
	b = append(b, ']')
	for _, a := range args {
		b = append(b, ' ')
		b = appendRepr(b, a)
	}
	return append(b, "\r\n"...)
}

// appendRepr appends a quoted as Redis's sdscatrepr does.
func appendRepr(b, a []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range a {
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
			} else {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			}
		}
	}
	return append(b, '"')
}
