package replication

import (
	"errors"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/internal/failpoint"
	"github.com/shoaldb/shoal/storage"
)

// Link states as INFO reports them.
const (
	stateWaitBgsave = "wait_bgsave"
	stateSendBulk   = "send_bulk"
	stateOnline     = "online"
)

// link is one replica as its primary knows it. It outlives the replica's
// connections: WAITALL counts a disconnected replica for a grace period.
type link struct {
	id   string
	ip   string
	port int

	state   atomic.Pointer[string]
	ack     atomic.Int64
	fack    atomic.Int64
	lastAck atomic.Int64 // Unix ns
	sent    atomic.Int64 // offset streamed so far
	// events is set while the replica asks for keyspace events (REPLCONF
	// ACK ... EVENTS 1): its notify-keyspace-events is on.
	events atomic.Bool
	getack chan struct{}
	// ackAt is the log's end when the last GETACK was asked for: the
	// GETACK goes out behind entries that reach it.
	ackAt  atomic.Int64
	connMu sync.Mutex
	conn   net.Conn
	wmu    sync.Mutex // serialises writes to conn
	gen    int64
	// Guarded by Manager.mu.
	connected      bool
	left           bool // stopped replicating on purpose (REPLCONF LEAVE)
	disconnectedAt time.Time
}

func (l *link) setState(s string) { l.state.Store(&s) }

func (l *link) stateName() string {
	if p := l.state.Load(); p != nil {
		return *p
	}
	return stateWaitBgsave
}

// needs is the oldest offset the replica may still ask for.
func (l *link) needs() int64 {
	if a := l.ack.Load(); a > 0 {
		return a
	}
	return l.sent.Load()
}

func (l *link) info() ReplicaInfo {
	lag := int64(0)
	if t := l.lastAck.Load(); t > 0 {
		lag = int64(time.Since(time.Unix(0, t)) / time.Second)
	}
	return ReplicaInfo{ID: l.id, IP: l.ip, Port: l.port, State: l.stateName(), Offset: l.ack.Load(),
		FsyncOff: l.fack.Load(), Lag: lag, Connected: l.connected}
}

func (l *link) close() {
	l.connMu.Lock()
	if l.conn != nil {
		l.conn.Close()
	}
	l.connMu.Unlock()
}

// write sends one frame with the link's write deadline.
func (l *link) write(b []byte, timeout time.Duration) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := l.conn.Write(b)
	return err
}

// Hello is what a replica said about itself before PSYNC.
type Hello struct {
	ID         string // its persistent node id (REPLCONF id)
	IP         string // REPLCONF ip-address, else its connection's
	ListenPort int    // REPLCONF listening-port
	// RDBOnly asks for the RDB alone (REPLCONF rdb-only 1): redis-cli --rdb.
	RDBOnly bool
	// EOF says the replica reads an RDB framed by an end mark (REPLCONF
	// capa eof); else it gets the RDB's length first.
	EOF bool
	// Sync is the old SYNC: no +FULLRESYNC line before the RDB.
	Sync bool
	// Filter is what REPLCONF rdb-filter-only leaves out of the RDB:
	// redis-cli --functions-rdb keeps the functions alone.
	Filter storage.RDBFilter
}

func (m *Manager) sortedLinksLocked() []*link {
	out := make([]*link, 0, len(m.links))
	for _, l := range m.links {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ip != out[j].ip {
			return out[i].ip < out[j].ip
		}
		if out[i].port != out[j].port {
			return out[i].port < out[j].port
		}
		return out[i].id < out[j].id
	})
	return out
}

// knownLocked is the set WAITALL expects: replicas connected now, and those
// that disconnected less than the grace period ago without leaving.
func (m *Manager) knownLocked(now time.Time) []*link {
	grace := m.config().WaitAllGrace
	var out []*link
	for _, l := range m.sortedLinksLocked() {
		if l.left {
			continue
		}
		if l.connected || now.Sub(l.disconnectedAt) < grace {
			out = append(out, l)
		}
	}
	return out
}

