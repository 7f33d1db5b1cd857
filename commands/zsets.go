package commands

import (
	"bytes"
	"math"
	"strconv"

	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Sorted sets. The layout lives in storage/zset.go: a member→score sub-key
// per member plus a score index ordered by (score, member), Redis's order.
// Ranges by score and by lex are bounded scans of the index; ranges by rank
// walk the index from one end and skip, which costs O(start+count).
//
// This file holds the command table, the shared helpers and the
// single-member commands; ranges, pops and set algebra have their own files
// (zranges.go, zpops.go, zsetops.go).

func zsetCommands() []*Command {
	const g = "sorted-set"
	readFast := []string{"read", "sortedset", "fast"}
	readSlow := []string{"read", "sortedset", "slow"}
	writeFast := []string{"write", "sortedset", "fast"}
	writeSlow := []string{"write", "sortedset", "slow"}
	return []*Command{
		{Name: "zadd", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeFast, Group: g,
			Summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", Since: "1.2.0",
			Complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", Handler: zadd},
		{Name: "zincrby", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeFast, Group: g,
			Summary: "Increments the score of a member in a sorted set.", Since: "1.2.0",
			Complexity: "O(log(N)) where N is the number of elements in the sorted set.", Handler: zincrby},
		{Name: "zrem", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeFast, Group: g,
			Summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", Since: "1.2.0",
			Complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", Handler: zrem},
		{Name: "zcard", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the number of members in a sorted set.", Since: "1.2.0", Complexity: "O(1)", Handler: cardinality(encoding.TypeZSet)},
		{Name: "zcount", Arity: 4, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the count of members in a sorted set that have scores within a range.", Since: "2.0.0",
			Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Handler: zcount},
		{Name: "zlexcount", Arity: 4, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the number of members in a sorted set within a lexicographical range.", Since: "2.8.9",
			Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Handler: zlexcount},
		{Name: "zscore", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the score of a member in a sorted set.", Since: "1.2.0", Complexity: "O(1)", Handler: zscore},
		{Name: "zmscore", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the score of one or more members in a sorted set.", Since: "6.2.0",
			Complexity: "O(N) where N is the number of members being requested.", Handler: zmscore},
		{Name: "zrank", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the index of a member in a sorted set ordered by ascending scores.", Since: "2.0.0",
			Complexity: "O(log(N))", Handler: zrankCmd(false)},
		{Name: "zrevrank", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: readFast, Group: g,
			Summary: "Returns the index of a member in a sorted set ordered by descending scores.", Since: "2.0.0",
			Complexity: "O(log(N))", Handler: zrankCmd(true)},
		{Name: "zrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns members in a sorted set within a range of indexes.", Since: "1.2.0",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
			Handler:    zrangeCmd(zrAuto, dirAuto)},
		{Name: "zrangestore", Arity: -5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, ACL: writeSlow, Group: g,
			Summary: "Stores a range of members from sorted set in a key.", Since: "6.2.0",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
			Handler:    zrangestore},
		{Name: "zrevrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns members in a sorted set within a range of indexes in reverse order.", Since: "1.2.0",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
			Handler:    zrangeCmd(zrRank, dirRev)},
		{Name: "zrangebyscore", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns members in a sorted set within a range of scores.", Since: "1.0.5",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
			Handler:    zrangeCmd(zrScore, dirFwd)},
		{Name: "zrevrangebyscore", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns members in a sorted set within a range of scores in reverse order.", Since: "2.2.0",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
			Handler:    zrangeCmd(zrScore, dirRev)},
		{Name: "zrangebylex", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns members in a sorted set within a lexicographical range.", Since: "2.8.9",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
			Handler:    zrangeCmd(zrLex, dirFwd)},
		{Name: "zrevrangebylex", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns members in a sorted set within a lexicographical range in reverse order.", Since: "2.8.9",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
			Handler:    zrangeCmd(zrLex, dirRev)},
		{Name: "zremrangebyrank", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeSlow, Group: g,
			Summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", Since: "2.0.0",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
			Handler:    zremrange(zrRank)},
		{Name: "zremrangebyscore", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeSlow, Group: g,
			Summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", Since: "1.2.0",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
			Handler:    zremrange(zrScore)},
		{Name: "zremrangebylex", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeSlow, Group: g,
			Summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", Since: "2.8.9",
			Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
			Handler:    zremrange(zrLex)},
		{Name: "zpopmin", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeFast, Group: g,
			Summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Since: "5.0.0",
			Complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
			Handler:    zpop(false)},
		{Name: "zpopmax", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: writeFast, Group: g,
			Summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Since: "5.0.0",
			Complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
			Handler:    zpop(true)},
		{Name: "zmpop", Arity: -4, Flags: Write, Keys: numkeysKeys(1, false), ACL: writeSlow, Group: g,
			Summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", Since: "7.0.0",
			Complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
			Handler:    zmpop},
		{Name: "zrandmember", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Returns one or more random members from a sorted set.", Since: "6.2.0",
			Complexity: "O(N) where N is the number of elements returned", Handler: zrandmember},
		{Name: "zunion", Arity: -3, Flags: ReadOnly, Keys: numkeysKeys(1, false), ACL: readSlow, Group: g,
			Summary: "Returns the union of multiple sorted sets.", Since: "6.2.0",
			Complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
			Handler:    zsetOpCmd(opUnion, false)},
		{Name: "zinter", Arity: -3, Flags: ReadOnly, Keys: numkeysKeys(1, false), ACL: readSlow, Group: g,
			Summary: "Returns the intersect of multiple sorted sets.", Since: "6.2.0",
			Complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
			Handler:    zsetOpCmd(opInter, false)},
		{Name: "zdiff", Arity: -3, Flags: ReadOnly, Keys: numkeysKeys(1, false), ACL: readSlow, Group: g,
			Summary: "Returns the difference between multiple sorted sets.", Since: "6.2.0",
			Complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
			Handler:    zsetOpCmd(opDiff, false)},
		{Name: "zunionstore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Keys: numkeysKeys(2, true), ACL: writeSlow, Group: g,
			Summary: "Stores the union of multiple sorted sets in a key.", Since: "2.0.0",
			Complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
			Handler:    zsetOpCmd(opUnion, true)},
		{Name: "zinterstore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Keys: numkeysKeys(2, true), ACL: writeSlow, Group: g,
			Summary: "Stores the intersect of multiple sorted sets in a key.", Since: "2.0.0",
			Complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
			Handler:    zsetOpCmd(opInter, true)},
		{Name: "zdiffstore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Keys: numkeysKeys(2, true), ACL: writeSlow, Group: g,
			Summary: "Stores the difference of multiple sorted sets in a key.", Since: "6.2.0",
			Complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
			Handler:    zsetOpCmd(opDiff, true)},
		{Name: "zintercard", Arity: -3, Flags: ReadOnly, Keys: numkeysKeys(1, false), ACL: readSlow, Group: g,
			Summary: "Returns the number of members of the intersect of multiple sorted sets.", Since: "7.0.0",
			Complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
			Handler:    zintercard},
		{Name: "zscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: readSlow, Group: g,
			Summary: "Iterates over members and scores of a sorted set.", Since: "2.8.0",
			Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
			Handler:    zscan},
		{Name: "bzpopmin", Arity: -3, Flags: Write | NoScript | Blocking | Fast, FirstKey: 1, LastKey: -2, Step: 1,
			ACL: []string{"write", "sortedset", "fast", "blocking"}, Group: g,
			Summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Since: "5.0.0",
			Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Handler: bzpop(false)},
		{Name: "bzpopmax", Arity: -3, Flags: Write | NoScript | Blocking | Fast, FirstKey: 1, LastKey: -2, Step: 1,
			ACL: []string{"write", "sortedset", "fast", "blocking"}, Group: g,
			Summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", Since: "5.0.0",
			Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Handler: bzpop(true)},
		{Name: "bzmpop", Arity: -5, Flags: Write | Blocking, Keys: numkeysKeys(2, false),
			ACL: []string{"write", "sortedset", "slow", "blocking"}, Group: g,
			Summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Since: "7.0.0",
			Complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
			Handler:    bzmpop},
	}
}

// Redis's sorted set error texts.
var (
	errZAddXXNX      = &Error{"ERR", "XX and NX options at the same time are not compatible"}
	errZAddGTLTNX    = &Error{"ERR", "GT, LT, and/or NX options at the same time are not compatible"}
	errZAddIncrPair  = &Error{"ERR", "INCR option supports a single increment-element pair"}
	errZScoreNaN     = &Error{"ERR", "resulting score is not a number (NaN)"}
	errZMinMaxFloat  = &Error{"ERR", "min or max is not a float"}
	errZMinMaxLex    = &Error{"ERR", "min or max not valid string range item"}
	errZLimitRank    = &Error{"ERR", "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"}
	errZWithScoreLex = &Error{"ERR", "syntax error, WITHSCORES not supported in combination with BYLEX"}
	errZWeight       = &Error{"ERR", "weight value is not a float"}
	errZNumkeys      = &Error{"ERR", "numkeys should be greater than 0"}
	errZCount        = &Error{"ERR", "count should be greater than 0"}
	errZLimit        = &Error{"ERR", "LIMIT can't be negative"}
	errZRange        = &Error{"ERR", "value is out of range"}
)

// numkeysKeys returns a Keys func for commands whose keys follow a numkeys
// argument at index idx, with a destination key at 1 when dest is set.
func numkeysKeys(idx int, dest bool) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		var out []int
		if dest && len(args) > 1 {
			out = append(out, 1)
		}
		if idx >= len(args) {
			return out
		}
		n, ok := parseInt(args[idx])
		if !ok || n < 1 {
			return out
		}
		for i := idx + 1; i < len(args) && int64(i-idx) <= n; i++ {
			out = append(out, i)
		}
		return out
	}
}

// readZSet looks name up for reading: nil (and no error) when absent,
// ErrWrongType when it holds another type.
func readZSet(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.ReadKey(name)
	if err != nil {
		return nil, err
	}
	if !k.Live {
		return nil, nil
	}
	if k.Meta.Type != encoding.TypeZSet {
		return nil, ErrWrongType
	}
	return k, nil
}

// writeZSet locks and looks name up for writing; k may be not Live.
func writeZSet(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.WriteKey(name)
	if err != nil {
		return nil, err
	}
	return k, CheckType(k, encoding.TypeZSet)
}

// replyEntries writes members, with their scores when withScores: RESP2 a
// flat array, RESP3 an array of [member, score] pairs, as Redis 7 does.
func replyEntries(c *Ctx, es []storage.ZEntry, withScores bool) {
	switch {
	case !withScores:
		c.Out.Array(len(es))
		for _, e := range es {
			c.Out.Bulk(e.Member)
		}
	case c.Out.Proto() == 3:
		c.Out.Array(len(es))
		for _, e := range es {
			c.Out.Array(2)
			c.Out.Bulk(e.Member)
			c.Out.Double(e.Score)
		}
	default:
		replyFlat(c, es)
	}
}

// replyFlat writes member, score, member, score... in either protocol.
func replyFlat(c *Ctx, es []storage.ZEntry) {
	c.Out.Array(2 * len(es))
	for _, e := range es {
		c.Out.Bulk(e.Member)
		c.Out.Double(e.Score)
	}
}

// collector returns a walk func appending copies to *out, at most limit
// (negative: no limit) after skipping offset.
func collector(out *[]storage.ZEntry, offset, limit int64) storage.ZWalkFunc {
	return func(m []byte, s float64) bool {
		if offset > 0 {
			offset--
			return true
		}
		if limit == 0 {
			return false
		}
		*out = append(*out, storage.ZEntry{Member: bytes.Clone(m), Score: s})
		if limit > 0 {
			limit--
		}
		return limit != 0
	}
}

// --- Single-member commands ---

type zaddFlags struct{ nx, xx, gt, lt, ch, incr bool }

func zadd(c *Ctx) error {
	var f zaddFlags
	i := 2
opts:
	for ; i < len(c.Args); i++ {
		a := c.Args[i]
		switch {
		case Is(a, "nx"):
			f.nx = true
		case Is(a, "xx"):
			f.xx = true
		case Is(a, "gt"):
			f.gt = true
		case Is(a, "lt"):
			f.lt = true
		case Is(a, "ch"):
			f.ch = true
		case Is(a, "incr"):
			f.incr = true
		default:
			break opts
		}
	}
	n := len(c.Args) - i
	if n == 0 || n%2 != 0 {
		return ErrSyntax
	}
	if f.nx && f.xx {
		return errZAddXXNX
	}
	if (f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt) {
		return errZAddGTLTNX
	}
	if f.incr && n > 2 {
		return errZAddIncrPair
	}
	pairs := make([]storage.ZEntry, 0, n/2)
	for j := i; j < len(c.Args); j += 2 {
		s, err := ParseFloat(c.Args[j])
		if err != nil {
			return err
		}
		pairs = append(pairs, storage.ZEntry{Member: c.Args[j+1], Score: s})
	}
	c.reserve(len(pairs), memberKeyExtra+len(c.Args[1]), c.Args[i:])
	return zaddApply(c, c.Args[1], f, pairs)
}

func zincrby(c *Ctx) error {
	inc, err := ParseFloat(c.Args[2])
	if err != nil {
		return err
	}
	return zaddApply(c, c.Args[1], zaddFlags{incr: true}, []storage.ZEntry{{Member: c.Args[3], Score: inc}})
}

// zaddApply is ZADD's and ZINCRBY's write, following Redis's zsetAdd.
func zaddApply(c *Ctx, name []byte, f zaddFlags, pairs []storage.ZEntry) error {
	k, err := writeZSet(c, name)
	if err != nil {
		return err
	}
	var added, updated, processed int64
	var score float64
	if k.Live || !f.xx {
		if _, err := c.Tx.PrepareCollection(k, encoding.TypeZSet); err != nil {
			return err
		}
		for _, p := range pairs {
			old, had, err := c.Tx.ZScore(k, p.Member)
			if err != nil {
				return err
			}
			s := p.Score
			switch {
			case had:
				if f.nx {
					continue
				}
				if f.incr {
					s += old
					if math.IsNaN(s) {
						return errZScoreNaN
					}
				}
				if (f.lt && s >= old) || (f.gt && s <= old) {
					continue
				}
				processed++
				score = s
				if s != old {
					c.Tx.ZPut(k, p.Member, s, old, true)
					updated++
				}
			case !f.xx:
				c.Tx.ZAdd(k, p.Member, s)
				added++
				processed++
				score = s
			}
		}
		if added > 0 {
			c.Tx.SetSize(k, k.Meta.Size)
		} else if updated > 0 {
			c.Tx.Touch(k)
		}
		if added > 0 || updated > 0 {
			ev := "zadd"
			if f.incr {
				ev = "zincr"
			}
			c.Notify(NotifyZset, ev, name)
		}
	}
	c.Changed(added + updated)
	switch {
	case !f.incr && f.ch:
		c.Out.Int(added + updated)
	case !f.incr:
		c.Out.Int(added)
	case processed > 0:
		c.Out.Double(score)
	default:
		c.Out.Null()
	}
	return nil
}

func zrem(c *Ctx) error {
	k, err := writeZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Int(0)
		return nil
	}
	var removed uint64
	for _, m := range c.Args[2:] {
		s, ok, err := c.Tx.ZScore(k, m)
		if err != nil {
			return err
		}
		if ok {
			c.Tx.ZRemove(k, m, s)
			removed++
		}
	}
	if removed > 0 {
		c.Tx.SetSize(k, k.Meta.Size-removed)
		c.Notify(NotifyZset, "zrem", c.Args[1])
		notifyEmptied(c, k)
	}
	c.Out.Int(int64(removed))
	return nil
}

// countWalk is a walk func counting the members it sees.
func countWalk(n *int64) storage.ZWalkFunc {
	return func([]byte, float64) bool {
		*n++
		return true
	}
}

func zcount(c *Ctx) error {
	r, err := parseScoreRange(c.Args[2], c.Args[3])
	if err != nil {
		return err
	}
	return countInRange(c, func(k *storage.Key, fn storage.ZWalkFunc) error { return c.Tx.ZWalkScore(k, r, false, fn) })
}

func zlexcount(c *Ctx) error {
	r, err := parseLexRange(c.Args[2], c.Args[3])
	if err != nil {
		return err
	}
	return countInRange(c, func(k *storage.Key, fn storage.ZWalkFunc) error { return c.Tx.ZWalkLex(k, r, false, fn) })
}

// countInRange replies with the number of members walk visits in the
// sorted set at Args[1], 0 when it is absent: ZCOUNT and ZLEXCOUNT.
func countInRange(c *Ctx, walk func(k *storage.Key, fn storage.ZWalkFunc) error) error {
	k, err := readZSet(c, c.Args[1])
	if err != nil || k == nil {
		if err == nil {
			c.Out.Int(0)
		}
		return err
	}
	var n int64
	if err := walk(k, countWalk(&n)); err != nil {
		return err
	}
	c.Out.Int(n)
	return nil
}

func zscore(c *Ctx) error {
	k, err := readZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	if k == nil {
		c.Out.Null()
		return nil
	}
	s, ok, err := c.Tx.ZScore(k, c.Args[2])
	if err != nil {
		return err
	}
	if !ok {
		c.Out.Null()
		return nil
	}
	c.Out.Double(s)
	return nil
}

func zmscore(c *Ctx) error {
	k, err := readZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	members := c.Args[2:]
	scores := make([]float64, len(members))
	found := make([]bool, len(members))
	if k != nil {
		for i, m := range members {
			if scores[i], found[i], err = c.Tx.ZScore(k, m); err != nil {
				return err
			}
		}
	}
	c.Out.Array(len(members))
	for i := range members {
		if found[i] {
			c.Out.Double(scores[i])
		} else {
			c.Out.Null()
		}
	}
	return nil
}

// zrankCmd is ZRANK and ZREVRANK, with Redis 7.2's WITHSCORE.
func zrankCmd(rev bool) func(c *Ctx) error {
	return func(c *Ctx) error {
		withScore := false
		if len(c.Args) > 4 {
			return ErrSyntax
		}
		if len(c.Args) == 4 {
			if !Is(c.Args[3], "withscore") {
				return ErrSyntax
			}
			withScore = true
		}
		none := func() error {
			if withScore {
				c.Out.NullArray()
			} else {
				c.Out.Null()
			}
			return nil
		}
		k, err := readZSet(c, c.Args[1])
		if err != nil {
			return err
		}
		if k == nil {
			return none()
		}
		s, ok, err := c.Tx.ZScore(k, c.Args[2])
		if err != nil {
			return err
		}
		if !ok {
			return none()
		}
		r, err := c.Tx.ZRank(k, c.Args[2], s, rev)
		if err != nil {
			return err
		}
		if withScore {
			c.Out.Array(2)
			c.Out.Int(r)
			c.Out.Double(s)
		} else {
			c.Out.Int(r)
		}
		return nil
	}
}

// --- ZSCAN ---

func zscan(c *Ctx) error {
	cursor, err := ParseScanCursor(c.Args[2])
	if err != nil {
		return err
	}
	count := int64(10)
	var pattern []byte
	cur := NewCursor(c.Args, 3)
	for cur.More() {
		opt, _ := cur.Next()
		switch {
		case Is(opt, "count") && len(cur.Rest()) > 0:
			n, err := cur.Int()
			if err != nil {
				return err
			}
			if n < 1 {
				return ErrSyntax
			}
			count = n
		case Is(opt, "match") && len(cur.Rest()) > 0:
			pattern, _ = cur.Next()
		default:
			return ErrSyntax
		}
	}
	k, err := readZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	var es []storage.ZEntry
	var next uint64
	compact := false
	if k != nil {
		if compact, err = c.Tx.Compact(k); err != nil {
			return err
		}
	}
	if compact {
		// NB: Redis answers a listpack whole, in its order (by score),
		// with cursor 0, whatever the cursor and COUNT.
		err = c.Tx.ZWalk(k, false, func(m []byte, s float64) bool {
			if pattern == nil || GlobMatch(pattern, m) {
				es = append(es, storage.ZEntry{Member: bytes.Clone(m), Score: s})
			}
			return true
		})
		if err != nil {
			return err
		}
	} else if k != nil {
		var after []byte
		if cursor != 0 {
			after, _ = c.Server.Cursors().Load(cursor)
		}
		var last []byte
		var seen int64
		var derr error
		err = c.Tx.WalkMembers(k, storage.ZTagMember, after, func(m, v []byte) bool {
			if seen == count {
				next = c.Server.Cursors().Save(last)
				return false
			}
			seen++
			last = bytes.Clone(m)
			if pattern != nil && !GlobMatch(pattern, m) {
				return true
			}
			s, err := storage.ZDecodeScore(v)
			if err != nil {
				derr = err
				return false
			}
			es = append(es, storage.ZEntry{Member: last, Score: s})
			return true
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
	}
	c.Out.Array(2)
	c.Out.BulkString(strconv.FormatUint(next, 10))
	// Scores are bulk strings in both protocols, as Redis's SCAN family
	// replies.
	c.Out.Array(2 * len(es))
	var buf []byte
	for _, e := range es {
		c.Out.Bulk(e.Member)
		buf = resp.AppendDouble(buf[:0], e.Score)
		c.Out.Bulk(buf)
	}
	return nil
}
