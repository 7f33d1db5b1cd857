package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoaldb/shoal/commands"
)

// infoState is what INFO reports beyond the counters in stats: the
// server's identifiers, the ops/sec sampler, peak memory and background
// saves.
type infoState struct {
	once   sync.Once
	runID  string // 40 hex characters, new at every start
	replID string

	// Sampler for instantaneous_ops_per_sec and the instantaneous_*_kbps,
	// fed once a second by cron.
	mu     sync.Mutex
	lastAt time.Time
	last   [numRates]int64
	rates  [numRates]atomic.Int64 // per second; the kbps in bytes

	peakMemory atomic.Int64

	// Background saves (BGSAVE, BGREWRITEAOF): one at a time; rewriting
	// says the running one is a BGREWRITEAOF.
	bgsave       atomic.Bool
	rewriting    atomic.Bool
	bgsaveFailed atomic.Bool
	bgsaveSecs   atomic.Int64 // duration of the last one, -1 before any
	bgsaveStart  atomic.Int64 // Unix seconds the running one started
	bgsaveTry    atomic.Int64 // Unix ns a save point last started one
	saves        atomic.Int64 // rdb_saves
	rewrites     atomic.Int64 // aof_rewrites
	dirtyAtSave  atomic.Int64 // stats.dirty when the last RDB was written
}

