package server_test

import (
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestWatchFlush checks that FLUSHALL and FLUSHDB abort only the
// transactions whose watched keys existed in the flushed databases, as
// Redis 7.0 does. Each case was run against redis-server 7.0.15 over raw
// sockets: setup on one connection, WATCH on another, the flush on a
// third, then MULTI, SET x 1, EXEC on the watcher.
func TestWatchFlush(t *testing.T) {
	const (
		done    = "*1\r\n+OK\r\n"
		aborted = "*-1\r\n"
	)
	for _, tc := range []struct {
		name         string
		setup, watch []string
		flush        []string
		want         string
	}{
		{"missing key, FLUSHALL", nil, []string{"WATCH nokey"}, []string{"FLUSHALL"}, done},
		{"missing key, FLUSHDB", nil, []string{"WATCH nokey"}, []string{"FLUSHDB"}, done},
		{"existing key, FLUSHALL", []string{"SET k v"}, []string{"WATCH k"}, []string{"FLUSHALL"}, aborted},
		{"existing key, FLUSHDB", []string{"SET k v"}, []string{"WATCH k"}, []string{"FLUSHDB"}, aborted},
		{"one of two exists", []string{"SET k v"}, []string{"WATCH nokey k"}, []string{"FLUSHDB ASYNC"}, aborted},
		{"other database, FLUSHDB", []string{"SELECT 1", "SET k v"}, []string{"SELECT 1", "WATCH k"}, []string{"FLUSHDB"}, done},
		{"other database, FLUSHALL", []string{"SELECT 1", "SET k v"}, []string{"SELECT 1", "WATCH k"}, []string{"FLUSHALL"}, aborted},
		{"other keys flushed", nil, []string{"WATCH nokey"}, []string{"SET other 1", "FLUSHALL"}, done},
		{"created then flushed", nil, []string{"WATCH nokey"}, []string{"SET nokey 1", "FLUSHALL"}, aborted},
		{"created by SWAPDB", []string{"SELECT 1", "SET nokey v"}, []string{"WATCH nokey"}, []string{"SWAPDB 0 1"}, aborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testutil.Start(t, nil)
			run := func(r *testutil.Raw, cmds []string) {
				t.Helper()
				for _, c := range cmds {
					r.Send(c + "\r\n")
					if got, err := r.ReadReply(); err != nil || got != "+OK\r\n" {
						t.Fatalf("%s: got %q, %v", c, got, err)
					}
				}
			}
			run(testutil.Dial(t, s.Addr()), tc.setup)
			w := testutil.Dial(t, s.Addr())
			run(w, tc.watch)
			run(testutil.Dial(t, s.Addr()), tc.flush)
			exchange(t, w,
				"MULTI\r\n", "+OK\r\n",
				"SET x 1\r\n", "+QUEUED\r\n",
				"EXEC\r\n", tc.want,
			)
		})
	}
}
