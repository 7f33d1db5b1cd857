package commands_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

func doCmd(ctx context.Context, c *redis.Client, args ...any) *redis.Cmd { return c.Do(ctx, args...) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInfo(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "t", "v", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		text, err := c.Info(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		var headers []string
		for _, line := range strings.Split(text, "\r\n") {
			if strings.HasPrefix(line, "# ") {
				headers = append(headers, line[2:])
			}
		}
		want := []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"}
		if !slices.Equal(headers, want) {
			t.Fatalf("default sections = %v, want %v", headers, want)
		}
		if !strings.HasPrefix(text, "# Server\r\nredis_version:") || !strings.HasSuffix(text, "\r\n") || strings.Contains(text, "\r\n\r\n\r\n") {
			t.Fatalf("layout: %q", text)
		}
		if strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") {
			t.Fatalf("a line ends in LF without CR: %q", text)
		}
		if !strings.Contains(text, "\r\n\r\n# Clients\r\n") {
			t.Fatalf("sections are not separated by one blank line: %q", text)
		}

		m, err := c.InfoMap(ctx, "everything").Result()
		if err != nil {
			t.Fatal(err)
		}
		for section, fields := range map[string][]string{
			"Server":       {"redis_version", "redis_mode", "os", "arch_bits", "process_id", "run_id", "tcp_port", "uptime_in_seconds", "uptime_in_days", "hz", "executable", "config_file", "shoal_version"},
			"Clients":      {"connected_clients", "blocked_clients", "maxclients"},
			"Memory":       {"used_memory", "used_memory_human", "used_memory_rss", "maxmemory", "maxmemory_policy", "mem_allocator"},
			"Persistence":  {"loading", "aof_enabled", "rdb_last_save_time", "aof_last_write_status", "rdb_bgsave_in_progress"},
			"Stats":        {"total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec", "expired_keys", "keyspace_hits", "keyspace_misses", "rejected_connections"},
			"Replication":  {"role", "connected_slaves", "master_replid", "master_repl_offset"},
			"CPU":          {"used_cpu_sys", "used_cpu_user"},
			"Commandstats": {"cmdstat_set", "cmdstat_info"},
			"Keyspace":     {"db0"},
		} {
			for _, f := range fields {
				if _, ok := m[section][f]; !ok {
					t.Errorf("INFO everything: section %s lacks %s: %v", section, f, m[section])
				}
			}
		}
		if m["Server"]["redis_mode"] != "standalone" || m["Replication"]["role"] != "master" ||
			m["Persistence"]["loading"] != "0" || m["Persistence"]["aof_enabled"] != "1" ||
			m["Replication"]["master_repl_offset"] != "0" || len(m["Server"]["run_id"]) != 40 {
			t.Fatalf("INFO values: %v", m)
		}
		if got := m["Keyspace"]["db0"]; got != "keys=2,expires=1,avg_ttl=0" {
			t.Fatalf("db0 = %q", got)
		}
		if got := m["Commandstats"]["cmdstat_set"]; !strings.HasPrefix(got, "calls=2,usec=") || !strings.Contains(got, ",rejected_calls=0,failed_calls=0") {
			t.Fatalf("cmdstat_set = %q", got)
		}
		if _, ok := m["Cluster"]["cluster_enabled"]; !ok {
			t.Fatalf("cluster section: %v", m["Cluster"])
		}

		// Named sections, in any case and order, come out in Redis's order.
		text, err = c.Info(ctx, "KEYSPACE", "server").Result()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, "# Server\r\n") || !strings.Contains(text, "\r\n\r\n# Keyspace\r\ndb0:keys=2") || strings.Contains(text, "# Clients") {
			t.Fatalf("INFO keyspace server = %q", text)
		}
		if text, _ := c.Info(ctx, "nosuch").Result(); text != "" {
			t.Fatalf("INFO nosuch = %q, want empty", text)
		}
		all, _ := c.Info(ctx, "all").Result()
		if !strings.Contains(all, "# Commandstats\r\n") {
			t.Fatalf("INFO all lacks commandstats")
		}
		// Failed commands are counted.
		c.Do(ctx, "config", "get")
		m, _ = c.InfoMap(ctx, "commandstats").Result()
		if got := m["Commandstats"]["cmdstat_get"]; got != "" {
			t.Fatalf("cmdstat_get without a GET: %q", got)
		}
	})
}

