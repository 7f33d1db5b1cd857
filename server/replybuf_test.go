package server

import "testing"

// TestReplyBufFollowsRedis replays, on a clock of its own, a client of
// redis-server 7.0.15 that sent these commands at these times (ms after
// connecting), and the rbs and rbp its CLIENT INFO answered, recorded
// from a raw socket: a new client's 16 KiB buffer shrinks to 1 KiB within
// two cron ticks, the peak restarts every 5 s, a reply larger than the
// buffer fills it and the next tick doubles it, and an idle buffer shrinks
// back. Each CLIENT INFO reads the state before its own reply, whose bytes
// (as Redis wrote them) count after.
func TestReplyBufFollowsRedis(t *testing.T) {
	const t0 = 1_000_000_050 // ms: Redis's cron ticked 50 ms after the connection
	b := newReplyBuf(newReplyCron())
	b.read(t0)
	b.wrote(4, t0) // DEL big
	steps := []struct {
		at         int64   // ms after t0
		size, peak int64   // CLIENT INFO's rbs and rbp
		replies    []int64 // bytes of the replies written then, one by one
	}{
		{0, 16384, 16384, []int64{276}},
		{300, 1024, 0, []int64{271}},
		{1300, 1024, 271, []int64{273}},
		{5300, 1024, 0, []int64{271}},
		{5800, 1024, 271, []int64{273}},
		{6300, -1, -1, []int64{5, 3009}}, // SET big <3000 bytes>, GET big
		{6310, 1024, 1024, []int64{274}},
		{6610, 2048, 1024, []int64{274}},
		{12100, 1024, 0, []int64{272}},
		{12400, -1, -1, []int64{3009}}, // GET big
		{12700, 2048, 1024, nil},
	}
	for _, s := range steps {
		if s.size >= 0 {
			size, peak := b.read(t0 + s.at)
			if size != s.size || peak != s.peak {
				t.Fatalf("at %d ms: rbs=%d rbp=%d, Redis answered rbs=%d rbp=%d", s.at, size, peak, s.size, s.peak)
			}
		}
		for _, n := range s.replies {
			b.wrote(n, t0+s.at)
		}
	}
}

func TestJemallocSize(t *testing.T) {
	for n, want := range map[int64]int64{1024: 1024, 1025: 1280, 1792: 1792, 2048: 2048, 2049: 2560, 4097: 5120, 8193: 10240, 16384: 16384} {
		if got := jemallocSize(n); got != want {
			t.Fatalf("jemallocSize(%d) = %d, want %d", n, got, want)
		}
	}
}
