package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// TestACLAsRedisWithOneUser sends ACL's subcommands to Shoal and to a
// redis-server 7.0.15 that has only its default user, before and after a
// password is set, in RESP2 and RESP3, and compares the replies: users,
// rules, categories, dry runs, refusals and the log of refused AUTHs.
func TestACLAsRedisWithOneUser(t *testing.T) {
	ctx := testutil.Ctx(t)
	for _, proto := range []int{2, 3} {
		var seen [2][]string
		for i, addr := range []string{testutil.StartRedisServer(t, t.TempDir()).Addr(), testutil.Start(t, nil).Addr()} {
			c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DisableIdentity: true, MaxRetries: -1})
			defer c.Close()
			cn := c.Conn()
			defer cn.Close()
			seen[i] = append(seen[i], aclRun(ctx, cn, [][]any{
				{"ACL", "WHOAMI"}, {"ACL", "USERS"}, {"ACL", "LIST"}, {"ACL", "GETUSER", "default"}, {"ACL", "GETUSER", "nobody"},
				{"ACL", "CAT"}, {"ACL", "CAT", "nosuch"}, {"ACL", "GENPASS", 0}, {"ACL", "GENPASS", 5000}, {"ACL", "GENPASS", "x"},
				{"ACL", "DRYRUN", "default", "get", "k"}, {"ACL", "DRYRUN", "default", "nocmd"}, {"ACL", "DRYRUN", "nobody", "get", "k"},
				{"ACL", "DRYRUN", "default", "config", "get", "port"},
				{"ACL", "DELUSER", "default"}, {"ACL", "DELUSER", "foo", "bar"}, {"ACL", "SAVE"}, {"ACL", "LOAD"}, {"ACL", "HELP"},
				{"ACL", "LOG"}, {"AUTH", "nope"},
				{"ACL", "CAT", "a", "b"}, {"ACL", "GENPASS", 8, 9}, {"ACL", "LOG", 1, 2},
				{"ACL", "SETUSER", "default", "on", "~*", "&*", "+@all"}, {"ACL", "LIST"},
				{"CONFIG", "SET", "requirepass", "secret"}, {"AUTH", "default", "secret"}, {"ACL", "LIST"},
				{"ACL", "GETUSER", "default"}, {"AUTH", "default", "nope"}, {"AUTH", "nope"}, {"AUTH", "ghost", "nope"},
				{"ACL", "LOG"}, {"ACL", "LOG", 1}, {"ACL", "LOG", -1}, {"ACL", "LOG", "x"}, {"ACL", "LOG", "RESET"}, {"ACL", "LOG"},
				{"ACL", "SETUSER", "default", "resetpass", "nopass"}, {"ACL", "LIST"},
			})...)
			for _, cat := range []string{"hyperloglog", "transaction"} {
				names, err := cn.Do(ctx, "ACL", "CAT", cat).StringSlice()
				slices.Sort(names)
				seen[i] = append(seen[i], fmt.Sprintf("CAT %s: %v %v", cat, names, err))
			}
			for _, bits := range []any{256, 5, 4096} {
				p, err := cn.Do(ctx, "ACL", "GENPASS", bits).Text()
				seen[i] = append(seen[i], fmt.Sprintf("GENPASS %v: %d hex digits %v %v", bits, len(p), regexp.MustCompile("^[0-9a-f]*$").MatchString(p), err))
			}
		}
		if got, want := strings.Join(seen[1], "\n"), strings.Join(seen[0], "\n"); got != want {
			t.Errorf("RESP%d:\nshoal:\n%s\nredis-server:\n%s", proto, got, want)
		}
	}
}

// normalizeRules sorts each run of single-command rules in an ACL
// description: Redis lists them in its command dictionary's order, which
// changes with each start, after the categories it chose.
func normalizeRules(s string) string {
	s = strings.NewReplacer("(", "( ", ")", " )").Replace(s)
	toks := strings.Split(s, " ")
	single := func(t string) bool {
		return (strings.HasPrefix(t, "+") || strings.HasPrefix(t, "-")) && !strings.HasPrefix(t[1:], "@")
	}
	for i := 0; i < len(toks); {
		j := i
		for j < len(toks) && single(toks[j]) {
			j++
		}
		slices.Sort(toks[i:j])
		i = j + 1
	}
	return strings.Join(toks, " ")
}

