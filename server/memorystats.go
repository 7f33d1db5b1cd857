package server

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/shoaldb/shoal/commands"
)

// Memory runs MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE, as Redis 7.0
// does, over what Shoal's memory is: the Go heap (Redis's allocator), the
// Pebble block cache and memtables (with the heap, INFO's used_memory),
// the process's resident set.
func (s *Server) Memory(c *commands.Ctx) error {
	switch sub := c.Args[1]; {
	case commands.Is(sub, "stats"):
		s.memoryStats(c)
	case commands.Is(sub, "doctor"):
		c.Out.Verbatim("txt", s.memoryDoctor())
	case commands.Is(sub, "malloc-stats"):
		c.Out.Verbatim("txt", goMemStats())
	case commands.Is(sub, "purge"):
		// NB: Redis asks jemalloc to return its dirty pages; Go's
		// collector runs and returns what it freed.
		debug.FreeOSMemory()
		c.Out.OK()
	}
	return nil
}

// memOverhead is Redis's redisMemOverhead: the parts of used memory that
// are not the dataset, and the ratios between the allocator's, the
// process's and the logical figures.
type memOverhead struct {
	peak, total, startup, backlog, replicas, clients, scripts, functions int64
	dbs                                                                  []int // databases holding keys
	overhead, keys, bytesPerKey, dataset                                 int64
	datasetPerc, peakPerc                                                float32
	allocated, active, resident, rss                                     int64
	numClients                                                           int64
	numScripts                                                           int
}

func (s *Server) memOverhead() memOverhead {
	m := s.memory()
	// NB: resident is what the runtime holds from the system and did not
	// give back; rss leaves out the pages mapped from files, most of them
	// the executable's (23 MiB of Shoal's, 9 of redis-server's), which
	// would read as overhead at any size.
	o := memOverhead{
		peak: s.info.peakMemory.Load(), total: m.used, startup: s.startupMemory,
		allocated: m.heap, active: m.active, resident: m.held, rss: m.rss - statmBytes(2),
	}
	for _, cn := range s.connList() {
		if snap := cn.info.Load(); snap != nil && !cn.replicaLink.Load() {
			o.clients += cn.memOf(nil, snap).total()
			o.numClients++
		}
	}
	o.scripts, o.functions = s.scripts.CodeBytes()
	o.numScripts = s.scripts.ScriptCount()
	o.overhead = o.startup + o.backlog + o.replicas + o.clients + o.scripts + o.functions
	for db := 0; db < s.store.Databases(); db++ {
		if n := s.store.KeyCount(db); n > 0 {
			o.dbs = append(o.dbs, db)
			o.keys += n
		}
	}
	o.dataset = o.total - o.overhead
	o.peakPerc = float32(o.total) * 100 / float32(max(o.peak, 1))
	net := int64(1)
	if o.total > o.startup {
		net = o.total - o.startup
	}
	o.datasetPerc = float32(o.dataset) * 100 / float32(net)
	if o.keys > 0 {
		o.bytesPerKey = net / o.keys // NB: Redis 7.0's: not the dataset's
	}
	return o
}

// ratio is a/b as Redis computes its ratios: in a float.
func ratio(a, b int64) float64 { return float64(float32(a) / float32(max(b, 1))) }

