package server_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// logCapture is a log the test reads while the server writes it.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// criticalLines are the "== CRITICAL ==" messages of a log, Shoal's
// (msg="...", quotes escaped) or redis-server's.
func criticalLines(log string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`== CRITICAL == [^\n"]*(\\"[^\n"]*)*`).FindAllString(log, -1) {
		out = append(out, string(bytes.ReplaceAll([]byte(m), []byte(`\"`), []byte(`"`))))
	}
	return out
}

// TestPropagationErrorsAsRedis: a command of a redis-server primary's
// stream that fails on its replica is counted in INFO's
// unexpected_error_replies and logged as Redis logs it, on a Shoal replica
// as on a redis-server one; a writable replica diverges without stopping
// under propagation-error-behavior panic-on-replicas, as Redis's does.
func TestPropagationErrorsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	primary := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	pc := primary.Client(t, 0)
	cfg := testutil.Config(t)
	cfg.ReplicaOf = "127.0.0.1 " + strconv.Itoa(primary.Port)
	var shoalLog logCapture
	s := testutil.StartWith(t, cfg, server.Options{Logger: slog.New(slog.NewTextHandler(&shoalLog, nil))})
	rs := testutil.StartRedisServer(t, t.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
	replicas := map[string]*redis.Client{"shoal": testutil.Client(t, s, 2), "redis": rs.Client(t, 0)}
	for name, c := range replicas {
		eventuallyTrue(t, name+" linked", func() bool { return infoText(t, c, "master_link_status") == "up" })
	}
	errorsBoth := func(n string) {
		t.Helper()
		for name, c := range replicas {
			eventuallyTrue(t, name+": unexpected_error_replies "+n, func() bool { return infoText(t, c, "unexpected_error_replies") == n })
		}
	}
	pc.Do(ctx, "DEBUG", "REPLICATE", "fake-command-1")
	errorsBoth("1")
	for _, c := range replicas {
		c.ConfigSet(ctx, "replica-read-only", "no")
		c.ConfigSet(ctx, "propagation-error-behavior", "panic-on-replicas")
		c.Set(ctx, "number2", "foo", 0)
	}
	pc.IncrBy(ctx, "number2", 1)
	errorsBoth("2")
	pc.Do(ctx, "DEBUG", "REPLICATE", "fake-command-2")
	errorsBoth("3")
	for name, c := range replicas {
		if v := c.Get(ctx, "number2").Val(); v != "foo" {
			t.Errorf("%s: number2 %q on the writable replica", name, v)
		}
	}
	redisLog, err := os.ReadFile(filepath.Join(rs.Dir, "redis.log"))
	if err != nil {
		t.Fatal(err)
	}
	got, want := criticalLines(shoalLog.String()), criticalLines(string(redisLog))
	if len(want) != 3 || !slices.Equal(got, want) {
		t.Fatalf("Shoal logged:\n%q\nredis-server:\n%q", got, want)
	}
}
