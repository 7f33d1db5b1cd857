package server_test

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestMigrateAsRedisSeesIt runs MIGRATE with credentials from a
// redis-server 7.0.15 and from Shoal, each with a MONITOR client, the
// slow log catching everything and keyspace events on, and compares what
// each shows: the credentials hidden, the moved keys' "del" events. A
// Shoal replica of the Shoal source loses the moved keys too.
func TestMigrateAsRedisSeesIt(t *testing.T) {
	ctx := testutil.Ctx(t)
	target := testutil.StartRedisServer(t, t.TempDir())
	if err := target.Client(t, 0).ConfigSet(ctx, "requirepass", "secret").Err(); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(target.Addr())
	observe := func(t *testing.T, addr string) []string {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		defer c.Close()
		for _, kv := range [][2]string{{"slowlog-log-slower-than", "0"}, {"notify-keyspace-events", "Eg"}} {
			if err := c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
				t.Fatal(err)
			}
		}
		c.MSet(ctx, "a", "1", "b", "2")
		mon := testutil.Dial(t, addr)
		mon.Send("MONITOR\r\n")
		if r, err := mon.ReadReply(); err != nil || r != "+OK\r\n" {
			t.Fatalf("MONITOR: %q %v", r, err)
		}
		sub := c.Subscribe(ctx, "__keyevent@0__:del")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, cmd := range [][]any{
			{"MIGRATE", "127.0.0.1", port, "a", 0, 1000, "AUTH", "secret"},
			{"MIGRATE", "127.0.0.1", port, "", 0, 1000, "COPY", "AUTH2", "default", "secret", "KEYS", "b"},
			{"MIGRATE", "127.0.0.1", port, "", 0, 1000, "REPLACE", "AUTH2", "default", "secret", "KEYS", "b"},
		} {
			if err := c.Do(ctx, cmd...).Err(); err != nil {
				t.Fatal(cmd, err)
			}
			for {
				// NB: the clients' handshakes come through too.
				line, err := mon.ReadReply()
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(line, `"MIGRATE"`) {
					out = append(out, "monitor: "+monitorArgs.FindString(line))
					break
				}
			}
		}
		for _, e := range c.SlowLogGet(ctx, 10).Val() {
			if strings.EqualFold(e.Args[0], "migrate") {
				out = append(out, fmt.Sprintf("slowlog: %q", e.Args))
			}
		}
		for range 2 {
			m, err := sub.ReceiveTimeout(ctx, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("event: %v", m))
		}
		return out
	}
	want := observe(t, testutil.StartRedisServer(t, t.TempDir()).Addr())
	tc := redis.NewClient(&redis.Options{Addr: target.Addr(), Password: "secret"})
	defer tc.Close()
	tc.FlushAll(ctx)
	s := testutil.Start(t, nil)
	r := startReplica(t, s)
	got := observe(t, s.Addr())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	testutil.Client(t, s, 2).Set(ctx, "after", "1", 0)
	rc := testutil.Client(t, r, 2)
	eventuallyTrue(t, "the replica to take the write after MIGRATE", func() bool {
		return rc.Exists(ctx, "after").Val() == 1
	})
	if n := rc.Exists(ctx, "a", "b").Val(); n != 0 {
		t.Errorf("the replica holds %d of the moved keys", n)
	}
	if v := tc.MGet(ctx, "a", "b").Val(); fmt.Sprint(v) != "[1 2]" {
		t.Errorf("the target holds %v", v)
	}
}

// monitorArgs is a MONITOR line's arguments, after its time, database
// and client address.
var monitorArgs = regexp.MustCompile(`\] .*`)
