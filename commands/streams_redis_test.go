package commands_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/shoaldb/shoal/internal/testutil"
)

// startRedis starts a redis-server for the test and returns a client of
// it speaking proto. The test skips when redis-server is not installed
// (fails under SHOAL_REQUIRE_TOOLS=1) or is not 7.0.15.
func startRedis(t *testing.T, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testutil.StartRedis(t), Protocol: proto, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "redis_version:7.0.15\r\n") {
		t.Skip("redis-server is not 7.0.15")
	}
	return c
}

// streamOps makes a random but seeded sequence of stream commands: adds
// with explicit IDs (so both servers make the same), with fields of every
// listpack encoding size and often the same fields (so entries share their
// node's master fields), deletions, exact and approximate trims, consumer
// groups, reads, acknowledgements and claims, each followed now and then
// by the commands that show the stream's inner state (XINFO STREAM, FULL,
// GROUPS, XPENDING).
func streamOps(seed uint64, n int) [][]any {
	r := rand.New(rand.NewPCG(seed, 1))
	var ops [][]any
	var ms, seq uint64 = 1, 0
	var ids []string
	fieldSets := [][]string{{"a"}, {"a", "b"}, {"temperature", "humidity"}, {"1", "-5"}}
	// Seeds 3, 6, ... keep values to integers, so nodes fill up to their
	// entry limit; the others add strings, up to kilobytes for even seeds,
	// which fill nodes by size.
	sizes := []int{2, 5, 6}[seed%3]
	value := func() string {
		switch r.IntN(sizes) {
		case 0:
			return strconv.Itoa(r.IntN(1 << 20))
		case 1:
			return strconv.Itoa(-r.IntN(100000))
		case 2:
			return strings.Repeat("x", r.IntN(300))
		case 3:
			return strings.Repeat("y", 60+r.IntN(10))
		case 4:
			return strings.Repeat("z", 4000+r.IntN(200))
		}
		return "v" + strconv.Itoa(r.IntN(50))
	}
	pick := func() string {
		if len(ids) == 0 || r.IntN(10) == 0 {
			return strconv.Itoa(r.IntN(int(ms)+2)) + "-" + strconv.Itoa(r.IntN(3))
		}
		return ids[r.IntN(len(ids))]
	}
	groups := []string{"g1", "g2", "g3"}
	consumers := []string{"alice", "bob", "carol"}
	for len(ops) < n {
		switch k := r.IntN(100); {
		case k < 55:
			if r.IntN(4) == 0 {
				ms += uint64(r.IntN(3)) + uint64(r.IntN(2))*1000000 + uint64(r.IntN(50)/49)<<(32+r.IntN(20))
				seq = 0
			} else {
				seq++
			}
			id := strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq, 10)
			op := []any{"XADD", "s"}
			switch r.IntN(40) {
			case 0:
				op = append(op, "MAXLEN", "~", strconv.Itoa(r.IntN(300)))
			case 1:
				op = append(op, "MAXLEN", strconv.Itoa(150+r.IntN(300)))
			case 2:
				op = append(op, "MINID", "~", pick())
			case 3:
				op = append(op, "MAXLEN", "~", strconv.Itoa(r.IntN(200)), "LIMIT", strconv.Itoa(r.IntN(250)))
			}
			op = append(op, id)
			fs := fieldSets[r.IntN(len(fieldSets))]
			if r.IntN(5) == 0 {
				fs = []string{"f" + strconv.Itoa(r.IntN(4))}
			}
			for _, f := range fs {
				op = append(op, f, value())
			}
			ids = append(ids, id)
			ops = append(ops, op)
		case k < 65:
			op := []any{"XDEL", "s"}
			for j := r.IntN(4); j >= 0; j-- {
				op = append(op, pick())
			}
			ops = append(ops, op)
		case k < 68:
			switch r.IntN(4) {
			case 0:
				ops = append(ops, []any{"XTRIM", "s", "MAXLEN", "~", strconv.Itoa(r.IntN(400))})
			case 1:
				ops = append(ops, []any{"XTRIM", "s", "MINID", pick()})
			case 2:
				ops = append(ops, []any{"XTRIM", "s", "MINID", "~", pick(), "LIMIT", strconv.Itoa(r.IntN(300))})
			default:
				ops = append(ops, []any{"XTRIM", "s", "MAXLEN", "=", strconv.Itoa(100 + r.IntN(400))})
			}
		case k < 71:
			g := groups[r.IntN(len(groups))]
			switch r.IntN(4) {
			case 0:
				ops = append(ops, []any{"XGROUP", "CREATE", "s", g, pick(), "MKSTREAM"})
			case 1:
				ops = append(ops, []any{"XGROUP", "SETID", "s", g, pick()})
			case 2:
				ops = append(ops, []any{"XGROUP", "DESTROY", "s", g})
			default:
				ops = append(ops, []any{"XGROUP", "DELCONSUMER", "s", g, consumers[r.IntN(len(consumers))]})
			}
		case k < 82:
			op := []any{"XREADGROUP", "GROUP", groups[r.IntN(len(groups))], consumers[r.IntN(len(consumers))], "COUNT", strconv.Itoa(1 + r.IntN(20))}
			if r.IntN(5) == 0 {
				op = append(op, "NOACK")
			}
			id := ">"
			if r.IntN(4) == 0 {
				id = "0"
			}
			ops = append(ops, append(op, "STREAMS", "s", id))
		case k < 86:
			op := []any{"XACK", "s", groups[r.IntN(len(groups))]}
			for j := r.IntN(5); j >= 0; j-- {
				op = append(op, pick())
			}
			ops = append(ops, op)
		case k < 89:
			op := []any{"XCLAIM", "s", groups[r.IntN(len(groups))], consumers[r.IntN(len(consumers))], "0", pick(), pick()}
			switch r.IntN(3) {
			case 0:
				op = append(op, "JUSTID")
			case 1:
				op = append(op, "FORCE", "RETRYCOUNT", strconv.Itoa(r.IntN(5)))
			}
			ops = append(ops, op)
		case k < 91:
			ops = append(ops, []any{"XAUTOCLAIM", "s", groups[r.IntN(len(groups))], consumers[r.IntN(len(consumers))], "0", pick(), "COUNT", strconv.Itoa(1 + r.IntN(10))})
		case k < 92:
			ops = append(ops, []any{"XSETID", "s", strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+uint64(r.IntN(2)), 10)})
		default:
			switch r.IntN(6) {
			case 0:
				ops = append(ops, []any{"XINFO", "STREAM", "s", "FULL", "COUNT", "0"})
			case 1:
				ops = append(ops, []any{"XINFO", "GROUPS", "s"})
			case 2:
				ops = append(ops, []any{"XPENDING", "s", groups[r.IntN(len(groups))]})
			case 3:
				ops = append(ops, []any{"XRANGE", "s", pick(), "+", "COUNT", "20"})
			default:
				ops = append(ops, []any{"XINFO", "STREAM", "s"})
			}
		}
	}
	return append(ops, []any{"XINFO", "STREAM", "s", "FULL", "COUNT", "0"})
}

