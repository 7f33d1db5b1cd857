package server

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/redcon"
)

var testLimits = frameLimits{maxBulk: 512 << 20, maxQuery: 1 << 30}

// frameAll feeds in to a fresh framer in chunks of size chunk (all at once
// when 0), as a connection does: each chunk is read into one buffer that
// the next read overwrites. It returns the requests framed, in their
// canonical form, and the error.
func frameAll(in []byte, chunk int, lim frameLimits) ([]byte, *framingError) {
	var f framer
	var out []byte
	buf := make([]byte, len(in))
	for len(in) > 0 {
		n := len(in)
		if chunk > 0 && chunk < n {
			n = chunk
		}
		p := buf[:copy(buf, in[:n])]
		for len(p) > 0 {
			used, err := f.feed(p, lim)
			for _, r := range f.reqs {
				out = appendMultibulk(out, f.request(r))
			}
			if err != nil {
				return out, err
			}
			f.release()
			p = p[used:]
		}
		for i := range buf[:n] {
			buf[i] = 'Z' // the next read reuses the buffer
		}
		in = in[n:]
	}
	return out, nil
}

func appendMultibulk(dst []byte, args [][]byte) []byte {
	dst = append(strconv.AppendInt(append(dst, '*'), int64(len(args)), 10), '\r', '\n')
	for _, a := range args {
		dst = append(strconv.AppendInt(append(dst, '$'), int64(len(a)), 10), '\r', '\n')
		dst = append(append(dst, a...), '\r', '\n')
	}
	return dst
}

func mb(args ...string) string {
	var b [][]byte
	for _, a := range args {
		b = append(b, []byte(a))
	}
	return string(appendMultibulk(nil, b))
}

