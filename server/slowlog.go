package server

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// slowlog keeps the most recent commands slower than
// slowlog-log-slower-than, newest first, as Redis's SLOWLOG does.
type slowlog struct {
	mu      sync.Mutex
	entries []slowEntry
	nextID  int64
}

type slowEntry struct {
	id   int64
	at   int64 // Unix seconds
	us   int64
	args [][]byte
	addr string
	name string
}

func (l *slowlog) init() {}

func (l *slowlog) add(args [][]byte, us int64, c *conn, max int) {
	if max <= 0 {
		return
	}
	// Like Redis: at most 32 arguments, each at most 128 bytes.
	n := len(args)
	if n > 32 {
		n = 32
	}
	cp := make([][]byte, n)
	for i := 0; i < n; i++ {
		a := args[i]
		if len(a) > 128 {
			a = append(bytes.Clone(a[:128]), fmt.Sprintf("... (%d more bytes)", len(args[i])-128)...)
		} else {
			a = bytes.Clone(a)
		}
		cp[i] = a
	}
	if len(args) > 32 {
		cp[31] = []byte(fmt.Sprintf("... (%d more arguments)", len(args)-31))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := slowEntry{id: l.nextID, at: time.Now().Unix(), us: us, args: cp, addr: c.Addr, name: c.Name}
	l.nextID++
	l.entries = append([]slowEntry{e}, l.entries...)
	if len(l.entries) > max {
		l.entries = l.entries[:max]
	}
}

func (l *slowlog) reset() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}

// Slowlog implements SLOWLOG GET [count], LEN and RESET.
func (s *Server) Slowlog(c *commands.Ctx) error {
	sub := c.Args[1]
	switch {
	case commands.Is(sub, "len"):
		s.slowlog.mu.Lock()
		n := len(s.slowlog.entries)
		s.slowlog.mu.Unlock()
		c.Out.Int(int64(n))
	case commands.Is(sub, "reset"):
		s.slowlog.reset()
		c.Out.OK()
	case commands.Is(sub, "get"):
		count := int64(10)
		if len(c.Args) == 3 {
			n, err := commands.ParseInt(c.Args[2])
			if err != nil || n < -1 {
				return commands.Errf("count should be greater than or equal to -1")
			}
			count = n
		}
		s.slowlog.mu.Lock()
		entries := s.slowlog.entries
		if count >= 0 && int64(len(entries)) > count {
			entries = entries[:count]
		}
		entries = append([]slowEntry(nil), entries...)
		s.slowlog.mu.Unlock()
		c.Out.MarkDeferred() // NB: Redis counts the entries as it goes
		c.Out.Array(len(entries))
		for _, e := range entries {
			c.Out.Array(6)
			c.Out.Int(e.id)
			c.Out.Int(e.at)
			c.Out.Int(e.us)
			c.Out.BulkArray(e.args)
			c.Out.BulkString(e.addr)
			c.Out.BulkString(e.name)
		}
	}
	return nil
}
