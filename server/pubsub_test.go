package server_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// transcript sends each request on a raw connection and compares the
// replies with want (raw RESP, as redis-server 7.0 answers them).
func transcript(t *testing.T, r *testutil.Raw, steps [][2]string) {
	t.Helper()
	for _, st := range steps {
		r.Send(st[0])
		var got strings.Builder
		for got.Len() < len(st[1]) {
			rep, err := r.ReadReply()
			if err != nil {
				t.Fatalf("%q: reading reply: %v (got so far %q)", st[0], err, got.String())
			}
			got.WriteString(rep)
		}
		if got.String() != st[1] {
			t.Fatalf("%q:\n got %q\nwant %q", st[0], got.String(), st[1])
		}
	}
}

func TestPubsubRESP2Transcript(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	transcript(t, r, [][2]string{
		{"UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"},
		{"PUNSUBSCRIBE\r\n", "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"},
		{"SUBSCRIBE a b\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"},
		{"SUBSCRIBE a\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"},
		{"PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n"},
		{"PING x\r\n", "*2\r\n$4\r\npong\r\n$1\r\nx\r\n"},
		{"GET a\r\n", "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"},
		{"PUBLISH a x\r\n", "-ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"},
		{"UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n"},
		{"PSUBSCRIBE p*\r\n", "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n"},
		{"PUNSUBSCRIBE p* q\r\n", "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$1\r\nq\r\n:0\r\n"},
		{"GET a\r\n", "$-1\r\n"},
		{"PING\r\n", "+PONG\r\n"},
		{"SUBSCRIBE x\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"},
		{"RESET\r\n", "+RESET\r\n"},
		{"PING\r\n", "+PONG\r\n"},
		{"SUBSCRIBE\r\n", "-ERR wrong number of arguments for 'subscribe' command\r\n"},
		{"PSUBSCRIBE\r\n", "-ERR wrong number of arguments for 'psubscribe' command\r\n"},
		{"PUBLISH a\r\n", "-ERR wrong number of arguments for 'publish' command\r\n"},
		{"PUBSUB NUMSUB a b\r\n", "*4\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:0\r\n"},
		{"PUBSUB CHANNELS a b\r\n", "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"},
		{"PUBSUB NUMPAT x\r\n", "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"},
		{"PUBSUB FOO\r\n", "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n"},
		{"PUBSUB\r\n", "-ERR wrong number of arguments for 'pubsub' command\r\n"},
	})
	r.Send("SUBSCRIBE q\r\nQUIT\r\n")
	want := "*3\r\n$9\r\nsubscribe\r\n$1\r\nq\r\n:1\r\n+OK\r\n"
	got, err := io.ReadAll(r.R)
	if err != nil || string(got) != want {
		t.Fatalf("SUBSCRIBE+QUIT = %q, %v; want %q", got, err, want)
	}
}

