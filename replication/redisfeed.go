package replication

import (
	"github.com/shoaldb/shoal/internal/obuf"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/storage"
)

// A redis-server that replicates this node cannot read Shoal's log of
// Pebble batches, so it is fed a logical stream: the write commands as
// Redis would replicate them (effects, absolute expiry times), captured
// by the server while each command still holds its key locks, in the
// order the locks impose. Capture costs one atomic load per write while
// no redis-server replicates this node; while the stream exists, every
// write command is also encoded once and copied to the backlog and to
// each replica's buffer (docs/ARCHITECTURE.md has the measurement).
//
// The stream has its own replication id and offsets and keeps a backlog
// of repl-backlog-size bytes (feedlog.go), so a redis-server replica that
// reconnects continues with a partial resync, and WAIT counts the
// replicas' acknowledged offsets. A replica that cannot continue gets an
// RDB first: its feed starts while every key lock is held and the RDB's
// snapshot is taken under the same locks, so each write is in exactly
// one of the two.

// defaultPing is how often the stream carries a PING while a replica
// follows it when Config.PingPeriod is zero (repl-ping-replica-period's
// default).
const defaultPing = 10 * time.Second

// pingSlack lets a once-a-second tick that comes a little early count as
// a full period since the last PING.
const pingSlack = 100 * time.Millisecond

// follower is one redis-server replica's link.
type follower struct {
	addr   string
	nc     net.Conn
	notify chan struct{} // a write was buffered (capacity 1)
	ack    atomic.Int64  // the offset the replica acknowledged
	fack   atomic.Int64  // the offset the replica fsynced (REPLCONF ACK ... FACK)
	ackAt  atomic.Int64  // when it last acknowledged, Unix ns
	online atomic.Bool   // it acknowledged since its sync

	mu       sync.Mutex
	buf      []byte
	inflight int64 // bytes taken from buf and being written
	watch    obuf.Watch
	over     bool // past the output limit: the link is to end
}

