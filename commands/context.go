package commands

import (
	"time"

	"github.com/shoaldb/shoal/cluster"

	"github.com/shoaldb/shoal/replication"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
)

// Ctx is one command call: its arguments, where its reply goes and what it
// runs against. The server builds it; handlers read it. A Ctx is used by the
// calling connection's goroutine only.
type Ctx struct {
	// Args are the command's arguments, Args[0] being its name. They alias
	// the connection's read buffer: copy what outlives the call.
	Args [][]byte
	Cmd  *Command
	Out  *resp.Writer
	// Tx is the connection's unit of work; writes commit when the pipeline
	// drains (see storage.Tx).
	Tx     *storage.Tx
	Store  *storage.Store
	Client *Client
	Server Server
	// Cluster is the node's cluster membership; nil unless the node runs
	// with cluster-enabled.
	Cluster Cluster
	// Catalog is the node's catalog (its cluster's, or a one-voter catalog
	// of its own): the admin commands keep their state there. It is set
	// once the server started.
	Catalog *cluster.Node
	// Conn is the server's connection behind Client, opaque to handlers;
	// the server's Server methods use it.
	Conn any
	// Events is the server's notify-keyspace-events, which Notify reads.
	Events *Events
	// InMulti reports that the call runs inside EXEC: blocking commands
	// must not block.
	InMulti bool
	// InScript reports that a script or function made the call (Redis's
	// CLIENT_SCRIPT).
	InScript bool
	// KeyspaceHits and KeyspaceMisses count the call's reads of keys that
	// were live or not (INFO's keyspace_hits and keyspace_misses); the
	// server takes and zeroes them after each call.
	KeyspaceHits, KeyspaceMisses int64
	// effects, when replaced is set, stand for the call in the commands
	// redis-server replicas run (Propagate).
	effects  [][][]byte
	replaced bool
	// changes, when counted is set, is the number of changes the call
	// made, for a command whose reply does not tell it (Changed).
	changes int64
	counted bool
	// keys are the Keys ReadKey and WriteKey returned since ResetKeys,
	// reused by the calls after it.
	keys  []*storage.Key
	nkeys int
	// strKeys are released string lookups' keys kept for the next ones
	// (strings.go): unlike a sync.Pool's, their buffers outlive a GC.
	strKeys []*strKey
}

// Changed records that the call made n changes, as Redis adds them to
// server.dirty (INFO's rdb_changes_since_last_save), for a write whose
// arguments and reply do not tell the server how many (see the server's
// dirtyOf).
func (c *Ctx) Changed(n int64) { c.changes, c.counted = n, true }

// TakeChanged returns what Changed recorded during the call and clears
// it; ok is false when the call recorded nothing.
func (c *Ctx) TakeChanged() (n int64, ok bool) {
	n, ok = c.changes, c.counted
	c.changes, c.counted = 0, false
	return n, ok
}

// ResetKeys lets the next calls reuse the Keys the earlier ones looked up:
// a connection calls it before each command, whose Keys do not outlive it.
func (c *Ctx) ResetKeys() {
	for _, k := range c.keys[:c.nkeys] {
		k.Trim()
	}
	c.nkeys = 0
}

// lookup looks name up into a Key of the call's own; meta leaves a
// chunked string's value in its chunks (storage.Tx.LookupInline).
func (c *Ctx) lookup(name []byte, meta bool) (*storage.Key, error) {
	if c.nkeys == len(c.keys) {
		c.keys = append(c.keys, &storage.Key{})
	}
	k := c.keys[c.nkeys]
	c.nkeys++
	if meta {
		return k, c.Tx.LookupInline(k, c.DB(), name)
	}
	return k, c.Tx.LookupInto(k, c.DB(), name)
}

// Feeding reports whether redis-server replicas follow this node, or
// Shoal replicas (which count the commands as Redis replicates them), so
// that a write whose effect depends on when or where it runs says with
// Propagate what they are to run instead.
func (c *Ctx) Feeding() bool {
	repl := c.Server.Repl()
	return repl != nil && repl.FeedActive() || c.Store != nil && c.Store.LogsCommits()
}

// Propagate adds a command to what redis-server replicas run in place of
// the call, as Redis's alsoPropagate does for the writes it rewrites (an
// XADD's generated ID, XREADGROUP's deliveries as XCLAIMs). Once called,
// the command itself is not passed on; PropagateNothing passes on
// nothing. The arguments are copied.
func (c *Ctx) Propagate(args ...[]byte) {
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = append([]byte(nil), a...)
	}
	c.effects, c.replaced = append(c.effects, cmd), true
}

// PropagateNothing says the call changed nothing redis-server replicas
// are to see.
func (c *Ctx) PropagateNothing() { c.replaced = true }

// TakePropagated returns what Propagate recorded during the call and
// clears it; replaced is false when the command is to go as it came.
func (c *Ctx) TakePropagated() (cmds [][][]byte, replaced bool) {
	cmds, replaced = c.effects, c.replaced
	c.effects, c.replaced = nil, false
	return cmds, replaced
}