func (st *infoState) init() {
	st.once.Do(func() {
		st.runID = randomHex(20)
		st.replID = randomHex(20)
		st.bgsaveSecs.Store(-1)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// The instantaneous rates INFO reports, by their index in infoState.
const (
	rateOps = iota
	rateNetIn
	rateNetOut
	rateReplIn
	rateReplOut
	numRates
)

// sample records the growth of the counters (commands processed, bytes
// read and written) since the previous sample; cron calls it once a
// second.
func (st *infoState) sample(totals [numRates]int64, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.lastAt.IsZero() {
		d := now.Sub(st.lastAt).Seconds()
		for i, total := range totals {
			delta := total - st.last[i]
			if delta < 0 { // CONFIG RESETSTAT
				delta = 0
			}
			if d > 0 {
				st.rates[i].Store(int64(float64(delta)/d + 0.5))
			}
		}
	}
	st.lastAt, st.last = now, totals
}

// rateTotals are the counters the sampler follows.
func (s *Server) rateTotals() [numRates]int64 {
	return [numRates]int64{
		rateOps:     s.stats.commands.Load(),
		rateNetIn:   s.stats.netIn.Load(),
		rateNetOut:  s.stats.netOut.Load() + s.repl.ReplOutputBytes.Load(),
		rateReplIn:  s.repl.ReplInputBytes.Load(),
		rateReplOut: s.stats.replOut.Load(),
	}
}

// RunID returns the random identifier of this run of the server (INFO
// run_id).
func (s *Server) RunID() string {
	s.info.init()
	return s.info.runID
}

// infoSections are INFO's sections in the order Redis prints them.
var infoSections = []struct {
	name    string
	title   string
	dflt    bool // part of INFO without arguments ("default")
	section func(s *Server, b *infoBuilder)
}{
	{"server", "Server", true, (*Server).infoServer},
	{"clients", "Clients", true, (*Server).infoClients},
	{"memory", "Memory", true, (*Server).infoMemory},
	{"persistence", "Persistence", true, (*Server).infoPersistence},
	{"stats", "Stats", true, (*Server).infoStats},
	{"replication", "Replication", true, (*Server).infoReplication},
	{"cpu", "CPU", true, (*Server).infoCPU},
	{"modules", "Modules", true, func(*Server, *infoBuilder) {}},
	{"commandstats", "Commandstats", false, (*Server).infoCommandstats},
	{"errorstats", "Errorstats", true, (*Server).infoErrorstats},
	{"latencystats", "Latencystats", false, (*Server).infoLatencystats},
	{"cluster", "Cluster", true, (*Server).infoCluster},
	{"keyspace", "Keyspace", true, (*Server).infoKeyspace},
	{"maintenance", "Maintenance", false, (*Server).infoMaintenance},
	{"components", "Components", false, (*Server).infoComponents},
	{"schema", "Schema", false, (*Server).infoSchema},
}

type infoBuilder struct{ strings.Builder }

func (b *infoBuilder) field(name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	b.WriteString(value)
	b.WriteString("\r\n")
}

func (b *infoBuilder) int(name string, v int64) { b.field(name, strconv.FormatInt(v, 10)) }

// Info renders INFO: the named sections (any case; "default", "all" and
// "everything" select groups; unknown names select nothing), or the
// default sections when none are named. Lines end in CRLF, each section
// starts with "# Title" and one blank line separates sections.
func (s *Server) Info(c *commands.Client, sections []string) string {
	s.info.init()
	want := map[string]bool{}
	if len(sections) == 0 {
		sections = []string{"default"}
	}
	for _, name := range sections {
		name = strings.ToLower(name)
		switch name {
		case "default":
			for _, sec := range infoSections {
				if sec.dflt {
					want[sec.name] = true
				}
			}
		case "all", "everything":
			for _, sec := range infoSections {
				want[sec.name] = true
			}
		default:
			want[name] = true
		}
	}
	var b infoBuilder
	for _, sec := range infoSections {
		if !want[sec.name] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + sec.title + "\r\n")
		sec.section(s, &b)
	}
	return b.String()
}

func (s *Server) infoServer(b *infoBuilder) {
	cfg := s.Config()
	now := time.Now()
	uptime := int64(now.Sub(s.started).Seconds())
	exe, _ := os.Executable()
	confFile := cfg.File
	if confFile != "" {
		if abs, err := filepath.Abs(confFile); err == nil {
			confFile = abs
		}
	}
	port := cfg.Port
	if port == 0 {
		if _, p, err := net.SplitHostPort(s.Addr()); err == nil {
			port, _ = strconv.Atoi(p)
		}
	}
	b.field("redis_version", RedisVersion)
	b.field("redis_git_sha1", "00000000")
	b.field("redis_git_dirty", "0")
	b.field("redis_build_id", "0")
	if s.cluster != nil {
		b.field("redis_mode", "cluster")
	} else {
		b.field("redis_mode", "standalone")
	}
	b.field("os", osName())
	b.int("arch_bits", int64(strconv.IntSize))
	b.field("monotonic_clock", "POSIX clock_gettime")
	b.field("multiplexing_api", "epoll")
	b.field("atomicvar_api", "c11-builtin")
	b.field("gcc_version", "0.0.0")
	b.field("go_version", runtime.Version())
	b.int("process_id", int64(os.Getpid()))
	b.field("process_supervised", s.supervisedMode())
	b.field("run_id", s.info.runID)
	b.int("tcp_port", int64(port))
	b.int("server_time_usec", now.UnixMicro())
	b.int("uptime_in_seconds", uptime)
	b.int("uptime_in_days", uptime/86400)
	b.int("hz", int64(cfg.Hz))
	b.int("configured_hz", int64(cfg.Hz))
	b.int("lru_clock", (now.Unix())&(1<<24-1))
	b.field("executable", exe)
	b.field("config_file", confFile)
	b.field("io_threads_active", "0")
	b.field("shoal_version", Version)
}

// osName is uname's "Linux 6.1.0 x86_64", as Redis prints it.
func osName() string {
	name := strings.ToUpper(runtime.GOOS[:1]) + runtime.GOOS[1:]
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		name += " " + strings.TrimSpace(string(rel))
	}
	arch := runtime.GOARCH
	switch arch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "aarch64"
	case "386":
		arch = "i686"
	}
	return name + " " + arch
}