func TestInfoRESP3IsVerbatim(t *testing.T) {
	s := testutil.Start(t, nil)
	r := testutil.Dial(t, s.Addr())
	r.Send("HELLO 3\r\n")
	if _, err := r.ReadReply(); err != nil {
		t.Fatal(err)
	}
	r.Send("INFO server\r\n")
	reply, err := r.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reply, "=") || !strings.Contains(reply, "\r\ntxt:# Server\r\n") {
		t.Fatalf("RESP3 INFO = %q, want a verbatim txt string", reply)
	}
	r.Send("HELLO 2\r\n")
	r.ReadReply()
	r.Send("INFO server\r\n")
	if reply, _ = r.ReadReply(); !strings.HasPrefix(reply, "$") || strings.Contains(reply, "txt:") {
		t.Fatalf("RESP2 INFO = %q, want a bulk string", reply)
	}
}

func TestConfig(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		got, err := c.ConfigGet(ctx, "max*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if got["maxclients"] != "10000" || got["maxmemory-policy"] != "noeviction" || got["maxmemory"] != "0" {
			t.Fatalf("CONFIG GET max* = %v", got)
		}
		if _, ok := got["hz"]; ok {
			t.Fatalf("CONFIG GET max* returned hz: %v", got)
		}
		// Several patterns, each directive once; what redis-benchmark asks.
		res, err := doCmd(ctx, c, "config", "get", "save", "appendonly", "SAVE").Result()
		if err != nil {
			t.Fatal(err)
		}
		pairs := flatPairs(t, res)
		if _, ok := pairs["save"]; len(pairs) != 2 || pairs["appendonly"] != "yes" || !ok {
			t.Fatalf("CONFIG GET save appendonly = %v", res)
		}
		if got, _ := c.ConfigGet(ctx, "nosuch").Result(); len(got) != 0 {
			t.Fatalf("CONFIG GET nosuch = %v", got)
		}

		if err := c.ConfigSet(ctx, "hz", "20").Err(); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.ConfigGet(ctx, "hz").Result(); got["hz"] != "20" {
			t.Fatalf("hz = %v", got)
		}
		// Several pairs apply all or none.
		wantErr(t, doCmd(ctx, c, "config", "set", "hz", "30", "maxclients", "x").Err(),
			"ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer")
		if got, _ := c.ConfigGet(ctx, "hz").Result(); got["hz"] != "20" {
			t.Fatalf("a failed CONFIG SET changed hz: %v", got)
		}
		if err := doCmd(ctx, c, "config", "set", "hz", "30", "slowlog-max-len", "5").Err(); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.ConfigGet(ctx, "*").Result(); got["hz"] != "30" || got["slowlog-max-len"] != "5" {
			t.Fatalf("after CONFIG SET of two pairs: %v", got)
		}
		if err := c.ConfigSet(ctx, "save", "900 1 300 10").Err(); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.ConfigGet(ctx, "save").Result(); got["save"] != "900 1 300 10" {
			t.Fatalf("save = %v", got)
		}

		for _, tc := range []struct {
			args []any
			err  string
		}{
			{[]any{"config", "set", "nosuch", "1"}, "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
			{[]any{"config", "set", "port", "70000"}, "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"},
			{[]any{"config", "set", "databases", "3"}, "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
			{[]any{"config", "set", "protected-mode", "maybe"}, "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'"},
			{[]any{"config", "set", "maxmemory", "5zz"}, "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
			{[]any{"config", "set", "loglevel", "loud"}, "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning, nothing"},
			{[]any{"config", "set", "hz", "10", "HZ", "11"}, "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"},
			{[]any{"config", "set", "hz"}, "ERR wrong number of arguments for 'config|set' command"},
			{[]any{"config", "set", "hz", "10", "maxclients"}, "ERR syntax error"},
			{[]any{"config", "get"}, "ERR wrong number of arguments for 'config|get' command"},
			{[]any{"config"}, "ERR wrong number of arguments for 'config' command"},
			{[]any{"config", "nosuch"}, "ERR unknown subcommand 'nosuch'. Try CONFIG HELP."},
			{[]any{"config", "rewrite"}, "ERR The server is running without a config file"},
		} {
			wantErr(t, doCmd(ctx, c, tc.args...).Err(), tc.err)
		}
		if got, _ := c.ConfigGet(ctx, "hz").Result(); got["hz"] != "30" {
			t.Fatalf("a refused CONFIG SET changed hz: %v", got)
		}

		help, err := doCmd(ctx, c, "config", "help").StringSlice()
		if err != nil || len(help) < 3 || !strings.HasPrefix(help[0], "CONFIG <subcommand>") || help[len(help)-2] != "HELP" {
			t.Fatalf("CONFIG HELP = %q, %v", help, err)
		}

		// RESETSTAT zeroes INFO's counters.
		c.Set(ctx, "a", "b", 0)
		if err := c.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		m, _ := c.InfoMap(ctx, "stats", "commandstats").Result()
		if m["Stats"]["total_commands_processed"] != "1" || m["Commandstats"]["cmdstat_set"] != "" {
			t.Fatalf("after RESETSTAT: %v", m)
		}
	})
}

// flatPairs reads a CONFIG GET reply, a map in RESP3 and a flat array in
// RESP2.
func flatPairs(t *testing.T, res any) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch v := res.(type) {
	case map[any]any:
		for k, val := range v {
			out[k.(string)] = val.(string)
		}
	case []any:
		for i := 0; i+1 < len(v); i += 2 {
			out[v[i].(string)] = v[i+1].(string)
		}
	default:
		t.Fatalf("unexpected reply %T %v", res, res)
	}
	return out
}