// TestStreamsAgainstRedis runs seeded random stream commands against
// Shoal and a redis-server 7.0.15 side by side, and compares every reply:
// where entries fall in nodes (radix-tree-keys, radix-tree-nodes, what
// approximate trims remove), under the default node bounds and others set
// with CONFIG SET, read counters, lag and pending entries must all be
// Redis's.
func TestStreamsAgainstRedis(t *testing.T) {
	rc := startRedis(t, 3)
	sc := testutil.Client(t, testutil.Start(t, nil), 3)
	ctx := context.Background()
	// Seeds 4 to 6 place entries in nodes of other bounds (0: none).
	nodes := map[uint64][2]string{4: {"7", "600"}, 5: {"0", "0"}, 6: {"3", "0"}}
	for seed := uint64(1); seed <= 6; seed++ {
		rc.FlushAll(ctx)
		sc.FlushAll(ctx)
		entries, bytes := "100", "4096"
		if n, ok := nodes[seed]; ok {
			entries, bytes = n[0], n[1]
		}
		for _, c := range []*redis.Client{rc, sc} {
			if err := c.ConfigSet(ctx, "stream-node-max-entries", entries).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.ConfigSet(ctx, "stream-node-max-bytes", bytes).Err(); err != nil {
				t.Fatal(err)
			}
		}
		ops := streamOps(seed, 3000)
		for i, op := range ops {
			if i == 0 {
				t.Logf("seed %d: %d commands", seed, len(ops))
			}
			want := maskClock(renderReply(rc.Do(ctx, op...).Result()))
			got := maskClock(renderReply(sc.Do(ctx, op...).Result()))
			if got != want {
				t.Fatalf("seed %d, command %d: %v, %s", seed, i, short(op), diffAt(got, want))
			}
		}
	}
}

