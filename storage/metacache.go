package storage

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

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
	// epoch moves whenever the shards' completeness is set or lost all at
	// once (clear, forget, markComplete): a warm-up of an older epoch
	// stops.
	epoch atomic.Uint64
}

const metaShards = 256

// cachedValueMax is the longest string value the cache keeps whole.
const cachedValueMax = 4096

type metaShard struct {
	mu    sync.Mutex
	gen   atomic.Uint64
	m     map[string]cacheEntry // keyed by Pebble key
	bytes int64
	// committing are the commits being applied with records in this
	// shard: their keys read as misses (metapublish.go).
	committing []*commitShards
	// complete: m holds every metadata record of this shard's keys that
	// Pebble holds (a commit being applied aside, whose keys are
	// hidden), so a metadata key m lacks is absent and its lookup skips
	// Pebble. Set while the store holds no key (it opened empty, or a
	// FLUSHALL emptied it); lost for good, until the next, when the
	// shard drops a record it cannot tell absent (eviction, a write it
	// does not see, a bulk load). membersComplete is the same for the
	// hash fields and set and sorted-set members the shard caches
	// (pointMember), which a command of many members does not add.
	complete, membersComplete bool
	// warm: a warm-up (metawarm.go) is filling the shard's metadata, and
	// nothing the shard held since it began went away.
	warm bool
	_    [5]byte
}

// cacheEntry is one key's cached state. Its key and record share one
// buffer, and the map's key is a string over that buffer's first bytes, so
// an entry costs one allocation, and rewriting it none when the new record
// fits the buffer: the map takes the new buffer's string as its key when
// the buffer changes (Go updates a string key on overwrite). Readers copy
// a record while they hold the shard's lock, so a buffer may be reused in
// place.
type cacheEntry struct {
	buf  []byte // the key, then the record (present only)
	klen int32
	kind entryKind
}

type entryKind uint8

const (
	entPresent entryKind = iota
	entAbsent            // known absent
	entElided            // a member present, its value in Pebble
	entHidden            // a commit of the key is being applied: a miss
)

func (e cacheEntry) record() []byte { return e.buf[e.klen:] }

// mapKey is the entry's key as the map holds it: a string over buf.
func (e cacheEntry) mapKey() string { return unsafe.String(unsafe.SliceData(e.buf), int(e.klen)) }

func (e cacheEntry) cost() int64 { return int64(len(e.buf)) + 64 }

// entryKindOf tells what the cache form val stands for.
func entryKindOf(val []byte) entryKind {
	switch {
	case val == nil:
		return entAbsent
	case isElided(val):
		return entElided
	}
	return entPresent
}

// store makes e hold val (a cache form) for key, reusing e's buffer when
// it is large enough, and puts it in the map.
func (sh *metaShard) store(e cacheEntry, key, val []byte) {
	kind := entryKindOf(val)
	need := len(key)
	if kind == entPresent {
		need += len(val)
	}
	switch {
	case e.buf != nil && cap(e.buf) < need:
		// A record that grows (a list node at each push) grows again:
		// room for a quarter more spares a copy per write.
		e.buf = append(make([]byte, 0, need+need/4), key...)
	case e.buf == nil || cap(e.buf) > 2*need+64:
		e.buf = append(make([]byte, 0, need), key...)
	}
	e.buf, e.klen, e.kind = e.buf[:len(key)], int32(len(key)), kind
	if kind == entPresent {
		e.buf = append(e.buf, val...)
	}
	sh.bytes += e.cost()
	sh.m[e.mapKey()] = e
}

var metaSeed = maphash.MakeSeed()

func newMetaCache(totalBytes int64) *metaCache {
	c := &metaCache{budget: totalBytes / metaShards}
	for i := range c.shards {
		c.shards[i].m = map[string]cacheEntry{}
	}
	return c
}

func (c *metaCache) shard(key []byte) *metaShard {
	return &c.shards[maphash.Bytes(metaSeed, key)&(metaShards-1)]
}

// shardOf is the index of the shard of key.
func (c *metaCache) shardOf(key string) int {
	return int(maphash.String(metaSeed, key) & (metaShards - 1))
}

// entryCost approximates the memory of an entry of key and cache form val.
func entryCost(key, val []byte) int64 {
	if entryKindOf(val) != entPresent {
		return int64(len(key)) + 64
	}
	return int64(len(key)+len(val)) + 64
}

// emptyRecord is a present record of no bytes: found, unlike nil.
var emptyRecord = []byte{}

