package config

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// redisConfigGet reads testdata/redis-7.0.15-config-get.txt: CONFIG GET *
// of a fresh redis-server 7.0.15.
func redisConfigGet(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/redis-7.0.15-config-get.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if ln := sc.Text(); ln != "" && ln[0] != '#' {
			name, value, _ := strings.Cut(ln, "\t")
			out[name] = value
		}
	}
	if len(out) < 190 {
		t.Fatalf("golden file holds %d directives", len(out))
	}
	return out
}

// shoalOwn are Shoal's directives beyond Redis's.
var shoalOwn = map[string]bool{
	"cache-size": true, "hot-cache-size": true, "memtable-size": true, "metrics-port": true, "metrics-bind": true, "metrics-pprof": true,
	"waitall-disconnect-grace": true, "waitall-min-replicas": true, "cluster-catalog-port": true,
	"cluster-join": true, "cluster-gossip-key": true, "cluster-epoch-bump-timeout": true,
	"schema-retry-base-ms": true, "schema-event-max-retries": true, "schema-resync-interval": true,
	"component-lock-lease": true,
}

// shoalDefaults are the directives whose default Shoal chose differently
// from Redis, or that the recording's command line set.
var shoalDefaults = map[string]string{
	"port":              "6379",     // the recording ran on another port
	"dir":               "./data",   // Redis: its working directory
	"appendonly":        "yes",      // every write is durable in Pebble
	"repl-backlog-size": "16777216", // Redis: 1mb
}

func TestEveryRedisDirective(t *testing.T) {
	golden := redisConfigGet(t)
	def := Default()
	listed := map[string]bool{}
	for _, e := range Entries() {
		if e.Hidden {
			continue
		}
		listed[e.Name] = true
		if _, ok := golden[e.Name]; !ok && !shoalOwn[e.Name] {
			t.Errorf("%s is neither Redis's nor one of Shoal's own directives", e.Name)
		}
	}
	for name, want := range golden {
		if !listed[name] {
			t.Errorf("CONFIG GET * of Redis lists %s; Shoal does not", name)
			continue
		}
		if w, ok := shoalDefaults[name]; ok {
			want = w
		}
		if got := def.Value(name); got != want {
			t.Errorf("default %s = %q, Redis has %q", name, got, want)
		}
	}
	for name := range shoalOwn {
		if !listed[name] {
			t.Errorf("Shoal's %s is missing", name)
		}
	}
}

// TestMutableAsRedis checks that CONFIG SET may change what it may change
// in redis-server 7.0.15, by testdata/redis-7.0.15-immutable.txt.
func TestMutableAsRedis(t *testing.T) {
	data, err := os.ReadFile("testdata/redis-7.0.15-immutable.txt")
	if err != nil {
		t.Fatal(err)
	}
	immutable := map[string]bool{}
	for _, ln := range strings.Split(string(data), "\n") {
		if ln != "" && ln[0] != '#' {
			immutable[ln] = true
		}
	}
	// NB: dir holds Shoal's Pebble store, which does not move while it
	// runs; the README says so.
	shoalImmutable := map[string]bool{"dir": true}
	for name := range redisConfigGet(t) {
		d := Lookup(name)
		if d == nil {
			continue // TestEveryRedisDirective reports it
		}
		if want := !immutable[name] && !shoalImmutable[name]; d.Mutable != want {
			t.Errorf("%s: mutable %v, want %v", name, d.Mutable, want)
		}
	}
}

// TestREADMEListsDirectives checks that README.md names every directive
// under the heading that says whether Shoal acts on it.
func TestREADMEListsDirectives(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := func(from, to string) string {
		_, s, _ := strings.Cut(string(data), from)
		s, _, _ = strings.Cut(s, to)
		return strings.Join(strings.Fields(s), " ")
	}
	acts := section("### Directives Shoal acts on", "### Directives accepted without effect")
	inert := section("### Directives accepted without effect", "### Where Shoal differs")
	for _, d := range Directives() {
		text := acts
		if d.NoEffect() {
			text = inert
		}
		for _, n := range []string{d.Name, d.Alias} {
			if n != "" && !strings.Contains(text, "`"+n+"`") {
				t.Errorf("README does not list %s where it should (effect: %v)", n, !d.NoEffect())
			}
		}
	}
}

