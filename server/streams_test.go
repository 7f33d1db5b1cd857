package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

type streamResult struct {
	v   []redis.XStream
	err error
}

func goXRead(ctx context.Context, c *redis.Client, args *redis.XReadArgs) <-chan streamResult {
	ch := make(chan streamResult, 1)
	go func() {
		v, err := c.XRead(ctx, args).Result()
		ch <- streamResult{v, err}
	}()
	return ch
}

func goXReadGroup(ctx context.Context, c *redis.Client, args *redis.XReadGroupArgs) <-chan streamResult {
	ch := make(chan streamResult, 1)
	go func() {
		v, err := c.XReadGroup(ctx, args).Result()
		ch <- streamResult{v, err}
	}()
	return ch
}

// awaitStream returns what a blocked reader received, rendered.
func awaitStream(t *testing.T, ch <-chan streamResult) string {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			return "error: " + r.err.Error()
		}
		return fmt.Sprint(r.v)
	case <-time.After(10 * time.Second):
		t.Fatal("blocked read did not return")
	}
	return ""
}

func TestXReadWokenByXAdd(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		a, b := client(), client()
		b.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-0", Values: []any{"old", "1"}})
		ch := goXRead(ctx, a, &redis.XReadArgs{Streams: []string{"other", "s", "0", "$"}, Block: 0})
		waitBlocked(t, s, 1)
		b.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", Values: []any{"f", "v"}})
		if r := awaitStream(t, ch); r != "[{s [{2-0 map[f:v] 0 0}]}]" {
			t.Fatalf("XREAD = %s", r)
		}
		waitBlocked(t, s, 0)
		// A key that appears without entries serves no one.
		ch = goXRead(ctx, a, &redis.XReadArgs{Streams: []string{"new", "$"}, Block: 0})
		waitBlocked(t, s, 1)
		b.XGroupCreateMkStream(ctx, "new", "g", "$")
		b.XAdd(ctx, &redis.XAddArgs{Stream: "new", ID: "5-0", Values: []any{"f", "v"}})
		if r := awaitStream(t, ch); r != "[{new [{5-0 map[f:v] 0 0}]}]" {
			t.Fatalf("XREAD of a new key = %s", r)
		}
	})
}

// One XADD serves every client blocked on the stream that it can serve,
// in the order they blocked: the group's first consumer takes the entry,
// the second finds nothing new for the group and waits on, and a plain
// reader behind them is served too.
func TestXReadFIFO(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		c1, c2, r3, w := client(), client(), client(), client()
		w.XGroupCreateMkStream(ctx, "s", "g", "$")
		first := goXReadGroup(ctx, c1, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Count: 1, Block: 0})
		waitBlocked(t, s, 1)
		second := goXReadGroup(ctx, c2, &redis.XReadGroupArgs{Group: "g", Consumer: "c2", Streams: []string{"s", ">"}, Count: 1, Block: 0})
		waitBlocked(t, s, 2)
		plain := goXRead(ctx, r3, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 0})
		waitBlocked(t, s, 3)

		w.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-0", Values: []any{"n", "1"}})
		if r := awaitStream(t, first); r != "[{s [{1-0 map[n:1] 0 0}]}]" {
			t.Fatalf("first consumer = %s", r)
		}
		if r := awaitStream(t, plain); r != "[{s [{1-0 map[n:1] 0 0}]}]" {
			t.Fatalf("plain reader = %s", r)
		}
		waitBlocked(t, s, 1)
		select {
		case r := <-second:
			t.Fatalf("second consumer served without a new entry: %v, %v", r.v, r.err)
		default:
		}
		w.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", Values: []any{"n", "2"}})
		if r := awaitStream(t, second); r != "[{s [{2-0 map[n:2] 0 0}]}]" {
			t.Fatalf("second consumer = %s", r)
		}
		pending, err := w.XPending(ctx, "s", "g").Result()
		if err != nil || pending.Count != 2 || pending.Consumers["c1"] != 1 || pending.Consumers["c2"] != 1 {
			t.Fatalf("XPENDING = %+v, %v", pending, err)
		}
	})
}

