package commands

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Sorted-set pops: ZPOPMIN/ZPOPMAX, ZMPOP and their blocking forms; and
// ZRANDMEMBER.

// popEntries removes and returns up to count members of k from its low end
// (high end when max).
func popEntries(c *Ctx, k *storage.Key, max bool, count int64) ([]storage.ZEntry, error) {
	var es []storage.ZEntry
	if count <= 0 {
		return nil, nil
	}
	if err := c.Tx.ZWalk(k, max, collector(&es, 0, count)); err != nil {
		return nil, err
	}
	removeEntries(c, k, es)
	if len(es) > 0 {
		ev := "zpopmin"
		if max {
			ev = "zpopmax"
		}
		c.Notify(NotifyZset, ev, k.Name)
		notifyEmptied(c, k)
	}
	return es, nil
}

func zpop(max bool) func(c *Ctx) error {
	return func(c *Ctx) error {
		if len(c.Args) > 3 {
			return ErrSyntax
		}
		count, given := int64(1), len(c.Args) == 3
		if given {
			n, ok := parseInt(c.Args[2])
			if !ok || n < 0 {
				return ErrPositive
			}
			count = n
		}
		k, err := writeZSet(c, c.Args[1])
		if err != nil {
			return err
		}
		var es []storage.ZEntry
		if k.Live {
			if es, err = popEntries(c, k, max, count); err != nil {
				return err
			}
		}
		if given {
			replyEntries(c, es, true)
		} else {
			replyFlat(c, es)
		}
		return nil
	}
}

// zpopFirst pops up to count members from the first key of keys holding a
// sorted set, and calls reply with that key and the members. It reports
// false, writing nothing, when no key holds a sorted set; a key of another
// type met first gives ErrWrongType, as in Redis.
//
// woken says a write woke a waiting client: as in Redis 7.0, a key that
// became another type meanwhile is passed over, and the client waits on.
func zpopFirst(c *Ctx, keys [][]byte, max, woken bool, count int64, reply func(key []byte, es []storage.ZEntry)) (bool, error) {
	c.Tx.Lock(c.DB(), keys...)
	for _, name := range keys {
		k, err := c.Tx.Lookup(c.DB(), name)
		if err != nil {
			return false, err
		}
		if !k.Live {
			continue
		}
		if k.Meta.Type != encoding.TypeZSet {
			if woken {
				continue
			}
			return false, ErrWrongType
		}
		es, err := popEntries(c, k, max, count)
		if err != nil {
			return false, err
		}
		reply(name, es)
		return true, nil
	}
	return false, nil
}

// zmpopTry is the non-blocking step of ZMPOP and BZMPOP: it pops from the
// first non-empty sorted set of keys and writes [key, [[member, score]...]],
// or reports false and writes nothing.
func zmpopTry(c *Ctx, keys [][]byte, max, woken bool, count int64) (bool, error) {
	return zpopFirst(c, keys, max, woken, count, func(key []byte, es []storage.ZEntry) {
		c.propagatePop(popName(false, !max), key, len(es))
		c.Out.Array(2)
		c.Out.Bulk(key)
		c.Out.Array(len(es))
		for _, e := range es {
			c.Out.Array(2)
			c.Out.Bulk(e.Member)
			c.Out.Double(e.Score)
		}
	})
}

// bzpopTry is the non-blocking step of BZPOPMIN and BZPOPMAX: it pops one
// member from the first non-empty sorted set of keys and writes
// [key, member, score], or reports false and writes nothing.
func bzpopTry(c *Ctx, keys [][]byte, max, woken bool) (bool, error) {
	return zpopFirst(c, keys, max, woken, 1, func(key []byte, es []storage.ZEntry) {
		c.propagatePop(popName(false, !max), key, 0)
		c.Out.Array(3)
		c.Out.Bulk(key)
		c.Out.Bulk(es[0].Member)
		c.Out.Double(es[0].Score)
	})
}

// parseMPop parses [ numkeys key... MIN|MAX [COUNT n] ] starting at args[idx].
func parseMPop(args [][]byte, idx int) (keys [][]byte, max bool, count int64, err error) {
	n, ok := parseInt(args[idx])
	if !ok || n < 1 {
		return nil, false, 0, errZNumkeys
	}
	where := int64(idx) + n + 1
	if where >= int64(len(args)) {
		return nil, false, 0, ErrSyntax
	}
	switch w := args[where]; {
	case Is(w, "min"):
	case Is(w, "max"):
		max = true
	default:
		return nil, false, 0, ErrSyntax
	}
	count = -1
	for j := int(where) + 1; j < len(args); j++ {
		if count == -1 && Is(args[j], "count") && j+1 < len(args) {
			j++
			v, ok := parseInt(args[j])
			if !ok || v < 1 {
				return nil, false, 0, errZCount
			}
			count = v
			continue
		}
		return nil, false, 0, ErrSyntax
	}
	if count == -1 {
		count = 1
	}
	return args[idx+1 : where], max, count, nil
}

func zmpop(c *Ctx) error {
	keys, max, count, err := parseMPop(c.Args, 1)
	if err != nil {
		return err
	}
	ok, err := zmpopTry(c, keys, max, false, count)
	if err == nil && !ok {
		c.Out.NullArray()
	}
	return err
}

