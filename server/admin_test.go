package server_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

func wantErr(t *testing.T, err error, text string) {
	t.Helper()
	if err == nil || err.Error() != text {
		t.Fatalf("error = %v, want %q", err, text)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// single returns a go-redis client holding one connection, so CLIENT ID
// and the connection killed are the same socket.
func single(t *testing.T, addr string, proto int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, PoolSize: 1, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// clientLineRe is CLIENT LIST's line in Redis 7.2's field order.
var clientLineRe = regexp.MustCompile(`^id=\d+ addr=\S+ laddr=\S+ fd=-?\d+ name=\S* age=\d+ idle=\d+ flags=[A-Za-z]+ db=\d+ ` +
	`sub=0 psub=0 ssub=0 multi=-?\d+ watch=\d+ qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ ` +
	`omem=\d+ tot-mem=\d+ events=r cmd=\S+ user=default redir=-1 resp=[23] lib-name=\S* lib-ver=\S*$`)

func parseClientLine(t *testing.T, line string) map[string]string {
	t.Helper()
	if !clientLineRe.MatchString(line) {
		t.Fatalf("client line does not have Redis's format:\n%s", line)
	}
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		out[k] = v
	}
	return out
}

func clientLines(t *testing.T, text string) []map[string]string {
	t.Helper()
	if text != "" && !strings.HasSuffix(text, "\n") {
		t.Fatalf("CLIENT LIST does not end in a newline: %q", text)
	}
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line != "" {
			out = append(out, parseClientLine(t, line))
		}
	}
	return out
}

func TestClientListAndInfo(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("resp", proto), func(t *testing.T) {
			s := testutil.Start(t, nil)
			ctx := testutil.Ctx(t)
			a, b := single(t, s.Addr(), proto), single(t, s.Addr(), proto)
			if err := a.Do(ctx, "client", "setname", "alpha").Err(); err != nil {
				t.Fatal(err)
			}
			if err := a.Do(ctx, "client", "setinfo", "lib-name", "golib").Err(); err != nil {
				t.Fatal(err)
			}
			if err := b.Do(ctx, "select", "3").Err(); err != nil {
				t.Fatal(err)
			}
			b.Get(ctx, "x")
			aID, _ := a.ClientID(ctx).Result()
			bID, _ := b.ClientID(ctx).Result()

			text, err := a.ClientList(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			lines := clientLines(t, text)
			if len(lines) != 2 {
				t.Fatalf("CLIENT LIST has %d lines:\n%s", len(lines), text)
			}
			self, other := lines[0], lines[1]
			if self["id"] != strconv.FormatInt(aID, 10) || self["name"] != "alpha" || self["cmd"] != "client|list" ||
				self["lib-name"] != "golib" || self["resp"] != strconv.Itoa(proto) || self["flags"] != "N" || self["laddr"] != s.Addr() {
				t.Fatalf("own line = %v", self)
			}
			if other["id"] != strconv.FormatInt(bID, 10) || other["db"] != "3" || other["cmd"] != "client|id" || other["name"] != "" {
				t.Fatalf("other line = %v", other)
			}

			// CLIENT INFO is the caller's line; go-redis parses it.
			info, err := a.ClientInfo(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			if info.ID != aID || info.Name != "alpha" || info.LastCmd != "client|info" || info.LibName != "golib" || info.Resp != proto {
				t.Fatalf("CLIENT INFO = %+v", info)
			}

			// Filters.
			text, _ = a.Do(ctx, "client", "list", "id", bID, "99999").Text()
			if l := clientLines(t, text); len(l) != 1 || l[0]["id"] != strconv.FormatInt(bID, 10) {
				t.Fatalf("CLIENT LIST ID = %q", text)
			}
			if text, _ = a.Do(ctx, "client", "list", "type", "normal").Text(); len(clientLines(t, text)) != 2 {
				t.Fatalf("CLIENT LIST TYPE normal = %q", text)
			}
			for _, typ := range []string{"pubsub", "master", "replica", "SLAVE"} {
				if text, err := a.Do(ctx, "client", "list", "type", typ).Text(); err != nil || text != "" {
					t.Fatalf("CLIENT LIST TYPE %s = %q, %v", typ, text, err)
				}
			}
			if text, err := a.Do(ctx, "client", "list", "id", "0").Text(); err != nil || text != "" {
				t.Fatalf("CLIENT LIST ID 0 = %q, %v", text, err)
			}
			wantErr(t, a.Do(ctx, "client", "list", "type", "foo").Err(), "ERR Unknown client type 'foo'")
			wantErr(t, a.Do(ctx, "client", "list", "id", "x").Err(), "ERR Invalid client ID")
			wantErr(t, a.Do(ctx, "client", "list", "foo").Err(), "ERR syntax error")
			wantErr(t, a.Do(ctx, "client", "list", "type", "normal", "id").Err(), "ERR syntax error")
			wantErr(t, a.Do(ctx, "client", "info", "x").Err(), "ERR wrong number of arguments for 'client|info' command")

			// MULTI shows in the flags and the queue length.
			if err := b.Do(ctx, "multi").Err(); err != nil {
				t.Fatal(err)
			}
			b.Do(ctx, "get", "x")
			text, _ = a.Do(ctx, "client", "list", "id", bID).Text()
			if l := clientLines(t, text); l[0]["flags"] != "x" || l[0]["multi"] != "1" {
				t.Fatalf("client in MULTI: %v", l[0])
			}
			b.Do(ctx, "discard")
		})
	}
}

// rawClient is a plain connection whose death a test can see: go-redis
// would silently redial.
type rawClient struct {
	*testutil.Raw
	id, addr string
}

func dialRaw(t *testing.T, addr string) *rawClient {
	r := testutil.Dial(t, addr)
	r.Send("CLIENT INFO\r\n")
	reply, err := r.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	_, line, _ := strings.Cut(reply, "\r\n")
	f := parseClientLine(t, strings.TrimSuffix(line, "\n\r\n"))
	return &rawClient{Raw: r, id: f["id"], addr: f["addr"]}
}

// alive sends PING and reports whether PONG came back.
func (r *rawClient) alive() bool {
	if _, err := r.Conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	reply, err := r.ReadReply()
	return err == nil && reply == "+PONG\r\n"
}

func TestClientKill(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	a := single(t, s.Addr(), 2)
	text, err := a.Do(ctx, "client", "info").Text()
	if err != nil {
		t.Fatal(err)
	}
	aID := parseClientLine(t, strings.TrimSuffix(text, "\n"))["id"]
	b := dialRaw(t, s.Addr())

	for _, tc := range []struct {
		args []any
		err  string
	}{
		{[]any{"client", "kill", "1.2.3.4:5"}, "ERR No such client"},
		{[]any{"client", "kill", "id", "0"}, "ERR client-id should be greater than 0"},
		{[]any{"client", "kill", "id", "x"}, "ERR client-id should be greater than 0"},
		{[]any{"client", "kill", "type", "foo"}, "ERR Unknown client type 'foo'"},
		{[]any{"client", "kill", "user", "nosuch"}, "ERR No such user 'nosuch'"},
		{[]any{"client", "kill", "skipme", "maybe"}, "ERR syntax error"},
		{[]any{"client", "kill", "foo", "bar"}, "ERR syntax error"},
		{[]any{"client", "kill", "id", "1", "addr"}, "ERR syntax error"},
		{[]any{"client", "kill"}, "ERR wrong number of arguments for 'client|kill' command"},
	} {
		wantErr(t, a.Do(ctx, tc.args...).Err(), tc.err)
	}
	// Filters that match nobody, and SKIPME (default yes) sparing the caller.
	if n, err := a.Do(ctx, "client", "kill", "id", "99999").Int(); err != nil || n != 0 {
		t.Fatalf("CLIENT KILL ID 99999 = %d, %v", n, err)
	}
	if n, err := a.Do(ctx, "client", "kill", "id", aID).Int(); err != nil || n != 0 {
		t.Fatalf("CLIENT KILL ID self = %d, %v", n, err)
	}
	if n, err := a.Do(ctx, "client", "kill", "id", b.id, "addr", "1.2.3.4:5").Int(); err != nil || n != 0 {
		t.Fatalf("CLIENT KILL with disjoint filters = %d, %v", n, err)
	}
	if !b.alive() {
		t.Fatal("a client matched by no filter was killed")
	}
	// ID, ADDR and USER together kill b.
	if n, err := a.Do(ctx, "client", "kill", "id", b.id, "addr", b.addr, "user", "default").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID ADDR USER = %d, %v", n, err)
	}
	if b.alive() {
		t.Fatal("killed client still answered")
	}
	eventually(t, "the killed client to leave CLIENT LIST", func() bool {
		text, _ := a.ClientList(ctx).Result()
		return len(clientLines(t, text)) == 1
	})

	// Old form kills by address and answers OK.
	c := dialRaw(t, s.Addr())
	if v, err := a.Do(ctx, "client", "kill", c.addr).Text(); err != nil || v != "OK" {
		t.Fatalf("CLIENT KILL addr = %q, %v", v, err)
	}
	if c.alive() {
		t.Fatal("client killed by address still answered")
	}

	// SKIPME no kills the caller too, after its reply.
	d, e := dialRaw(t, s.Addr()), dialRaw(t, s.Addr())
	d.Send("CLIENT KILL TYPE normal SKIPME no\r\n")
	if reply, err := d.ReadReply(); err != nil || reply != ":3\r\n" {
		t.Fatalf("CLIENT KILL TYPE normal SKIPME no = %q, %v", reply, err)
	}
	if d.alive() || e.alive() {
		t.Fatal("a client survived CLIENT KILL TYPE normal SKIPME no")
	}
}

