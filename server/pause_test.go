package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestPausedClientsCountAsBlockedAsRedis: a command held by CLIENT PAUSE
// counts in INFO's blocked_clients and shows flag b in CLIENT LIST, and
// a read-only script may not PUBLISH, with the same replies from Shoal
// and redis-server 7.0.15.
func TestPausedClientsCountAsBlockedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got [][]string
	for _, p := range bothPeers(t) {
		var seen []string
		do := func(args ...any) string {
			v, err := p.c.Do(ctx, args...).Result()
			if err != nil {
				return "error: " + err.Error()
			}
			return fmt.Sprint(v)
		}
		seen = append(seen, do("EVAL_RO", "return redis.call('publish','ch','msg')", "0"))
		for _, block := range [][]any{{"SET", "k", "v"}, {"PFCOUNT", "h"}, {"PUBLISH", "ch", "m"}} {
			do("CLIENT", "PAUSE", "100000", "WRITE")
			reply := whileBlocked(t, p, block, func() {
				for _, line := range strings.Split(p.c.ClientList(ctx).Val(), "\n") {
					if strings.Contains(line, "cmd="+strings.ToLower(block[0].(string))) {
						seen = append(seen, fmt.Sprint(block[0], " ", strings.Fields(line)[7]))
					}
				}
				do("CLIENT", "UNPAUSE")
			})
			seen = append(seen, reply)
		}
		seen = append(seen, infoText(t, p.c, "blocked_clients"))
		got = append(got, seen)
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Fatalf("Shoal:\n%s\nredis-server:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
}
