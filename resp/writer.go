// Package resp writes Redis protocol replies in RESP2 or RESP3.
//
// Handlers describe a reply by its meaning (a map, a double, a null) and the
// Writer renders it in the protocol the connection negotiated with HELLO:
// in RESP2 a map becomes a flat array, a double a bulk string, a boolean an
// integer, as Redis does.
package resp

import (
	"math"
	"slices"
	"strconv"
)

// Writer accumulates replies in a buffer the connection flushes. The zero
// value writes RESP2. A Writer is used by one goroutine at a time.
type Writer struct {
	b     []byte
	proto int
	// Discard drops replies (CLIENT REPLY OFF/SKIP).
	Discard bool
	// Limit, when not 0, is the size past which the output is over its
	// client's limit (Over): a command producing a long reply stops
	// there, as Redis's stop once the client is to be closed.
	Limit int
	// OnError, when set, is told the text of every error reply Error
	// writes, discarded ones included: INFO errorstats counts them.
	OnError func(msg string)
	errors  int64
	// deferred is 1 + the offset of the first reply whose length Redis
	// writes after its elements (MarkDeferred), 0 when none.
	deferred int
}

// MarkDeferred tells that the reply about to be written is one Redis
// starts with addReplyDeferredLen, which puts it and every reply after it
// in its output list rather than its 16 KiB reply buffer: the bytes
// before it are what client-output-buffer-limit leaves out (DeferredAt).
func (w *Writer) MarkDeferred() {
	if w.deferred == 0 && !w.Discard {
		w.deferred = len(w.b) + 1
	}
}

// DeferredAt returns the offset MarkDeferred recorded since the last
// Reset, and whether there is one.
func (w *Writer) DeferredAt() (int, bool) { return w.deferred - 1, w.deferred > 0 }

// Errors returns how many error replies the writer wrote (discarded ones
// included); Reset does not clear it.
func (w *Writer) Errors() int64 { return w.errors }

// SetProto selects 2 or 3.
func (w *Writer) SetProto(p int) { w.proto = p }

// Proto returns the protocol version, 2 or 3.
func (w *Writer) Proto() int {
	if w.proto == 3 {
		return 3
	}
	return 2
}

// Bytes returns the buffered replies; they alias the Writer's buffer.
func (w *Writer) Bytes() []byte { return w.b }

// Len returns the number of buffered bytes.
func (w *Writer) Len() int { return len(w.b) }

// Reset empties the buffer, keeping its storage unless it grew past 1 MiB.
func (w *Writer) Reset() {
	w.deferred = 0
	if cap(w.b) > 1<<20 {
		w.b = nil
	} else {
		w.b = w.b[:0]
	}
}

// Truncate drops everything written after the first n bytes.
func (w *Writer) Truncate(n int) {
	w.b = w.b[:n]
	if w.deferred > n+1 {
		w.deferred = 0
	}
}

// Raw appends pre-encoded protocol bytes.
func (w *Writer) Raw(p []byte) {
	if !w.Discard {
		w.b = append(w.b, p...)
	}
}