func TestClientPause(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	admin, reader, writer := single(t, s.Addr(), 2), single(t, s.Addr(), 3), single(t, s.Addr(), 2)
	wantErr(t, admin.Do(ctx, "client", "pause", "x").Err(), "ERR timeout is not an integer or out of range")
	wantErr(t, admin.Do(ctx, "client", "pause", "-1").Err(), "ERR timeout is negative")
	wantErr(t, admin.Do(ctx, "client", "pause", "10", "foo").Err(), "ERR CLIENT PAUSE mode must be WRITE or ALL")
	wantErr(t, admin.Do(ctx, "client", "pause", "10", "all", "x").Err(), "ERR syntax error")
	wantErr(t, admin.Do(ctx, "client", "pause").Err(), "ERR wrong number of arguments for 'client|pause' command")
	if v, err := admin.Do(ctx, "client", "unpause").Text(); err != nil || v != "OK" {
		t.Fatalf("CLIENT UNPAUSE = %q, %v", v, err)
	}

	if v, err := admin.Do(ctx, "client", "pause", "100000", "write").Text(); err != nil || v != "OK" {
		t.Fatalf("CLIENT PAUSE WRITE = %q, %v", v, err)
	}
	done := make(chan error, 1)
	go func() { done <- writer.Set(context.Background(), "k", "v", 0).Err() }()
	// Reads go on while writes wait.
	if err := reader.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET during a write pause = %v, want nil reply (the SET must wait)", err)
	}
	select {
	case err := <-done:
		t.Fatalf("SET finished during a write pause: %v", err)
	default:
	}
	if err := admin.Do(ctx, "client", "unpause").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("SET still waiting after CLIENT UNPAUSE")
	}
	if v, _ := reader.Get(ctx, "k").Result(); v != "v" {
		t.Fatalf("GET after unpause = %q", v)
	}
}

