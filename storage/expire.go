package storage

import (
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Active expiry: a sweeper walks the expiry index of each database from
// the oldest deadline up to now and deletes the keys that are still expired
// under their lock. Reads treat an expired key as absent before then, so the
// sweeper only reclaims space; it bounds each pass so writers are not starved.

const expireBatch = 256

// OnExpire, when set before any key expires, is called for every key the
// sweeper deletes, while the key's lock is held (replication sends a DEL).
type ExpireHook func(t *Tx, db int, key []byte)

// SetExpireHook installs fn; see ExpireHook.
func (s *Store) SetExpireHook(fn ExpireHook) { s.expireHook.Store(&fn) }

type expireHookPtr = atomic.Pointer[ExpireHook]

// SetActiveExpire switches the active expiry sweeper on or off (DEBUG
// SET-ACTIVE-EXPIRE, maintenance) and returns the previous setting. While
// it is off, expired keys stay on disk, and reads still treat them as
// absent. It starts on; the setting is not persisted.
func (s *Store) SetActiveExpire(on bool) (was bool) { return !s.expireOff.Swap(!on) }

// SetExpireHold installs held, asked before each pass of the active
// expiry sweeper: while it reports true the sweeper skips its passes (as
// Redis's activeExpireCycle does while clients are paused), without
// changing SetActiveExpire's switch.
func (s *Store) SetExpireHold(held func() bool) { s.expireHold.Store(&held) }

// ActiveExpire reports whether the active expiry sweeper is on.
func (s *Store) ActiveExpire() bool { return !s.expireOff.Load() }

// SetExpireHz changes how many active expiry passes run per second (hz,
// at least 1), from the next pass on. A store opened with the sweeper off
// keeps it off.
func (s *Store) SetExpireHz(hz int) { s.expireHz.Store(int32(max(hz, 1))) }

// ExpireHz returns the active expiry passes per second.
func (s *Store) ExpireHz() int { return int(s.expireHz.Load()) }

func (s *Store) expireLoop() {
	defer s.wg.Done()
	hz := s.ExpireHz()
	t := time.NewTicker(time.Second / time.Duration(hz))
	defer t.Stop()
	tx := s.NewTx()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if now := s.ExpireHz(); now != hz {
				hz = now
				t.Reset(time.Second / time.Duration(hz))
			}
			if held := s.expireHold.Load(); held != nil && (*held)() {
				continue
			}
			start := time.Now()
			if s.repl.replica.Load() {
				s.expireReplicaKeys(tx)
				s.latencyEvent(LatencyExpireCycle, time.Since(start))
				continue
			}
			for db := 0; db < s.opts.Databases; db++ {
				// NB: switched off mid-pass, the sweeper stops at the next batch.
				for !s.expireOff.Load() && s.ExpireCycle(tx, db) == expireBatch {
					select {
					case <-s.stop:
						return
					default:
					}
				}
			}
			s.latencyEvent(LatencyExpireCycle, time.Since(start))
		}
	}
}

// ExpireCycle deletes up to expireBatch expired keys of logical database db
// and returns how many it deleted.
func (s *Store) ExpireCycle(tx *Tx, db int) int {
	if s.health.failing.Load() || s.repl.replica.Load() {
		// NB: a replica's keys expire by the DELs its primary replicates.
		return 0
	}
	now := s.NowMs()
	phys := s.phys(db)
	lower := []byte{encoding.TagExpiry, phys}
	upper := encoding.ExpiryKey(nil, phys, now+1, nil)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0
	}
	type entry struct {
		at   int64
		name []byte
	}
	var due []entry
	for ok := it.First(); ok && len(due) < expireBatch; ok = it.Next() {
		_, at, key, err := encoding.DecodeExpiryKey(it.Key())
		if err != nil {
			continue
		}
		due = append(due, entry{at, append([]byte(nil), key...)})
	}
	it.Close()
	n := 0
	var k Key
	for _, e := range due {
		name := e.name
		tx.Lock(db, name)
		if err := tx.LookupInto(&k, db, name); err != nil || !k.Exists || k.Meta.ExpireAt != e.at || !k.Meta.Expired(s.NowMs()) {
			if err == nil && (!k.Exists || k.Meta.ExpireAt != e.at) {
				// NB: an index entry that no longer matches its key's
				// metadata would otherwise be visited on every pass.
				tx.batch().Delete(encoding.ExpiryKey(nil, phys, e.at, name), nil)
			}
			tx.Commit()
			continue
		}
		tx.Delete(&k)
		if fn := s.expireHook.Load(); fn != nil {
			(*fn)(tx, db, name)
		}
		tx.Commit()
		s.Stats.ExpiredKeys.Add(1)
		n++
	}
	return n
}

// SetExpireOnRead says whether lookups through t delete the keys they
// find past their expiry, as Redis's expireIfNeeded does when a command
// meets one: the expire hook runs (the "expired" event, a DEL for
// redis-server replicas) and ExpiredKeys counts it, before the lookup
// answers that the key is absent. Connections' Txs do; the sweeper's
// and the loaders' do not. A replica, a failing disk and a held sweeper
// (CLIENT PAUSE) leave the key to the sweeper, reading as absent, as
// Redis leaves it on a replica or while clients are paused.
func (t *Tx) SetExpireOnRead(on bool) { t.expireOnRead = on }

// expireFound deletes k, which lookup (in mode) found past its expiry,
// when SetExpireOnRead allows it. Under a lock t already holds it
// deletes at once; otherwise it takes the key's lock (waiting only when
// t holds none, so a command half done never commits here) and looks the
// key up again, which may find it rewritten by another client.
func (t *Tx) expireFound(k *Key, mode int) error {
	s := t.s
	if s.health.failing.Load() || s.repl.replica.Load() {
		return nil
	}
	if held := s.expireHold.Load(); held != nil && (*held)() {
		return nil
	}
	st := stripeOf(k.Phys, k.Name)
	if !t.holds.Has(st) {
		if !t.lockToRead(st) {
			return nil
		}
		t.expireOnRead = false
		err := t.lookup(k, k.DB, k.Name, mode)
		t.expireOnRead = true
		if err != nil || !k.Exists || k.Live {
			return err
		}
	}
	t.Delete(k)
	if fn := s.expireHook.Load(); fn != nil {
		(*fn)(t, k.DB, k.Name)
	}
	s.Stats.ExpiredKeys.Add(1)
	return nil
}
