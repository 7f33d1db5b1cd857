package server_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// lazyExpirySteps meet keys past their expiry with the sweeper off, so
// that only the commands find them: reads, a write over one, and a read
// of another type's command. At passTime the deadlines pass: Shoal's
// clock is moved on, redis-server sleeps (DEBUG SLEEP) on its own.
var lazyExpirySteps = []string{
	"DEBUG SET-ACTIVE-EXPIRE 0",
	"SET k v PX 100",
	"HSET h f v",
	"PEXPIRE h 100",
	"SET w v PX 100",
	"RPUSH l a",
	"PEXPIRE l 100",
	"SET e v PX 100",
	passTime,
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

// passTime is the step at which the keys' deadlines pass.
const passTime = "(200 ms pass)"

// TestNotifyExpiredOnRead: a command that meets a key past its expiry
// deletes it and fires "expired" before its own events, as
// redis-server 7.0.15's expireIfNeeded does, once per key; the same
// steps on a redis-server and on Shoal give the same replies and events.
func TestNotifyExpiredOnRead(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s := testutil.StartWith(t, nil, server.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	want := lazyExpiryTranscript(t, r.Addr(), func(raw *testutil.Raw) {
		raw.Send("DEBUG SLEEP 0.2\r\n")
		if _, err := raw.ReadReply(); err != nil {
			t.Fatal(err)
		}
	})
	got := lazyExpiryTranscript(t, s.Addr(), func(*testutil.Raw) { clock.Add(int64(200 * time.Millisecond)) })
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
// class on, pass letting the deadlines pass, and returns each reply
// followed by the events it caused.
func lazyExpiryTranscript(t *testing.T, addr string, pass func(*testutil.Raw)) string {
	raw := testutil.Dial(t, addr)
	events := listenKeyspace(t, addr, raw, "2", "KEAmn")
	var b strings.Builder
	for _, cmd := range lazyExpirySteps {
		if cmd == passTime {
			pass(raw)
			b.WriteString("> " + cmd + "\n")
			continue
		}
		raw.Send(cmd + "\r\n")
		reply, err := raw.ReadReply()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		b.WriteString("> " + cmd + "\n" + reply + events.since(t, raw))
	}
	return strings.ReplaceAll(b.String(), "\r\n", " ")
}