// TestClientPauseWriteHoldsWhatMayReplicate: CLIENT PAUSE WRITE holds,
// besides writes, what Redis 7.0 holds with them (checked against
// redis-server 7.0.15 side by side): PFCOUNT and SPUBLISH, which may
// replicate, EXEC of a queue with a write or a script, and a script or
// function unless it declares no-writes; reads, read-only scripts and
// functions and an EXEC of reads go on.
func TestClientPauseWriteHoldsWhatMayReplicate(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	admin := single(t, s.Addr(), 2)
	lib := "#!lua name=lib\nredis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}}\n" +
		"redis.register_function('rw', function() return 2 end)"
	if err := admin.FunctionLoad(ctx, lib).Err(); err != nil {
		t.Fatal(err)
	}
	multi := func(cmd ...any) func(c *redis.Client) error {
		return func(c *redis.Client) error {
			_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Do(ctx, cmd...); return nil })
			return err
		}
	}
	do := func(cmd ...any) func(c *redis.Client) error {
		return func(c *redis.Client) error { return c.Do(ctx, cmd...).Err() }
	}
	held := map[string]func(c *redis.Client) error{
		"PFCOUNT":             do("pfcount", "h"),
		"SPUBLISH":            do("spublish", "ch", "m"),
		"EVAL":                do("eval", "return 1", 0),
		"EVAL with a shebang": do("eval", "#!lua\nreturn 1", 0),
		"FCALL rw":            do("fcall", "rw", 0),
		"EXEC of SET":         multi("set", "a", "1"),
		"EXEC of EVAL":        multi("eval", "return 1", 0),
	}
	goes := map[string]func(c *redis.Client) error{
		"GET":            do("get", "a"),
		"EVAL_RO":        do("eval_ro", "return 1", 0),
		"EVAL no-writes": do("eval", "#!lua flags=no-writes\nreturn 1", 0),
		"FCALL ro":       do("fcall", "ro", 0),
		"FCALL_RO":       do("fcall_ro", "ro", 0),
		"EXEC of GET":    multi("get", "a"),
		"SCRIPT LOAD":    do("script", "load", "return 1"),
	}
	if err := admin.Do(ctx, "client", "pause", "100000", "write").Err(); err != nil {
		t.Fatal(err)
	}
	done := map[string]chan error{}
	for name, f := range held {
		ch := make(chan error, 1)
		done[name] = ch
		c := single(t, s.Addr(), 2)
		go func() { ch <- f(c) }()
	}
	for name, f := range goes {
		if err := f(single(t, s.Addr(), 2)); err != nil && err != redis.Nil {
			t.Errorf("%s during a write pause: %v", name, err)
		}
	}
	for name, ch := range done {
		select {
		case err := <-ch:
			t.Errorf("%s ran during a write pause: %v", name, err)
		default:
		}
	}
	if err := admin.Do(ctx, "client", "unpause").Err(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range done {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("%s after the pause: %v", name, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s still waiting after CLIENT UNPAUSE", name)
		}
	}
}

