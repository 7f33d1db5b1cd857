package commands_test

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// Stream commands through go-redis's typed API, with the server's clock
// in the test's hands: what depends on time (IDs made from it, idle
// times, delivery and seen times) is exact. The replies and errors that
// do not are compared with redis-server 7.0.15's in streams.golden.

func TestXAddIDsFollowClock(t *testing.T) {
	both(t, func(x *tester) {
		ctx := testutil.Ctx(x.t)
		ms := x.clk.Ms()
		id := func(args *redis.XAddArgs) string {
			x.t.Helper()
			args.Stream = "s"
			args.Values = []any{"f", "v"}
			v, err := x.c.XAdd(ctx, args).Result()
			if err != nil {
				x.t.Fatal(err)
			}
			return v
		}
		for i, want := range []string{fmt.Sprintf("%d-0", ms), fmt.Sprintf("%d-1", ms)} {
			if got := id(&redis.XAddArgs{}); got != want {
				x.t.Fatalf("XADD * #%d = %s, want %s", i, got, want)
			}
		}
		x.clk.Advance(time.Millisecond)
		if got, want := id(&redis.XAddArgs{}), fmt.Sprintf("%d-0", ms+1); got != want {
			x.t.Fatalf("XADD * a millisecond later = %s, want %s", got, want)
		}
		// A clock that goes back does not take the IDs back with it.
		x.clk.Advance(-time.Second)
		if got, want := id(&redis.XAddArgs{}), fmt.Sprintf("%d-1", ms+1); got != want {
			x.t.Fatalf("XADD * after the clock went back = %s, want %s", got, want)
		}
		if got, want := id(&redis.XAddArgs{ID: strconv.FormatInt(ms+1, 10) + "-*"}), fmt.Sprintf("%d-2", ms+1); got != want {
			x.t.Fatalf("XADD <ms>-* = %s, want %s", got, want)
		}
		if got, want := id(&redis.XAddArgs{ID: strconv.FormatInt(ms+5, 10) + "-*"}), fmt.Sprintf("%d-0", ms+5); got != want {
			x.t.Fatalf("XADD <later ms>-* = %s, want %s", got, want)
		}
		x.do(errReply("ERR The ID specified in XADD is equal or smaller than the target stream top item"), "xadd", "s", strconv.FormatInt(ms, 10)+"-*", "f", "v")
	})
}

func TestXAddTrimAndRange(t *testing.T) {
	both(t, func(x *tester) {
		ctx := testutil.Ctx(x.t)
		for i := 1; i <= 250; i++ {
			args := &redis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-0", i), Values: []any{"n", i, "empty", ""}}
			if i == 250 {
				args.MaxLen, args.Approx = 120, true
			}
			if err := x.c.XAdd(ctx, args).Err(); err != nil {
				x.t.Fatal(err)
			}
		}
		// Nodes hold 100 entries: ~ removes the first whole node only.
		if n := x.c.XLen(ctx, "s").Val(); n != 150 {
			x.t.Fatalf("XLEN after MAXLEN ~ 120 = %d, want 150", n)
		}
		if n := x.c.XTrimMaxLen(ctx, "s", 120).Val(); n != 30 {
			x.t.Fatalf("XTRIM MAXLEN 120 = %d", n)
		}
		if n := x.c.XTrimMinIDApprox(ctx, "s", "200-0", 0).Val(); n != 0 {
			x.t.Fatalf("XTRIM MINID ~ 200 = %d: the node of 131-200 is not all before 200", n)
		}
		msgs, err := x.c.XRangeN(ctx, "s", "(130", "+", 2).Result()
		want := []redis.XMessage{{ID: "131-0", Values: map[string]any{"n": "131", "empty": ""}}, {ID: "132-0", Values: map[string]any{"n": "132", "empty": ""}}}
		if err != nil || !reflect.DeepEqual(msgs, want) {
			x.t.Fatalf("XRANGE (130 + COUNT 2 = %v, %v", msgs, err)
		}
		msgs, err = x.c.XRevRangeN(ctx, "s", "+", "-", 1).Result()
		if err != nil || len(msgs) != 1 || msgs[0].ID != "250-0" {
			x.t.Fatalf("XREVRANGE + - COUNT 1 = %v, %v", msgs, err)
		}
		info, err := x.c.XInfoStream(ctx, "s").Result()
		if err != nil || info.Length != 120 || info.RadixTreeKeys != 2 || info.FirstEntry.ID != "131-0" || info.EntriesAdded != 250 {
			x.t.Fatalf("XINFO STREAM = %+v, %v", info, err)
		}
		// Binary fields and values come back as they went in.
		bin := "a\x00b\r\n\xff"
		x.c.XAdd(ctx, &redis.XAddArgs{Stream: "b", ID: "1-0", Values: []any{bin, bin}})
		if v := x.c.XRange(ctx, "b", "-", "+").Val(); len(v) != 1 || v[0].Values[bin] != bin {
			x.t.Fatalf("binary entry = %v", v)
		}
	})
}

