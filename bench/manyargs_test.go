package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// BenchmarkManyArgs sends one command of 100,000 arguments (or pairs) to
// a real server on loopback, as `go run ./bench -manyargs` does, from
// prepared bytes: what is timed is the server's reading, running and
// committing it. Each round empties the store first (and, for DEL, writes
// its keys), untimed. cpu-ms/op is the process's CPU time while the
// command ran (Pebble's background work included), steadier than the time
// on a shared machine. SHOAL_BENCH_CPUPROFILE=path writes a CPU profile
// of the command alone to path.<command>.<round> (`go tool pprof` merges
// them); -memprofile shows where their
// allocations go (the setup's among them).
func BenchmarkManyArgs(b *testing.B) {
	const n = manyArgs
	seq := func(head []string, prefix string, pairs bool) []string {
		for i := range n {
			head = append(head, prefix+strconv.Itoa(i))
			if pairs {
				head = append(head, "value:"+strconv.Itoa(i))
			}
		}
		return head
	}
	mset := seq([]string{"MSET"}, "key:", true)
	for _, tc := range []struct {
		name       string
		setup, cmd []string
	}{
		{"SADD", nil, seq([]string{"SADD", "s"}, "member:", false)},
		{"MSET", nil, mset},
		{"HSET", nil, seq([]string{"HSET", "h"}, "field:", true)},
		{"RPUSH", nil, seq([]string{"RPUSH", "l"}, "element:", false)},
		{"DEL", mset, seq([]string{"DEL"}, "key:", false)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			profile := os.Getenv("SHOAL_BENCH_CPUPROFILE")
			cfg := testutil.Config(b)
			cfg.AppendFsync = "everysec"
			s := testutil.Start(b, cfg)
			nc, err := net.Dial("tcp", s.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			rd := bufio.NewReader(nc)
			do := func(req []byte) {
				if _, err := nc.Write(req); err != nil {
					b.Fatal(err)
				}
				line, err := rd.ReadSlice('\n')
				if err != nil || line[0] == '-' {
					b.Fatalf("%q %v", line, err)
				}
			}
			flush, setup, cmd := encodeRequest([]string{"FLUSHALL"}), encodeRequest(tc.setup), encodeRequest(tc.cmd)
			b.ReportAllocs()
			b.ResetTimer()
			var cpu int64
			for round := range b.N {
				b.StopTimer()
				do(flush)
				if tc.setup != nil {
					do(setup)
				}
				var ru0, ru1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				if profile != "" {
					startProfile(b, profile+"."+tc.name+"."+strconv.Itoa(round))
				}
				b.StartTimer()
				do(cmd)
				b.StopTimer()
				if profile != "" {
					pprof.StopCPUProfile()
				}
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
				cpu += tvNanos(ru1.Utime) + tvNanos(ru1.Stime) - tvNanos(ru0.Utime) - tvNanos(ru0.Stime)
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// startProfile starts a CPU profile into path, replacing the file.
func startProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
}

// encodeRequest is args as a RESP array of bulk strings; nil for none.
func encodeRequest(args []string) []byte {
	if args == nil {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		buf.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return buf.Bytes()
}
