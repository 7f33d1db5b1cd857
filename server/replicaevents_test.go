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

// replicaWrites are the writes TestNotifyOnShoalReplica makes on a
// primary; the last is the end mark.
var replicaWrites = [][]any{
	{"set", "k", "v"}, {"append", "k", "x"}, {"incr", "n"}, {"incrby", "n", 5},
	{"hset", "h", "f", "v"}, {"hdel", "h", "f"}, {"lpush", "l", "a", "b"}, {"rpop", "l"},
	{"sadd", "s", "a"}, {"srem", "s", "a"}, {"zadd", "z", 1, "a"}, {"zincrby", "z", 2, "a"},
	{"expire", "k", 100}, {"persist", "k"}, {"rename", "k", "k2"}, {"del", "k2"},
	{"xadd", "x", "1-1", "f", "v"}, {"setex", "t", 100, "v"}, {"getdel", "t"},
	{"eval", "redis.call('SET', KEYS[1], 'x') return redis.call('DEL', KEYS[1])", 1, "c"},
	{"incrbyfloat", "f", 1.5}, {"hincrbyfloat", "hf", "f", 1.5}, {"sadd", "sp", "a", "b", "c"}, {"spop", "sp"},
	{"spop", "sp", 1}, {"spop", "sp", 5}, {"getex", "n", "px", 100000}, {"getex", "n", "persist"},
	{"rpush", "l2", "a", "b", "c"}, {"lmove", "l2", "l3", "left", "right"}, {"linsert", "l2", "before", "c", "x"},
	{"lset", "l2", 0, "y"}, {"ltrim", "l2", 0, 0}, {"lrem", "l2", 0, "y"}, {"zadd", "z2", 1, "a", 2, "b"},
	{"zpopmin", "z2"}, {"zrem", "z2", "b"}, {"hsetnx", "h3", "f", "v"}, {"setrange", "sr", 2, "ab"},
	{"copy", "sr", "sr2"}, {"mset", "m1", "a", "m2", "b"}, {"msetnx", "m3", "a"}, {"unlink", "m1", "m2", "m3"},
	{"sadd", "s1", "a", "b"}, {"sadd", "s2", "b"}, {"sinterstore", "s3", "s1", "s2"}, {"smove", "s1", "s2", "a"},
	{"pfadd", "hll", "a"}, {"setbit", "bits", 3, 1}, {"bitop", "or", "bits2", "bits"},
	{"xadd", "x", "*", "g", "w"}, {"xtrim", "x", "maxlen", 1}, {"xgroup", "create", "x", "grp", "0"},
	{"expireat", "sr2", 1}, {"psetex", "ps", 100000, "v"}, {"pexpire", "ps", 0},
	{"set", "e", "v", "px", 1},
}

// TestNotifyOnShoalReplica: a Shoal replica of a Shoal primary fires the
// keyspace events of the writes its primary's batches apply, as a
// redis-server replica of a redis-server primary does for the same writes
// (the primary's own notify-keyspace-events off in both): the same events
// in the same order, a key the primary expired fired as "del".
func TestNotifyOnShoalReplica(t *testing.T) {
	ctx := testutil.Ctx(t)
	rp := testutil.StartRedisServer(t, t.TempDir())
	rr := testutil.StartRedisServer(t, t.TempDir(), "--replicaof", "127.0.0.1", fmt.Sprint(rp.Port))
	want := replicaEvents(t, ctx, rp.Client(t, 0), rr.Client(t, 0))

	p := testutil.Start(t, nil)
	r := startReplica(t, p)
	got := replicaEvents(t, ctx, testutil.Client(t, p, 2), testutil.Client(t, r, 2))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the Shoal replica fired\n  %s\nwhere redis-server's fired\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	t.Logf("%d events, as redis-server's replica", len(got))
}

// replicaEvents turns the replica's notifications on, makes
// replicaWrites on the primary and returns the events the replica
// published for them.
func replicaEvents(t *testing.T, ctx context.Context, primary, replica *redis.Client) []string {
	t.Helper()
	if err := replica.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	ps := replica.PSubscribe(ctx, "__key*@0__:*")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := ps.Channel()
	// The replica asks for events once its link is up: write until they
	// come.
	for warm := false; !warm; {
		if err := primary.Set(ctx, "warm", "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-msgs:
			warm = m.Payload == "warm" || strings.HasSuffix(m.Channel, ":warm")
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event from the replica")
		}
	}
	// Drain the warm-up's events: a DEL of a key nothing else writes
	// marks their end.
	if err := primary.Del(ctx, "warm").Err(); err != nil {
		t.Fatal(err)
	}
	for m := range msgs {
		if m.Channel == "__keyevent@0__:del" && m.Payload == "warm" {
			break
		}
	}
	for _, w := range replicaWrites {
		if err := primary.Do(ctx, w...).Err(); err != nil {
			t.Fatalf("%v: %v", w, err)
		}
	}
	// The primary expires e when a read meets it.
	for primary.Exists(ctx, "e").Val() == 1 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := primary.Set(ctx, "end", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range msgs {
		got = append(got, m.Channel+" "+m.Payload)
		if m.Channel == "__keyevent@0__:set" && m.Payload == "end" {
			break
		}
	}
	return got
}