func (s *Server) infoClients(b *infoBuilder) {
	var blocked, watching, pubsub, watchedKeys int64
	for _, cn := range s.connList() {
		if cn.blocked.Load() {
			blocked++
		}
		if cn.isSubscriber() {
			pubsub++
		}
		if snap := cn.info.Load(); snap != nil && snap.watch > 0 {
			watching++
			watchedKeys += int64(snap.watch)
		}
	}
	clients := s.nclients.Load()
	if _, ok := s.masterLink(); ok {
		clients++ // NB: Redis's master client is one of its clients
	}
	b.int("connected_clients", clients)
	b.field("cluster_connections", "0")
	b.int("maxclients", s.maxClients.Load())
	b.field("client_recent_max_input_buffer", "0")
	b.field("client_recent_max_output_buffer", "0")
	b.int("blocked_clients", blocked)
	trkClients, _, _, _ := s.trackingInfo()
	b.field("tracking_clients", strconv.Itoa(trkClients))
	b.int("pubsub_clients", pubsub)
	b.int("watching_clients", watching)
	b.field("clients_in_timeout_table", "0")
	b.int("total_watched_keys", watchedKeys)
	b.field("total_blocking_keys", "0")
	b.field("total_blocking_keys_on_nokey", "0")
}

// memoryUsage is the memory INFO and MEMORY report: the Go heap plus what
// Pebble holds in its block cache and memtables.
type memoryUsage struct {
	used, rss, heap, cache, memtables, sys int64
	// active is the heap and stacks in use, held the Go runtime's memory
	// it got from the system and did not give back (MEMORY STATS).
	active, held int64
}

func (s *Server) memory() memoryUsage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	pm := s.store.DB().Metrics()
	m := memoryUsage{
		heap:      int64(ms.HeapAlloc),
		cache:     pm.BlockCache.Size,
		memtables: int64(pm.MemTable.Size),
		sys:       int64(ms.Sys),
		active:    int64(ms.HeapInuse + ms.StackInuse),
		held:      int64(ms.Sys - ms.HeapReleased),
	}
	m.used = m.heap
	if !pebbleInHeap {
		m.used += m.cache + m.memtables
	}
	m.rss = residentBytes()
	if m.rss == 0 {
		m.rss = m.sys
	}
	for {
		p := s.info.peakMemory.Load()
		if m.used <= p || s.info.peakMemory.CompareAndSwap(p, m.used) {
			break
		}
	}
	return m
}

// residentBytes reads the process's resident set size on Linux; 0 elsewhere.
func residentBytes() int64 { return statmBytes(1) }

