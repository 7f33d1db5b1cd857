package server

// framer follows the RESP request framing byte by byte, without buffering
// the payload, so limits can be enforced before redcon's reader grows its
// buffer: the multibulk count, each bulk's declared length, an inline
// line's length, and the bytes of the request not yet complete.
type framer struct {
	state   int
	num     int64 // number being parsed in a header line
	neg     bool
	digits  int
	left    int64 // bulks left in the current multibulk
	skip    int64 // payload bytes (plus CRLF) left in the current bulk
	pending int64 // bytes of the current, incomplete request
}

const (
	stStart    = iota // at the start of a request
	stMulti           // in "*<count>\r\n"
	stBulkHdr         // expecting '$'
	stBulkLen         // in "$<len>\r\n"
	stBulkBody        // skipping payload and its CRLF
	stInline          // in an inline command line
)

// Redis's limits on the shape of a request.
const (
	maxMultibulk = 1024 * 1024
	maxInline    = 64 * 1024
)

// framingError ends a connection; reply, when set, is sent first.
type framingError struct{ reply, msg string }

func (e *framingError) Error() string { return e.msg }

func protoErr(reason string) *framingError {
	return &framingError{reply: "ERR Protocol error: " + reason, msg: "protocol error: " + reason}
}

// feed advances over p; maxBulk and maxQuery are the configured limits.
func (f *framer) feed(p []byte, maxBulk, maxQuery int64) *framingError {
	for i := 0; i < len(p); i++ {
		b := p[i]
		f.pending++
		switch f.state {
		case stStart:
			switch b {
			case '*':
				f.state, f.num, f.neg, f.digits = stMulti, 0, false, 0
			case '\r', '\n':
				f.pending = 0
			default:
				f.state = stInline
			}
		case stMulti, stBulkLen:
			switch {
			case b >= '0' && b <= '9':
				f.num = f.num*10 + int64(b-'0')
				f.digits++
				if f.digits > 18 {
					if f.state == stMulti {
						return protoErr("invalid multibulk length")
					}
					return protoErr("invalid bulk length")
				}
			case b == '-' && f.digits == 0 && !f.neg:
				f.neg = true
			case b == '\r':
			case b == '\n':
				if f.state == stMulti {
					if f.num > maxMultibulk {
						return protoErr("invalid multibulk length")
					}
					f.left = f.num
					if f.neg || f.num == 0 {
						f.left = 0
					}
					if f.left == 0 {
						f.state, f.pending = stStart, 0
					} else {
						f.state = stBulkHdr
					}
				} else {
					if f.neg || f.num > maxBulk {
						return protoErr("invalid bulk length")
					}
					f.skip = f.num + 2
					f.state = stBulkBody
				}
			default:
				// Malformed: redcon's reader reports it.
				f.state = stStart
			}
		case stBulkHdr:
			if b != '$' {
				f.state = stStart // redcon answers "expected '$'"
				continue
			}
			f.state, f.num, f.neg, f.digits = stBulkLen, 0, false, 0
		case stBulkBody:
			// Skip the payload in one step.
			n := int64(len(p) - i)
			if n > f.skip {
				n = f.skip
			}
			f.skip -= n
			f.pending += n - 1
			i += int(n) - 1
			if f.skip == 0 {
				f.left--
				if f.left == 0 {
					f.state, f.pending = stStart, 0
				} else {
					f.state = stBulkHdr
				}
			}
		case stInline:
			if b == '\n' {
				f.state, f.pending = stStart, 0
			} else if f.pending > maxInline {
				return protoErr("too big inline request")
			}
		}
		if f.pending > maxQuery {
			return &framingError{msg: "query buffer limit reached"}
		}
	}
	return nil
}