func TestPubsubRESP3Transcript(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	r.Send("HELLO 3\r\n")
	if _, err := r.ReadReply(); err != nil {
		t.Fatal(err)
	}
	pub := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	transcript(t, r, [][2]string{
		{"SUBSCRIBE a\r\n", ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"},
		// Any command runs while subscribed in RESP3.
		{"GET a\r\n", "_\r\n"},
		{"PING\r\n", "+PONG\r\n"},
		{"PSUBSCRIBE a*\r\n", ">3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:2\r\n"},
	})
	if n, err := pub.Publish(ctx, "a", "hi").Result(); err != nil || n != 2 {
		t.Fatalf("PUBLISH = %d, %v; want 2", n, err)
	}
	transcript(t, r, [][2]string{
		{"", ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"},
		{"", ">4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$2\r\nhi\r\n"},
		{"UNSUBSCRIBE x\r\n", ">3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:2\r\n"},
		{"PUNSUBSCRIBE\r\n", ">3\r\n$12\r\npunsubscribe\r\n$2\r\na*\r\n:1\r\n"},
		{"PUNSUBSCRIBE\r\n", ">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n"},
		{"PUBLISH a x\r\n", ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nx\r\n:1\r\n"},
		{"PUBSUB NUMSUB a\r\n", "*2\r\n$1\r\na\r\n:1\r\n"},
	})
}

func TestPubsubDelivery(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		ps := c.Subscribe(ctx, "news.tech", "other")
		defer ps.Close()
		for i := 0; i < 2; i++ {
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
		}
		pp := c.PSubscribe(ctx, "news.*", "n*")
		defer pp.Close()
		for i := 0; i < 2; i++ {
			if _, err := pp.Receive(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := c.Publish(ctx, "news.tech", "hello").Result(); err != nil || n != 3 {
			t.Fatalf("PUBLISH news.tech = %d, %v; want 3", n, err)
		}
		if n, err := c.Publish(ctx, "nobody", "x").Result(); err != nil || n != 1 {
			t.Fatalf("PUBLISH nobody = %d, %v; want 1 (pattern n*)", n, err)
		}
		if n, err := c.Publish(ctx, "zzz", "x").Result(); err != nil || n != 0 {
			t.Fatalf("PUBLISH zzz = %d, %v; want 0", n, err)
		}
		m, err := ps.ReceiveMessage(ctx)
		if err != nil || m.Channel != "news.tech" || m.Payload != "hello" || m.Pattern != "" {
			t.Fatalf("message = %+v, %v", m, err)
		}
		got := map[string]string{}
		for i := 0; i < 3; i++ {
			m, err := pp.ReceiveMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got[m.Pattern+" "+m.Channel] = m.Payload
		}
		want := map[string]string{"news.* news.tech": "hello", "n* news.tech": "hello", "n* nobody": "x"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pmessages = %v, want %v", got, want)
		}

		chans, err := c.PubSubChannels(ctx, "*").Result()
		if err != nil || strings.Join(chans, ",") != "news.tech,other" {
			t.Fatalf("PUBSUB CHANNELS = %v, %v", chans, err)
		}
		chans, err = c.PubSubChannels(ctx, "o*").Result()
		if err != nil || strings.Join(chans, ",") != "other" {
			t.Fatalf("PUBSUB CHANNELS o* = %v, %v", chans, err)
		}
		ns, err := c.PubSubNumSub(ctx, "news.tech", "none").Result()
		if err != nil || ns["news.tech"] != 1 || ns["none"] != 0 {
			t.Fatalf("PUBSUB NUMSUB = %v, %v", ns, err)
		}
		if n, err := c.PubSubNumPat(ctx).Result(); err != nil || n != 2 {
			t.Fatalf("PUBSUB NUMPAT = %d, %v", n, err)
		}
		if err := pp.PUnsubscribe(ctx, "n*"); err != nil {
			t.Fatal(err)
		}
		if err := ps.Unsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			n, _ := c.Publish(ctx, "news.tech", "again").Result()
			return n == 1
		})
		if n, err := c.PubSubNumPat(ctx).Result(); err != nil || n != 1 {
			t.Fatalf("PUBSUB NUMPAT after PUNSUBSCRIBE = %d, %v", n, err)
		}
		help, err := c.Do(ctx, "PUBSUB", "HELP").StringSlice()
		if err != nil || len(help) != 14 {
			t.Fatalf("PUBSUB HELP = %v, %v", help, err)
		}
	})
}

// A subscription closed by its client leaves the registry.
func TestPubsubCloseUnsubscribes(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	r := testutil.Dial(t, s.Addr())
	transcript(t, r, [][2]string{{"SUBSCRIBE gone\r\n", "*3\r\n$9\r\nsubscribe\r\n$4\r\ngone\r\n:1\r\n"}})
	if n, _ := c.Publish(ctx, "gone", "x").Result(); n != 1 {
		t.Fatalf("PUBLISH = %d, want 1", n)
	}
	r.Conn.Close()
	waitFor(t, func() bool {
		n, _ := c.PubSubNumSub(ctx, "gone").Result()
		return n["gone"] == 0
	})
}

// A subscriber that never reads is disconnected once its queue passes the
// pubsub output limit, while PUBLISH keeps answering and a subscriber that
// reads gets every message in order.
func TestPubsubSlowSubscriberDisconnected(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.ClientOutputBufferLimit = "pubsub 1mb 512kb 1"
	s := testutil.Start(t, cfg)
	ctx := testutil.Ctx(t)
	pub := testutil.Client(t, s, 2)

	slow := testutil.Dial(t, s.Addr())
	transcript(t, slow, [][2]string{{"SUBSCRIBE big\r\n", "*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n"}})

	reader := testutil.Client(t, s, 3)
	ps := reader.Subscribe(ctx, "small")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const maxPublishes = 4000
	var (
		wg       sync.WaitGroup
		received int
		recvErr  error
	)
	sent := make(chan int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		total := -1
		for total < 0 || received < total {
			select {
			case total = <-sent:
				if received >= total {
					return
				}
			default:
			}
			m, err := ps.ReceiveTimeout(ctx, 5*time.Second)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				recvErr = err
				return
			}
			msg, ok := m.(*redis.Message)
			if !ok {
				continue
			}
			if want := fmt.Sprint(received); msg.Payload != want {
				recvErr = fmt.Errorf("message %d has payload %q", received, msg.Payload)
				return
			}
			received++
		}
	}()

	big := strings.Repeat("x", 64<<10)
	n := 0
	for ; n < maxPublishes; n++ {
		if err := pub.Publish(ctx, "small", fmt.Sprint(n)).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := pub.Publish(ctx, "big", big).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			n++
			break
		}
	}
	if n == maxPublishes {
		t.Fatalf("the slow subscriber was still subscribed after %d publishes of %d bytes", n, len(big))
	}
	t.Logf("the slow subscriber was disconnected after %d publishes of %d bytes", n, len(big))
	sent <- n
	wg.Wait()
	if recvErr != nil {
		t.Fatal(recvErr)
	}
	if received != n {
		t.Fatalf("reader got %d messages, want %d", received, n)
	}
	// The server closed the slow socket: reading it reaches the end.
	slow.Conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, slow.Conn)
	if err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || !isReset(err)) {
		t.Fatalf("slow subscriber's socket was not closed: %v", err)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Sharded pub/sub as redis-server 7.0.15 answers it (the replies below
// were read off it): SSUBSCRIBE counts the shard channels apart from the
// others, SPUBLISH reaches only shard subscribers, PUBSUB SHARDCHANNELS and
// SHARDNUMSUB see them and CHANNELS and NUMSUB do not.
func TestShardedPubSub(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	for _, proto := range []int{2, 3} {
		c := testutil.Client(t, s, proto)
		ps := c.SSubscribe(ctx, "a", "b")
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ps.Subscribe(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		eventuallyTrue(t, "three subscriptions", func() bool {
			n, _ := c.PubSubShardNumSub(ctx, "a", "b").Result()
			ch, _ := c.PubSubChannels(ctx, "*").Result()
			return n["a"] == 1 && n["b"] == 1 && len(ch) == 1
		})
		if n, err := c.SPublish(ctx, "a", "hello").Result(); err != nil || n != 1 {
			t.Fatalf("SPUBLISH a = %d, %v", n, err)
		}
		if n, err := c.Publish(ctx, "a", "not for shard subscribers").Result(); err != nil || n != 0 {
			t.Fatalf("PUBLISH a = %d, %v", n, err)
		}
		for {
			msg, err := ps.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := msg.(*redis.Message); ok {
				if m.Channel != "a" || m.Payload != "hello" {
					t.Fatalf("message = %+v", m)
				}
				break
			}
		}
		chans, _ := c.PubSubShardChannels(ctx, "*").Result()
		sort.Strings(chans)
		if fmt.Sprint(chans) != "[a b]" {
			t.Fatalf("PUBSUB SHARDCHANNELS = %v", chans)
		}
		if n, _ := c.PubSubNumSub(ctx, "a").Result(); n["a"] != 0 {
			t.Fatalf("PUBSUB NUMSUB a = %v", n)
		}
		if err := c.Do(ctx, "PUBSUB", "SHARDCHANNELS", "x", "y").Err(); err == nil || err.Error() != "ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP." {
			t.Fatalf("PUBSUB SHARDCHANNELS x y: %v", err)
		}
		list, _ := c.ClientList(ctx).Result()
		if !strings.Contains(list, " sub=1 psub=0 ssub=2 ") {
			t.Fatalf("CLIENT LIST:\n%s", list)
		}
		ps.Close()
	}
	// The confirmations in RESP2, raw.
	r := testutil.Dial(t, s.Addr())
	r.Send("SSUBSCRIBE a b\r\nSUBSCRIBE c\r\nSUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n")
	// NB: SUNSUBSCRIBE with no names goes in name order here, in its
	// dictionary's order in Redis.
	confirm := func(kind, name string, n int) string {
		if name == "" {
			return fmt.Sprintf("*3\r\n$%d\r\n%s\r\n$-1\r\n:%d\r\n", len(kind), kind, n)
		}
		return fmt.Sprintf("*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n:%d\r\n", len(kind), kind, len(name), name, n)
	}
	for _, want := range []string{confirm("ssubscribe", "a", 1), confirm("ssubscribe", "b", 2), confirm("subscribe", "c", 1),
		confirm("sunsubscribe", "a", 1), confirm("sunsubscribe", "b", 0), confirm("sunsubscribe", "", 0)} {
		got, err := r.ReadReply()
		if err != nil || got != want {
			t.Fatalf("reply %q, %v; want %q", got, err, want)
		}
	}
}

// TestInfoPubsubAndMigrateCountsAsRedis: INFO's pubsub_channels,
// pubsub_patterns, pubsubshard_channels and migrate_cached_sockets count
// what redis-server 7.0.15's do after the same subscriptions and MIGRATE.
func TestInfoPubsubAndMigrateCountsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	target := testutil.StartRedisServer(t, t.TempDir())
	fields := []string{"pubsub_channels", "pubsub_patterns", "pubsubshard_channels", "migrate_cached_sockets"}
	var seen [2][]string
	for i, addr := range []string{testutil.StartRedisServer(t, t.TempDir()).Addr(), testutil.Start(t, nil).Addr()} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
		defer c.Close()
		sub := c.Subscribe(ctx, "a", "b")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sub.PSubscribe(ctx, "p*"); err != nil {
			t.Fatal(err)
		}
		ssub := c.SSubscribe(ctx, "s")
		defer ssub.Close()
		if _, err := ssub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		c.Set(ctx, "k", "v", 0)
		if err := c.Migrate(ctx, "127.0.0.1", strconv.Itoa(target.Port), "k", i, 5*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			v := infoText(t, c, f)
			if f == "pubsub_patterns" && v == "0" {
				// NB: the PSUBSCRIBE is sent without waiting for its reply.
				eventuallyTrue(t, "the pattern", func() bool { v = infoText(t, c, f); return v != "0" })
			}
			seen[i] = append(seen[i], f+":"+v)
		}
	}
	if got, want := strings.Join(seen[1], " "), strings.Join(seen[0], " "); got != want {
		t.Errorf("shoal %s\nredis %s", got, want)
	}
}
