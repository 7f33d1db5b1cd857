package storage

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A store that opens with keys does not know which keys are absent until
// its hot cache holds every metadata record (metacache.go, complete). When
// they may fit the cache's budget, a warm-up reads them into the cache in
// the background, while the store serves, and makes complete each shard
// that took all of its own and lost none meanwhile.
//
// Its iterator shows the store as it was when the warm-up began, so it
// only adds a record for a key the shard lacks: a commit since published
// the key's newer record (or its absence) to the shard, and the shard
// still holds it unless it dropped it, which ends the shard's warm-up
// (dropped). A commit being applied still hides its keys until it
// publishes over what the warm-up added. A clear, a bulk load or a
// FLUSHALL ends the whole warm-up (epoch).

// warmEntryMin is the least an entry costs the cache: a store with more
// keys than the budget holds at that cost is not warmed.
const warmEntryMin = 64 + 8

// warmCheckEvery is how many records the warm-up reads between checks that
// it should go on.
const warmCheckEvery = 1024

// startWarm begins the warm-up of a store that opened, or that a bulk load
// or a full sync filled; a warm-up already running stops. A store without
// keys is complete at once.
func (s *Store) startWarm() {
	c := s.meta
	if c == nil || s.TotalKeys()*warmEntryMin > c.budget*metaShards {
		return
	}
	select {
	case <-s.stop:
		return
	default:
	}
	if empty, err := s.noMetadata(); err == nil && empty {
		c.markComplete() // NB: members too: no key, no member to look up
		return
	}
	epoch := c.epoch.Add(1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.warm = !sh.complete
		sh.mu.Unlock()
	}
	done := make(chan struct{})
	s.warmed.Store(&done)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		if err := s.warm(epoch); err != nil {
			s.log.Warn("storage: hot cache warm-up stopped", "err", err)
		}
	}()
}

// warmDone is closed when the last warm-up begun ends; nil if none began.
func (s *Store) warmDone() <-chan struct{} {
	if p := s.warmed.Load(); p != nil {
		return *p
	}
	return nil
}

// warm reads every metadata record into the cache, then makes complete the
// shards whose warm-up nothing ended.
func (s *Store) warm(epoch uint64) error {
	c := s.meta
	done, err := s.warmRead(epoch)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		// NB: a shard's flags are another's once the epoch moved: a
		// clear's, a FLUSHALL's or a newer warm-up's.
		if c.epoch.Load() == epoch {
			sh.complete = sh.complete || done && sh.warm
			sh.warm = false
		}
		sh.mu.Unlock()
	}
	return err
}

// warmRead adds every metadata record to the cache; done is false when it
// stopped before the end.
func (s *Store) warmRead(epoch uint64) (done bool, err error) {
	c := s.meta
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{encoding.TagMeta}, UpperBound: []byte{encoding.TagMeta + 1}})
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%warmCheckEvery == 0 {
			select {
			case <-s.stop:
				return false, nil
			default:
			}
			if c.epoch.Load() != epoch {
				return false, nil
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return false, err
		}
		c.warmAdd(it.Key(), v, epoch)
	}
	return true, nil
}

// warmAdd adds the metadata record val of key read by the warm-up of epoch
// unless the shard holds key, or its warm-up ended; a record the shard's
// budget has no room for ends it.
func (c *metaCache) warmAdd(key, val []byte, epoch uint64) {
	val, _ = cacheForm(key, val)
	if val == nil {
		val = emptyRecord // NB: nil is cached as absent
	}
	cost := entryCost(key, val)
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.warm || c.epoch.Load() != epoch {
		return
	}
	if _, ok := sh.m[string(key)]; ok {
		return
	}
	if sh.bytes+cost > c.budget {
		sh.warm = false // NB: the shard's records do not fit it
		return
	}
	sh.store(cacheEntry{}, key, val)
}
