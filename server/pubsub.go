package server

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/obuf"
	"github.com/shoaldb/shoal/resp"
)

// Pub/sub delivery.
//
// A publisher never writes to a subscriber's socket. Each subscribing
// connection owns a subscriber: a bounded queue of encoded messages and a
// writer goroutine that drains it to the socket under conn.wmu, the mutex
// the connection's own flush also takes, so a message never lands inside
// another reply. PUBLISH encodes a message once per protocol, appends the
// shared bytes to each receiver's queue and returns; a subscriber whose
// queue passes the "pubsub" class of client-output-buffer-limit is
// disconnected, as Redis does.
//
// Ordering: a subscribe confirmation is an ordinary reply, buffered in the
// connection's Writer until its flush. While a pub/sub command runs, the
// queue is put on hold: messages queued before the command move into the
// Writer ahead of its reply, and messages published after it wait until
// the connection has flushed that reply (conn.flush calls release).

// pubsubRegistry records who listens to which channel and pattern.
type pubsubRegistry struct {
	mu       sync.RWMutex
	channels map[string]map[*subscriber]struct{}
	patterns map[string]map[*subscriber]struct{}
	shards   map[string]map[*subscriber]struct{} // SSUBSCRIBE's channels

	limits atomic.Pointer[[3]obuf.Limit]
}

// counts are INFO's pubsub_channels, pubsub_patterns and
// pubsubshard_channels: the channels, patterns and shard channels with a
// subscriber.
func (r *pubsubRegistry) counts() (channels, patterns, shards int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.channels), len(r.patterns), len(r.shards)
}

// setLimits applies a client-output-buffer-limit value.
func (r *pubsubRegistry) setLimits(s string) {
	l := obuf.Parse(s)
	r.limits.Store(&l)
}

// limit is the limit of a class of clients (obuf.Normal, obuf.Pubsub).
func (r *pubsubRegistry) limit(class int) obuf.Limit {
	if l := r.limits.Load(); l != nil {
		return l[class]
	}
	return obuf.Defaults[class]
}

// subscriber is a connection's pub/sub state. channels and patterns belong
// to the connection's goroutine and change only under the registry's lock;
// the queue fields are guarded by mu.
type subscriber struct {
	c        *conn
	channels map[string]struct{}
	patterns map[string]struct{}
	shards   map[string]struct{}

	mu      sync.Mutex
	queue   [][]byte
	pending int64      // bytes queued or being written
	watch   obuf.Watch // pending against the class's limit
	hold    bool       // a reply of the connection must go out first
	dead    bool       // disconnected or stopped: drop everything
	wake    chan struct{}
}

func newSubscriber(c *conn) *subscriber {
	sub := &subscriber{
		c:        c,
		channels: map[string]struct{}{},
		patterns: map[string]struct{}{},
		shards:   map[string]struct{}{},
		wake:     make(chan struct{}, 1),
	}
	go sub.run()
	return sub
}

// count is what SUBSCRIBE and PSUBSCRIBE confirm: channels and patterns;
// the sharded channels are counted apart, as Redis 7.0 does.
func (sub *subscriber) count() int { return len(sub.channels) + len(sub.patterns) }

// any reports whether sub holds any subscription.
func (sub *subscriber) any() bool { return sub.count()+len(sub.shards) > 0 }

