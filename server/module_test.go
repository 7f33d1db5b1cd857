package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// TestModuleAsRedisWithoutModules sends MODULE's subcommands to Shoal and
// to a redis-server 7.0.15 that loaded no module, under each setting of
// enable-module-command, in RESP2 and RESP3, and compares the replies.
func TestModuleAsRedisWithoutModules(t *testing.T) {
	ctx := testutil.Ctx(t)
	for _, setting := range []string{"no", "yes", "local"} {
		raddr := testutil.StartRedisServer(t, t.TempDir(), "--enable-module-command", setting).Addr()
		cfg := testutil.Config(t)
		if err := config.Lookup("enable-module-command").Set(cfg, []string{setting}); err != nil {
			t.Fatal(err)
		}
		saddr := testutil.Start(t, cfg).Addr()
		for _, proto := range []int{2, 3} {
			var seen [2][]string
			for i, addr := range []string{raddr, saddr} {
				c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DisableIdentity: true})
				defer c.Close()
				for _, cmd := range [][]any{
					{"MODULE", "LIST"}, {"MODULE", "HELP"}, {"MODULE", "LOAD", "/nonexistent/module.so", "arg"},
					{"MODULE", "LOADEX", "/nonexistent/module.so", "CONFIG", "a", "b", "ARGS", "c"},
					{"MODULE", "UNLOAD", "search"}, {"MODULE", "LIST", "x"}, {"MODULE", "UNLOAD"}, {"MODULE", "NOPE"},
				} {
					v, err := c.Do(ctx, cmd...).Result()
					seen[i] = append(seen[i], fmt.Sprintf("%v -> %v %v", cmd, v, err))
				}
			}
			if got, want := strings.Join(seen[1], "\n"), strings.Join(seen[0], "\n"); got != want {
				t.Errorf("enable-module-command %s, RESP%d:\nshoal:\n%s\nredis-server:\n%s", setting, proto, got, want)
			}
		}
	}
}
