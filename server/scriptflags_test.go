package server_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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
		run := recorder(ctx, c, &b)
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

// TestExecOfScriptsAfterTurningReplicaAsRedis: an EXEC whose queue holds
// a script that declares it may write is refused whole once the node
// became a read-only replica, and a script without flags fails at its
// write, as redis-server 7.0.15 judges them (scripting.tcl's "no-writes
// shebang flag on replica").
func TestExecOfScriptsAfterTurningReplicaAsRedis(t *testing.T) {
	var got []string
	for _, p := range bothPeers(t) {
		primary := testutil.StartRedisServer(t, t.TempDir())
		var b strings.Builder
		rr, rr2, admin := testutil.Dial(t, p.addr), testutil.Dial(t, p.addr), testutil.Dial(t, p.addr)
		do := func(c *testutil.Raw, args ...string) {
			req := fmt.Sprintf("*%d\r\n", len(args))
			for _, a := range args {
				req += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
			}
			c.Send(req)
			reply, err := c.ReadReply()
			fmt.Fprintf(&b, "%q %v\n", reply, err)
		}
		do(rr, "multi")
		do(rr2, "multi")
		do(rr, "eval", "#!lua\nreturn 1", "0")
		do(rr2, "eval", "redis.call('set', 'x', 1) return 1", "1", "x")
		do(rr2, "eval", "#!lua flags=no-writes\nreturn 2", "0")
		do(admin, "replicaof", "127.0.0.1", fmt.Sprint(primary.Port))
		do(rr, "exec")
		do(rr2, "exec")
		do(admin, "replicaof", "no", "one")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}

// TestScriptWritesOnAfterReplicasDrop: under min-replicas-to-write, a
// script that began with enough replicas goes on writing when they drop
// while it runs, as on redis-server 7.0.15, which counts its good
// replicas again only outside a script (scripting.tcl's "not enough good
// replicas state change during long script").
func TestScriptWritesOnAfterReplicasDrop(t *testing.T) {
	ctx := testutil.Ctx(t)
	p, pc, r := onlinePair(t)
	for _, kv := range [][2]string{{"min-replicas-to-write", "1"}, {"busy-reply-threshold", "10"}} {
		if err := pc.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// NB: a replica counts once it acknowledged, which follows its
	// connection by up to a second.
	eventuallyTrue(t, "the replica counted for min-replicas-to-write", func() bool { return pc.Set(ctx, "probe", "1", 0).Err() == nil })
	done := make(chan error, 1)
	go func() {
		c := testutil.Client(t, p, 2)
		done <- c.Eval(ctx, `redis.call('set', 'x', 'script value')
while true do
  local info = redis.call('info', 'replication')
  if string.match(info, 'connected_slaves:0') then
    redis.call('set', 'x', 'after the drop')
    break
  end
end
return 1`, []string{"x"}).Err()
	}()
	select {
	case err := <-done:
		t.Fatalf("ended early: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	eventuallyTrue(t, "the script busy", func() bool {
		err := testutil.Client(t, p, 2).Ping(ctx).Err()
		return err != nil && strings.HasPrefix(err.Error(), "BUSY")
	})
	if err := testutil.Client(t, r, 2).Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the script: %v", err)
	}
	if v := pc.Get(ctx, "x").Val(); v != "after the drop" {
		t.Fatalf("x = %q", v)
	}
}

// TestScriptRefusalStatsAsRedis: a command a script calls that is refused
// (past maxmemory here) counts as a rejected call of that command and an
// error, a failed call of the script when the error ends it, as
// redis-server 7.0.15 counts them (scripting.tcl's "Consistent eval error
// reporting").
func TestScriptRefusalStatsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	usec := regexp.MustCompile(`usec(_per_call)?=[0-9.]+,`)
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		stats := func() {
			// NB: in name order: Redis lists commands in its hash table's.
			var lines []string
			for _, section := range []string{"commandstats", "errorstats", "stats"} {
				for _, ln := range strings.Split(p.c.Info(ctx, section).Val(), "\r\n") {
					if strings.HasPrefix(ln, "cmdstat_set:") || strings.HasPrefix(ln, "cmdstat_eval:") ||
						strings.HasPrefix(ln, "errorstat_") || strings.HasPrefix(ln, "total_error_replies:") {
						lines = append(lines, usec.ReplaceAllString(ln, ""))
					}
				}
			}
			slices.Sort(lines)
			b.WriteString(strings.Join(lines, "\n") + "\n")
		}
		for _, script := range []string{
			"return redis.call('set','x','y')",
			"local t = redis.pcall('set','x','y'); return t['err']",
			"return redis.pcall('set','x','y')",
		} {
			p.c.ConfigResetStat(ctx)
			p.c.ConfigSet(ctx, "maxmemory", "1")
			v, err := p.c.Eval(ctx, script, []string{"x"}).Result()
			p.c.ConfigSet(ctx, "maxmemory", "0")
			fmt.Fprintf(&b, "%v %v\n", v, err)
			stats()
		}
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
