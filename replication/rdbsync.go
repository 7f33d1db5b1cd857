package replication

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/shoaldb/shoal/storage"
)

// A Redis replica, or redis-cli --rdb, asks for the dataset as an RDB in
// Redis's own framing. A replica that announced "capa eof" gets it
// diskless, as Redis sends it with repl-diskless-sync: written straight to
// the socket between two copies of a random 40-byte mark,
//
//	$EOF:<mark>\r\n <rdb> <mark>
//
// Any other (the old SYNC of Redis's test suite and of older replicas)
// gets it as Redis sends it from disk, its length first:
//
//	$<length>\r\n <rdb>
//
// for which the RDB is written to a temporary file in the data folder.

// rdbMarkLen is the length of the EOF mark (RDB_EOF_MARK_SIZE).
const rdbMarkLen = 40

// newRDBMark returns a random EOF mark.
func newRDBMark() []byte {
	var b [rdbMarkLen / 2]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}

// writeRDBFramed writes an RDB of the dataset to nc, in the EOF framing
// when eof is set, else after its length; header, called once the
// snapshot's offset is known, is written first (the +FULLRESYNC line of a
// PSYNC; nothing for SYNC). It returns the offset the RDB covers.
func (m *Manager) writeRDBFramed(nc net.Conn, eof bool, header func(off int64) string, aux []storage.RDBAux, filter storage.RDBFilter) (int64, error) {
	cfg := m.config()
	bw := bufio.NewWriterSize(&deadlineWriter{nc, cfg.Timeout}, 1<<16)
	id, _, _ := m.store.ReplIDs()
	replAux := func(off int64) []storage.RDBAux {
		return []storage.RDBAux{
			{Name: "repl-stream-db", Value: "0"},
			{Name: "repl-id", Value: id},
			{Name: "repl-offset", Value: strconv.FormatInt(off, 10)},
		}
	}
	if !eof {
		return m.writeRDBSized(bw, header, aux, replAux)
	}
	mark := newRDBMark()
	info, err := m.store.WriteRDBFiltered(bw, aux, func(off int64) []storage.RDBAux {
		bw.WriteString(header(off))
		bw.WriteString("$EOF:")
		bw.Write(mark)
		bw.WriteString("\r\n")
		return replAux(off)
	}, filter)
	if err != nil {
		return 0, err
	}
	bw.Write(mark)
	return info.Offset, bw.Flush()
}

// writeRDBSized writes the RDB to a temporary file in the data folder,
// then header, its length and the file to bw.
func (m *Manager) writeRDBSized(bw *bufio.Writer, header func(off int64) string, aux []storage.RDBAux, replAux func(off int64) []storage.RDBAux) (int64, error) {
	f, err := os.CreateTemp(m.config().Dir, "temp-sync-*.rdb")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var head string
	fw := bufio.NewWriterSize(f, 1<<16)
	info, err := m.store.WriteRDB(fw, aux, func(off int64) []storage.RDBAux {
		head = header(off)
		return replAux(off)
	})
	if err == nil {
		err = fw.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return 0, err
	}
	bw.WriteString(head)
	bw.WriteString("$" + strconv.FormatInt(info.Bytes, 10) + "\r\n")
	if _, err := io.Copy(bw, f); err != nil {
		return 0, err
	}
	return info.Offset, bw.Flush()
}

// deadlineWriter writes to a connection with a deadline on each write.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// ServeRDB answers SYNC or PSYNC from a client that asked for the RDB
// alone (REPLCONF rdb-only 1, as redis-cli --rdb does): the RDB in Redis's
// framing, then the connection ends.
func (m *Manager) ServeRDB(nc net.Conn, h Hello, aux []storage.RDBAux) {
	defer nc.Close()
	id, _, _ := m.store.ReplIDs()
	_, err := m.writeRDBFramed(nc, h.EOF, func(off int64) string {
		if !h.Sync {
			return "+FULLRESYNC " + id + " " + strconv.FormatInt(off, 10) + "\r\n"
		}
		return ""
	}, aux, h.Filter)
	if err != nil {
		m.log.Warn("sending an RDB failed", "client", nc.RemoteAddr().String(), "err", err)
		return
	}
	m.log.Info("RDB sent", "client", nc.RemoteAddr().String())
}
