package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestSecretsRedactedAsRedis: the slow log and MONITOR show AUTH, HELLO
// AUTH, ACL SETUSER, CONFIG SET of a sensitive directive and MIGRATE's
// credentials as redis-server 7.0.15 does, with "(redacted)" for each
// secret, whether the call succeeded or failed.
func TestSecretsRedactedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	calls := []string{
		`ACL SETUSER "a b" +get`,
		`ACL SETUSER u1 on >pw +@all ~*`,
		`AUTH u1 pw`,
		`AUTH wrong`,
		`AUTH a b c`,
		`HELLO 3 AUTH u1 pw SETNAME x`,
		`HELLO 3 AUTH u1`,
		`HELLO 4 AUTH u1 pw`,
		`HELLO 3 SETNAME y AUTH u1 pw`,
		`HELLO 3 FOO AUTH u1 pw`,
		`CONFIG SET masterauth secret maxmemory-policy noeviction`,
		`CONFIG SET nosuch 1 masteruser m`,
		`MIGRATE 127.0.0.1 1 nokey 0 10 AUTH pw`,
		`MIGRATE 127.0.0.1 1 "" 0 10 COPY AUTH2 u p KEYS nokey`,
		`ACL DELUSER u1`,
	}
	var got [2]string
	for i, p := range bothPeers(t) {
		mon := testutil.Dial(t, p.addr)
		mon.Send("MONITOR\r\n")
		if r, err := mon.ReadReply(); err != nil || r != "+OK\r\n" {
			t.Fatalf("%s: MONITOR: %q %v", p.name, r, err)
		}
		p.c.ConfigSet(ctx, "slowlog-log-slower-than", "0")
		p.c.Do(ctx, "SLOWLOG", "RESET")
		for _, call := range calls {
			c := testutil.Dial(t, p.addr)
			c.Send(call + "\r\n")
			if _, err := c.ReadReply(); err != nil {
				t.Fatalf("%s: %s: %v", p.name, call, err)
			}
		}
		p.c.ConfigSet(ctx, "slowlog-log-slower-than", "-1")
		entries, err := p.c.Do(ctx, "SLOWLOG", "GET", "-1").Slice()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for j := len(entries) - 1; j >= 0; j-- {
			fmt.Fprintln(&b, "slowlog:", entries[j].([]any)[3])
		}
		p.c.Do(ctx, "PING", "end")
		for {
			line, err := mon.ReadReply()
			if err != nil {
				t.Fatalf("%s: MONITOR: %v", p.name, err)
			}
			line = strings.TrimSpace(line[strings.Index(line, "] ")+2:])
			if strings.EqualFold(line, `"ping" "end"`) {
				break
			}
			fmt.Fprintln(&b, "monitor:", line)
		}
		got[i] = b.String()
	}
	sameOnBoth(t, got[:])
	// NB: a HELLO that fails before its options shows them, in Redis too.
	if strings.Contains(got[0], "secret") || strings.Contains(got[0], ">pw") {
		t.Fatalf("a secret is shown:\n%s", got[0])
	}
}