func TestCommand(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		infos, err := c.Command(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		get := infos["get"]
		if get == nil || get.Arity != 2 || get.FirstKeyPos != 1 || get.LastKeyPos != 1 || get.StepCount != 1 || !get.ReadOnly ||
			!slices.Contains(get.ACLFlags, "@read") || !slices.Contains(get.Flags, "fast") {
			t.Fatalf("COMMAND get = %+v", get)
		}
		if set := infos["set"]; set == nil || set.Arity != -3 || set.ReadOnly || !slices.Contains(set.Flags, "write") {
			t.Fatalf("COMMAND set = %+v", set)
		}
		if cl := infos["client"]; cl == nil || cl.Arity != -2 {
			t.Fatalf("COMMAND client = %+v", cl)
		}
		n, err := c.Do(ctx, "command", "count").Int64()
		if err != nil || int(n) != len(infos) {
			t.Fatalf("COMMAND COUNT = %d, %v; COMMAND lists %d", n, err, len(infos))
		}

		// COMMAND INFO: one entry per name, nil for unknown ones.
		res, err := doCmd(ctx, c, "command", "info", "get", "nosuch", "CLIENT|LIST").Slice()
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 || res[1] != nil {
			t.Fatalf("COMMAND INFO get nosuch client|list = %v", res)
		}
		if e := res[2].([]any); e[0] != "client|list" || e[1] != int64(-2) {
			t.Fatalf("COMMAND INFO client|list = %v", e)
		}
		// Containers list their subcommands in the tenth element.
		res, _ = doCmd(ctx, c, "command", "info", "config").Slice()
		cfg := res[0].([]any)
		if len(cfg) != 10 {
			t.Fatalf("COMMAND INFO config has %d elements", len(cfg))
		}
		var subs []string
		for _, s := range cfg[9].([]any) {
			subs = append(subs, s.([]any)[0].(string))
		}
		if !slices.Contains(subs, "config|get") || !slices.Contains(subs, "config|help") {
			t.Fatalf("config subcommands = %v", subs)
		}

		// COMMAND DOCS.
		docs, err := doCmd(ctx, c, "command", "docs", "get", "nosuch", "config").Result()
		if err != nil {
			t.Fatal(err)
		}
		dm := anyMap(t, docs)
		if len(dm) != 2 {
			t.Fatalf("COMMAND DOCS get nosuch config = %v", dm)
		}
		gd := anyMap(t, dm["get"])
		if gd["summary"] != "Get the value of a key" || gd["since"] != "1.0.0" || gd["group"] != "string" || gd["complexity"] != "O(1)" {
			t.Fatalf("COMMAND DOCS get = %v", gd)
		}
		cd := anyMap(t, anyMap(t, dm["config"])["subcommands"])
		if sd := anyMap(t, cd["config|set"]); sd["group"] != "server" || sd["summary"] == "" {
			t.Fatalf("COMMAND DOCS config|set = %v", sd)
		}
		if all, _ := doCmd(ctx, c, "command", "docs").Result(); len(anyMap(t, all)) != len(infos) {
			t.Fatalf("COMMAND DOCS without names documents %d commands, want %d", len(anyMap(t, all)), len(infos))
		}

		// COMMAND LIST.
		names, err := c.CommandList(ctx, nil).Result()
		if err != nil || !slices.Contains(names, "get") || !slices.Contains(names, "client|list") {
			t.Fatalf("COMMAND LIST = %v, %v", names, err)
		}
		names, _ = c.CommandList(ctx, &redis.FilterBy{Pattern: "CONFIG*"}).Result()
		slices.Sort(names)
		if !slices.Equal(names, []string{"config", "config|get", "config|help", "config|resetstat", "config|rewrite", "config|set"}) {
			t.Fatalf("COMMAND LIST FILTERBY PATTERN config* = %v", names)
		}
		names, _ = c.CommandList(ctx, &redis.FilterBy{ACLCat: "string"}).Result()
		if !slices.Contains(names, "get") || slices.Contains(names, "info") {
			t.Fatalf("COMMAND LIST FILTERBY ACLCAT string = %v", names)
		}
		if names, _ := c.CommandList(ctx, &redis.FilterBy{Module: "x"}).Result(); len(names) != 0 {
			t.Fatalf("FILTERBY MODULE = %v", names)
		}
		wantErr(t, doCmd(ctx, c, "command", "list", "filterby", "nosuch", "x").Err(), "ERR syntax error")
		wantErr(t, doCmd(ctx, c, "command", "list", "foo").Err(), "ERR syntax error")

		// COMMAND GETKEYS and GETKEYSANDFLAGS.
		keys, err := c.CommandGetKeys(ctx, "set", "a", "b").Result()
		if err != nil || !slices.Equal(keys, []string{"a"}) {
			t.Fatalf("GETKEYS set a b = %v, %v", keys, err)
		}
		kf, err := c.CommandGetKeysAndFlags(ctx, "get", "k").Result()
		if err != nil || len(kf) != 1 || kf[0].Key != "k" || !slices.Contains(kf[0].Flags, "RO") {
			t.Fatalf("GETKEYSANDFLAGS get k = %v, %v", kf, err)
		}
		wantErr(t, doCmd(ctx, c, "command", "getkeys", "nosuch", "a").Err(), "ERR Invalid command specified")
		wantErr(t, doCmd(ctx, c, "command", "getkeys", "get", "a", "b").Err(), "ERR Invalid number of arguments specified for command")
		wantErr(t, doCmd(ctx, c, "command", "getkeys", "ping", "x").Err(), "ERR The command has no key arguments")
		wantErr(t, doCmd(ctx, c, "command", "getkeys", "client", "list").Err(), "ERR The command has no key arguments")
		wantErr(t, doCmd(ctx, c, "command", "getkeys", "get").Err(), "ERR wrong number of arguments for 'command|getkeys' command")
		wantErr(t, doCmd(ctx, c, "command", "nosuch").Err(), "ERR unknown subcommand 'nosuch'. Try COMMAND HELP.")
		wantErr(t, doCmd(ctx, c, "command", "count", "x").Err(), "ERR wrong number of arguments for 'command|count' command")
		help, err := doCmd(ctx, c, "command", "help").StringSlice()
		if err != nil || !strings.HasPrefix(help[0], "COMMAND <subcommand>") {
			t.Fatalf("COMMAND HELP = %q, %v", help, err)
		}
	})
}