// bzpop is BZPOPMIN/BZPOPMAX: pop at once, or block until a push.
func bzpop(max bool) func(c *Ctx) error {
	return func(c *Ctx) error {
		timeout, err := ParseBlockTimeout(c.Args[len(c.Args)-1])
		if err != nil {
			return err
		}
		keys := c.Args[1 : len(c.Args)-1]
		return block(c, keys, timeout,
			func(woken bool) (bool, error) { return bzpopTry(c, keys, max, woken) },
			c.Out.NullArray, c.Out.NullArray)
	}
}

// bzmpop is BZMPOP: ZMPOP that blocks while every key is empty.
func bzmpop(c *Ctx) error {
	timeout, err := ParseBlockTimeout(c.Args[1])
	if err != nil {
		return err
	}
	keys, max, count, err := parseMPop(c.Args, 2)
	if err != nil {
		return err
	}
	return block(c, keys, timeout,
		func(woken bool) (bool, error) { return zmpopTry(c, keys, max, woken, count) },
		c.Out.NullArray, c.Out.NullArray)
}

// --- ZRANDMEMBER ---

func zrandmember(c *Ctx) error {
	if len(c.Args) > 4 {
		return ErrSyntax
	}
	withScores := false
	if len(c.Args) == 4 {
		if !Is(c.Args[3], "withscores") {
			return ErrSyntax
		}
		withScores = true
	}
	var count int64
	if len(c.Args) >= 3 {
		n, err := ParseInt(c.Args[2])
		if err != nil {
			return err
		}
		if n == math.MinInt64 {
			return Errf("value is out of range, value must between %d and %d", -math.MaxInt64, math.MaxInt64)
		}
		if withScores && n < -math.MaxInt64/2 {
			return errZRange
		}
		count = n
	}
	k, err := readZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	if len(c.Args) == 2 {
		if k == nil {
			c.Out.Null()
			return nil
		}
		var es []storage.ZEntry
		if err := c.Tx.ZWalk(k, false, collector(&es, rand.Int64N(int64(k.Meta.Size)), 1)); err != nil {
			return err
		}
		if len(es) == 0 {
			c.Out.Null()
			return nil
		}
		c.Out.Bulk(es[0].Member)
		return nil
	}
	if k == nil || count == 0 {
		c.Out.Array(0)
		return nil
	}
	size := int64(k.Meta.Size)
	var es []storage.ZEntry
	switch {
	case count >= size:
		// The whole set, from the highest score, as Redis 7.0 answers.
		err = c.Tx.ZWalk(k, true, collector(&es, 0, -1))
	case count > 0:
		es, err = zpickRanks(c, k, distinctRanks(size, count))
	default:
		return zrandRepeat(c, k, -count, withScores)
	}
	if err != nil {
		return err
	}
	replyEntries(c, es, withScores)
	return nil
}

// zrandChunk bounds the ranks ZRANDMEMBER with a negative count draws per
// walk of the index.
const zrandChunk = 1 << 16

// zrandRepeat answers ZRANDMEMBER with a negative count: n members drawn
// with repetition, streamed in chunks of zrandChunk draws, each chunk one
// walk of the index, so memory does not grow with n.
func zrandRepeat(c *Ctx, k *storage.Key, n int64, withScores bool) error {
	start := c.Out.Len()
	pairs := withScores && c.Out.Proto() == 3
	if withScores && !pairs {
		c.Out.Array(int(2 * n))
	} else {
		c.Out.Array(int(n))
	}
	size := int64(k.Meta.Size)
	for n > 0 && !c.Out.Over() {
		ranks := make([]int64, min(n, zrandChunk))
		for i := range ranks {
			ranks[i] = rand.Int64N(size)
		}
		es, err := zpickRanks(c, k, ranks)
		if err != nil {
			c.Out.Truncate(start)
			return err
		}
		for _, e := range es {
			if pairs {
				c.Out.Array(2)
			}
			c.Out.Bulk(e.Member)
			if withScores {
				c.Out.Double(e.Score)
			}
		}
		n -= int64(len(ranks))
	}
	return nil
}

// distinctRanks picks n distinct ranks in [0, size) (Floyd's algorithm).
func distinctRanks(size, n int64) []int64 {
	seen := make(map[int64]struct{}, n)
	out := make([]int64, 0, n)
	for j := size - n; j < size; j++ {
		r := rand.Int64N(j + 1)
		if _, dup := seen[r]; dup {
			r = j
		}
		seen[r] = struct{}{}
		out = append(out, r)
	}
	return out
}

// zpickRanks returns the members at ranks (which may repeat) in one walk
// of the index, in random order.
func zpickRanks(c *Ctx, k *storage.Key, ranks []int64) ([]storage.ZEntry, error) {
	sorted := slices.Clone(ranks)
	slices.Sort(sorted)
	out := make([]storage.ZEntry, 0, len(ranks))
	var rank int64
	i := 0
	err := c.Tx.ZWalk(k, false, func(m []byte, s float64) bool {
		var mc []byte
		for i < len(sorted) && sorted[i] == rank {
			if mc == nil {
				mc = bytes.Clone(m)
			}
			out = append(out, storage.ZEntry{Member: mc, Score: s})
			i++
		}
		rank++
		return i < len(sorted)
	})
	rand.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out, err
}
