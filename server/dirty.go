package server

import (
	"strconv"

	"github.com/shoaldb/shoal/commands"
)

// Redis counts changes, not commands, in server.dirty (INFO's
// rdb_changes_since_last_save): each handler adds what it changed, so an
// MSET of three keys adds 3, a DEL of two existing keys 2, an SADD that
// added two members 2, a SET NX that set nothing 0. dirtyOf reads the
// same count from a write command that ran without error: its arguments
// and its reply. Measured against redis-server 7.0.15 (server/
// dirty_test.go runs both side by side).

// changesOf returns the changes a write command that ran without error
// made: what its handler recorded (commands.Ctx.Changed: ZADD, LTRIM,
// FLUSHDB), else what its arguments and reply tell.
func changesOf(ctx *commands.Ctx, cmd *commands.Command, args [][]byte, reply []byte) int64 {
	if n, ok := ctx.TakeChanged(); ok {
		return n
	}
	return dirtyOf(cmd, args, reply)
}

// dirtyOf returns the changes a write command made. reply is its reply
// as written (RESP2 or RESP3); a command whose reply was not kept counts
// as one change.
func dirtyOf(cmd *commands.Command, args [][]byte, reply []byte) int64 {
	if len(reply) == 0 {
		return 1
	}
	n, isInt := replyInt(reply)
	null := isNull(reply)
	switch cmd.Name {
	// The reply counts the changes.
	case "del", "unlink", "sadd", "srem", "hdel", "zrem", "lrem",
		"zremrangebyscore", "zremrangebyrank", "zremrangebylex", "sort", "xdel", "xtrim":
		if isInt {
			return n
		}
		return 1
	// A move counts itself (commands.Ctx.Changed); the rest moved nothing.
	case "smove":
		return 0
	// One change when the reply says something changed.
	case "setnx", "hsetnx", "msetnx", "expire", "pexpire", "expireat", "pexpireat", "persist",
		"renamenx", "copy", "move":
		if isInt && n > 0 {
			if cmd.Name == "msetnx" {
				return int64(len(args)-1) / 2
			}
			return 1
		}
		return 0
	case "linsert":
		if isInt && n > 0 {
			return 1
		}
		return 0
	// One change per key or field given.
	case "mset":
		return int64(len(args)-1) / 2
	case "hset", "hmset":
		return int64(len(args)-2) / 2
	case "lpush", "rpush", "lpushx", "rpushx":
		if isInt && n == 0 {
			return 0 // LPUSHX of a missing key
		}
		return int64(len(args) - 2)
	// Pops: one per element given out, none for a nil reply.
	case "lpop", "rpop", "spop", "zpopmin", "zpopmax":
		if null {
			return 0
		}
		if len(args) > 2 {
			if c, ok := arrayLen(reply); ok {
				if cmd.Name == "zpopmin" || cmd.Name == "zpopmax" {
					return pairs(reply, c)
				}
				return c
			}
		}
		return 1
	case "set":
		if null && !hasArg(args, "get") {
			return 0 // NX or XX refused
		}
		return 1
	case "getdel", "lmove", "rpoplpush":
		if null {
			return 0
		}
		return 1
	case "getex":
		if null || len(args) == 2 {
			return 0 // no key, or no option: nothing changed
		}
		return 1
	}
	return 1
}

// replyInt reads an integer reply.
func replyInt(reply []byte) (int64, bool) {
	if len(reply) < 4 || reply[0] != ':' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(reply[1:len(reply)-2]), 10, 64)
	return n, err == nil
}

// isNull reports a nil reply, in RESP2 or RESP3.
func isNull(reply []byte) bool {
	s := string(reply)
	return s == "$-1\r\n" || s == "*-1\r\n" || s == "_\r\n"
}

// arrayLen reads the length of an array (or RESP3 set) reply.
func arrayLen(reply []byte) (int64, bool) {
	if len(reply) < 4 || (reply[0] != '*' && reply[0] != '~') {
		return 0, false
	}
	end := 1
	for end < len(reply) && reply[end] != '\r' {
		end++
	}
	n, err := strconv.ParseInt(string(reply[1:end]), 10, 64)
	return n, err == nil && n >= 0
}

// pairs turns the length of a ZPOPMIN/ZPOPMAX reply into members: a flat
// member, score array in RESP2, an array of pairs in RESP3.
func pairs(reply []byte, n int64) int64 {
	end := 1
	for end < len(reply) && reply[end] != '\n' {
		end++
	}
	if end+1 < len(reply) && reply[end+1] == '*' {
		return n // RESP3: each element is a pair
	}
	return n / 2
}

func hasArg(args [][]byte, name string) bool {
	for _, a := range args[1:] {
		if commands.Is(a, name) {
			return true
		}
	}
	return false
}
