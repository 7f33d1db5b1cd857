package repltest

import (
	"context"
	"strconv"
	"testing"
)

// TestResync: writes reach two replicas; a replica restarted while the log
// still holds its offset resumes with a partial sync, one restarted after
// the log rolled over takes a full sync while writes go on, and both end
// with the primary's data.
func TestResync(t *testing.T) {
	ctx := context.Background()
	p := newNode(t, nil)
	writeMix(t, p, 0, 500)
	r1 := newReplica(t, p, nil)
	r2 := newReplica(t, p, nil)
	writeMix(t, p, 500, 500)
	waitOnline(t, p, 2)
	waitSameData(t, p, r1, r2)

	// A restart within the backlog: partial sync.
	full, partial := p.infoInt("stats", "sync_full"), p.infoInt("stats", "sync_partial_ok")
	r1.stop()
	writeMix(t, p, 1000, 10000/12) // 12 commands a round per database: over 10k writes
	r1.start()
	waitLinkUp(t, r1)
	waitSameData(t, p, r1, r2)
	if got := p.infoInt("stats", "sync_full"); got != full {
		t.Fatalf("sync_full went from %d to %d on a restart within the backlog", full, got)
	}
	if got := p.infoInt("stats", "sync_partial_ok"); got != partial+1 {
		t.Fatalf("sync_partial_ok went from %d to %d, want one more", partial, got)
	}

	// A restart after the backlog rolled over: full sync under load.
	if err := p.c.ConfigSet(ctx, "repl-backlog-size", "16kb").Err(); err != nil {
		t.Fatal(err)
	}
	r2off := r2.offset()
	r2.stop()
	writeMix(t, p, 2000, 300)
	eventually(t, "the primary's log drops the stopped replica's offset", func() bool {
		return p.infoInt("replication", "repl_backlog_first_byte_offset") > r2off+1
	})
	full = p.infoInt("stats", "sync_full")
	stop := writeLoad(t, p, "load:")
	r2.start()
	eventually(t, "the restarted replica takes a full sync", func() bool {
		return p.infoInt("stats", "sync_full") == full+1
	})
	waitLinkUp(t, r2)
	if n := stop(); n == 0 {
		t.Fatal("the write load wrote nothing")
	}
	waitSameData(t, p, r1, r2)
	if got, _ := r2.c.Get(ctx, "str:2001").Result(); got != "v"+strconv.Itoa(2001) {
		t.Fatalf("str:2001 on the resynced replica = %q", got)
	}
}

// TestFirstReplicaUnderLoad: the first replica of a primary attaches while
// writes go on (the primary starts its log at that moment) and ends with
// every write.
func TestFirstReplicaUnderLoad(t *testing.T) {
	for i := 0; i < 3; i++ {
		p := newNode(t, nil)
		stop := writeLoad(t, p, "load:")
		writeMix(t, p, 0, 50)
		r := newReplica(t, p, nil)
		waitLinkUp(t, r)
		writeMix(t, p, 50, 50)
		stop()
		waitSameData(t, p, r)
		p.stop()
		r.stop()
	}
}
