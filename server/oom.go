package server

import (
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// Past maxmemory, Shoal refuses what Redis refuses when its used memory
// passes it and evicting can free nothing more: the commands that may
// grow memory (denyoom), a script that declares it may write without
// allow-oom, a command queued in MULTI, an EXEC holding one of those, and
// a script's first write, all with Redis's OOM error. Nothing is evicted,
// under any policy: the data lives in Pebble, and evicting a key would
// free no memory of the process.
//
// What is measured is the memory Shoal cannot give back by itself: the
// Go heap less the hot cache, which keeps within its budget (Pebble's
// block cache and memtables are outside the heap and bounded by their
// sizes): client buffers, transactions and scripts, the commands'
// working memory. It is read once a second by the cron and at once when
// maxmemory changes, after a collection when it reads over (at most every
// oomCollectEvery), so that garbage does not read as memory in use. A
// replica measures nothing under replica-ignore-maxmemory (its default),
// as Redis's does not evict.

// errOOM is Redis's refusal past maxmemory.
var errOOM = &commands.Error{Code: "OOM", Msg: "command not allowed when used memory > 'maxmemory'."}

// oomCollectEvery is how often a reading over maxmemory may collect
// the heap to read again.
const oomCollectEvery = 5 * time.Second

// oomState is the cron's and CONFIG SET's reading of the memory.
type oomState struct {
	mu        sync.Mutex // one reading at a time
	collected time.Time  // the last collection a reading made
}

// oomMemory is the memory maxmemory bounds, in bytes.
func (s *Server) oomMemory() uint64 {
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(sample)
	heap := sample[0].Value.Uint64()
	cache := uint64(s.store.MetaCacheBytes())
	if pebbleInHeap {
		m := s.store.DB().Metrics()
		cache += uint64(m.BlockCache.Size) + m.MemTable.Size
	}
	return heap - min(heap, cache)
}

// checkOOM reads the memory maxmemory bounds and records whether it is
// over the limit cfg sets.
func (s *Server) checkOOM(cfg *config.Config) {
	st := &s.oomState
	st.mu.Lock()
	defer st.mu.Unlock()
	limit := cfg.MaxMemory
	if limit == 0 || (s.repl.IsReplica() && cfg.Value("replica-ignore-maxmemory") == "yes") {
		s.overMemory.Store(false)
		return
	}
	used := s.oomMemory()
	if used > limit && time.Since(st.collected) >= oomCollectEvery {
		runtime.GC()
		st.collected = time.Now()
		used = s.oomMemory()
	}
	s.overMemory.Store(used > limit)
}

// refusedOnOOM reports whether cmd is refused while memory is over
// maxmemory, as Redis's processCommand decides it: one that may grow
// memory (denyOOM), or any but EXEC, DISCARD, QUIT and RESET inside
// MULTI, whose queue grows.
func (c *conn) refusedOnOOM(cmd *commands.Command, args [][]byte) bool {
	if c.multi != nil {
		switch cmd.Name {
		case "exec", "discard", "quit", "reset":
		default:
			return true
		}
	}
	if c.flags(cmd, args).Has(commands.DenyOOM) {
		return true
	}
	if cmd.Name == "exec" && c.multi != nil {
		for _, q := range c.multi.queued {
			if c.flags(q.cmd, q.args).Has(commands.DenyOOM) {
				return true
			}
		}
	}
	return false
}

// OutOfMemory implements commands.Server: memory read over maxmemory.
func (s *Server) OutOfMemory() bool { return s.overMemory.Load() }
