package server

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// The CLIENT subcommands that need the connection list or the pause
// state: LIST, INFO, KILL, PAUSE and UNPAUSE. They read other connections
// only through what those publish (conn.info, lastCmd, lastActive, the
// atomics), never their goroutine-owned fields.

// connList returns the connected clients sorted by id.
func (s *Server) connList() []*conn {
	s.clientsMu.Lock()
	out := make([]*conn, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	s.clientsMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ClientCmd runs CLIENT LIST, INFO, KILL, PAUSE and UNPAUSE.
func (s *Server) ClientCmd(c *commands.Ctx) error {
	switch c.Cmd.Name {
	case "client|list":
		return s.clientList(c)
	case "client|info":
		var b strings.Builder
		s.writeClientLine(&b, connOf(c), c)
		c.Out.Verbatim("txt", b.String())
		return nil
	case "client|kill":
		return s.clientKill(c)
	case "client|pause":
		return s.clientPause(c)
	case "client|tracking", "client|caching", "client|getredir", "client|trackinginfo":
		return s.trackingCmd(c)
	case "client|unpause":
		s.pause.unpause()
		c.Out.OK()
		return nil
	case "client|unblock":
		// The arguments were checked by the command's handler.
		id, _ := commands.ParseInt(c.Args[2])
		withErr := len(c.Args) == 4 && commands.Is(c.Args[3], "error")
		if s.unblockClient(id, withErr) {
			c.Out.Int(1)
		} else {
			c.Out.Int(0)
		}
		return nil
	}
	return commands.ErrUnknownSubcommand(c.Args[1], "client")
}

// clientType is CLIENT LIST/KILL's TYPE: normal, master, replica or pubsub.
func clientType(arg []byte) (string, error) {
	t := strings.ToLower(string(arg))
	switch t {
	case "normal", "master", "pubsub":
		return t, nil
	case "replica", "slave":
		return "replica", nil
	}
	return "", commands.Errf("Unknown client type '%s'", arg)
}

func (cn *conn) clientType() string {
	if cn.replicaLink.Load() {
		return "replica"
	}
	if cn.isSubscriber() {
		return "pubsub"
	}
	return "normal"
}

func (s *Server) clientList(c *commands.Ctx) error {
	var (
		typ string
		ids map[int64]bool
	)
	switch {
	case len(c.Args) == 2:
	case len(c.Args) == 4 && commands.Is(c.Args[2], "type"):
		t, err := clientType(c.Args[3])
		if err != nil {
			return err
		}
		typ = t
	case len(c.Args) >= 4 && commands.Is(c.Args[2], "id"):
		ids = map[int64]bool{}
		for _, a := range c.Args[3:] {
			id, err := commands.ParseInt(a)
			if err != nil {
				return commands.Errf("Invalid client ID")
			}
			ids[id] = true
		}
	default:
		return commands.ErrSyntax
	}
	self := connOf(c)
	var b strings.Builder
	link, linked := s.masterLink()
	linked = linked && (typ == "" || typ == "master") && (ids == nil || ids[link.ID])
	for _, cn := range s.connList() {
		if linked && cn.ID > link.ID {
			writeMasterLine(&b, link)
			linked = false
		}
		if typ != "" && cn.clientType() != typ {
			continue
		}
		if ids != nil && !ids[cn.ID] {
			continue
		}
		s.writeClientLine(&b, cn, ctxIfSelf(cn, self, c))
	}
	if linked {
		writeMasterLine(&b, link)
	}
	c.Out.Verbatim("txt", b.String())
	return nil
}

func ctxIfSelf(cn, self *conn, c *commands.Ctx) *commands.Ctx {
	if cn == self {
		return c
	}
	return nil
}

// writeClientLine writes one line of CLIENT LIST in Redis 7.2's format,
// ending in "\n". self is the running command's context when cn is the
// calling connection, whose current state is newer than its snapshot.
func (s *Server) writeClientLine(b *strings.Builder, cn *conn, self *commands.Ctx) {
	snap := cn.info.Load()
	if snap == nil {
		return
	}
	cl := snap.Client
	proto := snap.proto
	cmd := "NULL"
	if p := cn.lastCmd.Load(); p != nil {
		cmd = *p
	}
	now := time.Now()
	idle := now.Sub(time.Unix(0, cn.lastActive.Load()))
	if self != nil {
		cl = *self.Client
		proto = self.Out.Proto()
		cmd = self.Cmd.Name
		idle = 0
	}
	flags := ""
	if cn.replicaLink.Load() {
		flags += "S"
	}
	if cn.mon.Load() != nil {
		flags += "O"
	}
	if cn.isSubscriber() {
		flags += "P"
	}
	if snap.multi >= 0 {
		flags += "x"
	}
	if cn.blocked.Load() {
		flags += "b"
	}
	trk := cn.trkInfo.Load()
	if trk != nil {
		flags += "t"
		if cn.trkBroken.Load() {
			flags += "R"
		}
		if trk.bcast {
			flags += "B"
		}
	}
	if cn.dirty.Load() {
		flags += "d"
	}
	if cl.Unix {
		flags += "U"
	}
	if cl.NoEvict {
		flags += "e"
	}
	if cl.NoTouch {
		flags += "T"
	}
	if flags == "" {
		flags = "N"
	}
	first := true
	field := func(name, v string) {
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(v)
	}
	num := func(name string, v int64) { field(name, strconv.FormatInt(v, 10)) }
	num("id", cl.ID)
	field("addr", cl.Addr)
	field("laddr", cl.LocalAddr)
	num("fd", int64(connFD(cn.nc)))
	field("name", cl.Name)
	num("age", int64(now.Sub(cl.Created).Seconds()))
	num("idle", int64(idle.Seconds()))
	field("flags", flags)
	num("db", int64(cl.DB))
	num("sub", int64(cl.Channels))
	num("psub", int64(cl.Patterns))
	num("ssub", int64(cl.ShardChannels))
	num("multi", int64(snap.multi))
	num("watch", int64(snap.watch))
	cn.memOf(self, snap).writeMem(num)
	field("events", "r")
	field("cmd", cmd)
	field("user", cl.User)
	if trk != nil {
		num("redir", trk.redirect)
	} else {
		num("redir", -1)
	}
	num("resp", int64(proto))
	field("lib-name", cl.LibName)
	field("lib-ver", cl.LibVer)
	b.WriteByte('\n')
}

// connFD returns the socket's file descriptor, or -1.
func connFD(nc net.Conn) int {
	nc = rawConn(nc)
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	_ = raw.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// killFilter is CLIENT KILL's new form: every given condition must hold.
type killFilter struct {
	id          int64
	typ         string
	addr, laddr string
	user        string
	skipMe      bool
	maxAge      int64
}

func (f *killFilter) match(cn *conn) bool {
	snap := cn.info.Load()
	if snap == nil {
		return false
	}
	switch {
	case f.id != 0 && snap.ID != f.id,
		f.typ != "" && cn.clientType() != f.typ,
		f.addr != "" && snap.Addr != f.addr,
		f.laddr != "" && snap.LocalAddr != f.laddr,
		f.user != "" && snap.User != f.user,
		f.maxAge != 0 && int64(time.Since(snap.Created).Seconds()) < f.maxAge:
		return false
	}
	return true
}

func (s *Server) clientKill(c *commands.Ctx) error {
	self := connOf(c)
	if len(c.Args) == 3 {
		// Old form: CLIENT KILL addr:port.
		addr := string(c.Args[2])
		for _, cn := range s.connList() {
			if snap := cn.info.Load(); snap != nil && snap.Addr == addr {
				c.Out.OK()
				s.kill(cn, self)
				return nil
			}
		}
		if l, ok := s.masterLink(); ok && l.Addr == addr && s.repl.DropMasterLink(l.ID) {
			c.Out.OK()
			return nil
		}
		return commands.Errf("No such client")
	}
	f := killFilter{skipMe: true}
	cur := commands.NewCursor(c.Args, 2)
	for cur.More() {
		opt, _ := cur.Next()
		val, err := cur.Next()
		if err != nil {
			return commands.ErrSyntax
		}
		switch {
		case commands.Is(opt, "id"):
			id, err := commands.ParseInt(val)
			if err != nil || id <= 0 {
				return commands.Errf("client-id should be greater than 0")
			}
			f.id = id
		case commands.Is(opt, "type"):
			if f.typ, err = clientType(val); err != nil {
				return err
			}
		case commands.Is(opt, "addr"):
			f.addr = string(val)
		case commands.Is(opt, "laddr"):
			f.laddr = string(val)
		case commands.Is(opt, "user"):
			if string(val) != "default" {
				return commands.Errf("No such user '%s'", val)
			}
			f.user = string(val)
		case commands.Is(opt, "skipme"):
			switch {
			case commands.Is(val, "yes"):
				f.skipMe = true
			case commands.Is(val, "no"):
				f.skipMe = false
			default:
				return commands.ErrSyntax
			}
		case commands.Is(opt, "maxage"):
			n, err := commands.ParseInt(val)
			if err != nil || n <= 0 {
				return commands.ErrSyntax
			}
			f.maxAge = n
		default:
			return commands.ErrSyntax
		}
	}
	var victims []*conn
	for _, cn := range s.connList() {
		if f.skipMe && cn == self {
			continue
		}
		if f.match(cn) {
			victims = append(victims, cn)
		}
	}
	n := int64(len(victims))
	if l, ok := s.masterLink(); ok && f.matchLink(l) && s.repl.DropMasterLink(l.ID) {
		n++
	}
	c.Out.Int(n)
	for _, cn := range victims {
		s.kill(cn, self)
	}
	return nil
}

// kill closes cn's socket and takes it out of the client list at once,
// as Redis frees it; the calling connection closes after its reply.
func (s *Server) kill(cn, self *conn) {
	if cn == self {
		cn.closing = true
		return
	}
	s.freeClient(cn) // NB: first: a client that sees its socket closed finds it gone
	cn.nc.Close()
}

func (s *Server) clientPause(c *commands.Ctx) error {
	ms, err := commands.ParseInt(c.Args[2])
	if err != nil {
		return commands.Errf("timeout is not an integer or out of range")
	}
	if ms < 0 {
		return commands.ErrNegTimeout
	}
	writesOnly := false
	switch {
	case len(c.Args) == 3:
	case len(c.Args) == 4 && commands.Is(c.Args[3], "write"):
		writesOnly = true
	case len(c.Args) == 4 && commands.Is(c.Args[3], "all"):
	case len(c.Args) == 4:
		return commands.Errf("CLIENT PAUSE mode must be WRITE or ALL")
	default:
		return commands.ErrSyntax
	}
	s.pause.set(time.Duration(ms)*time.Millisecond, writesOnly)
	c.Out.OK()
	return nil
}
