package commands_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// The clients read Shoal's COMMAND as they read redis-server 7.0.15's:
// go-redis's Command (which routes a cluster client by it), redis-py's
// command(), redis-cli's printing of COMMAND DOCS and its hints. Each runs
// against a redis-server beside Shoal and compares.

// differsOnPurpose reports whether COMMAND INFO of name differs from
// Redis's for a reason the golden test lists: a command or subcommand
// Shoal lacks or adds, or an exception.
func differsOnPurpose(name string) bool {
	if _, ok := unimplemented[name]; ok {
		return true
	}
	for sub := range unimplementedSubs {
		if strings.HasPrefix(sub, name+"|") {
			return true
		}
	}
	for sub := range shoalOnlyCommands {
		if strings.HasPrefix(sub, name+"|") {
			return true
		}
	}
	for _, e := range commandDocsExceptions {
		if e.cmd == "COMMAND INFO "+name {
			return true
		}
	}
	return false
}

func TestCommandGoRedis(t *testing.T) {
	redisAddr := testutil.StartRedis(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rc := redis.NewClient(&redis.Options{Addr: redisAddr, Protocol: proto, DisableIdentity: true})
			defer rc.Close()
			want, err := rc.Command(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			got, err := testutil.Client(t, testutil.Start(t, nil), proto).Command(ctx).Result()
			if err != nil {
				t.Fatalf("go-redis cannot read Shoal's COMMAND: %v", err)
			}
			for name, w := range want {
				if differsOnPurpose(name) {
					continue
				}
				g := got[name]
				if g == nil {
					t.Errorf("%s: missing from Shoal's COMMAND", name)
					continue
				}
				wc, gc := *w, *g
				wc.CommandPolicy, gc.CommandPolicy = nil, nil
				if ws, gs := fmt.Sprintf("%+v %+v", wc, w.CommandPolicy), fmt.Sprintf("%+v %+v", gc, g.CommandPolicy); ws != gs {
					t.Errorf("%s: go-redis reads\n redis %s\n shoal %s", name, ws, gs)
				}
			}
		})
	}
}

// redisPyCommand compares redis-py's command() of a redis-server (first
// port) and Shoal (second port), subcommands sorted, skipping the names
// given third; then reads COMMAND COUNT, GETKEYS and DOCS from Shoal.
const redisPyCommand = `
import sys, redis
a = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
b = redis.Redis(host=sys.argv[1], port=int(sys.argv[3]), decode_responses=True)
skip = set(sys.argv[4].split(','))
def norm(c):
    for info in c.values():
        info['subcommands'] = sorted(info['subcommands'], key=lambda s: s[0])
    return c
ca, cb = norm(a.command()), norm(b.command())
bad = [n for n in sorted(ca) if n not in skip and cb.get(n) != ca[n]]
assert b.command_count() == len(cb), (b.command_count(), len(cb))
assert b.command_getkeys('SORT', 'k', 'STORE', 'd') == ['k', 'd']
assert b.execute_command('COMMAND DOCS', 'get') == a.execute_command('COMMAND DOCS', 'get')
print('differ: ' + ' '.join(bad) if bad else 'ok')
`

func TestCommandRedisPy(t *testing.T) {
	py := testutil.RequireRedisPy(t)
	redisAddr := testutil.StartRedis(t)
	s := testutil.Start(t, nil)
	host, rport, _ := net.SplitHostPort(redisAddr)
	_, sport, _ := net.SplitHostPort(s.Addr())
	var skip []string
	for _, n := range redisListed(t, readGolden(t, commandDocsGolden)) {
		if differsOnPurpose(n) {
			skip = append(skip, n)
		}
	}
	out, err := exec.Command(py, "-c", redisPyCommand, host, rport, sport, strings.Join(skip, ",")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
}

// TestCommandRedisCLI compares what redis-cli prints for COMMAND DOCS and
// COMMAND INFO of single commands (containers list their subcommands in
// Redis's hash order, so they are left out).
func TestCommandRedisCLI(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	redisAddr := testutil.StartRedis(t)
	s := testutil.Start(t, nil)
	run := func(addr string, args ...string) string {
		host, port, _ := net.SplitHostPort(addr)
		out, err := exec.Command(cli, append([]string{"-h", host, "-p", port, "--no-raw"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, args := range [][]string{
		{"command", "docs", "get"},
		{"command", "docs", "sort", "georadius", "getset", "xinfo|stream"},
		{"-3", "command", "docs", "set", "zadd", "xread"},
		{"command", "info", "get", "sort", "eval", "spublish"},
		{"-3", "command", "info", "georadius", "keys", "config|get"},
		{"command", "getkeysandflags", "sort", "k", "store", "d"},
		{"command", "count"},
	} {
		want, got := run(redisAddr, args...), run(s.Addr(), args...)
		if args[len(args)-1] == "count" {
			want = fmt.Sprintf("(integer) %d\n", len(commandsOf(t, s.Addr())))
		}
		if got != want {
			t.Errorf("redis-cli %s:\n redis %s\n shoal %s", strings.Join(args, " "), want, got)
		}
	}
}

// commandsOf returns the top-level names of COMMAND LIST at addr, sorted.
func commandsOf(t *testing.T, addr string) []string {
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	defer c.Close()
	return topLevelNames(t, c)
}

// topLevelNames returns the names of c's COMMAND LIST without the
// subcommands, sorted.
func topLevelNames(t *testing.T, c *redis.Client) []string {
	t.Helper()
	names, err := c.CommandList(context.Background(), nil).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if !strings.Contains(n, "|") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// redisCLIHint runs redis-cli interactively on a pseudo-terminal (the
// second argument is the port), types the third argument and prints what
// redis-cli shows until the hint given fourth appears, or it gives up.
const redisCLIHint = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], [sys.argv[1], "-p", sys.argv[2]])
out, typed, deadline = b"", False, time.time() + 30
while time.time() < deadline and sys.argv[4].encode() not in out:
    if select.select([fd], [], [], 0.2)[0]:
        d = os.read(fd, 65536)
        out += d
        if b"\x1b[6n" in d:  # linenoise asks where the cursor is
            os.write(fd, b"\x1b[1;200R")
        if b"> " in out and not typed:
            os.write(fd, sys.argv[3].encode())
            typed = True
os.write(fd, b"\x15quit\r")
sys.stdout.write(out.decode(errors="replace"))
`

// TestRedisCLIHints checks that redis-cli, which asks COMMAND DOCS when it
// starts, shows hints from Shoal's docs: Redis's arguments, and those of
// Shoal's own commands, which its built-in help does not know.
func TestRedisCLIHints(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	py := testutil.RequireTool(t, "python3")
	s := testutil.Start(t, nil)
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, c := range []struct{ typed, hint string }{
		{"georadius k ", "longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]"},
		{"maintenance start ", "[TIMEOUT timeout] [SKIPSYNC node-id [node-id ...]]"},
	} {
		cmd := exec.Command(py, "-c", redisCLIHint, cli, port, c.typed, c.hint)
		cmd.Env = append(os.Environ(), "TERM=xterm")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.hint) {
			t.Errorf("redis-cli typed %q: no hint %q (%v)\n%q", c.typed, c.hint, err, out)
		}
	}
	info, err := testutil.Client(t, s, 2).Info(context.Background(), "commandstats").Result()
	if err != nil || !strings.Contains(info, "cmdstat_command|docs:calls=2,") {
		t.Errorf("redis-cli did not ask COMMAND DOCS once each time: %v\n%s", err, info)
	}
}
