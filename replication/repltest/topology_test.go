package repltest

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// TestChainAndPromotion: a replica of a replica catches up; a promoted
// replica keeps its own replica and takes its former sibling with a partial
// sync on the old history (replid2).
func TestChainAndPromotion(t *testing.T) {
	ctx := context.Background()
	p := newNode(t, nil)
	a := newReplica(t, p, nil)
	b := newReplica(t, p, nil)
	waitLinkUp(t, a)
	chained := newReplica(t, a, nil)
	writeMix(t, p, 0, 300)
	waitOnline(t, p, 2)
	waitOnline(t, a, 1)
	waitSameData(t, p, a, b, chained)
	if role, err := chained.c.Do(ctx, "ROLE").Slice(); err != nil || role[0] != "slave" || role[2] != int64(a.cfg.Port) {
		t.Fatalf("ROLE of the chained replica = %v, %v", role, err)
	}

	oldID := p.info("replication")["master_replid"]
	if err := a.c.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	info := a.info("replication")
	if info["role"] != "master" || info["master_replid2"] != oldID || info["master_replid"] == oldID {
		t.Fatalf("INFO replication of the promoted replica: %v", info)
	}
	if err := a.c.Set(ctx, "after-promotion", 1, 0).Err(); err != nil {
		t.Fatalf("write on the promoted replica: %v", err)
	}
	full, partial := a.infoInt("stats", "sync_full"), a.infoInt("stats", "sync_partial_ok")
	if err := b.c.Do(ctx, "REPLICAOF", "127.0.0.1", a.cfg.Port).Err(); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, a, 2)
	writeMix(t, a, 300, 100)
	waitSameData(t, a, b, chained)
	if got := a.infoInt("stats", "sync_full"); got != full {
		t.Fatalf("the former sibling took a full sync (sync_full %d -> %d)", full, got)
	}
	if got := a.infoInt("stats", "sync_partial_ok"); got != partial+1 {
		t.Fatalf("sync_partial_ok %d -> %d, want one more", partial, got)
	}
	if got := b.info("replication")["master_replid"]; got != a.info("replication")["master_replid"] {
		t.Fatalf("the former sibling follows replid %s, the new primary has %s", got, a.info("replication")["master_replid"])
	}
}

// TestPrimaryRestart: a restarted primary keeps its replication id and
// offset, and its replicas continue with a partial sync.
func TestPrimaryRestart(t *testing.T) {
	p := newNode(t, nil)
	r1, r2 := newReplica(t, p, nil), newReplica(t, p, nil)
	writeMix(t, p, 0, 200)
	waitOnline(t, p, 2)
	waitSameData(t, p, r1, r2)
	id, off := p.info("replication")["master_replid"], p.offset()
	p.restart()
	if got := p.info("replication")["master_replid"]; got != id {
		t.Fatalf("master_replid %s after a restart, was %s", got, id)
	}
	if got := p.offset(); got != off {
		t.Fatalf("master_repl_offset %d after a restart, was %d", got, off)
	}
	waitOnline(t, p, 2)
	writeMix(t, p, 200, 100)
	waitSameData(t, p, r1, r2)
	if full, partial := p.infoInt("stats", "sync_full"), p.infoInt("stats", "sync_partial_ok"); full != 0 || partial != 2 {
		t.Fatalf("after the restart: sync_full %d, sync_partial_ok %d; want 0 and 2", full, partial)
	}
}

