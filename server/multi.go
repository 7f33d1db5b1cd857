package server

import (
	"bytes"
	"sync"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/storage"
)

// multiState is an open MULTI: the commands queued for EXEC.
type multiState struct {
	queued []queuedCmd
	failed bool // a command was refused while queueing: EXEC aborts
}

type queuedCmd struct {
	cmd  *commands.Command
	args [][]byte
}

func (m *multiState) queue(cmd *commands.Command, args [][]byte) {
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = bytes.Clone(a)
	}
	m.queued = append(m.queued, queuedCmd{cmd, cp})
}

func connOf(c *commands.Ctx) *conn { return c.Conn.(*conn) }

// Multi implements MULTI.
func (s *Server) Multi(c *commands.Ctx) error {
	cn := connOf(c)
	if cn.multi != nil {
		return commands.Errf("MULTI calls can not be nested")
	}
	cn.multi = &multiState{}
	c.Out.OK()
	return nil
}

// Discard implements DISCARD.
func (s *Server) Discard(c *commands.Ctx) error {
	cn := connOf(c)
	if cn.multi == nil {
		return commands.Errf("DISCARD without MULTI")
	}
	cn.multi = nil
	s.unwatchAll(cn)
	c.Out.OK()
	return nil
}

// Exec implements EXEC: the queued commands run under the locks of every
// key they name and of the watched keys, so no other writer interleaves,
// and none runs if a watched key changed since WATCH.
func (s *Server) Exec(c *commands.Ctx) error {
	cn := connOf(c)
	m := cn.multi
	if m == nil {
		return commands.Errf("EXEC without MULTI")
	}
	cn.multi = nil
	if m.failed {
		s.unwatchAll(cn)
		return &commands.Error{Code: "EXECABORT", Msg: "Transaction discarded because of previous errors."}
	}
	// Our own earlier writes of this pipeline count as changes to watched
	// keys: commit them so the write listener sees them. A master client
	// watches nothing, and its writes commit only with the upstream mark.
	if !cn.master {
		cn.tx.Commit()
	}
	if s.holdStream(cn) {
		defer s.store.Release()
	}
	var dbs []int
	var keys [][]byte
	for _, w := range cn.watched {
		dbs, keys = append(dbs, w.db), append(keys, w.key)
	}
	db := cn.DB
	for _, q := range m.queued {
		if q.cmd.Name == "select" && len(q.args) == 2 {
			if n, err := commands.ParseInt(q.args[1]); err == nil {
				db = int(n)
			}
		}
		for _, i := range q.cmd.KeyPositions(q.args) {
			dbs, keys = append(dbs, db), append(keys, q.args[i])
		}
	}
	// A script in the transaction may reach for keys it did not declare
	// and must wait for them holding the others: only the holder of the
	// script engine's Exclusive may (see Server.RunScript).
	if hasScript(m.queued) {
		s.scripts.Exclusive.Lock()
		cn.scriptExclusive = true
		defer func() {
			cn.scriptExclusive = false
			s.scripts.Exclusive.Unlock()
		}()
	}
	if len(keys) > 0 {
		cn.tx.LockMulti(dbs, keys)
	}
	if s.watchFailed(cn) {
		s.unwatchAll(cn)
		c.Out.NullArray()
		return nil
	}
	s.unwatchAll(cn)
	c.Out.Array(len(m.queued))
	for _, q := range m.queued {
		cn.call(q.cmd, q.args, true)
	}
	// Count EXEC itself in the stats as Redis does; the queued commands
	// were recorded by call.
	return nil
}

func hasScript(q []queuedCmd) bool {
	for _, c := range q {
		switch c.cmd.Name {
		case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
			return true
		}
	}
	return false
}

// Watch implements WATCH.
func (s *Server) Watch(c *commands.Ctx, keys [][]byte) error {
	cn := connOf(c)
	if cn.multi != nil {
		return commands.Errf("WATCH inside MULTI is not allowed")
	}
	cn.tx.Commit()
	for _, k := range keys {
		s.watchKey(cn, k)
	}
	c.Out.OK()
	return nil
}

// Unwatch implements UNWATCH.
func (s *Server) Unwatch(c *commands.Ctx) error {
	s.unwatchAll(connOf(c))
	c.Out.OK()
	return nil
}

// watchedKey is a key a connection watches, with its expiry when watched:
// a key that expires after WATCH aborts EXEC, as in Redis 7.
type watchedKey struct {
	db       int
	key      []byte
	expireAt int64 // 0 when the key had no expiry or was not live
}

type watchID struct {
	db  int
	key string
}

// watchRegistry finds the connections watching a key when it is written.
type watchRegistry struct {
	mu   sync.Mutex
	keys map[watchID]map[*conn]watchState
}

