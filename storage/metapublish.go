package storage

import (
	"slices"
	"unsafe"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A commit reaches the hot cache in three steps:
//
//  1. hide: before the batch applies, the shard records the commit's
//     pending map, and its keys read as misses (readers go to Pebble,
//     which shows the batch whole or not at all);
//  2. the batch applies;
//  3. publish: the shards' generations move (a reader's fill that began
//     before is refused), the new records replace the cached ones, and the
//     shards forget the pending map.
//
// Hiding the shards rather than each entry spares a map lookup per record
// and a lock for each: a commit of 100,000 keys did 200,000 of both and
// 300,000 hashes, now 100,000 lookups and 100,000 hashes (200,000 for
// metadata records), with no allocation. Readers of a hidden shard look their key up in the pending
// maps it records, which their owners do not change until they publish.

// publishInsertMax is the most records a commit holding a command of
// many members (Tx.Reserve) may add to the cache (beside those it
// replaces) for members: a larger one replaces the member entries the
// cache holds and adds none, so that a 100,000-member SADD or HSET does
// not allocate an entry per member nobody read yet (a third of its
// time, and as much memory as the members). A large commit of many
// small commands (a replica's, which groups what arrived together)
// adds its members: the next commands of the stream look them up. Metadata records are always added: a key written is
// as often read or deleted soon after, and a DEL of 100,000 keys an MSET
// wrote found each in Pebble, at twice the time.
const publishInsertMax = 1024

// commitShards is a commit's pending map while it is hidden, and the
// shards its keys fall in.
type commitShards struct {
	pending map[string][]byte // nil when none is hidden
	// members: publish adds the member entries the cache lacks.
	members bool
	shards  shardSet
	metas   [metaShards]int32 // a large commit's metadata records by shard
	// recs are the records a large commit adds to the cache (metadata,
	// and members when it adds them) in the order of their shards, so
	// that publishCommit takes each shard's lock once and finds its map
	// in the processor's cache for all the shard's records, where the
	// pending map's own order missed it at every record; counts has how
	// many fall in each shard.
	recs   []commitRec
	counts [metaShards]int32
}

// commitRec is one record of a large commit, with its shard: 32 bytes,
// the record's slice kept as its pointer and length (nil: a delete).
type commitRec struct {
	key   string
	val   *byte
	vlen  int32
	shard uint8
}

func newCommitRec(key string, val []byte, shard int) commitRec {
	return commitRec{key: key, val: unsafe.SliceData(val), vlen: int32(len(val)), shard: uint8(shard)}
}

// record is the record r was made with.
func (r *commitRec) record() []byte {
	if r.val == nil {
		return nil
	}
	return unsafe.Slice(r.val, r.vlen)
}

func (g *commitShards) has(s int) bool { return g.shards.has(s) }

// hideCommit makes the keys of pending read as misses until publishCommit
// or abandonCommit, and refuses the fills of readers that began before.
// metas is about the number of metadata records in pending (at least
// it, or a hint to grow by); members false: publish adds no member
// entry the cache does not hold if the commit is large.
func (c *metaCache) hideCommit(g *commitShards, pending map[string][]byte, metas int, members bool) {
	g.pending, g.members = pending, members
	if len(pending) > publishInsertMax {
		// NB: a commit of more than 1024 records falls in nearly every
		// shard (each is left out with odds of 1.8%): hide them all
		// rather than find the shards of the records first. Metadata
		// records, which publish adds, are counted by shard (growLocked).
		for i := range g.shards {
			g.shards[i] = ^uint64(0)
		}
		g.metas, g.counts = [metaShards]int32{}, [metaShards]int32{}
		n := len(pending)
		if !members {
			n = min(metas, n)
		}
		g.recs = slices.Grow(g.recs[:0], n)
		for k, v := range pending {
			meta := k[0] == encoding.TagMeta
			if meta || members {
				s := c.shardOf(k)
				if meta {
					g.metas[s]++
				}
				g.counts[s]++
				g.recs = append(g.recs, newCommitRec(k, v, s))
			}
		}
		sortByShard(g.recs, &g.counts)
	} else {
		g.shards = shardSet{}
		for k := range pending {
			g.shards.add(c.shardOf(k))
		}
	}
	for s := range metaShards {
		if g.has(s) {
			sh := &c.shards[s]
			sh.mu.Lock()
			sh.gen.Add(1)
			sh.committing = append(sh.committing, g)
			sh.mu.Unlock()
		}
	}
}

// sortByShard orders recs by shard in place, counts holding the number
// of records of each shard.
func sortByShard(recs []commitRec, counts *[metaShards]int32) {
	var ends, next [metaShards]int
	for s, n := range counts {
		ends[s] = int(n)
	}
	bucketSort(recs, ends[:], next[:], func(r commitRec) int { return int(r.shard) })
}

// publishCommit records the hidden commit's new records (nil: deleted),
// then shows its keys again. A commit of more than publishInsertMax
// records holding a command of many adds no member entry the cache does
// not hold.
func (c *metaCache) publishCommit(g *commitShards) {
	// NB: first move every shard's generation, so that no reader that
	// read Pebble before the batch applied fills an old record; a reader
	// that asks meanwhile still misses, and finds the new one in Pebble.
	for s := range metaShards {
		if g.has(s) {
			c.shards[s].gen.Add(1)
		}
	}
	if len(g.pending) <= publishInsertMax {
		for k, v := range g.pending {
			sh := &c.shards[c.shardOf(k)]
			sh.mu.Lock()
			c.setLocked(sh, k, v, true)
			sh.mu.Unlock()
		}
		c.endCommit(g)
		return
	}
	if !g.members {
		// The members this commit replaces, which are not in g.recs.
		for k, v := range g.pending {
			if k[0] != encoding.TagMeta {
				sh := &c.shards[c.shardOf(k)]
				sh.mu.Lock()
				c.setLocked(sh, k, v, false)
				sh.mu.Unlock()
			}
		}
	}
	for i := 0; i < len(g.recs); {
		s := g.recs[i].shard
		sh := &c.shards[s]
		sh.mu.Lock()
		c.growLocked(sh, g.metas[s])
		for ; i < len(g.recs) && g.recs[i].shard == s; i++ {
			c.setLocked(sh, g.recs[i].key, g.recs[i].record(), true)
		}
		sh.mu.Unlock()
	}
	c.endCommit(g)
}

// growLocked makes room in sh's map for the n metadata records a large
// commit adds at once: a map that grows by doubling as 100,000 keys come
// in copies its entries each time and leaves each old table to the
// collector (a third of the memory an MSET of 100,000 keys allocated).
func (c *metaCache) growLocked(sh *metaShard, n int32) {
	// NB: a shard that holds half as many entries already either holds
	// these keys (a DEL of the keys an MSET wrote) or grows at most once.
	if n > 0 && len(sh.m) < int(n)/2 {
		m := make(map[string]cacheEntry, len(sh.m)+int(n))
		for k, e := range sh.m {
			m[k] = e
		}
		sh.m = m
	}
}

// abandonCommit forgets the cached records of the keys of a hidden commit
// that failed to apply, and shows them again: readers read Pebble.
func (c *metaCache) abandonCommit(g *commitShards) {
	for k := range g.pending {
		sh := &c.shards[c.shardOf(k)]
		sh.mu.Lock()
		sh.gen.Add(1)
		if old, ok := sh.m[k]; ok {
			sh.bytes -= old.cost()
			delete(sh.m, old.mapKey())
		}
		sh.dropped(k, true)
		sh.mu.Unlock()
	}
	c.endCommit(g)
}

// endCommit shows the keys of g again.
func (c *metaCache) endCommit(g *commitShards) {
	for s := range metaShards {
		if !g.has(s) {
			continue
		}
		sh := &c.shards[s]
		sh.mu.Lock()
		for i, p := range sh.committing {
			if p == g {
				last := len(sh.committing) - 1
				sh.committing[i] = sh.committing[last]
				sh.committing[last] = nil
				sh.committing = sh.committing[:last]
				break
			}
		}
		sh.mu.Unlock()
	}
	g.pending = nil
	g.recs = nil // NB: as large as the commit: a Tx keeps no such list
}

// hiddenLocked reports whether a commit being applied writes key.
func (sh *metaShard) hiddenLocked(key []byte) bool {
	for _, g := range sh.committing {
		if _, ok := g.pending[string(key)]; ok {
			return true
		}
	}
	return false
}