// memoryStats is MEMORY STATS, in the fields and order of Redis 7.0.
// Shoal keeps no table of its keys in memory, so each database's
// hash-table overheads are 0; replication.backlog and clients.slaves are
// 0 as well, the replication log being Pebble's.
func (s *Server) memoryStats(c *commands.Ctx) {
	o := s.memOverhead()
	out := c.Out
	out.Map(27 + len(o.dbs))
	num := func(name string, v int64) {
		out.BulkString(name)
		out.Int(v)
	}
	dbl := func(name string, v float64) {
		out.BulkString(name)
		out.Double(v)
	}
	num("peak.allocated", o.peak)
	num("total.allocated", o.total)
	num("startup.allocated", o.startup)
	num("replication.backlog", o.backlog)
	num("clients.slaves", o.replicas)
	num("clients.normal", o.clients)
	num("cluster.links", 0)
	num("aof.buffer", 0)
	num("lua.caches", o.scripts)
	num("functions.caches", o.functions)
	for _, db := range o.dbs {
		out.BulkString("db." + strconv.Itoa(db))
		out.Map(3)
		num("overhead.hashtable.main", 0)
		num("overhead.hashtable.expires", 0)
		num("overhead.hashtable.slot-to-keys", 0)
	}
	num("overhead.total", o.overhead)
	num("keys.count", o.keys)
	num("keys.bytes-per-key", o.bytesPerKey)
	num("dataset.bytes", o.dataset)
	dbl("dataset.percentage", float64(o.datasetPerc))
	dbl("peak.percentage", float64(o.peakPerc))
	num("allocator.allocated", o.allocated)
	num("allocator.active", o.active)
	num("allocator.resident", o.resident)
	dbl("allocator-fragmentation.ratio", ratio(o.active, o.allocated))
	num("allocator-fragmentation.bytes", o.active-o.allocated)
	dbl("allocator-rss.ratio", ratio(o.resident, o.active))
	num("allocator-rss.bytes", o.resident-o.active)
	dbl("rss-overhead.ratio", ratio(o.rss, o.resident))
	num("rss-overhead.bytes", o.rss-o.resident)
	dbl("fragmentation", ratio(o.rss, o.total))
	num("fragmentation.bytes", o.rss-o.total)
}

// memoryDoctor is MEMORY DOCTOR: Redis's report, by Redis's rules and in
// its words.
func (s *Server) memoryDoctor() string {
	o := s.memOverhead()
	const mb = 1 << 20
	over := func(a, b int64, r float64) bool { return ratio(a, b) > r && a-b > 10*mb }
	var issues []string
	if o.total < 5*mb {
		return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
	}
	if float32(o.peak)/float32(o.total) > 1.5 {
		issues = append(issues, " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n")
	}
	if over(o.rss, o.total, 1.4) {
		issues = append(issues, fmt.Sprintf(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"%s\".\n\n", "go-"+runtime.Version()))
	}
	if over(o.active, o.allocated, 1.1) {
		issues = append(issues, " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n")
	}
	if over(o.resident, o.active, 1.1) {
		issues = append(issues, " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n")
	}
	if over(o.rss, o.resident, 1.1) {
		issues = append(issues, " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n")
	}
	if o.numClients > 0 && o.clients/o.numClients > 200*1024 {
		issues = append(issues, " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n")
	}
	if o.numScripts > 1000 {
		issues = append(issues, " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n")
	}
	if len(issues) == 0 {
		return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
	}
	return "Sam, I detected a few issues in this Redis instance memory implants:\n\n" + strings.Join(issues, "") +
		"I'm here to keep you safe, Sam. I want to help you.\n"
}

// goMemStats is MEMORY MALLOC-STATS: the Go runtime's account of its
// heap, where Redis prints jemalloc's.
func goMemStats() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	fmt.Fprintf(&b, "___ Begin Go runtime statistics (%s) ___\n", runtime.Version())
	for _, f := range []struct {
		name string
		v    uint64
	}{
		{"heap_alloc", ms.HeapAlloc}, {"heap_inuse", ms.HeapInuse}, {"heap_idle", ms.HeapIdle},
		{"heap_released", ms.HeapReleased}, {"heap_objects", ms.HeapObjects},
		{"stack_inuse", ms.StackInuse}, {"sys", ms.Sys}, {"total_alloc", ms.TotalAlloc},
		{"mallocs", ms.Mallocs}, {"frees", ms.Frees}, {"next_gc", ms.NextGC},
		{"num_gc", uint64(ms.NumGC)}, {"pause_total_ns", ms.PauseTotalNs},
	} {
		fmt.Fprintf(&b, "%s: %d\n", f.name, f.v)
	}
	b.WriteString("--- End Go runtime statistics ---\n")
	return b.String()
}