// TestACLUsersAsRedis sends the same ACL SETUSER rules, AUTHs and
// commands to Shoal and to a redis-server 7.0.15 and compares every
// reply in RESP2 and RESP3: users' descriptions (ACL LIST, GETUSER),
// rule errors, authentication as each user, the commands, keys and
// channels each may use and the NOPERM refusals, DRYRUN, the denials in
// ACL LOG, DELUSER.
func TestACLUsersAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	script := [][]any{
		{"ACL", "SETUSER", "alice", "on", ">pw", "~cache:*", "%R~ro:*", "&news.*", "+@read", "-debug", "+set", "+client|setname", "-@dangerous", "+get"},
		{"ACL", "SETUSER", "bob"},
		{"ACL", "SETUSER", "carol", "on", "nopass", "allkeys", "allchannels", "allcommands", "(~sel:* +@write)", "-flushall"},
		{"ACL", "SETUSER", "dave", "on", ">a", ">b", "#" + strings.Repeat("ab", 32), "<a", "%W~w:*", "%RW~rw:*", "+@hash", "-hset", "+select|0", "(~x:*", "&x", "+get)"},
		{"ACL", "SETUSER", "erin", "on", ">e", "+@all", "-@dangerous", "~*", "resetchannels", "&c1", "&c2"},
		{"ACL", "LIST"}, {"ACL", "USERS"},
		{"ACL", "GETUSER", "alice"}, {"ACL", "GETUSER", "carol"}, {"ACL", "GETUSER", "dave"}, {"ACL", "GETUSER", "bob"},
		{"ACL", "SETUSER", "x", "~*", "~foo"}, {"ACL", "SETUSER", "x", "&*", "&foo"}, {"ACL", "SETUSER", "x", "%"},
		{"ACL", "SETUSER", "x", "%RR~a"}, {"ACL", "SETUSER", "x", "+client|x"}, {"ACL", "SETUSER", "x", "+nocmd"},
		{"ACL", "SETUSER", "x", "+@nocat"}, {"ACL", "SETUSER", "x", "bogus"}, {"ACL", "SETUSER", "x", "(~a"},
		{"ACL", "SETUSER", "x", "<nope"}, {"ACL", "SETUSER", "x", "#abc"}, {"ACL", "SETUSER", "x", "%R"},
		{"ACL", "SETUSER", "a b"}, {"ACL", "SETUSER", "a\x00b"}, {"ACL", "SETUSER", "x", "+select|"},
		{"ACL", "SETUSER", "x", "+config|"}, {"ACL", "SETUSER", "x", "+config|get|port"}, {"ACL", "SETUSER", "x", "-select|0"},
		{"ACL", "SETUSER", "x", "+select|0|1"}, {"ACL", "SETUSER", "x", "-config|get|x"}, {"ACL", "SETUSER", "x", "+|x"},
		{"ACL", "GETUSER", "x"},
		{"ACL", "SETUSER", "x", "reset"}, {"ACL", "GETUSER", "x"},
		{"AUTH", "alice", "wrong"}, {"AUTH", "bob", "x"}, {"AUTH", "nobody", "x"},
		{"AUTH", "alice", "pw"}, {"ACL", "WHOAMI"},
		{"SET", "cache:1", "v"}, {"SET", "other", "v"}, {"GET", "ro:1"}, {"SET", "ro:1", "v"}, {"LPUSH", "cache:l", "x"},
		{"GET", "cache:1"}, {"KEYS", "*"}, {"CLIENT", "SETNAME", "n"}, {"CLIENT", "ID"},
		{"PUBLISH", "news.a", "m"}, {"MULTI"}, {"SET", "other", "v"}, {"GET", "cache:1"}, {"EXEC"},
		{"AUTH", "carol", "any"}, {"FLUSHALL"}, {"SET", "sel:1", "v"}, {"SET", "any", "v"}, {"PUBLISH", "c", "m"},
		{"AUTH", "dave", "b"}, {"HGET", "rw:h", "f"}, {"HSET", "rw:h", "f", "v"}, {"HGETALL", "w:h"}, {"HDEL", "w:h", "f"},
		{"SELECT", "0"}, {"SELECT", "1"}, {"GET", "x:1"}, {"GET", "y"}, {"PUBLISH", "x", "m"},
		{"AUTH", "erin", "e"}, {"PUBLISH", "c1", "m"}, {"PUBLISH", "c3", "m"}, {"SUBSCRIBE", "c2", "c3"},
		{"AUTH", "default", "whatever"}, {"ACL", "WHOAMI"},
		{"ACL", "SETUSER", "rw", "%R~foo", "%W~foo", "%RW~bar", "%R~bar"}, {"ACL", "GETUSER", "rw"},
		{"ACL", "SETUSER", "rwall", "%R~*", "%W~*", "~foo"}, {"ACL", "GETUSER", "rwall"},
		{"RPUSH", "mylist", "1"}, {"SET", "v1", "1"},
		{"ACL", "SETUSER", "sorter", "on", "nopass", "(+sort ~mylist ~v*)"},
		{"ACL", "SETUSER", "sorter2", "on", "nopass", "(+sort ~mylist %W~*)"},
		{"ACL", "SETUSER", "sorter3", "on", "nopass", "(+sort ~mylist %R~*)"},
		{"AUTH", "sorter", "x"}, {"SORT", "mylist", "BY", "v*"}, {"SORT", "mylist", "GET", "v*"},
		{"SORT", "mylist", "BY", "nosort"}, {"SORT", "mylist", "LIMIT", "0", "1", "GET", "#", "BY", "x"},
		{"AUTH", "sorter2", "x"}, {"SORT", "mylist", "BY", "v*"},
		{"AUTH", "sorter3", "x"}, {"SORT", "mylist", "BY", "v*", "GET", "#", "GET", "v*"},
		{"AUTH", "default", "whatever"},
		{"ACL", "DRYRUN", "alice", "set", "other", "x"}, {"ACL", "DRYRUN", "alice", "lpush", "cache:x", "1"},
		{"ACL", "DRYRUN", "alice", "get", "cache:1"}, {"ACL", "DRYRUN", "erin", "publish", "c9", "m"},
		{"ACL", "DRYRUN", "dave", "select", "0"}, {"ACL", "DRYRUN", "dave", "select", "2"},
		{"ACL", "LOG", 20},
		{"ACL", "DELUSER", "bob", "nobody", "x"}, {"ACL", "USERS"},
	}
	for _, proto := range []int{2, 3} {
		var seen [2][]string
		for i, addr := range []string{testutil.StartRedisServer(t, t.TempDir()).Addr(), testutil.Start(t, nil).Addr()} {
			c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DisableIdentity: true, MaxRetries: -1})
			defer c.Close()
			cn := c.Conn()
			defer cn.Close()
			for _, line := range aclRun(ctx, cn, script) {
				seen[i] = append(seen[i], normalizeRules(line))
			}
		}
		for j := range seen[0] {
			if seen[1][j] != seen[0][j] {
				t.Errorf("RESP%d:\n shoal %s\n redis %s", proto, seen[1][j], seen[0][j])
			}
		}
	}
}