// TestExpiryFollowsPrimary: a replica reads a key past its deadline as
// absent even before the primary's delete arrives, and the key leaves the
// replica's keyspace once the primary's sweeper deletes it.
func TestExpiryFollowsPrimary(t *testing.T) {
	ctx := context.Background()
	p, r, px := pair(t, func(c *config.Config) { c.Hz = 1 })
	m := p.conn()
	if err := m.Set(ctx, "k", "v", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	m.Set(ctx, "keep", "v", 0)
	if n, err := m.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	at, err := m.Do(ctx, "PEXPIRETIME", "k").Int64()
	if err != nil || at <= 0 {
		t.Fatalf("PEXPIRETIME = %d, %v", at, err)
	}
	px.Pause() // the primary's delete cannot reach the replica now
	for {
		before := time.Now().UnixMilli()
		v, err := r.c.Get(ctx, "k").Result()
		after := time.Now().UnixMilli()
		if err == nil {
			if before > at {
				t.Fatalf("the replica served %q at %d, after the deadline %d", v, before, at)
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err.Error() != "redis: nil" {
			t.Fatal(err)
		}
		if after < at {
			t.Fatalf("the key was gone at %d, before its deadline %d", after, at)
		}
		break
	}
	if n, _ := r.c.Exists(ctx, "k").Result(); n != 0 {
		t.Fatalf("EXISTS on the replica past the deadline = %d", n)
	}
	if d, _ := r.c.PTTL(ctx, "k").Result(); d != -2*time.Millisecond && d != -2 {
		t.Fatalf("PTTL on the replica past the deadline = %v", d)
	}
	if n, _ := r.c.DBSize(ctx).Result(); n != 2 {
		t.Fatalf("DBSIZE on the replica before the primary's delete = %d, want 2 (the key waits for it)", n)
	}
	px.Resume()
	eventually(t, "the primary's sweeper deletes the key", func() bool {
		return p.infoInt("stats", "expired_keys") >= 1
	})
	eventually(t, "the delete reaches the replica", func() bool {
		n, _ := r.c.DBSize(ctx).Result()
		return n == 1
	})
	if v, _ := r.c.Get(ctx, "keep").Result(); v != "v" {
		t.Fatalf("keep = %q", v)
	}
	if n := r.infoInt("stats", "expired_keys"); n != 0 {
		t.Fatalf("the replica's sweeper deleted %d keys", n)
	}
}

// TestMinReplicasToWrite: writes are refused with NOREPLICAS while fewer
// good replicas than min-replicas-to-write are attached.
func TestMinReplicasToWrite(t *testing.T) {
	ctx := context.Background()
	p := newNode(t, func(c *config.Config) { c.MinReplicasToWrite = 1; c.MinReplicasMaxLag = 10 })
	const want = "NOREPLICAS Not enough good replicas to write."
	if err := p.c.Set(ctx, "k", 1, 0).Err(); err == nil || err.Error() != want {
		t.Fatalf("SET with no replica: %v", err)
	}
	if err := p.c.Get(ctx, "k").Err(); err == nil || err.Error() != "redis: nil" {
		t.Fatalf("GET with no replica: %v", err)
	}
	r := newReplica(t, p, nil)
	eventually(t, "writes are accepted with a replica", func() bool {
		return p.c.Set(ctx, "k", 1, 0).Err() == nil
	})
	r.stop()
	eventually(t, "writes are refused without the replica", func() bool {
		err := p.c.Set(ctx, "k", 2, 0).Err()
		return err != nil && err.Error() == want
	})
	if err := p.c.ConfigSet(ctx, "min-replicas-to-write", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.c.Set(ctx, "k", 3, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRedisCLIShowsReplicas checks INFO replication and ROLE through
// redis-cli.
func TestRedisCLIShowsReplicas(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	p := newNode(t, nil)
	r1, r2 := newReplica(t, p, nil), newReplica(t, p, nil)
	waitOnline(t, p, 2)
	run := func(args ...string) string {
		out, err := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(p.cfg.Port)}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	info := run("INFO", "replication")
	for _, want := range []string{"role:master", "connected_slaves:2",
		"slave0:ip=127.0.0.1,port=", "slave1:ip=127.0.0.1,port=",
		"port=" + strconv.Itoa(r1.cfg.Port) + ",state=online", "port=" + strconv.Itoa(r2.cfg.Port) + ",state=online"} {
		if !strings.Contains(info, want) {
			t.Fatalf("redis-cli INFO replication lacks %q:\n%s", want, info)
		}
	}
	role := strings.Fields(run("ROLE"))
	if len(role) != 8 || role[0] != "master" {
		t.Fatalf("redis-cli ROLE = %q", role)
	}
	ports := map[string]bool{role[3]: true, role[6]: true}
	if !ports[strconv.Itoa(r1.cfg.Port)] || !ports[strconv.Itoa(r2.cfg.Port)] || role[2] != "127.0.0.1" || role[5] != "127.0.0.1" {
		t.Fatalf("redis-cli ROLE = %q", role)
	}
}

// TestReplicaMemberReads: a replica's hot cache follows the members the
// primary writes, deletes and drops, while its clients keep reading them.
func TestReplicaMemberReads(t *testing.T) {
	ctx := context.Background()
	p, r, _ := pair(t, nil)
	m := p.conn()
	sync := func() {
		t.Helper()
		if n, err := m.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || n != 1 {
			t.Fatalf("WAIT = %d, %v", n, err)
		}
	}
	hget := func(key, field string) string {
		t.Helper()
		v, err := r.c.HGet(ctx, key, field).Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		return v
	}
	m.HSet(ctx, "h", "f", "1")
	sync()
	if v := hget("h", "f"); v != "1" { // now cached on the replica
		t.Fatalf("HGET = %q", v)
	}
	m.HSet(ctx, "h", "f", "2")
	sync()
	if v := hget("h", "f"); v != "2" {
		t.Fatalf("HGET after the primary's HSET = %q", v)
	}
	m.HDel(ctx, "h", "f")
	m.SAdd(ctx, "s", "x")
	sync()
	if v := hget("h", "f"); v != "" {
		t.Fatalf("HGET after the primary's HDEL = %q", v)
	}
	if ok, _ := r.c.SIsMember(ctx, "s", "x").Result(); !ok {
		t.Fatal("SISMEMBER on the replica: false")
	}
	var args []any
	for i := 0; i < 200; i++ {
		args = append(args, "m"+strconv.Itoa(i))
	}
	m.SAdd(ctx, "s", args...)
	sync()
	if ok, _ := r.c.SIsMember(ctx, "s", "m5").Result(); !ok {
		t.Fatal("SISMEMBER m5 on the replica: false")
	}
	m.Del(ctx, "s") // one range tombstone
	m.SAdd(ctx, "s", "y")
	sync()
	if ok, _ := r.c.SIsMember(ctx, "s", "m5").Result(); ok {
		t.Fatal("SISMEMBER m5 on the replica after the primary's DEL: true")
	}
	if n, _ := r.c.SCard(ctx, "s").Result(); n != 1 {
		t.Fatalf("SCARD on the replica = %d, want 1", n)
	}
}
