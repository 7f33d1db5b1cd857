package commands_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/failpoint"
	"github.com/shoaldb/shoal/internal/testutil"
)

// COMPONENT on a plain node: its one-voter catalog holds the records, the
// node is the only member that applies them.

// replyMap turns a map reply (RESP3) or a flat array (RESP2) into a map.
func replyMap(t *testing.T, v any) map[string]any {
	t.Helper()
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
	case []any:
		if len(m)%2 != 0 {
			t.Fatalf("odd flat map %v", m)
		}
		for i := 0; i < len(m); i += 2 {
			out[fmt.Sprint(m[i])] = m[i+1]
		}
	default:
		t.Fatalf("not a map: %T %v", v, v)
	}
	return out
}

func componentStatus(t *testing.T, ctx context.Context, c *redis.Client, name string) map[string]any {
	t.Helper()
	v, err := c.Do(ctx, "COMPONENT", "STATUS", name).Result()
	if err != nil {
		t.Fatalf("COMPONENT STATUS %s: %v", name, err)
	}
	return replyMap(t, v)
}

func componentHistory(t *testing.T, ctx context.Context, c *redis.Client, name string) []map[string]any {
	t.Helper()
	v, err := c.Do(ctx, "COMPONENT", "HISTORY", name).Slice()
	if err != nil {
		t.Fatalf("COMPONENT HISTORY %s: %v", name, err)
	}
	var out []map[string]any
	for _, e := range v {
		out = append(out, replyMap(t, e))
	}
	return out
}

func TestComponentDeployPlainNode(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
		if err == nil {
			t.Fatalf("CLUSTER MYID on a plain node: %q", id)
		}
		if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1", "PAYLOAD", "hello").Err(); err != nil {
			t.Fatalf("DEPLOY c1 v1: %v", err)
		}
		st := componentStatus(t, ctx, c, "c1")
		if st["name"] != "c1" || st["active_version"] != "v1" || st["state"] != "active" || st["kind"] != "blob" ||
			st["lock_owner"] != "" || st["lock_expires_ms"] != int64(0) || fmt.Sprint(st["versions"]) != "[v1]" {
			t.Fatalf("STATUS c1: %v", st)
		}
		nodes := replyMap(t, st["nodes"])
		if len(nodes) != 1 {
			t.Fatalf("nodes %v, want this node alone", nodes)
		}
		var self string
		for id, v := range nodes {
			self = id
			if v != "v1" || len(id) != 40 {
				t.Fatalf("nodes %v", nodes)
			}
		}
		updated := st["updated_at"]
		events := len(componentHistory(t, ctx, c, "c1"))

		// The active version again: +OK, nothing changes.
		if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1").Err(); err != nil {
			t.Fatalf("redeploy: %v", err)
		}
		if st := componentStatus(t, ctx, c, "c1"); st["updated_at"] != updated || len(componentHistory(t, ctx, c, "c1")) != events {
			t.Fatalf("a redeploy changed the record: %v", st)
		}

		// Another version without REPLACE.
		err = c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v2", "PAYLOAD", "world").Err()
		wantErr(t, err, "VERSIONCONFLICT component=c1 active=v1 requested=v2 hint=add REPLACE to replace v1, or COMPONENT UNDEPLOY c1 first")

		// REPLACE.
		if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v2", "PAYLOAD", "world", "KIND", "blob", "REPLACE", "LOCKTIMEOUT", "1000").Err(); err != nil {
			t.Fatalf("DEPLOY REPLACE: %v", err)
		}
		st = componentStatus(t, ctx, c, "c1")
		if st["active_version"] != "v2" || fmt.Sprint(st["versions"]) != "[v1 v2]" || replyMap(t, st["nodes"])[self] != "v2" {
			t.Fatalf("after REPLACE: %v", st)
		}
		h := componentHistory(t, ctx, c, "c1")
		if last := h[len(h)-1]; last["event"] != "active" || last["version"] != "v2" || last["reason"] != "replaced v1" || last["node"] != self {
			t.Fatalf("history %v", h)
		}

		// LIST: the built-in first, then c1.
		l, err := c.Do(ctx, "COMPONENT", "LIST").Slice()
		if err != nil || len(l) != 2 {
			t.Fatalf("LIST: %v %v", l, err)
		}
		if replyMap(t, l[0])["name"] != "shoal" || replyMap(t, l[1])["name"] != "c1" {
			t.Fatalf("LIST: %v", l)
		}

		// The built-in shows this node's build and the storage format.
		sh := componentStatus(t, ctx, c, "shoal")
		if sh["kind"] != "builtin" || sh["storage_format"] != int64(1) || sh["state"] != "active" || sh["active_version"] == "" ||
			replyMap(t, sh["nodes"])[self] != sh["active_version"] || replyMap(t, sh["storage_formats"])[self] != "read 1 write 1" {
			t.Fatalf("STATUS shoal: %v", sh)
		}

		// UNDEPLOY, twice, then a new version needs no REPLACE.
		if err := c.Do(ctx, "COMPONENT", "UNDEPLOY", "c1").Err(); err != nil {
			t.Fatalf("UNDEPLOY: %v", err)
		}
		if st := componentStatus(t, ctx, c, "c1"); st["state"] != "undeployed" || st["active_version"] != "" || replyMap(t, st["nodes"])[self] != "" {
			t.Fatalf("after UNDEPLOY: %v", st)
		}
		if err := c.Do(ctx, "COMPONENT", "UNDEPLOY", "c1", "LOCKTIMEOUT", "10").Err(); err != nil {
			t.Fatalf("UNDEPLOY again: %v", err)
		}
		if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v3").Err(); err != nil {
			t.Fatalf("DEPLOY after UNDEPLOY: %v", err)
		}
	})
}

