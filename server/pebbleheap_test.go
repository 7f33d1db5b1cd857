//go:build !race

package server_test

// pebbleOnGoHeap says whether Pebble's memtables and block cache live in
// Go's heap: outside race builds they come from C's.
func pebbleOnGoHeap() bool { return false }
