package server_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// tlsReplicaConfig is a Shoal replica's configuration that reaches the
// primary at addr over TLS, presenting the test certificate, and serves a
// TLS port of its own, which it announces.
func tlsReplicaConfig(t *testing.T, certs *testutil.Certs, addr string) *config.Config {
	cfg := testutil.Config(t)
	cfg.Port, cfg.TLS.Port = testutil.FreePort(t), testutil.FreePort(t)
	cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.CACertFile = certs.Cert, certs.Key, certs.CA
	cfg.TLS.Replication = true
	host, port, _ := net.SplitHostPort(addr)
	cfg.ReplicaOf = host + " " + port
	return cfg
}

// slaveField returns INFO replication's slave0 field of c, "" until one
// is online.
func slaveField(t *testing.T, c *redis.Client) string {
	v := infoText(t, c, "slave0")
	if !strings.Contains(v, "state=online") {
		return ""
	}
	return v
}

// TestReplicationOverTLS replicates over TLS with tls-replication yes, in
// each direction with redis-server 7.0.15 and between Shoal nodes: the
// replica presents its certificate to the primary's TLS port and
// announces its own TLS port, as Redis's does.
func TestReplicationOverTLS(t *testing.T) {
	certs := testutil.MakeCerts(t)
	ctx := testutil.Ctx(t)
	tlsArgs := []string{"--tls-cert-file", certs.Cert, "--tls-key-file", certs.Key, "--tls-ca-cert-file", certs.CA}

	t.Run("shoal to shoal", func(t *testing.T) {
		primary := startTLS(t, certs)
		cfg := tlsReplicaConfig(t, certs, primary.TLSAddr())
		replica := testutil.Start(t, cfg)
		pc, rc := testutil.Client(t, primary, 2), testutil.Client(t, replica, 2)
		pc.Set(ctx, "k", "v", 0)
		eventuallyTrue(t, "the key on the replica", func() bool { return rc.Get(ctx, "k").Val() == "v" })
		if f := slaveField(t, pc); !strings.Contains(f, "port="+strconv.Itoa(cfg.TLS.Port)+",") {
			t.Fatalf("slave0:%s, want the replica's TLS port %d", f, cfg.TLS.Port)
		}
	})

	t.Run("redis-server replica of shoal", func(t *testing.T) {
		primary := startTLS(t, certs)
		_, port, _ := net.SplitHostPort(primary.TLSAddr())
		r := testutil.StartRedisServer(t, t.TempDir(), append(tlsArgs, "--tls-replication", "yes",
			"--replicaof", "127.0.0.1", port)...)
		pc := testutil.Client(t, primary, 2)
		pc.Set(ctx, "k", "from shoal", 0)
		eventuallyTrue(t, "the key on redis-server", func() bool { return r.Client(t, 0).Get(ctx, "k").Val() == "from shoal" })
	})

	t.Run("shoal replica of redis-server", func(t *testing.T) {
		tlsPort := testutil.FreePort(t)
		r := testutil.StartRedisServer(t, t.TempDir(), append(tlsArgs, "--tls-port", strconv.Itoa(tlsPort))...)
		cfg := tlsReplicaConfig(t, certs, net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)))
		replica := testutil.Start(t, cfg)
		r.Client(t, 0).Set(ctx, "k", "from redis", 0)
		rc := testutil.Client(t, replica, 2)
		eventuallyTrue(t, "the key on Shoal", func() bool { return rc.Get(ctx, "k").Val() == "from redis" })
		if f := slaveField(t, r.Client(t, 0)); !strings.Contains(f, "port="+strconv.Itoa(cfg.TLS.Port)+",") {
			t.Fatalf("redis-server's slave0:%s, want the replica's TLS port %d", f, cfg.TLS.Port)
		}
	})

	t.Run("a primary of another CA", func(t *testing.T) {
		other := testutil.MakeCerts(t)
		primary := startTLS(t, other)
		cfg := tlsReplicaConfig(t, certs, primary.TLSAddr())
		replica := testutil.Start(t, cfg)
		pc := testutil.Client(t, primary, 2)
		pc.Set(ctx, "k", "v", 0)
		// The replica tried: its connections reached the primary (besides
		// pc's), and their handshakes failed.
		eventuallyTrue(t, "the replica's attempts", func() bool { return infoField(t, pc, "total_connections_received") >= 3 })
		if v := infoText(t, testutil.Client(t, replica, 2), "master_link_status"); v != "down" {
			t.Fatalf("master_link_status %q with a primary the CA did not sign", v)
		}
		if n := infoText(t, pc, "connected_slaves"); n != "0" {
			t.Fatalf("connected_slaves %s", n)
		}
	})
}