// watchState is what a watcher's key was: live at WATCH, or stale (stored
// but expired, Redis's watchedKey.expired), which SWAPDB keeps track of.
type watchState struct{ live, stale bool }

func (w *watchRegistry) init() { w.keys = map[watchID]map[*conn]watchState{} }

func (s *Server) watchKey(cn *conn, key []byte) {
	for _, w := range cn.watched {
		if w.db == cn.DB && bytes.Equal(w.key, key) {
			return
		}
	}
	var at int64
	var st watchState
	if k, err := cn.tx.Lookup(cn.DB, key); err == nil && k.Live {
		at, st.live = k.Meta.ExpireAt, true
	} else if err == nil && k.Exists {
		st.stale = true
	}
	wk := watchedKey{db: cn.DB, key: bytes.Clone(key), expireAt: at}
	if len(cn.watched) == 0 {
		s.store.AddListener(1)
	}
	cn.watched = append(cn.watched, wk)
	id := watchID{wk.db, string(wk.key)}
	s.watch.mu.Lock()
	set := s.watch.keys[id]
	if set == nil {
		set = map[*conn]watchState{}
		s.watch.keys[id] = set
	}
	set[cn] = st
	s.watch.mu.Unlock()
}

func (s *Server) unwatchAll(cn *conn) {
	if len(cn.watched) == 0 {
		cn.dirty.Store(false)
		return
	}
	s.watch.mu.Lock()
	for _, w := range cn.watched {
		id := watchID{w.db, string(w.key)}
		if set := s.watch.keys[id]; set != nil {
			delete(set, cn)
			if len(set) == 0 {
				delete(s.watch.keys, id)
			}
		}
	}
	s.watch.mu.Unlock()
	cn.watched = nil
	cn.dirty.Store(false)
	s.store.AddListener(-1)
}

func (s *Server) watchFailed(cn *conn) bool {
	if cn.dirty.Load() {
		return true
	}
	now := s.store.NowMs()
	for _, w := range cn.watched {
		if w.expireAt != 0 && w.expireAt <= now {
			return true
		}
	}
	return false
}

// dbSwapped is the store's swap listener: SWAPDB gave db the keys of
// another database. It wakes the clients blocked on db's keys and marks
// dirty the watchers of db's keys that existed in either database, as
// Redis 7.0's touchAllWatchedKeysInDb does: a key live or stale at WATCH
// existed before (had it been deleted since, its watchers were marked
// then), and any other watched key did exactly when it is stored in db
// now, having come from the other database. As in Redis, an expired key
// is no change: a stale key gone or replaced by another stale key leaves
// its watchers clean, and a missing key replaced by a stale one makes
// them watchers of a stale key.
func (s *Server) dbSwapped(db int) {
	s.wakeBlocked(db, nil)
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	if len(s.watch.keys) == 0 {
		return
	}
	tx := s.store.NewTx()
	tx.SetNoTouch(true)
	var k storage.Key
	for id, set := range s.watch.keys {
		if id.db != db {
			continue
		}
		// NB: the header alone: SWAPDB holds every key's lock, which a
		// lookup of a chunked string's value would wait for.
		err := tx.LookupHeader(&k, db, []byte(id.key))
		came := err != nil || k.Exists // NB: an unreadable key counts as changed
		cameStale := err == nil && k.Exists && !k.Live
		for cn, st := range set {
			before := st.live || st.stale
			switch {
			case !before && !came:
				continue
			case st.stale && !came:
				set[cn] = watchState{} // gone: no logical change
				continue
			case st.stale && cameStale:
				continue // still stale
			case !before && cameStale:
				set[cn] = watchState{stale: true}
				continue
			}
			cn.dirty.Store(true)
		}
	}
}

// keyWritten is the store's write listener: it wakes the clients blocked
// on a written key and marks its watchers dirty. It runs under the
// writer's key locks and must not block on them.
//
// NB: a flush changes only the keys that existed, as Redis 7.0's
// touchAllWatchedKeysInDb has it, so a watcher of a missing key stays
// clean. Whether the key exists at the flush is whether it was live at
// WATCH: any write of it in between has already marked its watchers.
func (s *Server) keyWritten(db int, key []byte, flushed bool) {
	s.wakeBlocked(db, key)
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	if len(s.watch.keys) == 0 {
		return
	}
	if key == nil {
		for id, set := range s.watch.keys {
			if db == -1 || id.db == db {
				for cn, st := range set {
					if st.live || !flushed {
						cn.dirty.Store(true)
					}
				}
			}
		}
		return
	}
	for cn := range s.watch.keys[watchID{db, string(key)}] {
		cn.dirty.Store(true)
	}
}
