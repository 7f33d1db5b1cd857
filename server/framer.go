package server

import (
	"unsafe"

	"github.com/shoaldb/shoal/storage/encoding"
)

// framer reads client requests the way Redis's processInlineBuffer and
// processMultibulkBuffer do, into their arguments, once. Doing the framing
// here gives Shoal Redis's limits (proto-max-bulk-len,
// client-query-buffer-limit, the inline and header sizes, the limits for
// unauthenticated clients) and Redis's reading of odd input: "*0" and "*-1"
// are ignored, the two bytes after a bulk are skipped unchecked, inline
// arguments are split as sdssplitargs splits them (quotes, \xHH escapes)
// and a protocol error is reported only after the requests before it ran.
//
// A bulk that arrives whole in one feed is an argument over the fed bytes,
// not a copy; one that arrives in pieces is gathered in a buffer of its
// size, as Redis reads a big argument. At the end of a feed, the arguments
// of the request not yet complete are copied out of the fed bytes, which
// the caller reuses for its next read.
type framer struct {
	state   int
	hdr     []byte // header line so far, from '*' or '$', up to maxHeader bytes
	hdrLen  int64  // its full length, for the "too big" checks
	hdrNUL  bool   // a NUL came before '\r': Redis's strchr never finds the line end
	hdrCR   bool   // '\r' seen: the next byte, whatever it is, ends the line
	left    int64  // bulks left in the current multibulk
	skip    int64  // payload bytes left in the current bulk
	crlf    int    // bytes after the payload still to skip
	pending int64  // bytes of the current, incomplete request
	line    []byte // the current inline line

	// argv holds the arguments of the complete requests of the last feed,
	// then those of the request being read, from cur on.
	argv [][]byte
	reqs []request
	cur  int
	// own counts the arguments at the start of argv[cur:] that no longer
	// point into a fed buffer (detach copied them), which later feeds
	// need not look at again.
	own  int
	body []byte // the current bulk's payload, when it came in pieces
	// bigRoom is the query buffer Redis keeps after the big argument
	// the last feed completed, 0 when none (conn.bigRoom takes it).
	bigRoom int64
}

// argvKeep is the most arguments a framer keeps room for between requests.
const argvKeep = 4096

// request is a complete request framed by the last feed: its arguments,
// argv[start:end], and the offset in the fed bytes just past it.
type request struct {
	start, end int
	rawEnd     int
}

const (
	stStart    = iota // at the start of a request
	stMultiHdr        // in "*<count>\r\n"
	stBulkHdr         // in "$<len>\r\n"
	stBulkBody        // passing the payload through
	stBulkCRLF        // skipping the two bytes after the payload
	stInline          // in an inline command line
)

// Redis's limits on the shape of a request.
const (
	// maxMultibulk caps the argument count. Redis 7 allows up to INT_MAX;
	// Shoal keeps the older 1024*1024 limit, as no command takes more.
	maxMultibulk = 1024 * 1024
	// maxInline caps an inline line and a header line (PROTO_INLINE_MAX_SIZE).
	maxInline = 64 * 1024
	// Clients that still need AUTH may send no more than this.
	maxUnauthMultibulk = 10
	maxUnauthBulk      = 16384
	// maxHeader is more than the longest valid number.
	maxHeader = 24
)

// frameLimits are the limits a connection's requests are framed under.
type frameLimits struct {
	maxBulk  int64 // proto-max-bulk-len
	maxQuery int64 // client-query-buffer-limit
	// unauth applies Redis's tighter limits for clients that still must
	// AUTH; the framer then stops after each request, so that an AUTH runs
	// before the request after it is framed.
	unauth bool
}

// framingError ends a connection; reply, when set, is sent first.
type framingError struct{ reply, msg string }

func (e *framingError) Error() string { return e.msg }

func protoErr(reason string) *framingError {
	return &framingError{reply: "ERR Protocol error: " + reason, msg: "protocol error: " + reason}
}

var errQueryLimit = &framingError{msg: "client reached client-query-buffer-limit"}

