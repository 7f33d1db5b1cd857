// Package testutil starts real Shoal servers on loopback for tests and
// connects real clients to them.
package testutil

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/server"
)

// Config returns a configuration for a test server: loopback, port 0, a
// temporary data folder.
func Config(t testing.TB) *config.Config {
	c := config.Default()
	c.Port = 0
	c.Bind = []string{"127.0.0.1"}
	c.Dir = t.TempDir()
	c.SlowlogSlowerThan = -1
	// Tests drive failpoints and the expiry sweeper through DEBUG.
	c.EnableDebugCommand = "local"
	return c
}

// Start starts a server with cfg (Config(t) when nil), closed at the end
// of the test.
func Start(t testing.TB, cfg *config.Config) *server.Server {
	t.Helper()
	return StartWith(t, cfg, server.Options{})
}

// StartWith is Start with server options (a clock, say); the logger is the
// test's unless opts sets one.
func StartWith(t testing.TB, cfg *config.Config, opts server.Options) *server.Server {
	t.Helper()
	if cfg == nil {
		cfg = Config(t)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if os.Getenv("SHOAL_TEST_LOG") != "" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	s, err := server.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Client returns a go-redis client of s speaking protocol proto (2 or 3).
func Client(t testing.TB, s *server.Server, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// Both runs f once over RESP2 and once over RESP3 against a fresh server.
func Both(t *testing.T, f func(t *testing.T, c *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(map[int]string{2: "resp2", 3: "resp3"}[proto], func(t *testing.T) {
			s := Start(t, nil)
			f(t, Client(t, s, proto))
		})
	}
}

// Ctx is a context for one test call.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Raw is a plain socket to a server, for malformed and inline requests.
type Raw struct {
	t    testing.TB
	Conn net.Conn
	R    *bufio.Reader
}

// Dial opens a raw connection to addr.
func Dial(t testing.TB, addr string) *Raw {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &Raw{t: t, Conn: nc, R: bufio.NewReader(nc)}
}

// Send writes s as is.
func (r *Raw) Send(s string) {
	r.t.Helper()
	if _, err := r.Conn.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// ReadReply reads one whole reply and returns its raw text.
func (r *Raw) ReadReply() (string, error) {
	r.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	err := readReply(r.R, &b)
	return b.String(), err
}

func readReply(rd *bufio.Reader, b *strings.Builder) error {
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	b.WriteString(line)
	body := strings.TrimSuffix(line[1:], "\r\n")
	switch line[0] {
	case '$', '=', '!':
		n := atoi(body)
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return err
		}
		b.Write(buf)
	case '*', '~', '>', '%', '|':
		n := atoi(body)
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := readReply(rd, b); err != nil {
				return err
			}
		}
		if line[0] == '|' {
			// An attribute is no reply: the reply it describes follows.
			return readReply(rd, b)
		}
	}
	return nil
}

func atoi(s string) int {
	n, neg := 0, false
	for i, c := range s {
		if i == 0 && c == '-' {
			neg = true
			continue
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// RequireTool returns the path of a Debian tool a test drives, skipping the
// test when it is missing, unless SHOAL_REQUIRE_TOOLS=1 makes that a failure.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SHOAL_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (SHOAL_REQUIRE_TOOLS=1) but not installed", name)
		}
		t.Skipf("%s is not installed; install its Debian package (redis-tools, prometheus) to run this test", name)
	}
	return p
}

// RequireRedisPy returns the python3 that imports redis-py (Debian's
// python3-redis), skipping the test when there is none, unless
// SHOAL_REQUIRE_TOOLS=1 makes that a failure.
func RequireRedisPy(t testing.TB) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil || exec.Command(py, "-c", "import redis").Run() != nil {
		if os.Getenv("SHOAL_REQUIRE_TOOLS") == "1" {
			t.Fatal("redis-py is required (SHOAL_REQUIRE_TOOLS=1): install Debian's python3-redis")
		}
		t.Skip("redis-py is not installed; install Debian's python3-redis to run this test")
	}
	return py
}

// FreePort returns a loopback port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	// NB: a port of the ephemeral range (32768-60999 on Linux), which
	// "127.0.0.1:0" gives, can be taken between this check and the
	// server's bind by any outgoing connection of the machine; one below
	// it only by another explicit bind.
	for range 1000 {
		port := 10000 + rand.IntN(32768-10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// ScrapeMetrics fetches /metrics from addr and returns each sample's value
// by its name and labels as written ("shoal_keyspace_keys{db=\"0\"}").
func ScrapeMetrics(t testing.TB, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// StartRedis runs a redis-server (Debian's, 7.0) on a free loopback port
// with no persistence, for tests that move data between it and Shoal, and
// returns its address; it is killed when the test ends. The test skips
// without redis-server, as RequireTool does.
func StartRedis(t testing.TB) string {
	t.Helper()
	return StartRedisServer(t, t.TempDir()).Addr()
}
