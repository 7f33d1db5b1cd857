package commands_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestMigrateMatchesRedis runs the same MIGRATE commands from a
// redis-server 7.0.15 and from Shoal, each to a target of either kind,
// and compares every reply and what each source and target holds after
// them with redis-server to redis-server's.
func TestMigrateMatchesRedis(t *testing.T) {
	type side struct {
		name   string
		client func(t *testing.T) (*redis.Client, string)
	}
	redisSide := side{"redis", func(t *testing.T) (*redis.Client, string) {
		r := testutil.StartRedisServer(t, t.TempDir())
		return r.Client(t, 0), r.Addr()
	}}
	shoalSide := side{"shoal", func(t *testing.T) (*redis.Client, string) {
		s := testutil.Start(t, nil)
		return testutil.Client(t, s, 2), s.Addr()
	}}
	type outcome struct {
		replies         []string
		source, targets []map[string]string
	}
	run := func(t *testing.T, src, dst side) outcome {
		sc, _ := src.client(t)
		_, taddr := dst.client(t)
		pc, paddr := dst.client(t) // a target behind a password
		ctx := testutil.Ctx(t)
		if err := pc.ConfigSet(ctx, "requirepass", "secret").Err(); err != nil {
			t.Fatal(err)
		}
		fillMigrateSource(t, sc)
		_, port, _ := net.SplitHostPort(taddr)
		_, pport, _ := net.SplitHostPort(paddr)
		closed := strconv.Itoa(testutil.FreePort(t))
		// NB: the ports differ from run to run: the commands name them.
		ports := map[string]string{"TARGET": port, "LOCKED": pport, "CLOSED": closed}
		host := "127.0.0.1"
		var out outcome
		for _, cmd := range [][]any{
			{"MIGRATE", host, "TARGET", "nokey", 0, 1000},
			{"MIGRATE", host, "TARGET", "", 0, 1000, "KEYS", "s", "h", "nokey"},
			{"MIGRATE", host, "TARGET", "l", 0, 1000, "COPY"},
			{"MIGRATE", host, "TARGET", "l", 0, 1000},
			{"MIGRATE", host, "TARGET", "l", 0, 1000, "REPLACE"},
			{"MIGRATE", host, "TARGET", "", 3, 1000, "KEYS", "z", "x", "ttl", "big", "missing"},
			{"MIGRATE", host, "TARGET", "k", 0, 1000, "KEYS", "a"},
			{"MIGRATE", host, "TARGET", "k", 0, 1000, "FOO"},
			{"MIGRATE", host, "TARGET", "k", 0, 1000, "AUTH"},
			{"MIGRATE", host, "TARGET", "k", 0, "soon"},
			{"MIGRATE", host, "TARGET", "k", "zero", 1000},
			{"MIGRATE", host, "TARGET", "k", 0, 1000, "AUTH", "secret"},
			{"MIGRATE", host, "CLOSED", "k", 0, 100},
			{"MIGRATE", host, "TARGET", "k", 99, 1000},
			{"MIGRATE", host, "TARGET", "k", 0, 0, "COPY"},
			{"MIGRATE", host, "LOCKED", "k", 0, 1000},
			{"MIGRATE", host, "LOCKED", "k", 0, 1000, "AUTH", "wrong"},
			{"MIGRATE", host, "LOCKED", "k", 0, 1000, "AUTH", "secret"},
			{"MIGRATE", host, "LOCKED", "", 0, 1000, "AUTH2", "default", "secret", "KEYS", "e"},
			{"MIGRATE", host, "TARGET", "", 5, 1000, "REPLACE", "KEYS", "dup", "dup"},
			{"DBSIZE"},
			{"MIGRATE", host, "TARGET", "", 5, 1000, "KEYS"},
		} {
			args := append([]any(nil), cmd...)
			if len(args) > 2 {
				args[2] = ports[cmd[2].(string)]
			}
			v, err := sc.Do(ctx, args...).Result()
			out.replies = append(out.replies, fmt.Sprintf("%v -> %s", cmd, renderReply(v, err)))
		}
		out.source = []map[string]string{withoutExpiry(testutil.Dataset(t, sc))}
		for _, db := range []int{0, 3} {
			for _, a := range []struct{ addr, pass string }{{taddr, ""}, {paddr, "secret"}} {
				c := redis.NewClient(&redis.Options{Addr: a.addr, DB: db, Password: a.pass, Protocol: 2})
				defer c.Close()
				out.targets = append(out.targets, withoutExpiry(testutil.Dataset(t, c)))
				if d := c.PTTL(ctx, "ttl").Val(); db == 3 && a.pass == "" && (d <= 0 || d > time.Hour) {
					t.Errorf("%s to %s: the key with a TTL has %v left on the target", src.name, dst.name, d)
				}
			}
		}
		return out
	}
	var want outcome
	t.Run("redis to redis", func(t *testing.T) { want = run(t, redisSide, redisSide) })
	for _, p := range [][2]side{{shoalSide, redisSide}, {shoalSide, shoalSide}, {redisSide, shoalSide}} {
		t.Run(p[0].name+" to "+p[1].name, func(t *testing.T) {
			if want.replies == nil {
				t.Skip("no redis-server to compare with")
			}
			got := run(t, p[0], p[1])
			for i := range want.replies {
				if got.replies[i] != want.replies[i] {
					t.Errorf("reply %d:\n got %s\nwant %s", i, got.replies[i], want.replies[i])
				}
			}
			testutil.SameDataset(t, "source", got.source[0], want.source[0])
			for i := range want.targets {
				testutil.SameDataset(t, fmt.Sprintf("target %d", i), got.targets[i], want.targets[i])
			}
		})
	}
}

// fillMigrateSource writes a value of every type, one with a TTL and one
// large enough for LZF and a chunked string.
func fillMigrateSource(t *testing.T, c *redis.Client) {
	ctx := context.Background()
	big := make([]byte, 300_000)
	for i := range big {
		big[i] = byte('a' + i%7)
	}
	for _, cmd := range [][]any{
		{"SET", "k", "v"},
		{"SET", "e", "behind a password"},
		{"SET", "dup", "named twice"},
		{"SET", "big", string(big)},
		{"SET", "ttl", "soon gone", "EX", 3600},
		{"SADD", "s", "a", "b", "1", "2"},
		{"HSET", "h", "f1", "v1", "f2", "v2"},
		{"RPUSH", "l", "x", "y", "z"},
		{"ZADD", "z", 1, "one", 2.5, "two"},
		{"XADD", "x", "1-1", "a", "1"},
	} {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatal(cmd, err)
		}
	}
}

// withoutExpiry drops the deadlines from a Dataset, which two runs set
// apart by the time between them, keeping that there is one.
func withoutExpiry(d map[string]string) map[string]string {
	for k, v := range d {
		d[k] = expiryRe.ReplaceAllString(v, "exp=set")
	}
	return d
}

var expiryRe = regexp.MustCompile(`exp=[0-9]+`)
