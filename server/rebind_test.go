package server_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// TestConfigSetPortAndBind moves Shoal to another port and back to
// another bind list at runtime, as redis-server 7.0 moves: the new
// address serves, the old one is closed, a connection made before stays,
// and a port already taken or an address not of this host is refused
// with redis-server's errors.
func TestConfigSetPortAndBind(t *testing.T) {
	ctx := testutil.Ctx(t)
	s := testutil.Start(t, nil)
	before := testutil.Client(t, s, 2)
	if err := before.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	oldAddr := s.Addr()
	port := testutil.FreePort(t)
	if err := before.ConfigSet(ctx, "port", strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	moved := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1})
	defer moved.Close()
	if err := moved.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("the new port: %v", err)
	}
	if nc, err := net.Dial("tcp", oldAddr); err == nil {
		nc.Close()
		t.Errorf("the old port %s still accepts", oldAddr)
	}
	if v := before.Get(ctx, "k").Val(); v != "v" {
		t.Errorf("the connection made before: %q", v)
	}
	if p := infoText(t, moved, "tcp_port"); p != strconv.Itoa(port) {
		t.Errorf("INFO tcp_port = %s", p)
	}
	if err := moved.ConfigSet(ctx, "bind", "127.0.0.1 ::1").Err(); err != nil && !strings.Contains(err.Error(), "bind") {
		t.Fatal(err)
	}
	if err := moved.ConfigSet(ctx, "bind", "127.0.0.1").Err(); err != nil {
		t.Fatal(err)
	}

	// A port taken: Shoal and redis-server refuse it alike.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, takenPort, _ := net.SplitHostPort(taken.Addr().String())
	r := testutil.StartRedisServer(t, t.TempDir())
	var got [2]string
	for i, c := range []*redis.Client{r.Client(t, 0), moved} {
		got[i] = fmt.Sprint(c.ConfigSet(ctx, "port", takenPort).Err(), "; ", c.ConfigSet(ctx, "bind", "10.255.255.1").Err())
	}
	if got[1] != got[0] {
		t.Errorf("CONFIG SET to a taken port, then an address not here: shoal %q, redis-server %q", got[1], got[0])
	}
	if err := moved.Ping(ctx).Err(); err != nil {
		t.Errorf("after the refused move: %v", err)
	}
}

// TestBindAsRedis runs the same CONFIG SET bind steps on Shoal and
// redis-server 7.0 and compares each reply and what then accepts a
// client on 127.0.0.1: an optional address ("-") this host lacks passed
// over, a plain one refused (the old addresses serving again), "* -::*"
// (Redis's default) holding every address of the port, and "" no TCP
// listener, the connections made before staying. Shoal's default is "*
// -::*" too, and a start with nothing to listen on fails as Redis's.
func TestBindAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	cfg := testutil.Config(t)
	cfg.Bind = config.Default().Bind
	s := testutil.Start(t, cfg)
	if a := s.Addr(); !strings.HasPrefix(a, "0.0.0.0:") {
		t.Errorf("the default bind listens at %s, not every IPv4 address", a)
	}
	r := testutil.StartRedisServer(t, t.TempDir())
	_, sport, _ := net.SplitHostPort(s.Addr())
	servers := []struct {
		name, port string
		c          *redis.Client
	}{{"shoal", sport, testutil.Client(t, s, 2)}, {"redis-server", strconv.Itoa(r.Port), r.Client(t, 0)}}
	accepts := func(port string) bool {
		nc, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			return false
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write([]byte("PING\r\n")); err != nil {
			return false
		}
		line, err := bufio.NewReader(nc).ReadString('\n')
		return err == nil && line == "+PONG\r\n"
	}
	for _, bind := range []string{"-10.255.255.1 127.0.0.1", "10.255.255.1 127.0.0.1", "* -::*", "", "127.0.0.1"} {
		var got [2]string
		for i, sv := range servers {
			got[i] = fmt.Sprintf("%v; get %q; accepts %v; ping %v", sv.c.ConfigSet(ctx, "bind", bind).Err(),
				sv.c.ConfigGet(ctx, "bind").Val()["bind"], accepts(sv.port), sv.c.Ping(ctx).Err())
		}
		if got[0] != got[1] {
			t.Errorf("CONFIG SET bind %q:\n shoal        %s\n redis-server %s", bind, got[0], got[1])
		}
	}

	none := testutil.Config(t)
	none.Bind = nil
	ns, err := server.New(none, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := ns.Start(); err == nil || !strings.Contains(err.Error(), "Configured to not listen anywhere") {
		t.Errorf("a start with bind \"\": %v", err)
	}
}
