package server_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// Golden RESP transcripts: testdata/golden/*.txt hold commands and the exact
// replies Redis gives, in RESP2 and RESP3. Each file is a sequence of blocks:
//
//	# a comment
//	proto 3               switch the connection's protocol (HELLO n)
//	notify KEA            set notify-keyspace-events and subscribe a second
//	                      connection, of the same protocol, to __key*__:*:
//	                      each command's reply is followed by the messages
//	                      it published there
//	monitor               the same with a second connection in MONITOR: the
//	                      lines it receives, time and port masked
//	sync                  each command's reply is followed by the pushes
//	                      the connection itself received after it
//	> ZADD z 1.5 a        a command, split as redis-cli splits it
//	:1                    the expected reply, one protocol line per line
//
// -golden.rewrite rewrites the expectations from Shoal's replies;
// -golden.redis ADDR rewrites them from a real redis-server at ADDR, which is
// how they were made: the transcripts are Redis's behaviour, Shoal must match.
//
// A file whose first line contains "shoal-only" (redis72.txt) records where
// Shoal deliberately follows Redis 7.2 rather than the 7.0 server the others
// come from; -golden.redis skips it, and it is maintained with -golden.rewrite.
var (
	goldenRewrite = flag.Bool("golden.rewrite", false, "rewrite golden transcripts from Shoal's replies")
	goldenRedis   = flag.String("golden.redis", "", "rewrite golden transcripts from the redis-server at this address")
)

func TestGoldenTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden transcripts found")
	}
	for _, file := range files {
		// Each says where it came from: redis-server 7.0.15, or Shoal
		// alone (shoal-only).
		if data, err := os.ReadFile(file); err != nil || !strings.Contains(string(data), "redis-server 7.0.15") && !strings.Contains(strings.SplitN(string(data), "\n", 2)[0], "shoal-only") {
			t.Errorf("%s names neither redis-server 7.0.15 nor shoal-only (%v)", file, err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runGolden(t, file)
		})
	}
}

type goldenStep struct {
	comment string // comment or proto line, kept verbatim
	cmd     string
	want    []string
}

func parseGolden(t *testing.T, text string) []goldenStep {
	var steps []goldenStep
	payload := -1 // bytes of a bulk string still to come, -1 outside one
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		// NB: a bulk string's payload is reply text whatever it looks
		// like: empty ("$0"), or lines starting with "#" (INFO). The
		// reply was split at CRLF, so each further line stands for two
		// more bytes.
		if payload >= 0 {
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
			payload -= len(line) + 2
			continue
		}
		switch {
		case strings.HasPrefix(line, "> "):
			steps = append(steps, goldenStep{cmd: line[2:]})
		case line != "#t" && line != "#f" && // RESP3's booleans, not comments
			(line == "" || line == "monitor" || line == "sync" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "proto ") || strings.HasPrefix(line, "notify ")):
			steps = append(steps, goldenStep{comment: line})
		default:
			if len(steps) == 0 || steps[len(steps)-1].cmd == "" {
				t.Fatalf("reply line %q before any command", line)
			}
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
			if n, ok := bulkLen(line); ok {
				payload = n
			}
		}
	}
	return steps
}

// bulkLen reports the payload length of a bulk string, verbatim string or
// blob error header line ("$5", "=9", "!3").
func bulkLen(line string) (int, bool) {
	if len(line) < 2 || !strings.ContainsRune("$=!", rune(line[0])) {
		return 0, false
	}
	n, err := strconv.Atoi(line[1:])
	return n, err == nil && n >= 0
}

