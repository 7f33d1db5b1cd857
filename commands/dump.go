package commands

import (
	"errors"
	"math"

	"github.com/shoaldb/shoal/storage"
)

// dumpCommands are DUMP and RESTORE, which move values in Redis's own
// payload format (storage/dump.go), so values travel between Redis and
// Shoal in both directions.
func dumpCommands() []*Command {
	return []*Command{
		{Name: "dump", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1,
			ACL: []string{"keyspace", "read", "slow"}, Group: gen,
			Summary: "Returns a serialized representation of the value stored at a key.", Since: "2.6.0",
			Complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
			Handler:    dumpCmd},
		{Name: "restore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1,
			ACL: []string{"keyspace", "write", "slow", "dangerous"}, Group: gen,
			Summary: "Creates a key from the serialized representation of a value.", Since: "2.6.0",
			Complexity: restoreComplexity,
			Handler:    restoreCmd},
	}
}

const restoreComplexity = "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."

var (
	errBusyKey      = &Error{"BUSYKEY", "Target key name already exists."}
	errDumpChecksum = Errf("DUMP payload version or checksum are wrong")
	errBadData      = Errf("Bad data format")
)

// rdbCompression reports whether rdbcompression is on: DUMP payloads, as
// RDB files, then carry LZF-compressed strings, and DEBUG OBJECT counts
// them so.
func (c *Ctx) rdbCompression() bool { return c.Server.Config().RDBCompression }

func dumpCmd(c *Ctx) error {
	k, err := c.ReadKey(c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Null()
		return nil
	}
	p, err := c.Tx.Dump(k, c.rdbCompression())
	if err != nil {
		return err
	}
	c.Out.Bulk(p)
	return nil
}

// restoreCmd is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]
// [FREQ f], checking in Redis's order: options, an existing key, the TTL,
// the payload. IDLETIME and FREQ set the key's access clock, as OBJECT
// IDLETIME and FREQ read it.
func restoreCmd(c *Ctx) error {
	var replace, absttl bool
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(c.Args); j++ {
		opt, more := c.Args[j], j+1 < len(c.Args)
		switch {
		case Is(opt, "replace"):
			replace = true
		case Is(opt, "absttl"):
			absttl = true
		case Is(opt, "idletime") && more && freq == -1:
			n, err := ParseInt(c.Args[j+1])
			if err != nil {
				return err
			}
			if n < 0 {
				return Errf("Invalid IDLETIME value, must be >= 0")
			}
			idle = n
			j++
		case Is(opt, "freq") && more && idle == -1:
			n, err := ParseInt(c.Args[j+1])
			if err != nil {
				return err
			}
			if n < 0 || n > 255 {
				return Errf("Invalid FREQ value, must be >= 0 and <= 255")
			}
			freq = n
			j++
		default:
			return ErrSyntax
		}
	}
	k, err := c.WriteKey(c.Args[1])
	if err != nil {
		return err
	}
	if k.Live && !replace {
		return errBusyKey
	}
	ttl, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	if ttl < 0 {
		return Errf("Invalid TTL value, must be >= 0")
	}
	v, err := c.Store.DecodeDump(c.Args[3])
	switch {
	case errors.Is(err, storage.ErrDumpChecksum):
		return errDumpChecksum
	case err != nil:
		return errBadData
	}
	at := ttl
	if ttl != 0 && !absttl {
		now := c.NowMs()
		at = math.MaxInt64
		if ttl <= math.MaxInt64-now {
			at = ttl + now
		}
	}
	if at != 0 && at <= c.NowMs() {
		// Already expired: the key is not created, and REPLACE still
		// removes what was there.
		if replace && k.Live {
			c.Tx.Delete(k)
			c.Notify(NotifyGeneric, "del", c.Args[1])
			if c.Feeding() {
				c.Propagate([]byte("DEL"), c.Args[1])
			}
		}
		c.Out.OK()
		return nil
	}
	if c.Feeding() {
		// As Redis: a relative TTL goes as the absolute time it came to.
		args := c.Args
		if ttl != 0 && !absttl {
			args = append(append(append([][]byte(nil), args[:2]...), intArg(at)), args[3:]...)
			args = append(args, []byte("ABSTTL"))
		}
		c.Propagate(args...)
	}
	replaced := k.Live
	// NB: v may alias the argument buffer; the batch copies what it keeps.
	c.Tx.Restore(k, v, at)
	c.Tx.SetAccess(k, idle, freq)
	if replaced {
		c.Notify(NotifyNew, "new", c.Args[1]) // Redis deletes, then adds
	}
	c.Notify(NotifyGeneric, "restore", c.Args[1])
	c.Out.OK()
	return nil
}
