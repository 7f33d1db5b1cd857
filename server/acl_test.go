package server_test

import (
	"fmt"
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
			for _, cmd := range [][]any{
				{"ACL", "WHOAMI"}, {"ACL", "USERS"}, {"ACL", "LIST"}, {"ACL", "GETUSER", "default"}, {"ACL", "GETUSER", "nobody"},
				{"ACL", "CAT"}, {"ACL", "CAT", "nosuch"}, {"ACL", "GENPASS", 0}, {"ACL", "GENPASS", 5000}, {"ACL", "GENPASS", "x"},
				{"ACL", "DRYRUN", "default", "get", "k"}, {"ACL", "DRYRUN", "default", "nocmd"}, {"ACL", "DRYRUN", "nobody", "get", "k"},
				{"ACL", "DRYRUN", "default", "config", "get", "port"},
				{"ACL", "DELUSER", "default"}, {"ACL", "DELUSER", "foo", "bar"}, {"ACL", "SAVE"}, {"ACL", "LOAD"}, {"ACL", "HELP"},
				{"ACL", "LOG"}, {"AUTH", "nope"},
				{"ACL", "SETUSER", "default", "on", "~*", "&*", "+@all"}, {"ACL", "LIST"},
				{"CONFIG", "SET", "requirepass", "secret"}, {"AUTH", "default", "secret"}, {"ACL", "LIST"},
				{"ACL", "GETUSER", "default"}, {"AUTH", "default", "nope"}, {"AUTH", "nope"}, {"AUTH", "ghost", "nope"},
				{"ACL", "LOG"}, {"ACL", "LOG", 1}, {"ACL", "LOG", -1}, {"ACL", "LOG", "x"}, {"ACL", "LOG", "RESET"}, {"ACL", "LOG"},
				{"ACL", "SETUSER", "default", "resetpass", "nopass"}, {"ACL", "LIST"},
			} {
				v, err := cn.Do(ctx, cmd...).Result()
				seen[i] = append(seen[i], fmt.Sprintf("%v: %s %v", cmd, aclReply(v), err))
			}
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
	c := testutil.Client(t, testutil.Start(t, nil), 2)
	if err := c.Do(ctx, "ACL", "SETUSER", "alice", "on", ">pw").Err(); err == nil {
		t.Error("ACL SETUSER of another user succeeded")
	}
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
// a redis-server 7.0.15 whose default user took the same rules; a rule Shoal cannot honour (a password
// given as a hash, a user turned off) stops Shoal's start rather than
// leave it open.
func TestUserLinesAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	line := []string{"default", "on", ">s3cret", "~*", "&*", "+@all"}
	r := testutil.StartRedisServer(t, t.TempDir())
	rc := r.Client(t, 0)
	if err := rc.Do(ctx, append([]any{"ACL", "SETUSER"}, anySlice(line)...)...).Err(); err != nil {
		t.Fatal(err)
	}
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
	for _, bad := range [][]string{{"default", "on", "#" + strings.Repeat("a", 64)}, {"default", "off"}} {
		cfg := testutil.Config(t)
		cfg.Users = [][]string{bad}
		if _, err := server.New(cfg, server.Options{}); err == nil {
			t.Errorf("user %v: the server started", bad)
		}
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
