// Command shoal runs a Shoal server:
//
//	shoal [path/to/redis.conf] [--port N] [--bind ADDR] [--dir PATH] ...
//	shoal import-rdb FILE [path/to/redis.conf] [--dir PATH] ...
//
// Every --name value flag is a redis.conf directive of the same name.
// import-rdb loads a Redis RDB file into the data folder, which must hold
// no keys, and exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/server"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Printf("Shoal server v=%s redis=%s\n", server.Version, server.RedisVersion)
		return
	}
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		fmt.Println("Usage: shoal [/path/to/redis.conf] [--directive value ...]")
		fmt.Println("       shoal import-rdb FILE [/path/to/redis.conf] [--directive value ...]")
		fmt.Println("Examples: shoal --port 7000 --dir ./data7000 --appendfsync always")
		fmt.Println("          shoal import-rdb dump.rdb --dir ./data7000")
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "import-rdb" {
		os.Exit(importRDB(os.Args[2:]))
	}
	cfg, err := config.Load(os.Args[1:])
	if err != nil {
		configFailed(err)
	}
	if cfg.Daemonize {
		if os.Getenv(daemonChild) == "" {
			os.Exit(daemonize())
		}
		if cfg.PidFile == "" {
			cfg.PidFile = "/var/run/redis.pid" // Redis's default when daemonized
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" && cfg.MaxMemory > 0 {
		// NB: the data lives on disk, so maxmemory bounds the process:
		// the heap is collected harder as it nears the limit.
		debug.SetMemoryLimit(int64(min(cfg.MaxMemory, math.MaxInt64)))
	}
	if n := runtime.GOMAXPROCS(0); n > 1 && os.Getenv("GOMAXPROCS") == "" {
		// NB: a processor of the Go scheduler that always finds goroutines
		// to run (a compaction, the clients of a load) polls the network
		// only when the runtime's monitor does, every 10 ms, so a client
		// that sends one command waits that long. With twice as many
		// processors as CPUs, one is mostly idle and polls at once, and
		// the kernel shares the CPUs between them: PING's p99 beside a
		// pipelined SET load went from 10-13 ms to 4-6 ms on two CPUs. On
		// one CPU the second processor cost 2-9% of pipelined throughput.
		runtime.GOMAXPROCS(2 * n)
	}
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv.ReportCrashes()
	// SIGINT and SIGTERM shut down after the replicas caught up
	// (shutdown-timeout); a second one during that wait, at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for sig := range sigs {
			go srv.ShutdownOnSignal(sig)
		}
	}()
	if err := srv.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// importRDB runs "shoal import-rdb FILE [directives]" and returns the
// exit status.
func importRDB(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Usage: shoal import-rdb FILE [/path/to/redis.conf] [--directive value ...]")
		return 2
	}
	cfg, err := config.Load(args[1:])
	if err != nil {
		configFailed(err)
	}
	if os.Getenv("GOGC") == "" {
		// The load's garbage (decoded values) lives a moment: a heap kept
		// small reuses its pages where a larger one touched new ones. The
		// 1.2M-key file of bench/migration.sh: 3.0-3.2 s and 350 MB at
		// the default 100, 2.6-2.8 s and 280 MB at 50.
		debug.SetGCPercent(50)
	}
	if _, err := server.ImportRDB(cfg, args[0], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "import-rdb: %s: %v; nothing was loaded\n", args[0], err)
		return 1
	}
	return 0
}

// daemonChild marks the process daemonize started.
const daemonChild = "SHOAL_DAEMONIZED"

// daemonize runs this command again in the background, as daemonize yes
// asks: in a session of its own, with no terminal, its standard streams
// on /dev/null (the log goes to logfile, or nowhere, as Redis's), and
// returns the status the starting command exits with, at once, as
// Redis's parent does after its fork.
func daemonize() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer null.Close()
	p, err := os.StartProcess(exe, os.Args, &os.ProcAttr{
		Env:   append(os.Environ(), daemonChild+"=1"),
		Files: []*os.File{null, null, null},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p.Release()
	return 0
}

// configFailed reports a configuration Shoal cannot start with and exits:
// a refused line as redis-server reports it, under its banner.
func configFailed(err error) {
	var le *config.LineError
	if errors.As(err, &le) {
		fmt.Fprintf(os.Stderr, "\n*** FATAL CONFIG FILE ERROR (Shoal %s) ***\n", server.Version)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