func TestInfoClientsAndStats(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MaxClients = 2
	s := testutil.Start(t, cfg)
	ctx := testutil.Ctx(t)
	a, b := single(t, s.Addr(), 2), single(t, s.Addr(), 2)
	a.Ping(ctx)
	b.Ping(ctx)
	// A third connection is refused and counted.
	r := testutil.Dial(t, s.Addr())
	if reply, _ := r.ReadReply(); reply != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client got %q", reply)
	}
	m, err := a.InfoMap(ctx, "clients", "stats", "keyspace").Result()
	if err != nil {
		t.Fatal(err)
	}
	if m["Clients"]["connected_clients"] != "2" || m["Clients"]["maxclients"] != "2" || m["Clients"]["blocked_clients"] != "0" {
		t.Fatalf("clients section: %v", m["Clients"])
	}
	if m["Stats"]["rejected_connections"] != "1" || m["Stats"]["total_connections_received"] != "2" {
		t.Fatalf("stats section: %v", m["Stats"])
	}
	if len(m["Keyspace"]) != 0 {
		t.Fatalf("keyspace of an empty server: %v", m["Keyspace"])
	}
	a.Set(ctx, "k", "v", 0)
	b.Do(ctx, "select", "5")
	b.Set(ctx, "k", "v", time.Hour)
	m, _ = a.InfoMap(ctx, "keyspace").Result()
	if m["Keyspace"]["db0"] != "keys=1,expires=0,avg_ttl=0" || m["Keyspace"]["db5"] != "keys=1,expires=1,avg_ttl=0" {
		t.Fatalf("keyspace: %v", m["Keyspace"])
	}
	// used_memory covers at least the Go heap; the human form follows Redis.
	m, _ = a.InfoMap(ctx, "memory").Result()
	used, _ := strconv.ParseInt(m["Memory"]["used_memory"], 10, 64)
	if used <= 0 || !regexp.MustCompile(`^\d+(\.\d\d[KMGTP]|B)$`).MatchString(m["Memory"]["used_memory_human"]) {
		t.Fatalf("memory section: %v", m["Memory"])
	}
}

