package storage

import (
	"hash/maphash"
	"math/rand/v2"
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
// The clocks live in memory only, in a fixed table of 2^20 slots indexed
// by a 64-bit hash of the key's metadata record key; a slot holds 8 bits
// of that hash as a tag beside the 24-bit clock, so an access costs a
// hash and an atomic store, with no lock and no map, and never a Pebble
// write. A key whose slot another key took since (or every key after a
// restart) has no clock and reads as accessed when the store opened, as
// Redis's keys read as accessed when an RDB loaded.
type accessClocks struct {
	slots  []atomic.Uint32
	now    func() time.Time
	opened time.Time
	// coarse is the Unix time in seconds that accesses record, refreshed
	// every 100 ms (runCoarse) as Redis refreshes its LRU clock at hz,
	// where reading the clock at each access cost 50 ns; 0 while the
	// store's clock is not the real one (tests move theirs), which is then
	// read at each access.
	coarse atomic.Int64

	lfu       atomic.Bool
	logFactor atomic.Int64
	decayTime atomic.Int64
}

const (
	accessSlots = 1 << 20

	lruClockMax = 1<<24 - 1
	// lfuInitVal is the counter of a new key, so that it is not evicted
	// before it had a chance to be accessed (Redis's LFU_INIT_VAL).
	lfuInitVal = 5
)

var accessSeed = maphash.MakeSeed()

func newAccessClocks(now func() time.Time) *accessClocks {
	a := &accessClocks{now: now, opened: now(), slots: make([]atomic.Uint32, accessSlots)}
	a.logFactor.Store(10)
	a.decayTime.Store(1)
	return a
}

// clockNow is the time an access records.
func (a *accessClocks) clockNow() time.Time {
	if sec := a.coarse.Load(); sec != 0 {
		return time.Unix(sec, 0)
	}
	return a.now()
}

// coarseEvery is how often runCoarse refreshes the clock accesses record.
const coarseEvery = 100 * time.Millisecond

// runCoarse keeps coarse at the real clock's second until stop closes.
func (a *accessClocks) runCoarse(stop <-chan struct{}) {
	t := time.NewTicker(coarseEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			a.coarse.Store(now.Unix())
		}
	}
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

// slot returns key's slot and the tag its clock is stored with (never 0,
// which an unused slot holds).
func (a *accessClocks) slot(key []byte) (*atomic.Uint32, uint32) {
	h := maphash.Bytes(accessSeed, key)
	return &a.slots[h&(accessSlots-1)], uint32(h>>56|1) << 24
}

// get returns key's clock.
func (a *accessClocks) get(key []byte) uint32 {
	sl, tag := a.slot(key)
	if v := sl.Load(); v&^lruClockMax == tag {
		return v & lruClockMax
	}
	return a.initial(a.opened)
}

// touch records an access of the live key key, as Redis's lookupKey
// does: the LRU clock now, or the LFU counter decayed and incremented.
// A slot another access changes meanwhile keeps that access's clock.
func (a *accessClocks) touch(key []byte) {
	now := a.clockNow()
	sl, tag := a.slot(key)
	old := sl.Load()
	if !a.lfu.Load() {
		if v := tag | lruClock(now); v != old {
			sl.Store(v)
		}
		return
	}
	v := a.initial(a.opened)
	if old&^lruClockMax == tag {
		v = old & lruClockMax
	}
	c := a.lfuDecr(v, now)
	c = lfuLogIncr(c, a.logFactor.Load())
	sl.CompareAndSwap(old, tag|lfuMinutes(now)<<8|c)
}

// created records that key was created (or replaced over an absent or
// expired key) now.
func (a *accessClocks) created(key []byte) {
	sl, tag := a.slot(key)
	sl.Store(tag | a.initial(a.clockNow()))
}

// createdSlot is what createdMany takes for key: its slot, then its tag.
func (a *accessClocks) createdSlot(key []byte) uint64 {
	h := maphash.Bytes(accessSeed, key)
	return (h&(accessSlots-1))<<32 | uint64(uint32(h>>56|1)<<24)
}

// createdMany is created for many keys at once, each given as
// createdSlot returned it; it sorts slots. In the order of their slots
// the stores run through the table as the processor prefetches it, where
// an MSET of 100,000 new keys waited for a line of memory at each (7% of
// its time).
func (a *accessClocks) createdMany(slots []uint64) {
	if len(slots) == 0 {
		return
	}
	sortBySlot(slots)
	clock := a.initial(a.clockNow())
	for _, v := range slots {
		a.slots[v>>32].Store(uint32(v) | clock)
	}
}

// sortBySlot orders createdSlot's values by slot, in place: a radix sort
// of the slot's 20 bits, the high 10 then the low 10 within each bucket
// (a comparison sort took 8 ms for 100,000 keys; a radix sort through a
// copy held as much memory again at the commit's peak).
func sortBySlot(v []uint64) { radixInPlace(v, 32+10) }

// radixInPlace orders v by the 10 bits from shift up, then, while shift is
// above the slot's lowest bit, each bucket by the 10 bits below; a short
// v by its slot whole.
func radixInPlace(v []uint64, shift int) {
	const bits = 10
	if len(v) < 128 {
		// NB: a bucket of a hundred or so is sorted faster by insertion
		// than through 8 KiB of counts.
		for i := 1; i < len(v); i++ {
			for j := i; j > 0 && v[j]>>32 < v[j-1]>>32; j-- {
				v[j], v[j-1] = v[j-1], v[j]
			}
		}
		return
	}
	bucket := func(x uint64) int { return int(x>>shift) & (1<<bits - 1) }
	var end, next [1 << bits]int
	for _, x := range v {
		end[bucket(x)]++
	}
	bucketSort(v, end[:], next[:], bucket)
	if shift > 32 {
		from := 0
		for _, to := range end {
			radixInPlace(v[from:to], shift-bits)
			from = to
		}
	}
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

// SetAccess sets the live key k's clock as RESTORE's IDLETIME and FREQ
// do (Redis's objectSetLRUOrLFU): under an LFU policy the counter freq,
// when not negative; otherwise the last access idle seconds ago, when
// idle is not negative.
func (t *Tx) SetAccess(k *Key, idle, freq int64) {
	a := t.s.clocks
	now := a.clockNow()
	var v uint32
	switch lfu := a.lfu.Load(); {
	case lfu && freq >= 0:
		v = lfuMinutes(now)<<8 | uint32(freq)
	case !lfu && idle >= 0:
		// NB: as Redis wraps it, into LRU_CLOCK_MAX rather than past it.
		abs := int64(lruClock(now)) - idle
		if abs < 0 {
			abs += lruClockMax
		}
		v = uint32(abs) & lruClockMax
	default:
		return
	}
	t.scratch = encoding.MetaKey(t.scratch[:0], k.Phys, k.Name)
	sl, tag := a.slot(t.scratch)
	sl.Store(tag | v)
}

// AccessFrequency returns the live key k's LFU counter, decayed to now:
// OBJECT FREQ.
func (t *Tx) AccessFrequency(k *Key) int64 {
	return int64(t.s.clocks.lfuDecr(t.AccessClock(k), t.s.now()))
}
