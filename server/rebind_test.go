package server_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
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
