package obuf

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	got := Parse("normal 1mb 512kb 5 replica 0 0 0")
	want := [3]Limit{
		Normal:  {Hard: 1 << 20, Soft: 512 << 10, SoftFor: 5 * time.Second},
		Replica: {},
		Pubsub:  Defaults[Pubsub], // absent: the default
	}
	if got != want {
		t.Fatalf("Parse = %+v, want %+v", got, want)
	}
	if got := Parse("slave 268435456 67108864 60 pubsub x 1 1"); got[Replica] != Defaults[Replica] || got[Pubsub] != Defaults[Pubsub] {
		t.Fatalf("CONFIG GET's form and a malformed class: %+v", got)
	}
}

// TestWatch follows checkClientOutputBufferLimits: the hard limit at
// once, the soft one only when a later check finds it held longer than
// its seconds, and forgotten when the output falls below it.
func TestWatch(t *testing.T) {
	l := Limit{Hard: 100, Soft: 10, SoftFor: time.Second}
	t0 := time.Unix(1000, 0)
	var w Watch
	steps := []struct {
		used int64
		at   time.Duration
		over bool
	}{
		{5, 0, false},
		{10, 0, false},                // soft reached: the clock starts
		{50, time.Second, false},      // held for exactly its seconds
		{9, 2 * time.Second, false},   // below: forgotten
		{10, 3 * time.Second, false},  // reached again: a new start
		{10, 4*time.Second + 1, true}, // held longer
		{100, 0, true},                // the hard limit
	}
	for i, s := range steps {
		if got := w.Over(l, s.used, t0.Add(s.at)); got != s.over {
			t.Fatalf("step %d (%d bytes at %v): over %v", i, s.used, s.at, got)
		}
	}
}
