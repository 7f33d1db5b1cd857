package server

import (
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// Connection-level operations of the commands.Server interface.

// Table returns the command table.
func (s *Server) Table() *commands.Table { return s.table }

// StartTime returns when the server started.
func (s *Server) StartTime() time.Time { return s.started }

// Config returns a copy of the running configuration.
func (s *Server) Config() *config.Config {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.cfg.Clone()
}

// Auth is AUTH [user] password (and HELLO's AUTH): the connection acts
// as the user from then on when the user is on and the password is one of
// its own, or it has nopass.
func (s *Server) Auth(c *commands.Ctx, user, pass string) error {
	if user == "" {
		user = "default"
		// NB: Redis keeps the old refusal of AUTH <password> when the
		// default user needs none.
		if d := s.users.defaultRef().load().u; d.NoPass && len(c.Args) == 2 && commands.Is(c.Args[0], "auth") {
			return commands.Errf("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		}
	}
	ref := s.users.get(user)
	if ref == nil || !ref.load().u.CheckPassword(pass) {
		s.authDenied(c, user)
		return commands.ErrWrongPass
	}
	c.Client.Authenticated = true
	connOf(c).setUser(user, ref)
	return nil
}

// Hello switches the protocol and replies with the server's properties.
func (s *Server) Hello(c *commands.Ctx, proto int) error {
	if proto != 0 {
		c.Out.SetProto(proto)
	}
	c.Out.Map(7)
	c.Out.BulkString("server")
	c.Out.BulkString("redis")
	c.Out.BulkString("version")
	c.Out.BulkString(RedisVersion)
	c.Out.BulkString("proto")
	c.Out.Int(int64(c.Out.Proto()))
	c.Out.BulkString("id")
	c.Out.Int(c.Client.ID)
	c.Out.BulkString("mode")
	mode := "standalone"
	if s.cluster != nil {
		mode = "cluster"
	}
	c.Out.BulkString(mode)
	c.Out.BulkString("role")
	role := "master"
	if s.Config().ReplicaOf != "" {
		role = "replica"
	}
	c.Out.BulkString(role)
	c.Out.BulkString("modules")
	c.Out.Array(0)
	return nil
}

// Quit closes the connection once the reply is written.
func (s *Server) Quit(c *commands.Ctx) { connOf(c).closing = true }

// Reset returns the connection to the state of a new one, as Redis 7.0's
// clearClientConnectionState does. NB: as there, CLIENT NO-EVICT survives
// RESET, and RESET's own reply is sent after CLIENT REPLY OFF but not when
// CLIENT REPLY SKIP skips it.
func (s *Server) Reset(c *commands.Ctx) {
	cn := connOf(c)
	cn.multi = nil
	s.unwatchAll(cn)
	s.unsubscribeAll(cn)
	s.stopMonitor(cn)
	s.disableTracking(cn)
	cn.DB = 0
	cn.Name = ""
	cn.ReplyOff, cn.ReplySkip, cn.skipNext = false, false, false
	cn.out.Discard = cn.skipping
	cn.ReadOnlyCluster, cn.Asking = false, false
	cn.NoTouch = false
	cn.out.SetProto(2)
	def := s.users.defaultRef()
	cn.setUser("default", def)
	cn.Authenticated = def.load().u.NoPass && def.load().u.Enabled
}

// closeIdleClients closes clients idle longer than timeout, except those
// blocked or subscribed, as Redis does.
func (s *Server) closeIdleClients() {
	s.cfgMu.Lock()
	timeout := time.Duration(s.cfg.Timeout) * time.Second
	s.cfgMu.Unlock()
	if timeout == 0 {
		return
	}
	now := time.Now().UnixNano()
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	for _, c := range s.clients {
		if c.blocked.Load() || c.isSubscriber() || c.replicaLink.Load() {
			continue
		}
		if now-c.lastActive.Load() > int64(timeout) {
			c.nc.Close()
		}
	}
}
