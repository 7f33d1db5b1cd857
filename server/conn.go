package server

import (
	"errors"
	"github.com/shoaldb/shoal/internal/obuf"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/replication"
	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/storage"
)

// conn is one client connection. Its fields are touched by the
// connection's goroutine only, except where a comment says otherwise.
type conn struct {
	commands.Client
	s   *Server
	nc  net.Conn
	fr  framer
	out resp.Writer
	tx  *storage.Tx
	ctx commands.Ctx

	multi *multiState
	// stats holds the accounting of the calls whose replies are not out
	// yet, which flush adds to the server's just before they go out
	// (stats.go).
	stats statBatch
	// expiredPush are the connection's own invalidations of keys its
	// lookups found expired, sent after its replies.
	expiredPush []pendingPush
	// fedCalls holds the current call's commands for the replicas
	// (feed.go), passed on together when it ends.
	fedCalls
	// replHello is what a replica said in REPLCONF before PSYNC.
	replHello replication.Hello
	watched   []watchedKey
	skipNext  bool
	skipping  bool // this command's reply is skipped by CLIENT REPLY SKIP
	closing   bool // close after the pending replies are written
	// passOut counts the replies sent since the last read, which
	// client-output-buffer-limit weighs (outq.watch).
	passOut int64
	// evicted is set when maxmemory-clients closed the connection.
	evicted atomic.Bool
	// counted: the connection is one of connected_clients (uncount).
	counted atomic.Bool
	// userRef is the ACL user the connection is authenticated as (the
	// default user until AUTH), read by other goroutines (ACL DELUSER).
	userRef atomic.Pointer[userRef]
	// unit counts the commands whose replies wait for the next commit.
	unit int
	// clock is when the last call of the commands being run back to back
	// ended (monoNow), which is when the next one starts: one clock read
	// a call. 0 when the connection may have waited since (a read, a
	// flush).
	clock int64
	// scriptExclusive is set while an EXEC with scripts holds the script
	// engine's Exclusive.
	scriptExclusive bool
	// master marks the client that runs a redis-server primary's stream
	// (masterclient.go); masterErr is its last command's error reply.
	master    bool
	masterErr error
	// detached is set by PSYNC: the connection leaves the command loop
	// after the request, and afterDetach serves the replica.
	detached    bool
	afterDetach func(read func() ([][]byte, error))
	// replicaLink marks a detached connection that feeds a replica: it
	// stays in the client list, as Redis's replicas do (CLIENT LIST's
	// flag S, CLIENT KILL TYPE replica), until its feed ends.
	replicaLink atomic.Bool
	// trk is the connection's CLIENT TRACKING; inval and invalFlush what
	// its writes invalidate once they commit, invalSelf the keys it
	// tracked itself, to be told of after its replies (tracking.go).
	trk        trackingState
	inval      [][]byte
	invalFlush bool
	invalSelf  [][]byte
	// trkOwner is set once the connection tracked (trackingRegistry.owners).
	trkOwner bool
	// trkBroken is set by whoever finds the redirect client gone.
	trkBroken atomic.Bool

	// wmu serialises writes to nc between the connection and publishers.
	wmu sync.Mutex
	// outq holds the replies the socket did not take yet (outqueue.go).
	outq outQueue

	// Read by CLIENT LIST and the idle sweeper from other goroutines.
	lastActive atomic.Int64 // Unix ns of the last command
	lastCmd    atomic.Pointer[string]
	blocked    atomic.Bool
	dirty      atomic.Bool // a watched key changed
	info       atomic.Pointer[clientSnapshot]
	ps         atomic.Pointer[subscriber] // set while subscribed (pubsub.go)
	mon        atomic.Pointer[subscriber] // set while in MONITOR (monitor.go)
	push       atomic.Pointer[subscriber] // invalidations when not subscribed
	trkInfo    atomic.Pointer[trackingState]
	// heldQuery, heldFree and heldArgv are the bytes of a request still
	// being received, stored after each read (clientmem.go); outPending
	// those of replies being written to the socket.
	heldQuery, heldFree, heldArgv atomic.Int64
	// bigRoom is the query buffer Redis would keep after a big argument
	// read at bigAt (clientmem.go).
	bigRoom    atomic.Int64
	bigAt      time.Time
	outPending atomic.Int64
	// rbuf is Redis's reply buffer as it would be (clientmem.go).
	rbuf *replyBuf
	// readLen is the size of the read being served, for the
	// connection's own CLIENT LIST.
	readLen int
	// rd is the socket's reads (readbuf.go).
	rd *reader

	// errMark is out.Errors() when the current command started, or when
	// the last command it ran (EXEC's) ended.
	errMark int64
}

