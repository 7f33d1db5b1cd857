// Package repltest runs primaries and replicas as in-process servers on
// loopback and checks replication end to end with a real client.
package repltest

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// node is one server of a test, restartable on its folder and port.
type node struct {
	t   *testing.T
	cfg *config.Config
	srv *server.Server
	c   *redis.Client
}

// newNode starts a server; edit adjusts its configuration first.
func newNode(t *testing.T, edit func(*config.Config)) *node {
	t.Helper()
	n := &node{t: t, cfg: testutil.Config(t)}
	if edit != nil {
		edit(n.cfg)
	}
	n.start()
	return n
}

// newReplica starts a replica of p.
func newReplica(t *testing.T, p *node, edit func(*config.Config)) *node {
	t.Helper()
	return newNode(t, func(c *config.Config) {
		c.ReplicaOf = p.hostPort()
		if edit != nil {
			edit(c)
		}
	})
}

func (n *node) start() {
	n.t.Helper()
	n.srv = testutil.Start(n.t, n.cfg)
	// A restart keeps the port: replicas of this node dial it.
	_, port, _ := net.SplitHostPort(n.srv.Addr())
	n.cfg.Port, _ = strconv.Atoi(port)
	n.c = testutil.Client(n.t, n.srv, 2)
}

// stop closes the server as a crash-free shutdown would.
func (n *node) stop() {
	n.c.Close()
	n.srv.Close()
}

func (n *node) restart() {
	n.t.Helper()
	n.stop()
	n.start()
}

func (n *node) addr() string     { return n.srv.Addr() }
func (n *node) hostPort() string { return "127.0.0.1 " + strconv.Itoa(n.cfg.Port) }

// client returns a new client of database db.
func (n *node) client(db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: n.addr(), DB: db, MaxRetries: -1, DisableIdentity: true})
	n.t.Cleanup(func() { c.Close() })
	return c
}

// conn returns one connection of n: the WAIT family waits for the writes
// of its own connection, and a pooled client may use another.
func (n *node) conn() *redis.Conn {
	c := n.client(0).Conn()
	n.t.Cleanup(func() { c.Close() })
	return c
}

// info returns the fields of one INFO section.
func (n *node) info(section string) map[string]string {
	n.t.Helper()
	s, err := n.c.Info(context.Background(), section).Result()
	if err != nil {
		n.t.Fatalf("INFO %s: %v", section, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

func (n *node) infoInt(section, field string) int64 {
	n.t.Helper()
	v, ok := n.info(section)[field]
	if !ok {
		n.t.Fatalf("INFO %s has no %s", section, field)
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		n.t.Fatalf("INFO %s: %s = %q", section, field, v)
	}
	return i
}

func (n *node) offset() int64 { return n.infoInt("replication", "master_repl_offset") }

// eventually polls f until it is true, failing the test after a deadline.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLinkUp waits until replica r reports its link to the primary up.
func waitLinkUp(t *testing.T, r *node) {
	t.Helper()
	eventually(t, "the replica's link is up", func() bool {
		return r.info("replication")["master_link_status"] == "up"
	})
}

// waitOnline waits until p lists n replicas, all online.
func waitOnline(t *testing.T, p *node, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d replicas are online", n), func() bool {
		info := p.info("replication")
		if info["connected_slaves"] != strconv.Itoa(n) {
			return false
		}
		for i := 0; i < n; i++ {
			if !strings.Contains(info["slave"+strconv.Itoa(i)], "state=online") {
				return false
			}
		}
		return true
	})
}

// waitCaughtUp waits until every replica applied the primary's offset.
func waitCaughtUp(t *testing.T, p *node, rs ...*node) {
	t.Helper()
	want := p.offset()
	for _, r := range rs {
		eventually(t, "the replica reaches offset "+strconv.FormatInt(want, 10), func() bool {
			return r.offset() >= want
		})
	}
}

// digest reads every key of every database of n with plain reads: type,
// value and whether it has a TTL.
func digest(t *testing.T, n *node) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for db := 0; db < n.cfg.Databases; db++ {
		c := redis.NewClient(&redis.Options{Addr: n.addr(), DB: db, MaxRetries: -1, DisableIdentity: true})
		var keys []string
		var cursor uint64
		for {
			ks, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
			if err != nil {
				c.Close()
				t.Fatalf("SCAN db %d: %v", db, err)
			}
			keys = append(keys, ks...)
			if cursor = next; cursor == 0 {
				break
			}
		}
		for _, k := range keys {
			v, err := valueOf(ctx, c, k)
			if err != nil {
				c.Close()
				t.Fatalf("reading %q of db %d: %v", k, db, err)
			}
			if v != "" {
				out[strconv.Itoa(db)+"/"+k] = v
			}
		}
		c.Close()
	}
	return out
}

