package commands

import (
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Helpers shared by the type groups: look keys up for reading or, under
// their locks, for writing, and check their type.

// ReadKey looks name up in the client's database without locking it.
func (c *Ctx) ReadKey(name []byte) (*storage.Key, error) {
	return c.readKey(name, false, true)
}

// ReadMeta is ReadKey for a command that reads the key's metadata alone
// (its type, expiry or encoding): a chunked string is not assembled.
func (c *Ctx) ReadMeta(name []byte) (*storage.Key, error) {
	return c.readKey(name, true, true)
}

// readKey looks name up and counts the read; notify fires "keymiss" on
// a miss.
func (c *Ctx) readKey(name []byte, meta, notify bool) (*storage.Key, error) {
	k, err := c.lookup(name, meta)
	if err != nil {
		return k, err
	}
	if notify {
		c.countRead(k.Live, name)
	} else if k.Live {
		c.KeyspaceHits++
	} else {
		c.KeyspaceMisses++
	}
	return k, err
}

// PeekKey is ReadKey without recording an access of the key or firing
// "keymiss": OBJECT and DEBUG OBJECT read the access clock they would
// move (Redis's LOOKUP_NOTOUCH | LOOKUP_NONOTIFY).
func (c *Ctx) PeekKey(name []byte) (*storage.Key, error) {
	c.Tx.SetNoTouch(true)
	defer c.Tx.SetNoTouch(c.Client.NoTouch)
	return c.readKey(name, false, false)
}

// PeekMeta is ReadMeta without recording an access of the key or firing
// "keymiss".
func (c *Ctx) PeekMeta(name []byte) (*storage.Key, error) {
	c.Tx.SetNoTouch(true)
	defer c.Tx.SetNoTouch(c.Client.NoTouch)
	return c.readKey(name, true, false)
}

// WriteKey locks name and looks it up; the lock is held until the
// connection's Tx commits.
//
// Read-only commands that lock what they read (lists, whose metadata and
// elements must be of one state) count the read as ReadKey does.
func (c *Ctx) WriteKey(name []byte) (*storage.Key, error) {
	c.Tx.Lock(c.DB(), name)
	k, err := c.lookup(name, false)
	if err == nil && c.Cmd != nil && c.Cmd.Flags.Has(ReadOnly) {
		c.countRead(k.Live, name)
	}
	return k, err
}

// WriteMeta is WriteKey for a command that changes the key's metadata
// alone (its expiry): a chunked string is not assembled.
func (c *Ctx) WriteMeta(name []byte) (*storage.Key, error) {
	c.Tx.Lock(c.DB(), name)
	return c.lookup(name, true)
}

// CheckType returns ErrWrongType when k is live with a type other than t.
func CheckType(k *storage.Key, t encoding.Type) error {
	if k.Live && k.Meta.Type != t {
		return ErrWrongType
	}
	return nil
}

// ReadString returns the value of a string key; ok is false when absent.
func (c *Ctx) ReadString(name []byte) (val []byte, ok bool, err error) {
	k, err := c.ReadKey(name)
	if err != nil {
		return nil, false, err
	}
	if !k.Live {
		return nil, false, nil
	}
	if k.Meta.Type != encoding.TypeString {
		return nil, false, ErrWrongType
	}
	return k.Meta.Value, true, nil
}

// PutString stores a string value at k with the given expiry (0: none).
func (c *Ctx) PutString(k *storage.Key, val []byte, expireAt int64) {
	c.Tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, ExpireAt: expireAt, Value: val})
}

// PutRawString is PutString for a value written in place (APPEND to a
// value, the bit and HyperLogLog commands), which Redis keeps raw
// whatever its length (OBJECT ENCODING).
func (c *Ctx) PutRawString(k *storage.Key, val []byte, expireAt int64) {
	c.Tx.PutMeta(k, &encoding.Meta{Type: encoding.TypeString, ExpireAt: expireAt, Value: val, Enc: encoding.EncRaw})
}

// reserve sizes c's Tx for a command about to write n records holding
// args, each record also holding extra bytes of its own (a sub-key's
// prefix, a metadata record's header): see storage.Tx.Reserve.
func (c *Ctx) reserve(n, extra int, args [][]byte) {
	size := n * extra
	for _, a := range args {
		size += len(a)
	}
	c.Tx.Reserve(n, size)
}

// readManyMin is the fewest keys a command looks up through
// storage.Tx.ReadMany.
const readManyMin = 1024

// Bytes a record adds to what a command names, for reserve: a metadata
// record's key tag and database, and its header; and a member's sub-key
// prefix beside its collection's name.
const (
	metaKeyExtra    = 2
	metaRecordExtra = 8
	memberKeyExtra  = 15
)

// NowMs is the store's clock in Unix milliseconds.
func (c *Ctx) NowMs() int64 { return c.Store.NowMs() }

// cardinality is the handler of HLEN, SCARD and ZCARD: the member count of
// a collection of type typ, 0 when the key is absent.
func cardinality(typ encoding.Type) func(c *Ctx) error {
	return func(c *Ctx) error {
		k, err := c.ReadKey(c.Args[1])
		if err != nil {
			return err
		}
		if err := CheckType(k, typ); err != nil {
			return err
		}
		if !k.Live {
			c.Out.Int(0)
			return nil
		}
		c.Out.Int(int64(k.Meta.Size))
		return nil
	}
}

// removeMembers is the handler of HDEL and SREM: remove deletes one member
// of a collection of type typ; the reply counts those that existed, and the
// key goes away with its last member.
func removeMembers(typ encoding.Type, class EventClass, event string, remove func(c *Ctx, k *storage.Key, member []byte) (bool, error)) func(c *Ctx) error {
	return func(c *Ctx) error {
		k, err := c.WriteKey(c.Args[1])
		if err != nil {
			return err
		}
		if err := CheckType(k, typ); err != nil {
			return err
		}
		if !k.Live {
			c.Out.Int(0)
			return nil
		}
		var n int64
		for _, m := range c.Args[2:] {
			ok, err := remove(c, k, m)
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		if n > 0 {
			c.Tx.SetSize(k, k.Meta.Size)
			c.Notify(class, event, c.Args[1])
			notifyEmptied(c, k)
		}
		c.Out.Int(n)
		return nil
	}
}