func runGolden(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	shoalOnly := strings.Contains(strings.SplitN(string(data), "\n", 2)[0], "shoal-only")
	if shoalOnly && *goldenRedis != "" {
		t.Skip("shoal-only transcript: not regenerated from redis-server")
	}
	steps := parseGolden(t, string(data))
	addr := *goldenRedis
	if addr == "" {
		// NB: the clock stands still, as it nearly did while redis-server
		// answered the transcript: EXPIRE ... GT right after EXPIRE ... LT
		// with the same TTL answers 0 only within one millisecond.
		frozen := time.Now()
		addr = testutil.StartWith(t, nil, server.Options{Now: func() time.Time { return frozen }}).Addr()
	}
	raw := testutil.Dial(t, addr)
	if *goldenRedis != "" {
		raw.Send("FLUSHALL\r\n")
		raw.ReadReply()
	}
	rewrite := *goldenRewrite || *goldenRedis != ""
	var out strings.Builder
	proto := "2"
	var events *sideListener
	inMulti := false
	for _, st := range steps {
		if st.cmd == "" {
			out.WriteString(st.comment + "\n")
			if strings.HasPrefix(st.comment, "proto ") {
				proto = strings.TrimPrefix(st.comment, "proto ")
				raw.Send("HELLO " + proto + "\r\n")
				if _, err := raw.ReadReply(); err != nil {
					t.Fatal(err)
				}
			}
			if strings.HasPrefix(st.comment, "notify ") {
				events = listenKeyspace(t, addr, raw, proto, strings.TrimPrefix(st.comment, "notify "))
			}
			if st.comment == "monitor" {
				events = listenMonitor(t, addr, proto)
			}
			if st.comment == "sync" {
				events = &sideListener{sub: raw, mark: "PING " + goldenMark}
			}
			continue
		}
		args, err := config.SplitArgs(st.cmd)
		if err != nil {
			t.Fatalf("%s: %v", st.cmd, err)
		}
		var req strings.Builder
		req.WriteString("*" + itoa(len(args)) + "\r\n")
		for _, a := range args {
			req.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
		}
		raw.Send(req.String())
		reply, err := raw.ReadReply()
		if err != nil {
			t.Fatalf("%s: %v", st.cmd, err)
		}
		// NB: inside MULTI the mark would be queued; EXEC's events
		// follow EXEC.
		switch strings.ToUpper(args[0]) {
		case "MULTI":
			inMulti = true
		case "EXEC", "DISCARD":
			inMulti = false
		}
		if events != nil && !inMulti {
			reply += events.since(t, raw)
		}
		got := strings.Split(strings.TrimSuffix(reply, "\r\n"), "\r\n")
		out.WriteString("> " + st.cmd + "\n")
		for _, l := range got {
			out.WriteString(l + "\n")
		}
		if !rewrite && strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("%s\n> %s\ngot:\n  %s\nwant:\n  %s", file, st.cmd, strings.Join(got, "\n  "), strings.Join(st.want, "\n  "))
		}
	}
	if rewrite {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sideListener is a second connection that sees what the transcript's
// commands cause: keyspace events, or MONITOR's lines. After each command
// the transcript's connection sends mark, which the listener sees last.
type sideListener struct {
	sub  *testutil.Raw
	mark string
	mask func(string) string
}

const goldenMark = "golden-transcript-mark"

func listenKeyspace(t *testing.T, addr string, raw *testutil.Raw, proto, flags string) *sideListener {
	raw.Send("CONFIG SET notify-keyspace-events " + flags + "\r\n")
	if r, err := raw.ReadReply(); err != nil || r != "+OK\r\n" {
		t.Fatalf("notify %s: %q %v", flags, r, err)
	}
	return listen(t, addr, "PUBLISH "+goldenMark+" x", nil, "HELLO "+proto, "PSUBSCRIBE __key*__:*", "SUBSCRIBE "+goldenMark)
}

// monitorLine matches what differs between runs in a MONITOR line: the
// time and the client's port.
var (
	monitorTime = regexp.MustCompile(`^\+[0-9]+\.[0-9]{6} \[`)
	monitorAddr = regexp.MustCompile(`^\+<time> \[([0-9]+) 127\.0\.0\.1:[0-9]+\]`)
)

func listenMonitor(t *testing.T, addr, proto string) *sideListener {
	return listen(t, addr, "ECHO "+goldenMark, func(l string) string {
		l = monitorTime.ReplaceAllString(l, "+<time> [")
		return monitorAddr.ReplaceAllString(l, "+<time> [$1 <addr>]")
	}, "HELLO "+proto, "MONITOR")
}

func listen(t *testing.T, addr, mark string, mask func(string) string, setup ...string) *sideListener {
	sub := testutil.Dial(t, addr)
	for _, cmd := range setup {
		sub.Send(cmd + "\r\n")
		if _, err := sub.ReadReply(); err != nil {
			t.Fatal(err)
		}
	}
	return &sideListener{sub: sub, mark: mark, mask: mask}
}

// since returns what the listener received since the last call, up to
// the mark that raw sends now.
func (l *sideListener) since(t *testing.T, raw *testutil.Raw) string {
	raw.Send(l.mark + "\r\n")
	if l.sub != raw {
		if _, err := raw.ReadReply(); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	for {
		m, err := l.sub.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m, goldenMark) {
			return b.String()
		}
		if l.mask != nil {
			m = l.mask(m)
		}
		b.WriteString(m)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
