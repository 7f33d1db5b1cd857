package commands_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// A transcript is a script of commands, one a line with arguments split
// on spaces, and the replies redis-server 7.0.15 gave to each over RESP2
// and RESP3, recorded in a golden file under testdata. The golden file is
// only ever written from a real Redis, never from Shoal's replies.
//
// A script line that starts with "@ " runs without the marker, and its
// reply has the values that depend on the clock masked (timestamps in
// milliseconds, idle times), so that lines reading delivery times and
// idle times compare the rest of their reply.
type transcript struct {
	name   string   // the script's variable and file, for the header
	golden string   // testdata/<name>.golden
	flag   string   // the -flag that records it
	script []string // the commands
	// tolerate, when set, accepts a reply that differs from Redis's in a
	// way the test explains (it logs why).
	tolerate func(t *testing.T, i int, line, got, want string, proto int) bool
}

// renderReply writes a go-redis reply as one line of text: the golden file's
// form, with the reply's type. Maps (RESP3) list their pairs ordered by
// key, as go-redis does not keep their order.
func renderReply(v any, err error) string {
	if errors.Is(err, redis.Nil) {
		return "(nil)"
	}
	if err != nil {
		return "(error) " + err.Error()
	}
	switch x := v.(type) {
	case nil:
		return "(nil)"
	case string:
		return strconv.Quote(x)
	case int64:
		return "(integer) " + strconv.FormatInt(x, 10)
	case float64:
		return "(double) " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "(bool) " + strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderReply(e, nil)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[any]any:
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, renderReply(k, nil)+": "+renderReply(e, nil))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		return fmt.Sprintf("(%T) %v", v, v)
	}
}

var (
	maskMs      = regexp.MustCompile(`\(integer\) [0-9]{12,}`)
	maskIdle    = regexp.MustCompile(`"idle"(, |: )\(integer\) [0-9]+`)
	maskPending = regexp.MustCompile(`\["([0-9]+-[0-9]+)", "([^"]*)", \(integer\) [0-9]+, \(integer\) ([0-9]+)\]`)
)

// maskClock replaces the values of a rendered reply that depend on the
// clock: Unix times in milliseconds, "idle" fields and the idle times of
// XPENDING's entries.
func maskClock(s string) string {
	s = maskMs.ReplaceAllString(s, "(integer) <ms>")
	s = maskIdle.ReplaceAllString(s, `"idle"$1(integer) <idle>`)
	return maskPending.ReplaceAllString(s, `["$1", "$2", (integer) <idle>, (integer) $3]`)
}

// run sends every line of the script through c and renders the replies.
func (tr *transcript) run(c *redis.Client) []string {
	ctx := context.Background()
	out := make([]string, len(tr.script))
	for i, line := range tr.script {
		masked := strings.HasPrefix(line, "@ ")
		line = strings.TrimPrefix(line, "@ ")
		var args []any
		for _, a := range strings.Split(line, " ") {
			args = append(args, a)
		}
		out[i] = renderReply(c.Do(ctx, args...).Result())
		if masked {
			out[i] = maskClock(out[i])
		}
	}
	return out
}

// check runs the script against Shoal over RESP2 and RESP3 and compares
// every reply with the one redis-server 7.0.15 gave; with addr set, it
// records the golden file from the redis-server at addr instead.
func (tr *transcript) check(t *testing.T, addr string) {
	if addr != "" {
		tr.record(t, addr)
		return
	}
	want := tr.read(t)
	if len(want) != len(tr.script) {
		t.Fatalf("%s has %d commands, the script %d: record it again from redis-server", tr.golden, len(want), len(tr.script))
	}
	for i, line := range tr.script {
		if want[i].cmd != line {
			t.Fatalf("%s: command %d is %q, the script's %q: record it again from redis-server", tr.golden, i, want[i].cmd, line)
		}
	}
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			got := tr.run(testutil.Client(t, testutil.Start(t, nil), proto))
			for i, line := range tr.script {
				w := want[i].reply[proto]
				if got[i] != w && (tr.tolerate == nil || !tr.tolerate(t, i, line, got[i], w, proto)) {
					t.Errorf("%d: %s\n got  %s\n want %s", i, line, got[i], w)
				}
			}
		})
	}
}

type recorded struct {
	cmd   string
	reply map[int]string
}

// read reads the golden file: "> command", then "2: reply" and
// "3: reply", in the script's order.
func (tr *transcript) read(t *testing.T) []recorded { return readGolden(t, tr.golden) }

// readGolden reads a golden file of "> command" lines, each followed by
// "2: reply" and "3: reply", skipping comments and blank lines.
func readGolden(t *testing.T, golden string) []recorded {
	t.Helper()
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []recorded
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#") || l == "":
		case strings.HasPrefix(l, "> "):
			out = append(out, recorded{cmd: l[2:], reply: map[int]string{}})
		case len(out) > 0 && (strings.HasPrefix(l, "2: ") || strings.HasPrefix(l, "3: ")):
			out[len(out)-1].reply[int(l[0]-'0')] = l[3:]
		default:
			t.Fatalf("%s: bad line %q", golden, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// recordingClient returns a client speaking proto of the redis-server
// 7.0.15 at addr, which a golden file is recorded from; it fails the test
// for any other server.
func recordingClient(t *testing.T, addr string, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "redis_version:7.0.15\r\n") {
		t.Fatalf("%s is not redis-server 7.0.15", addr)
	}
	return c
}

// record writes the golden file from a real redis-server 7.0.15, flushed
// before each protocol's run.
func (tr *transcript) record(t *testing.T, addr string) {
	ctx := context.Background()
	replies := map[int][]string{}
	for _, proto := range []int{2, 3} {
		c := recordingClient(t, addr, proto)
		if err := c.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		replies[proto] = tr.run(c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Replies of redis-server 7.0.15 to %s, through go-redis v9,\n", tr.name)
	fmt.Fprintf(&b, "# recorded with: go test ./commands -run %s -%s 127.0.0.1:PORT\n", t.Name(), tr.flag)
	b.WriteString("# Never regenerate this file from Shoal's output.\n")
	for i, line := range tr.script {
		fmt.Fprintf(&b, "> %s\n2: %s\n3: %s\n", line, replies[2][i], replies[3][i])
	}
	if err := os.WriteFile(tr.golden, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

var quotedNumber = regexp.MustCompile(`"-?[0-9][0-9.e+-]*"`)

// shortestNumbers rewrites every quoted number of a rendered reply in the
// shortest form of its double: Shoal writes scores as Redis 7.2 does
// (server/testdata/golden/redis72.txt), Redis 7.0 with "%.17g".
func shortestNumbers(s string) string {
	return quotedNumber.ReplaceAllStringFunc(s, func(q string) string {
		f, err := strconv.ParseFloat(q[1:len(q)-1], 64)
		if err != nil {
			return q
		}
		return strconv.Quote(strconv.FormatFloat(f, 'g', -1, 64))
	})
}
