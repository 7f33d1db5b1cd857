package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rdbObject is one key of a hand-built RDB file.
type rdbObject struct {
	db       int
	key      string
	obj      []byte // type byte and body, as in a DUMP payload
	expireAt int64
	want     string // canon of the value
}

// buildRDB writes an RDB file of the given version around objs, grouped
// by database in order.
func buildRDB(version int, objs []rdbObject) []byte {
	b := []byte(fmt.Sprintf("REDIS%04d", version))
	b = append(b, rdbOpAux)
	b = appendStr(appendStr(b, []byte("redis-ver")), []byte("test"))
	db := -1
	for _, o := range objs {
		if o.db != db {
			db = o.db
			b = appendLen(append(b, rdbOpSelectDB), uint64(db))
			b = appendLen(appendLen(append(b, rdbOpResizeDB), 1), 0)
		}
		if o.expireAt != 0 {
			b = binary.LittleEndian.AppendUint64(append(b, rdbOpExpireMs), uint64(o.expireAt))
		}
		b = append(b, o.obj[0])
		b = appendStr(b, []byte(o.key))
		b = append(b, o.obj[1:]...)
	}
	b = append(b, rdbOpEOF)
	return binary.LittleEndian.AppendUint64(b, RDBChecksum(b))
}

// redisObjects are redisPayloads (captured from redis-server 7.0.15) as
// RDB objects.
func redisObjects(t *testing.T) []rdbObject {
	var out []rdbObject
	for i, tc := range redisPayloads {
		p, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rdbObject{db: i % 3, key: tc.name, obj: p[:len(p)-dumpFooterLen], want: canon(&tc.value)})
	}
	// Keep the databases grouped, as an RDB file does.
	var grouped []rdbObject
	for db := 0; db < 3; db++ {
		for _, o := range out {
			if o.db == db {
				grouped = append(grouped, o)
			}
		}
	}
	return grouped
}

