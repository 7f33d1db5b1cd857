package main

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoaldb/shoal/storage"
)

// BenchmarkReplicatedCommits is a primary's commits with the replication
// log off and on: 50 writers, each committing pipelines of 16 SETs of keys
// of its own, as redis-benchmark -c 50 -P 16 sends them, while (log on) two
// feeders read the log as the links to two replicas do. One op is one
// commit; it reports commits/s, the process's CPU per commit, and the
// bytes each commit adds to Pebble's WAL and to the replication log.
func BenchmarkReplicatedCommits(b *testing.B) {
	for _, logged := range []bool{false, true} {
		name := "log=off"
		if logged {
			name = "log=on"
		}
		b.Run(name, func(b *testing.B) {
			s := openBenchStore(b, storage.FsyncEverySec)
			stop := make(chan struct{})
			var feeders sync.WaitGroup
			if logged {
				if err := s.EnableLog(); err != nil {
					b.Fatal(err)
				}
				for range 2 {
					feeders.Add(1)
					go func() {
						defer feeders.Done()
						feed(b, s, stop)
					}()
				}
			}
			const writers = 50
			val := []byte("xyz")
			var next sync.WaitGroup
			work := make(chan struct{}, writers)
			b.ReportAllocs()
			wal0, off0 := s.DB().Metrics().WAL.BytesIn, s.ReplOffset()
			cpu0, t0 := processCPU(), time.Now()
			b.ResetTimer()
			for w := range writers {
				next.Add(1)
				go func() {
					defer next.Done()
					tx := s.NewTx()
					var k storage.Key
					names := make([][]byte, 1024)
					for i := range names {
						names[i] = []byte("key:" + strconv.Itoa(w) + ":" + strconv.Itoa(i))
					}
					i := 0
					for range work {
						for range 16 {
							setKey(tx, &k, names[i%len(names)], val)
							i++
						}
						if err := tx.Commit(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			next.Wait()
			b.StopTimer()
			elapsed, cpu := time.Since(t0), processCPU()-cpu0
			close(stop)
			feeders.Wait()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/commit")
			b.ReportMetric(float64(s.DB().Metrics().WAL.BytesIn-wal0)/float64(b.N), "wal-B/commit")
			b.ReportMetric(float64(s.ReplOffset()-off0)/float64(b.N), "log-B/commit")
		})
	}
}

// feed reads the log as a link to a replica does, until stop.
func feed(b *testing.B, s *storage.Store, stop <-chan struct{}) {
	sent := s.ReplOffset()
	for {
		changed := s.LogChanged()
		entries, err := s.ReadLog(sent, 1<<20)
		if err != nil {
			b.Error(err)
			return
		}
		if len(entries) > 0 {
			sent = entries[len(entries)-1].End
			continue
		}
		select {
		case <-stop:
			return
		case <-changed:
		}
	}
}
