package main

import (
	"context"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// BenchmarkListStorage is LPUSH and RPOP of one list through the storage
// API, 16 to a commit as a connection's -P 16 pipeline commits them; one
// op is one push or pop. The rpop run pops a list the untimed part
// pushed.
func BenchmarkListStorage(b *testing.B) {
	val := []byte("xyz")
	name := []byte("mylist")
	push := func(tx *storage.Tx) {
		tx.Lock(0, name)
		k, err := tx.Lookup(0, name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.PrepareCollection(k, encoding.TypeList); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ListPush(k, true, [][]byte{val}); err != nil {
			b.Fatal(err)
		}
	}
	commit := func(tx *storage.Tx) {
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("lpush", func(b *testing.B) {
		tx := openBenchStore(b, storage.FsyncNo).NewTx()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			push(tx)
			if i%16 == 15 {
				commit(tx)
			}
		}
		commit(tx)
	})
	b.Run("rpop", func(b *testing.B) {
		tx := openBenchStore(b, storage.FsyncNo).NewTx()
		for i := 0; i < b.N; i++ {
			push(tx)
			if i%16 == 15 {
				commit(tx)
			}
		}
		commit(tx)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tx.Lock(0, name)
			k, err := tx.Lookup(0, name)
			if err != nil {
				b.Fatal(err)
			}
			if v, err := tx.ListPop(k, false, 1); err != nil || len(v) != 1 {
				b.Fatal("pop failed", err)
			}
			if i%16 == 15 {
				commit(tx)
			}
		}
		commit(tx)
	})
}

// BenchmarkListServer is LPUSH, RPOP and LRANGE 0 99 of one list through a
// real server, over 8 connections each sending pipelines of 16; one op is
// one command.
func BenchmarkListServer(b *testing.B) {
	ctx := context.Background()
	for _, cmd := range []string{"lpush", "rpop", "lrange_100"} {
		b.Run(cmd, func(b *testing.B) {
			c := testutil.Client(b, testutil.Start(b, nil), 2)
			if cmd != "lpush" {
				vals := make([]any, 1000)
				for i := range vals {
					vals[i] = "xyz"
				}
				for n := 0; n < b.N+1000; n += len(vals) {
					if err := c.LPush(ctx, "mylist", vals...).Err(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				p := c.Pipeline()
				n := 0
				for pb.Next() {
					switch cmd {
					case "lpush":
						p.LPush(ctx, "mylist", "xyz")
					case "rpop":
						p.RPop(ctx, "mylist")
					default:
						p.LRange(ctx, "mylist", 0, 99)
					}
					if n++; n%16 == 0 {
						if _, err := p.Exec(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				}
				p.Exec(ctx)
			})
		})
	}
}
