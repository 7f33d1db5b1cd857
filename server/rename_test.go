package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// TestRenameCommandAsRedis starts Shoal and redis-server 7.0.15 with the
// same rename-command lines (one command renamed, one removed) and
// compares what clients see: the old names unknown, the new one working,
// COMMAND's view of both, scripts. A line naming no command stops the
// start, as it stops redis-server's.
func TestRenameCommandAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	renames := [][2]string{{"flushall", ""}, {"config", "myconfig"}}
	var args []string
	for _, r := range renames {
		args = append(args, "--rename-command", r[0], r[1])
	}
	raddr := testutil.StartRedisServer(t, t.TempDir(), args...).Addr()
	cfg := testutil.Config(t)
	cfg.RenameCommands = renames
	saddr := testutil.Start(t, cfg).Addr()
	var seen [2][]string
	for i, addr := range []string{raddr, saddr} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
		defer c.Close()
		for _, cmd := range [][]any{
			{"FLUSHALL"}, {"flushall", "ASYNC"}, {"CONFIG", "GET", "maxmemory-policy"},
			{"MYCONFIG", "GET", "maxmemory-policy"}, {"myconfig", "SET", "maxmemory-policy", "allkeys-lru"},
			{"MyConfig", "GET", "maxmemory-policy"},
			{"EVAL", "return redis.pcall('flushall')", 0}, {"EVAL", "return redis.pcall('myconfig', 'get', 'hz')", 0},
		} {
			v, err := c.Do(ctx, cmd...).Result()
			seen[i] = append(seen[i], fmt.Sprintf("%v: %v %v", cmd, v, err))
		}
		info, _ := c.Do(ctx, "COMMAND", "INFO", "myconfig", "flushall", "config").Slice()
		var names []string
		for _, e := range info {
			if e, ok := e.([]any); ok {
				names = append(names, fmt.Sprint(e[0]))
			} else {
				names = append(names, fmt.Sprint(e))
			}
		}
		seen[i] = append(seen[i], "COMMAND INFO myconfig flushall config: "+strings.Join(names, " "))
		list, _ := c.Do(ctx, "COMMAND", "LIST").StringSlice()
		seen[i] = append(seen[i], fmt.Sprintf("COMMAND LIST has flushall %v, config %v, myconfig %v",
			slices.Contains(list, "flushall"), slices.Contains(list, "config"), slices.Contains(list, "myconfig")))
	}
	if got, want := strings.Join(seen[1], "\n"), strings.Join(seen[0], "\n"); got != want {
		t.Errorf("shoal:\n%s\nredis-server:\n%s", got, want)
	}
	for _, bad := range [][2]string{{"nosuchcommand", "x"}, {"get", "set"}} {
		cfg := testutil.Config(t)
		cfg.RenameCommands = [][2]string{bad}
		if _, err := server.New(cfg, server.Options{}); err == nil {
			t.Errorf("rename-command %s %s: the server started", bad[0], bad[1])
		}
	}
	if c, err := config.Load([]string{"--rename-command", "get", "fetch"}); err != nil || len(c.RenameCommands) != 1 {
		t.Errorf("--rename-command: %v %v", c, err)
	}
}
