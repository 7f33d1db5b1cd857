package storage

import (
	"hash/maphash"
	"sync"
)

// lockStripes is the number of key lock stripes; a power of two.
const lockStripes = 4096

// lockTable is a fixed array of mutexes; a key's stripe is a hash of its
// physical database and name. Read-modify-write commands hold the stripes of
// their keys from their first read until their batch commits.
type lockTable struct {
	mu [lockStripes]struct {
		sync.Mutex
		_ [56]byte // one cache line each
	}
}

var lockSeed = maphash.MakeSeed()

func stripeOf(db uint8, key []byte) uint32 {
	var h maphash.Hash
	h.SetSeed(lockSeed)
	h.WriteByte(db)
	h.Write(key)
	return uint32(h.Sum64() & (lockStripes - 1))
}

func (l *lockTable) lock(s uint32)         { l.mu[s].Lock() }
func (l *lockTable) tryLock(s uint32) bool { return l.mu[s].TryLock() }
func (l *lockTable) unlock(s uint32)       { l.mu[s].Unlock() }