// anyMap reads a map reply in either protocol.
func anyMap(t *testing.T, v any) map[string]any {
	t.Helper()
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, val := range m {
			out[k.(string)] = val
		}
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[m[i].(string)] = m[i+1]
		}
	default:
		t.Fatalf("not a map: %T %v", v, v)
	}
	return out
}

func TestPersistenceCommands(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		tm, err := c.Time(ctx).Result()
		if err != nil || time.Since(tm).Abs() > time.Minute {
			t.Fatalf("TIME = %v, %v", tm, err)
		}
		before, err := c.LastSave(ctx).Result()
		if err != nil || before <= 0 {
			t.Fatalf("LASTSAVE = %d, %v", before, err)
		}
		c.Set(ctx, "k", "v", 0)
		if v, err := c.Save(ctx).Result(); err != nil || v != "OK" {
			t.Fatalf("SAVE = %q, %v", v, err)
		}
		if after, _ := c.LastSave(ctx).Result(); after < before {
			t.Fatalf("LASTSAVE went back from %d to %d", before, after)
		}
		if v, err := c.BgSave(ctx).Result(); err != nil || v != "Background saving started" {
			t.Fatalf("BGSAVE = %q, %v", v, err)
		}
		idle := func() bool {
			m, _ := c.InfoMap(ctx, "persistence").Result()
			return m["Persistence"]["rdb_bgsave_in_progress"] == "0"
		}
		eventually(t, "BGSAVE to finish", idle)
		if v, err := c.BgRewriteAOF(ctx).Result(); err != nil || v != "Background append only file rewriting started" {
			t.Fatalf("BGREWRITEAOF = %q, %v", v, err)
		}
		eventually(t, "BGREWRITEAOF to finish", idle)
		m, _ := c.InfoMap(ctx, "persistence").Result()
		if p := m["Persistence"]; p["rdb_last_bgsave_status"] != "ok" || p["rdb_saves"] != "2" || p["aof_rewrites"] != "1" {
			t.Fatalf("persistence after saves: %v", m["Persistence"])
		}
		wantErr(t, doCmd(ctx, c, "bgsave", "foo").Err(), "ERR syntax error")
		wantErr(t, doCmd(ctx, c, "save", "x").Err(), "ERR wrong number of arguments for 'save' command")
		if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Fatalf("GET after saves = %q, %v", v, err)
		}
	})
}

