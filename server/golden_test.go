package server_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// Golden RESP transcripts: testdata/golden/*.txt hold commands and the exact
// replies Redis gives, in RESP2 and RESP3. Each file is a sequence of blocks:
//
//	# a comment
//	proto 3               switch the connection's protocol (HELLO n)
//	> ZADD z 1.5 a        a command, split as redis-cli splits it
//	:1                    the expected reply, one protocol line per line
//
// -golden.rewrite rewrites the expectations from Shoal's replies;
// -golden.redis ADDR rewrites them from a real redis-server at ADDR, which is
// how they were made: the transcripts are Redis's behaviour, Shoal must match.
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
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "> "):
			steps = append(steps, goldenStep{cmd: line[2:]})
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "proto "):
			steps = append(steps, goldenStep{comment: line})
		default:
			if len(steps) == 0 || steps[len(steps)-1].cmd == "" {
				t.Fatalf("reply line %q before any command", line)
			}
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
		}
	}
	return steps
}

func runGolden(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	steps := parseGolden(t, string(data))
	addr := *goldenRedis
	if addr == "" {
		addr = testutil.Start(t, nil).Addr()
	}
	raw := testutil.Dial(t, addr)
	if *goldenRedis != "" {
		raw.Send("FLUSHALL\r\n")
		raw.ReadReply()
	}
	rewrite := *goldenRewrite || *goldenRedis != ""
	var out strings.Builder
	for _, st := range steps {
		if st.cmd == "" {
			out.WriteString(st.comment + "\n")
			if strings.HasPrefix(st.comment, "proto ") {
				raw.Send("HELLO " + strings.TrimPrefix(st.comment, "proto ") + "\r\n")
				if _, err := raw.ReadReply(); err != nil {
					t.Fatal(err)
				}
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
