package server

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoaldb/shoal/config"
)

// Crash reports, as Redis's: a process that dies of a signal sent to it
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, the ones Redis's
// setupSigSegvHandlers catches), of DEBUG SEGFAULT, PANIC or ASSERT, or
// of a fatal error of its own writes to its log that it crashed and why,
// then the stacks of every goroutine (the Go runtime's report, which it
// also writes to standard error, a daemon's being /dev/null), and dies of
// the signal, as Redis's bugReportEnd re-raises it. crash-log-enabled no
// leaves the runtime's report on standard error only, as Redis then
// writes none.

var crashSignals = []os.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGABRT}

// crashReports is set once the process's server reports its crashes.
var crashReports atomic.Pointer[Server]

// ReportCrashes makes the process write a crash report to the server's
// log when it crashes. Only the process's one server calls it
// (cmd/shoal): the signals are the process's.
func (s *Server) ReportCrashes() {
	if s.logOut == nil || !crashReports.CompareAndSwap(nil, s) {
		return
	}
	s.applyCrashLog(s.Config())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, crashSignals...)
	go func() {
		sig := (<-sigs).(syscall.Signal)
		s.bugReport(fmt.Sprintf("Shoal %s crashed by signal: %d (%s)", Version, int(sig), sig))
		s.dieOf(func() {
			signal.Reset(crashSignals...)
			syscall.Kill(os.Getpid(), sig)
		})
	}()
}

// applyCrashLog gives the runtime's report of a fatal error the log as a
// second output while crash-log-enabled is on (standard error stays the
// first): unless the log is standard error already.
func (s *Server) applyCrashLog(cfg *config.Config) {
	if crashReports.Load() != s {
		return
	}
	var out *os.File
	if cfg.CrashLogEnabled && !sameFile(s.logOut, os.Stderr) {
		out = s.logOut
	}
	if err := debug.SetCrashOutput(out, debug.CrashOptions{}); err != nil {
		s.log.Warn("The crash report cannot go to the log", "err", err)
	}
}

func sameFile(a, b *os.File) bool {
	sa, err := a.Stat()
	if err != nil {
		return false
	}
	sb, err := b.Stat()
	return err == nil && os.SameFile(sa, sb)
}

// Crash crashes the process as DEBUG SEGFAULT, PANIC and ASSERT do in
// Redis, after the lines Redis writes for each; the runtime's report of
// the goroutines follows them. It does not return.
func (s *Server) Crash(how string) {
	switch how {
	case "segfault":
		s.bugReport(fmt.Sprintf("Shoal %s crashed by signal: %d (%s)", Version, int(syscall.SIGSEGV), syscall.SIGSEGV))
		s.dieOf(func() {
			// NB: a signal, not a nil pointer's fault, which the runtime
			// words as a "runtime error" (sanitizers' word for their
			// findings).
			signal.Reset(crashSignals...)
			syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		})
	case "panic":
		s.crashLines("------------------------------------------------",
			"!!! Software Failure. Press left mouse button to continue",
			fmt.Sprintf("Guru Meditation: DEBUG PANIC called at Unix time %d", time.Now().Unix()))
		s.bugReport("")
		s.dieOf(func() { panic("DEBUG PANIC") })
	default:
		s.crashLines("=== ASSERTION FAILED ===", "==> DEBUG ASSERT: '1 == 2' is not true")
		s.bugReport("")
		s.dieOf(func() { panic("DEBUG ASSERT: '1 == 2' is not true") })
	}
}

// bugReport starts the report in the log, with why as its first line
// when given.
func (s *Server) bugReport(why string) {
	if !s.Config().CrashLogEnabled {
		return
	}
	if s.logOut != nil {
		fmt.Fprint(s.logOut, "\n\n=== SHOAL BUG REPORT START: Cut & paste starting from here ===\n")
	}
	if why != "" {
		s.log.Warn(why)
	}
	if s.logOut != nil {
		fmt.Fprint(s.logOut, "\n------ STACK TRACE ------\n")
	}
}

// crashLines logs lines at the warning level, unless crash-log-enabled
// is off.
func (s *Server) crashLines(lines ...string) {
	if !s.Config().CrashLogEnabled {
		return
	}
	for _, l := range lines {
		s.log.Warn(l)
	}
}

// dieOf ends the process by crash, which fails on a goroutine of its own
// (a command's would recover), with every goroutine's stack in the
// runtime's report, and the process then killed by the signal (SIGABRT
// for a panic), as Redis dies: a core where the system keeps them. A
// daemon's pidfile goes first, as Redis's bugReportEnd removes it.
func (s *Server) dieOf(crash func()) {
	if s.Config().Daemonize && s.pidFile != "" {
		os.Remove(s.pidFile)
	}
	debug.SetTraceback("crash")
	go crash()
	select {}
}