// feed frames p: the complete requests it holds are then in f.reqs (until
// the next feed), their arguments valid as long as p is. It returns how
// many bytes of p it used (all of them unless lim.unauth stopped it after
// a request) and the error that ends the connection, if any; the requests
// framed before an error are still to be served.
func (f *framer) feed(p []byte, lim frameLimits) (int, *framingError) {
	used := len(f.argv)
	if f.cur > 0 {
		// NB: a request that spans many reads keeps its arguments in
		// place rather than moving them at every read.
		f.argv = append(f.argv[:0], f.argv[f.cur:]...)
		clear(f.argv[len(f.argv):used])
	} // NB: the served requests' arguments may be large
	if cap(f.argv) > argvKeep && len(f.argv) < argvKeep/2 {
		// A request with many arguments made it large once.
		f.argv = append(make([][]byte, 0, argvKeep/2), f.argv...)
	}
	f.reqs, f.cur = f.reqs[:0], 0
	used, err := f.frame(p, lim)
	f.detach(p[:used])
	return used, err
}

// release lets go of the arguments of the requests served, once they were
// many: a connection idle after a command of 100,000 arguments does not
// keep them, nor their list, until its next read.
func (f *framer) release() {
	if cap(f.argv) > argvKeep && f.cur == len(f.argv) {
		f.argv, f.reqs, f.cur, f.own = nil, f.reqs[:0], 0, 0
	}
}

func (f *framer) frame(p []byte, lim frameLimits) (int, *framingError) {
	for i := 0; i < len(p); i++ {
		b := p[i]
		f.pending++
		done := false // a request was completed
		switch f.state {
		case stStart:
			if b == '*' {
				f.startHeader(stMultiHdr, b)
			} else {
				f.state = stInline
				f.line = append(f.line[:0], b)
				if b == '\n' {
					if done = f.inlineDone(); !done {
						return i + 1, protoErr("unbalanced quotes in request")
					}
				}
			}
		case stMultiHdr, stBulkHdr:
			if !f.headerByte(b) {
				if f.hdrLen > maxInline {
					if f.state == stMultiHdr {
						return i + 1, protoErr("too big mbulk count string")
					}
					return i + 1, protoErr("too big bulk count string")
				}
				break
			}
			var err *framingError
			done, err = f.headerDone(lim)
			if err != nil {
				return i + 1, err
			}
		case stBulkBody:
			n := int64(len(p) - i)
			if n > f.skip {
				n = f.skip
			}
			chunk := p[i : i+int(n)]
			switch {
			case f.body == nil && n == f.skip:
				// NB: whole in this feed: an argument over p.
				f.addArg(chunk[:n:n])
			case f.body == nil:
				f.body = append(make([]byte, 0, f.skip), chunk...)
			default:
				f.body = append(f.body, chunk...)
			}
			f.skip -= n
			f.pending += n - 1
			i += int(n) - 1
			if f.skip == 0 {
				if f.body != nil {
					f.bodyDone()
				}
				f.state, f.crlf = stBulkCRLF, 2
			}
		case stBulkCRLF:
			// Redis skips these two bytes without looking at them.
			f.crlf--
			if f.crlf == 0 {
				f.left--
				if f.left == 0 {
					done = true
				} else {
					f.startHeader(stBulkHdr, 0)
				}
			}
		case stInline:
			f.line = append(f.line, b)
			if b == '\n' {
				if done = f.inlineDone(); !done {
					return i + 1, protoErr("unbalanced quotes in request")
				}
			} else if len(f.line) > maxInline {
				return i + 1, protoErr("too big inline request")
			}
		}
		if done {
			if len(f.argv) > f.cur {
				f.reqs = append(f.reqs, request{start: f.cur, end: len(f.argv), rawEnd: i + 1})
				f.cur, f.own = len(f.argv), 0
			}
			f.state, f.pending = stStart, 0
			if lim.unauth {
				return i + 1, nil
			}
			continue
		}
		if f.pending > lim.maxQuery {
			return i + 1, errQueryLimit
		}
	}
	return len(p), nil
}

