package server

import (
	"errors"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// The one place where Go errors become Redis error replies: a
// *commands.Error or *cluster.Error passes through, known sentinels map by
// table, anything else is logged and answered with "ERR internal error".
var errorReplies = []struct {
	err   error
	reply string
}{
	{storage.ErrWrongType, "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{storage.ErrWriteFailed, "MISCONF Errors writing to the AOF file: Input/output error"},
	{storage.ErrClosed, "ERR server is shutting down"},
	{encoding.ErrCorrupt, "ERR internal error: corrupt record"},
}

func (c *conn) replyError(err error) {
	if c.master {
		c.masterErr = err
	}
	c.out.Error(c.s.errorText(err))
}

func (s *Server) errorText(err error) string {
	var re *commands.Error
	if errors.As(err, &re) {
		if re.Msg == "" {
			return re.Code // a whole line (DEBUG ERROR)
		}
		return re.Code + " " + re.Msg
	}
	var ce *cluster.Error
	if errors.As(err, &ce) {
		return ce.Code + " " + ce.Msg
	}
	var se *scripting.ReplyError
	if errors.As(err, &se) {
		return se.Text
	}
	var de *storage.DiskError
	if errors.As(err, &de) {
		return "MISCONF Errors writing to the AOF file: " + de.Strerror()
	}
	for _, m := range errorReplies {
		if errors.Is(err, m.err) {
			if m.err == encoding.ErrCorrupt {
				s.log.Error("corrupt record", "err", err)
			}
			return m.reply
		}
	}
	s.log.Error("internal error", "err", err)
	return "ERR internal error"
}
