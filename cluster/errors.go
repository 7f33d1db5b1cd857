package cluster

import "fmt"

// Error is an error reply with Redis's code and text, which the server's
// error translator passes through ("MOVED", "CLUSTERDOWN", "ERR", ...).
type Error struct{ Code, Msg string }

func (e *Error) Error() string { return e.Code + " " + e.Msg }

// errf returns an ERR reply error.
func errf(format string, args ...any) *Error {
	return &Error{Code: "ERR", Msg: fmt.Sprintf(format, args...)}
}
