package server_test

import (
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// lazyExpirySteps meet keys past their expiry with the sweeper off, so
// that only the commands find them: reads, a write over one, and a read
// of another type's command. DEBUG SLEEP lets the deadlines pass on the
// server's own clock.
var lazyExpirySteps = []string{
	"DEBUG SET-ACTIVE-EXPIRE 0",
	"SET k v PX 1",
	"HSET h f v",
	"PEXPIRE h 1",
	"SET w v PX 1",
	"RPUSH l a",
	"PEXPIRE l 1",
	"SET e v PX 1",
	"DEBUG SLEEP 0.02",
	"GET k",
	"GET k",
	"HGET h f",
	"EXISTS h",
	"SET w v2",
	"LPUSH l b",
	"TTL e",
	"DBSIZE",
	"DEBUG SET-ACTIVE-EXPIRE 1",
}

// TestNotifyExpiredOnRead: a command that meets a key past its expiry
// deletes it and fires "expired" before its own events, as
// redis-server 7.0.15's expireIfNeeded does, once per key; the same
// steps on a redis-server and on Shoal give the same replies and events.
func TestNotifyExpiredOnRead(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	s := testutil.Start(t, nil)
	want := lazyExpiryTranscript(t, r.Addr())
	got := lazyExpiryTranscript(t, s.Addr())
	if got != want {
		t.Errorf("Shoal:\n%s\nredis-server 7.0.15:\n%s", got, want)
	}
	if !strings.Contains(want, "expired") {
		t.Fatalf("redis-server fired no expired event:\n%s", want)
	}
	info := testutil.Client(t, s, 2).Info(testutil.Ctx(t), "stats").Val()
	if !strings.Contains(info, "expired_keys:5\r\n") {
		t.Errorf("INFO stats after five keys expired on access:\n%s", info)
	}
}

// lazyExpiryTranscript runs lazyExpirySteps at addr with every event
// class on and returns each reply followed by the events it caused.
func lazyExpiryTranscript(t *testing.T, addr string) string {
	raw := testutil.Dial(t, addr)
	events := listenKeyspace(t, addr, raw, "2", "KEAmn")
	var b strings.Builder
	for _, cmd := range lazyExpirySteps {
		raw.Send(cmd + "\r\n")
		reply, err := raw.ReadReply()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		b.WriteString("> " + cmd + "\n" + reply + events.since(t, raw))
	}
	return strings.ReplaceAll(b.String(), "\r\n", " ")
}
