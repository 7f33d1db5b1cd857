package server

import (
	"strings"

	"github.com/shoaldb/shoal/config"
)

// clientsLimit is maxmemory-clients in bytes, 0 for none: a size, or a
// percentage of maxmemory (kept as its negative); never less than 128
// KiB, as Redis's getClientEvictionLimit keeps a server it can still
// talk to.
func clientsLimit(cfg *config.Config) int64 {
	v := cfg.MaxMemoryClients
	if v < 0 {
		v = int64(float64(cfg.MaxMemory) * float64(-v) / 100)
	}
	if v > 0 {
		v = max(v, minClientsLimit)
	}
	return v
}

// minClientsLimit is the least maxmemory-clients Redis applies.
const minClientsLimit = 128 << 10

// evictClients closes clients, the largest first, while the memory of
// every client passes maxmemory-clients, as Redis 7.0's evictClients
// does: clients set NO-EVICT are spared, and replicas' links, which leave
// the clients. It runs after a read grew a client's query buffer, after
// a command queued output for another client (noteOutputGrew), and once
// a second.
func (s *Server) evictClients() {
	limit := s.clientsLimit.Load()
	if limit <= 0 {
		return
	}
	// NB: one check at a time: two that summed the same clients would
	// each close enough of them.
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	type held struct {
		c   *conn
		mem int64
	}
	var all []held
	var total int64
	s.clientsMu.Lock()
	for _, cn := range s.clients {
		snap := cn.info.Load()
		if snap == nil || cn.evicted.Load() || cn.replicaLink.Load() {
			continue // NB: an evicted client frees its memory as it ends
		}
		mem := cn.memOf(nil, snap)
		mem.out += cn.unweighed()
		m := mem.total()
		total += m
		if !snap.NoEvict {
			all = append(all, held{cn, m})
		}
	}
	s.clientsMu.Unlock()
	for total >= limit && len(all) > 0 {
		big := 0
		for i := range all {
			if all[i].mem > all[big].mem {
				big = i
			}
		}
		victim := all[big]
		all = append(all[:big], all[big+1:]...)
		var b strings.Builder
		s.writeClientLine(&b, victim.c, nil)
		s.log.Info("Evicting client: " + strings.TrimSuffix(b.String(), "\n"))
		if !victim.c.evicted.CompareAndSwap(false, true) {
			continue // another check evicted it meanwhile
		}
		s.stats.evictedClients.Add(1)
		// NB: out of CLIENT LIST before its socket closes, as Redis
		// frees it at once.
		s.freeClient(victim.c)
		victim.c.closeConn()
		total -= victim.mem
	}
}

// noteOutputGrew tells that a message queued for a client grew its output
// past the reply buffer, into its tot-mem: the command that queued it
// checks maxmemory-clients before its reply leaves (evictIfDue), as Redis
// runs evictClients before it runs the next command, so no client reads
// the victim in CLIENT LIST after that reply.
func (s *Server) noteOutputGrew() {
	if s.clientsLimit.Load() > 0 && !s.evictDue.Load() {
		s.evictDue.Store(true)
	}
}

// evictIfDue runs evictClients when a queued message asked for it.
func (s *Server) evictIfDue() {
	if s.evictDue.Load() && s.evictDue.CompareAndSwap(true, false) {
		s.evictClients()
	}
}
