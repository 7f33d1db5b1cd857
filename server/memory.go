package server

import (
	"runtime/debug"
	rtmetrics "runtime/metrics"
)

// Memory the process no longer uses goes back to the operating system
// within seconds. Go's background scavenger returns free heap pages at
// about 1% of a CPU, which after a large value is gone (a 512 MB reply,
// a 100 MB request) takes minutes, and an idle server may not collect
// its garbage for two minutes; meanwhile the pages stay resident. So
// once a second the cron reads the resident heap, and collects and hands
// the free pages back: at once when the heap doubled since the last
// release, else every releaseEvery seconds while it is larger than
// releaseAfterBytes. A server whose heap stays smaller never pays for it.

// releaseAfterBytes is the least growth of the resident heap that cron
// hands back to the operating system.
const releaseAfterBytes = 64 << 20

// Heap metrics: memory in live and dead objects, and memory free but
// not yet returned.
var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/free:bytes",
	"/memory/classes/heap/unused:bytes"}

// releaseEvery is how often cron collects a heap of more than
// releaseAfterBytes that did not double: the values in a heap that stays
// large may have died, and an idle server would not collect them.
const releaseEvery = 5

// memoryReleaser returns free heap memory to the operating system when
// enough of it piled up. It is used by the cron goroutine only.
type memoryReleaser struct {
	sample []rtmetrics.Sample
	base   uint64 // resident heap after the last release
	ticks  int    // ticks since the last release
}

// residentHeap returns the heap's resident bytes: objects, dead ones
// included, and free pages not yet returned.
func (m *memoryReleaser) residentHeap() uint64 {
	if m.sample == nil {
		for _, name := range heapMetrics {
			m.sample = append(m.sample, rtmetrics.Sample{Name: name})
		}
	}
	rtmetrics.Read(m.sample)
	var n uint64
	for _, s := range m.sample {
		if s.Value.Kind() == rtmetrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

// tick collects and returns free heap to the operating system at once
// when the resident heap doubled, and releaseAfterBytes more, since the
// last release, and every releaseEvery ticks while it is more than
// releaseAfterBytes.
func (m *memoryReleaser) tick() {
	m.ticks++
	n := m.residentHeap()
	grew := n > m.base+max(m.base, releaseAfterBytes)
	if !grew && (m.ticks < releaseEvery || n <= releaseAfterBytes) {
		return
	}
	debug.FreeOSMemory()
	m.base, m.ticks = m.residentHeap(), 0
}
