package server_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
	"github.com/shoaldb/shoal/storage"
)

// rdbDBs are the databases the RDB tests fill.
var rdbDBs = []int{0, 5, 15}

// fillEveryEncoding writes keys of every type in each encoding Redis 7.0
// gives them (small and large collections, integer, short, long and
// binary strings), expiring keys, and keys in several databases, through
// a client of database 0 of any server.
func fillEveryEncoding(t *testing.T, addr string) {
	t.Helper()
	ctx := testutil.Ctx(t)
	long := strings.Repeat("abcdefghij", 30)
	lib := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer lib.Close()
	if err := lib.FunctionLoadReplace(ctx, rdbLibrary).Err(); err != nil {
		t.Fatal(err)
	}
	for _, db := range rdbDBs {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
		defer c.Close()
		p := c.Pipeline()
		pre := fmt.Sprintf("db%d:", db)
		p.Set(ctx, pre+"s:embstr", "hello", 0)
		p.Set(ctx, pre+"s:int", "12345", 0)
		p.Set(ctx, pre+"s:neg", "-7", 0)
		p.Set(ctx, pre+"s:int64", "123456789012", 0)
		p.Set(ctx, pre+"s:long", long, 0)
		p.Set(ctx, pre+"s:empty", "", 0)
		p.Set(ctx, pre+"\x00\xffbin\r\n", "\x00\x01\xfe\xff\r\n", 0)
		p.RPush(ctx, pre+"l:small", "a", "b", "1", "-300", "70000")
		p.SAdd(ctx, pre+"set:int", 1, 2, 3, -100, 100000)
		p.SAdd(ctx, pre+"set:str", "x", "y", "z")
		p.HSet(ctx, pre+"h:small", "f1", "v1", "f2", "2")
		p.HSet(ctx, pre+"h:long", "f", long)
		p.ZAdd(ctx, pre+"z:small", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2.5, Member: "b"})
		p.Do(ctx, "ZADD", pre+"z:special", "-inf", "lo", "+inf", "hi", "-0", "negzero", "1e-300", "tiny", "3.141592653589793", "pi")
		for i := 0; i < 1000; i++ {
			p.RPush(ctx, pre+"l:big", fmt.Sprint("e", i, long[:i%200]))
			p.SAdd(ctx, pre+"set:big", fmt.Sprint("m", i))
			p.SAdd(ctx, pre+"set:bigint", i*7)
			p.HSet(ctx, pre+"h:big", fmt.Sprint("f", i), fmt.Sprint("v", i, long[:i%100]))
			p.ZAdd(ctx, pre+"z:big", redis.Z{Score: float64(i%37) / 3, Member: fmt.Sprint("m", i)})
		}
		// Streams: one in several nodes with tombstones, one with groups,
		// pending entries and consumers, and one left empty.
		for i := 0; i < 250; i++ {
			p.XAdd(ctx, &redis.XAddArgs{Stream: pre + "x:big", ID: fmt.Sprintf("%d-%d", 1000+i/3, i%3), Values: []any{"n", i, "s", long[:i%80]}})
		}
		p.XDel(ctx, pre+"x:big", "1010-0", "1010-1", "1100-2")
		p.XAdd(ctx, &redis.XAddArgs{Stream: pre + "x:groups", ID: "1-1", Values: []any{"a", "1", "b", "hello"}})
		p.XAdd(ctx, &redis.XAddArgs{Stream: pre + "x:groups", ID: "2-0", Values: []any{"c", long}})
		p.XGroupCreate(ctx, pre+"x:groups", "g", "0")
		p.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "alice", Streams: []string{pre + "x:groups", ">"}, Count: 1})
		p.XGroupCreateConsumer(ctx, pre+"x:groups", "g", "bob")
		p.XGroupCreateMkStream(ctx, pre+"x:empty", "g", "$")
		p.Set(ctx, pre+"e:str", "soon", 0)
		p.PExpireAt(ctx, pre+"e:str", time.UnixMilli(4102444800123)) // 2100-01-01
		p.HSet(ctx, pre+"e:hash", "f", "v")
		p.PExpireAt(ctx, pre+"e:hash", time.UnixMilli(4102444800456))
		p.Set(ctx, pre+"e:later", "x", time.Hour)
		// Strings longer than a chunk: written whole, grown sparse by
		// SETRANGE and SETBIT, and with an expiry.
		chunked := strings.Repeat(long, 700) + strings.Repeat("\x00", 70000) + "tail"
		p.Set(ctx, pre+"s:chunked", chunked, 0)
		p.SetRange(ctx, pre+"s:sparse", 300000, "end")
		p.SetBit(ctx, pre+"s:bits", 1<<22, 1)
		p.Set(ctx, pre+"e:chunked", chunked[:100000], 0)
		p.PExpireAt(ctx, pre+"e:chunked", time.UnixMilli(4102444800789))
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// rdbLibrary is a function library that RDB files carry.
const rdbLibrary = "#!lua name=rdblib\nredis.register_function{function_name='rdbecho', callback=function(keys, args) return args[1] end, flags={'no-writes'}}"

