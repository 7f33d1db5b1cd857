package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// waitBlocked polls until n clients are blocked.
func waitBlocked(t *testing.T, s *server.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.BlockedClients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("blocked clients = %d, want %d", s.BlockedClients(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type result struct {
	v   []string
	err error
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("blocked command did not return")
	}
	return result{}
}

// bothServers runs f over RESP2 and RESP3 with the server at hand, so it
// can wait for clients to block.
func bothServers(t *testing.T, f func(t *testing.T, s *server.Server, client func() *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(map[int]string{2: "resp2", 3: "resp3"}[proto], func(t *testing.T) {
			s := testutil.Start(t, nil)
			f(t, s, func() *redis.Client { return testutil.Client(t, s, proto) })
		})
	}
}

func goBLPop(ctx context.Context, c *redis.Client, keys ...string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err := c.BLPop(ctx, 0, keys...).Result()
		ch <- result{v, err}
	}()
	return ch
}

func TestBlockingPopWokenByPush(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		a, b := client(), client()
		got := goBLPop(ctx, a, "k1", "k2")
		waitBlocked(t, s, 1)
		if err := b.RPush(ctx, "k2", "x", "y").Err(); err != nil {
			t.Fatal(err)
		}
		r := await(t, got)
		if r.err != nil || !slices.Equal(r.v, []string{"k2", "x"}) {
			t.Fatalf("BLPOP = %q, %v", r.v, r.err)
		}
		waitBlocked(t, s, 0)
		// BRPOP serves at once when there is something.
		if v, err := a.BRPop(ctx, 0, "k1", "k2").Result(); err != nil || !slices.Equal(v, []string{"k2", "y"}) {
			t.Fatalf("BRPOP = %q, %v", v, err)
		}
	})
}

func TestBlockingTimeout(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		c := client()
		for _, args := range [][]any{
			{"blpop", "k", "0.01"},
			{"brpop", "k", "j", "0.01"},
			{"blmove", "k", "d", "left", "right", "0.01"},
			{"brpoplpush", "k", "d", "0.01"},
			{"blmpop", "0.01", "2", "k", "j", "left", "count", "2"},
		} {
			if err := c.Do(ctx, args...).Err(); err != redis.Nil {
				t.Fatalf("%v = %v, want nil", args, err)
			}
		}
		waitBlocked(t, s, 0)
		// The connection still works after a timeout.
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBlockingFIFO(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		first, second, pusher := client(), client(), client()
		got1 := goBLPop(ctx, first, "q")
		waitBlocked(t, s, 1)
		got2 := goBLPop(ctx, second, "q")
		waitBlocked(t, s, 2)

		pusher.RPush(ctx, "q", "one")
		r := await(t, got1)
		if r.err != nil || !slices.Equal(r.v, []string{"q", "one"}) {
			t.Fatalf("first = %q, %v", r.v, r.err)
		}
		waitBlocked(t, s, 1)
		select {
		case r := <-got2:
			t.Fatalf("second served without a push: %q, %v", r.v, r.err)
		default:
		}
		pusher.RPush(ctx, "q", "two")
		r = await(t, got2)
		if r.err != nil || !slices.Equal(r.v, []string{"q", "two"}) {
			t.Fatalf("second = %q, %v", r.v, r.err)
		}

		// One push of several elements serves several waiters, in order.
		got1 = goBLPop(ctx, first, "q")
		waitBlocked(t, s, 1)
		got2 = goBLPop(ctx, second, "q")
		waitBlocked(t, s, 2)
		pusher.RPush(ctx, "q", "a", "b", "c")
		if r := await(t, got1); r.err != nil || r.v[1] != "a" {
			t.Fatalf("first of three = %q, %v", r.v, r.err)
		}
		if r := await(t, got2); r.err != nil || r.v[1] != "b" {
			t.Fatalf("second of three = %q, %v", r.v, r.err)
		}
		if v, _ := pusher.LRange(ctx, "q", 0, -1).Result(); !slices.Equal(v, []string{"c"}) {
			t.Fatalf("left over = %q", v)
		}
	})
}

