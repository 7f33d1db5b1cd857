package replication

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/storage"
)

// A Shoal node replicating a redis-server speaks Redis's side of the
// protocol (replication.c): the handshake without Shoal's own REPLCONF
// options, PSYNC with the primary's replication id and offset, an RDB in
// either framing ($<len> from disk, $EOF:<mark> diskless), then Redis's
// command stream, run through the command table by an Applier as Redis's
// master client runs it. Offsets count the stream's bytes, as Redis's do;
// REPLCONF ACK reports them, so WAIT on the primary counts this node.

// Applier runs a Redis primary's command stream on this node. It is used
// by one goroutine at a time.
type Applier interface {
	// Apply runs one command as the primary's client: no reply, writes
	// allowed on a replica. The error is the command's error reply, which
	// the applier has logged and counted (a command handed to another
	// goroutine returns nil, its error logged there).
	Apply(args [][]byte) error
	// InMulti reports whether a MULTI is open.
	InMulti() bool
	// DB returns the selected database.
	DB() int
	// Commit commits the applied writes with mark in the same batch,
	// perhaps in the background while the next commands apply: the
	// commits before it have ended when it returns, and done is called
	// once this one has. The error is that of a commit before it, or of
	// this one; after it, nothing commits again until Reset.
	Commit(mark storage.UpstreamMark, done func()) error
	// Flush waits for the commit in the background, if any, and returns
	// the error of a failed commit since the last Reset.
	Flush() error
	// Reset waits for the commit in the background, discards an open
	// MULTI and uncommitted writes, and selects db.
	Reset(db int)
	// PendingBytes is the size of the uncommitted writes.
	PendingBytes() int
}

// applyCommitBytes commits the applied stream at least this often: a
// smaller batch inserts faster than a large one.
const applyCommitBytes = 1 << 20

// SetApplier installs the source of the Applier that runs a Redis
// primary's stream; a node without one replicates Shoal primaries only.
func (m *Manager) SetApplier(fn func() Applier) { m.applier.Store(&fn) }

// errRedisPrimary ends the Shoal handshake with a primary that refused
// Shoal's REPLCONF options: it is a redis-server.
var errRedisPrimary = errors.New("replication: the primary is a redis-server")

// maxStreamArgs bounds the arguments of one command of Redis's stream
// (and maxFrameBulk the size of one).
const maxStreamArgs = 1 << 20

// argSlab hands out the arguments of the stream's commands from larger
// allocations, so a command costs no allocation of its own. What it hands
// out is never reused: an argument lives as long as its holder keeps it.
type argSlab struct {
	bytes []byte
	args  [][]byte
}

// argSlabBytes is the size of each allocation of argSlab's bytes; an
// argument of more than a quarter of it is allocated alone.
const argSlabBytes = 64 << 10

// bulk returns a buffer of n bytes.
func (s *argSlab) bulk(n int) []byte {
	if n > argSlabBytes/4 {
		return make([]byte, n)
	}
	if len(s.bytes) < n {
		s.bytes = make([]byte, argSlabBytes)
	}
	b := s.bytes[:n:n]
	s.bytes = s.bytes[n:]
	return b
}

// array returns a slice of n arguments.
func (s *argSlab) array(n int) [][]byte {
	if n > 64 {
		return make([][]byte, n)
	}
	if len(s.args) < n {
		s.args = make([][]byte, 1024)
	}
	a := s.args[:n:n]
	s.args = s.args[n:]
	return a
}

// readCommand reads one command of Redis's stream, a RESP array of bulk
// strings, and returns it with the number of bytes it took, its arguments
// from slab. A bare newline (a keepalive) reads as no args.
func readCommand(r *bufio.Reader, slab *argSlab) ([][]byte, int64, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, 0, err
	}
	n := int64(len(line) + 2)
	if line == "" {
		return nil, n, nil
	}
	if line[0] != '*' {
		return nil, n, fmt.Errorf("%w: expected a command, got %q", errProtocol, truncate(line))
	}
	count, err := strconv.Atoi(line[1:])
	if err != nil || count < 0 || count > maxStreamArgs {
		return nil, n, fmt.Errorf("%w: array %q", errProtocol, line)
	}
	args := slab.array(count)
	for i := range args {
		h, err := readLine(r)
		if err != nil {
			return nil, n, err
		}
		n += int64(len(h) + 2)
		if h == "" || h[0] != '$' {
			return nil, n, fmt.Errorf("%w: bulk header %q", errProtocol, truncate(h))
		}
		size, err := strconv.Atoi(h[1:])
		if err != nil || size < 0 || size > maxFrameBulk {
			return nil, n, fmt.Errorf("%w: bulk length %q", errProtocol, h)
		}
		buf := slab.bulk(size + 2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, n, err
		}
		n += int64(size + 2)
		args[i] = buf[:size]
	}
	return args, n, nil
}

