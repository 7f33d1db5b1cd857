package commands

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// setCommands returns the sets command group.
func setCommands() []*Command {
	const grp = "set"
	wf := []string{"write", "set", "fast"}
	ws := []string{"write", "set", "slow"}
	rf := []string{"read", "set", "fast"}
	rs := []string{"read", "set", "slow"}
	return []*Command{
		{Name: "sadd", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Adds one or more members to a set. Creates the key if it doesn't exist.", Since: "1.0.0", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Handler: sadd},
		{Name: "srem", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Removes one or more members from a set. Deletes the set if the last member was removed.", Since: "1.0.0", Complexity: "O(N) where N is the number of members to be removed.", Handler: removeMembers(encoding.TypeSet, NotifySet, "srem", func(c *Ctx, k *storage.Key, m []byte) (bool, error) { return c.Tx.SetRemove(k, m) })},
		{Name: "scard", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Returns the number of members in a set.", Since: "1.0.0", Complexity: "O(1)", Handler: cardinality(encoding.TypeSet)},
		{Name: "sismember", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Determines whether a member belongs to a set.", Since: "1.0.0", Complexity: "O(1)", Handler: sismember},
		{Name: "smismember", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Determines whether multiple members belong to a set.", Since: "6.2.0", Complexity: "O(N) where N is the number of elements being checked for membership", Handler: smismember},
		{Name: "smembers", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns all members of a set.", Since: "1.0.0", Complexity: "O(N) where N is the set cardinality.", Handler: smembers},
		{Name: "srandmember", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Get one or multiple random members from a set", Since: "1.0.0", Complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", Handler: srandmember},
		{Name: "spop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", Since: "1.0.0", Complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", Handler: spop},
		{Name: "smove", Arity: 4, Flags: Write | Fast, FirstKey: 1, LastKey: 2, Step: 1, ACL: wf,
			Group: grp, Summary: "Moves a member from one set to another.", Since: "1.0.0", Complexity: "O(1)", Handler: smove},
		{Name: "sinter", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns the intersect of multiple sets.", Since: "1.0.0", Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Handler: sinter},
		{Name: "sintercard", Arity: -3, Flags: ReadOnly, Keys: setNumKeys, ACL: rs,
			Group: grp, Summary: "Returns the number of members of the intersect of multiple sets.", Since: "7.0.0", Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Handler: sintercard},
		{Name: "sinterstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, ACL: ws,
			Group: grp, Summary: "Stores the intersect of multiple sets in a key.", Since: "1.0.0", Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Handler: sinterstore},
		{Name: "sunion", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns the union of multiple sets.", Since: "1.0.0", Complexity: "O(N) where N is the total number of elements in all given sets.", Handler: sunion},
		{Name: "sunionstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, ACL: ws,
			Group: grp, Summary: "Stores the union of multiple sets in a key.", Since: "1.0.0", Complexity: "O(N) where N is the total number of elements in all given sets.", Handler: sunionstore},
		{Name: "sdiff", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns the difference of multiple sets.", Since: "1.0.0", Complexity: "O(N) where N is the total number of elements in all given sets.", Handler: sdiff},
		{Name: "sdiffstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, ACL: ws,
			Group: grp, Summary: "Stores the difference of multiple sets in a key.", Since: "1.0.0", Complexity: "O(N) where N is the total number of elements in all given sets.", Handler: sdiffstore},
		{Name: "sscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Iterates over members of a set.", Since: "2.8.0", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Handler: sscan},
	}
}

// setNumKeys finds the keys of SINTERCARD numkeys key [key ...]: none when
// numkeys is not valid (the handler then reports the error).
func setNumKeys(args [][]byte) []int {
	if len(args) < 2 {
		return nil
	}
	n, ok := parseInt(args[1])
	if !ok || n <= 0 || n > int64(len(args)-2) {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 2 + i
	}
	return out
}

// readSet looks up a set for reading: k.Live is false when absent.
func readSet(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.ReadKey(name)
	if err != nil {
		return nil, err
	}
	return k, CheckType(k, encoding.TypeSet)
}

// setScanner adapts SetScan to the shared sampling and scan helpers.
func setScanner(c *Ctx, k *storage.Key) memberScanner {
	return func(after []byte, fn func(m, v []byte) bool) error {
		_, err := c.Tx.SetScan(k, after, func(m []byte) bool { return fn(m, nil) })
		return err
	}
}

func sadd(c *Ctx) error {
	c.reserve(len(c.Args)-2, memberKeyExtra+len(c.Args[1]), c.Args[2:])
	k, err := c.WriteKey(c.Args[1])
	if err != nil {
		return err
	}
	if _, err := c.Tx.PrepareCollection(k, encoding.TypeSet); err != nil {
		return err
	}
	var n int64
	for _, m := range c.Args[2:] {
		ok, err := c.Tx.SetAdd(k, m)
		if err != nil {
			return err
		}
		if ok {
			n++
		}
	}
	if n > 0 {
		c.Tx.SetSize(k, k.Meta.Size)
		c.Notify(NotifySet, "sadd", c.Args[1])
	}
	c.Out.Int(n)
	return nil
}

func sismember(c *Ctx) error {
	k, err := readSet(c, c.Args[1])
	if err != nil {
		return err
	}
	ok := false
	if k.Live {
		if ok, err = c.Tx.SetHas(k, c.Args[2]); err != nil {
			return err
		}
	}
	c.Out.Int(b2i(ok))
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func smismember(c *Ctx) error {
	k, err := readSet(c, c.Args[1])
	if err != nil {
		return err
	}
	res := make([]bool, len(c.Args)-2)
	if k.Live {
		for i, m := range c.Args[2:] {
			if res[i], err = c.Tx.SetHas(k, m); err != nil {
				return err
			}
		}
	}
	c.Out.Array(len(res))
	for _, ok := range res {
		c.Out.Int(b2i(ok))
	}
	return nil
}

// setMembers reads every member of a live set.
func setMembers(c *Ctx, k *storage.Key) ([][]byte, error) {
	out := make([][]byte, 0, min(k.Meta.Size, 1<<16))
	_, err := c.Tx.SetScan(k, nil, func(m []byte) bool {
		out = append(out, bytes.Clone(m))
		return true
	})
	return out, err
}

func smembers(c *Ctx) error {
	k, err := readSet(c, c.Args[1])
	if err != nil {
		return err
	}
	var ms [][]byte
	if k.Live {
		if ms, err = setMembers(c, k); err != nil {
			return err
		}
		if err := storedOrder(c, k, ms); err != nil {
			return err
		}
		// NB: SMEMBERS is Redis's SINTER of one key.
		c.Out.MarkDeferred()
	}
	writeSet(c, ms)
	return nil
}

// writeSet replies with members as a set (RESP2: an array).
func writeSet(c *Ctx, ms [][]byte) {
	c.Out.Set(len(ms))
	for _, m := range ms {
		c.Out.Bulk(m)
	}
}

// randomSetMember returns one uniformly chosen member of a live set.
func randomSetMember(c *Ctx, k *storage.Key) ([]byte, error) {
	var m []byte
	err := sampleMembers(k, []uint64{rand.Uint64N(k.Meta.Size)}, func(v, _ []byte) bool {
		m = bytes.Clone(v)
		return false
	}, setScanner(c, k))
	return m, err
}

func srandmember(c *Ctx) error {
	if len(c.Args) > 3 {
		return ErrSyntax
	}
	if len(c.Args) == 2 {
		k, err := readSet(c, c.Args[1])
		if err != nil {
			return err
		}
		if !k.Live {
			c.Out.Null()
			return nil
		}
		m, err := randomSetMember(c, k)
		if err != nil {
			return err
		}
		if m == nil { // the set shrank under an unlocked read
			c.Out.Null()
			return nil
		}
		c.Out.Bulk(m)
		return nil
	}
	count, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	if count == math.MinInt64 {
		return errCountRange
	}
	k, err := readSet(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live || count == 0 {
		c.Out.Array(0)
		return nil
	}
	var ms [][]byte
	if count < 0 && uint64(-count) > k.Meta.Size {
		err := setScanner(c, k)(nil, func(m, _ []byte) bool { ms = append(ms, bytes.Clone(m)); return true })
		if err != nil {
			return err
		}
		randomRepeat(c, -count, ms, nil, false)
		return nil
	}
	err = randomMembers(k, count, func(m, _ []byte) { ms = append(ms, bytes.Clone(m)) }, setScanner(c, k))
	if err != nil {
		return err
	}
	if count > 0 && uint64(count) >= k.Meta.Size {
		// NB: the whole set comes as SMEMBERS answers it, as in Redis.
		if err := storedOrder(c, k, ms); err != nil {
			return err
		}
	} else {
		rand.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	}
	c.Out.BulkArray(ms)
	return nil
}

func spop(c *Ctx) error {
	if len(c.Args) > 3 {
		return ErrSyntax
	}
	withCount := len(c.Args) == 3
	var count int64
	if withCount {
		n, ok := parseInt(c.Args[2])
		if !ok || n < 0 {
			return ErrPositive
		}
		count = n
	}
	k, err := c.WriteKey(c.Args[1])
	if err != nil {
		return err
	}
	if err := CheckType(k, encoding.TypeSet); err != nil {
		return err
	}
	if !withCount {
		if !k.Live {
			c.Out.Null()
			return nil
		}
		m, err := randomSetMember(c, k)
		if err != nil {
			return err
		}
		if _, err := c.Tx.SetRemove(k, m); err != nil {
			return err
		}
		c.Tx.SetSize(k, k.Meta.Size)
		c.NotifyAs(NotifySet, "spop", "srem", c.Args[1])
		notifyEmptied(c, k)
		if c.Feeding() {
			c.Propagate([]byte("SREM"), c.Args[1], m)
		}
		c.Out.Bulk(m)
		return nil
	}
	if !k.Live || count == 0 {
		c.Out.Set(0)
		return nil
	}
	var ms [][]byte
	// NB: Redis sends its replicas SREM, or DEL when the whole set goes.
	shipped := "srem"
	if uint64(count) >= k.Meta.Size {
		shipped = ""
		if ms, err = setMembers(c, k); err != nil {
			return err
		}
		c.Tx.Delete(k)
	} else {
		err = sampleMembers(k, distinctPositions(k.Meta.Size, uint64(count)), func(m, _ []byte) bool {
			ms = append(ms, bytes.Clone(m))
			return true
		}, setScanner(c, k))
		if err != nil {
			return err
		}
		for _, m := range ms {
			if _, err := c.Tx.SetRemove(k, m); err != nil {
				return err
			}
		}
		c.Tx.SetSize(k, k.Meta.Size)
	}
	c.NotifyAs(NotifySet, "spop", shipped, c.Args[1])
	notifyEmptied(c, k)
	if c.Feeding() {
		if shipped == "" {
			c.Propagate([]byte("DEL"), c.Args[1])
		} else {
			for _, m := range ms {
				c.Propagate([]byte("SREM"), c.Args[1], m)
			}
		}
	}
	if shipped == "" && builtIntset(c, ms, len(ms)) {
		// NB: Redis answers the whole set as SUNION of it would.
		intsetOrder(ms)
	} else {
		rand.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	}
	writeSet(c, ms)
	return nil
}

func smove(c *Ctx) error {
	member := c.Args[3]
	c.Tx.Lock(c.DB(), c.Args[1], c.Args[2])
	src, err := c.Tx.Lookup(c.DB(), c.Args[1])
	if err != nil {
		return err
	}
	dst, err := c.Tx.Lookup(c.DB(), c.Args[2])
	if err != nil {
		return err
	}
	if !src.Live {
		c.Out.Int(0)
		return nil
	}
	if err := CheckType(src, encoding.TypeSet); err != nil {
		return err
	}
	if err := CheckType(dst, encoding.TypeSet); err != nil {
		return err
	}
	if bytes.Equal(c.Args[1], c.Args[2]) {
		ok, err := c.Tx.SetHas(src, member)
		if err != nil {
			return err
		}
		c.Out.Int(b2i(ok))
		return nil
	}
	ok, err := c.Tx.SetRemove(src, member)
	if err != nil {
		return err
	}
	if !ok {
		c.Out.Int(0)
		return nil
	}
	c.Tx.SetSize(src, src.Meta.Size)
	c.Notify(NotifySet, "srem", c.Args[1])
	notifyEmptied(c, src)
	if _, err := c.Tx.PrepareCollection(dst, encoding.TypeSet); err != nil {
		return err
	}
	added, err := c.Tx.SetAdd(dst, member)
	if err != nil {
		return err
	}
	// NB: as Redis, a member dst holds already leaves dst untouched: no
	// write, no event, no WATCH of it failed, one change.
	c.Changed(1)
	if added {
		c.Tx.SetSize(dst, dst.Meta.Size)
		c.Notify(NotifySet, "sadd", c.Args[2])
		c.Changed(2)
	}
	c.Out.Int(1)
	return nil
}

// lookupSets looks up sets after the caller locked them: absent keys give
// nil entries, any live key of another type ErrWrongType.
func lookupSets(c *Ctx, names [][]byte) ([]*storage.Key, error) {
	keys := make([]*storage.Key, len(names))
	for i, n := range names {
		k, err := c.Tx.Lookup(c.DB(), n)
		if err != nil {
			return nil, err
		}
		c.countRead(k.Live, n)
		if err := CheckType(k, encoding.TypeSet); err != nil {
			return nil, err
		}
		if k.Live {
			keys[i] = k
		}
	}
	return keys, nil
}

// setInter returns the members common to every set, at most limit of them
// when limit > 0. It walks the smallest set (the first named of the
// smallest, as Redis's sort leaves them) and probes the others; the
// members come in the order Redis walks that set.
func setInter(c *Ctx, sets []*storage.Key, limit int) ([][]byte, error) {
	if slices.Contains(sets, nil) {
		return nil, nil
	}
	sets = slices.Clone(sets)
	slices.SortStableFunc(sets, func(a, b *storage.Key) int {
		switch {
		case a.Meta.Size < b.Meta.Size:
			return -1
		case a.Meta.Size > b.Meta.Size:
			return 1
		}
		return 0
	})
	var out [][]byte
	var err error
	_, serr := c.Tx.SetScan(sets[0], nil, func(m []byte) bool {
		for _, o := range sets[1:] {
			var ok bool
			if ok, err = c.Tx.SetHas(o, m); err != nil || !ok {
				return err == nil
			}
		}
		out = append(out, bytes.Clone(m))
		return limit <= 0 || len(out) < limit
	})
	if err == nil {
		err = serr
	}
	if err == nil {
		err = storedOrder(c, sets[0], out)
	}
	return out, err
}

// setUnion returns the members of any of the sets: by value when the set
// Redis builds of them is an intset, else in byte order.
func setUnion(c *Ctx, sets []*storage.Key) ([][]byte, bool, error) {
	seen := map[string]struct{}{}
	var out [][]byte
	for _, k := range sets {
		if k == nil {
			continue
		}
		_, err := c.Tx.SetScan(k, nil, func(m []byte) bool {
			if _, dup := seen[string(m)]; !dup {
				seen[string(m)] = struct{}{}
				out = append(out, bytes.Clone(m))
			}
			return true
		})
		if err != nil {
			return nil, false, err
		}
	}
	intset := builtIntset(c, out, len(out))
	switch {
	case intset:
		intsetOrder(out)
	case len(sets) > 1:
		slices.SortFunc(out, bytes.Compare)
	}
	return out, intset, nil
}

// setDiff returns the members of the first set in none of the others, by
// value when the set Redis builds of them is an intset.
func setDiff(c *Ctx, sets []*storage.Key) ([][]byte, bool, error) {
	if sets[0] == nil {
		return nil, false, nil
	}
	var out [][]byte
	var err error
	ints := true // every member of the first set is an integer
	_, serr := c.Tx.SetScan(sets[0], nil, func(m []byte) bool {
		if ints {
			_, ints = encoding.ParseInt(m)
		}
		for _, o := range sets[1:] {
			if o == nil {
				continue
			}
			var ok bool
			if ok, err = c.Tx.SetHas(o, m); err != nil {
				return false
			}
			if ok {
				return true
			}
		}
		out = append(out, bytes.Clone(m))
		return true
	})
	if err == nil {
		err = serr
	}
	intset := err == nil && diffBuiltIntset(c, sets, out, ints)
	if intset {
		intsetOrder(out)
	}
	return out, intset, err
}

// diffBuiltIntset reports whether the set Redis 7.0 builds for SDIFF of
// sets, whose result is out, is an intset. Redis picks the cheaper of two
// ways: adding the first set's members that no other set has (the set
// grows to out), or adding the whole first set and then removing the
// others' members (it grows to the first set, every member of which must
// be an integer: ints).
func diffBuiltIntset(c *Ctx, sets []*storage.Key, out [][]byte, ints bool) bool {
	var one, two uint64
	for _, k := range sets {
		if k != nil {
			one += sets[0].Meta.Size
			two += k.Meta.Size
		}
	}
	if one/2 <= two {
		return builtIntset(c, out, len(out))
	}
	return ints && builtIntset(c, nil, int(sets[0].Meta.Size))
}

// setOp is SINTER, SUNION or SDIFF of sets: the members, and whether the
// set Redis builds of them (which the STORE variants store) is an intset.
type setOp func(c *Ctx, sets []*storage.Key) ([][]byte, bool, error)

func interAll(c *Ctx, sets []*storage.Key) ([][]byte, bool, error) {
	ms, err := setInter(c, sets, 0)
	return ms, err == nil && builtIntset(c, ms, len(ms)), err
}

// setAlgebra serves SINTER, SUNION and SDIFF: every key is a source.
func setAlgebra(op setOp, deferred bool) func(c *Ctx) error {
	return func(c *Ctx) error {
		names := c.Args[1:]
		c.Tx.Lock(c.DB(), names...)
		sets, err := lookupSets(c, names)
		if err != nil {
			return err
		}
		ms, _, err := op(c, sets)
		if err != nil {
			return err
		}
		if deferred && !slices.Contains(sets, nil) {
			// NB: as Redis's SINTER of sets that all exist.
			c.Out.MarkDeferred()
		}
		writeSet(c, ms)
		return nil
	}
}

// setAlgebraStore serves the STORE variants: the result replaces the
// destination whatever it held, and an empty result deletes it.
func setAlgebraStore(op setOp) func(c *Ctx) error {
	return func(c *Ctx) error {
		c.Tx.Lock(c.DB(), c.Args[1:]...)
		sets, err := lookupSets(c, c.Args[2:])
		if err != nil {
			return err
		}
		ms, intset, err := op(c, sets)
		if err != nil {
			return err
		}
		dst, err := c.Tx.Lookup(c.DB(), c.Args[1])
		if err != nil {
			return err
		}
		had := dst.Live
		c.Tx.StoreSet(dst, ms, intset)
		c.notifyStored(NotifySet, c.Cmd.Name, c.Args[1], len(ms) > 0, had)
		c.Out.Int(int64(len(ms)))
		return nil
	}
}

var (
	sinter      = setAlgebra(interAll, true)
	sunion      = setAlgebra(setUnion, false)
	sdiff       = setAlgebra(setDiff, false)
	sinterstore = setAlgebraStore(interAll)
	sunionstore = setAlgebraStore(setUnion)
	sdiffstore  = setAlgebraStore(setDiff)
)

var (
	errNumKeys      = &Error{"ERR", "numkeys should be greater than 0"}
	errNumKeysArgs  = &Error{"ERR", "Number of keys can't be greater than number of args"}
	errLimitNegaive = &Error{"ERR", "LIMIT can't be negative"}
)

func sintercard(c *Ctx) error {
	n, ok := parseInt(c.Args[1])
	if !ok || n <= 0 {
		return errNumKeys
	}
	if n > int64(len(c.Args)-2) {
		return errNumKeysArgs
	}
	names := c.Args[2 : 2+n]
	var limit int64
	cur := NewCursor(c.Args, int(2+n))
	for cur.More() {
		opt, _ := cur.Next()
		if !Is(opt, "limit") {
			return ErrSyntax
		}
		a, err := cur.Next()
		if err != nil {
			return err
		}
		l, ok := parseInt(a)
		if !ok || l < 0 {
			return errLimitNegaive
		}
		limit = l
	}
	c.Tx.Lock(c.DB(), names...)
	sets, err := lookupSets(c, names)
	if err != nil {
		return err
	}
	ms, err := setInter(c, sets, int(limit))
	if err != nil {
		return err
	}
	c.Out.Int(int64(len(ms)))
	return nil
}

func sscan(c *Ctx) error {
	a, err := parseScanArgs(c.Args)
	if err != nil {
		return err
	}
	k, err := readSet(c, c.Args[1])
	if err != nil {
		return err
	}
	whole := func(fn func(m, v []byte) bool) error {
		ms, err := setMembers(c, k)
		if err == nil {
			intsetOrder(ms)
		}
		for _, m := range ms {
			if !fn(m, nil) {
				break
			}
		}
		return err
	}
	return scanMembers(c, a, k, false, whole, func(after []byte, fn func(m, v []byte) bool) (bool, error) {
		return c.Tx.SetScan(k, after, func(m []byte) bool { return fn(m, nil) })
	})
}