// statmBytes reads field i of /proc/self/statm (1: resident, 2: resident
// and mapped from files or shared) in bytes; 0 where there is none.
func statmBytes(i int) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) <= i {
		return 0
	}
	pages, err := strconv.ParseInt(f[i], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// bytesToHuman formats n as Redis does: 912B, 1.50K, 3.00M, 2.00G.
func bytesToHuman(n int64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1<<20:
		return fmt.Sprintf("%.2fK", f/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.2fM", f/(1<<20))
	case n < 1<<40:
		return fmt.Sprintf("%.2fG", f/(1<<30))
	case n < 1<<50:
		return fmt.Sprintf("%.2fT", f/(1<<40))
	}
	return fmt.Sprintf("%.2fP", f/(1<<50))
}

// infoMemory is INFO memory: Redis 7.0's fields in its order, over the
// figures MEMORY STATS reports (memOverhead), then Shoal's own. The Lua
// fields count the scripts' code, which is what Shoal's script caches
// hold.
func (s *Server) infoMemory(b *infoBuilder) {
	cfg := s.Config()
	m := s.memory()
	o := s.memOverhead()
	pct := func(name string, v float32) { b.field(name, fmt.Sprintf("%.2f%%", v)) }
	b.int("used_memory", m.used)
	b.field("used_memory_human", bytesToHuman(m.used))
	b.int("used_memory_rss", m.rss)
	b.field("used_memory_rss_human", bytesToHuman(m.rss))
	b.int("used_memory_peak", o.peak)
	b.field("used_memory_peak_human", bytesToHuman(o.peak))
	pct("used_memory_peak_perc", o.peakPerc)
	b.int("used_memory_overhead", o.overhead)
	b.int("used_memory_startup", o.startup)
	b.int("used_memory_dataset", o.dataset)
	pct("used_memory_dataset_perc", o.datasetPerc)
	b.int("allocator_allocated", o.allocated)
	b.int("allocator_active", o.active)
	b.int("allocator_resident", o.resident)
	b.int("total_system_memory", totalSystemMemory())
	b.field("total_system_memory_human", bytesToHuman(totalSystemMemory()))
	scripts, funcs := o.scripts, o.functions
	b.int("used_memory_lua", scripts)
	b.int("used_memory_vm_eval", scripts)
	b.field("used_memory_lua_human", bytesToHuman(scripts))
	b.int("used_memory_scripts_eval", scripts)
	b.int("number_of_cached_scripts", int64(o.numScripts))
	b.int("number_of_functions", int64(s.scripts.FunctionCount()))
	b.int("number_of_libraries", int64(len(s.scripts.Libraries())))
	b.int("used_memory_vm_functions", funcs)
	b.int("used_memory_vm_total", scripts+funcs)
	b.field("used_memory_vm_total_human", bytesToHuman(scripts+funcs))
	b.int("used_memory_functions", funcs)
	b.int("used_memory_scripts", scripts+funcs)
	b.field("used_memory_scripts_human", bytesToHuman(scripts+funcs))
	b.field("maxmemory", strconv.FormatUint(cfg.MaxMemory, 10))
	b.field("maxmemory_human", bytesToHuman(int64(cfg.MaxMemory)))
	b.field("maxmemory_policy", cfg.MaxMemoryPolicy)
	ratio2 := func(name string, x, y int64) { b.field(name, fmt.Sprintf("%.2f", ratio(x, y))) }
	ratio2("allocator_frag_ratio", o.active, o.allocated)
	b.int("allocator_frag_bytes", o.active-o.allocated)
	ratio2("allocator_rss_ratio", o.resident, o.active)
	b.int("allocator_rss_bytes", o.resident-o.active)
	ratio2("rss_overhead_ratio", o.rss, o.resident)
	b.int("rss_overhead_bytes", o.rss-o.resident)
	ratio2("mem_fragmentation_ratio", o.rss, o.total)
	b.int("mem_fragmentation_bytes", o.rss-o.total)
	// NB: Shoal evicts nothing, so nothing is left out of the count.
	b.int("mem_not_counted_for_evict", 0)
	b.int("mem_replication_backlog", o.backlog)
	b.int("mem_total_replication_buffers", o.replicas)
	b.int("mem_clients_slaves", o.replicas)
	b.int("mem_clients_normal", o.clients)
	b.int("mem_cluster_links", 0)
	b.int("mem_aof_buffer", 0)
	b.field("mem_allocator", "go-"+runtime.Version())
	b.int("active_defrag_running", 0)
	// NB: nothing is freed in the background: a deleted value's members
	// go with a range tombstone in its own commit, and compactions drop
	// them.
	b.int("lazyfree_pending_objects", 0)
	b.int("lazyfreed_objects", 0)
	b.int("shoal_go_heap_bytes", m.heap)
	b.int("shoal_pebble_block_cache_bytes", m.cache)
	b.int("shoal_pebble_memtable_bytes", m.memtables)
	hits, misses := s.store.MetaCacheStats()
	b.int("shoal_hot_cache_hits", hits)
	b.int("shoal_hot_cache_misses", misses)
	b.int("shoal_hot_cache_complete_shards", int64(s.store.MetaCacheCompleteShards()))
	b.int("shoal_hot_cache_bytes", s.store.MetaCacheBytes())
	// NB: what maxmemory bounds (oom.go), and whether it was over at the
	// last reading.
	b.int("shoal_maxmemory_used", int64(s.oomMemory()))
	b.int("shoal_maxmemory_over", boolInt(s.overMemory.Load()))
}

func totalSystemMemory() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s *Server) infoPersistence(b *infoBuilder) {
	st := &s.store.Stats
	rewriting := s.info.rewriting.Load()
	inProgress := s.info.bgsave.Load() && !rewriting
	status := "ok"
	if s.info.bgsaveFailed.Load() {
		status = "err"
	}
	b.field("loading", "0")
	b.field("async_loading", "0")
	b.field("current_cow_peak", "0")
	b.field("current_cow_size", "0")
	b.field("current_cow_size_age", "0")
	b.field("current_fork_perc", "0.00")
	b.field("current_save_keys_processed", "0")
	b.field("current_save_keys_total", "0")
	b.int("rdb_changes_since_last_save", s.stats.dirty.Load()-s.info.dirtyAtSave.Load())
	b.int("rdb_bgsave_in_progress", boolInt(inProgress))
	b.int("rdb_last_save_time", st.LastSaveUnix.Load())
	b.field("rdb_last_bgsave_status", status)
	b.int("rdb_last_bgsave_time_sec", s.info.bgsaveSecs.Load())
	current := int64(-1)
	if inProgress {
		current = time.Now().Unix() - s.info.bgsaveStart.Load()
	}
	b.int("rdb_current_bgsave_time_sec", current)
	b.int("rdb_saves", s.info.saves.Load())
	b.field("rdb_last_cow_size", "0")
	loaded, expired := s.store.LastRDBLoad()
	b.int("rdb_last_load_keys_expired", expired)
	b.int("rdb_last_load_keys_loaded", loaded)
	b.field("aof_enabled", "1")
	b.int("aof_rewrite_in_progress", boolInt(rewriting))
	b.field("aof_rewrite_scheduled", "0")
	b.field("aof_last_rewrite_time_sec", "-1")
	b.field("aof_current_rewrite_time_sec", "-1")
	b.field("aof_last_bgrewrite_status", "ok")
	b.int("aof_rewrites", s.info.rewrites.Load())
	b.field("aof_rewrites_consecutive_failures", "0")
	// Shoal's log is Pebble's: a failed write of it, or of its tables,
	// shows as a failed AOF write does in Redis, with its error number
	// (Shoal's own field) until the disk accepts writes again.
	disk := s.store.DiskFault()
	if disk.Failing {
		b.field("aof_last_write_status", "err")
		b.int("aof_last_write_errno", int64(disk.Errno))
	} else {
		b.field("aof_last_write_status", "ok")
		b.field("aof_last_write_errno", "0")
	}
	b.field("aof_last_cow_size", "0")
	b.field("module_fork_in_progress", "0")
	b.field("module_fork_last_cow_size", "0")
	b.field("aof_fsync_policy", s.store.Fsync().String())
}

