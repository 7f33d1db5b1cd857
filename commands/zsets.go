package commands

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Sorted sets. The layout lives in storage/zset.go: a member→score sub-key
// per member plus a score index ordered by (score, member), Redis's order.
// Ranges by score and by lex are bounded scans of the index; ranges by rank
// walk the index from one end and skip, which costs O(start+count).

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

// --- Ranges ---

// parseScoreBound parses a ZRANGEBYSCORE bound: a float, "(" for
// exclusive. Redis reads it with a bare strtod, looser than a score: it
// skips leading spaces, takes "" as 0 and overflows to ±inf.
func parseScoreBound(b []byte) (float64, bool, bool) {
	ex := false
	if len(b) > 0 && b[0] == '(' {
		ex, b = true, b[1:]
	}
	if len(b) == 0 {
		return 0, ex, true
	}
	f, _, ok := strtod(bytes.TrimLeft(b, " \t\n\v\f\r"))
	return f, ex, ok
}

func parseScoreRange(min, max []byte) (storage.ScoreRange, error) {
	var r storage.ScoreRange
	var ok1, ok2 bool
	r.Min, r.MinEx, ok1 = parseScoreBound(min)
	r.Max, r.MaxEx, ok2 = parseScoreBound(max)
	if !ok1 || !ok2 {
		return r, errZMinMaxFloat
	}
	return r, nil
}

// parseLexBound parses "[v", "(v", "-" or "+".
func parseLexBound(b []byte) (storage.LexBound, bool) {
	if len(b) == 0 {
		return storage.LexBound{}, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) != 1 {
			return storage.LexBound{}, false
		}
		inf := 1
		if b[0] == '-' {
			inf = -1
		}
		return storage.LexBound{Inf: inf, Ex: true}, true
	case '(':
		return storage.LexBound{Value: b[1:], Ex: true}, true
	case '[':
		return storage.LexBound{Value: b[1:]}, true
	}
	return storage.LexBound{}, false
}

func parseLexRange(min, max []byte) (storage.LexRange, error) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	if !ok1 || !ok2 {
		return storage.LexRange{}, errZMinMaxLex
	}
	return storage.LexRange{Min: lo, Max: hi}, nil
}

type zrangeKind int

const (
	zrAuto zrangeKind = iota
	zrRank
	zrScore
	zrLex
)

type zrangeDir int

const (
	dirAuto zrangeDir = iota
	dirFwd
	dirRev
)

// zrangeSpec is a parsed ZRANGE-family request.
type zrangeSpec struct {
	kind          zrangeKind
	rev           bool
	withScores    bool
	offset, limit int64 // limit -1: no LIMIT given
	start, stop   int64
	score         storage.ScoreRange
	lex           storage.LexRange
}

// parseZRange parses args[from:] as <min> <max> [options], as Redis's
// zrangeGenericCommand does; kind and dir are fixed by the command unless
// zrAuto/dirAuto.
func parseZRange(args [][]byte, from int, store bool, kind zrangeKind, dir zrangeDir) (*zrangeSpec, error) {
	sp := &zrangeSpec{limit: -1}
	for j := from + 2; j < len(args); j++ {
		a, left := args[j], len(args)-j-1
		switch {
		case !store && Is(a, "withscores"):
			sp.withScores = true
		case Is(a, "limit") && left >= 2:
			var err error
			if sp.offset, err = ParseInt(args[j+1]); err != nil {
				return nil, err
			}
			if sp.limit, err = ParseInt(args[j+2]); err != nil {
				return nil, err
			}
			j += 2
		case dir == dirAuto && Is(a, "rev"):
			dir = dirRev
		case kind == zrAuto && Is(a, "bylex"):
			kind = zrLex
		case kind == zrAuto && Is(a, "byscore"):
			kind = zrScore
		default:
			return nil, ErrSyntax
		}
	}
	if kind == zrAuto {
		kind = zrRank
	}
	sp.kind, sp.rev = kind, dir == dirRev
	if sp.limit != -1 && kind == zrRank {
		return nil, errZLimitRank
	}
	if sp.withScores && kind == zrLex {
		return nil, errZWithScoreLex
	}
	min, max := args[from], args[from+1]
	if sp.rev && kind != zrRank {
		min, max = max, min // given as max, min
	}
	var err error
	switch kind {
	case zrRank:
		if sp.start, err = ParseInt(min); err != nil {
			return nil, err
		}
		if sp.stop, err = ParseInt(max); err != nil {
			return nil, err
		}
	case zrScore:
		sp.score, err = parseScoreRange(min, max)
	case zrLex:
		sp.lex, err = parseLexRange(min, max)
	}
	return sp, err
}

