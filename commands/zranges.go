package commands

import (
	"bytes"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Sorted-set ranges by rank, score and lex: ZRANGE and its older forms,
// ZRANGESTORE and ZREMRANGEBY*.

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
		if sp.kind != zrRank {
			// NB: Redis's range handler writes the length of a range
			// by score or by lex after its entries.
			c.Out.MarkDeferred()
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
	had := dst.Live
	c.Tx.ZStore(dst, es)
	c.notifyStored(NotifyZset, "zrangestore", c.Args[1], len(es) > 0, had)
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
		if len(es) > 0 {
			c.Notify(NotifyZset, c.Cmd.Name, c.Args[1])
			notifyEmptied(c, k)
		}
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
