//go:build unix

package server

import "syscall"

// writeSomeOK tells that writeSome works here.
const writeSomeOK = true

// writeSome writes as much of p as the socket takes without waiting.
func writeSome(raw syscall.RawConn, p []byte) (int, error) {
	n := 0
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := syscall.Write(int(fd), p[n:])
			if m > 0 {
				n += m
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return true
			case e != nil:
				werr = e
				return true
			case m == 0:
				werr = syscall.EPIPE
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}
