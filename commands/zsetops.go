package commands

import (
	"bytes"
	"math"
	"slices"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Sorted-set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms and
// ZINTERCARD.

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
	// opts is the index of the first option; store and cardOnly say
	// which options the command takes (parseZSetOpOptions).
	opts            int
	store, cardOnly bool
}

// parseZSetOp parses numkeys at args[idx] and the keys, as Redis's
// zunionInterDiffGenericCommand does; evalZSetOp reads the options.
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
	sp := &zsetOpSpec{op: op, keys: args[idx+1 : idx+1+int(n)], opts: idx + 1 + int(n), store: store, cardOnly: cardOnly}
	sp.weights = make([]float64, n)
	for i := range sp.weights {
		sp.weights[i] = 1
	}
	return sp, nil
}

// parseZSetOpOptions reads the options after sp's keys (WEIGHTS,
// AGGREGATE, WITHSCORES, LIMIT), which Redis reads after it looked the
// keys up: a key of another type answers WRONGTYPE before a bad option.
func parseZSetOpOptions(c *Ctx, sp *zsetOpSpec) error {
	args, op, store, cardOnly := c.Args, sp.op, sp.store, sp.cardOnly
	for j := sp.opts; j < len(args); {
		a, remaining := args[j], len(args)-j
		switch {
		case cardOnly:
			if remaining < 2 || !Is(a, "limit") {
				return ErrSyntax
			}
			v, ok := parseInt(args[j+1])
			if !ok || v < 0 {
				return errZLimit
			}
			sp.limit = v
			j += 2
		case op != opDiff && remaining >= len(sp.keys)+1 && Is(a, "weights"):
			j++
			for i := range sp.weights {
				w, ok := parseFloat(args[j])
				if !ok {
					return errZWeight
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
				return ErrSyntax
			}
			j += 2
		case !store && Is(a, "withscores"):
			sp.withScores = true
			j++
		default:
			return ErrSyntax
		}
	}
	return nil
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
		c.countRead(k.Live, name)
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

// evalZSetOp reads sp's sources and combines them.
func evalZSetOp(c *Ctx, sp *zsetOpSpec) ([]storage.ZEntry, error) {
	srcs, err := loadSources(c, sp)
	if err != nil {
		return nil, err
	}
	if err := parseZSetOpOptions(c, sp); err != nil {
		return nil, err
	}
	for i := range srcs {
		srcs[i].weight = sp.weights[i]
	}
	return computeZSetOp(c, sp, srcs)
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
		es, err := evalZSetOp(c, sp)
		if err != nil {
			return err
		}
		if store {
			had := dst.Live
			c.Tx.ZStore(dst, es)
			c.notifyStored(NotifyZset, c.Cmd.Name, c.Args[1], len(es) > 0, had)
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
	es, err := evalZSetOp(c, sp)
	if err != nil {
		return err
	}
	c.Out.Int(int64(len(es)))
	return nil
}
