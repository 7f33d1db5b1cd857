package server_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// cli runs redis-cli against s with args and returns its trimmed output.
func cli(t *testing.T, bin string, s *server.Server, stdin string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr())
	cmd := exec.Command(bin, append([]string{"-h", host, "-p", port}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return strings.TrimSpace(out.String())
}

// TestRedisCLI drives the real redis-cli, as a user would.
func TestRedisCLI(t *testing.T) {
	bin := testutil.RequireTool(t, "redis-cli")
	s := testutil.Start(t, nil)

	expect := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	expect(cli(t, bin, s, "", "ping"), "PONG")
	expect(cli(t, bin, s, "", "set", "greeting", "hello world"), "OK")
	expect(cli(t, bin, s, "", "get", "greeting"), "hello world")
	expect(cli(t, bin, s, "", "--no-raw", "get", "missing"), "(nil)")
	expect(cli(t, bin, s, "", "-r", "3", "ping"), "PONG\nPONG\nPONG")
	expect(cli(t, bin, s, "", "-r", "3", "incr", "counter"), "1\n2\n3")
	expect(cli(t, bin, s, "", "nosuchcmd"), "ERR unknown command 'nosuchcmd', with args beginning with:")

	// --pipe sends raw protocol and counts the replies.
	var in strings.Builder
	const n = 200
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&in, "SET p%d v%d\r\n", i, i)
		} else {
			in.WriteString(mbulk("SET", fmt.Sprintf("p%d", i), fmt.Sprintf("v%d", i)))
		}
	}
	out := cli(t, bin, s, in.String(), "--pipe")
	if !strings.Contains(out, fmt.Sprintf("errors: 0, replies: %d", n)) {
		t.Fatalf("--pipe output:\n%s", out)
	}
	expect(cli(t, bin, s, "", "get", "p199"), "v199")

	// Collections, as redis-cli prints them in RESP2 and RESP3.
	expect(cli(t, bin, s, "", "rpush", "list", "a", "b", "c"), "3")
	expect(cli(t, bin, s, "", "hset", "hash", "f1", "v1", "f2", "v2"), "2")
	expect(cli(t, bin, s, "", "sadd", "set", "x"), "1")
	expect(cli(t, bin, s, "", "zadd", "zset", "1.5", "m", "2", "n"), "2")
	expect(cli(t, bin, s, "", "pfadd", "hll", "a", "b"), "1")
	expect(cli(t, bin, s, "", "--no-raw", "lrange", "list", "0", "-1"), "1) \"a\"\n2) \"b\"\n3) \"c\"")
	expect(cli(t, bin, s, "", "--no-raw", "hgetall", "hash"), "1) \"f1\"\n2) \"v1\"\n3) \"f2\"\n4) \"v2\"")
	expect(cli(t, bin, s, "", "--no-raw", "-3", "hgetall", "hash"), "1# \"f1\" => \"v1\"\n2# \"f2\" => \"v2\"")
	expect(cli(t, bin, s, "", "--no-raw", "-3", "smembers", "set"), "1~ \"x\"")
	expect(cli(t, bin, s, "", "--no-raw", "zrange", "zset", "0", "-1", "withscores"), "1) \"m\"\n2) \"1.5\"\n3) \"n\"\n4) \"2\"")
	expect(cli(t, bin, s, "", "--no-raw", "-3", "zrange", "zset", "0", "-1", "withscores"),
		"1) 1) \"m\"\n   2) (double) 1.5\n2) 1) \"n\"\n   2) (double) 2")
	expect(cli(t, bin, s, "", "--no-raw", "-3", "zscore", "zset", "m"), "(double) 1.5")
	expect(cli(t, bin, s, "", "--no-raw", "-3", "lpop", "nothere", "2"), "(nil)")
	expect(cli(t, bin, s, "", "--csv", "hgetall", "hash"), `"f1","v1","f2","v2"`)
	expect(cli(t, bin, s, "", "--no-raw", "lpush", "hash", "x"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value")
	expect(cli(t, bin, s, "from stdin", "-x", "set", "xkey"), "OK")
	expect(cli(t, bin, s, "", "get", "xkey"), "from stdin")
	expect(cli(t, bin, s, "", "-n", "2", "set", "dbkey", "v"), "OK")
	expect(cli(t, bin, s, "", "-n", "2", "get", "dbkey"), "v")

	// --scan walks SCAN to the end; the order is the server's.
	keys := strings.Fields(cli(t, bin, s, "", "--scan", "--pattern", "*s*"))
	slices.Sort(keys)
	expect(strings.Join(keys, " "), "hash list set zset")

	// INFO keyspace counts every database with keys.
	out = cli(t, bin, s, "", "info", "keyspace")
	for _, want := range []string{"# Keyspace", fmt.Sprintf("db0:keys=%d,expires=0,avg_ttl=0", 208), "db2:keys=1,expires=0,avg_ttl=0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("INFO keyspace lacks %q:\n%s", want, out)
		}
	}

	// --bigkeys and --memkeys sample every key by type (SCAN, TYPE, the
	// size commands, MEMORY USAGE).
	out = cli(t, bin, s, "", "--bigkeys")
	for _, want := range []string{
		"Sampled 208 keys in the keyspace!",
		`Biggest   list found '"list"' has 3 items`,
		`Biggest   hash found '"hash"' has 2 fields`,
		`Biggest    set found '"set"' has 1 members`,
		`Biggest   zset found '"zset"' has 2 members`,
		`Biggest string found '"hll"' has 24 bytes`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("--bigkeys lacks %q:\n%s", want, out)
		}
	}
	out = cli(t, bin, s, "", "--memkeys")
	for _, want := range []string{"Sampled 208 keys in the keyspace!", `Biggest   zset found '"zset"' has`, "1 zsets with"} {
		if !strings.Contains(out, want) {
			t.Fatalf("--memkeys lacks %q:\n%s", want, out)
		}
	}

	// RESP3.
	out = cli(t, bin, s, "", "-3", "--no-raw", "hello", "3")
	for _, want := range []string{`"server" => "redis"`, `"proto" => (integer) 3`, `"mode" => "standalone"`, `"role" => "master"`, `"modules" => (empty array)`} {
		if !strings.Contains(out, want) {
			t.Fatalf("redis-cli -3 hello 3 lacks %q:\n%s", want, out)
		}
	}
}

