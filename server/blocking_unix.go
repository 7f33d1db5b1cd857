//go:build unix

package server

import "syscall"

// peek looks at the socket's receive queue without taking from it.
func peek(fd uintptr) peekState {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return peekEmpty
	case err != nil || n == 0:
		return peekClosed
	}
	return peekData
}
