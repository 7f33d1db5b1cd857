package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestDebugReplyBufferAsRedis: DEBUG REPLYBUFFER PEAK-RESET-TIME and
// RESIZING steer the clients' reply buffers as in redis-server 7.0.15
// (replybufsize.tcl): with peaks reset every 100 ms an idle client's
// buffer shrinks to 1 KiB; with them never reset a busy one grows to 16
// KiB; with resizing off a buffer keeps its size; INFO counts the
// shrinks and expands, and CONFIG RESETSTAT zeroes them.
func TestDebugReplyBufferAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t, "--enable-debug-command", "yes") {
		var b strings.Builder
		do := recorder(ctx, p.c, &b)
		tc := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2, DisableIdentity: true, PoolSize: 1})
		if err := tc.Do(ctx, "CLIENT", "SETNAME", "test_client").Err(); err != nil {
			t.Fatal(err)
		}
		rbs := func() int64 {
			list := p.c.Do(ctx, "CLIENT", "LIST").Val().(string)
			for _, line := range strings.Split(list, "\n") {
				if strings.Contains(line, "name=test_client ") {
					return fieldInt(t, clientFields(t, line, ""), "rbs")
				}
			}
			t.Fatalf("no test_client in %q", list)
			return 0
		}
		do("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
		eventuallyTrue(t, "an idle buffer shrunk", func() bool { n := rbs(); return n >= 1024 && n < 2046 })
		p.c.Set(ctx, "bigval", strings.Repeat("x", 32768), 0)
		do("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
		eventuallyTrue(t, "a busy buffer grown", func() bool {
			tc.Get(ctx, "bigval")
			n := rbs()
			return n >= 16384 && n < 32768
		})
		do("DEBUG", "REPLYBUFFER", "RESIZING", "0")
		do("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
		before := rbs()
		// NB: five cron ticks, in which an idle buffer whose peak is
		// reset each tick would shrink.
		time.Sleep(500 * time.Millisecond)
		fmt.Fprintln(&b, "with resizing off the size stays:", rbs() == before)
		do("DEBUG", "REPLYBUFFER", "RESIZING", "1")
		eventuallyTrue(t, "the idle buffer shrunk again", func() bool { return rbs() < 2046 })
		do("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")
		fmt.Fprintln(&b, "shrinks counted:", infoField(t, p.c, "reply_buffer_shrinks") > 0)
		fmt.Fprintln(&b, "expands counted:", infoField(t, p.c, "reply_buffer_expands") > 0)
		do("CONFIG", "RESETSTAT")
		fmt.Fprintln(&b, "after RESETSTAT:", infoField(t, p.c, "reply_buffer_shrinks"), infoField(t, p.c, "reply_buffer_expands"))
		do("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "soon")
		do("DEBUG", "REPLYBUFFER", "SIZE", "1")
		do("DEBUG", "REPLYBUFFER", "RESIZING")
		tc.Close()
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
}