// clientSnapshot is what other goroutines may read of a conn's Client.
type clientSnapshot struct {
	commands.Client
	multi    int
	multiMem int64 // MULTI's queued commands' bytes (clientmem.go)
	watch    int
	proto    int
}

// accept admits a new connection, or answers why not and returns nil.
func (s *Server) accept(nc net.Conn) *conn {
	if s.closing.Load() {
		return nil
	}
	if s.nclients.Load() >= s.maxClients.Load() {
		s.stats.rejected.Add(1)
		nc.Write([]byte("-ERR max number of clients reached\r\n"))
		return nil
	}
	unixPath := ""
	if cc, ok := nc.(*countingConn); ok {
		unixPath = cc.unixPath
	}
	if s.protectedMode.Load() && unixPath == "" && !isLoopback(nc.RemoteAddr()) && !s.defaultHasPassword() {
		nc.Write([]byte(protectedDenied))
		return nil
	}
	c := &conn{s: s, nc: nc, tx: s.store.NewTx(), rbuf: newReplyBuf(s.replyCron), rd: newReader(nc)}
	c.out.OnError = s.countError
	c.ID = s.nextID.Add(1)
	c.Addr = nc.RemoteAddr().String()
	c.LocalAddr = nc.LocalAddr().String()
	if unixPath != "" {
		// As Redis names a Unix socket's clients.
		c.Addr, c.LocalAddr, c.Unix = unixPath+":0", unixPath+":0", true
	}
	c.Created = time.Now()
	c.setUser("default", s.users.defaultRef())
	c.Authenticated = c.userRef.Load().load().u.NoPass && c.userRef.Load().load().u.Enabled
	c.lastActive.Store(c.Created.UnixNano())
	c.ctx = commands.Ctx{Out: &c.out, Tx: c.tx, Store: s.store, Client: &c.Client, Server: s, Cluster: s.clusterOf(), Catalog: s.catalog, Conn: c, Events: &s.events}
	c.tx.SetNewKeyHook(c.notifyNew)
	c.tx.SetTouchHook(c.noteWrite)
	c.tx.SetOwner(c)
	c.tx.SetExpireOnRead(true)
	c.publish()
	s.clientsMu.Lock()
	s.clients[c.ID] = c
	s.clientsMu.Unlock()
	s.nclients.Add(1)
	c.counted.Store(true)
	s.stats.connections.Add(1)
	return c
}

// closed forgets a connection that ended (or left for replication).
func (s *Server) closed(c *conn) {
	c.flushStats()
	c.tx.Discard()
	s.unwatchAll(c)
	s.unsubscribeAll(c)
	s.stopMonitor(c)
	s.disableTracking(c)
	s.leaveTracking(c)
	if sub := c.push.Load(); sub != nil {
		sub.stop()
	}
	if !c.replicaLink.Load() {
		s.dropClient(c)
	}
	s.uncount(c)
}

// dropClient takes c out of the client list.
func (s *Server) dropClient(c *conn) {
	s.clientsMu.Lock()
	delete(s.clients, c.ID)
	s.clientsMu.Unlock()
}

// freeClient takes c out of the client list and of connected_clients at
// once, as Redis's freeClient does for a client it closes (CLIENT KILL,
// maxmemory-clients, a client closing after its reply), before its
// connection has ended here.
func (s *Server) freeClient(c *conn) {
	s.dropClient(c)
	s.uncount(c)
}

// uncount takes c out of connected_clients, once.
func (s *Server) uncount(c *conn) {
	if c.counted.CompareAndSwap(true, false) {
		s.nclients.Add(-1)
	}
}

// isLoopback reports whether a is 127.0.0.1 or ::1, the two addresses
// Redis's protected mode takes for local (127.0.0.2 is not).
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return !ok || tcp.IP.Equal(net.IPv4(127, 0, 0, 1)) || tcp.IP.Equal(net.IPv6loopback)
}

// protectedDenied is redis-server 7.0.15's refusal of a client from
// another host in protected mode.
const protectedDenied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
	"In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: " +
	"1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
	"2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. " +
	"3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
	"4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

// setUser makes the connection act as the ACL user called name.
func (c *conn) setUser(name string, ref *userRef) {
	c.User = name
	c.userRef.Store(ref)
}

// publish makes the connection's current state visible to CLIENT LIST.
func (c *conn) publish() {
	snap := clientSnapshot{Client: c.Client, watch: len(c.watched), proto: c.out.Proto(), multi: -1}
	if c.multi != nil {
		snap.multi = len(c.multi.queued)
		snap.multiMem = multiMem(c.multi)
	}
	if old := c.info.Load(); old != nil && *old == snap {
		return // NB: most pipelines change nothing CLIENT LIST shows
	}
	p := new(clientSnapshot) // NB: not &snap, which would put every snap on the heap
	*p = snap
	c.info.Store(p)
}

