package replication

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/internal/failpoint"
	"github.com/shoaldb/shoal/internal/netfault"
	"github.com/shoaldb/shoal/storage"
)

// upstream is a replica's link to its primary: it connects, handshakes,
// syncs and applies the stream, reconnecting with a delay until halted.
type upstream struct {
	m    *Manager
	host string
	port int

	state   atomic.Pointer[string]
	linkUp  atomic.Bool
	syncing atomic.Bool
	lastIO  atomic.Int64 // Unix ns of the last byte from the primary
	// readOff is the end of the last batch read from a Shoal primary,
	// which may be ahead of the store's offset while applying is held.
	readOff atomic.Int64

	// A redis-server primary (redisupstream.go): redis is set once the
	// handshake found one, redisID is its replication id, redisRead the
	// offset read and redisOff the offset applied and committed; apply
	// runs the stream (used by the session goroutine only).
	redis     atomic.Bool
	redisID   atomic.Pointer[string]
	redisRead atomic.Int64
	redisOff  atomic.Int64
	apply     Applier

	// failover, set on a FAILOVER's link (failover.go), gets the outcome
	// of its first PSYNC; resume is the logical stream's position then,
	// which a redis-server target continues.
	failover chan error
	resume   *storage.UpstreamMark

	mu    sync.Mutex
	conn  net.Conn
	link  MasterLink // conn as a client (masterlink.go)
	stop  chan struct{}
	leave bool
	done  chan struct{}
}

func newUpstream(m *Manager, host string, port int) *upstream {
	u := &upstream{m: m, host: host, port: port, stop: make(chan struct{}), done: make(chan struct{})}
	u.setState("connect")
	return u
}

func (u *upstream) setState(s string) { u.state.Store(&s) }

func (u *upstream) info() UpstreamInfo {
	var last time.Duration
	if t := u.lastIO.Load(); t > 0 {
		last = time.Since(time.Unix(0, t))
	}
	info := UpstreamInfo{Host: u.host, Port: u.port, State: *u.state.Load(), LinkUp: u.linkUp.Load(),
		LastIO: last, SyncInProgress: u.syncing.Load(), ReadOffset: u.m.store.ReplOffset()}
	info.Applied = info.ReadOffset
	if r := u.readOff.Load(); r > info.ReadOffset {
		info.ReadOffset = r
	}
	if u.redis.Load() {
		info.ReadOffset, info.Applied = u.redisRead.Load(), u.redisOff.Load()
		if id := u.redisID.Load(); id != nil {
			info.RedisReplID = *id
		}
	}
	return info
}

// halt stops the link; leave tells the primary the replica goes on purpose
// (it leaves WAITALL's expected set).
func (u *upstream) halt(leave bool) {
	u.mu.Lock()
	select {
	case <-u.stop:
	default:
		close(u.stop)
	}
	u.leave = leave
	c := u.conn
	u.mu.Unlock()
	if c != nil {
		if leave && !u.redis.Load() { // a redis-server knows no LEAVE
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write(appendFrame(nil, []byte("REPLCONF"), []byte("LEAVE")))
		}
		c.Close()
	}
	<-u.done
}

func (u *upstream) stopped() bool {
	select {
	case <-u.stop:
		return true
	default:
		return false
	}
}