// The pending entries list, idle times and claims, on the server's clock.
func TestStreamGroupsOverTime(t *testing.T) {
	both(t, func(x *tester) {
		ctx := testutil.Ctx(x.t)
		for i := 1; i <= 4; i++ {
			x.c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-0", i), Values: []any{"n", i}})
		}
		x.c.XGroupCreate(ctx, "s", "g", "0")
		t0 := x.clk.Ms()
		if v := x.c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "alice", Streams: []string{"s", ">"}, Count: 3}).Val(); len(v) != 1 || len(v[0].Messages) != 3 {
			x.t.Fatalf("XREADGROUP = %v", v)
		}
		x.clk.Advance(5 * time.Second)
		ext, err := x.c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "-", End: "+", Count: 10}).Result()
		if err != nil || len(ext) != 3 || ext[0].Idle != 5*time.Second || ext[0].RetryCount != 1 || ext[0].Consumer != "alice" {
			x.t.Fatalf("XPENDING - + 10 = %+v, %v", ext, err)
		}
		ext, err = x.c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Idle: 6 * time.Second, Start: "-", End: "+", Count: 10}).Result()
		if err != nil || len(ext) != 0 {
			x.t.Fatalf("XPENDING IDLE 6000 = %+v, %v", ext, err)
		}
		// XCLAIM takes what was idle long enough and resets its idle time;
		// with JUSTID it leaves the delivery count.
		claimed, err := x.c.XClaimJustID(ctx, &redis.XClaimArgs{Stream: "s", Group: "g", Consumer: "bob", MinIdle: 4 * time.Second, Messages: []string{"1-0", "2-0"}}).Result()
		if err != nil || !reflect.DeepEqual(claimed, []string{"1-0", "2-0"}) {
			x.t.Fatalf("XCLAIM = %v, %v", claimed, err)
		}
		if claimed := x.c.XClaimJustID(ctx, &redis.XClaimArgs{Stream: "s", Group: "g", Consumer: "carol", MinIdle: time.Second, Messages: []string{"1-0"}}).Val(); len(claimed) != 0 {
			x.t.Fatalf("XCLAIM of an entry just claimed = %v", claimed)
		}
		// IDLE and TIME set the delivery time; RETRYCOUNT the count.
		x.do([]any{"3-0"}, "xclaim", "s", "g", "carol", 0, "3-0", "IDLE", 2500, "RETRYCOUNT", 7, "JUSTID")
		x.do([]any{"2-0"}, "xclaim", "s", "g", "bob", 0, "2-0", "TIME", t0-1000, "JUSTID")
		ext = x.c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "-", End: "+", Count: 10}).Val()
		got := make([]string, len(ext))
		for i, p := range ext {
			got[i] = fmt.Sprintf("%s %s %v %d", p.ID, p.Consumer, p.Idle, p.RetryCount)
		}
		if want := []string{"1-0 bob 0s 1", "2-0 bob 6s 1", "3-0 carol 2.5s 7"}; !reflect.DeepEqual(got, want) {
			x.t.Fatalf("XPENDING after claims = %q, want %q", got, want)
		}
		// XAUTOCLAIM takes entries idle at least 2 s from the start given.
		x.clk.Advance(time.Second)
		msgs, next, err := x.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "g", Consumer: "dave", MinIdle: 2 * time.Second, Start: "0-0", Count: 10}).Result()
		if err != nil || next != "0-0" || len(msgs) != 2 || msgs[0].ID != "2-0" || msgs[1].ID != "3-0" {
			x.t.Fatalf("XAUTOCLAIM = %v, %s, %v", msgs, next, err)
		}
		consumers, err := x.c.XInfoConsumers(ctx, "s", "g").Result()
		if err != nil || len(consumers) != 4 {
			x.t.Fatalf("XINFO CONSUMERS = %+v, %v", consumers, err)
		}
		for _, c := range consumers {
			idle := map[string]time.Duration{"alice": 6 * time.Second, "bob": time.Second, "carol": time.Second, "dave": 0}[c.Name]
			pending := map[string]int64{"bob": 1, "dave": 2}[c.Name]
			if c.Idle != idle || c.Pending != pending {
				x.t.Fatalf("consumer %s: idle %v, pending %d; want %v, %d", c.Name, c.Idle, c.Pending, idle, pending)
			}
		}
		full, err := x.c.XInfoStreamFull(ctx, "s", 0).Result()
		if err != nil || len(full.Groups) != 1 || full.Groups[0].PelCount != 3 || full.Groups[0].EntriesRead != 3 || full.Groups[0].Lag != 1 {
			x.t.Fatalf("XINFO STREAM FULL = %+v, %v", full, err)
		}
		for _, c := range full.Groups[0].Consumers {
			if c.Name == "dave" && (c.SeenTime != time.UnixMilli(x.clk.Ms()) || c.PelCount != 2 || c.Pending[0].DeliveryTime != time.UnixMilli(x.clk.Ms())) {
				x.t.Fatalf("dave in XINFO STREAM FULL = %+v", c)
			}
		}
		// XACK and DELCONSUMER leave the group's counts in step.
		if n := x.c.XAck(ctx, "s", "g", "2-0", "9-0").Val(); n != 1 {
			x.t.Fatalf("XACK = %d", n)
		}
		if n := x.c.XGroupDelConsumer(ctx, "s", "g", "dave").Val(); n != 1 {
			x.t.Fatalf("XGROUP DELCONSUMER = %d", n)
		}
		summary, err := x.c.XPending(ctx, "s", "g").Result()
		if err != nil || summary.Count != 1 || summary.Lower != "1-0" || summary.Higher != "1-0" || !reflect.DeepEqual(summary.Consumers, map[string]int64{"bob": 1}) {
			x.t.Fatalf("XPENDING = %+v, %v", summary, err)
		}
		groups, err := x.c.XInfoGroups(ctx, "s").Result()
		if err != nil || len(groups) != 1 || groups[0].Consumers != 3 || groups[0].Pending != 1 || groups[0].LastDeliveredID != "3-0" {
			x.t.Fatalf("XINFO GROUPS = %+v, %v", groups, err)
		}
	})
}

