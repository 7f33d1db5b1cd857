package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process a test started.
type RedisServer struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
}

// StartRedisServer starts redis-server on a free loopback port with its
// data in dir (an RDB there is loaded), persistence off unless args set
// it, and stops it at the end of the test. It skips the test when
// redis-server is not installed (see RequireTool).
func StartRedisServer(t testing.TB, dir string, args ...string) *RedisServer {
	t.Helper()
	bin := RequireTool(t, "redis-server")
	port := FreePort(t)
	all := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log")}, args...)
	cmd := exec.Command(bin, all...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &RedisServer{Port: port, Dir: dir, cmd: cmd}
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			t.Logf("redis-server's log ends:\n%s", log)
		}
	})
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(60 * time.Second); ; {
		err := c.Ping(Ctx(t)).Err()
		if err == nil || strings.HasPrefix(err.Error(), "NOAUTH") {
			break // up, with a password for the default user or not
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not come up: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// Addr is the server's address.
func (r *RedisServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.Port) }

// Client returns a client of database db, closed at the end of the test.
func (r *RedisServer) Client(t testing.TB, db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DB: db, Protocol: 2})
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop kills the server and waits for it.
func (r *RedisServer) Stop() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// Dataset reads every key of database db through c as text, one entry
// per key: its type, its absolute expiry (PEXPIRETIME) and its contents
// in a canonical order. Two servers hold the same data when their
// Datasets are equal.
func Dataset(t testing.TB, c *redis.Client) map[string]string {
	t.Helper()
	ctx := Ctx(t)
	out := map[string]string{}
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ := c.Type(ctx, k).Val()
		var body string
		switch typ {
		case "string":
			body = c.Get(ctx, k).Val()
		case "list":
			body = fmt.Sprintf("%q", c.LRange(ctx, k, 0, -1).Val())
		case "set":
			m := c.SMembers(ctx, k).Val()
			sort.Strings(m)
			body = fmt.Sprintf("%q", m)
		case "hash":
			h := c.HGetAll(ctx, k).Val()
			keys := make([]string, 0, len(h))
			for f := range h {
				keys = append(keys, f)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, f := range keys {
				fmt.Fprintf(&b, "%q=%q ", f, h[f])
			}
			body = b.String()
		case "zset":
			// Scores as numbers: Redis 7.0 writes them with %.17g, 7.2
			// and Shoal with the shortest text that reads back the same.
			var b strings.Builder
			for _, z := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
				fmt.Fprintf(&b, "%q=%s ", z.Member, strconv.FormatFloat(z.Score, 'g', -1, 64))
			}
			body = b.String()
		case "stream":
			v, err := c.Do(ctx, "XINFO", "STREAM", k, "FULL", "COUNT", 0).Result()
			if err != nil {
				t.Fatalf("XINFO STREAM %q: %v", k, err)
			}
			body = streamText(v)
		default:
			body = "?"
		}
		exp := c.Do(ctx, "PEXPIRETIME", k).Val()
		out[k] = fmt.Sprintf("%s exp=%v %s", typ, exp, body)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// SameDataset fails the test where a and b, read by Dataset, differ.
func SameDataset(t testing.TB, what string, a, b map[string]string) {
	t.Helper()
	n := 0
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			if n++; n <= 5 {
				t.Errorf("%s: key %q:\n  first:  %.300s\n  second: %.300s", what, k, v, w)
			}
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			if n++; n <= 5 {
				t.Errorf("%s: key %q only in the second", what, k)
			}
		}
	}
	if n > 5 {
		t.Errorf("%s: %d keys differ in all", what, n)
	}
}

// streamText writes XINFO STREAM FULL's reply (RESP2) as text, without
// what a replica does not share with its primary: consumers' seen times
// (when the replica applied the claim), and groups' read counters and
// lag, which Redis 7.0 does not replicate with an XREADGROUP's
// deliveries.
func streamText(v any) string {
	x, ok := v.([]any)
	if !ok {
		return fmt.Sprintf("%q", v)
	}
	parts := make([]string, len(x))
	for i, e := range x {
		if i > 0 {
			if name, _ := x[i-1].(string); name == "seen-time" || name == "entries-read" || name == "lag" {
				parts[i] = "?"
				continue
			}
		}
		parts[i] = streamText(e)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