func (sub *subscriber) signal() {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// writeBatch caps the bytes the writer copies into one socket write.
const writeBatch = 64 << 10

// run is the writer goroutine: it drains the queue to the socket until the
// subscriber is stopped or the socket fails.
func (sub *subscriber) run() {
	var buf []byte
	for range sub.wake {
		for sub.writeQueued(&buf) {
		}
	}
}

// writeQueued writes a batch of the queue to the socket, and reports
// whether it did (false: the queue is empty or held, or the subscriber is
// dead).
func (sub *subscriber) writeQueued(buf *[]byte) bool {
	// NB: wmu is taken before the queue is read, so a batch taken off the
	// queue is on the wire before any later flush of the connection.
	sub.c.wmu.Lock()
	sub.mu.Lock()
	if sub.dead || sub.hold || len(sub.queue) == 0 {
		sub.mu.Unlock()
		sub.c.wmu.Unlock()
		return false
	}
	var out []byte
	n := 0
	if len(sub.queue[0]) >= writeBatch {
		out, n = sub.queue[0], 1
	} else {
		*buf = (*buf)[:0]
		for n < len(sub.queue) && len(*buf)+len(sub.queue[n]) <= writeBatch {
			*buf = append(*buf, sub.queue[n]...)
			n++
		}
		out = *buf
	}
	clear(sub.queue[:n])
	sub.queue = sub.queue[n:]
	if len(sub.queue) == 0 {
		sub.queue = nil
	}
	sub.mu.Unlock()
	err := sub.c.send(out)
	sub.c.wmu.Unlock()
	sub.c.weighOut()
	sub.mu.Lock()
	sub.pending -= int64(len(out))
	sub.mu.Unlock()
	if err != nil {
		sub.kill()
		return false
	}
	return true
}

// drainNow writes the queue on the calling goroutine, as run would: the
// connection's own invalidations reach the wire before its next reply, as
// from Redis's output buffer.
func (sub *subscriber) drainNow() {
	var buf []byte
	for sub.writeQueued(&buf) {
	}
}

// deliver queues msg, disconnecting the subscriber when its output passes
// the limit of its client's class: pubsub for a connection's subscriptions,
// normal for a monitor's queue and a RESP3 client's pushes, as Redis
// classes a client by its pubsub flag. It never blocks on the socket.
func (sub *subscriber) deliver(msg []byte, now time.Time) {
	sub.mu.Lock()
	if sub.dead {
		sub.mu.Unlock()
		return
	}
	sub.queue = append(sub.queue, msg)
	sub.pending += int64(len(msg))
	if sub.closeOverLimitLocked(now) {
		return
	}
	if sub.pending > replyChunk {
		sub.c.s.noteOutputGrew()
	}
	hold := sub.hold
	sub.mu.Unlock()
	if !hold {
		sub.signal()
	}
}

// checkLimit is the cron's check of sub's output: a soft limit held past
// its time closes the client even when nothing more is queued, as Redis's
// clientsCron does.
func (sub *subscriber) checkLimit(now time.Time) {
	sub.mu.Lock()
	if sub.dead || !sub.closeOverLimitLocked(now) {
		sub.mu.Unlock()
	}
}

// closeOverLimitLocked closes sub's client, unlocking mu, when its pending
// output at now passes the limit of its class: pubsub for a connection's
// subscriptions, normal for a monitor's queue and a RESP3 client's
// pushes. It reports whether it did; if not, mu is still held.
func (sub *subscriber) closeOverLimitLocked(now time.Time) bool {
	class := obuf.Normal
	if sub.c.ps.Load() == sub {
		class = obuf.Pubsub
	}
	// NB: as Redis counts its reply list, beyond the 16 KiB reply
	// buffer: what CLIENT LIST's omem shows.
	used := omemOf(sub.pending + sub.c.queued())
	if !sub.watch.Over(sub.c.s.pubsub.limit(class), used, now) {
		return false
	}
	sub.mu.Unlock()
	sub.c.logOutputLimit(class, used)
	sub.kill()
	return true
}

// checkOutputLimits runs checkLimit on every client's queues (once a
// second, from the cron).
func (s *Server) checkOutputLimits(now time.Time) {
	for _, c := range s.connList() {
		c.checkQueueLimit(now)
		for _, sub := range []*subscriber{c.ps.Load(), c.push.Load()} {
			if sub != nil {
				sub.checkLimit(now)
			}
		}
	}
}

// kill drops the queue and closes the connection; the connection's close
// handler unsubscribes it.
func (sub *subscriber) kill() {
	sub.stop()
	sub.c.nc.Close()
}

// stop ends the writer and drops what is queued.
func (sub *subscriber) stop() {
	sub.mu.Lock()
	sub.dead = true
	sub.queue = nil
	sub.pending = 0
	sub.mu.Unlock()
	sub.signal()
}

// holdAndDrain runs on the connection's goroutine at the start of a
// pub/sub command: it moves the queued messages into out, ahead of the
// command's reply, and holds later ones until the connection flushes.
// Inside EXEC the queue is only held: the reply there is one array.
func (sub *subscriber) holdAndDrain(out *resp.Writer, drain bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.hold = true
	if !drain {
		return
	}
	discard := out.Discard
	out.Discard = false
	for _, m := range sub.queue {
		out.Raw(m)
		sub.pending -= int64(len(m))
	}
	out.Discard = discard
	sub.queue = nil
}

// release lets the writer send what was held; conn.flush calls it after
// writing the connection's buffered replies.
func (sub *subscriber) release() {
	sub.mu.Lock()
	held := sub.hold
	sub.hold = false
	sub.mu.Unlock()
	if held {
		sub.signal()
	}
}

// subscribed reports whether the connection is in subscriber mode.
func (c *conn) subscribed() bool { return c.Channels+c.Patterns+c.ShardChannels > 0 }

// isSubscriber is subscribed for other goroutines.
func (c *conn) isSubscriber() bool { return c.ps.Load() != nil }

// releasePubsub is called by flush once the connection's replies are out.
func (c *conn) releasePubsub() {
	if sub := c.ps.Load(); sub != nil {
		sub.release()
	}
	if sub := c.mon.Load(); sub != nil {
		sub.release()
	}
}

// unsubscribeAll drops every subscription of c without replies (RESET,
// connection close), stopping its writer.
func (s *Server) unsubscribeAll(c *conn) {
	sub := c.ps.Load()
	if sub == nil {
		return
	}
	r := &s.pubsub
	r.mu.Lock()
	for ch := range sub.channels {
		r.removeLocked(r.channels, ch, sub)
	}
	for p := range sub.patterns {
		r.removeLocked(r.patterns, p, sub)
	}
	for ch := range sub.shards {
		r.removeLocked(r.shards, ch, sub)
	}
	r.mu.Unlock()
	sub.holdAndDrain(&c.out, true)
	sub.channels, sub.patterns, sub.shards = nil, nil, nil
	s.endSubscriber(c, sub)
}

// endSubscriber retires c's subscriber once it has no subscriptions left.
func (s *Server) endSubscriber(c *conn, sub *subscriber) {
	c.Channels, c.Patterns, c.ShardChannels = len(sub.channels), len(sub.patterns), len(sub.shards)
	if sub.any() {
		return
	}
	sub.stop()
	c.ps.Store(nil)
}

func (r *pubsubRegistry) addLocked(m *map[string]map[*subscriber]struct{}, name string, sub *subscriber) {
	if *m == nil {
		*m = map[string]map[*subscriber]struct{}{}
	}
	set := (*m)[name]
	if set == nil {
		set = map[*subscriber]struct{}{}
		(*m)[name] = set
	}
	set[sub] = struct{}{}
}

func (r *pubsubRegistry) removeLocked(m map[string]map[*subscriber]struct{}, name string, sub *subscriber) {
	if set := m[name]; set != nil {
		delete(set, sub)
		if len(set) == 0 {
			delete(m, name)
		}
	}
}

// Pubsub runs SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE and the
// PUBSUB subcommands that read the registry.
func (s *Server) Pubsub(c *commands.Ctx) error {
	switch c.Cmd.Name {
	case "subscribe":
		s.subscribe(c, kindChannel)
	case "psubscribe":
		s.subscribe(c, kindPattern)
	case "ssubscribe":
		s.subscribe(c, kindShard)
	case "unsubscribe":
		s.unsubscribe(c, kindChannel)
	case "punsubscribe":
		s.unsubscribe(c, kindPattern)
	case "sunsubscribe":
		s.unsubscribe(c, kindShard)
	case "publish", "spublish":
		var n int64
		shard := c.Cmd.Name == "spublish"
		if shard {
			n = s.publishShard(c.Args[1], c.Args[2])
		} else {
			n = s.Publish(c.Args[1], c.Args[2])
		}
		if s.store.LogEnabled() && c.Tx != nil && (connOf(c).master || !s.repl.IsReplica()) {
			// The replicas' subscribers get it too, as Redis propagates
			// the command; a replica passes on its primary's alone.
			c.Tx.LogPublish(shard, c.Args[1], c.Args[2])
		}
		// A RESP3 client subscribed to its own channel gets the message
		// before the reply, as from Redis.
		if sub := connOf(c).ps.Load(); sub != nil {
			sub.holdAndDrain(c.Out, !c.InMulti)
		}
		c.Out.Int(n)
	case "pubsub|channels":
		return s.pubsubChannels(c, s.pubsub.channels)
	case "pubsub|numsub":
		s.pubsubNumsub(c, s.pubsub.channels)
	case "pubsub|shardchannels":
		return s.pubsubChannels(c, s.pubsub.shards)
	case "pubsub|shardnumsub":
		s.pubsubNumsub(c, s.pubsub.shards)
	case "pubsub|numpat":
		s.pubsub.mu.RLock()
		n := len(s.pubsub.patterns)
		s.pubsub.mu.RUnlock()
		c.Out.Int(int64(n))
	default:
		return commands.Errf("unknown pub/sub command '%s'", c.Cmd.Name)
	}
	return nil
}

// pubsubReply writes one confirmation: [kind, name, count] as a push.
// NB: it is written under CLIENT REPLY OFF and SKIP too, as Redis 7.0.15
// writes pushes (CLIENT_PUSHING): a subscriber waiting for it would
// otherwise wait forever.
func pubsubReply(out *resp.Writer, kind string, name []byte, null bool, count int) {
	discard := out.Discard
	out.Discard = false
	defer func() { out.Discard = discard }()
	out.Push(3)
	out.BulkString(kind)
	if null {
		out.Null()
	} else {
		out.Bulk(name)
	}
	out.Int(int64(count))
}

// subKind is one of the three kinds of subscription.
type subKind int

const (
	kindChannel subKind = iota
	kindPattern
	kindShard
)

// names returns the confirmations' names of a kind, and its sets: the
// subscriber's and the registry's.
func (k subKind) names() (sub, unsub string) {
	switch k {
	case kindPattern:
		return "psubscribe", "punsubscribe"
	case kindShard:
		return "ssubscribe", "sunsubscribe"
	}
	return "subscribe", "unsubscribe"
}

func (k subKind) sets(r *pubsubRegistry, sub *subscriber) (mine map[string]struct{}, all *map[string]map[*subscriber]struct{}) {
	switch k {
	case kindPattern:
		return sub.patterns, &r.patterns
	case kindShard:
		return sub.shards, &r.shards
	}
	return sub.channels, &r.channels
}

// confirmCount is the count a confirmation of kind k carries.
func (k subKind) confirmCount(sub *subscriber) int {
	if k == kindShard {
		return len(sub.shards)
	}
	return sub.count()
}

func (s *Server) subscribe(c *commands.Ctx, k subKind) {
	cn := connOf(c)
	sub := cn.ps.Load()
	if sub == nil {
		sub = newSubscriber(cn)
		cn.ps.Store(sub)
	}
	sub.holdAndDrain(c.Out, !c.InMulti)
	kind, _ := k.names()
	r := &s.pubsub
	r.mu.Lock()
	mine, all := k.sets(r, sub)
	for _, a := range c.Args[1:] {
		name := string(a)
		if _, ok := mine[name]; !ok {
			mine[name] = struct{}{}
			r.addLocked(all, name, sub)
		}
		pubsubReply(c.Out, kind, a, false, k.confirmCount(sub))
	}
	r.mu.Unlock()
	cn.Channels, cn.Patterns, cn.ShardChannels = len(sub.channels), len(sub.patterns), len(sub.shards)
}

func (s *Server) unsubscribe(c *commands.Ctx, k subKind) {
	cn := connOf(c)
	_, kind := k.names()
	sub := cn.ps.Load()
	if sub == nil {
		// Not subscribed: one confirmation per name, or a null one.
		if len(c.Args) == 1 {
			pubsubReply(c.Out, kind, nil, true, 0)
		}
		for _, a := range c.Args[1:] {
			pubsubReply(c.Out, kind, a, false, 0)
		}
		return
	}
	sub.holdAndDrain(c.Out, !c.InMulti)
	r := &s.pubsub
	set, all := k.sets(r, sub)
	names := c.Args[1:]
	if len(names) == 0 {
		for name := range set {
			names = append(names, []byte(name))
		}
		sort.Slice(names, func(i, j int) bool { return string(names[i]) < string(names[j]) })
	}
	r.mu.Lock()
	if len(names) == 0 {
		pubsubReply(c.Out, kind, nil, true, k.confirmCount(sub))
	}
	for _, a := range names {
		name := string(a)
		if _, ok := set[name]; ok {
			delete(set, name)
			r.removeLocked(*all, name, sub)
		}
		pubsubReply(c.Out, kind, a, false, k.confirmCount(sub))
	}
	r.mu.Unlock()
	s.endSubscriber(cn, sub)
}

func (s *Server) pubsubChannels(c *commands.Ctx, set map[string]map[*subscriber]struct{}) error {
	if len(c.Args) > 3 {
		return commands.Errf("unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", c.Args[1])
	}
	var pat []byte
	if len(c.Args) == 3 {
		pat = c.Args[2]
	}
	r := &s.pubsub
	r.mu.RLock()
	var names []string
	for ch := range set {
		if pat == nil || commands.GlobMatch(pat, []byte(ch)) {
			names = append(names, ch)
		}
	}
	r.mu.RUnlock()
	sort.Strings(names)
	c.Out.MarkDeferred() // NB: Redis counts the channels as it goes
	c.Out.StringArray(names)
	return nil
}

func (s *Server) pubsubNumsub(c *commands.Ctx, set map[string]map[*subscriber]struct{}) {
	r := &s.pubsub
	r.mu.RLock()
	defer r.mu.RUnlock()
	// NB: a flat array in RESP3 too, as Redis 7 replies.
	c.Out.Array(2 * (len(c.Args) - 2))
	for _, a := range c.Args[2:] {
		c.Out.Bulk(a)
		c.Out.Int(int64(len(set[string(a)])))
	}
}

// Publish delivers a message to the subscribers of channel and of the
// patterns matching it, and returns how many receivers it reached: one per
// subscribed client plus one per matching client-pattern pair. It encodes
// each message shape once per protocol and never waits on a socket.
func (s *Server) Publish(channel, message []byte) int64 {
	r := &s.pubsub
	now := time.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var n int64
	if subs := r.channels[string(channel)]; len(subs) > 0 {
		var enc [2][]byte
		for sub := range subs {
			p := sub.c.proto()
			if enc[p-2] == nil {
				enc[p-2] = encodeMessage(p, "message", nil, channel, message)
			}
			sub.deliver(enc[p-2], now)
			n++
		}
	}
	for pat, subs := range r.patterns {
		if !commands.GlobMatch([]byte(pat), channel) {
			continue
		}
		var enc [2][]byte
		for sub := range subs {
			p := sub.c.proto()
			if enc[p-2] == nil {
				enc[p-2] = encodeMessage(p, "pmessage", []byte(pat), channel, message)
			}
			sub.deliver(enc[p-2], now)
			n++
		}
	}
	return n
}

// publishShard delivers a message to the subscribers of a sharded channel
// (SPUBLISH) and returns how many clients it reached.
func (s *Server) publishShard(channel, message []byte) int64 {
	r := &s.pubsub
	now := time.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var n int64
	var enc [2][]byte
	for sub := range r.shards[string(channel)] {
		p := sub.c.proto()
		if enc[p-2] == nil {
			enc[p-2] = encodeMessage(p, "smessage", nil, channel, message)
		}
		sub.deliver(enc[p-2], now)
		n++
	}
	return n
}

// proto is the connection's protocol as other goroutines see it.
func (c *conn) proto() int {
	if snap := c.info.Load(); snap != nil && snap.proto == 3 {
		return 3
	}
	return 2
}

// encodeMessage renders ["message", channel, payload] or ["pmessage",
// pattern, channel, payload] as a RESP2 array or RESP3 push.
func encodeMessage(proto int, kind string, pattern, channel, payload []byte) []byte {
	var w resp.Writer
	w.SetProto(proto)
	if pattern != nil {
		w.Push(4)
		w.BulkString(kind)
		w.Bulk(pattern)
	} else {
		w.Push(3)
		w.BulkString(kind)
	}
	w.Bulk(channel)
	w.Bulk(payload)
	return w.Bytes()
}