func TestComponentArgumentErrors(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"COMPONENT", "DEPLOY", "c1"}, "ERR wrong number of arguments for 'component|deploy' command"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "PAYLOAD"}, "ERR syntax error"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "BOGUS"}, "ERR syntax error"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "LOCKTIMEOUT", "x"}, "ERR value is not an integer or out of range"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "LOCKTIMEOUT", "-1"}, "ERR LOCKTIMEOUT must be between 0 and 86400000 milliseconds"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "KIND", "function"}, "ERR KIND function payload is not a library: ERR Missing library metadata"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "KIND", "function", "PAYLOAD", "#!lua name=x\nreturn 1"}, "ERR KIND function payload is not a library: ERR No functions registered"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "KIND", "wasm"}, "ERR unknown component kind 'wasm': use blob or function"},
		{[]any{"COMPONENT", "DEPLOY", "a/b", "v1"}, "ERR invalid component name 'a/b': use 1 to 128 letters, digits, '_', '-' and '.'"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v 1"}, "ERR invalid component version 'v 1': use 1 to 64 letters, digits, '_', '-', '.' and '+'"},
		{[]any{"COMPONENT", "DEPLOY", "shoal", "v1"}, "ERR component 'shoal' is built in: it shows the nodes' builds and cannot be deployed"},
		{[]any{"COMPONENT", "DEPLOY", "c1", "v1", "PAYLOAD", strings.Repeat("x", 1<<20+1)}, "ERR component payload of 1048577 bytes is above the limit of 1048576 bytes"},
		{[]any{"COMPONENT", "UNDEPLOY", "nope"}, "ERR no such component 'nope'"},
		{[]any{"COMPONENT", "UNDEPLOY", "shoal"}, "ERR component 'shoal' is built in and cannot be undeployed"},
		{[]any{"COMPONENT", "UNDEPLOY", "c1", "NOW"}, "ERR syntax error"},
		{[]any{"COMPONENT", "STATUS", "nope"}, "ERR no such component 'nope'"},
		{[]any{"COMPONENT", "HISTORY", "nope"}, "ERR no such component 'nope'"},
		{[]any{"COMPONENT", "STATUS"}, "ERR wrong number of arguments for 'component|status' command"},
		{[]any{"COMPONENT", "FROB"}, "ERR unknown subcommand 'FROB'. Try COMPONENT HELP."},
	} {
		err := c.Do(ctx, tc.args...).Err()
		if err == nil || err.Error() != tc.want {
			name := fmt.Sprint(tc.args)
			if len(name) > 80 {
				name = name[:80]
			}
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	help, err := c.Do(ctx, "COMPONENT", "HELP").StringSlice()
	if err != nil || len(help) < 5 || !strings.HasPrefix(help[0], "COMPONENT <subcommand>") {
		t.Fatalf("HELP: %q %v", help, err)
	}
	if err := c.Do(ctx, "MULTI").Err(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1").Err(), "ERR Command not allowed inside a transaction")
	c.Do(ctx, "DISCARD")
}

// A component of KIND function loads its library as FUNCTION LOAD
// REPLACE does; a new version replaces it, UNDEPLOY deletes it, and the
// library persists with the others.
func TestComponentFunction(t *testing.T) {
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	lib := func(reply string) string {
		return "#!lua name=greet\nredis.register_function{function_name='greet', callback=function() return '" + reply + "' end, flags={'no-writes'}}"
	}
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "greeter", "1.0", "KIND", "function", "PAYLOAD", lib("hello")).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.FCallRO(ctx, "greet", nil).Text(); err != nil || v != "hello" {
		t.Fatalf("FCALL_RO greet = %q, %v", v, err)
	}
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "greeter", "2.0", "KIND", "function", "PAYLOAD", lib("hi"), "REPLACE").Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.FCallRO(ctx, "greet", nil).Text(); err != nil || v != "hi" {
		t.Fatalf("FCALL_RO greet after 2.0 = %q, %v", v, err)
	}
	s.Close()
	s = testutil.Start(t, cfg)
	c = testutil.Client(t, s, 2)
	if v, err := c.FCallRO(ctx, "greet", nil).Text(); err != nil || v != "hi" {
		t.Fatalf("FCALL_RO greet after a restart = %q, %v", v, err)
	}
	if err := c.Do(ctx, "COMPONENT", "UNDEPLOY", "greeter").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.FCallRO(ctx, "greet", nil).Err(); err == nil || err.Error() != "ERR Function not found" {
		t.Fatalf("FCALL_RO greet after UNDEPLOY: %v", err)
	}
}