// aclRun sends each command of script on cn and returns a line for each
// reply, as aclReply renders it, with its error.
func aclRun(ctx context.Context, cn *redis.Conn, script [][]any) []string {
	var out []string
	for _, cmd := range script {
		v, err := cn.Do(ctx, cmd...).Result()
		out = append(out, fmt.Sprintf("%v: %s %v", cmd, aclReply(v), err))
	}
	return out
}

// aclReply renders a reply with what differs between two servers (the
// log's ages and client lines) left out.
func aclReply(v any) string {
	s := fmt.Sprint(v)
	s = regexp.MustCompile(`age-seconds:[0-9.e-]+|age-seconds [0-9.e-]+`).ReplaceAllString(s, "age-seconds")
	// NB: Shoal's client lines are Redis 7.2's, with lib-name and lib-ver.
	return regexp.MustCompile(`id=[0-9]+ addr=[^\]]*?resp=[23]( lib-name=[^ \]]* lib-ver=[^ \]]*)?`).ReplaceAllString(s, "client-info")
}

// TestUserLinesAsRedis starts Shoal with a user line for the default
// user, a password among its rules, and compares what a client sees with
// a redis-server 7.0.15 started with the same line; a line Redis would
// refuse stops Shoal's start.
func TestUserLinesAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	line := []string{"default", "on", ">s3cret", "~*", "&*", "+@all"}
	r := testutil.StartRedisServer(t, t.TempDir(), append([]string{"--user"}, line...)...)
	cfg := testutil.Config(t)
	cfg.Users = [][]string{line}
	s := testutil.Start(t, cfg)
	var seen [2][]string
	for i, addr := range []string{r.Addr(), s.Addr()} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
		defer c.Close()
		cn := c.Conn()
		defer cn.Close()
		for _, cmd := range [][]any{{"GET", "k"}, {"AUTH", "wrong"}, {"AUTH", "s3cret"}, {"GET", "k"}, {"ACL", "LIST"}} {
			v, err := cn.Do(ctx, cmd...).Result()
			seen[i] = append(seen[i], fmt.Sprintf("%v: %v %v", cmd, v, err))
		}
	}
	if got, want := strings.Join(seen[1], "\n"), strings.Join(seen[0], "\n"); got != want {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", got, want)
	}
	for _, bad := range [][]string{{"default", "on", "#abc"}, {"alice", "bogus"}, {"bob", "~*", "~foo"}} {
		cfg := testutil.Config(t)
		cfg.Users = [][]string{bad}
		if _, err := server.New(cfg, server.Options{}); err == nil {
			t.Errorf("user %v: the server started", bad)
		}
	}
}

