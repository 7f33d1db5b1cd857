//go:build !linux

package testcluster

import (
	"syscall"
	"time"
)

// sysProcAttr is empty where the kernel has no parent-death signal: a test
// process killed before its cleanups leaves its nodes running.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// waitStopped cannot observe the stop here; it reports true at once, and a
// frozen node may answer a request sent right after Freeze.
func waitStopped(pid int, timeout time.Duration) bool { return true }
