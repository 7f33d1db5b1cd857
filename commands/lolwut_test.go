package commands_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestLolwutAsRedis compares LOLWUT with redis-server 7.0.15's: to the
// byte where Redis draws without chance (Schotter's first two rows), in
// its dimensions and characters where it does not, and the version line,
// errors and clamps, in RESP2 and RESP3; the version each signs with is
// left out.
func TestLolwutAsRedis(t *testing.T) {
	ctx := context.Background()
	var calls [][]any
	for _, cols := range []int{-3, 0, 1, 2, 3, 5, 7, 16, 33, 66, 1001} {
		for _, perRow := range []int{1, 3, 8, 250} {
			for _, perCol := range []int{1, 2} {
				calls = append(calls, []any{"LOLWUT", "VERSION", 5, cols, perRow, perCol})
			}
		}
	}
	calls = append(calls,
		[]any{"LOLWUT"}, []any{"LOLWUT", 5}, []any{"LOLWUT", "VERSION", 7}, []any{"LOLWUT", "VERSION", -1},
		[]any{"LOLWUT", "VERSION"}, []any{"LOLWUT", "VERSION", "x"}, []any{"LOLWUT", "VERSION", 5, "x"},
		[]any{"LOLWUT", "VERSION", 5, 10, "y"}, []any{"LOLWUT", "VERSION", 6, 10, "z"},
		[]any{"LOLWUT", "VERSION", 5, 40, 6, 9}, []any{"LOLWUT", "VERSION", 5},
		[]any{"LOLWUT", "VERSION", 6}, []any{"LOLWUT", "VERSION", 6, 1, 1}, []any{"LOLWUT", "VERSION", 6, 30, 7})
	for _, proto := range []int{2, 3} {
		rc := startRedis(t, proto)
		sc := testutil.Client(t, testutil.Start(t, nil), proto)
		for _, call := range calls {
			// NB: chance draws Schotter's rows past the second, and the
			// whole skyline.
			random := len(call) > 2 && (fmt.Sprint(call[2]) == "6" || fmt.Sprint(call[2]) == "5" && (len(call) < 6 || call[5].(int) > 2))
			want, got := lolwutReply(random)(rc.Do(ctx, call...).Text()), lolwutReply(random)(sc.Do(ctx, call...).Text())
			if got != want {
				t.Errorf("RESP%d %v:\nshoal:\n%s\nredis-server:\n%s", proto, call, got, want)
			}
		}
	}
}

var (
	lolwutVersion = regexp.MustCompile(`Redis ver\. [0-9.]+`)
	// lolwutGray is one pixel of version 6.
	lolwutGray = regexp.MustCompile("\033\\[0;[0-9;]+m \033\\[0m")
)

// lolwutReply renders a LOLWUT reply for the comparison: the version
// dropped and, where chance draws, each line's length in characters
// alone.
func lolwutReply(random bool) func(string, error) string {
	return func(s string, err error) string {
		if err != nil {
			return "(error) " + err.Error()
		}
		s = lolwutVersion.ReplaceAllString(s, "Redis ver. X")
		if !random {
			return s
		}
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			switch r := []rune(l); {
			case lolwutGray.MatchString(l):
				lines[i] = fmt.Sprintf("%d pixels", len(lolwutGray.FindAllString(l, -1)))
			case len(r) > 0 && r[0] >= 0x2800 && r[0] < 0x2900:
				lines[i] = fmt.Sprintf("%d braille", len(r))
			}
		}
		return strings.Join(lines, "\n")
	}
}