// TestACLFileAndDisconnects reads the users from aclfile at start, saves
// and reloads them with ACL SAVE and LOAD, and closes the connections of
// a user ACL DELUSER removes and of every user but the default one at
// ACL LOAD, as Redis does; a script's call
// that its user may not make fails with Redis's error.
func TestACLFileAndDisconnects(t *testing.T) {
	ctx := testutil.Ctx(t)
	path := filepath.Join(t.TempDir(), "users.acl")
	if err := os.WriteFile(path, []byte("user alice on >pw ~* &* +get +eval\nuser default on nopass ~* &* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t)
	cfg.ACLFile = path
	s := testutil.Start(t, cfg)
	admin := testutil.Client(t, s, 2)
	asUser := func(user, pass string) *redis.Conn {
		cn := testutil.Client(t, s, 2).Conn()
		t.Cleanup(func() { cn.Close() })
		if err := cn.Do(ctx, "AUTH", user, pass).Err(); err != nil {
			t.Fatalf("AUTH %s: %v", user, err)
		}
		return cn
	}
	alice := asUser("alice", "pw")
	if err := alice.Do(ctx, "GET", "k").Err(); err != redis.Nil {
		t.Fatalf("GET as alice: %v", err)
	}
	if err := alice.Do(ctx, "SET", "k", "v").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("SET as alice: %v", err)
	}
	var want string
	r := testutil.StartRedisServer(t, t.TempDir())
	rc := r.Client(t, 0)
	rc.Do(ctx, "ACL", "SETUSER", "alice", "on", ">pw", "~*", "&*", "+get", "+eval")
	rcn := rc.Conn()
	defer rcn.Close()
	rcn.Do(ctx, "AUTH", "alice", "pw")
	want = fmt.Sprint(rcn.Do(ctx, "EVAL", "return redis.call('set', 'k', 'v')", 0).Err())
	if got := fmt.Sprint(alice.Do(ctx, "EVAL", "return redis.call('set', 'k', 'v')", 0).Err()); got != want {
		t.Errorf("a denied call in a script:\n shoal %s\n redis %s", got, want)
	}

	admin.Do(ctx, "ACL", "SETUSER", "bob", "on", "nopass", "~*", "+@all")
	if err := admin.Do(ctx, "ACL", "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(path)
	if !strings.Contains(string(saved), "user bob on nopass ~* resetchannels +@all\n") {
		t.Fatalf("ACL SAVE wrote:\n%s", saved)
	}
	bob := asUser("bob", "x")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(saved), "user bob on nopass ~* resetchannels +@all\n", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "ACL", "LOAD").Err(); err != nil {
		t.Fatal(err)
	}
	if users := admin.Do(ctx, "ACL", "USERS").String(); strings.Contains(users, "bob") {
		t.Fatalf("ACL USERS after LOAD: %s", users)
	}
	if err := bob.Ping(ctx).Err(); err == nil {
		t.Error("bob's connection outlived ACL LOAD of a file without bob")
	}
	// NB: checked on redis-server 7.0.15: ACL LOAD frees every user but
	// the default one, closing their connections.
	if err := alice.Ping(ctx).Err(); err == nil {
		t.Error("alice's connection outlived ACL LOAD")
	}
	alice = asUser("alice", "pw")
	if n, err := admin.Do(ctx, "ACL", "DELUSER", "alice").Int(); err != nil || n != 1 {
		t.Fatalf("ACL DELUSER: %d %v", n, err)
	}
	if err := alice.Ping(ctx).Err(); err == nil {
		t.Error("alice's connection outlived ACL DELUSER")
	}
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Errorf("the default user's connection: %v", err)
	}
}