// A stream is a key like the others: it expires, moves with RENAME and
// MOVE, goes with DEL and FLUSHDB, and SCAN finds it by type.
func TestStreamKeyCommands(t *testing.T) {
	both(t, func(x *tester) {
		ctx := testutil.Ctx(x.t)
		for i := 1; i <= 150; i++ {
			x.c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-0", i), Values: []any{"n", i}})
		}
		x.c.XGroupCreate(ctx, "s", "g", "0")
		x.c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: 5})
		// NB: a client per database: SELECT on a pooled connection would
		// stay with the connection.
		c1 := redis.NewClient(&redis.Options{Addr: x.s.Addr(), DB: 1, Protocol: x.c.Options().Protocol, MaxRetries: -1, DisableIdentity: true})
		defer c1.Close()
		full := func(c *redis.Client, key string) string {
			x.t.Helper()
			v, err := c.Do(ctx, "xinfo", "stream", key, "full", "count", 0).Result()
			if err != nil {
				x.t.Fatal(err)
			}
			return fmt.Sprint(v)
		}
		before := full(x.c, "s")
		x.do("stream", "type", "s")
		x.do("OK", "rename", "s", "t")
		x.do(0, "exists", "s")
		if got := full(x.c, "t"); got != before {
			x.t.Fatalf("XINFO STREAM FULL after RENAME:\n%s\nwant\n%s", got, before)
		}
		x.do(1, "move", "t", 1)
		x.c = c1
		if got := full(c1, "t"); got != before {
			x.t.Fatalf("XINFO STREAM FULL after MOVE:\n%s\nwant\n%s", got, before)
		}
		keys, _, err := x.c.ScanType(ctx, 0, "*", 100, "stream").Result()
		if err != nil || !reflect.DeepEqual(keys, []string{"t"}) {
			x.t.Fatalf("SCAN TYPE stream = %q, %v", keys, err)
		}
		x.do(1, "expire", "t", 10)
		x.clk.Advance(11 * time.Second)
		x.do(0, "exists", "t")
		x.do(errReply("ERR no such key"), "xinfo", "stream", "t")
		// A stream made again under the name starts empty, without groups.
		x.do("1-0", "xadd", "t", "1-0", "f", "v")
		x.do([]any{}, "xinfo", "groups", "t")
		x.do(1, "xlen", "t")
	})
}