func valueOf(ctx context.Context, c *redis.Client, k string) (string, error) {
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return "", err
	}
	var v any
	switch typ {
	case "none":
		return "", nil // gone since SCAN
	case "string":
		v, err = c.Get(ctx, k).Result()
	case "hash":
		var m map[string]string
		m, err = c.HGetAll(ctx, k).Result()
		v = sortedMap(m)
	case "list":
		v, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		var s []string
		s, err = c.SMembers(ctx, k).Result()
		sort.Strings(s)
		v = s
	case "zset":
		v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
	default:
		return "", fmt.Errorf("unexpected type %q", typ)
	}
	if err != nil {
		return "", err
	}
	ttl, err := c.PTTL(ctx, k).Result()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %v ttl=%v", typ, v, ttl > 0), nil
}

func sortedMap(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// diff describes how b differs from a, or returns "".
func diff(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "missing "+k)
		} else if w != v {
			d = append(d, fmt.Sprintf("%s: %.80s != %.80s", k, w, v))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... %d differences", len(d)))
	}
	return strings.Join(d, "\n")
}

// waitSameData waits until each replica holds exactly the primary's data.
func waitSameData(t *testing.T, p *node, rs ...*node) {
	t.Helper()
	waitCaughtUp(t, p, rs...)
	want := digest(t, p)
	for _, r := range rs {
		var last string
		deadline := time.Now().Add(30 * time.Second)
		for {
			if last = diff(want, digest(t, r)); last == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s differs from the primary:\n%s", r.addr(), last)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// writeMix writes n rounds of every data type into databases 0 and 3,
// pipelined; i0 numbers the first round.
func writeMix(t *testing.T, p *node, i0, n int) {
	t.Helper()
	ctx := context.Background()
	c0, c3 := p.client(0), p.client(3)
	const per = 50
	for start := i0; start < i0+n; start += per {
		for _, c := range []*redis.Client{c0, c3} {
			_, err := c.Pipelined(ctx, func(pp redis.Pipeliner) error {
				for i := start; i < start+per && i < i0+n; i++ {
					s := strconv.Itoa(i)
					pp.Set(ctx, "str:"+s, "v"+s, 0)
					if i%7 == 0 {
						pp.Set(ctx, "ttl:"+s, s, time.Hour)
					}
					pp.HSet(ctx, "hash:"+strconv.Itoa(i%50), "f"+s, s)
					pp.RPush(ctx, "list:"+strconv.Itoa(i%20), s)
					pp.SAdd(ctx, "set:"+strconv.Itoa(i%30), s)
					pp.ZAdd(ctx, "zset:"+strconv.Itoa(i%10), redis.Z{Score: float64(i) / 3, Member: s})
					if i%11 == 0 {
						pp.Del(ctx, "str:"+strconv.Itoa(i-5))
						pp.LPop(ctx, "list:"+strconv.Itoa(i%20))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("writing: %v", err)
			}
		}
	}
}

// writeLoad writes strings into p until stop is closed, then reports the
// number of writes on done.
func writeLoad(t *testing.T, p *node, prefix string) (stop func() int) {
	c := p.client(0)
	quit := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		ctx := context.Background()
		n := 0
		for {
			select {
			case <-quit:
				done <- n
				return
			default:
			}
			_, err := c.Pipelined(ctx, func(pp redis.Pipeliner) error {
				for i := 0; i < 20; i++ {
					pp.Set(ctx, prefix+strconv.Itoa(n), strings.Repeat("x", 100), 0)
					pp.HSet(ctx, prefix+"h:"+strconv.Itoa(n%100), strconv.Itoa(n), n)
					n++
				}
				return nil
			})
			if err != nil {
				t.Errorf("write load: %v", err)
				done <- n
				return
			}
		}
	}()
	return func() int { close(quit); return <-done }
}
