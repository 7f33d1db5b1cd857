package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestMemorySubcommandsAsRedis sends MEMORY STATS, DOCTOR, MALLOC-STATS,
// PURGE and HELP to Shoal and to a redis-server 7.0.15 holding keys in
// databases 0 and 3, in RESP2 and RESP3, and compares what a client can
// rely on: STATS' fields, their order and kinds; HELP whole; DOCTOR one
// of Redis's reports; PURGE's OK; the errors of a wrong call.
func TestMemorySubcommandsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	raddr := testutil.StartRedisServer(t, t.TempDir()).Addr()
	saddr := testutil.Start(t, nil).Addr()
	for _, proto := range []int{2, 3} {
		var seen [2][]string
		for i, addr := range []string{raddr, saddr} {
			c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DisableIdentity: true})
			defer c.Close()
			c.Set(ctx, "a", "1", 0)
			c3 := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DB: 3, DisableIdentity: true})
			defer c3.Close()
			c3.Set(ctx, "b", "2", 0)
			stats, err := c.Do(ctx, "MEMORY", "STATS").Result()
			if err != nil {
				t.Fatal(err)
			}
			seen[i] = append(seen[i], "stats: "+shapeOf(stats))
			help, err := c.Do(ctx, "MEMORY", "HELP").Result()
			seen[i] = append(seen[i], fmt.Sprintf("help: %v %v", help, err))
			purge, err := c.Do(ctx, "MEMORY", "PURGE").Result()
			seen[i] = append(seen[i], fmt.Sprintf("purge: %v %v", purge, err))
			for _, bad := range [][]any{{"MEMORY", "STATS", "x"}, {"MEMORY", "DOCTOR", "x"}, {"MEMORY", "PURGE", "x"}} {
				_, err := c.Do(ctx, bad...).Result()
				seen[i] = append(seen[i], fmt.Sprintf("%v: %v", bad, err))
			}
			doctor, err := c.Do(ctx, "MEMORY", "DOCTOR").Text()
			if err != nil || !(strings.HasPrefix(doctor, "Hi Sam, ") || strings.HasPrefix(doctor, "Sam, I detected a few issues")) {
				t.Errorf("MEMORY DOCTOR of %s: %q %v", addr, doctor, err)
			}
			if s, err := c.Do(ctx, "MEMORY", "MALLOC-STATS").Text(); err != nil || s == "" {
				t.Errorf("MEMORY MALLOC-STATS of %s: %q %v", addr, s, err)
			}
		}
		if got, want := strings.Join(seen[1], "\n"), strings.Join(seen[0], "\n"); got != want {
			t.Errorf("RESP%d:\nshoal:\n%s\nredis-server:\n%s", proto, got, want)
		}
	}
}

// shapeOf renders a reply's structure: a map's or a flat array's keys in
// order with the kinds of their values.
func shapeOf(v any) string {
	switch x := v.(type) {
	case map[any]any:
		// NB: go-redis reads a RESP3 map into a Go map: its order is
		// lost, so the keys are listed sorted.
		var parts []string
		for k, e := range x {
			parts = append(parts, fmt.Sprintf("%v=%s", k, shapeOf(e)))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, " ") + "}"
	case []any:
		var parts []string
		for i := 0; i+1 < len(x); i += 2 {
			parts = append(parts, fmt.Sprintf("%v=%s", x[i], shapeOf(x[i+1])))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case int64:
		return "int"
	case float64:
		return "double"
	case string:
		return "string"
	}
	return fmt.Sprintf("%T", v)
}