func TestSlowlog(t *testing.T) {
	for _, proto := range []int{2, 3} {
		cfg := testutil.Config(t)
		cfg.SlowlogSlowerThan = 0
		s := testutil.Start(t, cfg)
		c := testutil.Client(t, s, proto)
		ctx := testutil.Ctx(t)
		if err := c.Do(ctx, "slowlog", "reset").Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		logs, err := c.SlowLogGet(ctx, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) < 2 || !slices.Equal(logs[0].Args, []string{"set", "k", "v"}) || logs[0].ClientAddr == "" {
			t.Fatalf("SLOWLOG GET = %+v", logs)
		}
		if logs[0].ID <= logs[1].ID {
			t.Fatalf("SLOWLOG GET is not newest first: %+v", logs)
		}
		if one, _ := c.SlowLogGet(ctx, 1).Result(); len(one) != 1 {
			t.Fatalf("SLOWLOG GET 1 = %+v", one)
		}
		if n, err := c.Do(ctx, "slowlog", "len").Int(); err != nil || n < 3 {
			t.Fatalf("SLOWLOG LEN = %d, %v", n, err)
		}
		c.Do(ctx, "slowlog", "reset")
		// As in Redis, RESET itself is then logged.
		if n, _ := c.Do(ctx, "slowlog", "len").Int(); n != 1 {
			t.Fatalf("SLOWLOG LEN after RESET = %d, want 1", n)
		}
		wantErr(t, c.Do(ctx, "slowlog", "get", "x").Err(), "ERR count should be greater than or equal to -1")
		wantErr(t, c.Do(ctx, "slowlog", "get", "-2").Err(), "ERR count should be greater than or equal to -1")
		wantErr(t, c.Do(ctx, "slowlog", "get", "1", "2").Err(), "ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")
		wantErr(t, c.Do(ctx, "slowlog", "nosuch").Err(), "ERR unknown subcommand 'nosuch'. Try SLOWLOG HELP.")
		wantErr(t, c.Do(ctx, "slowlog").Err(), "ERR wrong number of arguments for 'slowlog' command")
		help, err := c.Do(ctx, "slowlog", "help").StringSlice()
		if err != nil || !strings.HasPrefix(help[0], "SLOWLOG <subcommand>") || !slices.Contains(help, "LEN") {
			t.Fatalf("SLOWLOG HELP = %q, %v", help, err)
		}
	}
}

