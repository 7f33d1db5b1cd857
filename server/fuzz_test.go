package server_test

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/testutil"
)

// Commands a fuzzer must not run on a shared server: they stop it, change
// its configuration, block, or answer more than once.
var fuzzDenied = []string{
	"shutdown", "config", "debug", "client", "acl", "monitor", "sync", "psync",
	"replicaof", "slaveof", "failover", "wait", "waitaof", "subscribe",
	"psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
	"multi", "exec", "quit", "migrate", "cluster", "maintenance", "component",
	"schema", "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin",
	"bzpopmax", "bzmpop", "xread", "xreadgroup", "save", "bgsave", "bgrewriteaof",
}

func fuzzAllowed(name []byte, tab *commands.Table) bool {
	n := strings.ToLower(string(name))
	for _, d := range fuzzDenied {
		if n == d {
			return false
		}
	}
	if cmd := tab.Lookup(name); cmd != nil && cmd.Flags.Has(commands.Blocking) {
		return false
	}
	return true
}

// FuzzDispatch runs arbitrary argument vectors (NUL-separated in the
// input) through a real server connection and checks that each gets
// exactly one well-formed reply, that no handler fails internally, and
// that the connection still answers PING. Seeds are in
// testdata/fuzz/FuzzDispatch.
func FuzzDispatch(f *testing.F) {
	s := testutil.Start(f, nil)
	f.Add([]byte("SET\x00k\x00v\x00EX\x0010"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		args := bytes.Split(in, []byte{0})
		if len(args[0]) == 0 || !fuzzAllowed(args[0], s.Table()) {
			return
		}
		strs := make([]string, len(args))
		for i, a := range args {
			strs[i] = string(a)
		}
		r := testutil.Dial(t, s.Addr())
		defer r.Conn.Close()
		r.Send(mbulk(strs...) + "PING\r\n")
		reply, err := r.ReadReply()
		if err != nil {
			t.Fatalf("%q: reading the reply: %v", strs, err)
		}
		if strings.HasPrefix(reply, "-ERR internal error") {
			t.Fatalf("%q: %q", strs, reply)
		}
		pong, err := r.ReadReply()
		if err != nil || pong != "+PONG\r\n" {
			t.Fatalf("%q: reply %q, then %q (%v) instead of +PONG", strs, reply, pong, err)
		}
	})
}

// FuzzRequestReader sends arbitrary bytes on a raw connection, reads until
// the server closes it, and checks the server still answers. Inputs that
// could name a command that stops or reconfigures the server are skipped.
// Seeds are in testdata/fuzz/FuzzRequestReader.
func FuzzRequestReader(f *testing.F) {
	s := testutil.Start(f, nil)
	f.Add([]byte("PING\r\n*1\r\n$4\r\nPING\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		// Strip what the inline splitter removes before looking for names.
		flat := strings.ToLower(strings.NewReplacer(`"`, "", `'`, "", `\`, "").Replace(string(in)))
		if strings.Contains(string(in), `\x`) {
			return
		}
		for _, d := range fuzzDenied {
			if strings.Contains(flat, d) {
				return
			}
		}
		r := testutil.Dial(t, s.Addr())
		r.Send(string(in))
		r.Conn.(*net.TCPConn).CloseWrite()
		out := expectClosed(t, r)
		if strings.Contains(out, "-ERR internal error") {
			t.Fatalf("%q: %q", in, out)
		}
		expectAlive(t, s)
	})
}
