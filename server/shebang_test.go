package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestShebangsAsRedis: a script's and a library's first line is split
// into words as redis-server 7.0.15 splits it (quotes may open inside a
// word, "#! lua" names no engine), with its replies to each.
func TestShebangsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	body := "\nredis.register_function('f', function() return 1 end)"
	libraries := []string{
		"#! name=test" + body,
		"#!lua name=\"foo\"" + body,
		"#!LUA NAME=bar" + body,
		"#!lua name=foo name=bar" + body,
		"#!lua name='a b'" + body,
		"#!lua name=\"x\"y" + body,
		"#!lua name=foo",
		"#!js name=foo" + body,
		"#!lua" + body,
		"#!lua name=ok other" + body,
	}
	scripts := []string{
		"#! lua\nreturn 1",
		"#!lua flags=no-writes\nreturn 1",
		"#!lua flags=\"no-writes\"\nreturn 2",
		"#!lua flags=no-writes,\nreturn 1",
		"#!lua FLAGS=no-writes\nreturn 1",
		"#!lua \"unbalanced\nreturn 1",
		"#!python\nreturn 1",
		"#!lua flags=\nreturn 3",
		"#!lua flags=no-writes",
	}
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		for _, lib := range libraries {
			v, err := p.c.Do(ctx, "FUNCTION", "LOAD", "REPLACE", lib).Result()
			fmt.Fprintf(&b, "%q -> %v %v\n", lib, v, err)
		}
		for _, s := range scripts {
			v, err := p.c.Do(ctx, "EVAL", s, "0").Result()
			fmt.Fprintf(&b, "%q -> %v %v\n", s, v, err)
		}
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
