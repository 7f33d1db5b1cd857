package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
)

// BenchmarkServerPipeline16 is the whole command path of a real server on
// loopback: 4 connections send pipelines of 16 requests over 100k keys, as
// redis-benchmark -P 16 does. Besides time and allocations per request, it
// reports the process's CPU time per request (server and client together;
// the client only writes prepared bytes and counts replies).
// SHOAL_BENCH_CONFIG="name value ..." sets directives.
func BenchmarkServerPipeline16(b *testing.B) {
	for _, tc := range []struct{ name, cmd string }{
		{"SET", "SET"},
		{"GET", "GET"},
		{"INCR", "INCR"},
		{"LPUSH", "LPUSH"},
		{"SADD", "SADD"},
		{"HSET", "HSET"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := testutil.Config(b)
			cfg.AppendFsync = "no"
			if extra := os.Getenv("SHOAL_BENCH_CONFIG"); extra != "" {
				// "name value [name value ...]", as in a configuration file.
				f := strings.Fields(extra)
				for i := 0; i+1 < len(f); i += 2 {
					if d := config.Lookup(f[i]); d == nil || d.Set(cfg, f[i+1:i+2]) != nil {
						b.Fatalf("SHOAL_BENCH_CONFIG: %s %s", f[i], f[i+1])
					}
				}
			}
			s := testutil.Start(b, cfg)
			const conns, depth = 4, 16
			pipes := make([][]byte, 64)
			for i := range pipes {
				var buf bytes.Buffer
				for j := 0; j < depth; j++ {
					key := "key:" + strconv.Itoa((i*depth+j)*97%100000)
					writeRequest(&buf, tc.cmd, key)
				}
				pipes[i] = buf.Bytes()
			}
			// Fill the keys GET reads.
			if tc.cmd == "GET" {
				runPipelines(b, s.Addr(), 1, 100000/depth, pipesFor("SET", depth), depth)
			}
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ReportAllocs()
			b.ResetTimer()
			rounds := b.N/(conns*depth) + 1
			runPipelines(b, s.Addr(), conns, rounds, pipes, depth)
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := tvNanos(ru1.Utime) + tvNanos(ru1.Stime) - tvNanos(ru0.Utime) - tvNanos(ru0.Stime)
			b.ReportMetric(float64(cpu)/float64(rounds*conns*depth), "cpu-ns/req")
		})
	}
}

func pipesFor(cmd string, depth int) [][]byte {
	pipes := make([][]byte, 100000/depth)
	for i := range pipes {
		var buf bytes.Buffer
		for j := 0; j < depth; j++ {
			writeRequest(&buf, cmd, "key:"+strconv.Itoa(i*depth+j))
		}
		pipes[i] = buf.Bytes()
	}
	return pipes
}

func writeRequest(buf *bytes.Buffer, cmd, key string) {
	args := []string{cmd, key}
	switch cmd {
	case "SET", "LPUSH", "SADD":
		args = append(args, "xyz")
	case "HSET":
		args = append(args, "f", "xyz")
	}
	buf.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		buf.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
}

func tvNanos(tv syscall.Timeval) int64 { return tv.Sec*1e9 + tv.Usec*1e3 }

// runPipelines sends rounds pipelines on each of conns connections and
// reads depth replies after each.
func runPipelines(b *testing.B, addr string, conns, rounds int, pipes [][]byte, depth int) {
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer nc.Close()
			rd := bufio.NewReaderSize(nc, 64<<10)
			for r := 0; r < rounds; r++ {
				if _, err := nc.Write(pipes[(r+c*7)%len(pipes)]); err != nil {
					b.Error(err)
					return
				}
				for j := 0; j < depth; j++ {
					line, err := rd.ReadSlice('\n')
					if err != nil {
						b.Error(err)
						return
					}
					if line[0] == '-' {
						b.Errorf("error reply: %s", line)
						return
					}
					if line[0] == '$' {
						n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
						if n >= 0 {
							rd.Discard(n + 2)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}
