package commands_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestHLLDebugAsRedis sends PFDEBUG's subcommands over sparse and dense
// HyperLogLogs, the errors' cases and PFSELFTEST to Shoal and to
// redis-server 7.0.15, in RESP2 and RESP3, and compares every reply:
// both hash elements alike, so the registers are the same.
func TestHLLDebugAsRedis(t *testing.T) {
	ctx := context.Background()
	var many []any
	for i := range 2000 {
		many = append(many, "e"+strconv.Itoa(i))
	}
	calls := [][]any{
		{"PFADD", "small", "a", "b", "c", "hello", "world"},
		{"PFADD", "big", many},
		{"SET", "str", "not an hll"}, {"RPUSH", "list", "x"},
		{"PFDEBUG", "ENCODING", "small"}, {"PFDEBUG", "ENCODING", "big"},
		{"PFDEBUG", "DECODE", "small"}, {"PFDEBUG", "DECODE", "big"},
		{"PFDEBUG", "GETREG", "big"},
		{"PFDEBUG", "TODENSE", "big"},
		{"PFADD", "small2", "x", "y"}, {"PFDEBUG", "TODENSE", "small2"}, {"PFDEBUG", "TODENSE", "small2"},
		{"PFDEBUG", "ENCODING", "small2"}, {"PFCOUNT", "small2"},
		{"PFDEBUG", "GETREG", "small"}, {"PFDEBUG", "ENCODING", "small"}, {"PFCOUNT", "small", "big"},
		{"PFDEBUG", "ENCODING", "missing"}, {"PFDEBUG", "NOPE", "missing"}, {"PFDEBUG", "NOPE", "small"},
		{"PFDEBUG", "ENCODING", "str"}, {"PFDEBUG", "ENCODING", "list"},
		{"PFDEBUG", "ENCODING"}, {"PFDEBUG", "ENCODING", "small", "x"},
		{"PFSELFTEST"}, {"PFSELFTEST", "x"},
	}
	for _, proto := range []int{2, 3} {
		rc := startRedis(t, proto)
		sc := testutil.Client(t, testutil.Start(t, nil), proto)
		for _, call := range calls {
			want, got := fmt.Sprint(rc.Do(ctx, call...).Result()), fmt.Sprint(sc.Do(ctx, call...).Result())
			if got != want {
				t.Errorf("RESP%d %.60v:\nshoal: %.300s\nredis: %.300s", proto, call, got, want)
			}
		}
	}
}