// rankBounds clamps a rank range to a set of size n; ok is false when empty.
func rankBounds(start, stop, n int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, true
}

// run returns the entries of k the spec selects, in reply order.
func (sp *zrangeSpec) run(c *Ctx, k *storage.Key) ([]storage.ZEntry, error) {
	var out []storage.ZEntry
	switch sp.kind {
	case zrRank:
		start, stop, ok := rankBounds(sp.start, sp.stop, int64(k.Meta.Size))
		if !ok {
			return nil, nil
		}
		// O(start+count): the index is walked from its end and skipped.
		return out, c.Tx.ZWalk(k, sp.rev, collector(&out, start, stop-start+1))
	case zrScore:
		if sp.offset < 0 {
			return nil, nil // Redis skips every element on a negative offset
		}
		return out, c.Tx.ZWalkScore(k, sp.score, sp.rev, collector(&out, sp.offset, sp.limit))
	default:
		if sp.offset < 0 {
			return nil, nil
		}
		return out, c.Tx.ZWalkLex(k, sp.lex, sp.rev, collector(&out, sp.offset, sp.limit))
	}
}

func zrangeCmd(kind zrangeKind, dir zrangeDir) func(c *Ctx) error {
	return func(c *Ctx) error {
		sp, err := parseZRange(c.Args, 2, false, kind, dir)
		if err != nil {
			return err
		}
		k, err := readZSet(c, c.Args[1])
		if err != nil {
			return err
		}
		if k == nil {
			c.Out.Array(0)
			return nil
		}
		es, err := sp.run(c, k)
		if err != nil {
			return err
		}
		replyEntries(c, es, sp.withScores)
		return nil
	}
}

func zrangestore(c *Ctx) error {
	sp, err := parseZRange(c.Args, 3, true, zrAuto, dirAuto)
	if err != nil {
		return err
	}
	c.Tx.Lock(c.DB(), c.Args[1], c.Args[2])
	dst, err := c.Tx.Lookup(c.DB(), c.Args[1])
	if err != nil {
		return err
	}
	src, err := c.Tx.Lookup(c.DB(), c.Args[2])
	if err != nil {
		return err
	}
	if err := CheckType(src, encoding.TypeZSet); err != nil {
		return err
	}
	var es []storage.ZEntry
	if src.Live {
		if es, err = sp.run(c, src); err != nil {
			return err
		}
	}
	c.Tx.ZStore(dst, es)
	c.Out.Int(int64(len(es)))
	return nil
}

func zremrange(kind zrangeKind) func(c *Ctx) error {
	return func(c *Ctx) error {
		sp := &zrangeSpec{kind: kind, limit: -1}
		var err error
		switch kind {
		case zrRank:
			if sp.start, err = ParseInt(c.Args[2]); err != nil {
				return err
			}
			if sp.stop, err = ParseInt(c.Args[3]); err != nil {
				return err
			}
		case zrScore:
			sp.score, err = parseScoreRange(c.Args[2], c.Args[3])
		case zrLex:
			sp.lex, err = parseLexRange(c.Args[2], c.Args[3])
		}
		if err != nil {
			return err
		}
		k, err := writeZSet(c, c.Args[1])
		if err != nil {
			return err
		}
		if !k.Live {
			c.Out.Int(0)
			return nil
		}
		es, err := sp.run(c, k)
		if err != nil {
			return err
		}
		removeEntries(c, k, es)
		c.Out.Int(int64(len(es)))
		return nil
	}
}

// removeEntries deletes es (members of k with their scores) and stores
// the new size, deleting k when it empties.
func removeEntries(c *Ctx, k *storage.Key, es []storage.ZEntry) {
	if len(es) == 0 {
		return
	}
	for _, e := range es {
		c.Tx.ZRemove(k, e.Member, e.Score)
	}
	c.Tx.SetSize(k, k.Meta.Size-uint64(len(es)))
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
				c.Tx.ZPut(k, p.Member, s, 0, false)
				added++
				processed++
				score = s
			}
		}
		if added > 0 {
			c.Tx.SetSize(k, k.Meta.Size+uint64(added))
		} else if updated > 0 {
			c.Tx.Touch(k)
		}
	}
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

