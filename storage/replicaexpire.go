package storage

import (
	"sync"
	"time"
)

// A replica's keys expire by the DELs its primary sends, but a writable
// replica's clients may give keys of their own an expiry, which no
// primary will ever delete. As Redis's expireSlaveKeys does, the replica
// remembers each key a client (not its primary's stream, not a load) gave
// an expiry, by name with a bit for each database, and the sweeper,
// while the node is a replica, deletes those found expired. The list
// lives in memory only, as Redis's, and FLUSHALL and a full sync forget
// it: a key of the same name the primary writes later is the primary's.

// replicaExpires is the list: key name → bit i set for database i (the
// first 64 databases, as in Redis).
type replicaExpires struct {
	mu   sync.Mutex
	keys map[string]uint64
}

func (r *replicaExpires) remember(db int, name []byte) {
	if db > 63 {
		return
	}
	r.mu.Lock()
	if r.keys == nil {
		r.keys = map[string]uint64{}
	}
	r.keys[string(name)] |= 1 << db
	r.mu.Unlock()
}

func (r *replicaExpires) forget() {
	r.mu.Lock()
	r.keys = nil
	r.mu.Unlock()
}

// ReplicaExpiresTracked is the number of keys the list holds (INFO's
// slave_expires_tracked_keys).
func (s *Store) ReplicaExpiresTracked() int {
	s.replicaExpires.mu.Lock()
	defer s.replicaExpires.mu.Unlock()
	return len(s.replicaExpires.keys)
}

// SetFromPrimary marks t as running its primary's commands (a
// redis-server primary's stream): the expiries it sets are the
// primary's to end, and the replica does not remember them.
func (t *Tx) SetFromPrimary() { t.fromPrimary = true }

// rememberExpiry notes that a client of a replica gave k an expiry.
func (t *Tx) rememberExpiry(k *Key) {
	if t.fromPrimary || t.bulk || !t.s.repl.replica.Load() {
		return
	}
	t.s.replicaExpires.remember(k.DB, k.Name)
}

// replicaExpireBatch is how many remembered keys a pass takes at a time.
const replicaExpireBatch = 64

// expireReplicaKeys is a replica's pass of the sweeper: it checks the
// remembered keys in the map's order, deletes those past their expiry,
// and forgets those that are gone or have none. As Redis's, it stops once
// more than 3 keys it checked were not due, or after 1 ms.
func (s *Store) expireReplicaKeys(tx *Tx) {
	start := time.Now()
	r := &s.replicaExpires
	notDue := 0
	type entry struct {
		name string
		dbs  uint64
	}
	batch := make([]entry, 0, replicaExpireBatch)
	for notDue <= 3 && time.Since(start) <= time.Millisecond && !s.expireOff.Load() {
		batch = batch[:0]
		r.mu.Lock()
		for name, dbs := range r.keys {
			batch = append(batch, entry{name, dbs})
			if len(batch) == replicaExpireBatch {
				break
			}
		}
		r.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for i, e := range batch {
			var done uint64 // databases where the key no longer needs a check
			for db := 0; db < min(64, s.opts.Databases); db++ {
				if e.dbs&(1<<db) == 0 {
					continue
				}
				switch s.expireRemembered(tx, db, []byte(e.name)) {
				case expiredNow, noExpiry:
					done |= 1 << db
				default:
					notDue++
				}
			}
			batch[i].dbs = done
		}
		r.mu.Lock()
		for _, e := range batch {
			// NB: a client may have remembered the key again meanwhile,
			// in another database: only the checked bits go.
			if left := r.keys[e.name] &^ e.dbs; left != 0 {
				r.keys[e.name] = left
			} else {
				delete(r.keys, e.name)
			}
		}
		r.mu.Unlock()
	}
}

type rememberedState uint8

const (
	notDueYet rememberedState = iota
	expiredNow
	noExpiry // gone, or no longer expiring
)

// expireRemembered deletes a remembered key of db if it is past its
// expiry, as the primary's sweeper deletes its keys.
func (s *Store) expireRemembered(tx *Tx, db int, name []byte) rememberedState {
	var k Key
	tx.Lock(db, name)
	defer tx.Commit()
	if err := tx.LookupInto(&k, db, name); err != nil {
		return notDueYet
	}
	switch {
	case !k.Exists || k.Meta.ExpireAt == 0:
		return noExpiry
	case !k.Meta.Expired(s.NowMs()):
		return notDueYet
	}
	tx.Delete(&k)
	if fn := s.expireHook.Load(); fn != nil {
		(*fn)(tx, db, name)
	}
	s.Stats.ExpiredKeys.Add(1)
	return expiredNow
}
