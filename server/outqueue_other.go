//go:build !unix

package server

import (
	"errors"
	"syscall"
)

// writeSomeOK tells that writeSome works here.
const writeSomeOK = false

// writeSome cannot write without waiting here; send writes as a TLS
// connection does.
func writeSome(raw syscall.RawConn, p []byte) (int, error) {
	return 0, errors.ErrUnsupported
}
