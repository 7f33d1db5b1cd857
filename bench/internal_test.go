package main

// Benchmarks of Shoal's internals, benchstat-ready:
//
//	go test ./bench -run '^$' -bench . -count 10 | tee new.txt
//	benchstat old.txt new.txt

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

func BenchmarkEncodeMetaString(b *testing.B) {
	m := &encoding.Meta{Type: encoding.TypeString, Value: []byte("a value of some size")}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = encoding.AppendMeta(buf[:0], m)
	}
}

func BenchmarkDecodeMetaString(b *testing.B) {
	enc := encoding.AppendMeta(nil, &encoding.Meta{Type: encoding.TypeString, ExpireAt: 1, Value: []byte("v")})
	var m encoding.Meta
	b.ReportAllocs()
	for b.Loop() {
		if err := encoding.DecodeMeta(enc, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplyWriter(b *testing.B) {
	for _, proto := range []int{2, 3} {
		b.Run("resp"+strconv.Itoa(proto), func(b *testing.B) {
			var w resp.Writer
			w.SetProto(proto)
			val := []byte("value")
			b.ReportAllocs()
			for b.Loop() {
				w.Reset()
				w.Map(2)
				w.Bulk(val)
				w.Double(1.5)
				w.Bulk(val)
				w.Int(42)
				w.Null()
			}
		})
	}
}

func openBenchStore(b *testing.B, fsync storage.FsyncPolicy) *storage.Store {
	s, err := storage.Open(storage.Options{Dir: "db", FS: vfs.NewMem(), Fsync: fsync, ExpireHz: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func setKey(tx *storage.Tx, k *storage.Key, name, val []byte) {
	tx.Lock(0, name)
	tx.LookupInto(k, 0, name)
	tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, Value: val})
}

// BenchmarkWritePipeline16 is the write batcher: 16 SETs of one
// connection's pipeline committed as one batch.
func BenchmarkWritePipeline16(b *testing.B) {
	s := openBenchStore(b, storage.FsyncNo)
	tx := s.NewTx()
	var k storage.Key
	names := make([][]byte, 1024)
	for i := range names {
		names[i] = []byte("key:" + strconv.Itoa(i))
	}
	val := []byte("xyz")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := 0; j < 16; j++ {
			setKey(tx, &k, names[i%len(names)], val)
			i++
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupHot reads a key the metadata cache holds.
func BenchmarkLookupHot(b *testing.B) {
	s := openBenchStore(b, storage.FsyncNo)
	tx := s.NewTx()
	var k storage.Key
	setKey(tx, &k, []byte("hot"), []byte("value"))
	tx.Commit()
	b.ReportAllocs()
	for b.Loop() {
		if err := tx.LookupInto(&k, 0, []byte("hot")); err != nil || !k.Live {
			b.Fatal("lookup failed")
		}
	}
}

// fillCollection builds a collection of n members through the storage
// API, committing every 10k members.
func fillCollection(b *testing.B, s *storage.Store, name string, typ encoding.Type, n int, add func(tx *storage.Tx, k *storage.Key, i int)) {
	b.Helper()
	tx := s.NewTx()
	for i := 0; i < n; {
		tx.Lock(0, []byte(name))
		k, err := tx.Lookup(0, []byte(name))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.PrepareCollection(k, typ); err != nil {
			b.Fatal(err)
		}
		for end := min(i+10000, n); i < end; i++ {
			add(tx, k, i)
		}
		tx.SetSize(k, k.Meta.Size)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDelHash1M is the cost of DEL of a hash with a million fields:
// one metadata delete and one range tombstone, whatever the size.
func BenchmarkDelHash1M(b *testing.B) {
	s := openBenchStore(b, storage.FsyncNo)
	for i := 0; i < b.N; i++ {
		name := "h" + strconv.Itoa(i)
		b.StopTimer()
		fillCollection(b, s, name, encoding.TypeHash, 1_000_000, func(tx *storage.Tx, k *storage.Key, j int) {
			if _, err := tx.HashSet(k, []byte("field:"+strconv.Itoa(j)), []byte("v")); err != nil {
				b.Fatal(err)
			}
		})
		b.StartTimer()
		tx := s.NewTx()
		tx.Lock(0, []byte(name))
		k, _ := tx.Lookup(0, []byte(name))
		tx.Delete(k)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZSet1M measures ZADD into and ZRANGE BYSCORE over a sorted set
// of a million members; ranges iterate Pebble without loading the set.
func BenchmarkZSet1M(b *testing.B) {
	s := openBenchStore(b, storage.FsyncNo)
	fillCollection(b, s, "z", encoding.TypeZSet, 1_000_000, func(tx *storage.Tx, k *storage.Key, j int) {
		tx.ZPut(k, []byte("m:"+strconv.Itoa(j)), float64(j), 0, false)
		k.Meta.Size++
	})
	b.Run("zadd", func(b *testing.B) {
		tx := s.NewTx()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tx.Lock(0, []byte("z"))
			k, _ := tx.Lookup(0, []byte("z"))
			member := []byte("new:" + strconv.Itoa(i))
			old, had, _ := tx.ZScore(k, member)
			tx.ZPut(k, member, float64(i%1_000_000)+0.5, old, had)
			if !had {
				k.Meta.Size++
			}
			tx.SetSize(k, k.Meta.Size)
			tx.Commit()
		}
	})
	b.Run("zrangebyscore-100", func(b *testing.B) {
		tx := s.NewTx()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k, _ := tx.Lookup(0, []byte("z"))
			lo := float64((i * 7919) % 999_000)
			n := 0
			tx.ZWalkScore(k, storage.ScoreRange{Min: lo, Max: lo + 1e9}, false, func([]byte, float64) bool {
				n++
				return n < 100
			})
			if n != 100 {
				b.Fatalf("range returned %d members", n)
			}
		}
	})
}

// benchHost answers every call with an integer, as INCR does.
type benchHost struct{}

func (benchHost) ACLCheckCmd(*scripting.Run, [][]byte) (bool, error) { return true, nil }

func (benchHost) Call(run *scripting.Run, args [][]byte, out *resp.Writer) error {
	out.Int(int64(len(args)))
	return nil
}

// BenchmarkScriptEval is the interpreter's share of EVALSHA: a one-call
// and a ten-call script on a host that answers at once.
func BenchmarkScriptEval(b *testing.B) {
	for _, sc := range benchScripts {
		b.Run(strings.ReplaceAll(sc.name, " ", "_"), func(b *testing.B) {
			e := scripting.New(nil, "7.2.4", 0x070204)
			s, err := e.Load([]byte(sc.body))
			if err != nil {
				b.Fatal(err)
			}
			keys := [][]byte{[]byte("key:1")}
			var out resp.Writer
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				run := &scripting.Run{Name: s.SHA, Keys: keys, Host: benchHost{}}
				if err := e.Eval(run, s, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
