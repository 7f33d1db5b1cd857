package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The readers below follow the C functions redis-server parses its
// configuration with (sdssplitargs, string2ll, strtoll, memtoull,
// string2d), so that Shoal accepts and refuses the same values.

// SplitArgs splits a line into words as redis.conf does (sdssplitargs):
// spaces separate, double quotes take \n \r \t \a \b \xHH escapes, single
// quotes are literal but for \'. A quote may open inside a word
// (name="foo" is name=foo); a closing one must end the word.
func SplitArgs(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var w strings.Builder
		inq, insq := false, false
	word:
		for {
			switch {
			case inq:
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				switch ch := line[i]; {
				case ch == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					v, _ := strconv.ParseUint(line[i+2:i+4], 16, 8)
					w.WriteByte(byte(v))
					i += 3
				case ch == '\\' && i+1 < len(line):
					i++
					w.WriteByte(unescape(line[i]))
				case ch == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, errors.New("closing quote must be followed by a space")
					}
					i++
					break word
				default:
					w.WriteByte(ch)
				}
			case insq:
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				switch {
				case line[i] == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					w.WriteByte('\'')
				case line[i] == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, errors.New("closing quote must be followed by a space")
					}
					i++
					break word
				default:
					w.WriteByte(line[i])
				}
			default:
				if i >= len(line) {
					break word
				}
				switch line[i] {
				case ' ', '\n', '\r', '\t':
					i++
					break word
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					w.WriteByte(line[i])
				}
			}
			i++
		}
		out = append(out, w.String())
	}
}

// unescape is the byte a backslash and c stand for in double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	}
	return c
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// quote writes s in double quotes with C escapes, as sdscatrepr does: the
// form CONFIG REWRITE gives string values.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c >= 0x20 && c <= 0x7e {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// splitSpaces splits a CONFIG SET value of a directive that takes several
// words at single spaces (sdssplitlen): "" is no word, and two spaces make
// an empty word between them.
func splitSpaces(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// string2ll parses a 64-bit integer strictly: an optional '-', no '+', no
// leading zeros, no spaces.
func string2ll(s string) (int64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	switch {
	case neg && v <= 1<<63:
		return int64(-v), true
	case !neg && v <= math.MaxInt64:
		return int64(v), true
	}
	return 0, false
}

// strtoll parses as C's strtoll does when the caller then checks that the
// whole string was read: leading spaces and a sign allowed, out-of-range
// values saturated. ok is false when characters follow the number; the
// empty string reads as 0.
func strtoll(s string) (int64, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > (math.MaxUint64-9)/10 {
			over = true
			continue
		}
		v = v*10 + uint64(s[i]-'0')
	}
	if i == start {
		// No digits: strtoll reads nothing, and the check passes only
		// for the empty string.
		return 0, s == ""
	}
	if i != len(s) {
		return 0, false
	}
	switch {
	case neg && (over || v > 1<<63):
		return math.MinInt64, true
	case neg:
		return int64(-v), true
	case over || v > math.MaxInt64:
		return math.MaxInt64, true
	}
	return int64(v), true
}

// memtoull parses a memory size as Redis 7.0 does: digits and an optional
// unit b, k (1000), kb (1024), m, mb, g, gb in any case. Digits beyond
// 2^64-1 saturate and the unit's product wraps, as in Redis.
func memtoull(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	d := 0
	for d < len(s) && s[d] >= '0' && s[d] <= '9' {
		d++
	}
	var mul uint64
	switch strings.ToLower(s[d:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if d >= 128 {
		return 0, false
	}
	var v uint64
	for i := 0; i < d; i++ {
		if v > (math.MaxUint64-9)/10 {
			v = math.MaxUint64
			break
		}
		v = v*10 + uint64(s[i]-'0')
	}
	return v * mul, true
}

// string2d parses a double as Redis's string2d does: what C's strtod reads
// (hexadecimal included), with nothing before or after, not NaN, not out
// of range.
func string2d(s string) (float64, bool) {
	if s == "" || isSpace(s[0]) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) && !strings.ContainsAny(s, "pP") {
		f, err = strconv.ParseFloat(s+"p0", 64) // strtod needs no binary exponent
	}
	if err != nil || math.IsNaN(f) || strings.Contains(s, "_") {
		return 0, false
	}
	return f, true
}

// ParseMemory parses Redis memory sizes: 100, 1k, 1kb, 5mb, 1gb (k = 1000,
// kb = 1024, and so on).
func ParseMemory(s string) (int64, error) {
	v, ok := memtoull(s)
	if !ok || v > math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a memory size", s)
	}
	return int64(v), nil
}

// formatMemory writes bytes as CONFIG REWRITE does: in gb, mb or kb when
// they divide it. Like Redis it reads the value as signed.
func formatMemory(bytes int64) string {
	for _, u := range []struct {
		n    int64
		unit string
	}{{1 << 30, "gb"}, {1 << 20, "mb"}, {1 << 10, "kb"}} {
		if bytes != 0 && bytes%u.n == 0 {
			return strconv.FormatInt(bytes/u.n, 10) + u.unit
		}
	}
	return strconv.FormatInt(bytes, 10)
}