// TestReplicaAuthAndAnnounce: a replica authenticates as masteruser with
// masterauth and announces replica-announce-ip and -port, which its
// primary shows, Shoal's as redis-server's.
func TestReplicaAuthAndAnnounce(t *testing.T) {
	ctx := testutil.Ctx(t)
	// The default user's password is another: AUTH with masterauth alone
	// fails, so the link stands only if the replica names its user.
	r := testutil.StartRedisServer(t, t.TempDir())
	if err := r.Client(t, 0).Do(ctx, "ACL", "SETUSER", "repl", "on", ">secret", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client(t, 0).ConfigSet(ctx, "requirepass", "not-the-replicas").Err(); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t)
	cfg.ReplicaOf = "127.0.0.1 " + strconv.Itoa(r.Port)
	cfg.MasterUser, cfg.MasterAuth = "repl", "secret"
	cfg.ReplicaAnnounceIP, cfg.ReplicaAnnouncePort = "10.1.2.3", 7777
	replica := testutil.Start(t, cfg)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: "not-the-replicas"})
	defer rc.Close()
	rc.Set(ctx, "k", "v", 0)
	sc := testutil.Client(t, replica, 2)
	eventuallyTrue(t, "the key on Shoal", func() bool { return sc.Get(ctx, "k").Val() == "v" })
	var want string
	eventuallyTrue(t, "redis-server's slave0", func() bool { want = slaveField(t, rc); return want != "" })
	if !strings.HasPrefix(want, "ip=10.1.2.3,port=7777,") {
		t.Fatalf("redis-server's slave0:%s", want)
	}

	primary := testutil.Start(t, nil)
	host, port, _ := net.SplitHostPort(primary.Addr())
	cfg2 := testutil.Config(t)
	cfg2.ReplicaOf = host + " " + port
	cfg2.ReplicaAnnounceIP, cfg2.ReplicaAnnouncePort = "10.1.2.3", 7777
	testutil.Start(t, cfg2)
	pc := testutil.Client(t, primary, 2)
	var got string
	eventuallyTrue(t, "Shoal's slave0", func() bool { got = slaveField(t, pc); return got != "" })
	if !strings.HasPrefix(got, "ip=10.1.2.3,port=7777,") {
		t.Fatalf("Shoal's slave0:%s, redis-server's slave0:%s", got, want)
	}
}

// TestServeStaleDataNo: a replica whose primary is unreachable, under
// replica-serve-stale-data no, answers MASTERDOWN to what Redis refuses
// and serves the commands Redis flags stale; each reply is compared with
// a redis-server 7.0.15's in the same state.
func TestServeStaleDataNo(t *testing.T) {
	gone := strconv.Itoa(testutil.FreePort(t)) // nothing listens there
	r := testutil.StartRedisServer(t, t.TempDir())
	ctx := testutil.Ctx(t)
	if err := r.Client(t, 0).ConfigSet(ctx, "replica-serve-stale-data", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client(t, 0).Do(ctx, "REPLICAOF", "127.0.0.1", gone).Err(); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t)
	cfg.ReplicaOf = "127.0.0.1 " + gone
	cfg.ReplicaServeStaleData = false
	s := testutil.Start(t, cfg)
	cmds := []string{
		"PING", "GET k", "SET k v", "ECHO hi", "DBSIZE", "CONFIG GET replica-serve-stale-data",
		"MULTI", "GET k", "EXEC", "MULTI", "CONFIG GET slave-serve-stale-data", "EXEC",
		"CONFIG SET replica-serve-stale-data yes", "GET k", "CONFIG SET replica-serve-stale-data no", "GET k",
	}
	run := func(addr string) []string {
		c := testutil.Dial(t, addr)
		var out []string
		for _, cmd := range cmds {
			c.Send(cmd + "\r\n")
			reply, err := c.ReadReply()
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			out = append(out, reply)
		}
		return out
	}
	want, got := run(r.Addr()), run(s.Addr())
	for i := range cmds {
		if got[i] != want[i] {
			t.Errorf("%s:\n shoal %q\n redis %q", cmds[i], got[i], want[i])
		}
	}
	if v := infoText(t, testutil.Client(t, s, 2), "slave_priority"); v != "100" {
		t.Errorf("slave_priority %s", v)
	}
}

