package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

const errMaint = "MAINTENANCE Server is under maintenance. Please retry in a few minutes"

// maintStatus runs MAINTENANCE STATUS and returns its map, read the same
// from RESP3 (a map) and RESP2 (a flat array).
func maintStatus(t *testing.T, ctx context.Context, c *redis.Client) map[string]any {
	t.Helper()
	v, err := c.Do(ctx, "MAINTENANCE", "STATUS").Result()
	if err != nil {
		t.Fatalf("MAINTENANCE STATUS: %v", err)
	}
	return replyMap(t, v)
}

// pausedOf renders STATUS's paused items as "kind:id" strings.
func pausedOf(t *testing.T, st map[string]any) []string {
	t.Helper()
	var out []string
	for _, it := range st["paused"].([]any) {
		m := replyMap(t, it)
		out = append(out, fmt.Sprintf("%v:%v", m["kind"], m["id"]))
	}
	return out
}

func infoLine(t *testing.T, ctx context.Context, c *redis.Client, section, field string) string {
	t.Helper()
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

func TestMaintenanceStartEnd(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s := testutil.StartWith(t, nil, server.Options{Registry: reg})
			c := testutil.Client(t, s, proto)
			ctx := testutil.Ctx(t)
			id := s.Store().NodeID()

			st := maintStatus(t, ctx, c)
			if st["enabled"] != int64(0) || st["phase"] != "none" || len(st["paused"].([]any)) != 0 || len(st["waiting"].([]any)) != 0 {
				t.Fatalf("STATUS before START: %v", st)
			}
			// END without START does nothing.
			if err := c.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
				t.Fatalf("END without START: %v", err)
			}
			// Active expiry switched off by hand before START is not
			// START's to pause, nor END's to resume.
			if err := c.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0").Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.Do(ctx, "MAINTENANCE", "START").Err(); err != nil {
				t.Fatalf("START: %v", err)
			}
			st = maintStatus(t, ctx, c)
			if st["enabled"] != int64(1) || st["phase"] != "enabled" || !strings.HasPrefix(st["started_by"].(string), "client 127.0.0.1:") {
				t.Fatalf("STATUS after START: %v", st)
			}
			if got := pausedOf(t, st); len(got) != 1 || got[0] != "fullsync:"+id {
				t.Fatalf("paused %v, want only fullsync:%s", got, id)
			}
			if !s.Repl().FullSyncsDeferred() || s.Store().ActiveExpire() {
				t.Fatalf("after START: full syncs deferred %v, active expiry %v", s.Repl().FullSyncsDeferred(), s.Store().ActiveExpire())
			}
			// A second START changes nothing.
			if err := c.Do(ctx, "MAINTENANCE", "START", "TIMEOUT", "100").Err(); err != nil {
				t.Fatalf("second START: %v", err)
			}
			if again := maintStatus(t, ctx, c); again["started_at"] != st["started_at"] {
				t.Fatalf("second START restarted the run: %v then %v", st, again)
			}

			// Topology and replication or cluster configuration changes
			// are refused; data and other configuration are not.
			for _, args := range [][]any{
				{"REPLICAOF", "127.0.0.1", "1"},
				{"SLAVEOF", "NO", "ONE"},
				{"CONFIG", "SET", "repl-timeout", "30"},
				{"CONFIG", "SET", "hz", "11", "SLAVE-READ-ONLY", "no"},
				{"CONFIG", "SET", "cluster-epoch-bump-timeout", "1000"},
				{"CLUSTER", "FAILOVER"},
				{"CLUSTER", "FORGET", "x"},
				{"REPLICA", "FORGET", "x"},
			} {
				wantErr(t, c.Do(ctx, args...).Err(), errMaint)
			}
			if err := c.Do(ctx, "CONFIG", "SET", "hz", "11").Err(); err != nil {
				t.Fatalf("CONFIG SET hz under maintenance: %v", err)
			}
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET under maintenance: %v", err)
			}
			if v, err := c.Get(ctx, "k").Result(); v != "v" || err != nil {
				t.Fatalf("GET under maintenance: %q %v", v, err)
			}
			// In MULTI the refusal aborts the transaction.
			conn := c.Conn()
			defer conn.Close()
			conn.Do(ctx, "MULTI")
			wantErr(t, conn.Do(ctx, "REPLICAOF", "NO", "ONE").Err(), errMaint)
			wantErr(t, conn.Do(ctx, "EXEC").Err(), "EXECABORT Transaction discarded because of previous errors.")

			for field, want := range map[string]string{
				"maintenance_enabled": "1", "maintenance_phase": "enabled", "maintenance_paused_items": "1",
				"maintenance_local_paused": "fullsync", "maintenance_rejected_calls": "9", "maintenance_waiting_syncs": "0",
			} {
				if got := infoLine(t, ctx, c, "maintenance", field); got != want {
					t.Errorf("INFO maintenance %s:%s, want %s", field, got, want)
				}
			}
			if got := metricValue(t, reg, "shoal_maintenance_rejected_total", "cmd", "config|set"); got != 3 {
				t.Errorf("shoal_maintenance_rejected_total{cmd=config|set} = %v, want 3", got)
			}
			if got := metricValue(t, reg, "shoal_maintenance_enabled", "", ""); got != 1 {
				t.Errorf("shoal_maintenance_enabled = %v, want 1", got)
			}

			if err := c.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
				t.Fatalf("END: %v", err)
			}
			st = maintStatus(t, ctx, c)
			if st["enabled"] != int64(0) || st["phase"] != "none" || len(st["paused"].([]any)) != 0 {
				t.Fatalf("STATUS after END: %v", st)
			}
			if s.Repl().FullSyncsDeferred() || s.Store().ActiveExpire() {
				t.Fatalf("after END: full syncs deferred %v (want false), active expiry %v (want false, as before START)",
					s.Repl().FullSyncsDeferred(), s.Store().ActiveExpire())
			}
			if err := c.Do(ctx, "CONFIG", "SET", "repl-timeout", "30").Err(); err != nil {
				t.Fatalf("CONFIG SET repl-timeout after END: %v", err)
			}
			if got := metricValue(t, reg, "shoal_maintenance_enabled", "", ""); got != 0 {
				t.Errorf("shoal_maintenance_enabled after END = %v, want 0", got)
			}
		})
	}
}

