package server

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/resp"
)

// Client-side caching (CLIENT TRACKING), as Redis 7.0's tracking.c: a
// tracking client in the default mode is told when a key it read changes,
// once; in BCAST mode, of every change of a key under its prefixes. The
// message is a RESP3 push [invalidate, [keys]] or, for a RESP2 client
// redirected to a subscriber, a message on __redis__:invalidate; a null
// key list means everything (FLUSHDB, FLUSHALL).
//
// A write is seen by the writing connection's touch hook as it happens;
// the connection sends the invalidations once its batch has committed
// (conn.flush), so a client told of a change reads the new value, and its
// own invalidations after its replies, as Redis 7.0 sends them.

// trackingState is a connection's CLIENT TRACKING setting.
type trackingState struct {
	on, bcast, optin, optout, noloop bool
	// caching is CLIENT CACHING's yes (OPTIN) or no (OPTOUT) for the
	// next command.
	caching  bool
	redirect int64
	// prefixes are in byte order; nodes counts their radix tree's nodes
	// (trackprefix.go).
	prefixes []string
	nodes    int
}

// trackingRegistry is the server's tracking table.
type trackingRegistry struct {
	n       atomic.Int32 // tracking clients
	maxKeys atomic.Int64 // tracking-table-max-keys; 0: no limit
	mu      sync.Mutex
	keys    map[string]map[int64]struct{} // default mode: key → client IDs
	items   int
	// prefixes are the BCAST clients' prefixes.
	prefixes map[string]map[*conn]struct{}
	// count mirrors len(keys) for the check before each command.
	count atomic.Int64
	// owners counts the connected clients that ever tracked: the table
	// outlives CLIENT TRACKING off, as in Redis, so a write still ends
	// its key's entries (and a client that tracks again is told only of
	// keys unchanged meanwhile). Once none is connected, the entries
	// can name no one and are dropped.
	owners atomic.Int32
}

// live reports that writes have entries or clients to tell.
func (r *trackingRegistry) live() bool { return r.n.Load() > 0 || r.owners.Load() > 0 }

var invalidateChannel = []byte("__redis__:invalidate")

