package server_test

import (
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestEmptyMembersAfterRestart: a set member and a hash field with an
// empty value, read from disk after a restart, are found by every read,
// not only the first (the hot cache took the empty value for absent).
func TestEmptyMembersAfterRestart(t *testing.T) {
	ctx := testutil.Ctx(t)
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	if err := c.SAdd(ctx, "s", "m").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, "h", "f", "").Err(); err != nil {
		t.Fatal(err)
	}
	c = restart(t, s, cfg.Dir)
	for i := range 3 {
		if ok, err := c.SIsMember(ctx, "s", "m").Result(); err != nil || !ok {
			t.Fatalf("SISMEMBER %d after the restart: %v, %v", i+1, ok, err)
		}
		if ok, err := c.HExists(ctx, "h", "f").Result(); err != nil || !ok {
			t.Fatalf("HEXISTS %d after the restart: %v, %v", i+1, ok, err)
		}
	}
}