func boolInt(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

func (s *Server) infoStats(b *infoBuilder) {
	cmds := s.stats.commands.Load()
	totals := s.rateTotals()
	kbps := func(i int) string { return fmt.Sprintf("%.2f", float64(s.info.rates[i].Load())/1024) }
	b.int("total_connections_received", s.stats.connections.Load())
	b.int("total_commands_processed", cmds)
	b.int("instantaneous_ops_per_sec", s.info.rates[rateOps].Load())
	b.int("total_net_input_bytes", totals[rateNetIn])
	b.int("total_net_output_bytes", totals[rateNetOut])
	b.int("total_net_repl_input_bytes", totals[rateReplIn])
	b.int("total_net_repl_output_bytes", totals[rateReplOut])
	b.field("instantaneous_input_kbps", kbps(rateNetIn))
	b.field("instantaneous_output_kbps", kbps(rateNetOut))
	b.field("instantaneous_input_repl_kbps", kbps(rateReplIn))
	b.field("instantaneous_output_repl_kbps", kbps(rateReplOut))
	b.int("rejected_connections", s.stats.rejected.Load())
	b.int("sync_full", s.repl.FullSyncs.Load())
	b.int("sync_partial_ok", s.repl.PartialOK.Load())
	b.int("sync_partial_err", s.repl.PartialErr.Load())
	b.int("expired_keys", s.store.Stats.ExpiredKeys.Load())
	b.field("expired_stale_perc", "0.00")
	b.field("expired_time_cap_reached_count", "0")
	b.field("expire_cycle_cpu_milliseconds", "0")
	b.field("evicted_keys", "0")
	b.int("evicted_clients", s.stats.evictedClients.Load())
	b.field("total_eviction_exceeded_time", "0")
	b.field("current_eviction_exceeded_time", "0")
	b.int("keyspace_hits", s.stats.hits.Load())
	b.int("keyspace_misses", s.stats.misses.Load())
	channels, patterns, shards := s.pubsub.counts()
	b.int("pubsub_channels", int64(channels))
	b.int("pubsub_patterns", int64(patterns))
	b.int("pubsubshard_channels", int64(shards))
	b.field("latest_fork_usec", "0")
	b.field("total_forks", "0")
	b.int("migrate_cached_sockets", int64(commands.MigrateCachedSockets(s.store)))
	b.int("slave_expires_tracked_keys", int64(s.store.ReplicaExpiresTracked()))
	b.field("active_defrag_hits", "0")
	b.field("active_defrag_misses", "0")
	b.field("active_defrag_key_hits", "0")
	b.field("active_defrag_key_misses", "0")
	b.field("total_active_defrag_time", "0")
	b.field("current_active_defrag_time", "0")
	_, trkKeys, trkItems, trkPrefixes := s.trackingInfo()
	b.field("tracking_total_keys", strconv.Itoa(trkKeys))
	b.field("tracking_total_items", strconv.Itoa(trkItems))
	b.field("tracking_total_prefixes", strconv.Itoa(trkPrefixes))
	b.int("unexpected_error_replies", s.unexpectedErrors.Load())
	b.int("total_error_replies", s.stats.errors.total.Load())
	b.field("dump_payload_sanitizations", "0")
	b.int("total_reads_processed", cmds)
	b.int("total_writes_processed", cmds)
	b.field("io_threaded_reads_processed", "0")
	b.field("io_threaded_writes_processed", "0")
	b.field("client_query_buffer_limit_disconnections", "0")
	b.field("client_output_buffer_limit_disconnections", "0")
	s.advanceReplyBufs()
	b.int("reply_buffer_shrinks", s.replyCron.shrinks.Load())
	b.int("reply_buffer_expands", s.replyCron.expands.Load())
	b.int("shoal_storage_commits", s.store.Stats.Commits.Load())
	b.int("shoal_write_stalls", s.store.Stats.WriteStalls.Load())
}

func (s *Server) infoReplication(b *infoBuilder) {
	st := s.store
	up, replica := s.repl.Upstream()
	if replica {
		b.field("role", "slave")
		b.field("master_host", up.Host)
		b.int("master_port", int64(up.Port))
		b.field("master_link_status", map[bool]string{true: "up", false: "down"}[up.LinkUp])
		b.int("master_last_io_seconds_ago", int64(up.LastIO/time.Second))
		b.int("master_sync_in_progress", (boolInt(up.SyncInProgress)))
		b.int("slave_read_repl_offset", up.ReadOffset)
		b.int("slave_repl_offset", up.Applied)
		cfg := s.Config()
		b.field("slave_priority", cfg.Value("replica-priority"))
		b.int("slave_read_only", (boolInt(s.replicaReadOnly.Load())))
		b.int("replica_announced", boolInt(cfg.Value("replica-announced") == "yes"))
	} else {
		b.field("role", "master")
	}
	reps := append(s.repl.Replicas(), s.repl.RedisReplicas()...)
	b.int("connected_slaves", int64(len(reps)))
	for i, r := range reps {
		b.field("slave"+strconv.Itoa(i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d", r.IP, r.Port, r.State, r.Offset, r.Lag))
	}
	b.field("master_failover_state", s.failoverStatus())
	id, id2, off2 := st.ReplIDs()
	second := int64(-1)
	if id2 == "" {
		id2 = strings.Repeat("0", 40)
	} else {
		second = off2 + 1
	}
	off := st.ReplOffset()
	if up.RedisReplID != "" {
		// A replica of a redis-server follows its primary's history.
		id, off = up.RedisReplID, up.Applied
	}
	b.field("master_replid", id)
	b.field("master_replid2", id2)
	b.int("master_repl_offset", off)
	b.int("second_repl_offset", second)
	b.int("repl_backlog_active", (boolInt(st.LogEnabled())))
	b.int("repl_backlog_size", s.Config().ReplBacklogSize)
	b.int("repl_backlog_first_byte_offset", st.LogStart()+1)
	b.int("repl_backlog_histlen", st.ReplOffset()-st.LogStart())
	if s.cluster != nil {
		b.int("master_epoch", int64(s.cluster.Epoch()))
	}
	b.int("known_replicas", int64(s.repl.KnownReplicas()+len(s.clusterOnlyReplicas())))
	b.int("waitall_min_replicas", int64(s.Config().WaitAllMinReplicas))
}

func (s *Server) infoCPU(b *infoBuilder) {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) string { return fmt.Sprintf("%d.%06d", t.Sec, t.Usec) }
	b.field("used_cpu_sys", tv(self.Stime))
	b.field("used_cpu_user", tv(self.Utime))
	b.field("used_cpu_sys_children", tv(children.Stime))
	b.field("used_cpu_user_children", tv(children.Utime))
	// NB: Shoal serves commands on all its threads, not one: the main
	// thread's share is the process's.
	b.field("used_cpu_sys_main_thread", tv(self.Stime))
	b.field("used_cpu_user_main_thread", tv(self.Utime))
}

func (s *Server) infoCommandstats(b *infoBuilder) {
	stats := s.cmdStats()
	names := make([]string, 0, len(stats))
	for name, st := range stats {
		if st.calls.Load()+st.rejected.Load()+st.failed.Load() > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		st := stats[name]
		calls, usec := st.calls.Load(), st.usec.Load()
		per := 0.0
		if calls > 0 {
			per = float64(usec) / float64(calls)
		}
		b.field("cmdstat_"+name, fmt.Sprintf("calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d",
			calls, usec, per, st.rejected.Load(), st.failed.Load()))
	}
}

// infoErrorstats lists the error replies by code, in byte order as
// Redis's radix tree does.
func (s *Server) infoErrorstats(b *infoBuilder) {
	m := s.stats.errors.codes.Load()
	if m == nil {
		return
	}
	codes := make([]string, 0, len(*m))
	for code := range *m {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		b.field("errorstat_"+code, "count="+strconv.FormatInt((*m)[code].Load(), 10))
	}
}

func (s *Server) infoKeyspace(b *infoBuilder) {
	for db := 0; db < s.store.Databases(); db++ {
		n := s.store.KeyCount(db)
		if n <= 0 {
			continue
		}
		b.field("db"+strconv.Itoa(db), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", n, s.store.ExpiresCount(db)))
	}
}

func (s *Server) infoCluster(b *infoBuilder) {
	b.int("cluster_enabled", int64(boolInt(s.cluster != nil)))
	if s.cluster == nil {
		return
	}
	st := s.cluster.Stats()
	b.int("cluster_writer_epoch", int64(s.cluster.Epoch()))
	b.int("cluster_serving", int64(boolInt(s.cluster.Serving())))
	b.int("cluster_catalog_leader", int64(boolInt(st.Leader)))
	b.int("cluster_catalog_applied_index", int64(st.AppliedIndex))
	b.int("cluster_failovers", st.Failovers)
	b.int("cluster_epoch_bump_attempts", st.BumpAttempts)
	b.int("cluster_epoch_bump_conflicts", st.BumpConflicts)
	b.int("cluster_epoch_bump_timeouts", st.BumpTimeouts)
	b.int("cluster_fenced", st.Fenced)
}
