package server

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/replication"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// The logical stream fed to redis-server replicas (replication/
// redisfeed.go): each write command as Redis 7 replicates it. Commands
// whose effect depends on when or where they run are replaced by the
// state they left, read under the locks the command still holds:
//
//	expiry in any form     SET key value PXAT ms, PEXPIREAT key ms, PERSIST key
//	INCRBYFLOAT            SET key value KEEPTTL
//	HINCRBYFLOAT           HSET key field value
//
// and every other write goes as it came, unless its handler said what to
// run instead (commands.Ctx.Propagate: the stream commands, whose IDs,
// approximate trims and deliveries depend on when they run; the pops,
// as the pop each came to, commands/popfeed.go; RESTORE with its TTL made
// absolute). A script's
// writes go as one MULTI ... EXEC when it ends, as Redis 7 replicates a
// script's effects.

// feedWrite passes a write command (or a PUBLISH) that ran without error
// in database db to emit, as the redis-server replicas are to run it: what the handler
// said to run instead (ctx.Propagate), if anything, else the command or
// the state it left. As Redis propagates only a call that made the
// dataset dirty, a command that changed nothing (changes, as INFO's
// rdb_changes_since_last_save counts them) passes nothing on, but for
// FLUSHDB and FLUSHALL, which Redis always passes on.
func (c *conn) feedWrite(ctx *commands.Ctx, db int, cmd *commands.Command, args [][]byte, changes int64, emit func(db int, args ...[]byte)) {
	if cmds, replaced := ctx.TakePropagated(); replaced {
		for _, a := range cmds {
			emit(db, a...)
		}
		return
	}
	if fedPublish(cmd) {
		emit(db, args...)
		return
	}
	if changes == 0 && cmd.Name != "flushdb" && cmd.Name != "flushall" {
		return
	}
	switch cmd.Name {
	case "set":
		if plain, ok := setWithoutExpiry(args); ok {
			emit(db, plain...) // as it came, without GET, as Redis sends it
			return
		}
		c.feedState(db, args[1], false, emit)
	case "incrbyfloat":
		// As Redis 7.0's: the new value, the expiry left as it is.
		k, err := c.tx.LookupAsIs(db, args[1])
		if err == nil && k.Exists && k.Meta.Type == encoding.TypeString && !k.Meta.Chunked {
			emit(db, []byte("SET"), args[1], k.Meta.Value, []byte("KEEPTTL"))
			return
		}
		c.feedState(db, args[1], false, emit)
	case "setex", "psetex", "getset", "getdel":
		c.feedState(db, args[1], false, emit)
	case "getex":
		if len(args) > 2 { // without an option it reads, as GET
			c.feedState(db, args[1], true, emit)
		}
	case "expire", "pexpire", "expireat", "pexpireat", "persist":
		c.feedState(db, args[1], true, emit)
	case "hincrbyfloat":
		k, err := c.tx.LookupAsIs(db, args[1])
		if err != nil || !k.Exists {
			emit(db, []byte("DEL"), args[1])
			return
		}
		if v, ok, err := c.tx.HashGet(k, args[2], nil); err == nil && ok {
			emit(db, []byte("HSET"), args[1], args[2], v)
		}
	case "restore", "spop", "blpop", "brpop", "blmove", "brpoplpush", "bzpopmin", "bzpopmax", "blmpop", "bzmpop", "lmpop", "zmpop":
		// Their handlers passed on the pops they made; none, nothing.
	default:
		emit(db, args...)
	}
}

// setWithoutExpiry returns SET's arguments without GET when they set no
// expiry (EX, PX, EXAT, PXAT), which Redis replaces by the PXAT it comes
// to; ok is false when they do.
func setWithoutExpiry(args [][]byte) ([][]byte, bool) {
	get := -1
	for i, a := range args[3:] {
		switch {
		case commands.Is(a, "ex"), commands.Is(a, "px"), commands.Is(a, "exat"), commands.Is(a, "pxat"):
			return nil, false
		case commands.Is(a, "get"):
			get = 3 + i
		}
	}
	if get < 0 {
		return args, true
	}
	return append(args[:get:get], args[get+1:]...), true
}

// feeding reports whether writes pass anything on: their commands to
// redis-server replicas, or their names to Shoal replicas.
func (s *Server) feeding() bool { return s.repl.FeedActive() || s.store.LogsCommits() }

// fedCalls is what one call's writes pass on to the replicas: the
// commands for redis-server replicas, and their names for Shoal replicas'
// commandstats.
type fedCalls struct {
	fed    []replication.FedCommand
	called []string
}