func (w *Writer) line(prefix byte, s string) {
	if w.Discard {
		return
	}
	w.b = append(w.b, prefix)
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

func (w *Writer) header(prefix byte, n int64) {
	if w.Discard {
		return
	}
	w.b = append(w.b, prefix)
	w.b = strconv.AppendInt(w.b, n, 10)
	w.b = append(w.b, '\r', '\n')
}

// Simple writes a status reply such as +OK. s must not contain CR or LF.
func (w *Writer) Simple(s string) { w.line('+', s) }

// OK writes +OK.
func (w *Writer) OK() { w.line('+', "OK") }

// Error writes an error reply; msg starts with its code (ERR, WRONGTYPE…).
// Newlines in msg are replaced by spaces, as Redis does.
func (w *Writer) Error(msg string) {
	if w.OnError != nil {
		w.OnError(msg)
	}
	w.ErrorUncounted(msg)
}

// ErrorUncounted is Error without telling OnError: the reply of a script
// that raised the error of a command it called, which was counted when
// the command failed.
func (w *Writer) ErrorUncounted(msg string) {
	w.errors++
	if w.Discard {
		return
	}
	w.b = append(w.b, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.b = append(w.b, c)
	}
	w.b = append(w.b, '\r', '\n')
}

// Int writes an integer reply.
func (w *Writer) Int(n int64) { w.header(':', n) }

// Bulk writes a bulk string.
func (w *Writer) Bulk(p []byte) {
	if w.Discard {
		return
	}
	w.header('$', int64(len(p)))
	w.b = append(w.b, p...)
	w.b = append(w.b, '\r', '\n')
}

// BulkHeader begins a bulk string of n bytes, which the caller writes
// with Raw, followed by "\r\n": a long value goes into the reply piece
// by piece, never whole elsewhere. The buffer grows once to hold it.
func (w *Writer) BulkHeader(n int64) {
	if !w.Discard {
		w.b = slices.Grow(w.b, int(n)+24)
	}
	w.header('$', n)
}

// BulkString writes a bulk string.
func (w *Writer) BulkString(s string) {
	if w.Discard {
		return
	}
	w.header('$', int64(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

// BulkInt writes n as a bulk string.
func (w *Writer) BulkInt(n int64) {
	var buf [24]byte
	w.Bulk(strconv.AppendInt(buf[:0], n, 10))
}

// Null writes a null: $-1 in RESP2, _ in RESP3.
func (w *Writer) Null() {
	if w.proto == 3 {
		w.line('_', "")
	} else {
		w.line('$', "-1")
	}
}

// NullArray writes a null array: *-1 in RESP2, _ in RESP3.
func (w *Writer) NullArray() {
	if w.proto == 3 {
		w.line('_', "")
	} else {
		w.line('*', "-1")
	}
}

// Array writes the header of an array of n elements.
func (w *Writer) Array(n int) { w.header('*', int64(n)) }

// Map writes the header of a map of n key-value pairs (RESP2: 2n-array).
func (w *Writer) Map(n int) {
	if w.proto == 3 {
		w.header('%', int64(n))
	} else {
		w.header('*', int64(2*n))
	}
}

// Set writes the header of a set of n elements (RESP2: array).
func (w *Writer) Set(n int) {
	if w.proto == 3 {
		w.header('~', int64(n))
	} else {
		w.header('*', int64(n))
	}
}

// Push writes the header of an out-of-band push of n elements (RESP2: array).
func (w *Writer) Push(n int) {
	if w.proto == 3 {
		w.header('>', int64(n))
	} else {
		w.header('*', int64(n))
	}
}

// Bool writes a boolean (RESP2: integer 1 or 0).
func (w *Writer) Bool(v bool) {
	if w.proto == 3 {
		if v {
			w.line('#', "t")
		} else {
			w.line('#', "f")
		}
		return
	}
	if v {
		w.Int(1)
	} else {
		w.Int(0)
	}
}

// Double writes a floating point reply: RESP3 ",1.5", RESP2 the same
// text as a bulk string. Formatting follows FormatDouble.
func (w *Writer) Double(f float64) {
	var buf [32]byte
	s := AppendDouble(buf[:0], f)
	if w.proto == 3 {
		if w.Discard {
			return
		}
		w.b = append(w.b, ',')
		w.b = append(w.b, s...)
		w.b = append(w.b, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// BigNumber writes a big number given in decimal (RESP2: bulk).
func (w *Writer) BigNumber(n string) {
	if w.proto != 3 {
		w.BulkString(n)
		return
	}
	w.line('(', n)
}

// Verbatim writes a verbatim string of format "txt" or "mkd" (RESP2: bulk).
func (w *Writer) Verbatim(format, s string) {
	if w.proto != 3 {
		w.BulkString(s)
		return
	}
	if w.Discard {
		return
	}
	w.header('=', int64(len(s)+4))
	w.b = append(w.b, format...)
	w.b = append(w.b, ':')
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

// StringArray writes an array of bulk strings.
func (w *Writer) StringArray(items []string) {
	w.Array(len(items))
	for _, s := range items {
		w.BulkString(s)
	}
}

// BulkArray writes an array of bulk strings.
func (w *Writer) BulkArray(items [][]byte) {
	w.Array(len(items))
	for _, s := range items {
		w.Bulk(s)
	}
}

// AppendDouble formats f as Redis 7 replies do: the shortest text that
// reads back as f, "inf", "-inf" and "nan", integers without a fraction or
// exponent up to 1e17 as %.17g would give them.
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e17 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// FormatDouble is AppendDouble as a string.
func FormatDouble(f float64) string { return string(AppendDouble(nil, f)) }

// Over reports that the buffered output passed Limit.
func (w *Writer) Over() bool { return w.Limit > 0 && len(w.b) > w.Limit }