// get returns the cached record, appended to dst[:0] (elidedMember for a
// member cached as present without its value); found reports that the
// cache holds the key (val nil means it is known to be absent). The
// caller counts the hit or miss.
func (c *metaCache) get(key, dst []byte) (val []byte, found bool, gen uint64) {
	if c == nil {
		return nil, false, 0
	}
	sh := c.shard(key)
	sh.mu.Lock()
	e, found := sh.m[string(key)]
	gen = sh.gen.Load()
	switch {
	case found && len(sh.committing) > 0 && sh.hiddenLocked(key):
		found = false
	case !found && sh.knowsAbsent(key) && (len(sh.committing) == 0 || !sh.hiddenLocked(key)):
		found, e.kind = true, entAbsent
	}
	if found {
		switch e.kind {
		case entHidden:
			found = false
		case entElided:
			val = elidedMember
		case entPresent:
			val = append(dst[:0], e.record()...)
			if val == nil {
				val = emptyRecord
			}
		}
	}
	sh.mu.Unlock()
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
			sh.evictLocked(c.budget - entryCost(key, val))
			sh.store(cacheEntry{}, key, val)
		case old.kind == entHidden:
			// A commit hid it and failed: fill it in place.
			sh.bytes -= old.cost()
			sh.store(old, key, val)
		}
	}
	sh.mu.Unlock()
}

// setLocked records a committed write in sh, whose lock the caller holds
// and whose generation it moved: val is the new record, nil a delete.
// Unless insert is set, only an entry the shard holds changes.
func (c *metaCache) setLocked(sh *metaShard, key string, val []byte, insert bool) {
	bkey := unsafe.Slice(unsafe.StringData(key), len(key))
	val, fits := cacheForm(bkey, val)
	fits = fits && entryCost(bkey, val) <= c.budget/4
	old, ok := sh.m[key]
	switch {
	case ok && fits:
		// NB: overwrite the entry in place rather than delete and insert:
		// a map that deletes on every write fills with tombstones and its
		// lookups slow down.
		sh.bytes -= old.cost()
		sh.store(old, bkey, val)
		sh.evictLocked(c.budget)
	case ok:
		sh.bytes -= old.cost()
		delete(sh.m, old.mapKey())
		sh.dropped(key, val != nil)
	case fits && insert:
		sh.evictLocked(c.budget - entryCost(bkey, val))
		sh.store(cacheEntry{}, bkey, val)
	default:
		sh.dropped(key, val != nil)
	}
}

// knowsAbsent reports whether the shard, lacking key, knows it absent.
func (sh *metaShard) knowsAbsent(key []byte) bool {
	if key[0] == encoding.TagMeta {
		return sh.complete
	}
	return sh.membersComplete && pointMember(key)
}

// pointMember reports whether sub-key sk is a hash field or a set or
// sorted-set member: written one by one, through SetMember and
// DeleteMember, and dropped with their collection's version, never by
// range while it lives.
func pointMember(sk []byte) bool {
	tag, ok := encoding.SubKeyTag(sk)
	return ok && (tag == HashFieldTag || tag == SetMemberTag) // ZTagMember == SetMemberTag
}

// dropped notes that the shard does not hold key's record, which is
// present unless present is false: a record it cannot tell absent
// makes the shard incomplete.
func (sh *metaShard) dropped(key string, present bool) {
	if key[0] == encoding.TagMeta {
		// NB: a warm-up would put back what its iterator read before.
		sh.warm = false
	}
	switch {
	case !present:
	case key[0] == encoding.TagMeta:
		sh.complete = false
	default:
		sh.membersComplete = false
	}
}

// markComplete makes every shard complete: the caller knows Pebble holds
// no metadata record the cache lacks (the store is empty but for the
// records a commit it is publishing holds, which are hidden until then).
func (c *metaCache) markComplete() { c.setComplete(true) }

// noMetadata reports whether Pebble holds no metadata record: no key in
// any database.
func (s *Store) noMetadata() (bool, error) {
	if s.meta == nil {
		return false, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{encoding.TagMeta}, UpperBound: []byte{encoding.TagMeta + 1}})
	if err != nil {
		return false, err
	}
	found := it.First()
	if err := it.Close(); err != nil {
		return false, err
	}
	return !found, nil
}

// shardSet is a set of the cache's shards.
type shardSet [metaShards / 64]uint64

func (ss *shardSet) add(s int)      { ss[s/64] |= 1 << (s % 64) }
func (ss *shardSet) has(s int) bool { return ss[s/64]&(1<<(s%64)) != 0 }

// forgetMembers makes the shards of ss incomplete for members: records
// of theirs reach Pebble around the cache (a collection copied whole).
func (c *metaCache) forgetMembers(ss *shardSet) {
	if c == nil {
		return
	}
	for s := range metaShards {
		if ss.has(s) {
			sh := &c.shards[s]
			sh.mu.Lock()
			sh.membersComplete = false
			sh.mu.Unlock()
		}
	}
}