// flush commits the connection's pending writes and only then sends the
// buffered replies, so no reply acknowledges a write before it is durable
// under the fsync policy. A commit the failing disk refused applied
// nothing: each command of that work is answered its MISCONF error; so is
// one whose sync under always the disk's failure holds, which applied and
// reaches the disk once it recovers. Any other failed commit closes the
// connection without the replies of that work, whose outcome is unknown.
func (c *conn) flush() {
	unit := c.unit
	c.unit, c.clock = 0, 0
	if err := c.tx.Commit(); err != nil {
		c.out.Reset()
		c.tx.ClearErr()
		if !errors.Is(err, storage.ErrWriteFailed) {
			c.s.log.Error("commit failed; closing client without replies", "client", c.ID, "err", err)
			c.closeConn()
			return
		}
		for range unit {
			c.replyError(err)
		}
	}
	self := append(c.sendInvalidations(), c.expiredPush...)
	c.expiredPush = c.expiredPush[:0]
	c.s.evictIfDue()
	// NB: before the replies: a client that read its reply finds its
	// call in INFO and the metrics.
	c.flushStats()
	if c.closing {
		// NB: Redis frees a client closing after its reply before it
		// reads another command: from here no one finds it by its ID
		// (a tracking redirect, CLIENT KILL ID, CLIENT LIST).
		c.s.freeClient(c)
	}
	if c.out.Len() > 0 && c.overOutputLimit() {
		c.out.Reset()
		c.closeConn()
		return
	}
	if c.out.Len() > 0 {
		// Let the other connections whose requests are ready run first,
		// so replies leave back to back as from Redis's event loop: a
		// client woken by the first reply finds the next ones without
		// another wake-up, which costs the writer more than the write.
		runtime.Gosched()
		c.rbuf.wrote(int64(c.out.Len()), c.lastActive.Load()/1e6)
		c.wmu.Lock()
		err := c.send(c.out.Bytes())
		c.wmu.Unlock()
		c.passOut += int64(c.out.Len())
		c.out.Reset()
		if err != nil {
			c.closeConn()
			return
		}
		c.weighOut()
	}
	own := false
	for _, p := range self {
		p.to.pushQueue().deliver(p.msg, time.Now())
		own = own || p.to == c
	}
	c.releasePubsub()
	if own {
		c.pushQueue().drainNow()
	}
	if c.closing {
		c.waitOut()
		c.closeConn()
	}
}

// overOutputLimit reports whether the replies about to go out pass the
// client-output-buffer-limit of the connection's class (pubsub while it
// subscribes, normal otherwise), logging the disconnection Redis logs.
//
// Redis counts what its output list holds: the replies to the requests of
// one read, which it writes once they have all run, beyond its 16 KiB
// static buffer. Here those are the replies since the last read, some of
// them sent already (a pipeline's replies go out every 64 KiB).
func (c *conn) overOutputLimit() bool {
	l, class := c.outputLimit()
	if l.Hard == 0 && l.Soft == 0 {
		return false
	}
	// NB: the replies of this read that went out, or those still
	// queued, whichever is more: Redis's output list holds both, and
	// all from the first reply Redis writes with a deferred length.
	static := int64(replyChunkBytes)
	if at, ok := c.out.DeferredAt(); ok {
		static = min(static, c.passOut+int64(at))
	}
	used := omemBeyond(max(c.passOut, c.queued())+int64(c.out.Len()), static)
	if !c.outq.over(l, used, time.Now()) {
		return false
	}
	c.logOutputLimit(class, used)
	return true
}

// outputLimit is the client-output-buffer-limit class of the connection
// and its limits.
func (c *conn) outputLimit() (obuf.Limit, int) {
	class := obuf.Normal
	if c.isSubscriber() {
		class = obuf.Pubsub
	}
	return c.s.pubsub.limit(class), class
}

// outputLimited reports whether the connection's class has a limit: its
// replies then wait for the end of the requests read together, as
// Redis's do, rather than going out every 64 KiB, so that a client past
// the limit gets none of them.
func (c *conn) outputLimited() bool {
	l, _ := c.outputLimit()
	return l.Hard > 0 || l.Soft > 0
}

// replyChunkBytes is Redis's static reply buffer (PROTO_REPLY_CHUNK_BYTES),
// which its output limits do not count.
const replyChunkBytes = 16 << 10

// FlushPending sends what is buffered before the connection blocks.
func (c *conn) FlushPending() { c.flush() }