// The blob of the active version is in this node's data folder.
func TestComponentBlobOnDisk(t *testing.T) {
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	path := filepath.Join(cfg.Dir, "cluster", "components", "lib.blob")
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "lib", "1.0", "PAYLOAD", "one").Err(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); string(b) != "one" {
		t.Fatalf("blob %q %v", b, err)
	}
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "lib", "2.0", "PAYLOAD", "two", "REPLACE").Err(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); string(b) != "two" {
		t.Fatalf("blob %q %v", b, err)
	}
	if err := c.Do(ctx, "COMPONENT", "UNDEPLOY", "lib").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("blob still there after UNDEPLOY: %v", err)
	}
}

// A node that cannot load the version fails the deploy with its reason;
// the previous version stays active.
func TestComponentDeployFails(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := failpoint.Set("component/apply", "1*error"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { failpoint.Set("component/apply", "off") })
	err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v2", "REPLACE").Err()
	if err == nil || !regexp.MustCompile(`^ERR deploy of c1 v2 failed: node [0-9a-f]{40}: failpoint component/apply$`).MatchString(err.Error()) {
		t.Fatalf("DEPLOY with a failing apply: %v", err)
	}
	st := componentStatus(t, ctx, c, "c1")
	if st["state"] != "failed" || st["active_version"] != "v1" || !strings.HasSuffix(fmt.Sprint(st["reason"]), "failpoint component/apply") {
		t.Fatalf("STATUS after a failed deploy: %v", st)
	}
	// The node goes back to v1.
	waitUntil(t, 5*time.Second, func() bool {
		for _, v := range replyMap(t, componentStatus(t, ctx, c, "c1")["nodes"]) {
			return v == "v1"
		}
		return false
	})
}

