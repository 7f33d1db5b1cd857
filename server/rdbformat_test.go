package server_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestRDBFormatDirectivesAsRedis: rdbcompression no writes an RDB file's
// strings as they are, yes packs a long repetitive one with LZF;
// rdbchecksum no ends the file with zeros instead of its CRC64. Shoal's
// files and redis-server 7.0.15's agree on each, and redis-server loads
// Shoal's.
func TestRDBFormatDirectivesAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	value := strings.Repeat("compressible ", 20)
	cfg := testutil.Config(t)
	cfg.RDBChecksum = false // read at start, as Redis reads it
	s := testutil.Start(t, cfg)
	r := testutil.StartRedisServer(t, t.TempDir(), "--rdbchecksum", "no")
	peers := []struct {
		name, dir string
		c         *redis.Client
	}{{"shoal", cfg.Dir, testutil.Client(t, s, 2)}, {"redis", r.Dir, r.Client(t, 0)}}
	var got []string
	for _, p := range peers {
		p.c.Set(ctx, "k", value, 0)
		p.c.RPush(ctx, "l", value, "b")
		var facts []string
		for _, compress := range []string{"no", "yes"} {
			if err := p.c.ConfigSet(ctx, "rdbcompression", compress).Err(); err != nil {
				t.Fatal(err)
			}
			if err := p.c.Save(ctx).Err(); err != nil {
				t.Fatalf("%s: SAVE: %v", p.name, err)
			}
			b, err := os.ReadFile(filepath.Join(p.dir, "dump.rdb"))
			if err != nil {
				t.Fatal(err)
			}
			facts = append(facts, fmt.Sprintf("rdbcompression %s: the value as it is in the file %v, checksum zero %v",
				compress, bytes.Contains(b, []byte(value)), bytes.Equal(b[len(b)-8:], make([]byte, 8))))
			if p.name == "shoal" && compress == "no" {
				// redis-server loads what Shoal wrote.
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o644); err != nil {
					t.Fatal(err)
				}
				loaded := testutil.StartRedisServer(t, dir).Client(t, 0)
				if v := loaded.Get(ctx, "k").Val(); v != value {
					t.Errorf("redis-server loaded k = %q", v)
				}
				if n := loaded.LLen(ctx, "l").Val(); n != 2 {
					t.Errorf("redis-server loaded l of %d", n)
				}
			}
		}
		got = append(got, strings.Join(facts, "; "))
	}
	if got[0] != got[1] || !strings.Contains(got[0], "rdbcompression no: the value as it is in the file true, checksum zero true") {
		t.Fatalf("Shoal: %s\nredis-server: %s", got[0], got[1])
	}
}