func TestBlockingMove(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		a, b := client(), client()
		ch := make(chan result, 1)
		go func() {
			v, err := a.BLMove(ctx, "src", "dst", "RIGHT", "LEFT", 0).Result()
			ch <- result{[]string{v}, err}
		}()
		waitBlocked(t, s, 1)
		b.RPush(ctx, "dst", "old")
		b.RPush(ctx, "src", "x", "y")
		if r := await(t, ch); r.err != nil || r.v[0] != "y" {
			t.Fatalf("BLMOVE = %q, %v", r.v, r.err)
		}
		if v, _ := b.LRange(ctx, "dst", 0, -1).Result(); !slices.Equal(v, []string{"y", "old"}) {
			t.Fatalf("dst = %q", v)
		}
		go func() {
			v, err := a.BRPopLPush(ctx, "empty", "dst", 0).Result()
			ch <- result{[]string{v}, err}
		}()
		waitBlocked(t, s, 1)
		b.LPush(ctx, "empty", "z")
		if r := await(t, ch); r.err != nil || r.v[0] != "z" {
			t.Fatalf("BRPOPLPUSH = %q, %v", r.v, r.err)
		}
		// BLMPOP
		go func() {
			key, v, err := a.BLMPop(ctx, 0, "right", 5, "none", "m").Result()
			ch <- result{append([]string{key}, v...), err}
		}()
		waitBlocked(t, s, 1)
		b.RPush(ctx, "m", "1", "2", "3")
		if r := await(t, ch); r.err != nil || !slices.Equal(r.v, []string{"m", "3", "2", "1"}) {
			t.Fatalf("BLMPOP = %q, %v", r.v, r.err)
		}
	})
}

func TestBlockingInMulti(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		c := client()
		cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.BLPop(ctx, 0, "nope")
			p.BLMove(ctx, "nope", "d", "LEFT", "LEFT", 0)
			p.RPush(ctx, "k", "v")
			p.BRPop(ctx, 0, "k")
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		if cmds[0].Err() != redis.Nil || cmds[1].Err() != redis.Nil {
			t.Fatalf("blocking in MULTI = %v, %v", cmds[0].Err(), cmds[1].Err())
		}
		if v := cmds[3].(*redis.StringSliceCmd).Val(); !slices.Equal(v, []string{"k", "v"}) {
			t.Fatalf("BRPOP in MULTI = %q", v)
		}
	})
}

func TestBlockingWokenByExec(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		a, b := client(), client()
		got := goBLPop(ctx, a, "k")
		waitBlocked(t, s, 1)
		_, err := b.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.RPush(ctx, "k", "tx")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := await(t, got); r.err != nil || !slices.Equal(r.v, []string{"k", "tx"}) {
			t.Fatalf("BLPOP = %q, %v", r.v, r.err)
		}
	})
}

func TestBlockingWrongType(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := testutil.Ctx(t)
		c := client()
		c.Set(ctx, "str", "x", 0)
		if err := c.BLPop(ctx, 0, "nope", "str").Err(); err == nil || err.Error() != "WRONGTYPE Operation against a key holding the wrong kind of value" {
			t.Fatalf("BLPOP string = %v", err)
		}
		c.RPush(ctx, "l", "a")
		if err := c.BLMove(ctx, "l", "str", "LEFT", "LEFT", 0).Err(); err == nil {
			t.Fatal("BLMOVE to a string succeeded")
		}
		if v, _ := c.LRange(ctx, "l", 0, -1).Result(); !slices.Equal(v, []string{"a"}) {
			t.Fatalf("source changed by a refused BLMOVE: %q", v)
		}

		// As in Redis 7.0, a key that turns into a string while a client
		// waits on it does not fail the wait: the client is served by
		// the next push to one of its keys.
		other := client()
		got := goBLPop(ctx, other, "k1", "k2")
		waitBlocked(t, s, 1)
		c.Set(ctx, "k1", "now a string", 0)
		c.RPush(ctx, "k2", "v")
		if r := await(t, got); r.err != nil || !slices.Equal(r.v, []string{"k2", "v"}) {
			t.Fatalf("BLPOP after SET = %q, %v", r.v, r.err)
		}
	})
}

