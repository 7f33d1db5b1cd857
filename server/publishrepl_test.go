package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestPublishStreamAsRedis: PUBLISH and SPUBLISH go into the replication
// stream a redis-server replica reads, alone, in a transaction and from a
// script, as redis-server 7.0.15 propagates them (multi.tcl's "MULTI
// propagation of PUBLISH").
func TestPublishStreamAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		br := syncStream(t, p)
		do := func(args ...any) {
			if err := p.c.Do(ctx, args...).Err(); err != nil {
				t.Fatalf("%s: %v: %v", p.name, args, err)
			}
		}
		do("PUBLISH", "bla", "bla")
		pipe := p.c.TxPipeline()
		pipe.Publish(ctx, "bla", "in multi")
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		pipe = p.c.TxPipeline()
		pipe.Set(ctx, "k", "v", 0)
		pipe.SPublish(ctx, "shard", "with a write")
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		do("EVAL", "redis.call('publish', 'bla', 'from a script'); return redis.call('set', 'k', 'w')", "0")
		do("SET", "end", "1")
		got = append(got, streamUntil(t, br, "end"))
	}
	sameOnBoth(t, got)
	if !strings.Contains(got[0], "PUBLISH bla bla") {
		t.Fatalf("no PUBLISH in\n%s", got[0])
	}
}

// TestPublishReachesReplicaSubscribers: a message published on a Shoal
// primary reaches the subscribers of its Shoal replica and of its
// redis-server replica, as a redis-server primary's reaches its
// replicas' subscribers; a PUBLISH on the Shoal replica stays there.
func TestPublishReachesReplicaSubscribers(t *testing.T) {
	ctx := testutil.Ctx(t)
	p := testutil.Start(t, nil)
	pc := testutil.Client(t, p, 2)
	shoalReplica := startReplica(t, p)
	redisReplica := replicaOf(t, pc, strings.Replace(p.Addr(), ":", " ", 1))
	eventuallyTrue(t, "both replicas online", func() bool { return infoText(t, pc, "connected_slaves") == "2" })
	subscribers := map[string]*redis.Client{
		"shoal replica": testutil.Client(t, shoalReplica, 3),
		"redis replica": redisReplica.Client(t, 0),
		"primary":       pc,
	}
	subs := map[string]*redis.PubSub{}
	for name, c := range subscribers {
		ps := c.Subscribe(ctx, "news")
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ps.SSubscribe(ctx, "shardnews"); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		subs[name] = ps
		defer ps.Close()
	}
	publisher := testutil.Client(t, p, 2)
	if err := publisher.Publish(ctx, "news", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	if err := publisher.SPublish(ctx, "shardnews", "sharded").Err(); err != nil {
		t.Fatal(err)
	}
	receive := func(name string, n int) string {
		var msgs []string
		for len(msgs) < n {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := subs[name].ReceiveMessage(rctx)
			cancel()
			if err != nil {
				t.Fatalf("%s after %q: %v", name, msgs, err)
			}
			msgs = append(msgs, fmt.Sprintf("%s:%s", m.Channel, m.Payload))
		}
		return strings.Join(msgs, " ")
	}
	for name := range subs {
		if got := receive(name, 2); got != "news:hello shardnews:sharded" {
			t.Errorf("%s got %q", name, got)
		}
	}
	onReplica := testutil.Client(t, shoalReplica, 2)
	if err := onReplica.Publish(ctx, "news", "local").Err(); err != nil {
		t.Fatal(err)
	}
	if got := receive("shoal replica", 1); got != "news:local" {
		t.Errorf("shoal replica got %q", got)
	}
	// The replica's own PUBLISH went nowhere else: the primary's
	// subscriber has nothing more.
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if m, err := subs["primary"].ReceiveMessage(rctx); err == nil {
		t.Fatalf("the primary's subscriber got %v", m)
	}
}

// TestScriptSetReplStreamAsRedis: writes a script makes after
// redis.set_repl(redis.REPL_NONE) or REPL_AOF stay out of the stream a
// redis-server replica reads, and those after REPL_ALL go into it, as
// redis-server 7.0.15 propagates them (scripting.tcl's "Test selective
// replication of certain Redis commands from Lua"); the primary keeps
// every write.
func TestScriptSetReplStreamAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		br := syncStream(t, p)
		script := `redis.call('set','a','1');
redis.set_repl(redis.REPL_NONE); redis.call('set','b','2');
redis.set_repl(redis.REPL_AOF); redis.call('set','c','3');
redis.set_repl(redis.REPL_ALL); redis.call('set','d','4')`
		if err := p.c.Eval(ctx, script, nil).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		p.c.Set(ctx, "end", "1", 0)
		got = append(got, streamUntil(t, br, "end")+fmt.Sprint(p.c.MGet(ctx, "a", "b", "c", "d").Val()))
	}
	sameOnBoth(t, got)
	if strings.Contains(got[0], "set b") || !strings.Contains(got[0], "set d") {
		t.Fatalf("the stream:\n%s", got[0])
	}
}
