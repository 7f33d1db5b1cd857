package commands_test

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

var serializedLength = regexp.MustCompile(`serializedlength:(\d+)`)

// TestSerializedLengthLikeRedis: DEBUG OBJECT's serializedlength is the
// length of the RDB object redis-server 7.0.15 writes for the value in
// its encoding (strings and blobs LZF-compressed, listpacks, intsets,
// quicklists, streams), for the same keys built by the same commands.
// Hash fields are added in byte order, the order Shoal's listpacks hold.
func TestSerializedLengthLikeRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	rnd := rand.New(rand.NewSource(1))
	random := make([]byte, 300)
	rnd.Read(random)
	var cmds [][]any
	add := func(c ...any) { cmds = append(cmds, c) }
	add("SET", "short", "hello")
	add("SET", "int", "12345")
	add("SET", "runs", strings.Repeat("a", 100))
	add("SET", "text", strings.Repeat("the quick brown fox ", 40))
	add("SET", "random", string(random))
	add("HSET", "hsmall", "a", "1", "b", "2")
	hbig := []any{"HSET", "hbig"}
	for i := range 120 {
		hbig = append(hbig, fmt.Sprintf("field:%03d", i), fmt.Sprintf("value:%d", i))
	}
	add(hbig...)
	add("HSET", "hlong", "f", strings.Repeat("v", 100))
	add("SADD", "ismall", "1", "2", "3")
	add(append([]any{"SADD", "ibig"}, nums(1, 300)...)...)
	add("SADD", "iwide", "1", "70000", "-5")
	add("SADD", "strs", "a", "b", "c")
	add("ZADD", "zsmall", "1", "a", "2.5", "b", "-3", "c", "1e20", "d")
	zbig := []any{"ZADD", "zbig"}
	for i := range 100 {
		zbig = append(zbig, i, fmt.Sprintf("member:%d", i))
	}
	add(zbig...)
	add("ZADD", "zlong", "1", strings.Repeat("m", 70))
	add(append([]any{"RPUSH", "list"}, nums(1, 200)...)...)
	add("XADD", "stream", "1-1", "f", "v", "g", strings.Repeat("w", 50))
	add("PFADD", "hll", "a", "b", "c")
	keys := []string{"short", "int", "runs", "text", "random", "hsmall", "hbig", "hlong", "ismall", "ibig", "iwide",
		"strs", "zsmall", "zbig", "zlong", "list", "stream", "hll"}
	run := func(c *redis.Client) map[string]string {
		for _, cmd := range cmds {
			if err := c.Do(ctx, cmd...).Err(); err != nil {
				t.Fatalf("%v: %v", cmd[:2], err)
			}
		}
		out := map[string]string{}
		for _, k := range keys {
			line, err := c.Do(ctx, "DEBUG", "OBJECT", k).Text()
			if err != nil {
				t.Fatalf("DEBUG OBJECT %s: %v", k, err)
			}
			out[k] = serializedLength.FindStringSubmatch(line)[1]
		}
		return out
	}
	r := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	want := run(r.Client(t, 0))
	got := run(testutil.Client(t, testutil.Start(t, nil), 2))
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: Shoal %s, redis-server %s", k, got[k], want[k])
		}
	}
}