// TestBindSourceAddr: a replica's link to its primary and MIGRATE's
// connections leave from bind-source-addr, so the primary shows the
// replica at that address, as redis-server's replica with the same
// setting is shown. 127.0.0.2 is not local to protected mode, in Redis
// as in Shoal: the refusal is compared first, then protected mode is
// turned off.
func TestBindSourceAddr(t *testing.T) {
	ctx := testutil.Ctx(t)
	primary := testutil.StartRedisServer(t, t.TempDir())
	sp := testutil.Start(t, nil)
	denied := func(addr string) string {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte("PING\r\n"))
		b, _ := io.ReadAll(nc)
		return string(b)
	}
	if got, want := denied(sp.Addr()), denied(primary.Addr()); got != want {
		t.Fatalf("a client from 127.0.0.2 in protected mode:\n shoal %q\n redis %q", got, want)
	}
	pc := primary.Client(t, 0)
	pc.ConfigSet(ctx, "protected-mode", "no")
	testutil.Client(t, sp, 2).ConfigSet(ctx, "protected-mode", "no")
	testutil.StartRedisServer(t, t.TempDir(), "--bind-source-addr", "127.0.0.2", "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
	var want string
	eventuallyTrue(t, "redis-server's replica", func() bool { want = slaveField(t, pc); return want != "" })
	if !strings.HasPrefix(want, "ip=127.0.0.2,") {
		t.Fatalf("redis-server's slave0:%s", want)
	}
	pc.Do(ctx, "REPLICAOF", "NO", "ONE")

	host, port, _ := net.SplitHostPort(sp.Addr())
	cfg := testutil.Config(t)
	cfg.ReplicaOf, cfg.BindSourceAddr = host+" "+port, "127.0.0.2"
	replica := testutil.Start(t, cfg)
	spc := testutil.Client(t, sp, 2)
	var got string
	eventuallyTrue(t, "Shoal's replica", func() bool { got = slaveField(t, spc); return got != "" })
	if !strings.HasPrefix(got, "ip=127.0.0.2,") {
		t.Fatalf("Shoal's slave0:%s, redis-server's slave0:%s", got, want)
	}

	rc := testutil.Client(t, replica, 2)
	rc.Do(ctx, "REPLICAOF", "NO", "ONE")
	rc.Set(ctx, "k", "v", 0)
	target := testutil.StartRedisServer(t, t.TempDir(), "--protected-mode", "no")
	if err := rc.Migrate(ctx, "127.0.0.1", strconv.Itoa(target.Port), "k", 0, 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if list := target.Client(t, 0).ClientList(ctx).Val(); !strings.Contains(list, "addr=127.0.0.2:") {
		t.Errorf("MIGRATE's connection is not from 127.0.0.2:\n%s", list)
	}
}

// TestRDBLastLoadKeysAsRedis: after a full sync from a redis-server
// primary, INFO's rdb_last_load_keys_loaded and _expired count the
// primary's RDB as a redis-server replica's do.
func TestRDBLastLoadKeysAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	primary := testutil.StartRedisServer(t, t.TempDir(), "--repl-diskless-sync-delay", "0")
	pc := primary.Client(t, 0)
	pc.MSet(ctx, "a", "1", "b", "2", "c", "3")
	port := strconv.Itoa(primary.Port)
	r := testutil.StartRedisServer(t, t.TempDir(), "--replicaof", "127.0.0.1", port)
	cfg := testutil.Config(t)
	cfg.ReplicaOf = "127.0.0.1 " + port
	s := testutil.Start(t, cfg)
	var seen [2]string
	for i, c := range []*redis.Client{r.Client(t, 0), testutil.Client(t, s, 2)} {
		eventuallyTrue(t, "the sync", func() bool { return infoText(t, c, "master_link_status") == "up" })
		seen[i] = infoText(t, c, "rdb_last_load_keys_loaded") + " " + infoText(t, c, "rdb_last_load_keys_expired")
	}
	if seen[1] != seen[0] || seen[0] != "3 0" {
		t.Errorf("loaded, expired: shoal %s, redis %s", seen[1], seen[0])
	}
}