func short(op []any) string {
	s := fmt.Sprint(op)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func short1(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}

// diffAt shows got and want from a little before where they first differ.
func diffAt(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(i-200, 0)
	return fmt.Sprintf("at byte %d:\n got  ...%s\n want ...%s", i, short1(got[from:min(len(got), i+300)]), short1(want[from:min(len(want), i+300)]))
}

// TestStreamDumpRestoreWithRedis moves streams both ways between Shoal
// and a redis-server 7.0.15 with DUMP and RESTORE: the stream restored on
// one side must show, in XINFO STREAM FULL (nodes, tombstones' effects,
// groups, pending entries and their times, consumers), exactly what the
// dumped one shows on the other, and both must go on the same way when
// written again.
func TestStreamDumpRestoreWithRedis(t *testing.T) {
	rc := startRedis(t, 2)
	sc := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := context.Background()
	full := []any{"XINFO", "STREAM", "", "FULL", "COUNT", "0"}
	show := func(c *redis.Client, key string) string {
		out := ""
		for _, cmd := range [][]any{full, {"XINFO", "STREAM", ""}, {"XINFO", "GROUPS", ""}} {
			cmd = append([]any(nil), cmd...)
			cmd[2] = key
			out += renderReply(c.Do(ctx, cmd...).Result()) + "\n"
		}
		return out
	}
	for seed := uint64(1); seed <= 6; seed++ {
		rc.FlushAll(ctx)
		sc.FlushAll(ctx)
		for _, op := range streamOps(seed, 1500) {
			rc.Do(ctx, op...)
			sc.Do(ctx, op...)
		}
		fromRedis, err := rc.Dump(ctx, "s").Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.RestoreReplace(ctx, "r", 0, fromRedis).Err(); err != nil {
			t.Fatalf("seed %d: RESTORE on Shoal of Redis's DUMP: %v", seed, err)
		}
		fromShoal, err := sc.Dump(ctx, "s").Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.RestoreReplace(ctx, "r", 0, fromShoal).Err(); err != nil {
			t.Fatalf("seed %d: RESTORE on Redis of Shoal's DUMP: %v", seed, err)
		}
		if got, want := show(sc, "r"), show(rc, "s"); got != want {
			t.Fatalf("seed %d: Redis's stream restored on Shoal, %s", seed, diffAt(got, want))
		}
		if got, want := show(rc, "r"), show(sc, "s"); got != want {
			t.Fatalf("seed %d: Shoal's stream restored on Redis, %s", seed, diffAt(got, want))
		}
		// The restored streams grow, trim and read as the originals do.
		for i, op := range streamOps(seed+100, 300) {
			op = append([]any(nil), op...)
			if op[0] == "XADD" || op[0] == "XSETID" {
				continue // their IDs start over
			}
			for j, a := range op {
				if a == "s" {
					op[j] = "r"
				}
			}
			want := maskClock(renderReply(rc.Do(ctx, op...).Result()))
			got := maskClock(renderReply(sc.Do(ctx, op...).Result()))
			if got != want {
				t.Fatalf("seed %d, command %d on the restored stream: %v, %s", seed, i, short(op), diffAt(got, want))
			}
		}
	}
}