// A client that goes away while blocked leaves the queue and takes
// nothing: the next push stays in the list.
func TestBlockingClientGone(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	r := testutil.Dial(t, s.Addr())
	r.Send("PING\r\nBLPOP gone 0\r\n")
	if got, err := r.ReadReply(); err != nil || got != "+PONG\r\n" {
		t.Fatalf("PING before BLPOP = %q, %v", got, err)
	}
	waitBlocked(t, s, 1)
	r.Conn.Close()
	waitBlocked(t, s, 0)
	if err := c.RPush(ctx, "gone", "kept").Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.LRange(ctx, "gone", 0, -1).Result(); !slices.Equal(v, []string{"kept"}) {
		t.Fatalf("list = %q", v)
	}
}

// Commands pipelined behind a blocking one wait for it and keep their order.
func TestBlockingPipelined(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	r := testutil.Dial(t, s.Addr())
	r.Send("BLPOP p 0\r\nPING\r\n")
	waitBlocked(t, s, 1)
	c.RPush(ctx, "p", "v")
	for _, want := range []string{"*2\r\n$1\r\np\r\n$1\r\nv\r\n", "+PONG\r\n"} {
		if got, err := r.ReadReply(); err != nil || got != want {
			t.Fatalf("reply = %q, %v; want %q", got, err, want)
		}
	}
}

// Closing the server ends the wait of blocked clients.
func TestBlockingServerClose(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	r.Send("BLPOP k 0\r\n")
	waitBlocked(t, s, 1)
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a blocked client")
	}
	waitBlocked(t, s, 0)
}

// CLIENT UNBLOCK ends another client's wait with its timeout reply, or with
// an UNBLOCKED error; texts as redis-server 7.0 gives them.
func TestClientUnblock(t *testing.T) {
	bothServers(t, func(t *testing.T, s *server.Server, client func() *redis.Client) {
		ctx := context.Background()
		a, b := client(), client()
		id, err := a.ClientID(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		ch := goBLPop(ctx, a, "k")
		waitBlocked(t, s, 1)
		if n, err := b.Do(ctx, "client", "unblock", id).Int(); err != nil || n != 1 {
			t.Fatalf("CLIENT UNBLOCK = %d, %v", n, err)
		}
		if r := await(t, ch); r.err != redis.Nil {
			t.Fatalf("BLPOP unblocked with TIMEOUT = %v, %v; want a null reply", r.v, r.err)
		}
		if n, err := b.Do(ctx, "client", "unblock", id).Int(); err != nil || n != 0 {
			t.Fatalf("CLIENT UNBLOCK of a client not blocked = %d, %v", n, err)
		}

		ch = goBLPop(ctx, a, "k")
		waitBlocked(t, s, 1)
		if n, err := b.Do(ctx, "client", "unblock", id, "ERROR").Int(); err != nil || n != 1 {
			t.Fatalf("CLIENT UNBLOCK ERROR = %d, %v", n, err)
		}
		if r := await(t, ch); r.err == nil || r.err.Error() != "UNBLOCKED client unblocked via CLIENT UNBLOCK" {
			t.Fatalf("BLPOP unblocked with ERROR = %v, %v", r.v, r.err)
		}

		for _, c := range []struct {
			args []any
			want string
		}{
			{[]any{"client", "unblock", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"client", "unblock", "x", "foo"}, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"},
			{[]any{"client", "unblock", 1, "timeout", "x"}, "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP."},
			{[]any{"client", "unblock"}, "ERR wrong number of arguments for 'client|unblock' command"},
		} {
			if err := b.Do(ctx, c.args...).Err(); err == nil || err.Error() != c.want {
				t.Fatalf("%v = %v; want %q", c.args, err, c.want)
			}
		}
	})
}
