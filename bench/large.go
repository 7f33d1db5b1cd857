package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// The -large mode fills each server with every key redis-benchmark's
// -r draws from before its GET and SET runs, so that reads find their key
// and writes overwrite one. With the defaults, 1M keys of 1 KB: about
// 1 GB, more than Shoal's hot cache (64 MiB, and it keeps no value over
// 256 bytes) and block cache (128 MiB) hold.

// benchmarkKey is the i-th key of redis-benchmark's key:__rand_int__,
// which it writes as 12 zero-padded digits.
func benchmarkKey(i int) string { return fmt.Sprintf("key:%012d", i) }

// randomValue is size bytes of a sequence seeded by i: values that do not
// compress, as redis-benchmark's own (all 'x') would, so the dataset is as
// large on disk and in the block cache as it is in bytes.
func randomValue(i, size int) []byte {
	r := rand.NewPCG(uint64(i), 0x5eed)
	v := make([]byte, (size+7)/8*8)
	for j := 0; j < len(v); j += 8 {
		binary.LittleEndian.PutUint64(v[j:], r.Uint64())
	}
	return v[:size]
}
