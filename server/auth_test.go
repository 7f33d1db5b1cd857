package server_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// exchange sends each request on r and checks the replies in order.
func exchange(t *testing.T, r *testutil.Raw, pairs ...string) {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		r.Send(pairs[i])
		got, err := r.ReadReply()
		if err != nil || got != pairs[i+1] {
			t.Fatalf("%q: got %q (%v), want %q", pairs[i], got, err, pairs[i+1])
		}
	}
}

func startWithPassword(t *testing.T, pass string) *server.Server {
	cfg := testutil.Config(t)
	cfg.RequirePass = pass
	return testutil.Start(t, cfg)
}

const (
	noAuth    = "-NOAUTH Authentication required.\r\n"
	wrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
	helloAuth = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
)

func TestRequirePass(t *testing.T) {
	s := startWithPassword(t, "sekret")
	r := testutil.Dial(t, s.Addr())
	exchange(t, r,
		"PING\r\n", noAuth,
		"GET k\r\n", noAuth,
		"NOSUCHCMD\r\n", "-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n",
		"AUTH wrong\r\n", wrongPass,
		"AUTH default wrong\r\n", wrongPass,
		"AUTH bob sekret\r\n", wrongPass,
		"AUTH a b c\r\n", "-ERR syntax error\r\n",
		"HELLO 3\r\n", helloAuth,
		"HELLO 3 AUTH default wrong\r\n", wrongPass,
		"PING\r\n", noAuth,
		"AUTH sekret\r\n", "+OK\r\n",
		"PING\r\n", "+PONG\r\n",
	)
	r = testutil.Dial(t, s.Addr())
	exchange(t, r,
		"AUTH default sekret\r\n", "+OK\r\n",
		"SET k v\r\n", "+OK\r\n",
	)

	// go-redis authenticates with HELLO 3 AUTH or AUTH.
	for _, proto := range []int{2, 3} {
		c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto, Password: "sekret", DisableIdentity: true})
		defer c.Close()
		ctx := testutil.Ctx(t)
		if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Fatalf("RESP%d GET with password = %q, %v", proto, v, err)
		}
		bad := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto, Password: "nope", DisableIdentity: true, MaxRetries: -1})
		defer bad.Close()
		if err := bad.Ping(ctx).Err(); err == nil || err.Error() != "WRONGPASS invalid username-password pair or user is disabled." {
			t.Fatalf("RESP%d PING with a wrong password = %v", proto, err)
		}
	}
}

// helloReply matches HELLO's reply in RESP2 (an array) or RESP3 (a map).
func helloReply(proto int) *regexp.Regexp {
	head := map[int]string{2: `\*14`, 3: `%7`}[proto]
	return regexp.MustCompile(`^` + head + `\r\n` +
		`\$6\r\nserver\r\n\$5\r\nredis\r\n` +
		`\$7\r\nversion\r\n\$\d+\r\n7\.\d+\.\d+\r\n` +
		fmt.Sprintf(`\$5\r\nproto\r\n:%d\r\n`, proto) +
		`\$2\r\nid\r\n:\d+\r\n` +
		`\$4\r\nmode\r\n\$10\r\nstandalone\r\n` +
		`\$4\r\nrole\r\n\$6\r\nmaster\r\n` +
		`\$7\r\nmodules\r\n\*0\r\n$`)
}

func TestHello(t *testing.T) {
	s := startWithPassword(t, "sekret")
	r := testutil.Dial(t, s.Addr())
	r.Send("HELLO 3 AUTH default sekret SETNAME x\r\n")
	got, err := r.ReadReply()
	if err != nil || !helloReply(3).MatchString(got) {
		t.Fatalf("HELLO 3 AUTH SETNAME = %q, %v", got, err)
	}
	exchange(t, r,
		"CLIENT GETNAME\r\n", "$1\r\nx\r\n",
		"GET missing\r\n", "_\r\n",
		"HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n",
		"HELLO 1\r\n", "-NOPROTO unsupported protocol version\r\n",
		"HELLO x\r\n", "-ERR Protocol version is not an integer or out of range\r\n",
		"HELLO 3 AUTH\r\n", "-ERR Syntax error in HELLO option 'AUTH'\r\n",
		"HELLO 3 SETNAME\r\n", "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
		"HELLO 3 SETNAME \"a b\"\r\n", "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
	)
	r.Send("HELLO 2\r\n")
	if got, err := r.ReadReply(); err != nil || !helloReply(2).MatchString(got) {
		t.Fatalf("HELLO 2 = %q, %v", got, err)
	}
	exchange(t, r, "GET missing\r\n", "$-1\r\n")
	// HELLO without a version keeps the protocol.
	r.Send("HELLO\r\n")
	if got, err := r.ReadReply(); err != nil || !helloReply(2).MatchString(got) {
		t.Fatalf("HELLO = %q, %v", got, err)
	}
}

