package server

import (
	"bytes"
	"strconv"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/storage"
)

// Keyspace notifications: an event is two pub/sub messages, as Redis's
// notifyKeyspaceEvent sends them: the event's name on
// __keyspace@<db>__:<key> (class K) and the key on
// __keyevent@<db>__:<event> (class E). Handlers name their events through
// commands.Ctx.Notify, which reads s.events before anything is built.

// Notify implements commands.Server: it publishes the event and, when the
// calling client is itself subscribed (RESP3), moves what it is to
// receive ahead of the command's reply, as Redis writes it.
func (s *Server) Notify(c *commands.Ctx, class commands.EventClass, event, shipped string, db int, key []byte) {
	if shipped != "" && class&commands.Shippable != 0 && s.events.Shipped() && c.Tx != nil {
		c.Tx.LogEvent(uint32(class), db, shipped, key)
	}
	s.publishEvent(class, event, db, key)
	if cn, ok := c.Conn.(*conn); ok && c.Out == &cn.out {
		if sub := cn.ps.Load(); sub != nil {
			sub.holdAndDrain(c.Out, !c.InMulti)
		}
	}
}

// publishEvent publishes an event of class if notify-keyspace-events
// enables it.
func (s *Server) publishEvent(class commands.EventClass, event string, db int, key []byte) {
	if !s.events.Local(class) {
		return
	}
	f := s.events.Flags()
	var buf [64]byte
	prefix := strconv.AppendInt(buf[:0], int64(db), 10)
	if f&commands.NotifyKeyspace != 0 {
		ch := make([]byte, 0, len("__keyspace@__:")+len(prefix)+len(key))
		ch = append(append(append(append(ch, "__keyspace@"...), prefix...), "__:"...), key...)
		s.Publish(ch, []byte(event))
	}
	if f&commands.NotifyKeyevent != 0 {
		ch := make([]byte, 0, len("__keyevent@__:")+len(prefix)+len(event))
		ch = append(append(append(append(ch, "__keyevent@"...), prefix...), "__:"...), event...)
		s.Publish(ch, key)
	}
}

// notifyNew is a connection's new-key hook: Redis's dbAdd fires "new".
func (c *conn) notifyNew(db int, key []byte) {
	if c.s.events.Enabled(commands.NotifyNew) {
		c.s.Notify(&c.ctx, commands.NotifyNew, "new", "new", db, key)
	}
}

// keyExpired is the store's expire hook: a key the sweeper, or a lookup of
// a connection's command, deleted goes to redis-server replicas as a DEL,
// fires "expired" and invalidates the tracking clients' copies (those of
// NOLOOP ones too: no client wrote it; the connection's own after its
// reply).
func (s *Server) keyExpired(tx *storage.Tx, db int, key []byte) {
	s.feedExpired(tx, db, key)
	if s.tracking.live() {
		owner, _ := tx.Owner().(*conn)
		self := s.invalidateKeysAs(nil, owner, [][]byte{bytes.Clone(key)})
		if owner != nil {
			owner.expiredPush = append(owner.expiredPush, self...)
		}
	}
	if s.events.Shipped() {
		// NB: Redis's replica deletes the key when its primary's DEL
		// comes, and fires that.
		tx.LogEvent(uint32(commands.NotifyGeneric), db, "del", key)
	}
	s.publishEvent(commands.NotifyExpired, "expired", db, key)
}

// replicatedEvent is the store's event listener: an event of a write the
// primary made, published here as notify-keyspace-events says.
func (s *Server) replicatedEvent(class uint32, db int, name string, key []byte) {
	s.publishEvent(commands.EventClass(class), name, db, key)
}
