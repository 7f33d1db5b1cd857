package server_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestBlockedXReadGroupKeyGoneAsRedis: a client blocked in XREADGROUP
// whose stream goes away (DEL, SET, a transaction that makes it a set,
// FLUSHALL) gets Redis 7.0's UNBLOCKED error, and one whose group is
// destroyed NOGROUP, on Shoal as on redis-server.
func TestBlockedXReadGroupKeyGoneAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	ends := map[string]func(c *redis.Client){
		"DEL": func(c *redis.Client) { c.Del(ctx, "mystream") },
		"SET": func(c *redis.Client) { c.Set(ctx, "mystream", "val1", 0) },
		"MULTI DEL SADD": func(c *redis.Client) {
			c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, "mystream")
				p.SAdd(ctx, "mystream", "e1")
				return nil
			})
		},
		"FLUSHALL":       func(c *redis.Client) { c.FlushAll(ctx) },
		"XGROUP DESTROY": func(c *redis.Client) { c.XGroupDestroy(ctx, "mystream", "mygroup") },
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, p := range bothPeers(t) {
				p.c.XAdd(ctx, &redis.XAddArgs{Stream: "mystream", ID: "666", Values: []string{"f", "v"}})
				p.c.XGroupCreate(ctx, "mystream", "mygroup", "$")
				got = append(got, whileBlocked(t, p, []any{"XREADGROUP", "GROUP", "mygroup", "Alice", "BLOCK", "0", "STREAMS", "mystream", ">"},
					func() { end(p.c) }))
			}
			if got[0] != got[1] {
				t.Fatalf("Shoal: %s; redis-server: %s", got[0], got[1])
			}
		})
	}
}
