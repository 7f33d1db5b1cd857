package commands_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/shoaldb/shoal/internal/testutil"
)

// listOps makes a random but seeded sequence of list commands over three
// keys: pushes of several elements (integers of every listpack width,
// short and long strings), pops with counts, reads, writes and moves at
// random positions, trims and removals, so that lists grow and shrink
// across many nodes; every few commands one that reads a whole list.
func listOps(seed uint64, n int) [][]any {
	r := rand.New(rand.NewPCG(seed, 2))
	keys := []string{"a", "b", "c"}
	key := func() string { return keys[r.IntN(len(keys))] }
	value := func() string {
		switch r.IntN(8) {
		case 0:
			return strconv.Itoa(r.IntN(128))
		case 1:
			return strconv.Itoa(r.IntN(1<<20) - 1<<19)
		case 2:
			return strconv.FormatInt(r.Int64()-1<<62, 10)
		case 3:
			return strings.Repeat("x", 60+r.IntN(200))
		case 4:
			if r.IntN(8) == 0 {
				return strings.Repeat("long", 1000+r.IntN(200))
			}
			return "v" + strconv.Itoa(r.IntN(20))
		}
		return "v" + strconv.Itoa(r.IntN(20))
	}
	idx := func() string { return strconv.Itoa(r.IntN(80) - 40) }
	var ops [][]any
	for len(ops) < n {
		k := key()
		switch c := r.IntN(100); {
		case c < 30:
			op := []any{[]string{"LPUSH", "RPUSH", "LPUSHX", "RPUSHX"}[r.IntN(4)], k}
			for j := 1 + r.IntN(12); j > 0; j-- {
				op = append(op, value())
			}
			ops = append(ops, op)
		case c < 40:
			op := []any{[]string{"LPOP", "RPOP"}[r.IntN(2)], k}
			if r.IntN(2) == 0 {
				op = append(op, strconv.Itoa(r.IntN(15)))
			}
			ops = append(ops, op)
		case c < 48:
			ops = append(ops, []any{"LRANGE", k, idx(), idx()})
		case c < 53:
			ops = append(ops, []any{"LINDEX", k, idx()})
		case c < 58:
			ops = append(ops, []any{"LSET", k, idx(), value()})
		case c < 63:
			ops = append(ops, []any{"LINSERT", k, []string{"BEFORE", "AFTER"}[r.IntN(2)], value(), value()})
		case c < 67:
			ops = append(ops, []any{"LREM", k, strconv.Itoa(r.IntN(7) - 3), value()})
		case c < 70:
			ops = append(ops, []any{"LTRIM", k, idx(), idx()})
		case c < 74:
			op := []any{"LPOS", k, value()}
			if r.IntN(2) == 0 {
				op = append(op, "RANK", strconv.Itoa([]int{1, 2, -1, -2}[r.IntN(4)]))
			}
			if r.IntN(2) == 0 {
				op = append(op, "COUNT", strconv.Itoa(r.IntN(4)))
			}
			if r.IntN(3) == 0 {
				op = append(op, "MAXLEN", strconv.Itoa(r.IntN(30)))
			}
			ops = append(ops, op)
		case c < 79:
			ops = append(ops, []any{"LMOVE", k, key(), []string{"LEFT", "RIGHT"}[r.IntN(2)], []string{"LEFT", "RIGHT"}[r.IntN(2)]})
		case c < 81:
			ops = append(ops, []any{"RPOPLPUSH", k, key()})
		case c < 84:
			ops = append(ops, []any{"LMPOP", "2", k, key(), []string{"LEFT", "RIGHT"}[r.IntN(2)], "COUNT", strconv.Itoa(1 + r.IntN(20))})
		case c < 86:
			ops = append(ops, []any{"SORT", k, "ALPHA", "LIMIT", strconv.Itoa(r.IntN(10)), strconv.Itoa(r.IntN(20))})
		case c < 87:
			ops = append(ops, []any{"COPY", k, key(), "REPLACE"})
		case c < 88:
			ops = append(ops, []any{"RENAME", k, key()})
		case c < 89:
			ops = append(ops, []any{"OBJECT", "ENCODING", k})
		default:
			ops = append(ops, []any{"LLEN", k}, []any{"LRANGE", k, "0", "-1"})
		}
	}
	for _, k := range keys {
		ops = append(ops, []any{"LRANGE", k, "0", "-1"})
	}
	return ops
}

// TestListsAgainstRedis runs the same list commands on redis-server and
// Shoal with small nodes, so lists span many nodes, and compares every
// reply.
func TestListsAgainstRedis(t *testing.T) {
	rc := startRedis(t, 3)
	sc := testutil.Client(t, testutil.Start(t, nil), 3)
	ctx := context.Background()
	fills := []string{"1", "2", "3", "5", "-1", "0", "16", "-2"}
	for seed := uint64(1); seed <= uint64(len(fills)); seed++ {
		fill := fills[seed-1]
		for _, c := range []*redis.Client{rc, sc} {
			c.FlushAll(ctx)
			if err := c.ConfigSet(ctx, "list-max-listpack-size", fill).Err(); err != nil {
				t.Fatal(err)
			}
		}
		ops := listOps(seed, 2500)
		for i, op := range ops {
			want := renderReply(rc.Do(ctx, op...).Result())
			got := renderReply(sc.Do(ctx, op...).Result())
			if got != want {
				t.Fatalf("list-max-listpack-size %s, seed %d, command %d: %v, %s", fill, seed, i, short(op), diffAt(got, want))
			}
		}
	}
}

// TestListDumpRestoreWithRedis moves lists of many nodes both ways with
// DUMP and RESTORE and checks that each server reads what the other wrote.
func TestListDumpRestoreWithRedis(t *testing.T) {
	rc := startRedis(t, 2)
	sc := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	for _, fill := range []string{"-2", "3", "-1"} {
		for _, c := range []*redis.Client{rc, sc} {
			c.FlushAll(ctx)
			if err := c.ConfigSet(ctx, "list-max-listpack-size", fill).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var vals []any
		for i := 0; i < 3000; i++ {
			switch r.IntN(3) {
			case 0:
				vals = append(vals, strconv.Itoa(r.IntN(1<<30)-1<<29))
			case 1:
				vals = append(vals, strings.Repeat("e", r.IntN(100)))
			default:
				vals = append(vals, "item"+strconv.Itoa(i))
			}
		}
		for _, c := range []*redis.Client{rc, sc} {
			if err := c.RPush(ctx, "l", vals...).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.LPush(ctx, "l", "head1", "head2").Err(); err != nil {
				t.Fatal(err)
			}
		}
		want := rc.LRange(ctx, "l", 0, -1).Val()
		for _, dir := range []struct {
			name     string
			from, to *redis.Client
		}{{"redis to shoal", rc, sc}, {"shoal to redis", sc, rc}} {
			payload, err := dir.from.Dump(ctx, "l").Result()
			if err != nil {
				t.Fatal(err)
			}
			if err := dir.to.RestoreReplace(ctx, "copy", 0, payload).Err(); err != nil {
				t.Fatalf("fill %s, %s: %v", fill, dir.name, err)
			}
			got := dir.to.LRange(ctx, "copy", 0, -1).Val()
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("fill %s, %s: the restored list differs (%d elements, want %d)", fill, dir.name, len(got), len(want))
			}
		}
	}
}