// TestMaintenanceResumedByHand: an activity resumed by hand during
// maintenance is recorded, and END leaves it as the operator left it.
func TestMaintenanceResumedByHand(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 3)
	ctx := testutil.Ctx(t)
	id := s.Store().NodeID()
	if err := c.Do(ctx, "MAINTENANCE", "START").Err(); err != nil {
		t.Fatal(err)
	}
	if got := pausedOf(t, maintStatus(t, ctx, c)); strings.Join(got, " ") != "expiry:"+id+" fullsync:"+id {
		t.Fatalf("paused %v", got)
	}
	if s.Store().ActiveExpire() {
		t.Fatal("active expiry runs under maintenance")
	}
	if err := c.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "1").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resume by hand is recorded", func() bool {
		return strings.Join(pausedOf(t, maintStatus(t, ctx, c)), " ") == "fullsync:"+id
	})
	if !s.Store().ActiveExpire() {
		t.Fatal("maintenance paused active expiry again after it was resumed by hand")
	}
	// The operator switches it off again: END does not switch it on.
	if err := c.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatal(err)
	}
	if s.Store().ActiveExpire() || s.Repl().FullSyncsDeferred() {
		t.Fatalf("after END: active expiry %v (want false), full syncs deferred %v (want false)", s.Store().ActiveExpire(), s.Repl().FullSyncsDeferred())
	}
	items := s.Catalog().MaintenanceStatus().Items
	if fmt.Sprint(items) != fmt.Sprintf("[{expiry %s resumed} {fullsync %s restored}]", id, id) {
		t.Fatalf("items after END: %v", items)
	}
}

// TestMaintenanceSurvivesRestart: a node restarted between START and END
// enforces maintenance again, and END restores what START paused.
func TestMaintenanceSurvivesRestart(t *testing.T) {
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	if err := c.Do(ctx, "MAINTENANCE", "START").Err(); err != nil {
		t.Fatal(err)
	}
	before := maintStatus(t, ctx, c)
	s.Close()

	cfg2 := testutil.Config(t)
	cfg2.Dir = cfg.Dir
	s = testutil.Start(t, cfg2)
	c = testutil.Client(t, s, 2)
	eventually(t, "the restarted node pauses its activities again", func() bool {
		return !s.Store().ActiveExpire() && s.Repl().FullSyncsDeferred()
	})
	after := maintStatus(t, ctx, c)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("STATUS before the restart %v, after %v", before, after)
	}
	wantErr(t, c.Do(ctx, "REPLICAOF", "NO", "ONE").Err(), errMaint)
	if err := c.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatal(err)
	}
	if !s.Store().ActiveExpire() || s.Repl().FullSyncsDeferred() {
		t.Fatalf("after END: active expiry %v, full syncs deferred %v", s.Store().ActiveExpire(), s.Repl().FullSyncsDeferred())
	}
}

func TestMaintenanceSyntax(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"MAINTENANCE", "START", "TIMEOUT"}, "ERR syntax error"},
		{[]any{"MAINTENANCE", "START", "TIMEOUT", "x"}, "ERR value is not an integer or out of range"},
		{[]any{"MAINTENANCE", "START", "TIMEOUT", "-1"}, "ERR timeout is negative"},
		{[]any{"MAINTENANCE", "START", "SKIPSYNC"}, "ERR syntax error"},
		{[]any{"MAINTENANCE", "START", "SKIPSYNC", "TIMEOUT", "5"}, "ERR syntax error"},
		{[]any{"MAINTENANCE", "START", "NOW"}, "ERR syntax error"},
		{[]any{"MAINTENANCE", "END", "NOW"}, "ERR wrong number of arguments for 'maintenance|end' command"},
		{[]any{"MAINTENANCE", "PAUSE"}, "ERR unknown subcommand 'PAUSE'. Try MAINTENANCE HELP."},
	} {
		wantErr(t, c.Do(ctx, tc.args...).Err(), tc.want)
	}
	help, err := c.Do(ctx, "MAINTENANCE", "HELP").StringSlice()
	if err != nil || len(help) < 4 || !strings.HasPrefix(help[0], "MAINTENANCE <subcommand>") || help[len(help)-2] != "HELP" {
		t.Fatalf("MAINTENANCE HELP: %q %v", help, err)
	}
	// START inside MULTI is refused: it may wait.
	conn := c.Conn()
	defer conn.Close()
	conn.Do(ctx, "MULTI")
	wantErr(t, conn.Do(ctx, "MAINTENANCE", "START").Err(), "ERR Command not allowed inside a transaction")
	if err := conn.Do(ctx, "DISCARD").Err(); err != nil {
		t.Fatal(err)
	}
	// A SKIPSYNC list and a TIMEOUT in either order.
	if err := c.Do(ctx, "MAINTENANCE", "START", "SKIPSYNC", "a", "b", "TIMEOUT", "1000").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "MAINTENANCE", "END").Err(); err != nil {
		t.Fatal(err)
	}
}

// metricValue returns the value of metric name (with label=value when
// label is set), or -1.
func metricValue(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				ok = ok || lp.GetName() == label && lp.GetValue() == value
			}
			if !ok {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