// checkLibrary checks that the server at addr has rdbLibrary loaded.
func checkLibrary(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	if got, err := c.FCallRO(testutil.Ctx(t), "rdbecho", nil, "hi").Result(); err != nil || got != "hi" {
		t.Errorf("FCALL rdbecho on %s: %v, %v", addr, got, err)
	}
}

// datasets reads the rdbDBs of the server at addr.
func datasets(t *testing.T, addr string) map[int]map[string]string {
	t.Helper()
	out := map[int]map[string]string{}
	for _, db := range rdbDBs {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
		out[db] = testutil.Dataset(t, c)
		c.Close()
	}
	return out
}

func sameDatasets(t *testing.T, what string, a, b map[int]map[string]string) {
	t.Helper()
	for _, db := range rdbDBs {
		if len(a[db]) == 0 {
			t.Fatalf("%s: database %d is empty", what, db)
		}
		testutil.SameDataset(t, fmt.Sprintf("%s, database %d", what, db), a[db], b[db])
	}
}

// checkRDB runs redis-check-rdb on path.
func checkRDB(t *testing.T, path string) {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-check-rdb")
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RDB looks OK") {
		t.Fatalf("redis-check-rdb %s: %v\n%s", path, err, out)
	}
}

// redisFromRDB starts redis-server on a copy of the RDB at path.
func redisFromRDB(t *testing.T, path string) *testutil.RedisServer {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return testutil.StartRedisServer(t, dir)
}