// Forget removes a replica by node id or "ip:port" (REPLICA FORGET). A
// connected replica is disconnected; when it returns it is a new replica.
func (m *Manager) Forget(who string) bool {
	m.mu.Lock()
	var found *link
	for id, l := range m.links {
		if id == who || hostPort(l.ip, l.port) == who {
			found = l
			delete(m.links, id)
			break
		}
	}
	m.mu.Unlock()
	if found == nil {
		return false
	}
	found.close()
	m.notifyAck() // waiters re-evaluate without it
	return true
}

// GoodReplicas counts replicas online that acknowledged within maxLag: the
// min-replicas-to-write check.
func (m *Manager) GoodReplicas(maxLag time.Duration) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	now := time.Now().UnixNano()
	for _, l := range m.links {
		if l.connected && l.stateName() == stateOnline && time.Duration(now-l.lastAck.Load()) <= maxLag {
			n++
		}
	}
	return n
}

// WriteAllowed reports whether min-replicas-to-write lets a write through.
func (m *Manager) WriteAllowed() bool {
	cfg := m.config()
	if cfg.MinReplicasToWrite <= 0 {
		return true
	}
	return m.GoodReplicas(cfg.MinReplicasMaxLag+time.Second) >= cfg.MinReplicasToWrite
}

// ErrFullSyncDeferred answers a replica's PSYNC that needs a full sync
// while full syncs are deferred (maintenance): the replica retries, as it
// does after any refused PSYNC.
var ErrFullSyncDeferred = errors.New("MAINTENANCE Server is under maintenance. Please retry in a few minutes")

// DeferFullSyncs defers full syncs not yet started while on: a PSYNC that
// cannot continue partially is refused with ErrFullSyncDeferred, and
// partial resyncs go on. It returns the previous setting.
func (m *Manager) DeferFullSyncs(on bool) (was bool) {
	// NB: under mu, as attach checks it: a full sync is either attached,
	// and listed by FullSyncsInProgress, before the switch, or refused.
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deferFull.Swap(on)
}

// FullSyncsDeferred reports whether full syncs are deferred.
func (m *Manager) FullSyncsDeferred() bool { return m.deferFull.Load() }

// FullSyncsInProgress lists the replicas (node ids) this primary is
// sending a full sync to now, sorted.
func (m *Manager) FullSyncsInProgress() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, l := range m.links {
		if st := l.stateName(); l.connected && (st == stateWaitBgsave || st == stateSendBulk) {
			out = append(out, l.id)
		}
	}
	sort.Strings(out)
	return out
}

// ServeReplica runs a replica's link on a connection the server handed
// over after PSYNC: it answers +FULLRESYNC or +CONTINUE, streams the
// snapshot and the log, and reads the replica's acknowledgements with read.
// It returns when the link ends.
func (m *Manager) ServeReplica(nc net.Conn, read func() ([][]byte, error), h Hello, replid string, offset int64) {
	defer nc.Close()
	if err := m.store.EnableLog(); err != nil {
		m.log.Error("cannot start the replication log", "err", err)
		return
	}
	if h.ID == "" {
		h.ID = "addr:" + nc.RemoteAddr().String()
	}
	cfg := m.config()
	id, id2, off2 := m.store.ReplIDs()
	// PSYNC names the next byte the replica wants: it holds up to offset-1.
	have := offset - 1
	partial := (replid == id || (id2 != "" && replid == id2 && have <= off2)) &&
		have >= m.store.LogStart() && have <= m.store.ReplOffset()
	l, gen := m.attach(nc, h, !partial)
	if l == nil {
		// The replica retries; partial resyncs go on meanwhile.
		m.log.Info("full sync deferred until the end of maintenance", "replica", hostPort(h.IP, h.ListenPort))
		nc.SetWriteDeadline(time.Now().Add(cfg.Timeout))
		nc.Write([]byte("-" + ErrFullSyncDeferred.Error() + "\r\n"))
		return
	}
	defer m.detach(l, gen)

	var from int64
	if partial {
		m.PartialOK.Add(1)
		l.setState(stateOnline)
		if err := l.write([]byte("+CONTINUE "+id+"\r\n"), cfg.Timeout); err != nil {
			return
		}
		from = have
		m.log.Info("Partial resynchronization request accepted", "replica", hostPort(h.IP, h.ListenPort), "offset", have)
	} else {
		if replid != "?" {
			m.PartialErr.Add(1)
		}
		m.FullSyncs.Add(1)
		var err error
		if from, err = m.fullSync(l, cfg); err != nil {
			m.log.Warn("full sync to replica failed", "replica", hostPort(h.IP, h.ListenPort), "err", err)
			return
		}
		l.setState(stateOnline)
	}
	l.sent.Store(from)

	done := make(chan struct{})
	go m.readAcks(l, read, done)
	m.stream(l, from, done)
}