// TestStreamWatch checks which stream commands abort a transaction that
// watches the stream: those Redis 7.0.15 signals as modifying the key
// (XADD, XDEL and XTRIM when they remove entries, XGROUP CREATE MKSTREAM
// when it makes the key), and not the others (XGROUP, XSETID, reads and
// acknowledgements), as found against redis-server 7.0.15.
func TestStreamWatch(t *testing.T) {
	both(t, func(x *tester) {
		ctx := testutil.Ctx(x.t)
		for _, tc := range []struct {
			cmd     []any
			touches bool
		}{
			{[]any{"xadd", "s", "9-0", "f", "v"}, true},
			{[]any{"xdel", "s", "1-0"}, true},
			{[]any{"xdel", "s", "7-0"}, false},
			{[]any{"xtrim", "s", "maxlen", "1"}, true},
			{[]any{"xtrim", "s", "maxlen", "5"}, false},
			{[]any{"xsetid", "s", "10-0"}, false},
			{[]any{"xgroup", "create", "s", "g2", "0"}, false},
			{[]any{"xgroup", "destroy", "s", "g"}, false},
			{[]any{"xgroup", "setid", "s", "g", "0"}, false},
			{[]any{"xgroup", "createconsumer", "s", "g", "c9"}, false},
			{[]any{"xgroup", "delconsumer", "s", "g", "c"}, false},
			{[]any{"xreadgroup", "group", "g", "c", "count", "1", "streams", "s", ">"}, false},
			{[]any{"xack", "s", "g", "1-0"}, false},
			{[]any{"xclaim", "s", "g", "c2", "0", "1-0"}, false},
			{[]any{"xautoclaim", "s", "g", "c2", "0", "0"}, false},
			{[]any{"xgroup", "create", "new", "g", "0", "mkstream"}, true},
		} {
			x.c.FlushAll(ctx)
			for i := 1; i <= 3; i++ {
				x.c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-0", i), Values: []any{"f", "v"}})
			}
			x.c.XGroupCreate(ctx, "s", "g", "0")
			x.c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: 1})
			key := tc.cmd[1].(string)
			if tc.cmd[0] == "xgroup" {
				key = tc.cmd[2].(string)
			}
			err := x.c.Watch(ctx, func(tx *redis.Tx) error {
				if err := x.c.Do(ctx, tc.cmd...).Err(); err != nil && err != redis.Nil {
					return err
				}
				_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Ping(ctx)
					return nil
				})
				return err
			}, key)
			if aborted := err == redis.TxFailedErr; aborted != tc.touches || (err != nil && !aborted) {
				x.t.Fatalf("%v under WATCH: %v; want aborted %v", tc.cmd, err, tc.touches)
			}
		}
	})
}
