package server_test

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
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
	if s.Table().Lookup([]byte("incr")) != nil {
		expect(cli(t, bin, s, "", "-r", "3", "incr", "counter"), "1\n2\n3")
	} else {
		t.Log("INCR is not in the command table; skipping the INCR part")
	}
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

	// RESP3.
	out = cli(t, bin, s, "", "-3", "--no-raw", "hello", "3")
	for _, want := range []string{`"server" => "redis"`, `"proto" => (integer) 3`, `"mode" => "standalone"`, `"role" => "master"`, `"modules" => (empty array)`} {
		if !strings.Contains(out, want) {
			t.Fatalf("redis-cli -3 hello 3 lacks %q:\n%s", want, out)
		}
	}
}
