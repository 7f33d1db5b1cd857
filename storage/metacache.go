package storage

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/shoaldb/shoal/storage/encoding"
)

// metaCache keeps committed metadata records (and with them whole string
// values) and collection members read by point lookups (see members.go) in
// memory, so reads of hot keys skip Pebble's memtable and block lookups. It
// is exact, not a hint:
//
//   - Writers update it after Pebble applied their batch, while they still
//     hold the keys' locks, so it never lags a commit a reader could see.
//   - Readers that miss read Pebble without a lock; they insert what they
//     read only if the shard's generation did not move meanwhile, so a
//     value read before a concurrent commit is never cached after it.
//
// A string longer than cachedValueMax is cached as its header alone (type
// and expiry): enough for a write that replaces it, while a read of its
// value goes to Pebble and its block cache; a member whose value is longer
// is cached as present without its value. Entries are evicted at random
// when a shard exceeds its byte budget.
type metaCache struct {
	shards [metaShards]metaShard
	budget int64 // bytes per shard
	hits   atomic.Int64
	misses atomic.Int64
}

const metaShards = 256

// cachedValueMax is the longest string value the cache keeps whole.
const cachedValueMax = 256

type metaShard struct {
	mu    sync.Mutex
	gen   atomic.Uint64
	m     map[string][]byte // Pebble meta key → encoded record; nil: known absent
	bytes int64
	_     [32]byte
}

var metaSeed = maphash.MakeSeed()

func newMetaCache(totalBytes int64) *metaCache {
	c := &metaCache{budget: totalBytes / metaShards}
	for i := range c.shards {
		c.shards[i].m = map[string][]byte{}
	}
	return c
}

func (c *metaCache) shard(key []byte) *metaShard {
	return &c.shards[maphash.Bytes(metaSeed, key)&(metaShards-1)]
}

// entryCost approximates the memory of one entry.
func entryCost(key, val []byte) int64 { return int64(len(key)+len(val)) + 64 }

// get returns the cached record; found reports that the cache holds the
// key (val nil means it is known to be absent). The result must not be
// modified. The caller counts the hit or miss.
func (c *metaCache) get(key []byte) (val []byte, found bool, gen uint64) {
	if c == nil {
		return nil, false, 0
	}
	sh := c.shard(key)
	sh.mu.Lock()
	val, found = sh.m[string(key)]
	gen = sh.gen.Load()
	sh.mu.Unlock()
	if found && isHidden(val) {
		return nil, false, gen
	}
	return val, found, gen
}

// fill inserts what a reader read from Pebble, unless a writer changed the
// shard since the reader's get returned gen.
func (c *metaCache) fill(key, val []byte, gen uint64) {
	if c == nil {
		return
	}
	val, ok := cacheForm(key, val)
	if !ok || entryCost(key, val) > c.budget/4 {
		return
	}
	sh := c.shard(key)
	sh.mu.Lock()
	if sh.gen.Load() == gen {
		switch old, ok := sh.m[string(key)]; {
		case !ok:
			sh.putLocked(key, val, c.budget)
		case isHidden(old):
			// A commit hid it and failed: fill it in place.
			sh.bytes += entryCost(key, val) - entryCost(key, old)
			sh.m[string(key)] = cloneRecord(val)
		}
	}
	sh.mu.Unlock()
}

// set records a committed write: val is the new record, nil a delete.
func (c *metaCache) set(key, val []byte) {
	if c == nil {
		return
	}
	val, fits := cacheForm(key, val)
	fits = fits && entryCost(key, val) <= c.budget/4
	sh := c.shard(key)
	sh.mu.Lock()
	sh.gen.Add(1)
	old, ok := sh.m[string(key)]
	switch {
	case ok && fits:
		// NB: overwrite the entry in place rather than delete and insert:
		// a map that deletes on every write fills with tombstones and its
		// lookups slow down.
		sh.bytes += entryCost(key, val) - entryCost(key, old)
		sh.m[string(key)] = cloneRecord(val)
		sh.evictLocked(c.budget)
	case ok:
		sh.bytes -= entryCost(key, old)
		delete(sh.m, string(key))
	case fits:
		sh.putLocked(key, val, c.budget)
	}
	sh.mu.Unlock()
}

