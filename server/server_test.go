package server_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

func TestPingGetSet(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		if v, err := c.Ping(ctx).Result(); err != nil || v != "PONG" {
			t.Fatalf("PING = %q, %v", v, err)
		}
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Fatalf("GET = %q, %v", v, err)
		}
		if err := c.Get(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("GET missing = %v", err)
		}
	})
}