// collect keeps the command args, fed in database db, for the replicas
// that follow until the call that made it ends (dispatch). A change of
// database goes to Shoal replicas at once, in tx, as the SELECT Redis's
// stream puts before the call.
func (f *fedCalls) collect(s *Server, tx *storage.Tx, db int, args [][]byte) {
	if s.repl.FeedActive() {
		f.fed = append(f.fed, replication.FedCommand{DB: db, Args: cloneArgs(args)})
	}
	if s.store.LogsCommits() {
		if db >= 0 && s.calledDB.Swap(int64(db)) != int64(db) {
			tx.LogCall("select")
		}
		f.called = append(f.called, s.fedName(args))
	}
}

// collectFed is collect for a command of c's call.
func (c *conn) collectFed(db int, args ...[]byte) { c.collect(c.s, c.tx, db, args) }

// fedName is the full name of the command args (as fed), as Redis's
// commandstats name it ("set", "xgroup|setid").
func (s *Server) fedName(args [][]byte) string {
	cmd := s.table.Lookup(args[0])
	if cmd == nil {
		return strings.ToLower(string(args[0]))
	}
	if len(cmd.Subcommands) > 0 && len(args) > 1 {
		if sub := cmd.Sub(args[1]); sub != nil {
			return sub.Name
		}
	}
	return cmd.Name
}

// logCalled passes the current call's commands, as Redis replicates them,
// to the Shoal replicas with the call's writes, wrapped in MULTI and EXEC
// when there are several, as the redis-server replicas' stream wraps
// them: a Shoal replica counts them in its commandstats, as Redis's
// replica counts the commands it runs.
func (c *conn) logCalled() {
	wrap := len(c.called) > 1
	if wrap {
		c.tx.LogCall("multi")
	}
	for _, name := range c.called {
		c.tx.LogCall(name)
	}
	if wrap {
		c.tx.LogCall("exec")
	}
	clear(c.called)
	c.called = c.called[:0]
}

// fedPublish reports whether cmd is PUBLISH or SPUBLISH, which writes
// nothing but goes to the replicas, as Redis propagates it, for their
// subscribers.
func fedPublish(cmd *commands.Command) bool {
	return cmd.Name == "publish" || cmd.Name == "spublish"
}

// feedState feeds the state key is left in: its expiry alone when
// expiryOnly, else its whole value.
//
// NB: a key its command left to expire at once (SET ... PX 1) is fed
// with its expiry, which has passed, as Redis feeds the PXAT it computed:
// reading it back here must not expire it, which would feed a DEL the
// command never made.
func (c *conn) feedState(db int, key []byte, expiryOnly bool, emit func(db int, args ...[]byte)) {
	k, err := c.tx.LookupAsIs(db, key)
	if err != nil {
		c.s.log.Error("reading a key for the redis-server replicas failed", "err", err)
		return
	}
	// NB: an expired key's value is not read whole (a chunked string's,
	// a collection's members): it goes as the DEL its expiry comes to.
	if !k.Exists || (!k.Live && !expiryOnly && (k.Meta.Type != encoding.TypeString || k.Meta.Chunked)) {
		emit(db, []byte("DEL"), key)
		return
	}
	at := []byte(strconv.FormatInt(k.Meta.ExpireAt, 10))
	switch {
	case expiryOnly && k.Meta.ExpireAt == 0:
		emit(db, []byte("PERSIST"), key)
	case expiryOnly:
		emit(db, []byte("PEXPIREAT"), key, at)
	case k.Meta.Type == encoding.TypeString && k.Meta.ExpireAt == 0:
		emit(db, []byte("SET"), key, k.Meta.Value)
	case k.Meta.Type == encoding.TypeString:
		emit(db, []byte("SET"), key, k.Meta.Value, []byte("PXAT"), at)
	default:
		// NB: plain: the payload goes to redis-server replicas, not to
		// a client, and compressing costs the primary CPU.
		payload, err := c.tx.Dump(k, false)
		if err != nil {
			c.s.log.Error("dumping a key for the redis-server replicas failed", "err", err)
			return
		}
		if k.Meta.ExpireAt == 0 {
			emit(db, []byte("RESTORE"), key, []byte("0"), payload, []byte("REPLACE"))
		} else {
			emit(db, []byte("RESTORE"), key, at, payload, []byte("REPLACE"), []byte("ABSTTL"))
		}
	}
}

// feedExpired is the store's expire hook: a key the sweeper deleted is
// a DEL in the redis-server replicas' stream, as Redis replicates it.
func (s *Server) feedExpired(tx *storage.Tx, db int, key []byte) {
	if s.repl.FeedActive() {
		s.repl.Feed(db, []byte("DEL"), key)
	}
	if tx != nil && s.store.LogsCommits() {
		tx.LogCall("del")
	}
}

func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = bytes.Clone(a)
	}
	return out
}
