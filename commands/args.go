package commands

import (
	"bytes"
	"math"
	"strconv"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Arg cursors: handlers parse every argument before they touch storage, and
// never index past the end. Each parser returns Redis's own error.

// ParseInt parses a 64-bit signed integer as Redis's string2ll does: no
// spaces, no plus sign, no leading zeros.
func ParseInt(b []byte) (int64, error) {
	n, ok := parseInt(b)
	if !ok {
		return 0, ErrNotInteger
	}
	return n, nil
}

func parseInt(b []byte) (int64, bool) { return encoding.ParseInt(b) }

// ParseFloat parses a double as Redis's getDoubleFromObject does with
// strtod: decimal or hexadecimal ("0x10", "0x1.8p1"), "inf" and
// "infinity" with a sign in any case; leading spaces, trailing text, NaN
// and values out of a double's range (overflow, or underflow to zero) are
// refused.
func ParseFloat(b []byte) (float64, error) {
	f, ok := parseFloat(b)
	if !ok {
		return 0, ErrNotFloat
	}
	return f, nil
}

func parseFloat(b []byte) (float64, bool) {
	f, erange, ok := strtod(b)
	return f, ok && !erange
}

// strtod parses all of b as C's strtod would, with no leading spaces and
// no NaN; erange reports strtod's ERANGE with an infinite or zero result,
// which only some callers refuse.
func strtod(b []byte) (f float64, erange, ok bool) {
	if len(b) == 0 || len(b) > 5000 {
		return 0, false, false
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg, i = b[0] == '-', 1
	}
	body := b[i:]
	if Is(body, "inf") || Is(body, "infinity") {
		if neg {
			return math.Inf(-1), false, true
		}
		return math.Inf(1), false, true
	}
	s := string(b)
	if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
		body = body[2:]
		if !floatSyntax(body, 16) {
			return 0, false, false
		}
		// NB: strtod takes a hexadecimal number without its binary
		// exponent; Go's parser wants one.
		if !bytes.ContainsAny(body, "pP") {
			s += "p0"
		}
	} else if !floatSyntax(body, 10) {
		return 0, false, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); !isNum || ne.Err != strconv.ErrRange {
			return 0, false, false
		}
	}
	return f, math.IsInf(f, 0) || (f == 0 && nonZeroMantissa(body)), true
}

// Is reports whether arg equals word, ignoring ASCII case.
func Is(arg []byte, word string) bool {
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}

// Cursor walks a command's optional arguments.
type Cursor struct {
	args [][]byte
	i    int
}

// NewCursor starts at args[from].
func NewCursor(args [][]byte, from int) *Cursor { return &Cursor{args: args, i: from} }

// More reports whether arguments remain.
func (c *Cursor) More() bool { return c.i < len(c.args) }

// Peek returns the next argument without taking it, or nil.
func (c *Cursor) Peek() []byte {
	if c.i < len(c.args) {
		return c.args[c.i]
	}
	return nil
}

// Next takes the next argument; ErrSyntax when none is left.
func (c *Cursor) Next() ([]byte, error) {
	if c.i >= len(c.args) {
		return nil, ErrSyntax
	}
	c.i++
	return c.args[c.i-1], nil
}

// Int takes the next argument as an integer.
func (c *Cursor) Int() (int64, error) {
	a, err := c.Next()
	if err != nil {
		return 0, err
	}
	return ParseInt(a)
}

// Float takes the next argument as a double.
func (c *Cursor) Float() (float64, error) {
	a, err := c.Next()
	if err != nil {
		return 0, err
	}
	return ParseFloat(a)
}

// Rest returns the arguments not yet taken.
func (c *Cursor) Rest() [][]byte { return c.args[c.i:] }

// ParseTimeout parses a blocking timeout in seconds with decimals, as
// BLPOP takes it; the result is a duration, 0 meaning forever.
// Redis reads it as a long double, so a value past a double's range is
// still a number here.
func ParseTimeout(b []byte) (float64, error) {
	f, _, ok := strtod(b)
	if !ok {
		return 0, ErrTimeout
	}
	if f < 0 {
		return 0, ErrNegTimeout
	}
	if math.IsInf(f, 0) {
		return 0, ErrTimeout
	}
	return f, nil
}

// FormatFloat formats a number the way INCRBYFLOAT and HINCRBYFLOAT store
// it: fixed notation, shortest text that reads back, no exponent.
func FormatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "inf"
	}
	if math.IsInf(f, -1) {
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// rankBounds clamps an index range (negative counts from the end) to a
// list or sorted set of n elements, as LRANGE, LTRIM and ZRANGE do; ok is
// false when the range is empty.
func rankBounds(start, stop, n int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, true
}