// redisSession continues a session whose primary turned out to be a
// redis-server, after PING, AUTH and REPLCONF listening-port.
func (u *upstream) redisSession(c net.Conn, r *bufio.Reader, cfg *Config,
	send func(args ...string) error, call func(args ...string) (string, error)) error {
	fn := u.m.applier.Load()
	if fn == nil {
		return errors.New("replication: this node cannot replicate a redis-server")
	}
	if u.apply == nil {
		u.apply = (*fn)()
	}
	u.redis.Store(true)
	if _, err := call("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return fmt.Errorf("REPLCONF capa: %w", err)
	}
	mark, ok, err := u.m.store.UpstreamMark()
	if err != nil {
		return err
	}
	if u.resume != nil {
		// NB: a failover's target continues the stream this node fed it.
		mark, ok = *u.resume, true
		u.resume = nil
	}
	id, off := "?", int64(-1)
	if ok {
		id, off = mark.ID, mark.Offset+1
	}
	full, newID, snapOff, err := u.psync(call, id, off)
	if err != nil {
		return err
	}
	if full {
		mark = storage.UpstreamMark{ID: newID, Offset: snapOff}
		if err := u.redisFullSync(c, r, cfg, mark); err != nil {
			return err
		}
		u.apply.Reset(0)
	} else {
		if newID != "" {
			mark.ID = newID
		}
		u.apply.Reset(mark.DB)
		u.m.PartialOK.Add(1)
		u.m.log.Info("Successful partial resynchronization with master", "offset", mark.Offset)
	}
	u.redisOff.Store(mark.Offset)
	u.redisRead.Store(mark.Offset)
	u.redisID.Store(&mark.ID)
	u.setState("connected")
	u.linkUp.Store(true)
	u.m.log.Info("MASTER <-> REPLICA sync: Finished with success", "primary", "redis-server")
	return u.redisStream(c, r, cfg, send, mark)
}

// redisStream applies the primary's command stream from mark on. Writes
// commit when the bytes read so far are applied (and at GETACK), with the
// mark in the same batch; the mark never falls inside MULTI ... EXEC, so a
// resync continues at a transaction's start. A commit goes on in the
// background while the next commands apply; the offset acknowledged is
// that of the last commit that ended.
func (u *upstream) redisStream(c net.Conn, r *bufio.Reader, cfg *Config, send func(args ...string) error, mark storage.UpstreamMark) error {
	ack := func(off int64) error { return send("REPLCONF", "ACK", strconv.FormatInt(off, 10)) }
	// Every second, the offset committed.
	defer ackEverySecond(func() error { return ack(u.redisOff.Load()) })()
	read := mark.Offset      // bytes of the stream read
	applied := mark.Offset   // the last command boundary outside MULTI
	committed := mark.Offset // handed to Commit; u.redisOff once it ended
	commit := func() error {
		if applied == committed && mark.DB == u.apply.DB() {
			return nil
		}
		mark.Offset, mark.DB = applied, u.apply.DB()
		off := applied
		if err := u.apply.Commit(mark, func() { u.redisOff.Store(off) }); err != nil {
			return err
		}
		committed = applied
		return nil
	}
	defer func() {
		// What was applied before the link broke stays, with its mark.
		err := commit()
		if ferr := u.apply.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			u.m.log.Warn("committing the primary's stream failed", "err", err)
		}
	}()
	ack(committed)
	// NB: a primary far ahead fills the whole buffer at each read, so a
	// large one commits the applied stream seldom; one that keeps up
	// reads little at a time and commits it as soon.
	ahead := newReadAhead(&streamReader{r: r, c: c, timeout: cfg.Timeout, lastIO: &u.lastIO},
		func(n int) { u.redisRead.Add(int64(n)) })
	defer ahead.close()
	r = bufio.NewReaderSize(ahead, applyCommitBytes)
	var slab argSlab
	for {
		if (r.Buffered() == 0 && !ahead.pending()) || u.apply.PendingBytes() >= applyCommitBytes {
			if err := commit(); err != nil {
				return err
			}
		}
		args, n, err := readCommand(r, &slab)
		if err != nil {
			return err
		}
		read += n
		if len(args) == 0 {
			continue
		}
		// NB: under CLIENT PAUSE what was applied commits, and the
		// stream waits, read on by ahead.
		if hold := u.m.hold.Load(); hold != nil {
			var cerr error
			if !(*hold)(ahead.ended, func() { cerr = commit() }) {
				return ahead.err()
			}
			if cerr != nil {
				return cerr
			}
		}
		if len(args) >= 2 && eqFold(args[0], "replconf") && eqFold(args[1], "getack") {
			// As Redis does, the ACK covers what came before the GETACK.
			if err := commit(); err != nil {
				return err
			}
			if err := u.apply.Flush(); err != nil {
				return err
			}
			if err := ack(u.redisOff.Load()); err != nil {
				return err
			}
			applied = read
			continue
		}
		u.apply.Apply(args) // the applier logs and counts its errors
		if !u.apply.InMulti() {
			applied = read
		}
	}
}