// --- Pops ---

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
func zpopFirst(c *Ctx, keys [][]byte, max bool, count int64, reply func(key []byte, es []storage.ZEntry)) (bool, error) {
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
func zmpopTry(c *Ctx, keys [][]byte, max bool, count int64) (bool, error) {
	return zpopFirst(c, keys, max, count, func(key []byte, es []storage.ZEntry) {
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
func bzpopTry(c *Ctx, keys [][]byte, max bool) (bool, error) {
	return zpopFirst(c, keys, max, 1, func(key []byte, es []storage.ZEntry) {
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
	ok, err := zmpopTry(c, keys, max, count)
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
			func(bool) (bool, error) { return bzpopTry(c, keys, max) },
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
		func(bool) (bool, error) { return zmpopTry(c, keys, max, count) },
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
		// The whole set, in order, as Redis does.
		err = c.Tx.ZWalk(k, false, collector(&es, 0, -1))
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
	for n > 0 {
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

// --- Set operations: ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD ---

type zsetOp int

const (
	opUnion zsetOp = iota
	opInter
	opDiff
)

const (
	aggSum = iota
	aggMin
	aggMax
)

// zsetOpSpec is a parsed set-operation request.
type zsetOpSpec struct {
	op         zsetOp
	keys       [][]byte
	weights    []float64
	agg        int
	withScores bool
	limit      int64 // ZINTERCARD; 0: none
}

// parseZSetOp parses numkeys at args[idx], the keys and the options, as
// Redis's zunionInterDiffGenericCommand does.
func parseZSetOp(c *Ctx, idx int, op zsetOp, store, cardOnly bool) (*zsetOpSpec, error) {
	args := c.Args
	n, err := ParseInt(args[idx])
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, Errf("at least 1 input key is needed for '%s' command", c.Cmd.Name)
	}
	if n > int64(len(args)-idx-1) {
		return nil, ErrSyntax
	}
	sp := &zsetOpSpec{op: op, keys: args[idx+1 : idx+1+int(n)]}
	sp.weights = make([]float64, n)
	for i := range sp.weights {
		sp.weights[i] = 1
	}
	for j := idx + 1 + int(n); j < len(args); {
		a, remaining := args[j], len(args)-j
		switch {
		case cardOnly:
			if remaining < 2 || !Is(a, "limit") {
				return nil, ErrSyntax
			}
			v, ok := parseInt(args[j+1])
			if !ok || v < 0 {
				return nil, errZLimit
			}
			sp.limit = v
			j += 2
		case op != opDiff && remaining >= int(n)+1 && Is(a, "weights"):
			j++
			for i := range sp.weights {
				w, ok := parseFloat(args[j])
				if !ok {
					return nil, errZWeight
				}
				sp.weights[i] = w
				j++
			}
		case op != opDiff && remaining >= 2 && Is(a, "aggregate"):
			switch v := args[j+1]; {
			case Is(v, "sum"):
				sp.agg = aggSum
			case Is(v, "min"):
				sp.agg = aggMin
			case Is(v, "max"):
				sp.agg = aggMax
			default:
				return nil, ErrSyntax
			}
			j += 2
		case !store && Is(a, "withscores"):
			sp.withScores = true
			j++
		default:
			return nil, ErrSyntax
		}
	}
	return sp, nil
}

// zsource is one input of a set operation: a sorted set, or a set whose
// members count with score 1, or nothing.
type zsource struct {
	k      *storage.Key // nil when the key is absent
	weight float64
}

func (s *zsource) size() uint64 {
	if s.k == nil {
		return 0
	}
	return s.k.Meta.Size
}

// walk calls fn with every member and its (unweighted) score.
func (s *zsource) walk(c *Ctx, fn func(m []byte, score float64) bool) error {
	if s.k == nil {
		return nil
	}
	isSet := s.k.Meta.Type == encoding.TypeSet
	var derr error
	err := c.Tx.WalkMembers(s.k, storage.ZTagMember, nil, func(m, v []byte) bool {
		score := 1.0
		if !isSet {
			if score, derr = storage.ZDecodeScore(v); derr != nil {
				return false
			}
		}
		return fn(m, score)
	})
	if err == nil {
		err = derr
	}
	return err
}

// score looks one member up.
func (s *zsource) score(c *Ctx, m []byte) (float64, bool, error) {
	if s.k == nil {
		return 0, false, nil
	}
	if s.k.Meta.Type == encoding.TypeSet {
		var buf [8]byte
		_, ok, err := c.Tx.GetMember(storage.MemberKey(nil, s.k, storage.ZTagMember, m), buf[:0])
		return 1, ok, err
	}
	return c.Tx.ZScore(s.k, m)
}

// weighted applies a weight as Redis does: NaN (0 * inf) becomes 0.
func weighted(score, w float64) float64 {
	v := score * w
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func aggregate(agg int, acc *float64, v float64) {
	switch agg {
	case aggSum:
		*acc += v
		if math.IsNaN(*acc) {
			*acc = 0
		}
	case aggMin:
		if v < *acc {
			*acc = v
		}
	case aggMax:
		if v > *acc {
			*acc = v
		}
	}
}

// loadSources looks the keys up (under lock when locked) and checks they
// hold sorted sets or sets.
func loadSources(c *Ctx, sp *zsetOpSpec) ([]zsource, error) {
	srcs := make([]zsource, len(sp.keys))
	for i, name := range sp.keys {
		k, err := c.Tx.Lookup(c.DB(), name)
		if err != nil {
			return nil, err
		}
		srcs[i].weight = sp.weights[i]
		if !k.Live {
			continue
		}
		if t := k.Meta.Type; t != encoding.TypeZSet && t != encoding.TypeSet {
			return nil, ErrWrongType
		}
		srcs[i].k = k
	}
	return srcs, nil
}

// computeZSetOp runs the operation and returns its result sorted as a
// sorted set. When limit > 0 (ZINTERCARD) an intersection stops after limit
// members.
func computeZSetOp(c *Ctx, sp *zsetOpSpec, srcs []zsource) ([]storage.ZEntry, error) {
	var out []storage.ZEntry
	var err error
	switch sp.op {
	case opUnion:
		acc := map[string]float64{}
		var order []string
		for i := range srcs {
			s := &srcs[i]
			err = s.walk(c, func(m []byte, score float64) bool {
				v := weighted(score, s.weight)
				if cur, ok := acc[string(m)]; ok {
					aggregate(sp.agg, &cur, v)
					acc[string(m)] = cur
				} else {
					acc[string(m)] = v
					order = append(order, string(m))
				}
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		out = make([]storage.ZEntry, 0, len(order))
		for _, m := range order {
			out = append(out, storage.ZEntry{Member: []byte(m), Score: acc[m]})
		}
	case opInter:
		// Walk the smallest input and look the others up: O(N*K).
		byCard := slices.Clone(srcs)
		slices.SortStableFunc(byCard, func(a, b zsource) int {
			switch {
			case a.size() < b.size():
				return -1
			case a.size() > b.size():
				return 1
			}
			return 0
		})
		if byCard[0].size() == 0 {
			return nil, nil
		}
		var ierr error
		err = byCard[0].walk(c, func(m []byte, score float64) bool {
			acc := weighted(score, byCard[0].weight)
			for j := 1; j < len(byCard); j++ {
				s, ok, err := byCard[j].score(c, m)
				if err != nil {
					ierr = err
					return false
				}
				if !ok {
					return true
				}
				aggregate(sp.agg, &acc, weighted(s, byCard[j].weight))
			}
			out = append(out, storage.ZEntry{Member: bytes.Clone(m), Score: acc})
			return sp.limit == 0 || int64(len(out)) < sp.limit
		})
		if err == nil {
			err = ierr
		}
	case opDiff:
		var derr error
		err = srcs[0].walk(c, func(m []byte, score float64) bool {
			for j := 1; j < len(srcs); j++ {
				_, ok, err := srcs[j].score(c, m)
				if err != nil {
					derr = err
					return false
				}
				if ok {
					return true
				}
			}
			out = append(out, storage.ZEntry{Member: bytes.Clone(m), Score: score})
			return true
		})
		if err == nil {
			err = derr
		}
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b storage.ZEntry) int {
		switch {
		case a.Score < b.Score:
			return -1
		case a.Score > b.Score:
			return 1
		}
		return bytes.Compare(a.Member, b.Member)
	})
	return out, nil
}

func zsetOpCmd(op zsetOp, store bool) func(c *Ctx) error {
	return func(c *Ctx) error {
		idx := 1
		if store {
			idx = 2
		}
		sp, err := parseZSetOp(c, idx, op, store, false)
		if err != nil {
			return err
		}
		var dst *storage.Key
		if store {
			c.Tx.Lock(c.DB(), append([][]byte{c.Args[1]}, sp.keys...)...)
			if dst, err = c.Tx.Lookup(c.DB(), c.Args[1]); err != nil {
				return err
			}
		}
		srcs, err := loadSources(c, sp)
		if err != nil {
			return err
		}
		es, err := computeZSetOp(c, sp, srcs)
		if err != nil {
			return err
		}
		if store {
			c.Tx.ZStore(dst, es)
			c.Out.Int(int64(len(es)))
			return nil
		}
		replyEntries(c, es, sp.withScores)
		return nil
	}
}

func zintercard(c *Ctx) error {
	sp, err := parseZSetOp(c, 1, opInter, false, true)
	if err != nil {
		return err
	}
	srcs, err := loadSources(c, sp)
	if err != nil {
		return err
	}
	es, err := computeZSetOp(c, sp, srcs)
	if err != nil {
		return err
	}
	c.Out.Int(int64(len(es)))
	return nil
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
	if k != nil {
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