// checkLoaded reads every object back from s and compares it.
func checkLoaded(t *testing.T, s *Store, objs []rdbObject) {
	t.Helper()
	tx := s.NewTx()
	defer tx.Discard()
	for _, o := range objs {
		k, err := tx.Lookup(o.db, []byte(o.key))
		if err != nil || !k.Live {
			t.Fatalf("%s: %+v, %v", o.key, k, err)
		}
		if k.Meta.ExpireAt != o.expireAt {
			t.Errorf("%s: expires at %d, want %d", o.key, k.Meta.ExpireAt, o.expireAt)
		}
		p, err := tx.Dump(k, false)
		if err != nil {
			t.Fatal(err)
		}
		v, err := DecodeDump(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := canon(v); got != o.want {
			t.Errorf("%s: loaded %s, want %s", o.key, got, o.want)
		}
	}
}

// TestLoadRDBVersions loads RDB files of Redis 6.2 (version 9: ziplists,
// quicklists of ziplists, intsets), 7.0 (version 10: every encoding
// redis-server 7.0.15 wrote in redisPayloads) and 7.2 (version 11: set
// listpacks), with expiry times in several databases.
func TestLoadRDBVersions(t *testing.T) {
	zl := []byte{0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x00, 0x01, 'a', 0x03, 0xf8, 0x02, 0xfe, 0xfe, 0xff}
	zl[0], zl[4] = byte(len(zl)), 15
	hashZL := []byte{0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x00, 0x01, 'f', 0x03, 0x01, 'v', 0xff}
	hashZL[0], hashZL[4] = byte(len(hashZL)), 13
	lp := listpack("a", "b", "c")
	v9 := []rdbObject{
		{0, "list-ziplist", append([]byte{rdbTypeListZiplist, byte(len(zl))}, zl...), 0, "list:a,7,-2"},
		{0, "quicklist", append([]byte{rdbTypeListQuicklist, 1, byte(len(zl))}, zl...), 4102444800123, "list:a,7,-2"},
		{2, "hash-ziplist", append([]byte{rdbTypeHashZiplist, byte(len(hashZL))}, hashZL...), 0, "hash:f=v"},
	}
	v11 := []rdbObject{{1, "set-listpack", append([]byte{rdbTypeSetListpack, byte(len(lp))}, lp...), 4102444800456, "set:a,b,c"}}
	for _, tc := range []struct {
		version int
		objs    []rdbObject
	}{
		{9, v9},
		{10, redisObjects(t)},
		{11, append(redisObjects(t), v11...)},
	} {
		t.Run(fmt.Sprint("version ", tc.version), func(t *testing.T) {
			s := openTest(t, nil, nil)
			info, err := s.LoadRDB(buildRDB(tc.version, tc.objs), RDBLoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Keys != int64(len(tc.objs)) || info.Version != tc.version || info.AuxValue("redis-ver") != "test" {
				t.Errorf("load info %+v", info)
			}
			checkLoaded(t, s, tc.objs)
		})
	}
}

// TestWriteRDBLoadsBack writes an RDB of every redisPayloads value with
// WriteRDB and loads it into another store: same values, same expiry
// times, same databases; an expired key is left out of the file.
func TestWriteRDBLoadsBack(t *testing.T) {
	src := openTest(t, nil, nil)
	objs := redisObjects(t)
	objs[1].expireAt = 4102444800789
	if _, err := src.LoadRDB(buildRDB(10, objs), RDBLoadOptions{}); err != nil {
		t.Fatal(err)
	}
	tx := src.NewTx()
	putString(t, tx, 4, "gone", "x", 1000) // long expired
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := src.WriteRDB(&buf, []RDBAux{{"redis-ver", "7.0.15"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Keys != int64(len(objs)) || info.Bytes != int64(buf.Len()) {
		t.Errorf("write info %+v for %d bytes", info, buf.Len())
	}
	if !strings.HasPrefix(buf.String(), "REDIS0010") {
		t.Fatalf("header %q", buf.String()[:9])
	}
	dst := openTest(t, nil, nil)
	if _, err := dst.LoadRDB(buf.Bytes(), RDBLoadOptions{}); err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, dst, objs)
	if n := dst.TotalKeys(); n != int64(len(objs)) {
		t.Errorf("%d keys loaded, want %d", n, len(objs))
	}
}

// TestLoadRDBRefuses checks the reasons a file is refused, and that the
// store holds nothing afterwards.
func TestLoadRDBRefuses(t *testing.T) {
	objs := redisObjects(t)
	good := buildRDB(10, objs)
	dup := buildRDB(10, append(objs[:2:2], objs[0]))
	far := buildRDB(10, []rdbObject{{db: 99, key: "k", obj: objs[0].obj, want: objs[0].want}})
	for _, tc := range []struct {
		name   string
		file   []byte
		reason string
	}{
		{"signature", []byte("RUBBISH0010"), "wrong signature"},
		{"version", append([]byte("REDIS0012"), good[9:]...), "can't handle RDB format version"},
		{"checksum", append(good[:len(good)-1:len(good)-1], good[len(good)-1]^1), "wrong RDB checksum"},
		{"duplicate", dup, "duplicate key"},
		{"database", far, "database 99 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, nil, nil)
			_, err := s.LoadRDB(tc.file, RDBLoadOptions{})
			var re *RDBError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tc.reason) {
				t.Fatalf("load: %v, want %q", err, tc.reason)
			}
			if n := s.TotalKeys(); n != 0 {
				t.Errorf("%d keys left after a refused file", n)
			}
			tx := s.NewTx()
			defer tx.Discard()
			if k, _ := tx.Lookup(0, []byte(objs[0].key)); k.Exists {
				t.Error("a key of the refused file is stored")
			}
		})
	}
	s := openTest(t, nil, nil)
	tx := s.NewTx()
	putString(t, tx, 0, "k", "v", 0)
	tx.Commit()
	if _, err := s.LoadRDB(good, RDBLoadOptions{}); !errors.Is(err, ErrStoreNotEmpty) {
		t.Errorf("load into a store with keys: %v", err)
	}
}

// TestLZFRoundTrip compresses texts that repeat near and far, at the
// limits of literal runs, offsets and reference lengths, and random bytes,
// and decompresses them back.
func TestLZFRoundTrip(t *testing.T) {
	rnd := make([]byte, 5000)
	for i := range rnd {
		rnd[i] = byte(i*7919 ^ i>>3*31)
	}
	inputs := [][]byte{
		[]byte(strings.Repeat("abcdefghij", 30)),
		[]byte(strings.Repeat("a", 1000)),
		[]byte(strings.Repeat("x", 21)),
		append(append([]byte(strings.Repeat("q", 40)), rnd[:9000%5000]...), []byte(strings.Repeat("q", 40))...),
		append(append(append([]byte{}, rnd[:100]...), rnd[:8300%5000]...), rnd[:100]...),
		rnd,
		[]byte(strings.Repeat("value:12345 ", 400)),
	}
	for i, in := range inputs {
		comp := lzfCompress(in, len(in)*2)
		if comp == nil {
			t.Fatalf("input %d: not compressed under a generous limit", i)
		}
		back, err := lzfDecompress(comp, uint64(len(in)))
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("input %d (%d bytes): round trip failed: %v", i, len(in), err)
		}
		// Under the RDB's limit it compresses only when it saves space.
		if c := lzfCompress(in, len(in)-4); c != nil && len(c) > len(in)-4 {
			t.Fatalf("input %d: %d bytes over the limit %d", i, len(c), len(in)-4)
		}
	}
	if c := lzfCompress([]byte(strings.Repeat("z", 300)), 400); len(c) >= 20 {
		t.Errorf("300 equal bytes compress to %d bytes", len(c))
	}
}

// TestLoadRDBPaths loads the same file around Pebble's write path, with a
// run file per key or one run for the whole file, merged in parts that
// start at any sampled key, and through committed batches, as a node
// whose commits are logged for its replicas does: the same values, and a
// key repeated in another run or batch refused.
func TestLoadRDBPaths(t *testing.T) {
	defer func(c, r int, m int64) { rdbCommitBytes, rdbRunBytes, rdbMarkBytes = c, r, m }(rdbCommitBytes, rdbRunBytes, rdbMarkBytes)
	rdbCommitBytes, rdbMarkBytes = 1, 1
	objs := redisObjects(t)
	for _, c := range []struct {
		logged bool
		run    int
	}{{false, 1}, {false, 64 << 20}, {true, 1}} {
		t.Run(fmt.Sprintf("logged %v, runs of %d bytes", c.logged, c.run), func(t *testing.T) {
			rdbRunBytes = c.run
			s := openTest(t, nil, nil)
			s.repl.enabled.Store(c.logged)
			info, err := s.LoadRDB(buildRDB(10, objs), RDBLoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Keys != int64(len(objs)) || s.TotalKeys() != info.Keys {
				t.Errorf("loaded %d keys, store counts %d, want %d", info.Keys, s.TotalKeys(), len(objs))
			}
			checkLoaded(t, s, objs)

			d := openTest(t, nil, nil)
			d.repl.enabled.Store(c.logged)
			_, err = d.LoadRDB(buildRDB(10, append(objs[:3:3], objs[0])), RDBLoadOptions{})
			var re *RDBError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, "1 keys are duplicates") {
				t.Fatalf("load of a repeated key: %v", err)
			}
			if n := d.TotalKeys(); n != 0 {
				t.Errorf("%d keys left after a refused file", n)
			}
		})
	}
}

// TestLoadRDBWhileRead loads a file while a reader looks its keys up
// over and over, as clients of a replica do during a full sync: once the
// load returns, every key reads as loaded. A reader that read a key as
// absent before its batch landed used to leave it cached as absent.
func TestLoadRDBWhileRead(t *testing.T) {
	defer func(c int, m int64) { rdbCommitBytes, rdbMarkBytes = c, m }(rdbCommitBytes, rdbMarkBytes)
	rdbCommitBytes, rdbMarkBytes = 1, 1
	var objs []rdbObject
	for i := range 2000 {
		v := fmt.Sprintf("v%d", i)
		objs = append(objs, rdbObject{key: fmt.Sprintf("k%d", i), obj: appendStr([]byte{0}, []byte(v)), want: v})
	}
	s := openTest(t, nil, nil)
	s.repl.enabled.Store(true) // committed batches, as a logged node's load
	done := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		tx := s.NewTx()
		defer tx.Discard()
		for {
			for _, o := range objs {
				select {
				case <-done:
					return
				default:
				}
				if _, err := tx.Lookup(0, []byte(o.key)); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	_, err := s.LoadRDB(buildRDB(10, objs), RDBLoadOptions{})
	close(done)
	<-read
	if err != nil {
		t.Fatal(err)
	}
	tx := s.NewTx()
	defer tx.Discard()
	missing := 0
	for _, o := range objs {
		if k, err := tx.Lookup(0, []byte(o.key)); err != nil || !k.Live {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d loaded keys read as absent after the load", missing, len(objs))
	}
}