func TestShutdown(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	wantErr(t, c.Do(ctx, "shutdown", "abort").Err(), "ERR No shutdown in progress.")
	wantErr(t, c.Do(ctx, "shutdown", "foo").Err(), "ERR syntax error")
	wantErr(t, c.Do(ctx, "shutdown", "save", "nosave").Err(), "ERR syntax error")
	wantErr(t, c.Do(ctx, "shutdown", "now", "abort").Err(), "ERR syntax error")
	select {
	case <-s.Done():
		t.Fatal("a refused SHUTDOWN stopped the server")
	default:
	}
	// Like Redis, a successful SHUTDOWN answers by closing the connection.
	if err := c.Do(ctx, "shutdown", "nosave", "now").Err(); err == nil {
		t.Fatal("SHUTDOWN replied")
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("SHUTDOWN did not stop the server")
	}
}

func TestFunctionMemoryLatencyDebug(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if v, err := c.FunctionFlush(ctx).Result(); err != nil || v != "OK" {
			t.Fatalf("FUNCTION FLUSH = %q, %v", v, err)
		}
		if v, err := c.FunctionFlushAsync(ctx).Result(); err != nil || v != "OK" {
			t.Fatalf("FUNCTION FLUSH ASYNC = %q, %v", v, err)
		}
		wantErr(t, doCmd(ctx, c, "function", "flush", "foo").Err(), "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		wantErr(t, doCmd(ctx, c, "function", "flush", "sync", "x").Err(), "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.")
		wantErr(t, doCmd(ctx, c, "function", "nosuch").Err(), "ERR unknown subcommand 'nosuch'. Try FUNCTION HELP.")
		if help, err := doCmd(ctx, c, "function", "help").StringSlice(); err != nil || !strings.HasPrefix(help[0], "FUNCTION <subcommand>") {
			t.Fatalf("FUNCTION HELP = %q, %v", help, err)
		}

		if err := c.MemoryUsage(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("MEMORY USAGE missing = %v", err)
		}
		c.Set(ctx, "k", strings.Repeat("x", 100), 0)
		if n, err := c.MemoryUsage(ctx, "k").Result(); err != nil || n < 100 {
			t.Fatalf("MEMORY USAGE k = %d, %v", n, err)
		}
		if n, err := c.MemoryUsage(ctx, "k", 0).Result(); err != nil || n < 100 {
			t.Fatalf("MEMORY USAGE k SAMPLES 0 = %d, %v", n, err)
		}
		wantErr(t, doCmd(ctx, c, "memory", "usage", "k", "foo").Err(), "ERR syntax error")
		wantErr(t, doCmd(ctx, c, "memory", "usage").Err(), "ERR wrong number of arguments for 'memory|usage' command")

		if v, err := doCmd(ctx, c, "latency", "latest").Slice(); err != nil || len(v) != 0 {
			t.Fatalf("LATENCY LATEST = %v, %v", v, err)
		}
		if n, err := doCmd(ctx, c, "latency", "reset").Int(); err != nil || n != 0 {
			t.Fatalf("LATENCY RESET = %d, %v", n, err)
		}
		if v, err := doCmd(ctx, c, "debug", "sleep", "0").Text(); err != nil || v != "OK" {
			t.Fatalf("DEBUG SLEEP 0 = %q, %v", v, err)
		}
		wantErr(t, doCmd(ctx, c, "debug", "nosuch").Err(), "ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.")
	})
}
