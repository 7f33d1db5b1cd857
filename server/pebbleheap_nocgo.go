//go:build !cgo

package server

// pebbleInHeap: built without cgo, Pebble allocates its block cache and
// memtables in the Go heap.
const pebbleInHeap = true
