package commands

import (
	"math"
	"testing"
)

// The numbers below are what Redis 7's strtod- and strtoul-based parsers
// accept and refuse (checked against redis-server).
func TestParseFloatLikeStrtod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1.5", 1.5, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"+.5e1", 5, true},
		{"-0", 0, true},
		{"0x10", 16, true},
		{"0x1p4", 16, true},
		{"0X1.8P1", 3, true},
		{"inf", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true},
		{"1e-310", 1e-310, true}, // a denormal is a value
		{"1e400", 0, false},      // overflow
		{"-1e400", 0, false},
		{"1e-400", 0, false}, // underflow to zero
		{"0e-400", 0, true},
		{"0x", 0, false},
		{"0xp1", 0, false},
		{"", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1e", 0, false},
		{"1e5x", 0, false},
		{"1.5.5", 0, false},
		{"nan", 0, false},
		{"NaN", 0, false},
		{"1_000", 0, false},
		{"+", 0, false},
	} {
		got, err := ParseFloat([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseFloat(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseScoreBoundLikeRedis(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   float64
		ex, ok bool
	}{
		{"1", 1, false, true},
		{"(1", 1, true, true},
		{"", 0, false, true}, // strtod of "" is 0 with nothing left over
		{"(", 0, true, true}, // likewise after the "("
		{" 16", 16, false, true},
		{"( 16", 16, true, true},
		{"1e400", math.Inf(1), false, true},
		{" ", 0, false, false},
		{"x", 0, false, false},
		{"(nan", 0, false, false},
	} {
		got, ex, ok := parseScoreBound([]byte(tc.in))
		if ok != tc.ok || (ok && (got != tc.want || ex != tc.ex)) {
			t.Errorf("parseScoreBound(%q) = %v, %v, %v; want %v, %v, %v", tc.in, got, ex, ok, tc.want, tc.ex, tc.ok)
		}
	}
}

func TestParseScanCursorLikeStrtoul(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"", 0, true},
		{"+0", 0, true},
		{"12", 12, true},
		{"-1", math.MaxUint64, true},
		{"18446744073709551615", math.MaxUint64, true},
		{"18446744073709551616", 0, false},
		{"-", 0, false},
		{"+-1", 0, false},
		{" 0", 0, false},
		{"0 ", 0, false},
		{"1x", 0, false},
		{"0x10", 0, false},
	} {
		got, err := ParseScanCursor([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseScanCursor(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseTimeoutLongDouble(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err error
	}{
		{"0", nil},
		{"0.5", nil},
		{"0x1p-10", nil},
		{"-1", ErrNegTimeout},
		{"-1e400", ErrNegTimeout}, // a long double, and negative
		{"-inf", ErrNegTimeout},
		{"abc", ErrTimeout},
		{"", ErrTimeout},
		{" 1", ErrTimeout},
	} {
		if _, err := ParseTimeout([]byte(tc.in)); err != tc.err {
			t.Errorf("ParseTimeout(%q) = %v, want %v", tc.in, err, tc.err)
		}
	}
	for _, in := range []string{"inf", "1e400"} {
		if _, err := ParseBlockTimeout([]byte(in)); err != ErrNegTimeout {
			t.Errorf("ParseBlockTimeout(%q) = %v, want %v (Redis's overflowing conversion)", in, err, ErrNegTimeout)
		}
	}
}
