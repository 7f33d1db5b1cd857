package commands

import "testing"

// TestKeyMissFreeWhenOff: with no event class on (or classes but not m),
// a read that misses counts the miss and builds nothing.
func TestKeyMissFreeWhenOff(t *testing.T) {
	for _, flags := range []string{"", "KEA"} {
		var ev Events
		ev.Set(ParseEventClasses(flags))
		c := &Ctx{Events: &ev}
		name := []byte("absent")
		if n := testing.AllocsPerRun(100, func() { c.countRead(false, name) }); n != 0 {
			t.Errorf("notify-keyspace-events %q: a miss allocates %v times", flags, n)
		}
		if c.KeyspaceMisses == 0 {
			t.Errorf("notify-keyspace-events %q: the miss was not counted", flags)
		}
	}
}