// forget makes every shard incomplete: records reach Pebble around the
// cache (a bulk load, a full sync).
func (c *metaCache) forget() { c.setComplete(false) }

// aroundLanded follows records that reached Pebble around the cache (a
// bulk load, a full sync's chunk): it drops every entry and refuses the
// fills of readers that began before, since a reader that read Pebble
// before the records landed would cache what they replaced (a key read as
// absent during a load stayed absent after it).
func (c *metaCache) aroundLanded() { c.reset(false, true) }

// setComplete makes every shard complete, members included, or not, and
// ends any warm-up.
func (c *metaCache) setComplete(on bool) { c.reset(on, false) }

// reset ends any warm-up and makes every shard complete or not; empty
// drops every entry too, and refuses the fills of readers that began
// before.
func (c *metaCache) reset(complete, empty bool) {
	if c == nil {
		return
	}
	c.epoch.Add(1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		if empty {
			sh.gen.Add(1)
			sh.m = map[string]cacheEntry{}
			sh.bytes = 0
		}
		sh.complete, sh.membersComplete, sh.warm = complete, complete, false
		sh.mu.Unlock()
	}
}

// cacheForm returns what the cache keeps for record val of key, and false
// when it keeps nothing: metadata whole or, for a long string, its header;
// a member's value when it is at most cachedValueMax bytes, else
// elidedMember (present, value in Pebble); a list node or node index
// whole.
func cacheForm(key, val []byte) ([]byte, bool) {
	if len(key) > 0 && key[0] == encoding.TagMeta {
		h, _ := encoding.StringHeader(val, cachedValueMax)
		return h, true
	}
	if len(val) > cachedValueMax && !wholeMember(key) {
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

// invalidate forgets key (a write whose new record is not at hand).
func (c *metaCache) invalidate(key []byte) {
	if c == nil {
		return
	}
	sh := c.shard(key)
	sh.mu.Lock()
	sh.gen.Add(1)
	if old, ok := sh.m[string(key)]; ok {
		sh.bytes -= old.cost()
		delete(sh.m, old.mapKey())
	}
	sh.dropped(string(key), true)
	sh.mu.Unlock()
}

// hide makes key's entry, if any, a miss until set publishes its new
// record, and refuses the fills of readers that began before. The entry
// stays in its place, so a commit does not delete and re-insert every key
// it writes (see set).
func (c *metaCache) hide(key []byte) {
	if c == nil {
		return
	}
	sh := c.shard(key)
	sh.mu.Lock()
	sh.gen.Add(1)
	if old, ok := sh.m[string(key)]; ok && old.kind != entHidden {
		old.kind = entHidden
		sh.m[old.mapKey()] = old
	}
	// NB: the key's new record is not published but invalidated: the
	// shard cannot know it afterwards.
	sh.dropped(string(key), true)
	sh.mu.Unlock()
}

// clear forgets everything (FLUSHDB, a full sync).
func (c *metaCache) clear() { c.reset(false, true) }

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

// MetaCacheCompleteShards returns how many of the hot cache's shards know
// which metadata keys are absent (complete), of 256.
func (s *Store) MetaCacheCompleteShards() int {
	if s.meta == nil {
		return 0
	}
	n := 0
	for i := range s.meta.shards {
		sh := &s.meta.shards[i]
		sh.mu.Lock()
		if sh.complete {
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// evictLocked drops random entries until the shard's bytes are within limit.
// A complete shard prefers a victim known absent, which it knows without
// the entry: it looks at up to evictLook entries from a random start.
func (sh *metaShard) evictLocked(limit int64) {
	for sh.bytes > limit && len(sh.m) > 0 {
		var victim string
		look := 1
		if sh.complete || sh.membersComplete {
			look = evictLook
		}
		for k, e := range sh.m {
			if victim == "" || e.kind == entAbsent {
				victim = k
			}
			if look--; look == 0 || e.kind == entAbsent {
				break
			}
		}
		e := sh.m[victim]
		sh.bytes -= e.cost()
		delete(sh.m, victim)
		sh.dropped(victim, e.kind != entAbsent)
	}
}

// evictLook is how many entries a complete shard looks at for a victim.
const evictLook = 8

// MetaCacheBytes returns the bytes the hot cache counts against its
// budget (its entries' keys and records, and a fixed cost each).
func (s *Store) MetaCacheBytes() int64 {
	if s.meta == nil {
		return 0
	}
	var n int64
	for i := range s.meta.shards {
		sh := &s.meta.shards[i]
		sh.mu.Lock()
		n += sh.bytes
		sh.mu.Unlock()
	}
	return n
}