// Writes that add nothing (XACK, XDEL, another type's write) do not end
// a wait; a group destroyed under its blocked consumers ends theirs with
// NOGROUP, as in Redis.
func TestXReadGroupBlockedGroupGone(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		a, w := client(), client()
		w.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-0", Values: []any{"f", "v"}})
		w.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", Values: []any{"f", "v"}})
		w.XGroupCreate(ctx, "s", "g", "0")
		w.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: 1})
		w.XDel(ctx, "s", "2-0") // the group now lags behind a deleted entry
		ch := goXReadGroup(ctx, a, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Block: 0})
		waitBlocked(t, s, 1)
		w.XAck(ctx, "s", "g", "1-0")
		w.XDel(ctx, "s", "1-0")
		w.XGroupCreateConsumer(ctx, "s", "g", "other")
		select {
		case r := <-ch:
			t.Fatalf("served by writes that add nothing: %v, %v", r.v, r.err)
		default:
		}
		w.XGroupDestroy(ctx, "s", "g")
		if r := awaitStream(t, ch); r != "error: NOGROUP the consumer group this client was blocked on no longer exists" {
			t.Fatalf("after XGROUP DESTROY = %s", r)
		}
	})
}

func TestXReadBlockingInMulti(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		c := client()
		c.XGroupCreateMkStream(ctx, "s", "g", "$")
		cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 0})
			p.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Block: 0})
			p.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-0", Values: []any{"f", "v"}})
			p.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Block: 0})
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		if cmds[0].Err() != redis.Nil || cmds[1].Err() != redis.Nil {
			t.Fatalf("blocking reads in MULTI = %v, %v", cmds[0].Err(), cmds[1].Err())
		}
		if v := fmt.Sprint(cmds[3].(*redis.XStreamSliceCmd).Val()); v != "[{s [{1-0 map[f:v] 0 0}]}]" {
			t.Fatalf("XREADGROUP in MULTI = %s", v)
		}
		// A timeout answers a null array.
		if err := c.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 10 * time.Millisecond}).Err(); err != redis.Nil {
			t.Fatalf("XREAD BLOCK 10 = %v", err)
		}
		waitBlocked(t, s, 0)
	})
}

// A blocked XREAD on a replica is woken by an XADD that reaches it through
// replication.
func TestXReadOnReplica(t *testing.T) {
	p := testutil.Start(t, nil)
	r := startReplica(t, p)
	ctx := testutil.Ctx(t)
	pc, rc := testutil.Client(t, p, 2), testutil.Client(t, r, 3)
	pc.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-0", Values: []any{"f", "v"}})
	eventuallyTrue(t, "replica has the stream", func() bool { return rc.XLen(ctx, "s").Val() == 1 })
	ch := goXRead(ctx, rc, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 0})
	waitBlocked(t, r, 1)
	pc.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", Values: []any{"f", "w"}})
	if res := awaitStream(t, ch); res != "[{s [{2-0 map[f:w] 0 0}]}]" {
		t.Fatalf("XREAD on the replica = %s", res)
	}
}

// A replica holds the same streams as its primary, down to what XINFO
// STREAM FULL shows: nodes, tombstones, groups, consumers, pending
// entries and their times, whether written before it attached (full sync)
// or after (the replication log).
func TestStreamReplicates(t *testing.T) {
	p := testutil.Start(t, nil)
	pc := testutil.Client(t, p, 2)
	ctx := testutil.Ctx(t)
	write := func(stream string) {
		for i := 1; i <= 250; i++ {
			pc.XAdd(ctx, &redis.XAddArgs{Stream: stream, ID: fmt.Sprintf("%d-0", i), Values: []any{"n", i}})
		}
		pc.XGroupCreate(ctx, stream, "g", "0")
		pc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "a", Streams: []string{stream, ">"}, Count: 10})
		pc.XClaim(ctx, &redis.XClaimArgs{Stream: stream, Group: "g", Consumer: "b", Messages: []string{"3-0", "4-0"}})
		pc.XAck(ctx, stream, "g", "5-0")
		pc.XDel(ctx, stream, "6-0", "150-0")
		pc.XTrimMaxLenApprox(ctx, stream, 120, 0)
		pc.XGroupCreateConsumer(ctx, stream, "g", "idle")
	}
	write("before")
	r := startReplica(t, p)
	rc := testutil.Client(t, r, 2)
	write("after")
	if n, err := pc.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	for _, key := range []string{"before", "after"} {
		full := []any{"XINFO", "STREAM", key, "FULL", "COUNT", 0}
		want, err := pc.Do(ctx, full...).Result()
		if err != nil {
			t.Fatal(err)
		}
		got, err := rc.Do(ctx, full...).Result()
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s on the replica:\n%v, %v\nprimary:\n%v", key, got, err, want)
		}
	}
}