// trackingCmd runs CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO.
func (s *Server) trackingCmd(c *commands.Ctx) error {
	cn := connOf(c)
	t := &cn.trk
	switch c.Cmd.Name {
	case "client|tracking":
		return s.clientTracking(c, cn)
	case "client|caching":
		if !t.on {
			return commands.Errf("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
		}
		switch {
		case commands.Is(c.Args[2], "yes"):
			if !t.optin {
				return commands.Errf("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			}
		case commands.Is(c.Args[2], "no"):
			if !t.optout {
				return commands.Errf("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			}
		default:
			return commands.ErrSyntax
		}
		t.caching = true
		c.Out.OK()
	case "client|getredir":
		if t.on {
			c.Out.Int(t.redirect)
		} else {
			c.Out.Int(-1)
		}
	case "client|trackinginfo":
		c.Out.Map(3)
		c.Out.BulkString("flags")
		c.Out.MarkDeferred() // NB: Redis counts the flags as it goes
		var flags []string
		if !t.on {
			flags = append(flags, "off")
		} else {
			flags = append(flags, "on")
			for _, f := range []struct {
				set  bool
				name string
			}{
				{t.bcast, "bcast"}, {t.optin, "optin"}, {t.optin && t.caching, "caching-yes"},
				{t.optout, "optout"}, {t.optout && t.caching, "caching-no"},
				{t.noloop, "noloop"}, {cn.trkBroken.Load(), "broken_redirect"},
			} {
				if f.set {
					flags = append(flags, f.name)
				}
			}
		}
		c.Out.Set(len(flags))
		for _, f := range flags {
			c.Out.BulkString(f)
		}
		c.Out.BulkString("redirect")
		if t.on {
			c.Out.Int(t.redirect)
		} else {
			c.Out.Int(-1)
		}
		c.Out.BulkString("prefixes")
		c.Out.StringArray(t.prefixes)
	}
	return nil
}

func (s *Server) clientTracking(c *commands.Ctx, cn *conn) error {
	var next trackingState
	var prefixes []string
	for j := 3; j < len(c.Args); j++ {
		more := j+1 < len(c.Args)
		switch a := c.Args[j]; {
		case commands.Is(a, "redirect") && more:
			j++
			if next.redirect != 0 {
				return commands.Errf("A client can only redirect to a single other client")
			}
			id, err := commands.ParseInt(c.Args[j])
			if err != nil {
				return err
			}
			if s.clientByID(id) == nil {
				return commands.Errf("The client ID you want redirect to does not exist")
			}
			next.redirect = id
		case commands.Is(a, "bcast"):
			next.bcast = true
		case commands.Is(a, "optin"):
			next.optin = true
		case commands.Is(a, "optout"):
			next.optout = true
		case commands.Is(a, "noloop"):
			next.noloop = true
		case commands.Is(a, "prefix") && more:
			j++
			prefixes = append(prefixes, string(c.Args[j]))
		default:
			return commands.ErrSyntax
		}
	}
	t := &cn.trk
	switch {
	case commands.Is(c.Args[2], "on"):
		if !next.bcast && len(prefixes) > 0 {
			return commands.Errf("PREFIX option requires BCAST mode to be enabled")
		}
		if t.on && t.bcast != next.bcast {
			return commands.Errf("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
		}
		if next.bcast && (next.optin || next.optout) {
			return commands.Errf("OPTIN and OPTOUT are not compatible with BCAST")
		}
		if next.optin && next.optout {
			return commands.Errf("You can't specify both OPTIN mode and OPTOUT mode")
		}
		if (next.optin && t.optout) || (next.optout && t.optin) {
			return commands.Errf("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
		}
		if next.bcast {
			if err := prefixCollision(t.prefixes, prefixes); err != nil {
				return err
			}
		}
		s.enableTracking(cn, next, prefixes)
	case commands.Is(c.Args[2], "off"):
		s.disableTracking(cn)
	default:
		return commands.ErrSyntax
	}
	c.Out.OK()
	return nil
}

func (s *Server) enableTracking(cn *conn, next trackingState, prefixes []string) {
	t := &cn.trk
	if !t.on {
		s.tracking.n.Add(1)
	}
	if !cn.trkOwner {
		cn.trkOwner = true
		s.tracking.owners.Add(1)
		s.store.AddListener(1)
	}
	t.on, t.redirect = true, next.redirect
	cn.trkBroken.Store(false)
	t.bcast, t.optin, t.optout, t.noloop = next.bcast, next.optin, next.optout, next.noloop
	if t.bcast && len(prefixes) == 0 && len(t.prefixes) == 0 {
		prefixes = []string{""}
	}
	if len(prefixes) > 0 {
		r := &s.tracking
		r.mu.Lock()
		if r.prefixes == nil {
			r.prefixes = map[string]map[*conn]struct{}{}
		}
		for _, p := range prefixes {
			if r.prefixes[p] == nil {
				r.prefixes[p] = map[*conn]struct{}{}
			}
			r.prefixes[p][cn] = struct{}{}
		}
		r.mu.Unlock()
		for _, p := range prefixes {
			t.prefixes, t.nodes = addPrefix(t.prefixes, t.nodes, p)
		}
	}
	cn.publishTracking()
}

// disableTracking turns c's tracking off (CLIENT TRACKING off, RESET,
// close). The keys it read stay in the table until they change, as in
// Redis; their invalidations pass it by.
func (s *Server) disableTracking(cn *conn) {
	t := &cn.trk
	if !t.on {
		return
	}
	r := &s.tracking
	r.mu.Lock()
	for _, p := range t.prefixes {
		if set := r.prefixes[p]; set != nil {
			delete(set, cn)
			if len(set) == 0 {
				delete(r.prefixes, p)
			}
		}
	}
	r.mu.Unlock()
	*t = trackingState{}
	s.tracking.n.Add(-1)
	cn.publishTracking()
}

// leaveTracking forgets a closed connection that ever tracked; with the
// last one the table is emptied.
func (s *Server) leaveTracking(cn *conn) {
	if !cn.trkOwner {
		return
	}
	cn.trkOwner = false
	r := &s.tracking
	r.mu.Lock()
	if r.owners.Add(-1) == 0 {
		r.keys, r.items = nil, 0
	}
	r.count.Store(int64(len(r.keys)))
	r.mu.Unlock()
	s.store.AddListener(-1)
}

// publishTracking makes c's tracking state visible to other goroutines.
func (c *conn) publishTracking() {
	if !c.trk.on {
		c.trkInfo.Store(nil)
		return
	}
	t := c.trk
	t.prefixes = nil
	c.trkInfo.Store(&t)
}

// trackRead remembers the keys a read-only command of a tracking client
// read, as Redis's trackingRememberKeys.
// A script is tracked by the reads it makes (script.go), so EVAL_RO and
// the like, read-only themselves, are passed over here, as in Redis.
func (c *conn) trackRead(cmd *commands.Command, args [][]byte) {
	switch cmd.Name {
	case "eval_ro", "evalsha_ro", "fcall_ro":
		return
	}
	if cmd.Flags.Has(commands.ReadOnly) {
		c.trackKeys(cmd, args)
	}
}

// trackKeys remembers the keys of cmd's args for a tracking client in the
// default mode, as Redis's trackingRememberKeys.
func (c *conn) trackKeys(cmd *commands.Command, args [][]byte) {
	t := &c.trk
	if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
		return
	}
	pos := cmd.KeyPositions(args)
	if len(pos) == 0 {
		return
	}
	r := &c.s.tracking
	r.mu.Lock()
	if r.keys == nil {
		r.keys = map[string]map[int64]struct{}{}
	}
	for _, p := range pos {
		k := string(args[p])
		set := r.keys[k]
		if set == nil {
			set = map[int64]struct{}{}
			r.keys[k] = set
		}
		if _, ok := set[c.ID]; !ok {
			set[c.ID] = struct{}{}
			r.items++
		}
	}
	r.count.Store(int64(len(r.keys)))
	r.mu.Unlock()
	c.s.trimTrackingTable()
}

// trimTrackingTable evicts keys past tracking-table-max-keys, telling
// their readers they changed: before each command while clients track,
// after each tracked read, and from the cron, as Redis's
// trackingLimitUsedSlots, so that a lowered limit takes effect without
// another read.
//
// It reports whether it evicted any: a connection that trims before its
// command then sends its own messages at once, before that command's
// reply, as Redis sends them from processCommand.
func (s *Server) trimTrackingTable() bool {
	r := &s.tracking
	max := r.maxKeys.Load()
	if max <= 0 || r.count.Load() <= max {
		return false
	}
	var evicted []evictedKey
	r.mu.Lock()
	// NB: Redis evicts random keys past the limit; map order is random
	// enough.
	for k, set := range r.keys {
		if int64(len(r.keys)) <= max {
			break
		}
		evicted = append(evicted, evictedKey{k, set})
		r.items -= len(set)
		delete(r.keys, k)
	}
	r.count.Store(int64(len(r.keys)))
	r.mu.Unlock()
	for _, e := range evicted {
		for id := range e.ids {
			if tc := s.clientByID(id); tc != nil {
				s.sendInvalidation(tc, [][]byte{[]byte(e.key)}, nil)
			}
		}
	}
	return len(evicted) > 0
}

type evictedKey struct {
	key string
	ids map[int64]struct{}
}

// noteWrite is the connection's touch hook: a key it wrote, or a database
// it emptied (key nil), to invalidate once the write commits.
//
// The connection's own tracking of the key ends at the write, as in
// Redis, where the write empties the key's entry at once: a read of it
// later in the same pipeline or transaction tracks it again, and is not
// invalidated by the write it follows.
func (c *conn) noteWrite(db int, key []byte, flushed bool) {
	r := &c.s.tracking
	if !r.live() {
		return
	}
	if key == nil {
		if flushed {
			c.invalFlush = true
			r.mu.Lock()
			r.keys, r.items = nil, 0
			r.count.Store(int64(len(r.keys)))
			r.mu.Unlock()
		}
		return
	}
	c.inval = append(c.inval, bytes.Clone(key))
	r.mu.Lock()
	set := r.keys[string(key)]
	_, mine := set[c.ID]
	if mine {
		delete(set, c.ID)
		r.items--
		if len(set) == 0 {
			delete(r.keys, string(key))
		}
	}
	r.count.Store(int64(len(r.keys)))
	r.mu.Unlock()
	// NB: an entry of its own is ended whatever its tracking is now
	// (off, BCAST): the entry seen at commit is then a read after this
	// write.
	if mine && c.trk.on && !c.trk.bcast && !c.trk.noloop {
		c.invalSelf = append(c.invalSelf, bytes.Clone(key))
	}
}

// sendInvalidations sends what the connection's committed writes
// invalidate to the other clients, and returns what it is to receive
// itself, after its replies.
func (c *conn) sendInvalidations() (self []pendingPush) {
	if len(c.inval) == 0 && !c.invalFlush {
		return nil
	}
	keys, flushed, own := c.inval, c.invalFlush, c.invalSelf
	c.inval, c.invalFlush, c.invalSelf = c.inval[:0], false, c.invalSelf[:0]
	if flushed {
		return c.s.invalidateAll(c)
	}
	for _, k := range own {
		self = append(self, c.s.sendInvalidation(c, [][]byte{k}, c)...)
	}
	return append(self, c.s.invalidateKeys(c, keys)...)
}

// pendingPush is a message for a connection's own queue.
type pendingPush struct {
	to  *conn
	msg []byte
}

func (s *Server) invalidateKeys(writer *conn, keys [][]byte) (self []pendingPush) {
	return s.invalidateKeysAs(writer, writer, keys)
}

// invalidateKeysAs is invalidateKeys with the NOLOOP filter on writer
// (nil: none) and the messages to self returned, not sent: an expiry
// found by self's command is no client's write, and reaches it after the
// command's reply, as in Redis.
func (s *Server) invalidateKeysAs(writer, selfConn *conn, keys [][]byte) (self []pendingPush) {
	r := &s.tracking
	// As Redis sends them: in the default mode a message per key; in
	// BCAST mode a message per prefix with its keys in byte order, once
	// each, the prefixes in byte order (its prefix table's).
	type target struct {
		c      *conn
		prefix string
		bcast  bool
		keys   [][]byte
	}
	var targets []target
	add := func(tc *conn, k []byte, bcast bool, prefix string) {
		if tc == writer && writer.trk.noloop {
			return
		}
		if bcast {
			for i := range targets {
				if t := &targets[i]; t.c == tc && t.bcast && t.prefix == prefix {
					t.keys = append(t.keys, k)
					return
				}
			}
		}
		targets = append(targets, target{tc, prefix, bcast, [][]byte{k}})
	}
	r.mu.Lock()
	var ids []int64
	for _, k := range keys {
		if set := r.keys[string(k)]; set != nil {
			// NB: the writer's own entry ended at its write (noteWrite):
			// one here is a read after it, which stays.
			_, reread := set[writerID(writer)]
			for id := range set {
				if !reread || id != writer.ID {
					ids = append(ids, id)
				}
			}
			if reread {
				r.items -= len(set) - 1
				r.keys[string(k)] = map[int64]struct{}{writer.ID: {}}
			} else {
				r.items -= len(set)
				delete(r.keys, string(k))
			}
			for _, id := range ids {
				if tc := s.clientByID(id); tc != nil {
					if ts := tc.trkInfo.Load(); ts != nil && !ts.bcast {
						add(tc, k, false, "")
					}
				}
			}
			ids = ids[:0]
		}
		for p, set := range r.prefixes {
			if bytes.HasPrefix(k, []byte(p)) {
				for tc := range set {
					add(tc, k, true, p)
				}
			}
		}
	}
	r.count.Store(int64(len(r.keys)))
	r.mu.Unlock()
	// The default mode's messages keep the keys' order; the BCAST ones go
	// by client, then prefix.
	bcast := slices.DeleteFunc(slices.Clone(targets), func(t target) bool { return !t.bcast })
	targets = slices.DeleteFunc(targets, func(t target) bool { return t.bcast })
	slices.SortFunc(bcast, func(a, b target) int {
		if a.c.ID != b.c.ID {
			return cmp.Compare(a.c.ID, b.c.ID)
		}
		return strings.Compare(a.prefix, b.prefix)
	})
	for _, t := range append(targets, bcast...) {
		if t.bcast {
			slices.SortFunc(t.keys, bytes.Compare)
			t.keys = slices.CompactFunc(t.keys, bytes.Equal)
		}
		self = append(self, s.sendInvalidation(t.c, t.keys, selfConn)...)
	}
	return self
}

// writerID is writer's client ID, 0 (no client's) for none.
func writerID(writer *conn) int64 {
	if writer == nil {
		return 0
	}
	return writer.ID
}

// replicatedWrites is the store's replicated listener: a replica's
// tracking clients are told of the keys its primary's batch wrote.
func (s *Server) replicatedWrites(keys [][]byte, flushed bool) {
	if !s.tracking.live() {
		return
	}
	if flushed {
		s.invalidateAll(nil)
		return
	}
	s.invalidateKeys(nil, keys)
}

// invalidateAll tells every tracking client that everything changed
// (FLUSHDB, FLUSHALL). The table was emptied by the writer's flush
// (noteWrite), or here for a primary's (writer nil).
func (s *Server) invalidateAll(writer *conn) (self []pendingPush) {
	if writer == nil {
		r := &s.tracking
		r.mu.Lock()
		r.keys, r.items = nil, 0
		r.count.Store(int64(len(r.keys)))
		r.mu.Unlock()
	}
	for _, tc := range s.connList() {
		if tc.trkInfo.Load() != nil {
			self = append(self, s.sendInvalidation(tc, nil, writer)...)
		}
	}
	return self
}

// sendInvalidation tells tracking client tc that keys changed (nil: every
// key), through its redirect client if it has one. What goes to writer
// itself is returned instead, to follow its replies.
func (s *Server) sendInvalidation(tc *conn, keys [][]byte, writer *conn) []pendingPush {
	ts := tc.trkInfo.Load()
	if ts == nil {
		return nil
	}
	dst := tc
	if ts.redirect != 0 {
		if dst = s.clientByID(ts.redirect); dst == nil {
			// As Redis's sendTrackingMessage: the client is marked
			// (TRACKINGINFO's broken_redirect), and a RESP3 one is told
			// its redirect client is gone, at each message it misses.
			tc.trkBroken.Store(true)
			if tc.proto() != 3 {
				return nil
			}
			var w resp.Writer
			w.SetProto(3)
			w.Push(2)
			w.BulkString("tracking-redir-broken")
			w.Int(ts.redirect)
			msg := append([]byte(nil), w.Bytes()...)
			if tc == writer {
				return []pendingPush{{tc, msg}}
			}
			tc.pushQueue().deliver(msg, time.Now())
			return nil
		}
	}
	var w resp.Writer
	switch {
	case dst.proto() == 3:
		w.SetProto(3)
		w.Push(2)
		w.BulkString("invalidate")
	case dst.isSubscriber():
		w.Push(3)
		w.BulkString("message")
		w.Bulk(invalidateChannel)
	default:
		return nil // RESP2 has nowhere to put it
	}
	if keys == nil {
		w.NullArray()
	} else {
		w.BulkArray(keys)
	}
	msg := append([]byte(nil), w.Bytes()...)
	if dst == writer {
		return []pendingPush{{dst, msg}}
	}
	dst.pushQueue().deliver(msg, time.Now())
	return nil
}

// pushQueue returns the queue that writes c's out-of-band messages: its
// subscriber's, or one of its own.
func (c *conn) pushQueue() *subscriber {
	if sub := c.ps.Load(); sub != nil {
		return sub
	}
	if sub := c.push.Load(); sub != nil {
		return sub
	}
	sub := newSubscriber(c)
	if !c.push.CompareAndSwap(nil, sub) {
		sub.stop()
	}
	return c.push.Load()
}

// clientByID returns the connected client id, or nil.
func (s *Server) clientByID(id int64) *conn {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	return s.clients[id]
}

// trackingInfo is INFO's tracking_clients and the tracking table's sizes.
func (s *Server) trackingInfo() (clients, keys, items, prefixes int) {
	r := &s.tracking
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.n.Load()), len(r.keys), r.items, len(r.prefixes)
}
