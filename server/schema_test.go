package server_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// schemaStatus reads SCHEMA STATUS as a map, from RESP3's map or RESP2's
// flat array, and checks that it has the documented fields in order.
func schemaStatus(t *testing.T, ctx context.Context, c *redis.Client) map[string]string {
	t.Helper()
	fields := []string{"epoch", "applied_epoch", "dirty", "degraded", "degraded_error", "pending_events",
		"last_resync_at", "last_resync_reason", "retries", "resyncs"}
	v, err := c.Do(ctx, "SCHEMA", "STATUS").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	switch r := v.(type) {
	case map[any]any:
		for k, x := range r {
			out[fmt.Sprint(k)] = fmt.Sprint(x)
		}
	case []any:
		if len(r) != 2*len(fields) {
			t.Fatalf("RESP2 SCHEMA STATUS has %d elements, want %d", len(r), 2*len(fields))
		}
		for i := 0; i < len(r); i += 2 {
			if r[i] != fields[i/2] {
				t.Fatalf("element %d is %v, want %q", i, r[i], fields[i/2])
			}
			out[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
		}
	default:
		t.Fatalf("SCHEMA STATUS reply %T", v)
	}
	if len(out) != len(fields) {
		t.Fatalf("SCHEMA STATUS fields %v, want %v", out, fields)
	}
	return out
}

func TestSchemaCommands(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := context.Background()
		if e, err := c.Do(ctx, "SCHEMA", "EPOCH").Int64(); err != nil || e != 0 {
			t.Fatalf("SCHEMA EPOCH of a new node = %d, %v; want 0", e, err)
		}
		st := schemaStatus(t, ctx, c)
		for k, want := range map[string]string{"epoch": "0", "applied_epoch": "0", "dirty": "0", "degraded": "0",
			"pending_events": "0", "last_resync_at": "0", "last_resync_reason": "", "retries": "0", "resyncs": "0"} {
			if st[k] != want {
				t.Fatalf("SCHEMA STATUS %s = %q, want %q (%v)", k, st[k], want, st)
			}
		}

		if err := c.Do(ctx, "DEBUG", "CATALOG-BUMP", "3").Err(); err != nil {
			t.Fatal(err)
		}
		if e, err := c.Do(ctx, "SCHEMA", "EPOCH").Int64(); err != nil || e != 3 {
			t.Fatalf("SCHEMA EPOCH after three changes = %d, %v; want 3", e, err)
		}
		eventually(t, "applied_epoch 3", func() bool {
			st := schemaStatus(t, ctx, c)
			return st["applied_epoch"] == "3" && st["pending_events"] == "0"
		})

		if s, err := c.Do(ctx, "SCHEMA", "RESYNC").Text(); err != nil || s != "OK" {
			t.Fatalf("SCHEMA RESYNC = %q, %v", s, err)
		}
		eventually(t, "a manual resync", func() bool {
			st := schemaStatus(t, ctx, c)
			return st["resyncs"] == "1" && st["last_resync_reason"] == "manual"
		})
		st = schemaStatus(t, ctx, c)
		if at, _ := strconv.ParseInt(st["last_resync_at"], 10, 64); at <= 0 || st["dirty"] != "0" || st["applied_epoch"] != "3" {
			t.Fatalf("after the resync: %v", st)
		}

		info, err := c.Info(ctx, "schema").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"# Schema", "schema_epoch:3", "schema_applied_epoch:3", "schema_dirty:0", "schema_degraded:0",
			"schema_pending_events:0", "schema_last_resync_reason:manual", "schema_resyncs:1", "schema_retries:0"} {
			if !strings.Contains(info, line+"\r\n") {
				t.Fatalf("INFO schema lacks %q:\n%s", line, info)
			}
		}

		help, err := c.Do(ctx, "SCHEMA", "HELP").StringSlice()
		if err != nil || len(help) == 0 || !strings.HasPrefix(help[0], "SCHEMA <subcommand>") {
			t.Fatalf("SCHEMA HELP = %q, %v", help, err)
		}
		wantErr(t, c.Do(ctx, "SCHEMA", "NOPE").Err(), "ERR unknown subcommand 'NOPE'. Try SCHEMA HELP.")
		wantErr(t, c.Do(ctx, "SCHEMA", "EPOCH", "x").Err(), "ERR wrong number of arguments for 'schema|epoch' command")
		wantErr(t, c.Do(ctx, "DEBUG", "CATALOG-BUMP", "0").Err(), "ERR count must be within 1..10000")
	})
}

func TestSchemaPeriodicResyncAndMetrics(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.SchemaResyncInterval = 50
	reg := prometheus.NewRegistry()
	s := testutil.StartWith(t, cfg, server.Options{Registry: reg})
	c := testutil.Client(t, s, 3)
	ctx := context.Background()
	if err := c.Do(ctx, "DEBUG", "CATALOG-BUMP").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two periodic resyncs", func() bool {
		st := schemaStatus(t, ctx, c)
		n, _ := strconv.Atoi(st["resyncs"])
		return n >= 2 && st["last_resync_reason"] == "periodic" && st["applied_epoch"] == "1"
	})
	for k, want := range map[string]string{"schema-retry-base-ms": "100", "schema-event-max-retries": "5", "schema-resync-interval": "50"} {
		got, err := c.ConfigGet(ctx, k).Result()
		if err != nil || got[k] != want {
			t.Fatalf("CONFIG GET %s = %v, %v; want %s", k, got, err, want)
		}
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "shoal_schema_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Gauge != nil:
				got[name] = m.GetGauge().GetValue()
			case m.Counter != nil:
				got[name] = m.GetCounter().GetValue()
			}
		}
	}
	for name, want := range map[string]float64{
		"shoal_schema_epoch": 1, "shoal_schema_applied_epoch": 1, "shoal_schema_dirty": 0, "shoal_schema_degraded": 0,
		"shoal_schema_pending_events": 0, "shoal_schema_events_total{result=applied}": 1,
		"shoal_schema_event_retries_total": 0, "shoal_schema_retry_exhausted_total": 0,
		"shoal_schema_resyncs_total{reason=retry_exhausted}": 0, "shoal_schema_resyncs_total{reason=gap}": 0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if got["shoal_schema_resyncs_total{reason=periodic}"] < 2 {
		t.Errorf("shoal_schema_resyncs_total{reason=periodic} = %v, want at least 2", got["shoal_schema_resyncs_total{reason=periodic}"])
	}
}