// countRead accounts one read of key name for INFO's keyspace hits and
// misses; a miss fires "keymiss" (class m), as Redis's lookupKey does for
// reads. With notifications off a miss costs one atomic load.
func (c *Ctx) countRead(live bool, name []byte) {
	if live {
		c.KeyspaceHits++
		return
	}
	c.KeyspaceMisses++
	c.Notify(NotifyKeyMiss, "keymiss", name)
}

// DB returns the logical database the client selected.
func (c *Ctx) DB() int { return c.Client.DB }

// Client is the per-connection state that commands read and change. The
// server owns it and keeps what only it needs (sockets, buffers) beside it.
type Client struct {
	ID            int64
	DB            int
	Name          string
	LibName       string
	LibVer        string
	Authenticated bool
	User          string
	Addr          string
	LocalAddr     string
	// Unix marks a client of the Unix socket (CLIENT LIST's flag U).
	Unix    bool
	Created time.Time
	NoEvict bool
	NoTouch bool
	// ReplyOff and ReplySkip implement CLIENT REPLY.
	ReplyOff, ReplySkip bool
	// ReadOnlyCluster is set by READONLY: a cluster replica serves this
	// client's reads of its primary's slots instead of redirecting them.
	ReadOnlyCluster bool
	// Asking is set by ASKING for the next command.
	Asking bool
	// Master marks the stream of commands a redis-server primary sends
	// this node: commands obey it where they would refuse a client
	// (Redis's mustObeyClient).
	Master bool
	// Channels and Patterns count the client's pub/sub subscriptions
	// (CLIENT LIST's sub= and psub=); the server keeps them.
	Channels, Patterns int
	// ShardChannels counts the client's sharded subscriptions (CLIENT
	// LIST's ssub=).
	ShardChannels int
	// FedOffset is the offset of the stream fed to redis-server replicas
	// after the client's last command, set by the server while the stream
	// exists: WAIT counts the redis-server replicas that reached it.
	FedOffset int64
}

// Cluster is what the CLUSTER commands ask of the node's cluster
// membership (package cluster implements it). Errors it returns carry
// Redis's reply text (*cluster.Error).
type Cluster interface {
	// View returns a snapshot of the members for CLUSTER NODES, SLOTS,
	// SHARDS and INFO.
	View() cluster.View
	// Routes returns the routing table dispatch reads.
	Routes() *cluster.Routes
	// Meet joins the gossip of the member at host:busPort (CLUSTER MEET);
	// port is its RESP port.
	Meet(host string, port, busPort int) error
	// Forget removes a member from the catalog (CLUSTER FORGET).
	Forget(id string) error
	// Replicate makes this node a replica of the primary id (CLUSTER
	// REPLICATE).
	Replicate(id string) error
	// Failover promotes this replica (CLUSTER FAILOVER); mode is "",
	// "force" or "takeover". It returns once the failover is scheduled.
	Failover(mode string) error
	// Reset forgets every other member (CLUSTER RESET); hard also makes a
	// new node id.
	Reset(hard bool) error
}

