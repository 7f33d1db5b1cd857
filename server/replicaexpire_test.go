package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestWritableReplicaExpiresItsKeysAsRedis: on a writable replica, a key
// a client gave an expiry is deleted once it expires (expired_keys, the
// expired event, slave_expires_tracked_keys), while the keys of the
// primary's stream wait for its DEL; on a Shoal pair, a Shoal replica of
// redis-server and a redis-server 7.0.15 pair alike (expire.tcl's
// "expired key which is created in writeable replicas should be deleted
// by active expiry").
func TestWritableReplicaExpiresItsKeysAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, pair := range pairsAsRedis(t, true) {
		p, r := pair.primary, pair.replica
		var b strings.Builder
		do := recorder(ctx, r, &b)
		p.Set(ctx, "sync", "1", 0)
		eventuallyTrue(t, "the replica in sync", func() bool { return r.Get(ctx, "sync").Val() == "1" })
		do("CONFIG", "SET", "replica-read-only", "no")
		do("CONFIG", "SET", "notify-keyspace-events", "Ex")
		sub := r.Subscribe(ctx, "__keyevent@0__:expired")
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		p.Set(ctx, "primary", "v", 0)
		p.PExpire(ctx, "primary", 500*time.Millisecond)
		eventuallyTrue(t, "the primary's key", func() bool { return r.Exists(ctx, "primary").Val() == 1 })
		expired := infoField(t, r, "expired_keys")
		do("SET", "foo", "bar", "PX", "50")
		do("SET", "keep", "v", "EX", "1000")
		do("SET", "gone", "v", "EX", "1000")
		do("DEL", "gone")
		fmt.Fprintln(&b, "tracked:", infoText(t, r, "slave_expires_tracked_keys"))
		if msg, err := sub.ReceiveMessage(ctx); err != nil {
			fmt.Fprintln(&b, "no event:", err)
		} else {
			fmt.Fprintln(&b, "event:", msg.Payload)
		}
		eventuallyTrue(t, "the replica's key expired", func() bool { return infoField(t, r, "expired_keys") == expired+1 })
		do("GET", "foo")
		eventuallyTrue(t, "the deleted key forgotten", func() bool { return infoText(t, r, "slave_expires_tracked_keys") == "1" })
		do("PERSIST", "keep")
		eventuallyTrue(t, "the persisted key forgotten", func() bool { return infoText(t, r, "slave_expires_tracked_keys") == "0" })
		// The primary's key goes by the primary's DEL, which fires
		// nothing on the replica under "Ex".
		eventuallyTrue(t, "the primary's key deleted", func() bool { return r.Exists(ctx, "primary").Val() == 0 })
		do("SET", "later", "v", "EX", "1000")
		fmt.Fprintln(&b, "tracked:", infoText(t, r, "slave_expires_tracked_keys"))
		do("FLUSHALL")
		fmt.Fprintln(&b, "tracked after FLUSHALL:", infoText(t, r, "slave_expires_tracked_keys"))
		fmt.Fprintln(&b, "expired by the replica:", infoField(t, r, "expired_keys")-expired)
		sub.Close()
		got = append(got, b.String())
	}
	for i, name := range []string{"Shoal", "", "Shoal replica of redis-server"} {
		if name != "" && got[i] != got[1] {
			t.Fatalf("%s:\n%s\nredis-server:\n%s", name, got[i], got[1])
		}
	}
	if !strings.Contains(got[1], "event: foo") {
		t.Fatalf("the replica's transcript:\n%s", got[1])
	}
}