// TestACLReplicaAppliesPrimaryStream: a replica whose default user may
// not write applies its redis-server primary's writes all the same, as
// Redis's master client is not checked, while its own clients are.
func TestACLReplicaAppliesPrimaryStream(t *testing.T) {
	ctx := testutil.Ctx(t)
	primary := testutil.StartRedisServer(t, t.TempDir())
	cfg := testutil.Config(t)
	cfg.ReplicaOf = "127.0.0.1 " + fmt.Sprint(primary.Port)
	cfg.Users = [][]string{{"default", "on", "nopass", "~*", "&*", "-@all", "+get", "+info", "+ping", "+hello", "+client"}}
	s := testutil.Start(t, cfg)
	pc := primary.Client(t, 0)
	pc.Set(ctx, "k", "v", 0)
	pc.Eval(ctx, "return redis.call('set', KEYS[1], 'e')", []string{"k2"})
	c := testutil.Client(t, s, 2)
	eventuallyTrue(t, "the primary's writes on the replica", func() bool {
		return c.Get(ctx, "k").Val() == "v" && c.Get(ctx, "k2").Val() == "e"
	})
	if err := c.Do(ctx, "DBSIZE").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("DBSIZE by the restricted default user: %v", err)
	}
}

// TestACLRevokedSubscribersAsRedis: ACL SETUSER that takes channels from
// a user closes the user's subscribers whose channels, shard channels
// or patterns it no longer allows, and only those, as redis-server
// 7.0.15 does; a user line for the default user in the configuration
// starts from a reset user, without channels.
func TestACLRevokedSubscribersAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got [2][]string
	for i, p := range bothPeers(t) {
		p.c.Do(ctx, "ACL", "SETUSER", "ps", "on", "nopass", "+@all", "~*", "resetchannels", "&foo:1", "&bar:*")
		clients := map[string]*testutil.Raw{}
		for _, sub := range []string{"SUBSCRIBE foo:1", "SSUBSCRIBE foo:1", "PSUBSCRIBE bar:*", "PING"} {
			c := testutil.Dial(t, p.addr)
			c.Send("AUTH ps x\r\n" + sub + "\r\n")
			for range 2 {
				if _, err := c.ReadReply(); err != nil {
					t.Fatalf("%s: %s: %v", p.name, sub, err)
				}
			}
			clients[sub] = c
		}
		for _, rules := range [][]any{{"&more"}, {"resetchannels", "&foo:*"}, {"resetchannels"}} {
			err := p.c.Do(ctx, append([]any{"ACL", "SETUSER", "ps"}, rules...)...).Err()
			got[i] = append(got[i], fmt.Sprint(rules, " ", err))
			for _, sub := range []string{"SUBSCRIBE foo:1", "SSUBSCRIBE foo:1", "PSUBSCRIBE bar:*", "PING"} {
				c := clients[sub]
				if c == nil {
					continue
				}
				c.Conn.Write([]byte("PING\r\n"))
				if _, err := c.ReadReply(); err != nil {
					got[i] = append(got[i], sub+" closed")
					delete(clients, sub)
				}
			}
		}
	}
	if g, w := strings.Join(got[1], "\n"), strings.Join(got[0], "\n"); g != w {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", g, w)
	}

	cfg := testutil.Config(t)
	cfg.Users = [][]string{{"default", "on", "nopass", "~*", "+@all"}}
	c := testutil.Client(t, testutil.Start(t, cfg), 2)
	want := "NOPERM this user has no permissions to access one of the channels used as arguments"
	if err := c.Do(ctx, "PUBLISH", "foo", "m").Err(); err == nil || err.Error() != want {
		t.Errorf("PUBLISH by a default user declared without channels: %v", err)
	}
}