// bigArg is the payload size from which the rest of a bulk is read
// straight into its argument, as Redis reads an argument of
// PROTO_MBULK_BIG_ARG bytes or more.
const bigArg = 32 << 10

// bodySpace returns the room left in the argument of a big bulk being
// read in pieces, to read the rest of its payload into at once; nil when
// the framer is not in one.
func (f *framer) bodySpace() []byte {
	if f.state != stBulkBody || f.skip < bigArg {
		return nil
	}
	if f.body == nil {
		f.body = make([]byte, 0, f.skip)
	}
	return f.body[len(f.body) : len(f.body)+int(f.skip)]
}

// bodyDone makes the payload gathered in f.body an argument. After a big
// one Redis makes its query buffer as large again, expecting another
// (bigRoom).
func (f *framer) bodyDone() {
	if len(f.body) >= bigArg {
		f.bigRoom = bigArgFree(int64(len(f.body)), 0)
	}
	f.addArg(f.body)
	f.body = nil
}

// bodyRead takes n bytes read into bodySpace, as frame takes them from a
// feed.
func (f *framer) bodyRead(n int, lim frameLimits) *framingError {
	f.body = f.body[:len(f.body)+n]
	f.skip -= int64(n)
	f.pending += int64(n)
	if f.skip == 0 {
		f.bodyDone()
		f.state, f.crlf = stBulkCRLF, 2
	}
	if f.pending > lim.maxQuery {
		return errQueryLimit
	}
	return nil
}

// detach copies the arguments of the request being read that point into
// p, which its caller is about to reuse.
func (f *framer) detach(p []byte) {
	start := f.cur + f.own
	f.own = len(f.argv) - f.cur
	if len(p) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	hi := lo + uintptr(len(p))
	in := func(a []byte) bool {
		at := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
		return len(a) > 0 && at >= lo && at < hi
	}
	// NB: the arguments of one feed are copied into one buffer, not one
	// each: a request of 100,000 arguments costs one allocation a read.
	n := 0
	for _, a := range f.argv[start:] {
		if in(a) {
			n += len(a)
		}
	}
	if n == 0 {
		return
	}
	buf := make([]byte, 0, n)
	for i := start; i < len(f.argv); i++ {
		if a := f.argv[i]; in(a) {
			off := len(buf)
			buf = append(buf, a...)
			f.argv[i] = buf[off:len(buf):len(buf)]
		}
	}
}

// addArg appends a bulk's argument to f.argv. A full argv grows as
// Redis's does, doubling but never past the request's arguments still to
// come (f.left counts this one), until it holds argvTrust arguments: then
// it makes room for all the request announced at once, which its
// arguments so far vouch for, rather than copy a list of 100,000 headers
// five more times and leave the copies to the collector.
func (f *framer) addArg(a []byte) {
	if len(f.argv) == cap(f.argv) {
		need := len(f.argv) + int(f.left)
		grow := max(2*cap(f.argv), 16)
		if cap(f.argv) >= argvTrust {
			grow = need
		}
		grown := make([][]byte, len(f.argv), min(grow, need))
		copy(grown, f.argv)
		f.argv = grown
	}
	f.argv = append(f.argv, a)
}

// argvTrust is the number of arguments from which the framer makes room
// for all the arguments a request announces.
const argvTrust = 1024

// request returns the arguments of the complete request r.
func (f *framer) request(r request) [][]byte { return f.argv[r.start:r.end:r.end] }

// startHeader begins a header line; first is its first byte when known.
func (f *framer) startHeader(state int, first byte) {
	f.state, f.hdr, f.hdrLen, f.hdrNUL, f.hdrCR = state, f.hdr[:0], 0, false, false
	if first != 0 {
		f.headerByte(first)
	}
}

// headerByte adds b to the header line and reports whether the line is
// complete. As in Redis, the line ends one byte after the first '\r'.
func (f *framer) headerByte(b byte) bool {
	f.hdrLen++
	if f.hdrCR {
		return true
	}
	switch {
	case f.hdrNUL:
	case b == 0:
		f.hdrNUL = true
	case b == '\r':
		f.hdrCR = true
	case len(f.hdr) < maxHeader:
		f.hdr = append(f.hdr, b)
	default:
		f.hdr = append(f.hdr[:maxHeader], 'x') // too long for a number
	}
	return false
}

