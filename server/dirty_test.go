package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// dirtyCommands are write commands of every group, each making some,
// none or several changes, in an order that gives them something to
// change; " ; " separates the commands of one step.
var dirtyCommands = []string{
	"SET k v", "SET k v NX", "SET k w XX GET", "SET k2 v XX",
	"MSET a 1 b 2 c 3", "MSETNX a 1 d 4", "MSETNX d 4 e 5",
	"DEL a b zz", "UNLINK c", "INCR n", "INCRBY n 5", "DECR n", "INCRBYFLOAT n 1.5",
	"APPEND k x", "SETRANGE k 0 y", "GETSET k z", "GETDEL k", "GETDEL k",
	"SETNX k v", "SETNX k v", "SETEX ex 100 v", "PSETEX pex 100000 v",
	"EXPIRE k 100", "EXPIRE nokey 100", "PEXPIRE k 100000", "PERSIST k", "PERSIST k",
	"GETEX k EX 100", "GETEX k", "GETEX nokey EX 100",
	"SADD s a b c", "SADD s a d", "SREM s a zz", "SPOP s", "SPOP s 5", "SPOP nokey",
	"SMOVE s2 s x", "SADD s2 x", "SMOVE s2 s x", "SADD s2 x", "SMOVE s2 s x",
	"HSET h f 1 g 2", "HSET h f 3", "HMSET h a 1 b 2", "HSETNX h f 1", "HSETNX h z 1",
	"HDEL h f g zz", "HINCRBY h n 1", "HINCRBYFLOAT h fl 1.5",
	"LPUSH l a b c", "RPUSH l d", "LPUSHX nolist a", "RPUSHX l e f",
	"LPOP l", "RPOP l 2", "LPOP nolist", "LSET l 0 z", "LREM l 0 z",
	"RPUSH l2 1 2 3 4 5 6", "LTRIM l2 1 2", "LTRIM l2 5 9", "RPUSH l3 a b c",
	"LINSERT l3 BEFORE b q", "LINSERT l3 BEFORE nothere q",
	"RPUSH l4 1 2 3", "LMOVE l4 l5 LEFT RIGHT", "RPOPLPUSH l4 l5", "LMOVE nolist l5 LEFT LEFT",
	"ZADD z 1 a 2 b", "ZADD z 3 a 4 c", "ZADD z CH 5 a 6 d", "ZADD z NX 9 a", "ZADD z XX 7 a 8 b",
	"ZADD z GT 1 a", "ZINCRBY z 1 a", "ZREM z a zz", "ZPOPMIN z", "ZPOPMAX z 5",
	"ZADD z2 1 a 2 b 3 c 4 d 5 e", "ZREMRANGEBYSCORE z2 1 2", "ZREMRANGEBYRANK z2 0 0", "ZREMRANGEBYLEX z2 - +",
	"SADD s3 1 2", "SADD s4 2 3", "SINTERSTORE s5 s3 s4", "SUNIONSTORE s6 s3 s4", "SDIFFSTORE s9 s3 s4",
	"ZADD z3 1 a 2 b", "ZUNIONSTORE z4 2 z3 z3", "ZRANGESTORE z5 z3 0 -1",
	"RENAME s6 s7", "RENAMENX s7 s5", "COPY s7 s8", "MOVE s8 1", "MOVE nokey 1",
	"XADD x 1-1 f v", "XADD x 2-1 f v", "XADD x 3-1 f v", "XDEL x 1-1 9-9", "XTRIM x MAXLEN 1",
	"RPUSH sl 3 1 2", "SORT sl STORE sl2",
	"PFADD hll a b c d e f g", "PFADD hll a b", "PFADD hll h i j", "PFADD hll2",
	"SETBIT bits 0 0", "SETBIT bits 0 0", "SETBIT bits 0 1", "SETBIT bits 0 1", "SETBIT bits 100 0",
	"BITFIELD bf SET i5 0 0", "BITFIELD bf SET i5 0 0", "BITFIELD bf SET i5 0 1 SET u4 0 8",
	"BITFIELD bf INCRBY u2 100 1 OVERFLOW FAIL INCRBY u2 100 5", "BITFIELD bf GET u4 0",
	"MULTI ; SET m1 1 ; SADD m2 a b ; EXEC",
	"EVAL \"redis.call('SET', KEYS[1], 'v'); return redis.call('SADD', KEYS[2], 'a', 'b', 'c')\" 2 e1 e2",
	"FLUSHDB", "SET f1 1", "SET f2 2", "FLUSHALL",
}

// TestDirtyCountsChanges runs dirtyCommands on Shoal and on redis-server
// 7.0.15 side by side and compares, after each, how much
// rdb_changes_since_last_save grew: Redis counts the changes a command
// made (keys, members, fields), not the command.
func TestDirtyCountsChanges(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir())
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	run := func(c *redis.Conn, line string) int64 {
		for _, cmd := range strings.Split(line, " ; ") {
			if err := c.Do(ctx, splitCommand(cmd)...).Err(); err != nil && err != redis.Nil {
				t.Fatalf("%s: %v", cmd, err)
			}
		}
		info, err := c.Info(ctx, "persistence").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "rdb_changes_since_last_save:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatalf("no rdb_changes_since_last_save in %q", info)
		return 0
	}
	for _, proto := range []int{2, 3} {
		rc := redis.NewClient(&redis.Options{Addr: r.Addr(), Protocol: proto}).Conn()
		sc := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto}).Conn()
		rPrev, sPrev := run(rc, "FLUSHALL"), run(sc, "FLUSHALL")
		for _, line := range dirtyCommands {
			rNow, sNow := run(rc, line), run(sc, line)
			if rNow-rPrev != sNow-sPrev {
				t.Errorf("RESP%d %s: Shoal counted %d changes, redis-server %d", proto, line, sNow-sPrev, rNow-rPrev)
			}
			rPrev, sPrev = rNow, sNow
		}
		rc.Close()
		sc.Close()
	}
}

// splitCommand splits a command line on spaces, keeping a double-quoted
// argument whole.
func splitCommand(line string) []any {
	var out []any
	for line != "" {
		if line[0] == '"' {
			end := strings.Index(line[1:], "\"") + 1
			out = append(out, line[1:end])
			line = strings.TrimPrefix(line[end+1:], " ")
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		out = append(out, word)
		line = rest
	}
	return out
}