// TestInfoRejectedCalls: a command refused before it runs counts as
// rejected, not as a call, and as an error reply, as in Redis.
func TestInfoRejectedCalls(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := single(t, s.Addr(), 2)
	wantErr(t, c.Do(ctx, "get").Err(), "ERR wrong number of arguments for 'get' command")
	wantErr(t, c.Do(ctx, "get", "a", "b").Err(), "ERR wrong number of arguments for 'get' command")
	m, err := c.InfoMap(ctx, "commandstats", "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := m["Commandstats"]["cmdstat_get"]; !strings.Contains(got, "calls=0,") || !strings.HasSuffix(got, "rejected_calls=2,failed_calls=0") {
		t.Fatalf("cmdstat_get = %q", got)
	}
	if got := m["Stats"]["total_error_replies"]; got != "2" {
		t.Fatalf("total_error_replies = %q, want 2", got)
	}
}

// TestInfoKeyspaceHits: reads of live keys count as hits, of absent keys
// as misses, writes as neither; the counts are redis-server 7.0's for the
// same commands.
func TestInfoKeyspaceHits(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := single(t, s.Addr(), 2)
	for _, cmd := range [][]any{
		{"set", "a", "1"}, {"get", "a"}, {"get", "b"}, {"exists", "a", "b"}, {"type", "a"},
		{"mget", "a", "b", "c"}, {"hget", "h", "f"}, {"incr", "a"}, {"del", "a"}, {"strlen", "a"},
		{"lrange", "l", 0, -1}, {"set", "s", "xyz"}, {"getrange", "s", 0, 1}, {"append", "s", "q"},
		{"touch", "s", "nope"},
	} {
		if err := c.Do(ctx, cmd...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	stats := func() (string, string) {
		m, err := c.InfoMap(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		return m["Stats"]["keyspace_hits"], m["Stats"]["keyspace_misses"]
	}
	if hits, misses := stats(); hits != "6" || misses != "8" {
		t.Fatalf("keyspace_hits %s, keyspace_misses %s; want 6 and 8", hits, misses)
	}
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if hits, misses := stats(); hits != "0" || misses != "0" {
		t.Fatalf("after CONFIG RESETSTAT: keyspace_hits %s, keyspace_misses %s", hits, misses)
	}
}

func TestConfigSetAppliesAtRunTime(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 3)
	if err := c.ConfigSet(ctx, "maxclients", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.Config().MaxClients; got != 1 {
		t.Fatalf("Config().MaxClients = %d", got)
	}
	r := testutil.Dial(t, s.Addr())
	if reply, _ := r.ReadReply(); reply != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second client after maxclients 1 got %q", reply)
	}
	if err := c.ConfigSet(ctx, "appendfsync", "ALWAYS").Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.Store().Fsync().String(); got != "always" {
		t.Fatalf("fsync policy = %s", got)
	}
	wantErr(t, c.ConfigSet(ctx, "appendfsync", "sometimes").Err(),
		"ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no")
	// hz paces the expiry sweeper, cut to 1..500 as Redis cuts it.
	if err := c.ConfigSet(ctx, "hz", "1000").Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.Store().ExpireHz(); got != 500 {
		t.Fatalf("expiry passes per second after hz 1000: %d", got)
	}
	wantErr(t, c.ConfigSet(ctx, "timeout", "-1").Err(),
		"ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive")
}

// TestInfoFieldsAsRedis: every field of redis-server 7.0.15's INFO
// sections is in Shoal's, in the same order (Shoal adds some of its own
// and of Redis 7.2 between them).
func TestInfoFieldsAsRedis(t *testing.T) {
	peers := bothPeers(t)
	names := func(c *redis.Client, section string) []string {
		text, err := c.Info(testutil.Ctx(t), section).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ln := range strings.Split(text, "\r\n") {
			if name, _, ok := strings.Cut(ln, ":"); ok && !strings.HasPrefix(ln, "#") {
				out = append(out, name)
			}
		}
		return out
	}
	for _, section := range []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster"} {
		shoal, want := names(peers[0].c, section), names(peers[1].c, section)
		i := 0
		for _, n := range shoal {
			if i < len(want) && n == want[i] {
				i++
			}
		}
		if i < len(want) {
			t.Errorf("INFO %s: Redis's %s missing or out of order; Shoal has %v", section, want[i], shoal)
		}
	}
}
