package testcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sysProcAttr has the kernel kill a node when the test process dies
// without running its cleanups (a test timeout's panic, say).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitStopped waits, at most timeout, until every thread of process pid
// is stopped. NB: kill(SIGSTOP) returns before the stop: one thread takes
// the signal when it next runs and only then stops the others, which may
// serve requests meanwhile.
func waitStopped(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	tasks := filepath.Join("/proc", strconv.Itoa(pid), "task")
	for {
		entries, err := os.ReadDir(tasks)
		if err != nil {
			return false // gone, or no /proc
		}
		stopped := true
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(tasks, e.Name(), "stat"))
			if err != nil {
				continue // the thread exited
			}
			// The state follows the command name, which is in parentheses
			// and may hold anything: "pid (comm) S ...".
			s := string(b)
			i := strings.LastIndexByte(s, ')')
			if i < 0 || i+2 >= len(s) || (s[i+2] != 'T' && s[i+2] != 't') {
				stopped = false
				break
			}
		}
		if stopped {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}
