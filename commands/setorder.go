package commands

import (
	"cmp"
	"slices"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// The order of set replies. Shoal reads a set's members in byte order;
// Redis 7.0 answers an intset (a set of at most set-max-intset-entries
// integers) in order of value, and a hashtable in the order of its hash
// table, which changes with every start and is not followed. A reply that
// walks a stored set (SMEMBERS, SSCAN, SINTER's smallest set, SRANDMEMBER
// of the whole set) follows the encoding the set has (OBJECT ENCODING);
// a reply of a set Redis builds member by member from an empty intset
// (SUNION, SDIFF, SPOP of the whole set) follows the encoding the built
// set reaches.

// intsetOrder orders ms, integers all, as an intset holds them: by value.
func intsetOrder(ms [][]byte) { slices.SortFunc(ms, byValue) }

// byValue compares the texts of two integers by their values.
func byValue(a, b []byte) int {
	x, _ := encoding.ParseInt(a)
	y, _ := encoding.ParseInt(b)
	return cmp.Compare(x, y)
}

// storedOrder orders ms, the members of set k as read, as Redis walks k.
func storedOrder(c *Ctx, k *storage.Key, ms [][]byte) error {
	compact, err := c.Tx.Compact(k)
	if compact {
		intsetOrder(ms)
	}
	return err
}

// builtIntset reports whether a set Redis builds by adding members one
// by one to an empty intset is still an intset once it held peak members,
// ms among them: a member that is no integer, or more members than
// set-max-intset-entries, make it a hashtable for good.
func builtIntset(c *Ctx, ms [][]byte, peak int) bool {
	if int64(peak) > c.Tx.Store().Encodings().SetIntsetEntries {
		return false
	}
	for _, m := range ms {
		if _, ok := encoding.ParseInt(m); !ok {
			return false
		}
	}
	return true
}