// attach registers the replica's connection; a replica that needs a full
// sync while full syncs are deferred gets a nil link.
func (m *Manager) attach(nc net.Conn, h Hello, full bool) (*link, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if full && m.deferFull.Load() {
		return nil, 0
	}
	l := m.links[h.ID]
	if l == nil {
		l = &link{id: h.ID, getack: make(chan struct{}, 1)}
		m.links[h.ID] = l
	} else {
		l.close() // an older connection of the same replica
	}
	l.ip, l.port = h.IP, h.ListenPort
	l.connMu.Lock()
	l.conn = nc
	l.gen++
	l.connMu.Unlock()
	l.connected, l.left = true, false
	l.setState(stateWaitBgsave)
	return l, l.gen
}

func (m *Manager) detach(l *link, gen int64) {
	m.mu.Lock()
	l.connMu.Lock()
	mine := l.gen == gen // not replaced by a newer connection
	l.connMu.Unlock()
	if mine && m.links[l.id] == l {
		l.connected = false
		l.disconnectedAt = time.Now()
	}
	m.updateEventsLocked()
	m.mu.Unlock()
	m.notifyAck()
	m.log.Info("Connection with replica lost", "replica", hostPort(l.ip, l.port))
}

// fullSync sends +FULLRESYNC and a snapshot; it returns the offset the
// snapshot covers. The snapshot is a Pebble snapshot read while writes go
// on; what they add is in the log after that offset.
func (m *Manager) fullSync(l *link, cfg *Config) (int64, error) {
	id, _, _ := m.store.ReplIDs()
	// The offset is known only once the snapshot is taken, so the
	// +FULLRESYNC line is written by the first emit (or after, when empty).
	headerSent := false
	var off int64
	var buf []byte
	sendHeader := func(o int64) error {
		headerSent = true
		return l.write([]byte("+FULLRESYNC "+id+" "+strconv.FormatInt(o, 10)+"\r\n"), cfg.Timeout)
	}
	l.setState(stateSendBulk)
	// NB: "replication/full-sync=pause" holds a full sync here until the
	// point is switched off, so tests can see one in progress.
	for failpoint.Eval("replication/full-sync") == "pause" {
		select {
		case <-m.stop:
			return 0, errors.New("replication: closed")
		case <-time.After(10 * time.Millisecond):
		}
	}
	snapOff := int64(-1)
	_, err := m.store.Snapshot(1<<20, func(o int64) error {
		snapOff = o
		// NB: the log after o must outlive the transfer: the trim keeps
		// what a connected replica needs, counted from sent.
		l.sent.Store(o)
		return sendHeader(o)
	}, func(chunk []byte) error {
		buf = appendFrame(buf[:0], []byte("SNAP"), chunk)
		return l.write(buf, cfg.Timeout)
	})
	if err != nil {
		return 0, err
	}
	off = snapOff
	if !headerSent {
		return 0, errors.New("replication: snapshot produced no offset")
	}
	if err := l.write(appendFrame(nil, []byte("SNAPEND"), itob(off)), cfg.Timeout); err != nil {
		return 0, err
	}
	return off, nil
}