// Server is what handlers may ask of the server beyond storage: the
// operations whose state lives with the connections and the process.
type Server interface {
	// Table is the command table, for COMMAND.
	Table() *Table
	// Config returns a copy of the running configuration.
	Config() *config.Config
	// ConfigSet applies directive/value pairs atomically (all or none);
	// local reports a client connected from this host, which
	// enable-protected-configs local lets change dir and dbfilename.
	ConfigSet(pairs [][2]string, local bool) error
	// ConfigRewrite writes the running configuration to its file.
	ConfigRewrite(all bool) error
	// ResetStats zeroes INFO's counters, command stats and the slow log.
	ResetStats()
	// Info renders INFO's sections (empty means the default set).
	Info(c *Client, sections []string) string
	// Hello switches protocol and replies with the server's properties;
	// proto 0 keeps the current protocol.
	Hello(c *Ctx, proto int) error
	// Auth checks a password; user "" means the default user.
	Auth(c *Ctx, user, pass string) error
	// ClientCmd runs a CLIENT subcommand that needs the connection list.
	ClientCmd(c *Ctx) error
	// Multi, Exec, Discard, Watch and Unwatch run transactions.
	Multi(c *Ctx) error
	Exec(c *Ctx) error
	Discard(c *Ctx) error
	Watch(c *Ctx, keys [][]byte) error
	Unwatch(c *Ctx) error
	// Save writes the RDB file (SAVE), or starts writing it in the
	// background (BGSAVE); started is false when a background save is
	// already running.
	Save(background bool) (started bool, err error)
	// OpenRDB loads the RDB file at path into a store of its own, held
	// in memory until close (DEBUG RELOAD).
	OpenRDB(path string) (st *storage.Store, close func(), err error)
	// RewriteAOF compacts the store's log in the background
	// (BGREWRITEAOF); started is false when a save is running.
	RewriteAOF() (started bool, err error)
	// Sleep is DEBUG SLEEP: no other client's command runs for d.
	Sleep(d time.Duration)
	// PauseCron is DEBUG PAUSE-CRON: the server's periodic work (save
	// points, idle clients, output and tracking limits) stops while on.
	PauseCron(on bool)
	// ReplyBufferPeakReset and ReplyBufferResizing are DEBUG
	// REPLYBUFFER PEAK-RESET-TIME (ms, negative: never) and RESIZING.
	ReplyBufferPeakReset(ms int64)
	ReplyBufferResizing(on bool)
	// DisableDenyScripts is DEBUG SET-DISABLE-DENY-SCRIPTS: while on,
	// scripts may call the commands flagged noscript.
	DisableDenyScripts(on bool)
	// Crash ends the process as DEBUG SEGFAULT, PANIC or ASSERT (how:
	// "segfault", "panic", "assert") does, its report in the log; it
	// does not return.
	Crash(how string)
	// Slowlog runs SLOWLOG subcommands.
	Slowlog(c *Ctx) error
	// Latency runs LATENCY subcommands.
	Latency(c *Ctx) error
	// Memory runs MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE.
	Memory(c *Ctx) error
	// Failover runs FAILOVER.
	Failover(c *Ctx) error
	// ACL runs ACL GETUSER, LIST, LOG and SETUSER.
	ACL(c *Ctx) error
	// ReadsEveryKey reports whether the client's user may read every key
	// with the command it runs.
	ReadsEveryKey(c *Ctx) bool
	// Shutdown stops the server after the reply (SHUTDOWN).
	Shutdown(c *Ctx, now bool) error
	ShutdownAbort() error
	// Quit closes the connection after the reply.
	Quit(c *Ctx)
	// Reset returns the connection to its initial state (RESET).
	Reset(c *Ctx)
	// StartTime is when the server started.
	StartTime() time.Time
	// Pubsub runs SUBSCRIBE and friends.
	Pubsub(c *Ctx) error
	// Notify publishes a keyspace event (Ctx.Notify calls it once the
	// event's class is enabled), and gives replicas that ask for events
	// the one named shipped ("": none), the event of the command Redis
	// would send them.
	Notify(c *Ctx, class EventClass, event, shipped string, db int, key []byte)
	// Monitor turns the connection into a MONITOR client.
	Monitor(c *Ctx) error
	// Publish delivers a message and returns the number of receivers.
	Publish(channel, message []byte) int64
	// Cursors is the server's table of SCAN-family cursors.
	Cursors() *CursorTable

	// Block parks a blocking command (BLPOP, BZPOPMIN, ...) whose first try
	// found nothing to serve. It commits the connection's pending writes,
	// sends its earlier replies, and waits until one of keys (in the
	// client's database) is written, then calls try again; try takes the
	// key locks it needs and writes the reply only when it serves. Clients
	// waiting on a key are woken in the order they blocked. Block returns
	// try's result once it serves or fails; served is false with a nil
	// error when the timeout (0: none) passed or the client went away, and
	// the caller then writes the command's timeout reply. Callers never
	// block inside MULTI (c.InMulti).
	Block(c *Ctx, keys [][]byte, timeout time.Duration, try func() (served bool, err error)) (served bool, err error)
	// BlockReader is Block for readers, which take nothing from what they
	// read (XREAD, XREADGROUP): a write of a key is offered to each of its
	// waiters in turn, in the order they blocked, a waiter that has
	// nothing to serve passing it on to the next.
	BlockReader(c *Ctx, keys [][]byte, timeout time.Duration, try func() (served bool, err error)) (served bool, err error)

	// Repl is the node's replication.
	Repl() *replication.Manager
	// ReplicaOf makes the node a replica of host:port, or a primary when
	// host is "" (REPLICAOF NO ONE), and writes the reply.
	ReplicaOf(c *Ctx, host string, port int) error
	// Replconf records what a replica says about itself before PSYNC.
	Replconf(c *Ctx) error
	// Psync hands the connection over to the replication stream.
	Psync(c *Ctx, replid string, offset int64) error
	// WaitBlock parks the connection in WAIT, WAITAOF or WAITALL: it
	// commits the connection's writes, sends its earlier replies and marks
	// it blocked. cancel is closed when the wait must end now with its
	// current result (the client went away, CLIENT UNBLOCK, shutdown); end
	// releases the connection and returns the error to reply instead, if
	// any (CLIENT UNBLOCK ... ERROR).
	WaitBlock(c *Ctx) (cancel <-chan struct{}, end func() error)

	// Scripts is the engine of EVAL scripts and FUNCTION libraries.
	Scripts() *scripting.Engine
	// RunScript runs a script or function (exec writes its reply) so that
	// no other client sees part of it.
	RunScript(c *Ctx, run *scripting.Run, exec func(out *resp.Writer) error) error
	// WriteGate refuses a write here when the node is a read-only replica
	// or lacks min-replicas-to-write: what a script that may write meets
	// before it starts.
	WriteGate() error
	// OutOfMemory reports memory read over maxmemory: a script that
	// declares it may write without allow-oom does not start.
	OutOfMemory() bool
	// Stale reports a replica whose primary is out of reach under
	// replica-serve-stale-data no: a script that declares no flags does
	// not start.
	Stale() bool
	// SaveFunctions writes the function libraries to the store with the
	// connection's pending writes.
	SaveFunctions(c *Ctx)
}
