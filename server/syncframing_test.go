package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestSyncFramingAsRedis: a replica that did not announce "capa eof" gets
// the RDB with its length first, as Redis sends it from disk; the old SYNC
// gets no +FULLRESYNC line before it (as Redis's test suite reads the
// stream); one that announced it gets the EOF-marked RDB. After the RDB
// the stream carries the primary's writes. Shoal and redis-server 7.0.15
// frame each the same way.
func TestSyncFramingAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	// The replica's reading of a stream: the RDB's framing, its first
	// bytes, and the commands after it but for PINGs.
	attach := func(t *testing.T, p peer, hello []string, req string) string {
		nc, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(nc)
		for _, h := range hello {
			io.WriteString(nc, h+"\r\n")
			if line, _ := br.ReadString('\n'); line != "+OK\r\n" {
				t.Fatalf("%s: %s: %q", p.name, h, line)
			}
		}
		io.WriteString(nc, req+"\r\n")
		var out []string
		line, _ := br.ReadString('\n')
		for line == "\n" { // Redis's keepalive newlines while it saves
			line, _ = br.ReadString('\n')
		}
		if strings.HasPrefix(line, "+FULLRESYNC ") {
			out = append(out, "+FULLRESYNC <id> <offset>")
			line, _ = br.ReadString('\n')
			for line == "\n" {
				line, _ = br.ReadString('\n')
			}
		}
		switch {
		case strings.HasPrefix(line, "$EOF:"):
			mark := strings.TrimSpace(line[len("$EOF:"):])
			out = append(out, fmt.Sprintf("$EOF:<%d bytes>", len(mark)))
			var rdb []byte
			for !strings.HasSuffix(string(rdb), mark) {
				b, err := br.ReadByte()
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				rdb = append(rdb, b)
			}
			out = append(out, "rdb "+string(rdb[:9]))
			// A diskless replica is online once it acknowledges, as it
			// does every second: an ACK the primary reads before it saw
			// the transfer end counts for nothing.
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					io.WriteString(nc, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n")
					select {
					case <-done:
						return
					case <-time.After(200 * time.Millisecond):
					}
				}
			}()
		case strings.HasPrefix(line, "$"):
			n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
			if err != nil {
				t.Fatalf("%s: %q", p.name, line)
			}
			rdb := make([]byte, n)
			if _, err := io.ReadFull(br, rdb); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			out = append(out, "$<length>", "rdb "+string(rdb[:9]))
		default:
			t.Fatalf("%s: %q", p.name, line)
		}
		if err := p.c.Set(ctx, "foo", "bar", 0).Err(); err != nil {
			t.Fatal(err)
		}
		var stream strings.Builder
		for !strings.Contains(stream.String(), "bar\r\n") {
			b, err := br.ReadByte()
			if err != nil {
				t.Fatalf("%s: %v after %q", p.name, err, stream.String())
			}
			stream.WriteByte(b)
		}
		return strings.Join(append(out, strings.ReplaceAll(stream.String(), "*1\r\n$4\r\nPING\r\n", "")), " | ")
	}
	cases := []struct {
		name  string
		hello []string
		req   string
	}{
		{"SYNC", nil, "SYNC"},
		{"PSYNC without capa eof", nil, "PSYNC ? -1"},
		{"PSYNC with capa eof", []string{"REPLCONF capa eof capa psync2"}, "PSYNC ? -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range bothPeers(t) {
				// redis-server waits 5 s for more replicas before a
				// diskless sync by default.
				p.c.ConfigSet(ctx, "repl-diskless-sync-delay", "0")
				got = append(got, attach(t, p, tc.hello, tc.req))
			}
			if got[0] != got[1] {
				t.Fatalf("Shoal:        %q\nredis-server: %q", got[0], got[1])
			}
		})
	}
}