// stream sends log entries after from until the link ends. A replica that
// falls behind the retained log is disconnected; it comes back for a full
// sync.
func (m *Manager) stream(l *link, from int64, done <-chan struct{}) {
	cfg := m.config()
	ping := time.NewTicker(time.Second)
	defer ping.Stop()
	var buf []byte
	sent := from
	for {
		changed := m.store.LogChanged()
		entries, err := m.store.ReadLog(sent, 1<<20)
		if errors.Is(err, storage.ErrLogTrimmed) {
			m.log.Warn("replica fell behind the replication log; it will resync", "replica", hostPort(l.ip, l.port))
			return
		}
		if err != nil {
			m.log.Error("reading the replication log failed", "err", err)
			return
		}
		if len(entries) > 0 {
			buf = buf[:0]
			for _, e := range entries {
				buf = appendFrame(buf, []byte("BATCH"), itob(e.End), e.Repr)
				sent = e.End
			}
			// NB: under a steady load there is always more to send, so a
			// WAIT's GETACK goes out behind these entries here, not only
			// when the log is drained, once they reach the write it waits
			// for; the replica acknowledges them all.
			select {
			case <-l.getack:
				l.getAckBehind(&buf, sent)
			default:
			}
			if err := l.write(buf, cfg.Timeout); err != nil {
				return
			}
			l.sent.Store(sent)
			continue
		}
		select {
		case <-done:
			return
		case <-m.stop:
			return
		case <-changed:
		case <-l.getack:
			buf = buf[:0]
			if !l.getAckBehind(&buf, sent) {
				continue // entries logged since the read go first
			}
			if err := l.write(buf, cfg.Timeout); err != nil {
				return
			}
		case <-ping.C:
			if err := l.write(appendFrame(nil, []byte("PING")), cfg.Timeout); err != nil {
				return
			}
		}
	}
}

// getAckBehind, called with the token of l.getack taken, appends REPLCONF
// GETACK * to buf if the entries up to sent reach the log's end as the
// last RequestAcks saw it; if not, it gives the token back for a later
// frame to carry, and reports false.
//
// NB: the token is taken before ackAt is read. RequestAcks stores ackAt
// before it gives the token, so a token taken is never older than the
// ackAt read; read the other way round, a WAIT arriving between the two
// had its token spent on a GETACK ahead of its write (its own give found
// the channel full), and waited for the replica's next periodic ACK.
func (l *link) getAckBehind(buf *[]byte, sent int64) bool {
	if sent < l.ackAt.Load() {
		select {
		case l.getack <- struct{}{}:
		default:
		}
		return false
	}
	*buf = appendFrame(*buf, []byte("REPLCONF"), []byte("GETACK"), []byte("*"))
	return true
}

// updateEventsLocked tells the events hook whether a connected replica
// asks for keyspace events, which the primary's commits then carry.
func (m *Manager) updateEventsLocked() {
	want := false
	for _, l := range m.links {
		if l.connected && l.events.Load() {
			want = true
			break
		}
	}
	if m.shipEvents.Swap(want) != want {
		if fn := m.onEvents.Load(); fn != nil {
			(*fn)(want)
		}
	}
}

// readAcks reads REPLCONF ACK and LEAVE from the replica.
func (m *Manager) readAcks(l *link, read func() ([][]byte, error), done chan struct{}) {
	defer close(done)
	for {
		l.connMu.Lock()
		c := l.conn
		l.connMu.Unlock()
		c.SetReadDeadline(time.Now().Add(m.config().Timeout))
		args, err := read()
		if err != nil {
			l.close()
			return
		}
		if len(args) < 2 || !eqFold(args[0], "replconf") {
			continue
		}
		switch {
		case eqFold(args[1], "ack") && len(args) >= 3:
			if n, err := strconv.ParseInt(string(args[2]), 10, 64); err == nil {
				l.ack.Store(n)
			}
			if len(args) >= 5 && eqFold(args[3], "fack") {
				if n, err := strconv.ParseInt(string(args[4]), 10, 64); err == nil {
					l.fack.Store(n)
				}
			}
			if want := len(args) >= 7 && eqFold(args[5], "events") && string(args[6]) == "1"; want != l.events.Load() {
				l.events.Store(want)
				m.mu.Lock()
				m.updateEventsLocked()
				m.mu.Unlock()
			}
			l.lastAck.Store(time.Now().UnixNano())
			m.notifyAck()
		case eqFold(args[1], "leave"):
			m.mu.Lock()
			l.left = true
			m.mu.Unlock()
			m.notifyAck()
		}
	}
}

// RequestAcks asks every connected replica to acknowledge now.
func (m *Manager) RequestAcks() {
	m.requestFedAcks()
	end := m.store.ReplOffset()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.links {
		if l.connected {
			if l.ackAt.Load() < end {
				l.ackAt.Store(end)
			}
			select {
			case l.getack <- struct{}{}:
			default:
			}
		}
	}
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