// TestSaveLoadsInRedis fills Shoal with every type, writes dump.rdb with
// SAVE and BGSAVE, and checks that redis-check-rdb accepts it and that
// redis-server loads it with the same contents, expiry times included.
func TestSaveLoadsInRedis(t *testing.T) {
	testutil.RequireTool(t, "redis-server")
	cfg := testutil.Config(t)
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	fillEveryEncoding(t, s.Addr())
	want := datasets(t, s.Addr())

	before := c.LastSave(ctx).Val()
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.LastSave(ctx).Val(); got < before {
		t.Errorf("LASTSAVE went back from %d to %d", before, got)
	}
	path := filepath.Join(cfg.Dir, "dump.rdb")
	checkRDB(t, path)
	loaded := redisFromRDB(t, path)
	sameDatasets(t, "SAVE, loaded by redis-server", want, datasets(t, loaded.Addr()))
	checkLibrary(t, loaded.Addr())

	// BGSAVE, with writes after it counted as changes since the save.
	c.Set(ctx, "after", "x", 0)
	if got := c.Do(ctx, "BGSAVE").Val(); got != "Background saving started" {
		t.Fatalf("BGSAVE = %v", got)
	}
	for {
		info := c.Info(ctx, "persistence").Val()
		if strings.Contains(info, "rdb_bgsave_in_progress:0") {
			for _, f := range []string{"rdb_last_bgsave_status:ok", "rdb_changes_since_last_save:0", "rdb_saves:2"} {
				if !strings.Contains(info, f) {
					t.Errorf("INFO persistence lacks %s:\n%s", f, info)
				}
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Set(ctx, "again", "x", 0)
	if info := c.Info(ctx, "persistence").Val(); !strings.Contains(info, "rdb_changes_since_last_save:1") {
		t.Errorf("one write after BGSAVE:\n%s", info)
	}
	checkRDB(t, path)
	r := redisFromRDB(t, path)
	if got := r.Client(t, 0).Get(ctx, "after").Val(); got != "x" {
		t.Errorf("a key written before BGSAVE reads %q from its RDB", got)
	}
}

// TestImportRedisRDB has redis-server write an RDB of every type and
// encoding, imports it with ImportRDB (shoal import-rdb) and compares
// Shoal's contents key by key with redis-server's.
func TestImportRedisRDB(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir())
	fillEveryEncoding(t, r.Addr())
	want := datasets(t, r.Addr())
	if err := r.Client(t, 0).Save(testutil.Ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t)
	info, err := server.ImportRDB(cfg, filepath.Join(r.Dir, "dump.rdb"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 10 || info.Keys == 0 {
		t.Errorf("import: %+v", info)
	}
	s := testutil.Start(t, cfg)
	sameDatasets(t, "redis-server's RDB imported", want, datasets(t, s.Addr()))
	checkLibrary(t, s.Addr())
}

// TestImportRefusesCorruptRDB checks that a damaged RDB is refused with
// the offset and the reason, and that nothing of it is loaded: a wrong
// checksum, and a damaged object under a right checksum.
func TestImportRefusesCorruptRDB(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir())
	fillEveryEncoding(t, r.Addr())
	r.Client(t, 0).Save(testutil.Ctx(t))
	good, err := os.ReadFile(filepath.Join(r.Dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	// The first key's type byte, after the aux fields, SELECTDB, RESIZEDB
	// (two one-byte lengths) and an expiry time if the key has one.
	at := strings.Index(string(good), "\xfe\x00\xfb") + 5
	if good[at] == 0xfc {
		at += 9
	}
	for _, tc := range []struct {
		name   string
		damage func(b []byte)
		reason string
	}{
		{"checksum", func(b []byte) { b[len(b)/2] ^= 0xff }, "wrong RDB checksum"},
		{"object", func(b []byte) {
			b[at] = 99 // no such type
			fixChecksum(b)
		}, "unknown object type 99"},
		{"truncated", func(b []byte) {
			copy(b[len(b)-20:], make([]byte, 20))
			fixChecksum(b)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			tc.damage(b)
			path := filepath.Join(t.TempDir(), "bad.rdb")
			os.WriteFile(path, b, 0o644)
			cfg := testutil.Config(t)
			_, err := server.ImportRDB(cfg, path, io.Discard)
			var re *storage.RDBError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tc.reason) || re.Offset <= 0 {
				t.Fatalf("import of a damaged RDB: %v", err)
			}
			s := testutil.Start(t, cfg)
			if n := testutil.Client(t, s, 2).DBSize(testutil.Ctx(t)).Val(); n != 0 {
				t.Errorf("a refused RDB left %d keys", n)
			}
		})
	}
}

// fixChecksum recomputes the CRC64 at the end of an RDB.
func fixChecksum(b []byte) {
	sum := storage.RDBChecksum(b[:len(b)-8])
	for i := 0; i < 8; i++ {
		b[len(b)-8+i] = byte(sum >> (8 * i))
	}
}

// TestRedisCLIRDB takes a backup with redis-cli --rdb, the documented
// Redis way, checks it with redis-check-rdb and loads it into
// redis-server.
func TestRedisCLIRDB(t *testing.T) {
	bin := testutil.RequireTool(t, "redis-cli")
	s := testutil.Start(t, nil)
	fillEveryEncoding(t, s.Addr())
	want := datasets(t, s.Addr())
	path := filepath.Join(t.TempDir(), "backup.rdb")
	out := cli(t, bin, s, "", "--rdb", path)
	if !strings.Contains(out, "Transfer finished with success") {
		t.Fatalf("redis-cli --rdb: %s", out)
	}
	checkRDB(t, path)
	sameDatasets(t, "redis-cli --rdb backup loaded by redis-server", want, datasets(t, redisFromRDB(t, path).Addr()))
	// The server goes on serving after the transfer.
	if err := testutil.Client(t, s, 2).Ping(testutil.Ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRedisCLIFunctionsRDB: redis-cli --functions-rdb asks for an RDB of
// the functions alone (REPLCONF rdb-filter-only functions), which
// redis-server loads with no key; REPLCONF's filter takes Redis 7.0's
// values and errors, and a filtered SYNC needs the EOF capability.
func TestRedisCLIFunctionsRDB(t *testing.T) {
	bin := testutil.RequireTool(t, "redis-cli")
	ctx := testutil.Ctx(t)
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	if err := c.Do(ctx, "DEBUG", "POPULATE", "1000").Err(); err != nil {
		t.Fatal(err)
	}
	lib := "#!lua name=lib1\nredis.register_function('func1', function() return 123 end)"
	if err := c.Do(ctx, "FUNCTION", "LOAD", lib).Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "functions.rdb")
	if out := cli(t, bin, s, "", "--functions-rdb", path); !strings.Contains(out, "Transfer finished with success") {
		t.Fatalf("redis-cli --functions-rdb: %s", out)
	}
	checkRDB(t, path)
	r := redisFromRDB(t, path).Client(t, 0)
	if n, err := r.DBSize(ctx).Result(); n != 0 || err != nil {
		t.Fatalf("DBSIZE of the functions' RDB = %d, %v", n, err)
	}
	if got, _ := r.Do(ctx, "FUNCTION", "LIST").Result(); !strings.Contains(fmt.Sprint(got), "func1") {
		t.Fatalf("FUNCTION LIST of the functions' RDB = %v", got)
	}

	peers := bothPeers(t)
	sameReplies(t, []*redis.Client{peers[0].c, peers[1].c}, func(do func(args ...any)) {
		do("REPLCONF", "rdb-filter-only", "bogus")
		do("REPLCONF", "rdb-filter-only", "functions bogus")
		do("REPLCONF", "rdb-filter-only", "FUNCTIONS")
		do("REPLCONF", "rdb-filter-only", "")
		do("SYNC")
	})
}