func TestFramer(t *testing.T) {
	big := strings.Repeat("x", maxInline+1)
	tests := []struct {
		name, in, out, err string
		lim                *frameLimits
	}{
		{name: "multibulk", in: "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", out: mb("ECHO", "hi")},
		{name: "empty bulk", in: "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", out: mb("ECHO", "")},
		{name: "pipeline", in: "*1\r\n$4\r\nPING\r\nPING\r\n", out: mb("PING") + mb("PING")},
		{name: "incomplete", in: "*2\r\n$4\r\nECHO\r\n$2\r\nh", out: ""},
		{name: "bytes after bulk unchecked", in: "*1\r\n$4\r\nPINGxx", out: mb("PING")},
		{name: "header ends a byte after CR", in: "*1\rx$4\ryPING\r\n", out: mb("PING")},
		{name: "star zero ignored", in: "*0\r\n*-1\r\nPING\r\n", out: mb("PING")},
		{name: "bad count", in: "*abc\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{name: "plus count", in: "*+1\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{name: "leading zero count", in: "*01\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{name: "empty count", in: "*\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{name: "count over limit", in: "*1048577\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{name: "count at limit", in: "*1048576\r\n", out: ""},
		{name: "count line too big", in: "*" + big, err: "ERR Protocol error: too big mbulk count string"},
		{name: "expected dollar", in: "*2\r\n$3\r\nfoo\r\nbar\r\n", out: "", err: "ERR Protocol error: expected '$', got 'b'"},
		{name: "expected dollar waits for CR", in: "*1\r\nx", out: ""},
		{name: "expected dollar on empty line", in: "*1\r\n\r\n", out: "", err: "ERR Protocol error: expected '$', got ' '"},
		{name: "negative bulk", in: "*1\r\n$-1\r\n", out: "", err: "ERR Protocol error: invalid bulk length"},
		{name: "bad bulk", in: "*1\r\n$abc\r\n", out: "", err: "ERR Protocol error: invalid bulk length"},
		{name: "bulk over limit", in: "*1\r\n$536870913\r\n", out: "", err: "ERR Protocol error: invalid bulk length"},
		{name: "bulk line too big", in: "*1\r\n$" + big, out: "", err: "ERR Protocol error: too big bulk count string"},
		{name: "error after good request", in: "PING\r\n*1\n$4\r\nPING\r\n", out: mb("PING"), err: "ERR Protocol error: invalid multibulk length"},
		{name: "inline", in: "PING\r\n", out: mb("PING")},
		{name: "inline LF only", in: "PING\n", out: mb("PING")},
		{name: "inline spaces", in: "  SET\t a   b  \r\n", out: mb("SET", "a", "b")},
		{name: "inline empty lines", in: "\r\n\n\r\nPING\r\n", out: mb("PING")},
		{name: "inline double quotes", in: "SET a \"b c\"\r\n", out: mb("SET", "a", "b c")},
		{name: "inline escapes", in: `SET a "\x41\n\t\"\\\q"` + "\r\n", out: mb("SET", "a", "A\n\t\"\\q")},
		{name: "inline single quotes", in: `SET a 'b\'c\n'` + "\r\n", out: mb("SET", "a", `b'c\n`)},
		{name: "inline quote in word", in: "SET a\"b c\"\r\n", out: mb("SET", "ab c")},
		{name: "inline empty quotes", in: "ECHO \"\"\r\n", out: mb("ECHO", "")},
		{name: "inline NUL ends line", in: "PING\x00 junk\r\n\x00\r\n", out: mb("PING")},
		{name: "inline unbalanced", in: "SET a \"b c\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
		{name: "inline closing quote glued", in: "SET a \"b c\"x\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
		{name: "inline unbalanced single", in: "SET a 'b\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
		{name: "inline too big", in: big, err: "ERR Protocol error: too big inline request"},
		{name: "dollar inline", in: "$3\r\n", out: mb("$3")},
		{name: "query limit", in: "*1\r\n$2000000\r\n" + strings.Repeat("x", 1<<20), out: "", err: "client reached client-query-buffer-limit",
			lim: &frameLimits{maxBulk: 512 << 20, maxQuery: 1 << 20}},
		{name: "unauth multibulk", in: "*11\r\n", err: "ERR Protocol error: unauthenticated multibulk length",
			lim: &frameLimits{maxBulk: 512 << 20, maxQuery: 1 << 30, unauth: true}},
		{name: "unauth bulk", in: "*1\r\n$16385\r\n", out: "", err: "ERR Protocol error: unauthenticated bulk length",
			lim: &frameLimits{maxBulk: 512 << 20, maxQuery: 1 << 30, unauth: true}},
		{name: "unauth small", in: "*2\r\n$4\r\nAUTH\r\n$16384\r\n" + strings.Repeat("p", 16384) + "\r\n", out: mb("AUTH", strings.Repeat("p", 16384)),
			lim: &frameLimits{maxBulk: 512 << 20, maxQuery: 1 << 30, unauth: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := testLimits
			if tt.lim != nil {
				lim = *tt.lim
			}
			for _, chunk := range []int{0, 1, 3, 7} {
				out, err := frameAll([]byte(tt.in), chunk, lim)
				got := ""
				if err != nil {
					got = err.reply
					if got == "" {
						got = err.msg
					}
				}
				if got != tt.err {
					t.Fatalf("chunk %d: error %q, want %q", chunk, got, tt.err)
				}
				if tt.name == "query limit" {
					continue // the payload before the limit passes through
				}
				if string(out) != tt.out {
					t.Fatalf("chunk %d: out %q, want %q", chunk, out, tt.out)
				}
			}
		})
	}
}

// TestFramerManyArguments frames requests of more arguments than a framer
// keeps room for, arriving in pieces, with a request after each.
func TestFramerManyArguments(t *testing.T) {
	args := []string{"RPUSH", "l"}
	for i := 0; i < 3*argvKeep; i++ {
		args = append(args, strconv.Itoa(i))
	}
	want := mb(args...) + mb("PING") + mb(args...) + mb("PING")
	for _, chunk := range []int{7, 1000, 16 << 10} {
		out, err := frameAll([]byte(want), chunk, testLimits)
		if err != nil || string(out) != want {
			t.Fatalf("chunk %d: %d bytes framed (want %d), %v", chunk, len(out), len(want), err)
		}
	}
}

// TestFramerReleasesManyArguments: once the requests of a feed are served,
// the list of a request of many arguments goes, and with it the
// arguments; the list of one still arriving stays.
func TestFramerReleasesManyArguments(t *testing.T) {
	args := []string{"RPUSH", "l"}
	for i := 0; i < 3*argvKeep; i++ {
		args = append(args, strconv.Itoa(i))
	}
	req := []byte(mb(args...))
	var f framer
	if _, err := f.feed(req[:len(req)-10], testLimits); err != nil || len(f.reqs) != 0 {
		t.Fatalf("partial request: %d framed, %v", len(f.reqs), err)
	}
	f.release()
	if len(f.argv) != len(args)-1 {
		t.Fatalf("partial request: %d arguments kept, want %d", len(f.argv), len(args)-1)
	}
	if _, err := f.feed(req[len(req)-10:], testLimits); err != nil || len(f.reqs) != 1 {
		t.Fatalf("rest of the request: %d framed, %v", len(f.reqs), err)
	}
	if got := f.request(f.reqs[0]); len(got) != len(args) || string(got[len(got)-1]) != args[len(args)-1] {
		t.Fatalf("request of %d arguments framed as %d", len(args), len(got))
	}
	f.release()
	if cap(f.argv) != 0 {
		t.Fatalf("served request's list kept: cap %d", cap(f.argv))
	}
}

// TestFramerUnauthStopsPerRequest checks that, for a client that must still
// AUTH, the framer hands over one request at a time, so that the AUTH runs
// before the limits for the next request are chosen.
func TestFramerUnauthStopsPerRequest(t *testing.T) {
	var f framer
	in := []byte("AUTH p\r\n*11\r\n")
	framed := func() string {
		var out []byte
		for _, r := range f.reqs {
			out = appendMultibulk(out, f.request(r))
		}
		return string(out)
	}
	used, err := f.feed(in, frameLimits{maxBulk: 1 << 20, maxQuery: 1 << 20, unauth: true})
	if out := framed(); err != nil || used != len("AUTH p\r\n") || out != mb("AUTH", "p") {
		t.Fatalf("feed = %q, %d, %v", out, used, err)
	}
	used, err = f.feed(in[used:], testLimits)
	if out := framed(); err != nil || used != len("*11\r\n") || out != "" || f.left != 11 {
		t.Fatalf("feed = %q, %d, %v, %d bulks to come", out, used, err, f.left)
	}
}

func TestParseLL(t *testing.T) {
	tests := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"1048576", 1048576, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"01", 0, false}, {"+1", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseLL([]byte(tt.in))
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseLL(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		args []string
		ok   bool
	}{
		{"", nil, true},
		{"   ", nil, true},
		{"a b  c", []string{"a", "b", "c"}, true},
		{`"a b" c`, []string{"a b", "c"}, true},
		{`"\x4a\x4B\xzz"`, []string{"JKxzz"}, true},
		{`"\a\b\r"`, []string{"\a\b\r"}, true},
		{`'a\\b'`, []string{`a\\b`}, true},
		{`""`, []string{""}, true},
		{`''`, []string{""}, true},
		{`"a`, nil, false},
		{`"a"b`, nil, false},
		{`'a'b`, nil, false},
		{`"a\"`, nil, false},
		{"a\x00\"", []string{"a"}, true},
	}
	for _, tt := range tests {
		args, ok := splitArgs([]byte(tt.in))
		var got []string
		for _, a := range args {
			got = append(got, string(a))
		}
		if ok != tt.ok || strings.Join(got, "|") != strings.Join(tt.args, "|") || len(got) != len(tt.args) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.args, tt.ok)
		}
	}
}

// checkFramed asserts what a framer reads is always well formed: the same
// input framed in other chunk sizes gives the same requests and the same
// error, no request is empty, and the requests' canonical form reads back
// as the same requests, through the framer and through redcon's reader.
func checkFramed(t *testing.T, in []byte) {
	lim := frameLimits{maxBulk: 1 << 20, maxQuery: 4 << 20}
	out, ferr := frameAll(in, 0, lim)
	for _, chunk := range []int{1, 5} {
		out2, ferr2 := frameAll(in, chunk, lim)
		if !bytes.Equal(out, out2) || (ferr == nil) != (ferr2 == nil) || (ferr != nil && *ferr != *ferr2) {
			t.Fatalf("chunk %d: %q, %v; whole: %q, %v", chunk, out2, ferr2, out, ferr)
		}
	}
	if again, err := frameAll(out, 3, lim); err != nil || !bytes.Equal(again, out) {
		t.Fatalf("framing %q again gives %q, %v", out, again, err)
	}
	rd := redcon.NewReader(bytes.NewReader(out))
	var back []byte
	for {
		cmd, err := rd.ReadCommand()
		if err != nil {
			if strings.Contains(err.Error(), "Protocol error") {
				t.Fatalf("redcon rejects framed %q: %v", out, err)
			}
			break
		}
		if len(cmd.Args) == 0 {
			t.Fatalf("empty command framed from %q", in)
		}
		back = appendMultibulk(back, cmd.Args)
	}
	if !bytes.Equal(back, out) {
		t.Fatalf("redcon reads %q as %q", out, back)
	}
}

// FuzzFramer feeds arbitrary bytes to the framer and checks that it does
// not panic, that chunking does not change its result and that the
// requests it reads are well formed (checkFramed). Seeds are in
// testdata/fuzz/FuzzFramer.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("*1\r\n$4\r\nPING\r\nPING\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkFramed(t, in)
	})
}
