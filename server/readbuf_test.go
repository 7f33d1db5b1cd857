package server_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestIdleClientsGiveBackReadBuffers: a client idle for more than two
// seconds holds no query buffer (CLIENT LIST's qbuf and qbuf-free both
// 0), as redis-server 7.0.15 frees it; the client's next command, one
// it sent half of before going idle, and a blocking command that waits
// past the two seconds are all served.
func TestIdleClientsGiveBackReadBuffers(t *testing.T) {
	ctx := testutil.Ctx(t)
	qbuf := regexp.MustCompile(`qbuf=\d+ qbuf-free=\d+`)
	for _, p := range bothPeers(t) {
		fields := func(name string) string {
			for _, line := range strings.Split(p.c.ClientList(ctx).Val(), "\n") {
				if strings.Contains(line, " name="+name+" ") {
					return qbuf.FindString(line)
				}
			}
			return ""
		}
		idler := testutil.Dial(t, p.addr)
		exchange(t, idler, "CLIENT SETNAME idler\r\n", "+OK\r\n")
		eventuallyTrue(t, p.name+": the idle client's buffer given back", func() bool { return fields("idler") == "qbuf=0 qbuf-free=0" })
		exchange(t, idler, "SET k v\r\n", "+OK\r\n")
		if got := fields("idler"); got == "qbuf=0 qbuf-free=0" {
			t.Errorf("%s: a client that just sent holds no buffer", p.name)
		}
		if p.name != "shoal" {
			continue
		}
		// Half a command, then idle: the rest completes it.
		idler.Send("*2\r\n$3\r\nGET\r\n")
		eventuallyTrue(t, "the half-sent client parked", func() bool { return strings.HasSuffix(fields("idler"), " qbuf-free=0") })
		exchange(t, idler, "$1\r\nk\r\n", "$1\r\nv\r\n")
		// A blocked client is not idle: served after the two seconds.
		blocked := testutil.Dial(t, p.addr)
		exchange(t, blocked, "CLIENT SETNAME blocked\r\n", "+OK\r\n")
		blocked.Send("BLPOP q 0\r\n")
		eventuallyTrue(t, "the idle client's buffer given back", func() bool { return fields("idler") == "qbuf=0 qbuf-free=0" })
		p.c.RPush(ctx, "q", "x")
		if got, err := blocked.ReadReply(); err != nil || got != "*2\r\n$1\r\nq\r\n$1\r\nx\r\n" {
			t.Fatalf("BLPOP after an idle wait: %q %v", got, err)
		}
	}
}
