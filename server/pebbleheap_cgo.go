//go:build cgo

package server

// pebbleInHeap: built with cgo, Pebble allocates its block cache and
// memtables outside the Go heap.
const pebbleInHeap = false
