package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestStaleScriptsAsRedis: on a replica whose primary is unreachable,
// under replica-serve-stale-data no, a script or function runs only if it
// declares allow-stale, and then only commands that may run stale, as
// redis-server 7.0.15 decides (functions.tcl's "FUNCTION - allow stale").
func TestStaleScriptsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	lib := `#!lua name=test
redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}
redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f4', callback=function() return redis.call('ping') end, flags={'allow-stale', 'no-writes'}}`
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		c := p.c.Conn()
		defer c.Close()
		run := func(args ...any) {
			v, err := c.Do(ctx, args...).Result()
			fmt.Fprintf(&b, "%q -> %v %v\n", args, v, err)
		}
		run("function", "load", lib)
		run("config", "set", "replica-serve-stale-data", "no")
		run("replicaof", "127.0.0.1", "1")
		run("fcall", "f1", "0")
		run("fcall", "f2", "0")
		run("fcall", "f3", "0")
		run("fcall", "f4", "0")
		run("eval", "#!lua flags=no-writes,allow-stale\nreturn redis.call('ping')", "0")
		run("eval", "return redis.call('ping')", "0")
		run("multi")
		run("fcall", "f2", "0")
		run("exec")
		run("replicaof", "no", "one")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