func (u *upstream) run() {
	defer close(u.done)
	// Retries start fast (a new primary may take a moment to come up
	// after a failover) and slow down to once a second.
	delay := 50 * time.Millisecond
	for !u.stopped() {
		start := time.Now()
		err := u.session()
		if time.Since(start) > 5*time.Second {
			delay = 50 * time.Millisecond // the link was up for a while
		}
		u.linkUp.Store(false)
		u.syncing.Store(false)
		if u.stopped() {
			return
		}
		u.setState("connect")
		u.m.log.Warn("replication link to primary lost; retrying", "primary", hostPort(u.host, u.port), "err", err)
		select {
		case <-u.stop:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// countingConn counts the bytes read and written through it.
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// session is one connection to the primary, from dial to error.
func (u *upstream) session() error {
	cfg := u.m.config()
	u.setState("connecting")
	nc, err := netfault.DialFrom("tcp", hostPort(u.host, u.port), cfg.SourceAddr, cfg.Timeout)
	if err != nil {
		return err
	}
	if cfg.TLS != nil {
		tc := tls.Client(nc, cfg.TLS)
		tc.SetDeadline(time.Now().Add(cfg.Timeout))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return fmt.Errorf("TLS handshake: %w", err)
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	var c net.Conn = &countingConn{Conn: nc, in: &u.m.ReplInputBytes, out: &u.m.ReplOutputBytes}
	u.mu.Lock()
	if u.stopped() {
		u.mu.Unlock()
		c.Close()
		return nil
	}
	u.conn = c
	u.link = u.m.newMasterLink(nc)
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.conn = nil
		u.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 1<<16)
	var wmu sync.Mutex
	send := func(args ...string) error {
		b := make([][]byte, len(args))
		for i, a := range args {
			b[i] = []byte(a)
		}
		wmu.Lock()
		defer wmu.Unlock()
		c.SetWriteDeadline(time.Now().Add(cfg.Timeout))
		_, err := c.Write(appendFrame(nil, b...))
		return err
	}
	call := func(args ...string) (string, error) {
		if err := send(args...); err != nil {
			return "", err
		}
		c.SetReadDeadline(time.Now().Add(cfg.Timeout))
		return readReply(r)
	}
	// Handshake, as a Redis replica does it.
	if _, err := call("PING"); err != nil {
		if re, ok := err.(*ReplyError); !ok || !strings.HasPrefix(re.Msg, "NOAUTH") {
			return fmt.Errorf("PING: %w", err)
		}
	}
	if cfg.MasterAuth != "" {
		auth := []string{"AUTH", cfg.MasterAuth}
		if cfg.MasterUser != "" {
			auth = []string{"AUTH", cfg.MasterUser, cfg.MasterAuth}
		}
		if _, err := call(auth...); err != nil {
			return fmt.Errorf("Unable to AUTH to MASTER: %w", err) // Redis's words
		}
	}
	if _, err := call("REPLCONF", "listening-port", strconv.Itoa(cfg.ListenPort)); err != nil {
		return fmt.Errorf("REPLCONF listening-port: %w", err)
	}
	if cfg.AnnounceIP != "" {
		if _, err := call("REPLCONF", "ip-address", cfg.AnnounceIP); err != nil {
			return fmt.Errorf("REPLCONF ip-address: %w", err)
		}
	}
	if _, err := call("REPLCONF", "id", u.m.store.NodeID()); err != nil {
		var re *ReplyError
		if errors.As(err, &re) && strings.Contains(re.Msg, "Unrecognized REPLCONF option") {
			// Not a Shoal primary: Redis's side of the protocol from here.
			return u.redisSession(c, r, cfg, send, call)
		}
		return fmt.Errorf("REPLCONF id: %w", err)
	}
	call("REPLCONF", "capa", "eof", "capa", "psync2")
	if e := u.m.writerEpoch(); e > 0 {
		// A primary older than the newest writer epoch this node saw is
		// stale: refuse its stream (it refuses us first).
		if _, err := call("REPLCONF", "writer-epoch", strconv.FormatUint(e, 10)); err != nil {
			return fmt.Errorf("REPLCONF writer-epoch: %w", err)
		}
	}

	id, _, _ := u.m.store.ReplIDs()
	off := u.m.store.ReplOffset()
	if !u.m.store.LogEnabled() {
		id, off = "?", -2 // never synced: PSYNC ? -1
	}
	full, newID, snapOff, err := u.psync(call, id, off+1)
	if err != nil {
		return err
	}
	if full {
		if err := u.fullSync(c, r, cfg, newID, snapOff); err != nil {
			return err
		}
	} else {
		if newID != "" {
			if err := u.m.store.SetReplID(newID); err != nil {
				return err
			}
		}
		u.m.log.Info("Successful partial resynchronization with master", "offset", off)
	}
	u.setState("connected")
	u.linkUp.Store(true)
	u.m.log.Info("MASTER <-> REPLICA sync: Finished with success")

	ack := func() error {
		events := "0"
		if fn := u.m.wantEvents.Load(); fn != nil && (*fn)() {
			events = "1"
		}
		return send("REPLCONF", "ACK", strconv.FormatInt(u.m.store.ReplOffset(), 10),
			"FACK", strconv.FormatInt(u.m.store.SyncedOffset(), 10), "EVENTS", events)
	}
	ack()
	defer ackEverySecond(ack)()
	u.readOff.Store(u.m.store.ReplOffset())
	defer u.readOff.Store(0)
	frames := readFrames(c, r, cfg.Timeout, &u.lastIO, &u.readOff)
	defer frames.close()
	// Entries that arrived together apply as one commit: the group grows
	// while more of the stream is already read, up to groupBytes.
	var group []storage.LogEntry
	size := 0
	apply := func() error {
		if len(group) == 0 {
			return nil
		}
		if hold := u.m.hold.Load(); hold != nil && !(*hold)(frames.ended, nil) {
			return frames.err()
		}
		err := u.m.store.ApplyReplicatedGroup(group, u.m.store.Fsync() == storage.FsyncAlways)
		clear(group)
		group, size = group[:0], 0
		return err
	}
	for {
		args, err := frames.next()
		if err != nil {
			return err
		}
		if len(args) == 0 {
			continue
		}
		switch string(args[0]) {
		case "BATCH":
			end, _ := strconv.ParseInt(string(args[1]), 10, 64) // readFrames checked it
			group = append(group, storage.LogEntry{End: end, Repr: args[2]})
			if size += len(args[2]); frames.pending() && size < groupBytes {
				continue
			}
		case "PING":
		case "REPLCONF":
			if len(args) >= 2 && eqFold(args[1], "getack") {
				if err := apply(); err != nil {
					return err
				}
				if err := ack(); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%w: unexpected %q in the stream", errProtocol, truncate(string(args[0])))
		}
		if err := apply(); err != nil {
			return err
		}
	}
}

// groupBytes bounds the entries a replica applies as one commit.
const groupBytes = 1 << 20

// fullSync replaces this node's data with the primary's snapshot.
func (u *upstream) fullSync(c net.Conn, r *bufio.Reader, cfg *Config, id string, off int64) error {
	u.setState("sync")
	u.syncing.Store(true)
	defer u.syncing.Store(false)
	u.m.log.Info("Full resync from master", "replid", id, "offset", off)
	// Replicas of this node follow a history that is about to change.
	u.m.disconnectReplicas()
	if err := u.m.store.BeginFullSync(); err != nil {
		return err
	}
	for {
		c.SetReadDeadline(time.Now().Add(cfg.Timeout))
		args, err := readFrame(r)
		if err != nil {
			return err
		}
		u.lastIO.Store(time.Now().UnixNano())
		if len(args) == 0 {
			continue
		}
		switch string(args[0]) {
		case "SNAP":
			if len(args) != 2 {
				return fmt.Errorf("%w: SNAP with %d args", errProtocol, len(args))
			}
			if err := u.m.store.ApplySnapshotChunk(args[1]); err != nil {
				return err
			}
		case "SNAPEND":
			return u.m.store.EndFullSync(id, off)
		case "PING":
		default:
			return fmt.Errorf("%w: unexpected %q during full sync", errProtocol, truncate(string(args[0])))
		}
	}
}

// disconnectReplicas drops this node's own replicas (their history is
// about to be replaced); they reconnect and resync.
func (m *Manager) disconnectReplicas() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.links {
		l.close()
	}
}

// psync sends PSYNC id off, as a Redis replica does to a Shoal primary
// and to a redis-server alike, and reads the answer: full is set for
// +FULLRESYNC <id> <offset>, with the id and the offset the snapshot
// covers; otherwise it was +CONTINUE, and newID is the primary's new
// replication id, empty when it names none.
func (u *upstream) psync(call func(args ...string) (string, error), id string, off int64) (full bool, newID string, snapOff int64, err error) {
	reply, err := call(append([]string{"PSYNC", id, strconv.FormatInt(off, 10)}, u.failoverArgs()...)...)
	if err != nil {
		u.failoverDone(err)
		return false, "", 0, fmt.Errorf("PSYNC: %w", err)
	}
	defer func() { u.failoverDone(err) }()
	u.lastIO.Store(time.Now().UnixNano())
	f := strings.Fields(reply)
	switch {
	case len(f) == 3 && f[0] == "FULLRESYNC":
		snapOff, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return false, "", 0, fmt.Errorf("%w: %q", errProtocol, reply)
		}
		return true, f[1], snapOff, nil
	case len(f) == 2 && f[0] == "CONTINUE":
		return false, f[1], 0, nil
	case len(f) == 1 && f[0] == "CONTINUE":
		return false, "", 0, nil
	}
	return false, "", 0, fmt.Errorf("%w: PSYNC reply %q", errProtocol, reply)
}

// ackEverySecond calls ack each second, as Redis's replicationCron sends
// REPLCONF ACK, until the returned stop is called or ack fails. The
// failpoint replication/periodic-ack=drop leaves the acknowledgements out,
// so that only GETACKs are answered.
func ackEverySecond(ack func() error) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if failpoint.Eval("replication/periodic-ack") == "drop" {
					continue
				}
				if ack() != nil {
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