// streamReader is the connection as redisStream reads it: each read of
// it, not each command, sets the link's timeout, and notes when bytes
// came.
type streamReader struct {
	r       io.Reader
	c       net.Conn
	timeout time.Duration
	lastIO  *atomic.Int64
}

func (s *streamReader) Read(p []byte) (int, error) {
	s.c.SetReadDeadline(time.Now().Add(s.timeout))
	n, err := s.r.Read(p)
	if n > 0 {
		s.lastIO.Store(time.Now().UnixNano())
	}
	return n, err
}

// redisFullSync receives the primary's RDB into a file beside the data,
// then replaces this node's data with it.
func (u *upstream) redisFullSync(c net.Conn, r *bufio.Reader, cfg *Config, mark storage.UpstreamMark) error {
	u.setState("sync")
	u.syncing.Store(true)
	defer u.syncing.Store(false)
	u.m.log.Info("Full resync from master", "primary", "redis-server", "replid", mark.ID, "offset", mark.Offset)
	u.m.FullSyncs.Add(1)
	// The primary sends newlines while it prepares the RDB.
	var header string
	for {
		c.SetReadDeadline(time.Now().Add(cfg.Timeout))
		line, err := readLine(r)
		if err != nil {
			return err
		}
		u.lastIO.Store(time.Now().UnixNano())
		if line != "" {
			header = line
			break
		}
	}
	if header[0] == '-' {
		return &ReplyError{Msg: header[1:]}
	}
	if header[0] != '$' {
		return fmt.Errorf("%w: Bad protocol from MASTER, the first byte is not '$': %q", errProtocol, truncate(header))
	}
	path := filepath.Join(cfg.Dir, fmt.Sprintf("temp-%d.%d.rdb", time.Now().Unix(), os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	err = receiveRDB(f, r, header[1:], func() {
		c.SetReadDeadline(time.Now().Add(cfg.Timeout))
		u.lastIO.Store(time.Now().UnixNano())
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	u.m.log.Info("MASTER <-> REPLICA sync: Loading DB in memory")
	u.m.disconnectReplicas()
	// Keep acknowledging the RDB's offset while it loads, or the primary
	// would time the link out.
	defer ackEverySecond(func() error {
		c.SetWriteDeadline(time.Now().Add(cfg.Timeout))
		_, err := c.Write(appendFrame(nil, []byte("REPLCONF"), []byte("ACK"), itob(mark.Offset)))
		return err
	})()
	if err := u.m.store.BeginFullSync(); err != nil {
		return err
	}
	data, unmap, err := storage.MapFile(path)
	if err != nil {
		return err
	}
	defer unmap()
	info, err := u.m.store.LoadRDB(data, storage.RDBLoadOptions{KeepExpired: true})
	if err != nil {
		return fmt.Errorf("loading the primary's RDB: %w", err)
	}
	u.m.log.Info("MASTER <-> REPLICA sync: Finished loading", "keys", info.Keys, "bytes", len(data))
	tx := u.m.store.NewTx()
	tx.PutUpstreamMark(mark)
	return tx.Commit()
}

// receiveRDB copies an RDB from r to w: size bytes for "$<size>", or up
// to the 40-byte mark for "$EOF:<mark>", which is not copied. It reads
// nothing past the RDB: the command stream follows it. touch is called
// before each read.
func receiveRDB(w io.Writer, r *bufio.Reader, size string, touch func()) error {
	if mark, ok := strings.CutPrefix(size, "EOF:"); ok {
		if len(mark) != rdbMarkLen {
			return fmt.Errorf("%w: EOF mark %q", errProtocol, mark)
		}
		return copyUntilMark(w, r, []byte(mark), touch)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: RDB length %q", errProtocol, size)
	}
	for n > 0 {
		touch()
		p, err := r.Peek(int(min(n, int64(r.Size()))))
		if err != nil {
			return err
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
		r.Discard(len(p))
		n -= int64(len(p))
	}
	return nil
}

// copyUntilMark copies r to w up to mark, holding back the last
// len(mark)-1 bytes seen until it knows they do not start the mark.
func copyUntilMark(w io.Writer, r *bufio.Reader, mark []byte, touch func()) error {
	var held []byte
	for {
		touch()
		if _, err := r.Peek(1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		p, _ := r.Peek(r.Buffered())
		all := append(held, p...)
		if i := bytes.Index(all, mark); i >= 0 {
			r.Discard(i + len(mark) - len(held))
			_, err := w.Write(all[:i])
			return err
		}
		keep := min(len(all), len(mark)-1)
		if _, err := w.Write(all[:len(all)-keep]); err != nil {
			return err
		}
		held = append(held[:0:0], all[len(all)-keep:]...)
		r.Discard(len(p))
	}
}
