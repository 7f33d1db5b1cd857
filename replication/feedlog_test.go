package replication

import (
	"bytes"
	"fmt"
	"testing"
)

// TestFeedLogSince writes a stream through a small backlog and reads it
// back from every offset PSYNC may name: the bytes from there on while
// the backlog holds them, nothing once they were overwritten or past the
// end.
func TestFeedLogSince(t *testing.T) {
	var all []byte
	l := newFeedLog("id", 16)
	for i := 0; i < 30; i++ {
		p := []byte(fmt.Sprintf("<%d>", i))
		if i == 20 {
			p = bytes.Repeat([]byte{'x'}, 40) // larger than the backlog
		}
		l.write(p)
		all = append(all, p...)
		for from := int64(1); from <= l.off+2; from++ {
			got, ok := l.since(from)
			held := from >= l.off+1-16 && from <= l.off+1
			if ok != held {
				t.Fatalf("after %d bytes, since(%d) ok = %v, want %v", l.off, from, ok, held)
			}
			if ok && !bytes.Equal(got, all[from-1:]) {
				t.Fatalf("after %d bytes, since(%d) = %q, want %q", l.off, from, got, all[from-1:])
			}
		}
	}
}
