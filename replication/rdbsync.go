package replication

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"time"

	"github.com/shoaldb/shoal/storage"
)

// A Redis replica, or redis-cli --rdb, asks for the dataset as an RDB in
// Redis's own framing. Shoal always sends it diskless, as Redis does with
// repl-diskless-sync: the RDB is written straight to the socket between
// two copies of a random 40-byte mark,
//
//	$EOF:<mark>\r\n <rdb> <mark>
//
// which every replica that announced "capa eof" reads, and redis-cli too.

// rdbMarkLen is the length of the EOF mark (RDB_EOF_MARK_SIZE).
const rdbMarkLen = 40

// newRDBMark returns a random EOF mark.
func newRDBMark() []byte {
	var b [rdbMarkLen / 2]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}

// writeRDBFramed writes an RDB of the dataset to w in the EOF framing,
// with header written first once the snapshot's offset is known (the
// +FULLRESYNC line of a PSYNC; nothing for SYNC). It returns the offset
// the RDB covers.
func (m *Manager) writeRDBFramed(nc net.Conn, header func(off int64) string, aux []storage.RDBAux) (int64, error) {
	cfg := m.config()
	mark := newRDBMark()
	bw := bufio.NewWriterSize(&deadlineWriter{nc, cfg.Timeout}, 1<<16)
	id, _, _ := m.store.ReplIDs()
	info, err := m.store.WriteRDB(bw, aux, func(off int64) []storage.RDBAux {
		bw.WriteString(header(off))
		bw.WriteString("$EOF:")
		bw.Write(mark)
		bw.WriteString("\r\n")
		return []storage.RDBAux{
			{Name: "repl-stream-db", Value: "0"},
			{Name: "repl-id", Value: id},
			{Name: "repl-offset", Value: strconv.FormatInt(off, 10)},
		}
	})
	if err != nil {
		return 0, err
	}
	bw.Write(mark)
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
func (m *Manager) ServeRDB(nc net.Conn, psync bool, aux []storage.RDBAux) {
	defer nc.Close()
	id, _, _ := m.store.ReplIDs()
	_, err := m.writeRDBFramed(nc, func(off int64) string {
		if psync {
			return "+FULLRESYNC " + id + " " + strconv.FormatInt(off, 10) + "\r\n"
		}
		return ""
	}, aux)
	if err != nil {
		m.log.Warn("sending an RDB failed", "client", nc.RemoteAddr().String(), "err", err)
		return
	}
	m.log.Info("RDB sent", "client", nc.RemoteAddr().String())
}