// push appends p, a part of the stream, to f's buffer. Once what the
// replica has not read passes l, client-output-buffer-limit's replica
// class, the buffer goes and the link ends; the replica comes back for a
// resync.
func (f *follower) push(p []byte, l obuf.Limit, now time.Time, log *slog.Logger) {
	f.mu.Lock()
	var over int64
	if !f.over {
		f.buf = append(f.buf, p...)
		if used := int64(len(f.buf)) + f.inflight; f.watch.Over(l, used, now) {
			f.over, f.buf, over = true, nil, used
		}
	}
	f.mu.Unlock()
	if over > 0 {
		log.Warn("Client scheduled to be closed ASAP for overcoming of output buffer limits.",
			"replica", f.addr, "class", "replica", "pending", over)
		f.nc.Close() // the writer may be blocked on it
	}
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// FeedActive reports whether the logical stream exists (a redis-server
// replicates this node, or did within repl-backlog-ttl): the server then
// passes its write commands to Feed.
func (m *Manager) FeedActive() bool { return m.feeding.Load() > 0 }

// FeedOffset returns the logical stream's offset: a client's writes fed
// so far are acknowledged by a redis-server replica whose offset reached
// it (WAIT).
func (m *Manager) FeedOffset() int64 { return m.feedOff.Load() }

// Feed appends one command, as the redis-server replicas are to run it in
// database db (db < 0: any), to the stream. The caller holds the locks of
// the keys the command wrote. args are copied.
func (m *Manager) Feed(db int, args ...[]byte) {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	m.feedLocked(db, args...)
}

// feedLocked appends one command to the stream, with a SELECT first when
// db is not the stream's database.
func (m *Manager) feedLocked(db int, args ...[]byte) {
	l := m.flog
	if l == nil {
		return
	}
	p := m.feedBuf[:0]
	if db >= 0 && l.db != db {
		p = appendFrame(p, []byte("SELECT"), itob(int64(db)))
		l.db = db
	}
	p = appendFrame(p, args...)
	l.write(p)
	m.feedOff.Store(l.off)
	if len(m.followers) > 0 {
		lim, now := m.replicaLimit(), time.Now()
		for _, f := range m.followers {
			f.push(p, lim, now, m.log)
		}
	}
	if cap(p) <= 1<<20 {
		m.feedBuf = p
	}
}

// FedCommand is one command of a group fed together.
type FedCommand struct {
	DB   int
	Args [][]byte
}

// FeedMulti appends cmds to the stream as one MULTI ... EXEC (a single
// command alone), with nothing between them.
func (m *Manager) FeedMulti(cmds []FedCommand) {
	if len(cmds) == 0 {
		return
	}
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	if len(cmds) > 1 {
		m.feedLocked(cmds[0].DB, []byte("MULTI"))
	}
	for _, c := range cmds {
		m.feedLocked(c.DB, c.Args...)
	}
	if len(cmds) > 1 {
		m.feedLocked(-1, []byte("EXEC"))
	}
}

// replicaLimit is the output limit of a redis-server replica: the replica
// class's, its hard limit no lower than the backlog, as Redis raises it
// (a partial resync would succeed only for the replica to be dropped).
func (m *Manager) replicaLimit() obuf.Limit {
	cfg := m.cfg.Load()
	l := cfg.ReplicaLimit
	if l.Hard > 0 && l.Hard < cfg.BacklogBytes {
		l.Hard = cfg.BacklogBytes
	}
	return l
}

// feedPing puts a PING in the stream when there was none for a ping
// period, as a Redis primary pings its replicas through the stream. It is
// called once a second, as Redis's replication cron runs.
func (m *Manager) feedPing() {
	period := m.cfg.Load().PingPeriod
	if period <= 0 {
		period = defaultPing
	}
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	if l := m.flog; l != nil && time.Since(l.lastPing) >= period-pingSlack {
		l.lastPing = time.Now()
		m.feedLocked(-1, []byte("PING"))
	}
}

// requestFedAcks puts REPLCONF GETACK * in the stream while replicas
// follow it, as Redis asks its replicas for a WAIT.
func (m *Manager) requestFedAcks() {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	if len(m.followers) > 0 {
		m.feedLocked(-1, []byte("REPLCONF"), []byte("GETACK"), []byte("*"))
	}
}

// fedOnline returns the addresses of the online redis-server replicas.
func (m *Manager) fedOnline() map[string]bool {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	out := map[string]bool{}
	for _, f := range m.followers {
		if f.online.Load() {
			out[f.addr] = true
		}
	}
	return out
}

// RedisReplicas lists the redis-server replicas, for INFO and ROLE:
// offsets in the logical stream, lag in seconds since the last ACK.
func (m *Manager) RedisReplicas() []ReplicaInfo {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	var out []ReplicaInfo
	now := time.Now().UnixNano()
	for _, f := range m.followers {
		host, port, _ := net.SplitHostPort(f.addr)
		p, _ := strconv.Atoi(port)
		state := stateOnline
		if !f.online.Load() {
			state = "send_bulk"
		}
		out = append(out, ReplicaInfo{ID: f.addr, IP: host, Port: p, State: state, Offset: f.ack.Load(),
			FsyncOff: f.fack.Load(), Lag: (now - f.ackAt.Load()) / int64(time.Second), Connected: true})
	}
	return out
}

// countFed counts the online redis-server replicas (of addrs, unless nil)
// whose acknowledged (or, with fsynced, fsynced) offset of the logical
// stream reached off.
func (m *Manager) countFed(off int64, fsynced bool, addrs map[string]bool) int {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	n := 0
	for _, f := range m.followers {
		got := f.ack.Load()
		if fsynced {
			// A replica that never said what it fsynced (Redis before
			// 7.2 does not) has fsynced nothing.
			got = f.fack.Load()
			if got == 0 {
				continue
			}
		}
		if f.online.Load() && got >= off && (addrs == nil || addrs[f.addr]) {
			n++
		}
	}
	return n
}

// resetFeed forgets the logical stream and disconnects its replicas: the
// node became a replica, and its writes no longer pass the server's
// capture. They come back for a full sync.
func (m *Manager) resetFeed() {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	for _, f := range m.followers {
		f.nc.Close()
	}
	if m.flog != nil && m.flog.idle != nil {
		m.flog.idle.Stop()
	}
	m.flog = nil
	m.feeding.Store(0)
}

// ServeRedisReplica runs the link of a redis-server replica on a
// connection the server handed over after PSYNC replid offset: +CONTINUE
// and the stream from offset when the backlog holds it, else
// +FULLRESYNC, the RDB and the stream from the RDB's snapshot on, with a
// PING every ten seconds as Redis sends them; read gets the replica's
// REPLCONF ACKs.
func (m *Manager) ServeRedisReplica(nc net.Conn, read func() ([][]byte, error), h Hello, aux []storage.RDBAux, replid string, offset int64) {
	defer nc.Close()
	cfg := m.config()
	addr := nc.RemoteAddr().String()
	if h.ListenPort > 0 {
		addr = net.JoinHostPort(h.IP, strconv.Itoa(h.ListenPort))
	}
	f := &follower{addr: addr, nc: nc, notify: make(chan struct{}, 1)}
	f.ackAt.Store(time.Now().UnixNano())
	if id, ok := m.continueFeed(f, replid, offset); ok {
		m.PartialOK.Add(1)
		defer m.dropFollower(f)
		m.log.Info("Partial resynchronization request accepted", "replica", addr, "offset", offset, "primary", "logical stream")
		f.online.Store(true)
		f.ack.Store(offset - 1)
		if _, err := (&deadlineWriter{nc, cfg.Timeout}).Write([]byte("+CONTINUE " + id + "\r\n")); err != nil {
			return
		}
		m.feedReplica(f, read, cfg, nil)
		return
	}
	if replid != "?" {
		m.PartialErr.Add(1)
	}
	// NB: every key lock is held from before the feed starts until the
	// RDB's snapshot is taken.
	t := m.store.NewTx()
	t.LockAll()
	m.feedMu.Lock()
	if m.flog == nil {
		m.flog = newFeedLog(storage.NewReplID(), max(cfg.BacklogBytes, 16<<10))
		m.feeding.Store(1)
	}
	l := m.flog
	id, snap := l.id, l.off
	// The replica's master client starts in database 0 after the RDB, so
	// the next command selects, as Redis resets slaveseldb.
	l.db = -1
	m.addFollowerLocked(f)
	m.feedMu.Unlock()
	defer m.dropFollower(f)
	m.FullSyncs.Add(1)
	released := false
	release := func() {
		if !released {
			released = true
			t.Discard()
		}
	}
	defer release()
	_, err := m.writeRDBFramed(nc, h.EOF, func(int64) string {
		release()
		if h.Sync {
			return ""
		}
		return "+FULLRESYNC " + id + " " + strconv.FormatInt(snap, 10) + "\r\n"
	}, aux, h.Filter)
	if err != nil {
		m.log.Warn("full sync to redis-server replica failed", "replica", addr, "err", err)
		return
	}
	m.log.Info("Synchronization with replica succeeded", "replica", addr, "offset", snap, "primary", "logical stream")
	// NB: nothing follows a diskless RDB until the replica's first ACK, as
	// Redis puts a diskless replica online: a replica that reads the RDB
	// up to the EOF mark checks only the end of each read for the mark.
	// One that read the RDB's length is online at once.
	var online chan struct{}
	if h.EOF {
		online = make(chan struct{})
	} else {
		f.online.Store(true)
	}
	m.feedReplica(f, read, cfg, online)
}

// continueFeed adds f to the stream's replicas from offset, with what the
// backlog holds from there already in its buffer, when replid names the
// stream and the backlog still holds offset.
func (m *Manager) continueFeed(f *follower, replid string, offset int64) (string, bool) {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	l := m.flog
	if l == nil || replid != l.id {
		return "", false
	}
	p, ok := l.since(offset)
	if !ok {
		return "", false
	}
	f.buf = p
	m.addFollowerLocked(f)
	return l.id, true
}

func (m *Manager) addFollowerLocked(f *follower) {
	m.followers = append(m.followers, f)
	if m.flog.idle != nil {
		m.flog.idle.Stop()
		m.flog.idle = nil
	}
}

// feedReplica reads the replica's ACKs and writes its stream until the
// link ends. With online not nil, nothing is written before the first
// ACK, which closes it.
func (m *Manager) feedReplica(f *follower, read func() ([][]byte, error), cfg *Config, online chan struct{}) {
	nc := f.nc
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc.SetReadDeadline(time.Now().Add(cfg.Timeout))
			args, err := read()
			if err != nil {
				nc.Close()
				return
			}
			if len(args) >= 3 && eqFold(args[0], "replconf") && eqFold(args[1], "ack") {
				if n, err := strconv.ParseInt(string(args[2]), 10, 64); err == nil {
					f.ack.Store(n)
				}
				if len(args) >= 5 && eqFold(args[3], "fack") {
					if n, err := strconv.ParseInt(string(args[4]), 10, 64); err == nil {
						f.fack.Store(n)
					}
				}
				f.ackAt.Store(time.Now().UnixNano())
				if !f.online.Load() {
					f.online.Store(true)
					close(online)
				}
				m.notifyAck()
			}
		}
	}()
	if online != nil {
		select {
		case <-online:
		case <-done:
			return
		case <-m.stop:
			return
		}
	}
	ping := time.NewTicker(time.Second)
	defer ping.Stop()
	w := &deadlineWriter{nc, cfg.Timeout}
	for {
		select {
		case <-done:
			return
		case <-m.stop:
			return
		case <-ping.C:
			m.feedPing()
		case <-f.notify:
		}
		f.mu.Lock()
		out, over := f.buf, f.over
		f.buf, f.inflight = nil, int64(len(out))
		f.mu.Unlock()
		if over {
			return
		}
		if len(out) > 0 {
			_, err := w.Write(out)
			f.mu.Lock()
			f.inflight = 0
			f.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// dropFollower removes f from the stream's replicas; the stream's backlog
// is forgotten repl-backlog-ttl after the last one left.
func (m *Manager) dropFollower(f *follower) {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	for i, g := range m.followers {
		if g == f {
			m.followers = append(m.followers[:i], m.followers[i+1:]...)
			break
		}
	}
	if l := m.flog; l != nil && len(m.followers) == 0 {
		m.watchIdleLocked(l, time.Now())
	}
	m.notifyAck()
	m.log.Info("Connection with replica lost", "replica", f.addr)
}

// watchIdleLocked checks once a second, as Redis's replication cron does,
// whether the stream l has been without replicas since since for longer
// than repl-backlog-ttl, and then forgets it: a replica that comes back
// syncs in full, and writes are no longer fed. A replica that attaches
// stops the watch (addFollowerLocked).
func (m *Manager) watchIdleLocked(l *feedLog, since time.Time) {
	var idle *time.Timer
	idle = time.AfterFunc(time.Second, func() {
		m.feedMu.Lock()
		defer m.feedMu.Unlock()
		if m.flog != l || l.idle != idle {
			return
		}
		if ttl := m.cfg.Load().BacklogTTL; ttl > 0 && time.Since(since) > ttl {
			m.flog = nil
			m.feeding.Store(0)
			m.log.Info("Replication backlog freed after seconds without connected replicas", "seconds", int64(ttl/time.Second))
			return
		}
		m.watchIdleLocked(l, since)
	})
	l.idle = idle
}
