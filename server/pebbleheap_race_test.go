//go:build race

package server_test

import _ "unsafe" // go:linkname

// pebbleGoAllocation is Pebble's draw, made once a process in race builds,
// of whether its manual buffers (memtables, block cache) come from Go's
// heap, where the race detector sees them, rather than from C's.
//
//go:linkname pebbleGoAllocation github.com/cockroachdb/pebble/v2/internal/manual.useGoAllocation
var pebbleGoAllocation bool

func pebbleOnGoHeap() bool { return pebbleGoAllocation }