func TestDirectiveTable(t *testing.T) {
	names := map[string]bool{}
	for _, d := range Directives() {
		for _, n := range []string{d.Name, d.Alias} {
			if n == "" {
				continue
			}
			if names[n] || n != strings.ToLower(n) {
				t.Errorf("name %q repeated or not lower case", n)
			}
			names[n] = true
		}
		// The default is a value the directive accepts, shown as is.
		c := Default()
		args := []string{d.Default}
		switch {
		case d.Name == "replicaof":
			args = []string{"no", "one"}
		case d.MultiArg:
			args = splitSpaces(d.Default)
		}
		if err := d.Set(c, args); err != nil || d.Get(c) != d.Default {
			t.Errorf("%s: default %q reads back as %q, %v", d.Name, d.Default, d.Get(c), err)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

// TestValueKinds checks values and refusals of each kind against what
// redis-server 7.0.15 answers to CONFIG SET and then CONFIG GET.
func TestValueKinds(t *testing.T) {
	cases := []struct {
		name, value, want, err string
	}{
		{"lazyfree-lazy-expire", "YES", "yes", ""},
		{"lazyfree-lazy-expire", "", "", "argument must be 'yes' or 'no'"},
		{"activedefrag", "yes", "", "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"},
		{"hz", "05", "", "argument couldn't be parsed into an integer"},
		{"hz", "+5", "", "argument couldn't be parsed into an integer"},
		{"hz", "-1", "", "argument must be between 0 and 2147483647 inclusive"},
		{"hz", "1000", "500", ""},
		{"hz", "0", "1", ""},
		{"maxclients", "-1", "", "argument must be between 1 and 4294967295 inclusive"},
		{"hash-max-listpack-entries", "-1", "", "argument must be between 0 and 9223372036854775807 inclusive"},
		{"list-max-listpack-size", "-2147483649", "", "argument must be between -2147483648 and 2147483647 inclusive"},
		{"maxmemory", "1KB", "1024", ""},
		{"maxmemory", "05", "5", ""},
		{"maxmemory", "", "0", ""},
		{"maxmemory", "kb", "0", ""},
		{"maxmemory", "1 kb", "", "argument must be a memory value"},
		{"maxmemory", "-1", "", "argument must be a memory value"},
		{"maxmemory", "1.5mb", "", "argument must be a memory value"},
		{"maxmemory", "99999999999999999999999", "18446744073709551615", ""},
		{"maxmemory", "17179869184gb", "0", ""},
		{"maxmemory", "10000000000000000000k", "1864712049423024128", ""},
		{"proto-max-bulk-len", "9223372036854775808", "", "argument must be between 1048576 and 9223372036854775807 inclusive"},
		{"hash-max-listpack-value", "18446744073709551615", "", "argument must be between 0 and 9223372036854775807 inclusive"},
		{"maxmemory-clients", "5%", "5%", ""},
		{"maxmemory-clients", "0%", "0", ""},
		{"maxmemory-clients", "1k", "1000", ""},
		{"maxmemory-clients", "200%", "", "percentage argument must be less or equal to 100"},
		{"maxmemory-clients", "-5", "", "argument must be a memory or percent value"},
		{"repl-backlog-size", "1000", "16384", ""},
		{"loglevel", "NOTICE", "notice", ""},
		{"maxmemory-policy", "", "", "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
		{"oom-score-adj", "relative", "yes", ""},
		{"shutdown-on-sigint", "now save", "save now", ""},
		{"shutdown-on-sigint", "default save", "save", ""},
		{"shutdown-on-sigint", "nosave force now", "nosave now force", ""},
		{"shutdown-on-sigint", "save nosave", "", "shutdown options SAVE and NOSAVE can't be used simultaneously"},
		{"shutdown-on-sigint", "", "", "argument(s) must be one of the following: default, save, nosave, now, force"},
		{"shutdown-on-sigint", "save  now", "", "argument(s) must be one of the following: default, save, nosave, now, force"},
		{"notify-keyspace-events", "KEA", "AKE", ""},
		{"notify-keyspace-events", "g$lshzxet", "g$lshzxet", ""},
		{"notify-keyspace-events", "AmnKE", "AKEm", ""},
		{"notify-keyspace-events", "ngK", "gnK", ""},
		{"notify-keyspace-events", "nd$", "$dn", ""},
		{"notify-keyspace-events", "Q", "", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
		{"save", "+5 05", "5 5", ""},
		{"save", "9223372036854775807 99999999999", "9223372036854775807 1215752191", ""},
		{"save", "3600 1  300 100", "", "Invalid save parameters"},
		{"save", "1 2 3", "", "Invalid save parameters"},
		{"save", "", "", ""},
		{"client-output-buffer-limit", "replica 1mb 2k 3", "normal 0 0 0 slave 1048576 2000 3 pubsub 33554432 8388608 60", ""},
		{"client-output-buffer-limit", "PubSub 1 2 +3", "normal 0 0 0 slave 268435456 67108864 60 pubsub 1 2 3", ""},
		{"client-output-buffer-limit", "normal 1 2", "", "Wrong number of arguments in buffer limit configuration."},
		{"client-output-buffer-limit", "master 1 2 3", "", "Invalid client class specified in buffer limit configuration."},
		{"client-output-buffer-limit", "normal 1mb 2k -3", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"oom-score-adj-values", "+1 -0 05", "1 0 5", ""},
		{"oom-score-adj-values", "1 2", "", "wrong number of arguments"},
		{"oom-score-adj-values", "a 2 3", "", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
		{"latency-tracking-info-percentiles", "50.5000 99", "50.5 99", ""},
		{"latency-tracking-info-percentiles", "1e1 0x10", "10 16", ""},
		{"latency-tracking-info-percentiles", "99.999999 0.0000001", "99.999999 0", ""},
		{"latency-tracking-info-percentiles", "", "", ""},
		{"latency-tracking-info-percentiles", " 5", "", "Invalid latency-tracking-info-percentiles parameters"},
		{"latency-tracking-info-percentiles", "inf", "", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"},
		{"proc-title-template", "x {port} {{y}}", "x {port} {{y}}", ""},
		{"proc-title-template", "{title}", "", "template format is invalid or contains unknown variables"},
		{"proc-title-template", "  ", "", "template format is invalid or contains unknown variables"},
		{"proc-title-template", "{nosuch}", "", "template format is invalid or contains unknown variables"},
		{"cluster-announce-hostname", "a_b", "", "Hostnames may only contain alphanumeric characters, hyphens or dots"},
		{"ignore-warnings", "a b", "a b", ""},
	}
	for _, tc := range cases {
		d := Lookup(tc.name)
		args := []string{tc.value}
		if d.MultiArg {
			args = splitSpaces(tc.value)
		}
		c := Default()
		err := d.Set(c, args)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%s %q: error %v, want %q", tc.name, tc.value, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s %q: %v", tc.name, tc.value, err)
		case tc.err == "" && d.Get(c) != tc.want:
			t.Errorf("%s %q reads back as %q, want %q", tc.name, tc.value, d.Get(c), tc.want)
		}
	}
}

// TestSet checks CONFIG SET's order of checks and its atomicity as Redis
// 7.0.15 answers them.
func TestSet(t *testing.T) {
	c := Default()
	cases := []struct {
		pairs [][2]string
		err   string
	}{
		{[][2]string{{"nosuch", "1"}, {"daemonize", "yes"}}, "Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{[][2]string{{"maxmemory", "1"}, {"DAEMONIZE", "yes"}, {"nosuch", "1"}}, "CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config"},
		{[][2]string{{"dbfilename", "x"}}, "CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"},
		{[][2]string{{"dir", "/tmp"}}, "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		{[][2]string{{"maxmemory", "1"}, {"MAXMEMORY", "2"}}, "CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter"},
		{[][2]string{{"MAXMEMORY", "abc"}}, "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{[][2]string{{"hash-max-ziplist-entries", "abc"}}, "CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer"},
		{[][2]string{{"maxmemory", "1"}, {"maxmemory-policy", "bogus"}}, "CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
	}
	for _, tc := range cases {
		next, err := c.Set(tc.pairs, true)
		if next != nil || err == nil || err.Error() != tc.err {
			t.Errorf("Set(%q) = %v, %v; want %q", tc.pairs, next, err, tc.err)
		}
	}
	if c.MaxMemory != 0 {
		t.Fatalf("a refused CONFIG SET changed maxmemory to %d", c.MaxMemory)
	}
	// An alias and its directive are two parameters: the later one wins.
	next, err := c.Set([][2]string{{"hash-max-ziplist-entries", "1"}, {"hash-max-listpack-entries", "2"}, {"zset-max-ziplist-value", "1kb"}}, false)
	if err != nil || next.HashMaxListpackEntries != 2 || next.Value("hash-max-ziplist-entries") != "2" || next.ZSetMaxListpackValue != 1024 {
		t.Fatalf("Set through aliases = %+v, %v", next, err)
	}
	if c.HashMaxListpackEntries != 512 || c.Value("hash-max-listpack-entries") != "512" {
		t.Fatal("Set changed the Config it copied")
	}
	// Stored directives: the copy has the value, the original keeps its own.
	next, err = c.Set([][2]string{{"list-max-ziplist-size", "-1"}, {"tls-ciphers", "x y"}}, false)
	if err != nil || next.Value("list-max-listpack-size") != "-1" || next.Value("tls-ciphers") != "x y" {
		t.Fatalf("Set stored values: %v", err)
	}
	if c.Value("list-max-listpack-size") != "-2" || c.Value("tls-ciphers") != "" {
		t.Fatal("Set changed the stored values of the Config it copied")
	}
	// enable-protected-configs opens dbfilename, locally or to everyone.
	for _, tc := range []struct {
		mode  string
		local bool
		ok    bool
	}{{"no", true, false}, {"local", false, false}, {"local", true, true}, {"yes", false, true}} {
		p, _ := Parse("enable-protected-configs " + tc.mode)
		_, err := p.Set([][2]string{{"dbfilename", "x.rdb"}}, tc.local)
		if (err == nil) != tc.ok {
			t.Errorf("enable-protected-configs %s, local %v: %v", tc.mode, tc.local, err)
		}
	}
	p, _ := Parse("enable-protected-configs yes")
	if _, err := p.Set([][2]string{{"dbfilename", "a/b"}}, true); err == nil || err.Error() != "CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename" {
		t.Errorf("dbfilename a/b: %v", err)
	}
}

// TestRewrite rewrites a file as redis-server 7.0.15 rewrote the same file
// after the same CONFIG SET: lines replaced in place, aliases renamed,
// extra save lines blanked, an unknown directive commented out, the rest
// appended (in the table's order here, in hash order there).
func TestRewrite(t *testing.T) {
	old := `# my comment
port 7914
save ""
appendonly no
hash-max-ziplist-entries 100
slave-read-only yes
maxmemory 10mb
# another comment
save 900 1
rename-command FLUSHALL ""
list-max-ziplist-entries 5
dir /tmp/c13r/rw
`
	c, err := Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.Set([][2]string{{"maxmemory", "3mb"}, {"hash-max-listpack-entries", "7"}, {"zset-max-listpack-value", "100"},
		{"requirepass", `a b"c`}, {"notify-keyspace-events", "KEA"}, {"slowlog-max-len", "5"}, {"maxmemory-clients", "3%"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := `# my comment
port 7914
save 900 1
appendonly no
hash-max-listpack-entries 7
replica-read-only yes
maxmemory 3mb
# another comment

rename-command FLUSHALL ""
# ??? list-max-ziplist-entries 5
dir "/tmp/c13r/rw"

# Generated by CONFIG REWRITE
maxmemory-clients 3%
requirepass "a b\"c"
notify-keyspace-events "AKE"
zset-max-listpack-value 100
slowlog-max-len 5
latency-tracking-info-percentiles 50 99 99.9
`
	got := c.Rewrite(old, false)
	if got != want {
		t.Fatalf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	// Rewriting the rewritten file keeps it (but for the blank line its
	// final newline makes, as in Redis); reading it back gives every value.
	if again := c.Rewrite(got, false); again != got+"\n" || c.Rewrite(again, false) != again {
		t.Fatalf("second rewrite:\n%s", again)
	}
	back, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Directives() {
		if d.Get(back) != d.Get(c) {
			t.Errorf("%s: %q read back as %q", d.Name, d.Get(c), d.Get(back))
		}
	}
}

// TestRewriteRoundTrip sets every mutable directive to a value other than
// its default, rewrites an empty file and reads it back.
func TestRewriteRoundTrip(t *testing.T) {
	c := Default()
	other := map[string]string{"cluster-announce-hostname": "host-1.example", "activedefrag": "no", "save": "10 1 20 2", "client-output-buffer-limit": "normal 1mb 2mb 3",
		"oom-score-adj-values": "1 2 3", "notify-keyspace-events": "Kx", "latency-tracking-info-percentiles": "",
		"shutdown-on-sigint": "save now", "shutdown-on-sigterm": "nosave", "proc-title-template": "{title} x",
		"bind": "127.0.0.1 ::1"}
	for _, d := range Directives() {
		if !d.Mutable && !d.Protected {
			continue
		}
		v, ok := other[d.Name]
		if !ok {
			switch k := d.kind.(type) {
			case yesNo:
				v = map[string]string{"yes": "no", "no": "yes"}[d.Default]
			case number:
				n := max(k.min, 3)
				if k.format(n) == d.Default {
					n++
				}
				v = k.format(n)
				if k.percent {
					v = "7%"
				}
			case enum:
				v = k.names[0]
				if v == d.Default {
					v = k.names[1]
				}
			case text:
				v = "a value\twith \"quotes\""
			default:
				t.Fatalf("%s: no value to try", d.Name)
			}
		}
		args := []string{v}
		if d.MultiArg {
			args = splitSpaces(v)
		}
		if err := d.Set(c, args); err != nil {
			t.Fatalf("%s %q: %v", d.Name, v, err)
		}
	}
	text := c.Rewrite("", false)
	back, err := Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, d := range Directives() {
		if d.Get(back) != d.Get(c) {
			t.Errorf("%s: %q read back as %q", d.Name, d.Get(c), d.Get(back))
		}
	}
}

// TestOwnDirectives checks that Own marks exactly the directives Shoal
// has and redis-server 7.0.15's CONFIG GET * does not list, and that one
// CONFIG SET may not change takes the value it holds, however spelled,
// and refuses any other as Redis refuses an immutable directive.
func TestOwnDirectives(t *testing.T) {
	redis := redisConfigGet(t)
	for _, d := range Directives() {
		_, inRedis := redis[d.Name]
		if want := !inRedis && !d.Hidden; d.Own != want {
			t.Errorf("%s: own %v, want %v", d.Name, d.Own, want)
		}
	}
	c := Default()
	for _, tc := range []struct {
		pairs [][2]string
		err   string
	}{
		{[][2]string{{"cache-size", "134217728"}}, ""},
		{[][2]string{{"maxmemory", "1"}, {"cache-size", "128mb"}, {"metrics-pprof", "no"}}, ""},
		{[][2]string{{"maxmemory", "1"}, {"Cache-Size", "64mb"}}, "CONFIG SET failed (possibly related to argument 'Cache-Size') - can't set immutable config"},
		{[][2]string{{"metrics-port", "abc"}}, "CONFIG SET failed (possibly related to argument 'metrics-port') - argument couldn't be parsed into an integer"},
		{[][2]string{{"cache-size", "128mb"}, {"daemonize", "no"}}, "CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"},
	} {
		next, err := c.Set(tc.pairs, true)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Set(%q): %v", tc.pairs, err)
		case tc.err != "" && (next != nil || err == nil || err.Error() != tc.err):
			t.Errorf("Set(%q) = %v, %v; want %q", tc.pairs, next, err, tc.err)
		}
	}
}