// TestHelloRoleAsRedis: HELLO names a replica's role "replica", as
// redis-server 7.0.15 does.
func TestHelloRoleAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	gone := strconv.Itoa(testutil.FreePort(t))
	r := testutil.StartRedisServer(t, t.TempDir(), "--replicaof", "127.0.0.1", gone)
	cfg := testutil.Config(t)
	cfg.ReplicaOf = "127.0.0.1 " + gone
	s := testutil.Start(t, cfg)
	var seen [2]string
	for i, addr := range []string{r.Addr(), s.Addr()} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
		defer c.Close()
		v, err := c.Do(ctx, "HELLO", "3").Result()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := v.(map[any]any)
		seen[i] = fmt.Sprint(m["mode"], " ", m["role"])
	}
	if seen[1] != seen[0] || seen[0] != "standalone replica" {
		t.Errorf("HELLO mode and role: shoal %q, redis %q", seen[1], seen[0])
	}
}

// TestReplicasInClientListAsRedis: a primary lists the link of each
// replica in CLIENT LIST, with flag S and under TYPE replica, leaves it
// out of connected_clients, and CLIENT KILL TYPE replica ends it (the
// replica then syncs again), as redis-server 7.0.15 does; a Shoal
// replica's link is listed too.
func TestReplicasInClientListAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	replicaLines := func(t *testing.T, c *redis.Client) []string {
		t.Helper()
		text, err := c.Do(ctx, "CLIENT", "LIST", "TYPE", "replica").Text()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(text), "\n")
	}
	for _, p := range bothPeers(t) {
		t.Run(p.name, func(t *testing.T) {
			before := infoText(t, p.c, "connected_clients")
			host, port, _ := net.SplitHostPort(p.addr)
			replicaOf(t, p.c, host+" "+port)
			lines := replicaLines(t, p.c)
			if len(lines) != 1 || !strings.Contains(lines[0], " flags=S ") {
				t.Fatalf("CLIENT LIST TYPE replica = %q", lines)
			}
			normal, _ := p.c.Do(ctx, "CLIENT", "LIST", "TYPE", "normal").Text()
			if strings.Contains(normal, " flags=S ") {
				t.Fatalf("a replica listed as normal: %q", normal)
			}
			if after := infoText(t, p.c, "connected_clients"); after != before {
				t.Fatalf("connected_clients %s with a replica, %s without", after, before)
			}
			if n, err := p.c.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Int(); n != 1 || err != nil {
				t.Fatalf("CLIENT KILL TYPE replica = %d, %v", n, err)
			}
			eventuallyTrue(t, "the replica back, on a new link", func() bool {
				l := replicaLines(t, p.c)
				return len(l) == 1 && l[0] != lines[0] && slaveField(t, p.c) != ""
			})
		})
	}
	t.Run("shoal replica", func(t *testing.T) {
		primary := testutil.Start(t, nil)
		startReplica(t, primary)
		c := testutil.Client(t, primary, 2)
		eventuallyTrue(t, "the replica's link listed", func() bool {
			l := replicaLines(t, c)
			return len(l) == 1 && strings.Contains(l[0], " flags=S ")
		})
	})
}

// TestBlockedClientsEndWhenTurningReplicaAsRedis follows replication.tcl's
// "BLPOP followed by role change, issue #2473": a client blocked in BLPOP
// on a primary that turns replica gets Redis 7.0's UNBLOCKED error and is
// disconnected, so what the new primary pushes reaches the replica whole.
// Before, the blocked client popped the replicated element and the two
// nodes differed.
func TestBlockedClientsEndWhenTurningReplicaAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	first, second := bothPeers(t), bothPeers(t)
	for _, nodes := range [][]peer{{first[0], second[0]}, {first[1], second[1]}} {
		a, b := nodes[0], nodes[1]
		conn := testutil.Dial(t, b.addr)
		conn.Send("BLPOP foo 0\r\n")
		eventuallyTrue(t, "a blocked client", func() bool { return infoText(t, b.c, "blocked_clients") == "1" })
		host, port, _ := net.SplitHostPort(a.addr)
		if err := b.c.Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
			t.Fatal(err)
		}
		reply, err := conn.ReadReply()
		conn.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, rerr := conn.ReadReply()
		closed := rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded)
		eventuallyTrue(t, "the replica's link up", func() bool { return infoText(t, b.c, "master_link_status") == "up" })
		if err := a.c.RPush(ctx, "foo", "a", "b", "c").Err(); err != nil {
			t.Fatal(err)
		}
		eventuallyTrue(t, "the push on the replica", func() bool {
			return fmt.Sprint(b.c.LRange(ctx, "foo", 0, -1).Val()) == "[a b c]"
		})
		got = append(got, fmt.Sprintf("%q %v closed=%v", reply, err, closed))
	}
	if got[0] != got[1] {
		t.Fatalf("Shoal: %s\nredis-server: %s", got[0], got[1])
	}
}