// headerDone acts on a complete header line; done reports a request that
// is complete with it ("*0", "*-1").
func (f *framer) headerDone(lim frameLimits) (done bool, err *framingError) {
	if f.state == stMultiHdr {
		n, ok := parseLL(f.hdr[1:])
		if !ok || n > maxMultibulk {
			return false, protoErr("invalid multibulk length")
		}
		if n > maxUnauthMultibulk && lim.unauth {
			return false, protoErr("unauthenticated multibulk length")
		}
		if n <= 0 {
			return true, nil // Redis ignores "*0" and "*-1"
		}
		f.left = n
		f.startHeader(stBulkHdr, 0)
		return false, nil
	}
	if len(f.hdr) == 0 || f.hdr[0] != '$' {
		got := byte('\r') // the line was empty
		if len(f.hdr) > 0 {
			got = f.hdr[0]
		}
		if got == '\r' || got == '\n' {
			got = ' ' // Redis turns newlines in error texts into spaces
		}
		return false, protoErr("expected '$', got '" + string(got) + "'")
	}
	n, ok := parseLL(f.hdr[1:])
	if !ok || n < 0 || n > lim.maxBulk {
		return false, protoErr("invalid bulk length")
	}
	if n > maxUnauthBulk && lim.unauth {
		return false, protoErr("unauthenticated bulk length")
	}
	f.skip = n
	f.state = stBulkBody
	if n == 0 {
		f.argv = append(f.argv, []byte{})
		f.state, f.crlf = stBulkCRLF, 2
	}
	return false, nil
}

// inlineDone splits a complete inline line into the request's arguments;
// false means unbalanced quotes.
func (f *framer) inlineDone() bool {
	line := f.line[:len(f.line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := splitArgs(line)
	f.line = f.line[:0]
	if cap(f.line) > 4096 {
		f.line = nil
	}
	if !ok {
		return false
	}
	f.argv = append(f.argv, args...)
	return true
}

// parseLL parses a number as Redis's string2ll does: an optional '-', no
// '+', no leading zeros, no spaces, within int64.
func parseLL(b []byte) (int64, bool) { return encoding.ParseInt(b) }

// splitArgs splits an inline line as Redis's sdssplitargs does: spaces
// separate arguments; "..." takes \n \r \t \b \a \\ \" and \xHH escapes;
// '...' takes \'; a closing quote must be followed by a space or the end.
// The line ends at a NUL byte, as the C string it is in Redis. It reports
// false for unbalanced quotes.
func splitArgs(line []byte) ([][]byte, bool) {
	for i, c := range line {
		if c == 0 {
			line = line[:i]
			break
		}
	}
	at := func(i int) byte {
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	var args [][]byte
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args, true
		}
		cur := []byte{}
		inq, insq, done := false, false, false
		for !done {
			c := at(i)
			switch {
			case inq:
				switch {
				case c == '\\' && at(i+1) == 'x' && isHex(at(i+2)) && isHex(at(i+3)):
					cur = append(cur, unhex(at(i+2))<<4|unhex(at(i+3)))
					i += 3
				case c == '\\' && at(i+1) != 0:
					i++
					e := at(i)
					switch e {
					case 'n':
						e = '\n'
					case 'r':
						e = '\r'
					case 't':
						e = '\t'
					case 'b':
						e = '\b'
					case 'a':
						e = '\a'
					}
					cur = append(cur, e)
				case c == '"':
					if n := at(i + 1); n != 0 && !isSpace(n) {
						return nil, false
					}
					done = true
				case c == 0:
					return nil, false
				default:
					cur = append(cur, c)
				}
			case insq:
				switch {
				case c == '\\' && at(i+1) == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if n := at(i + 1); n != 0 && !isSpace(n) {
						return nil, false
					}
					done = true
				case c == 0:
					return nil, false
				default:
					cur = append(cur, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		args = append(args, cur)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
