package storage

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoaldb/shoal/storage/encoding"
)

// accessClocks keep each key's access clock, the field Redis keeps in
// every object as lru: OBJECT IDLETIME, OBJECT FREQ and DEBUG OBJECT read
// it. Under an LFU maxmemory-policy it holds the minutes of the last
// decrement (16 bits) and a logarithmic access counter (8 bits), and
// otherwise the LRU clock of the last access (seconds, 24 bits), as in
// Redis; switching policies reinterprets the stored clocks, as Redis does.
//
// The clocks live in memory only, in a bounded table keyed by a 64-bit
// hash of the key's metadata record key, so an access costs a hash, a
// shard lock and a map update, and never a Pebble write. A key without a
// clock (every key after a restart, or one evicted from a full shard, at
// random) reads as accessed when the store opened, as Redis's keys read
// as accessed when an RDB loaded.
type accessClocks struct {
	shards [accessShards]accessShard
	now    func() time.Time
	opened time.Time

	lfu       atomic.Bool
	logFactor atomic.Int64
	decayTime atomic.Int64
}

const (
	accessShards = 256
	// accessShardMax bounds each shard: 1M keys' clocks in all.
	accessShardMax = 4096

	lruClockMax = 1<<24 - 1
	// lfuInitVal is the counter of a new key, so that it is not evicted
	// before it had a chance to be accessed (Redis's LFU_INIT_VAL).
	lfuInitVal = 5
)

type accessShard struct {
	mu sync.Mutex
	m  map[uint64]uint32
	_  [40]byte
}

var accessSeed = maphash.MakeSeed()

func newAccessClocks(now func() time.Time) *accessClocks {
	a := &accessClocks{now: now, opened: now()}
	for i := range a.shards {
		a.shards[i].m = map[uint64]uint32{}
	}
	a.logFactor.Store(10)
	a.decayTime.Store(1)
	return a
}

// lruClock is Redis's LRU_CLOCK(): Unix seconds in 24 bits.
func lruClock(t time.Time) uint32 { return uint32(t.Unix()) & lruClockMax }

// lfuMinutes is Redis's LFUGetTimeInMinutes(): Unix minutes in 16 bits.
func lfuMinutes(t time.Time) uint32 { return uint32(t.Unix()/60) & 0xffff }

// initial is the clock of a key created now: Redis's createObject.
func (a *accessClocks) initial(now time.Time) uint32 {
	if a.lfu.Load() {
		return lfuMinutes(now)<<8 | lfuInitVal
	}
	return lruClock(now)
}

func (a *accessClocks) slot(key []byte) (*accessShard, uint64) {
	h := maphash.Bytes(accessSeed, key)
	return &a.shards[h&(accessShards-1)], h
}

// get returns key's clock.
func (a *accessClocks) get(key []byte) uint32 {
	sh, h := a.slot(key)
	sh.mu.Lock()
	v, ok := sh.m[h]
	sh.mu.Unlock()
	if !ok {
		return a.initial(a.opened)
	}
	return v
}

// touch records an access of the live key key, as Redis's lookupKey
// does: the LRU clock now, or the LFU counter decayed and incremented.
func (a *accessClocks) touch(key []byte) {
	now := a.now()
	sh, h := a.slot(key)
	sh.mu.Lock()
	if a.lfu.Load() {
		v, ok := sh.m[h]
		if !ok {
			v = a.initial(a.opened)
		}
		c := a.lfuDecr(v, now)
		c = lfuLogIncr(c, a.logFactor.Load())
		sh.putLocked(h, lfuMinutes(now)<<8|c)
	} else {
		sh.putLocked(h, lruClock(now))
	}
	sh.mu.Unlock()
}

// created records that key was created (or replaced over an absent or
// expired key) now.
func (a *accessClocks) created(key []byte) {
	v := a.initial(a.now())
	sh, h := a.slot(key)
	sh.mu.Lock()
	sh.putLocked(h, v)
	sh.mu.Unlock()
}

func (sh *accessShard) putLocked(h uint64, v uint32) {
	if _, ok := sh.m[h]; !ok && len(sh.m) >= accessShardMax {
		for k := range sh.m { // Go starts a map's iteration at random
			delete(sh.m, k)
			break
		}
	}
	sh.m[h] = v
}

// lfuDecr is Redis's LFUDecrAndReturn: the counter of clock v less one
// for every lfu-decay-time minutes since its last decrement.
func (a *accessClocks) lfuDecr(v uint32, now time.Time) uint32 {
	ldt, counter := v>>8, v&0xff
	decay := a.decayTime.Load()
	if decay <= 0 {
		return counter
	}
	elapsed := lfuMinutes(now)
	if elapsed >= ldt {
		elapsed -= ldt
	} else {
		elapsed = 65535 - ldt + elapsed
	}
	periods := int64(elapsed) / decay
	if periods >= int64(counter) {
		return 0
	}
	return counter - uint32(periods)
}

// lfuLogIncr is Redis's LFULogIncr: the counter grows by one with a
// probability that falls as it grows, by lfu-log-factor.
func lfuLogIncr(counter uint32, factor int64) uint32 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	if rand.Float64() < 1.0/(base*float64(factor)+1) {
		counter++
	}
	return counter
}

// SetAccessPolicy sets how access clocks count: lfu (an LFU
// maxmemory-policy) with lfu-log-factor and lfu-decay-time, or LRU.
func (s *Store) SetAccessPolicy(lfu bool, logFactor, decayTime int64) {
	s.clocks.lfu.Store(lfu)
	s.clocks.logFactor.Store(logFactor)
	s.clocks.decayTime.Store(decayTime)
}

// AccessClock returns the live key k's clock, Redis's lru field: what
// DEBUG OBJECT prints as lru.
func (t *Tx) AccessClock(k *Key) uint32 {
	t.scratch = encoding.MetaKey(t.scratch[:0], k.Phys, k.Name)
	return t.s.clocks.get(t.scratch)
}

// IdleTime returns how long the live key k was not accessed, Redis's
// estimateObjectIdleTime, in whole seconds; under an LFU policy the
// clock is read as an LRU clock, as Redis does.
func (t *Tx) IdleTime(k *Key) int64 {
	clock := t.AccessClock(k)
	now := lruClock(t.s.now())
	if now >= clock {
		return int64(now - clock)
	}
	return int64(now + (lruClockMax - clock))
}

// AccessFrequency returns the live key k's LFU counter, decayed to now:
// OBJECT FREQ.
func (t *Tx) AccessFrequency(k *Key) int64 {
	return int64(t.s.clocks.lfuDecr(t.AccessClock(k), t.s.now()))
}
