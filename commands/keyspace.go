package commands

import (
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Helpers shared by the type groups: look keys up for reading or, under
// their locks, for writing, and check their type.

// ReadKey looks name up in the client's database without locking it.
func (c *Ctx) ReadKey(name []byte) (*storage.Key, error) {
	return c.Tx.Lookup(c.DB(), name)
}

// WriteKey locks name and looks it up; the lock is held until the
// connection's Tx commits.
func (c *Ctx) WriteKey(name []byte) (*storage.Key, error) {
	c.Tx.Lock(c.DB(), name)
	return c.Tx.Lookup(c.DB(), name)
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

// NowMs is the store's clock in Unix milliseconds.
func (c *Ctx) NowMs() int64 { return c.Store.NowMs() }