// TestRedisCLIScripting runs scripts and functions the ways redis-cli
// offers: --eval with a script file, EVAL, FUNCTION LOAD from standard
// input (-x), FCALL.
func TestRedisCLIScripting(t *testing.T) {
	bin := testutil.RequireTool(t, "redis-cli")
	s := testutil.Start(t, nil)
	expect := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	file := t.TempDir() + "/incr.lua"
	if err := os.WriteFile(file, []byte("redis.call('SET', KEYS[1], ARGV[1])\nreturn {KEYS[1], redis.call('INCRBY', KEYS[1], ARGV[2])}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Expected outputs are redis-cli's against redis-server 7.0.15.
	expect(cli(t, bin, s, "", "--eval", file, "counter", ",", "10", "5"), "counter\n15")
	expect(cli(t, bin, s, "", "eval", "return redis.call('GET', KEYS[1])", "1", "counter"), "15")
	expect(cli(t, bin, s, "", "eval", "return redis.call('NOSUCH')", "0"),
		"ERR Unknown Redis command called from script script: 7ae0187b9ac91447963709e3bfd83c5935fec648, on @user_script:1.")
	expect(cli(t, bin, s, "#!lua name=cli\nredis.register_function('twice', function(keys, args) return args[1] .. args[1] end)\n", "-x", "function", "load"), "cli")
	expect(cli(t, bin, s, "", "fcall", "twice", "0", "ab"), "abab")
	expect(cli(t, bin, s, "", "-3", "eval", "return {map={a=1}}", "0"), "a 1")
}
