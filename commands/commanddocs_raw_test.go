package commands_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// go-redis reads RESP3 sets and arrays alike, so commanddocs.golden cannot
// tell them apart; COMMAND INFO and COMMAND DOCS use both. The raw replies
// of redis-server 7.0.15 to rawCommandLines, byte for byte over RESP2 and
// RESP3, are in testdata/commanddocs.raw, and Shoal's must be the same
// bytes. The lines cover every shape the replies take: key specs of each
// kind, notes, tips, doc flags, history, nested arguments and containers
// (whose subcommands Redis lists in hash order, so only one-subcommand
// views of them are here).
const commandDocsRaw = "testdata/commanddocs.raw"

var rawCommandLines = []string{
	"COMMAND INFO get", "COMMAND DOCS get",
	"COMMAND INFO sort", "COMMAND DOCS sort",
	"COMMAND INFO georadius", "COMMAND DOCS georadius",
	"COMMAND INFO getset", "COMMAND DOCS getset",
	"COMMAND INFO keys", "COMMAND DOCS keys",
	"COMMAND INFO xread", "COMMAND DOCS xread",
	"COMMAND INFO eval", "COMMAND DOCS eval",
	"COMMAND INFO set", "COMMAND DOCS set",
	"COMMAND INFO zadd", "COMMAND DOCS zadd",
	"COMMAND INFO spublish", "COMMAND DOCS spublish",
	"COMMAND INFO quit", "COMMAND DOCS quit",
	"COMMAND INFO config|get", "COMMAND DOCS config|get",
	"COMMAND INFO xinfo|stream", "COMMAND DOCS xinfo|stream",
	"COMMAND INFO nosuch", "COMMAND DOCS nosuch",
	"COMMAND GETKEYSANDFLAGS LMOVE a b LEFT RIGHT",
	"COMMAND GETKEYS GET k",
}

// rawRequest is line (arguments split on spaces) as a RESP request.
func rawRequest(line string) string {
	args := strings.Split(line, " ")
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// rawReplies returns the raw replies to rawCommandLines from the server
// at addr, over proto.
func rawReplies(t *testing.T, addr string, proto int) []string {
	t.Helper()
	raw := testutil.Dial(t, addr)
	raw.Send(rawRequest(fmt.Sprintf("HELLO %d", proto)))
	if _, err := raw.ReadReply(); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rawCommandLines))
	for i, line := range rawCommandLines {
		raw.Send(rawRequest(line))
		var err error
		if out[i], err = raw.ReadReply(); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	return out
}

// TestCommandDocsRaw compares Shoal's raw replies to rawCommandLines with
// redis-server 7.0.15's; -commanddocs-record records them with the rest.
func TestCommandDocsRaw(t *testing.T) {
	if addr := *commandDocsRecord; addr != "" {
		recordingClient(t, addr, 3) // checks that it is redis-server 7.0.15
		replies := map[int][]string{2: rawReplies(t, addr, 2), 3: rawReplies(t, addr, 3)}
		var b strings.Builder
		b.WriteString("# Raw replies of redis-server 7.0.15 to rawCommandLines (commanddocs_raw_test.go), quoted,\n")
		b.WriteString("# recorded with: go test ./commands -run TestCommandDocsRaw -commanddocs-record 127.0.0.1:PORT\n")
		b.WriteString("# Never regenerate this file from Shoal's output.\n")
		for i, line := range rawCommandLines {
			fmt.Fprintf(&b, "> %s\n2: %s\n3: %s\n", line, strconv.Quote(replies[2][i]), strconv.Quote(replies[3][i]))
		}
		if err := os.WriteFile(commandDocsRaw, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	golden := readGolden(t, commandDocsRaw)
	if len(golden) != len(rawCommandLines) {
		t.Fatalf("%s has %d lines, rawCommandLines %d: record it again from redis-server", commandDocsRaw, len(golden), len(rawCommandLines))
	}
	s := testutil.Start(t, nil)
	for _, proto := range []int{2, 3} {
		got := rawReplies(t, s.Addr(), proto)
		for i, g := range golden {
			if g.cmd != rawCommandLines[i] {
				t.Fatalf("%s: line %d is %q, rawCommandLines' %q: record it again", commandDocsRaw, i, g.cmd, rawCommandLines[i])
			}
			want, err := strconv.Unquote(g.reply[proto])
			if err != nil {
				t.Fatal(err)
			}
			if got[i] != want {
				t.Errorf("%s (RESP%d):\n redis %q\n shoal %q", g.cmd, proto, want, got[i])
			}
		}
	}
}