// Two deploys of one component at once: the second waits for the lock,
// and either gives up with LOCKTIMEOUT naming the holder or goes on.
func TestComponentConcurrentDeploys(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MetricsPort = testutil.FreePort(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	id := ""
	if err := failpoint.Set("component/deploy", "1*delay:1500"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { failpoint.Set("component/deploy", "off") })
	first := make(chan error, 1)
	go func() { first <- c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1").Err() }()
	waitUntil(t, 5*time.Second, func() bool {
		v, err := c.Do(ctx, "COMPONENT", "STATUS", "c1").Result()
		if err != nil {
			return false // the deploy has not started yet
		}
		if st := replyMap(t, v); st["state"] == "deploying" {
			id, _ = st["lock_owner"].(string)
		}
		return id != ""
	})
	err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1", "LOCKTIMEOUT", "100").Err()
	re := regexp.MustCompile(`^LOCKTIMEOUT deploy lock for c1 held by ` + id + ` \(expires in (\d+) ms\)$`)
	m := re.FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("a deploy behind a held lock: %v, want %s", err, re)
	}
	if ms, _ := strconv.Atoi(m[1]); ms <= 0 || ms > 30000 {
		t.Fatalf("expires in %d ms", ms)
	}
	// A patient one waits for the first, then finds v1 active: +OK.
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1", "LOCKTIMEOUT", "20000").Err(); err != nil {
		t.Fatalf("a patient deploy: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the first deploy: %v", err)
	}
	info, err := c.Info(ctx, "components").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"components:1\r\n", "components_deploying:0\r\n", "component_deploys_ok:1\r\n",
		"component_deploys_idempotent:1\r\n", "component_deploys_lock_timeout:1\r\n", "storage_format_active:1\r\n",
		"component_c1:active=v1,state=active,applied=v1,lock=none\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO components lacks %q:\n%s", want, info)
		}
	}
	metrics := testutil.ScrapeMetrics(t, s.MetricsAddr())
	for name, want := range map[string]float64{
		`shoal_component_deploys_total{result="ok"}`:           1,
		`shoal_component_deploys_total{result="idempotent"}`:   1,
		`shoal_component_deploys_total{result="lock_timeout"}`: 1,
		`shoal_component_deploys_total{result="conflict"}`:     0,
		`shoal_component_lock_wait_seconds_count`:              3,
	} {
		if got, ok := metrics[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}

// waitUntil polls cond every 10 ms until it holds, failing t after timeout.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
	}
}

// Under maintenance DEPLOY and UNDEPLOY are refused and counted; the
// views still answer.
func TestComponentRefusedUnderMaintenance(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "MAINTENANCE", "START").Err(); err != nil {
		t.Fatalf("MAINTENANCE START: %v", err)
	}
	const refused = "MAINTENANCE Server is under maintenance. Please retry in a few minutes"
	wantErr(t, c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v2", "REPLACE").Err(), refused)
	wantErr(t, c.Do(ctx, "COMPONENT", "UNDEPLOY", "c1").Err(), refused)
	if st := componentStatus(t, ctx, c, "c1"); st["active_version"] != "v1" || st["state"] != "active" {
		t.Fatalf("STATUS under maintenance: %v", st)
	}
	info, err := c.Info(ctx, "maintenance").Result()
	if err != nil || !strings.Contains(info, "maintenance_rejected_calls:2\r\n") {
		t.Fatalf("INFO maintenance: %q %v", info, err)
	}
	if err := c.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatalf("MAINTENANCE END: %v", err)
	}
	if err := c.Do(ctx, "COMPONENT", "DEPLOY", "c1", "v2", "REPLACE").Err(); err != nil {
		t.Fatalf("DEPLOY after END: %v", err)
	}
}