// cacheForm returns what the cache keeps for record val of key, and false
// when it keeps nothing: metadata whole or, for a long string, its header;
// a member's value when it is at most cachedValueMax bytes, else
// elidedMember (present, value in Pebble).
func cacheForm(key, val []byte) ([]byte, bool) {
	if len(key) > 0 && key[0] == encoding.TagMeta {
		h, _ := encoding.StringHeader(val, cachedValueMax)
		return h, true
	}
	if len(val) > cachedValueMax {
		return elidedMember, true
	}
	return val, true
}

// elidedMember is what the cache holds for a member whose value is longer
// than cachedValueMax: enough for a write that needs only to know whether
// the member exists (HSET of a long value, HDEL, HEXISTS). It is told
// apart by identity, never by content.
var elidedMember = []byte{0}

func isElided(v []byte) bool { return len(v) == 1 && &v[0] == &elidedMember[0] }

// complete reports whether cached record v of key is the whole record:
// not a long string's header or a long member's stand-in.
func complete(key, v []byte) bool {
	if key[0] == encoding.TagMeta {
		return encoding.HasValue(v)
	}
	return !isElided(v)
}

// cloneRecord copies a record for the cache; nil (known absent) and
// elidedMember stay as they are. A cached slice is never modified:
// readers copy it after the shard's lock is released.
func cloneRecord(val []byte) []byte {
	if val == nil || isElided(val) || isHidden(val) {
		return val
	}
	return append(make([]byte, 0, len(val)), val...)
}

// invalidate forgets key (a write whose new record is not at hand).
func (c *metaCache) invalidate(key []byte) {
	if c == nil {
		return
	}
	sh := c.shard(key)
	sh.mu.Lock()
	sh.gen.Add(1)
	if old, ok := sh.m[string(key)]; ok {
		sh.bytes -= entryCost(key, old)
		delete(sh.m, string(key))
	}
	sh.mu.Unlock()
}

// hiddenRecord stands in for the record of a key whose commit is being
// applied: readers take it for a miss. It is kept in the entry's place, so
// a commit does not delete and re-insert every key it writes (see set).
// It is told apart by identity.
var hiddenRecord = []byte{0}

func isHidden(v []byte) bool { return len(v) == 1 && &v[0] == &hiddenRecord[0] }

// hide makes key's entry, if any, a miss until set publishes its new
// record, and refuses the fills of readers that began before.
func (c *metaCache) hide(key []byte) {
	if c == nil {
		return
	}
	sh := c.shard(key)
	sh.mu.Lock()
	sh.gen.Add(1)
	if old, ok := sh.m[string(key)]; ok && !isHidden(old) {
		sh.bytes += entryCost(key, hiddenRecord) - entryCost(key, old)
		sh.m[string(key)] = hiddenRecord
	}
	sh.mu.Unlock()
}

// bump moves key's shard generation: a reader's fill that began before
// is refused.
func (c *metaCache) bump(key []byte) {
	if c == nil {
		return
	}
	c.shard(key).gen.Add(1)
}

// clear forgets everything (FLUSHDB, a full sync).
func (c *metaCache) clear() {
	if c == nil {
		return
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.gen.Add(1)
		sh.m = map[string][]byte{}
		sh.bytes = 0
		sh.mu.Unlock()
	}
}

func (sh *metaShard) putLocked(key, val []byte, budget int64) {
	cost := entryCost(key, val)
	sh.evictLocked(budget - cost)
	sh.m[string(key)] = cloneRecord(val)
	sh.bytes += cost
}

func (c *metaCache) countMiss() {
	if c != nil {
		c.misses.Add(1)
	}
}

// MetaCacheStats returns the cache's hits and misses since start.
func (s *Store) MetaCacheStats() (hits, misses int64) {
	if s.meta == nil {
		return 0, 0
	}
	return s.meta.hits.Load(), s.meta.misses.Load()
}

// evictLocked drops random entries until the shard's bytes are within limit.
func (sh *metaShard) evictLocked(limit int64) {
	for sh.bytes > limit && len(sh.m) > 0 {
		for k, v := range sh.m { // random victim
			sh.bytes -= entryCost([]byte(k), v)
			delete(sh.m, k)
			break
		}
	}
}
