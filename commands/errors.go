package commands

import (
	"errors"
	"fmt"
)

// Error is a reply error with Redis's code and text; the server writes it
// to the wire unchanged as "-Code Msg".
type Error struct {
	Code string // ERR, WRONGTYPE, NOAUTH, EXECABORT, ...
	Msg  string
}

func (e *Error) Error() string { return e.Code + " " + e.Msg }

// Errf returns an ERR error with a formatted message.
func Errf(format string, a ...any) error { return &Error{"ERR", fmt.Sprintf(format, a...)} }

// Redis's error texts, copied to the letter: clients match on them.
var (
	ErrSyntax        = &Error{"ERR", "syntax error"}
	ErrWrongType     = &Error{"WRONGTYPE", "Operation against a key holding the wrong kind of value"}
	ErrNotInteger    = &Error{"ERR", "value is not an integer or out of range"}
	ErrNotFloat      = &Error{"ERR", "value is not a valid float"}
	ErrOverflow      = &Error{"ERR", "increment or decrement would overflow"}
	ErrNoSuchKey     = &Error{"ERR", "no such key"}
	ErrDBIndex       = &Error{"ERR", "DB index is out of range"}
	ErrInvalidExpire = &Error{"ERR", "invalid expire time in 'set' command"}
	ErrNaN           = &Error{"ERR", "increment would produce NaN or Infinity"}
	ErrTimeout       = &Error{"ERR", "timeout is not a float or out of range"}
	ErrNegTimeout    = &Error{"ERR", "timeout is negative"}
	ErrStringTooLong = &Error{"ERR", "string exceeds maximum allowed size (proto-max-bulk-len)"}
	ErrOffsetRange   = &Error{"ERR", "offset is out of range"}
	ErrBitRange      = &Error{"ERR", "bit offset is not an integer or out of range"}
	ErrNoAuth        = &Error{"NOAUTH", "Authentication required."}
	ErrWrongPass     = &Error{"WRONGPASS", "invalid username-password pair or user is disabled."}
	ErrIndexRange    = &Error{"ERR", "index out of range"}
	ErrSameObject    = &Error{"ERR", "source and destination objects are the same"}
	ErrPositive      = &Error{"ERR", "value is out of range, must be positive"}
	ErrMasterDown    = &Error{"MASTERDOWN", "Link with MASTER is down and replica-serve-stale-data is set to 'no'."}
)

// ErrArity returns Redis's arity error for cmd.
func ErrArity(name string) error {
	return &Error{"ERR", fmt.Sprintf("wrong number of arguments for '%s' command", name)}
}

// ErrUnknownSubcommand returns Redis's error for an unknown subcommand.
func ErrUnknownSubcommand(sub []byte, parent string) error {
	return &Error{"ERR", fmt.Sprintf("unknown subcommand '%s'. Try %s HELP.", truncate(sub, 128), upper(parent))}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// IsReplyError reports whether err is a Redis reply error.
func IsReplyError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
