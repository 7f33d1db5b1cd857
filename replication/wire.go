// Package replication streams a primary's writes to its replicas by
// offset and implements WAIT, WAITAOF and WAITALL on top of the replicas'
// acknowledgements.
//
// The handshake follows Redis over the normal RESP port: the replica sends
// PING, AUTH, REPLCONF listening-port/id/capa and PSYNC <replid> <offset>,
// and the primary answers +FULLRESYNC <replid> <offset> or +CONTINUE
// <replid>. What follows is Shoal's own stream, as RESP arrays:
//
//	SNAP <batch>            one chunk of a full sync (a Pebble batch of Sets)
//	SNAPEND <offset>        the full sync is complete up to offset
//	BATCH <end> <batch>     one logged commit, ending at offset end
//	PING                    keepalive
//	REPLCONF GETACK *       asks the replica to acknowledge now
//
// and from the replica: REPLCONF ACK <applied> FACK <fsynced> EVENTS <0|1>
// (whether it wants its primary's keyspace events), and REPLCONF
// LEAVE when it stops replicating on purpose.
package replication

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// appendFrame encodes args as a RESP array of bulk strings.
func appendFrame(dst []byte, args ...[]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

func itob(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

// errProtocol reports a stream the replica cannot read.
var errProtocol = errors.New("replication: protocol error")

// maxFrameBulk bounds one bulk of the stream (a batch can be large during
// a full sync of big values).
const maxFrameBulk = 1 << 30

// readLine reads one CRLF-terminated line without the CRLF.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if line == "\n" {
		return "", nil // a keepalive: Redis sends bare newlines
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("%w: line %q", errProtocol, line)
	}
	return line[:len(line)-2], nil
}

// readReply reads one reply line of the handshake: +status, -error,
// :integer or a bulk string, after any keepalive newlines. An error
// reply becomes an error.
func readReply(r *bufio.Reader) (string, error) {
	line, err := readLine(r)
	for err == nil && line == "" { // keepalives before the reply
		line, err = readLine(r)
	}
	if err != nil {
		return "", err
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", &ReplyError{Msg: line[1:]}
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("%w: bulk %q", errProtocol, line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("%w: reply %q", errProtocol, line)
}

// ReplyError is an error reply from the primary.
type ReplyError struct{ Msg string }

func (e *ReplyError) Error() string { return e.Msg }

// readFrame reads one RESP array of bulk strings. A bare newline (the
// keepalive Redis sends while preparing a full sync) reads as no args.
func readFrame(r *bufio.Reader) ([][]byte, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, nil
	}
	if line[0] != '*' {
		return nil, fmt.Errorf("%w: expected an array, got %q (is the primary a Shoal node?)", errProtocol, truncate(line))
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 16 {
		return nil, fmt.Errorf("%w: array %q", errProtocol, line)
	}
	args := make([][]byte, n)
	for i := range args {
		h, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if h == "" || h[0] != '$' {
			return nil, fmt.Errorf("%w: bulk header %q", errProtocol, truncate(h))
		}
		size, err := strconv.Atoi(h[1:])
		if err != nil || size < 0 || size > maxFrameBulk {
			return nil, fmt.Errorf("%w: bulk length %q", errProtocol, h)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = buf[:size]
	}
	return args, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