func TestAuthWithoutPassword(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	exchange(t, r,
		"AUTH foo\r\n", "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
		// The default user has nopass: any password is accepted.
		"AUTH default foo\r\n", "+OK\r\n",
		"AUTH bob foo\r\n", wrongPass,
		"PING\r\n", "+PONG\r\n",
	)
	r.Send("HELLO 3 AUTH default anything\r\n")
	if got, err := r.ReadReply(); err != nil || !helloReply(3).MatchString(got) {
		t.Fatalf("HELLO 3 AUTH = %q, %v", got, err)
	}
}

func TestReset(t *testing.T) {
	s := startWithPassword(t, "sekret")
	r := testutil.Dial(t, s.Addr())
	r.Send("HELLO 3 AUTH default sekret\r\n")
	if _, err := r.ReadReply(); err != nil {
		t.Fatal(err)
	}
	exchange(t, r,
		"SELECT 1\r\n", "+OK\r\n",
		"SET k db1\r\n", "+OK\r\n",
		"CLIENT SETNAME n\r\n", "+OK\r\n",
		"MULTI\r\n", "+OK\r\n",
		"SET k queued\r\n", "+QUEUED\r\n",
		"RESET\r\n", "+RESET\r\n",
		"PING\r\n", noAuth,
		// A refused EXEC says so as Redis's does, through EXECABORT.
		"EXEC\r\n", "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n",
		"AUTH sekret\r\n", "+OK\r\n",
		"EXEC\r\n", "-ERR EXEC without MULTI\r\n",
		"GET k\r\n", "$-1\r\n", // RESP2 null, db 0
		"CLIENT GETNAME\r\n", "$-1\r\n",
		"SELECT 1\r\n", "+OK\r\n",
		"GET k\r\n", "$3\r\ndb1\r\n",
	)

	// Without a password RESET leaves the connection authenticated.
	s2 := testutil.Start(t, nil)
	r = testutil.Dial(t, s2.Addr())
	exchange(t, r,
		"RESET\r\n", "+RESET\r\n",
		"PING\r\n", "+PONG\r\n",
	)
}

func TestQuit(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	r.Send("PING\r\nQUIT\r\nPING\r\n")
	if got := expectClosed(t, r); got != "+PONG\r\n+OK\r\n" {
		t.Fatalf("got %q", got)
	}
	expectAlive(t, s)
}

// TestQuitDropsPipelined checks that commands pipelined after QUIT in the
// same read never run, small or larger than a read buffer. Recorded on
// redis-server 7.0.15: "PING\r\nQUIT\r\nSET qk v\r\nPING\r\n" answers
// "+PONG\r\n+OK\r\n", closes, and qk does not exist.
func TestQuitDropsPipelined(t *testing.T) {
	s := testutil.Start(t, nil)
	big := strings.Repeat("x", 100<<10)
	r := testutil.Dial(t, s.Addr())
	r.Send("PING\r\nQUIT\r\nSET qk v\r\nPING\r\n" +
		"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + strconv.Itoa(len(big)) + "\r\n" + big + "\r\n" +
		"SET after big\r\n")
	if got := expectClosed(t, r); got != "+PONG\r\n+OK\r\n" {
		t.Fatalf("got %q", got)
	}
	r2 := testutil.Dial(t, s.Addr())
	exchange(t, r2, "EXISTS qk big after\r\n", ":0\r\n")
}
