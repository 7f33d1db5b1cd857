package server

import (
	"errors"
	"fmt"

	"github.com/shoaldb/shoal/commands"
)

// masterClient runs a redis-server primary's command stream through the
// command table, as Redis's master client does: every command is
// dispatched as a client's would be, except that nothing is replied and
// writes pass the read-only replica gate. It is not in CLIENT LIST.
type masterClient struct{ c *conn }

// newMasterClient returns a master client with a Tx of its own.
func (s *Server) newMasterClient() *masterClient {
	c := &conn{s: s, tx: s.store.NewTx(), master: true, rbuf: newReplyBuf(s.replyCron)}
	c.ID = s.nextID.Add(1)
	c.Addr = "master"
	c.Authenticated = true
	c.User = "default"
	c.ReplyOff = true
	c.Master = true
	c.ctx = commands.Ctx{Out: &c.out, Tx: c.tx, Store: s.store, Client: &c.Client, Server: s,
		Cluster: s.clusterOf(), Catalog: s.catalog, Conn: c, Events: &s.events}
	c.tx.SetNewKeyHook(c.notifyNew)
	c.tx.KeepBuffers()
	c.tx.SetFromPrimary()
	return &masterClient{c: c}
}

// Apply runs one command of the stream; the error is its error reply.
func (m *masterClient) Apply(args [][]byte) error {
	m.c.clock = 0
	return m.applyNext(args)
}

// applyNext is Apply for a command run right after the one before it,
// which ended when it starts.
func (m *masterClient) applyNext(args [][]byte) error {
	m.c.masterErr = nil
	m.c.dispatch(args)
	if err := m.c.masterErr; err != nil {
		m.c.s.propagationError(args, err)
		return err
	}
	return nil
}

// propagationError is what Redis's afterErrorReply does for its master
// client: a command of the primary's stream failed here, which counts in
// INFO's unexpected_error_replies and is logged as Redis logs it (the
// first ten, then one in 10,000); a read-only replica under
// propagation-error-behavior panic or panic-on-replicas stops the
// process, rather than diverge from its primary.
func (s *Server) propagationError(args [][]byte, err error) {
	n := s.unexpectedErrors.Add(1)
	name := "<unknown>"
	if cmd := s.table.Lookup(args[0]); cmd != nil {
		name = cmd.FullName()
		if len(cmd.Subcommands) > 0 && len(args) > 1 {
			if sub := cmd.Sub(args[1]); sub != nil {
				name = sub.FullName()
			}
		}
	}
	msg := err.Error()
	var e *commands.Error
	if errors.As(err, &e) {
		// As Redis passes it: an ERR without its code, others with "-".
		if msg = "-" + e.Code + " " + e.Msg; e.Code == "ERR" {
			msg = e.Msg
		}
	}
	if n <= 10 || n%10000 == 0 {
		s.log.Warn(fmt.Sprintf("== CRITICAL == This replica is sending an error to its master: '%s' after processing the command '%s'", msg, name),
			"errors", n)
	}
	cfg := s.Config()
	if cfg.ReplicaReadOnly && (cfg.PropagationErrorBehavior == "panic" || cfg.PropagationErrorBehavior == "panic-on-replicas") {
		text := fmt.Sprintf("This replica panicked sending an error to its master after processing the command '%s'", name)
		s.log.Error(text)
		panic(text)
	}
}

// InMulti reports whether a MULTI is open.
func (m *masterClient) InMulti() bool { return m.c.multi != nil }

// DB returns the selected database.
func (m *masterClient) DB() int { return m.c.DB }

// Commit commits the applied writes, with the upstream mark put in them.
func (m *masterClient) Commit() error {
	err := m.c.tx.Commit()
	if err == nil {
		m.c.sendInvalidations() // a master client has no replies to follow
	}
	m.c.flushStats()
	return err
}

// Reset discards an open MULTI and uncommitted writes and selects db.
func (m *masterClient) Reset(db int) {
	m.c.tx.Discard()
	m.c.multi = nil
	m.c.s.unwatchAll(m.c)
	m.c.DB = db
}

// PendingBytes is the size of the uncommitted writes.
func (m *masterClient) PendingBytes() int { return m.c.tx.PendingBytes() }
