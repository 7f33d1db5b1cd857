package replication

import (
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
// no redis-server replicates this node; while one does, every write
// command is also encoded and copied to its buffer (docs/ARCHITECTURE.md
// has the measurement).
//
// The redis-server replica gets an RDB first. A feed starts while every
// key lock is held and the RDB's snapshot is taken under the same locks,
// so each write is in exactly one of the two. Every sync with a
// redis-server replica is a full one: the stream has its own replication
// id, which no PSYNC names again.

// feedBufferBytes bounds what a redis-server replica may have unsent,
// as client-output-buffer-limit's replica class does by default; past it
// the replica is disconnected and comes back for a full sync.
const feedBufferBytes = 256 << 20

// follower is one redis-server replica's stream.
type follower struct {
	addr   string
	notify chan struct{} // a write was buffered (capacity 1)
	ack    atomic.Int64  // the offset the replica acknowledged

	mu   sync.Mutex
	buf  []byte
	db   int // the database the stream has selected; -1 before any
	over bool
}

// push appends one command to run in database db (db < 0: any).
func (f *follower) push(db int, args ...[]byte) {
	f.mu.Lock()
	if !f.over {
		if db >= 0 && f.db != db {
			f.buf = appendFrame(f.buf, []byte("SELECT"), itob(int64(db)))
			f.db = db
		}
		f.buf = appendFrame(f.buf, args...)
		if len(f.buf) > feedBufferBytes {
			f.over, f.buf = true, nil
		}
	}
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// FeedActive reports whether a redis-server replicates this node: the
// server then passes its write commands to Feed.
func (m *Manager) FeedActive() bool { return m.feeding.Load() > 0 }

// Feed appends one command, as the redis-server replicas are to run it in
// database db, to every replica's stream. The caller holds the locks of
// the keys the command wrote. args are copied.
func (m *Manager) Feed(db int, args ...[]byte) {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	for _, f := range m.followers {
		f.push(db, args...)
	}
}

// FedCommand is one command of a group fed together.
type FedCommand struct {
	DB   int
	Args [][]byte
}

// FeedMulti appends cmds to every redis-server replica's stream as one
// MULTI ... EXEC (a single command alone), with nothing between them.
func (m *Manager) FeedMulti(cmds []FedCommand) {
	if len(cmds) == 0 {
		return
	}
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	for _, f := range m.followers {
		if len(cmds) > 1 {
			f.push(cmds[0].DB, []byte("MULTI"))
		}
		for _, c := range cmds {
			f.push(c.DB, c.Args...)
		}
		if len(cmds) > 1 {
			f.push(-1, []byte("EXEC"))
		}
	}
}

// RedisReplicas lists the redis-server replicas, for INFO.
func (m *Manager) RedisReplicas() []ReplicaInfo {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	var out []ReplicaInfo
	for _, f := range m.followers {
		host, port, _ := net.SplitHostPort(f.addr)
		p, _ := strconv.Atoi(port)
		out = append(out, ReplicaInfo{ID: f.addr, IP: host, Port: p, State: stateOnline, Offset: f.ack.Load(), Connected: true})
	}
	return out
}

// ServeRedisReplica runs the link of a redis-server replica on a
// connection the server handed over after PSYNC: +FULLRESYNC, the RDB,
// then the fed commands, with a PING every ten seconds as Redis sends
// them; read gets the replica's REPLCONF ACKs.
func (m *Manager) ServeRedisReplica(nc net.Conn, read func() ([][]byte, error), h Hello, aux []storage.RDBAux) {
	defer nc.Close()
	cfg := m.config()
	addr := nc.RemoteAddr().String()
	if h.ListenPort > 0 {
		addr = net.JoinHostPort(h.IP, strconv.Itoa(h.ListenPort))
	}
	f := &follower{addr: addr, notify: make(chan struct{}, 1), db: -1}
	id := storage.NewReplID()
	// NB: every key lock is held from before the feed starts until the
	// RDB's snapshot is taken.
	t := m.store.NewTx()
	t.LockAll()
	m.feedMu.Lock()
	m.followers = append(m.followers, f)
	m.feeding.Add(1)
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
	off, err := m.writeRDBFramed(nc, func(off int64) string {
		release()
		return "+FULLRESYNC " + id + " " + strconv.FormatInt(off, 10) + "\r\n"
	}, aux)
	if err != nil {
		m.log.Warn("full sync to redis-server replica failed", "replica", addr, "err", err)
		return
	}
	m.log.Info("Synchronization with replica succeeded", "replica", addr, "offset", off, "primary", "logical stream")

	// NB: nothing follows the RDB until the replica's first ACK, as Redis
	// puts a diskless replica online: a replica that reads the RDB up to
	// the EOF mark checks only the end of each read for the mark.
	done, online := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		first := true
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
				if first {
					first = false
					close(online)
				}
			}
		}
	}()
	select {
	case <-online:
	case <-done:
		return
	case <-m.stop:
		return
	}
	ping := time.NewTicker(10 * time.Second)
	defer ping.Stop()
	w := &deadlineWriter{nc, cfg.Timeout}
	for {
		select {
		case <-done:
			return
		case <-m.stop:
			return
		case <-ping.C:
			f.push(-1, []byte("PING"))
		case <-f.notify:
		}
		f.mu.Lock()
		out, over := f.buf, f.over
		f.buf = nil
		f.mu.Unlock()
		if over {
			m.log.Warn("redis-server replica fell too far behind the stream; disconnecting it", "replica", addr,
				"limit", feedBufferBytes)
			return
		}
		if len(out) > 0 {
			if _, err := w.Write(out); err != nil {
				return
			}
		}
	}
}

func (m *Manager) dropFollower(f *follower) {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	for i, g := range m.followers {
		if g == f {
			m.followers = append(m.followers[:i], m.followers[i+1:]...)
			m.feeding.Add(-1)
			break
		}
	}
	m.log.Info("Connection with replica lost", "replica", f.addr)
}
