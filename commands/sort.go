package commands

import (
	"bytes"
	"slices"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// sortCommands returns the sort command group: SORT and SORT_RO, which
// Redis files under "generic".
func sortCommands() []*Command {
	acl := func(rw string) []string { return []string{rw, "set", "sortedset", "list", "slow", "dangerous"} }
	return []*Command{
		{Name: "sort", Arity: -2, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Keys: sortKeys,
			ACL: acl("write"), Group: gen,
			Summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", Since: "1.0.0",
			Complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
			Handler:    sortGeneric(false)},
		{Name: "sort_ro", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Keys: func([][]byte) []int { return []int{1} },
			ACL: acl("read"), Group: gen,
			Summary: "Returns the sorted elements of a list, a set, or a sorted set.", Since: "7.0.0",
			Complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
			Handler:    sortGeneric(true)},
	}
}

// sortKeys finds SORT's keys as Redis's sortGetKeys does: the sorted key,
// and the destination of the last STORE, skipping the arguments of LIMIT,
// GET and BY.
func sortKeys(args [][]byte) []int {
	out := []int{1}
	store := 0
	for i := 2; i < len(args); i++ {
		switch {
		case Is(args[i], "limit"):
			i += 2
		case Is(args[i], "get"), Is(args[i], "by"):
			i++
		case Is(args[i], "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store != 0 {
		out = append(out, store)
	}
	return out
}

// sortOptions are SORT's parsed arguments.
type sortOptions struct {
	desc, alpha, dontSort bool
	by                    []byte   // nil: the elements themselves
	gets                  [][]byte // GET patterns, in order
	store                 []byte   // nil: reply instead
	offset, count         int64
}

// parseSort reads SORT's options in order, as Redis's sortCommandGeneric
// does; a BY pattern naming keys, or a GET, is refused in cluster mode
// and to a user who may not read every key.
func parseSort(c *Ctx, readonly bool) (*sortOptions, error) {
	args := c.Args
	o := &sortOptions{count: -1}
	patternsDenied := func(opt string) error {
		if c.Cluster != nil {
			return Errf("%s option of SORT denied in Cluster mode.", opt)
		}
		if c.Server != nil && !c.Server.ReadsEveryKey(c) {
			return Errf("%s option of SORT denied due to insufficient ACL permissions.", opt)
		}
		return nil
	}
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case Is(a, "asc"):
			o.desc = false
		case Is(a, "desc"):
			o.desc = true
		case Is(a, "alpha"):
			o.alpha = true
		case Is(a, "limit") && left >= 2:
			var err error
			if o.offset, err = ParseInt(args[j+1]); err != nil {
				return nil, err
			}
			if o.count, err = ParseInt(args[j+2]); err != nil {
				return nil, err
			}
			j += 2
		case !readonly && Is(a, "store") && left >= 1:
			o.store = args[j+1]
			j++
		case Is(a, "by") && left >= 1:
			o.by = args[j+1]
			// A pattern without '*' names no per-element key: nothing to
			// sort by, so the elements keep their order (BY nosort).
			o.dontSort = bytes.IndexByte(o.by, '*') < 0
			if !o.dontSort {
				if err := patternsDenied("BY"); err != nil {
					return nil, err
				}
			}
			j++
		case Is(a, "get") && left >= 1:
			if err := patternsDenied("GET"); err != nil {
				return nil, err
			}
			o.gets = append(o.gets, args[j+1])
			j++
		default:
			return nil, ErrSyntax
		}
	}
	return o, nil
}

// sortItem is one element being sorted with its sort key.
type sortItem struct {
	elem  []byte
	score float64
	cmp   []byte // ALPHA with BY: the looked-up value, nil when missing
}

func sortGeneric(readonly bool) func(*Ctx) error {
	return func(c *Ctx) error {
		o, err := parseSort(c, readonly)
		if err != nil {
			return err
		}
		if o.store != nil {
			c.Tx.Lock(c.DB(), o.store)
		}
		k, err := c.ReadKey(c.Args[1])
		if err != nil {
			return err
		}
		typ := k.Type()
		switch typ {
		case encoding.TypeNone, encoding.TypeList, encoding.TypeSet, encoding.TypeZSet:
		default:
			return ErrWrongType
		}
		by := o.by
		if o.dontSort && typ == encoding.TypeSet && (o.store != nil || c.InScript) {
			// A set has no order of its own: what is stored, or what a
			// script sees, must not depend on it, so sort it by its
			// elements, as Redis does.
			o.dontSort, o.alpha, by = false, true, nil
		}
		var size int64
		switch typ {
		case encoding.TypeList:
			size = int64(storage.ListLen(k))
		case encoding.TypeSet, encoding.TypeZSet:
			size = int64(k.Meta.Size)
		}
		// LIMIT, clamped as Redis clamps it.
		start := min(max(o.offset, 0), size)
		cnt := min(max(o.count, -1), size)
		end := start + cnt - 1
		if cnt < 0 {
			end = size - 1
		}
		if start >= size {
			start, end = size-1, size-2
		}
		if end >= size {
			end = size - 1
		}

		var items []sortItem
		ordered := o.dontSort && (typ == encoding.TypeList || typ == encoding.TypeZSet)
		if ordered {
			// The elements keep the key's own order (reversed by DESC):
			// read only the LIMIT range.
			if end >= start {
				items, err = c.sortLoadRange(k, start, end, o.desc)
				if err != nil {
					return err
				}
			}
			start, end = 0, int64(len(items))-1
		} else if typ != encoding.TypeNone {
			if items, err = c.sortLoadAll(k); err != nil {
				return err
			}
			if o.dontSort && typ == encoding.TypeSet {
				if err := c.sortSetOrder(k, items); err != nil {
					return err
				}
			}
		}

		if !o.dontSort {
			badScore := false
			for i := range items {
				it := &items[i]
				val := it.elem
				if by != nil {
					v, ok, err := c.sortLookup(by, it.elem)
					if err != nil {
						return err
					}
					if !ok {
						continue
					}
					val = v
				}
				if o.alpha {
					if by != nil {
						it.cmp = val
					}
					continue
				}
				f, ok := sortWeight(val)
				if !ok {
					badScore = true
				}
				it.score = f
			}
			if badScore {
				return Errf("One or more scores can't be converted into double")
			}
			sortItems(items, o.alpha, by != nil, o.desc)
		}

		// Resolve the GET patterns before replying, so a storage error
		// cannot cut a reply short. A missing value is a null in the
		// reply and an empty string in a stored list.
		var out [][]byte
		var missing []bool
		for j := start; j <= end; j++ {
			e := items[j].elem
			if len(o.gets) == 0 {
				out = append(out, e)
				missing = append(missing, false)
				continue
			}
			for _, pat := range o.gets {
				v, ok, err := c.sortLookup(pat, e)
				if err != nil {
					return err
				}
				if v == nil {
					v = []byte{}
				}
				out = append(out, v)
				missing = append(missing, !ok)
			}
		}
		if o.store == nil {
			c.Out.Array(len(out))
			for i, v := range out {
				if missing[i] {
					c.Out.Null()
				} else {
					c.Out.Bulk(v)
				}
			}
			return nil
		}
		dst, err := c.Tx.Lookup(c.DB(), o.store)
		if err != nil {
			return err
		}
		had := dst.Live
		c.Tx.StoreList(dst, out)
		c.notifyStored(NotifyList, "sortstore", o.store, len(out) > 0, had)
		c.Out.Int(int64(len(out)))
		return nil
	}
}

// sortLoadAll reads every element of the list, set or sorted set k.
func (c *Ctx) sortLoadAll(k *storage.Key) ([]sortItem, error) {
	items := make([]sortItem, 0, min(k.Meta.Size, 1<<16))
	add := func(e []byte) { items = append(items, sortItem{elem: bytes.Clone(e)}) }
	var err error
	switch k.Meta.Type {
	case encoding.TypeList:
		if n := storage.ListLen(k); n > 0 {
			err = c.Tx.ListRange(k, 0, n-1, false, func(_ uint64, v []byte) bool { add(v); return true })
		}
	case encoding.TypeSet:
		_, err = c.Tx.SetScan(k, nil, func(m []byte) bool { add(m); return true })
	case encoding.TypeZSet:
		err = c.Tx.ZWalk(k, false, func(m []byte, _ float64) bool { add(m); return true })
	}
	return items, err
}

// sortLoadRange reads positions [start, end] of the list or sorted set k,
// counted from the tail (highest score) when desc, in that order.
func (c *Ctx) sortLoadRange(k *storage.Key, start, end int64, desc bool) ([]sortItem, error) {
	items := make([]sortItem, 0, end-start+1)
	add := func(e []byte) { items = append(items, sortItem{elem: bytes.Clone(e)}) }
	if k.Meta.Type == encoding.TypeList {
		n := int64(storage.ListLen(k))
		from, to := start, end
		if desc {
			from, to = n-1-end, n-1-start
		}
		err := c.Tx.ListRange(k, uint64(from), uint64(to), desc, func(_ uint64, v []byte) bool { add(v); return true })
		return items, err
	}
	var i int64
	err := c.Tx.ZWalk(k, desc, func(m []byte, _ float64) bool {
		if i >= start {
			add(m)
		}
		i++
		return i <= end
	})
	return items, err
}

// sortLookup resolves a BY or GET pattern for elem as Redis's
// lookupKeyByPattern does: "#" is elem itself; otherwise the first '*'
// is replaced by elem, and a "->field" after it reads that hash field
// instead of a string. ok is false when the key or field is missing, of
// another type, or the pattern has no '*'.
func (c *Ctx) sortLookup(pat, elem []byte) (val []byte, ok bool, err error) {
	if len(pat) == 1 && pat[0] == '#' {
		return elem, true, nil
	}
	star := bytes.IndexByte(pat, '*')
	if star < 0 {
		return nil, false, nil
	}
	keyPat, field := pat, []byte(nil)
	if f := bytes.Index(pat[star+1:], []byte("->")); f >= 0 && star+1+f+2 < len(pat) {
		keyPat, field = pat[:star+1+f], pat[star+1+f+2:]
	}
	name := make([]byte, 0, len(keyPat)-1+len(elem))
	name = append(append(append(name, keyPat[:star]...), elem...), keyPat[star+1:]...)
	k, err := c.ReadKey(name)
	if err != nil || !k.Live {
		return nil, false, err
	}
	if field == nil {
		if k.Meta.Type != encoding.TypeString {
			return nil, false, nil
		}
		return bytes.Clone(k.Meta.Value), true, nil
	}
	if k.Meta.Type != encoding.TypeHash {
		return nil, false, nil
	}
	return c.Tx.HashGet(k, field, nil)
}

// sortItems sorts as Redis's sortCompare: by score, ties broken by the
// elements' bytes; with ALPHA by the elements' bytes, or by the BY values
// (missing ones first). DESC reverses the whole comparison.
func sortItems(items []sortItem, alpha, byPattern, desc bool) {
	slices.SortStableFunc(items, func(a, b sortItem) int {
		var cmp int
		switch {
		case !alpha:
			switch {
			case a.score > b.score:
				cmp = 1
			case a.score < b.score:
				cmp = -1
			default:
				cmp = bytes.Compare(a.elem, b.elem)
			}
		case byPattern:
			switch {
			case a.cmp == nil && b.cmp == nil:
				cmp = 0
			case a.cmp == nil:
				cmp = -1
			case b.cmp == nil:
				cmp = 1
			default:
				cmp = bytes.Compare(a.cmp, b.cmp)
			}
		default:
			cmp = bytes.Compare(a.elem, b.elem)
		}
		if desc {
			return -cmp
		}
		return cmp
	})
}

// sortWeight parses a sort weight as SORT does with C's strtod: leading
// white space is skipped, the empty string is 0 (strtod leaves nothing
// unparsed), and an overflow or underflow (ERANGE) is an error.
func sortWeight(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	f, erange, ok := strtod(bytes.TrimLeft(b, " \t\n\v\f\r"))
	return f, ok && !erange
}

// sortSetOrder puts the elements of set k, read in byte order, in the
// order Redis walks the set (BY nosort keeps it): by value for an intset.
func (c *Ctx) sortSetOrder(k *storage.Key, items []sortItem) error {
	compact, err := c.Tx.Compact(k)
	if compact {
		slices.SortFunc(items, func(a, b sortItem) int { return byValue(a.elem, b.elem) })
	}
	return err
}
