package commands

import (
	"bytes"
	"math"
	"time"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// listCommands returns the lists command group.
func listCommands() []*Command {
	w := []string{"write", "list", "fast"}
	ws := []string{"write", "list", "slow"}
	rs := []string{"read", "list", "slow"}
	wb := []string{"write", "list", "slow", "blocking"}
	return []*Command{
		{Name: "lpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: w,
			Group: "list", Summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0",
			Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
			Handler:    func(c *Ctx) error { return push(c, true, false) }},
		{Name: "rpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: w,
			Group: "list", Summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0",
			Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
			Handler:    func(c *Ctx) error { return push(c, false, false) }},
		{Name: "lpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: w,
			Group: "list", Summary: "Prepends one or more elements to a list only when the list exists.", Since: "2.2.0",
			Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
			Handler:    func(c *Ctx) error { return push(c, true, true) }},
		{Name: "rpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: w,
			Group: "list", Summary: "Appends an element to a list only when the list exists.", Since: "2.2.0",
			Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
			Handler:    func(c *Ctx) error { return push(c, false, true) }},
		{Name: "lpop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: w,
			Group: "list", Summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", Since: "1.0.0",
			Complexity: "O(N) where N is the number of elements returned",
			Handler:    func(c *Ctx) error { return pop(c, true) }},
		{Name: "rpop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: w,
			Group: "list", Summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", Since: "1.0.0",
			Complexity: "O(N) where N is the number of elements returned",
			Handler:    func(c *Ctx) error { return pop(c, false) }},
		{Name: "llen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "list", "fast"},
			Group: "list", Summary: "Returns the length of a list.", Since: "1.0.0", Complexity: "O(1)", Handler: llen},
		{Name: "lrange", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: "list", Summary: "Returns a range of elements from a list.", Since: "1.0.0",
			Complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
			Handler:    lrange},
		{Name: "lindex", Arity: 3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: "list", Summary: "Returns an element from a list by its index.", Since: "1.0.0",
			Complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
			Handler:    lindex},
		{Name: "lset", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws,
			Group: "list", Summary: "Sets the value of an element in a list by its index.", Since: "1.0.0",
			Complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
			Handler:    lset},
		{Name: "linsert", Arity: 5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws,
			Group: "list", Summary: "Inserts an element before or after another element in a list.", Since: "2.2.0",
			Complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
			Handler:    linsert},
		{Name: "lrem", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws,
			Group: "list", Summary: "Removes elements from a list. Deletes the list if the last element was removed.", Since: "1.0.0",
			Complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
			Handler:    lrem},
		{Name: "ltrim", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws,
			Group: "list", Summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", Since: "1.0.0",
			Complexity: "O(N) where N is the number of elements to be removed by the operation.",
			Handler:    ltrim},
		{Name: "lpos", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: "list", Summary: "Returns the index of matching elements in a list.", Since: "6.0.6",
			Complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
			Handler:    lpos},
		{Name: "lmove", Arity: 5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, ACL: ws,
			Group: "list", Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Since: "6.2.0",
			Complexity: "O(1)", Handler: lmove},
		{Name: "rpoplpush", Arity: 3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, ACL: ws,
			Group: "list", Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Since: "1.2.0",
			Complexity: "O(1)", Handler: rpoplpush},
		{Name: "lmpop", Arity: -4, Flags: Write, Keys: numKeysAt(1), ACL: ws,
			Group: "list", Summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", Since: "7.0.0",
			Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
			Handler:    func(c *Ctx) error { return lmpop(c, false) }},
		{Name: "blpop", Arity: -3, Flags: Write | NoScript | Blocking, FirstKey: 1, LastKey: -2, Step: 1, ACL: wb,
			Group: "list", Summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0",
			Complexity: "O(N) where N is the number of provided keys.",
			Handler:    func(c *Ctx) error { return bpop(c, true) }},
		{Name: "brpop", Arity: -3, Flags: Write | NoScript | Blocking, FirstKey: 1, LastKey: -2, Step: 1, ACL: wb,
			Group: "list", Summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0",
			Complexity: "O(N) where N is the number of provided keys.",
			Handler:    func(c *Ctx) error { return bpop(c, false) }},
		{Name: "blmove", Arity: 6, Flags: Write | DenyOOM | NoScript | Blocking, FirstKey: 1, LastKey: 2, Step: 1, ACL: wb,
			Group: "list", Summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", Since: "6.2.0",
			Complexity: "O(1)", Handler: blmove},
		{Name: "brpoplpush", Arity: 4, Flags: Write | DenyOOM | NoScript | Blocking, FirstKey: 1, LastKey: 2, Step: 1, ACL: wb,
			Group: "list", Summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.2.0",
			Complexity: "O(1)", Handler: brpoplpush},
		{Name: "blmpop", Arity: -5, Flags: Write | Blocking, Keys: numKeysAt(2), ACL: wb,
			Group: "list", Summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "7.0.0",
			Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
			Handler:    func(c *Ctx) error { return lmpop(c, true) }},
	}
}

// numKeysAt returns the key finder of commands whose key count is the
// argument at idx and whose keys follow it (LMPOP, BLMPOP, ZMPOP...).
func numKeysAt(idx int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if idx >= len(args) {
			return nil
		}
		n, err := ParseInt(args[idx])
		if err != nil || n <= 0 {
			return nil
		}
		var out []int
		for i := idx + 1; i < len(args) && int64(i-idx) <= n; i++ {
			out = append(out, i)
		}
		return out
	}
}

// ParseBlockTimeout parses a blocking command's timeout as Redis 7 does:
// seconds with decimals, rounded up to whole milliseconds, 0 meaning
// forever; a value too large for a millisecond count is refused as
// negative, as Redis's overflowing conversion does.
func ParseBlockTimeout(b []byte) (time.Duration, error) {
	if f, _, ok := strtod(b); ok && math.IsInf(f, 1) {
		return 0, ErrNegTimeout
	}
	f, err := ParseTimeout(b)
	if err != nil {
		return 0, err
	}
	ms := math.Ceil(f * 1000)
	if ms >= math.MaxInt64 {
		return 0, ErrNegTimeout
	}
	if ms > float64(math.MaxInt64/int64(time.Millisecond)) {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// writeList locks name and looks it up, refusing a live key of another type.
func writeList(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.WriteKey(name)
	if err != nil {
		return nil, err
	}
	return k, CheckType(k, encoding.TypeList)
}

// parseEnd parses LEFT or RIGHT; left reports LEFT.
func parseEnd(b []byte) (left bool, err error) {
	switch {
	case Is(b, "left"):
		return true, nil
	case Is(b, "right"):
		return false, nil
	}
	return false, ErrSyntax
}

func push(c *Ctx, left, onlyExisting bool) error {
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	if onlyExisting && !k.Live {
		c.Out.Int(0)
		return nil
	}
	if _, err := c.Tx.PrepareCollection(k, encoding.TypeList); err != nil {
		return err
	}
	n, err := c.Tx.ListPush(k, left, c.Args[2:])
	if err != nil {
		return err
	}
	c.Notify(NotifyList, pushEvent(left), c.Args[1])
	c.Out.Int(int64(n))
	return nil
}

func pushEvent(left bool) string {
	if left {
		return "lpush"
	}
	return "rpush"
}

// notifyPopped fires a pop's events: "lpop" or "rpop", then "del" when
// the pop emptied k.
func notifyPopped(c *Ctx, left bool, k *storage.Key) {
	ev := "rpop"
	if left {
		ev = "lpop"
	}
	c.Notify(NotifyList, ev, k.Name)
	notifyEmptied(c, k)
}

// notifyEmptied fires "del" when a removal deleted k, as Redis does after
// a collection's last member goes.
func notifyEmptied(c *Ctx, k *storage.Key) {
	if !k.Live {
		c.Notify(NotifyGeneric, "del", k.Name)
	}
}

func pop(c *Ctx, left bool) error {
	if len(c.Args) > 3 {
		return ErrArity(c.Cmd.Name)
	}
	hasCount := len(c.Args) == 3
	var count int64 = 1
	if hasCount {
		n, err := ParseInt(c.Args[2])
		if err != nil || n < 0 {
			return ErrPositive
		}
		count = n
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		if hasCount {
			c.Out.NullArray()
		} else {
			c.Out.Null()
		}
		return nil
	}
	vals, err := c.Tx.ListPop(k, left, uint64(count))
	if err != nil {
		return err
	}
	notifyPopped(c, left, k)
	if !hasCount {
		c.Out.Bulk(vals[0])
		return nil
	}
	c.Out.BulkArray(vals)
	return nil
}

func llen(c *Ctx) error {
	k, err := c.ReadKey(c.Args[1])
	if err != nil {
		return err
	}
	if err := CheckType(k, encoding.TypeList); err != nil {
		return err
	}
	c.Out.Int(int64(storage.ListLen(k)))
	return nil
}

// NB: list reads lock the key, as writers do, so that the metadata and the
// elements read are of one state of the list.

func lrange(c *Ctx) error {
	start, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	stop, err := ParseInt(c.Args[3])
	if err != nil {
		return err
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	start, stop, ok := rankBounds(start, stop, int64(storage.ListLen(k)))
	if !ok {
		c.Out.Array(0)
		return nil
	}
	mark := c.Out.Len()
	want := int(stop - start + 1)
	c.Out.Array(want)
	got := 0
	err = c.Tx.ListRange(k, uint64(start), uint64(stop), false, func(_ uint64, v []byte) bool {
		c.Out.Bulk(v)
		got++
		return true
	})
	if err == nil && got != want {
		err = encoding.ErrCorrupt
	}
	if err != nil {
		c.Out.Truncate(mark)
		return err
	}
	return nil
}

// listPos turns a Redis index (negative from the tail) into a position;
// ok is false when it is out of range.
func listPos(idx int64, size uint64) (uint64, bool) {
	if idx < 0 {
		idx += int64(size)
	}
	if idx < 0 || uint64(idx) >= size {
		return 0, false
	}
	return uint64(idx), true
}

func lindex(c *Ctx) error {
	idx, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	pos, ok := listPos(idx, storage.ListLen(k))
	if !ok {
		c.Out.Null()
		return nil
	}
	v, ok, err := c.Tx.ListGet(k, pos, nil)
	if err != nil {
		return err
	}
	if !ok {
		return encoding.ErrCorrupt
	}
	c.Out.Bulk(v)
	return nil
}

func lset(c *Ctx) error {
	idx, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		return ErrNoSuchKey
	}
	pos, ok := listPos(idx, storage.ListLen(k))
	if !ok {
		return ErrIndexRange
	}
	if err := c.Tx.ListSet(k, pos, c.Args[3]); err != nil {
		return err
	}
	c.Notify(NotifyList, "lset", c.Args[1])
	c.Out.OK()
	return nil
}

func linsert(c *Ctx) error {
	var after bool
	switch {
	case Is(c.Args[2], "after"):
		after = true
	case Is(c.Args[2], "before"):
	default:
		return ErrSyntax
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Int(0)
		return nil
	}
	pivot := c.Args[3]
	found, at := false, uint64(0)
	err = c.Tx.ListRange(k, 0, storage.ListLen(k)-1, false, func(pos uint64, v []byte) bool {
		if bytes.Equal(v, pivot) {
			found, at = true, pos
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if !found {
		c.Out.Int(-1)
		return nil
	}
	if after {
		at++
	}
	n, err := c.Tx.ListInsert(k, at, c.Args[4])
	if err != nil {
		return err
	}
	c.Notify(NotifyList, "linsert", c.Args[1])
	c.Out.Int(int64(n))
	return nil
}

func lrem(c *Ctx) error {
	count, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	size := storage.ListLen(k)
	if size == 0 {
		c.Out.Int(0)
		return nil
	}
	elem := c.Args[3]
	reverse := count < 0
	limit := uint64(0) // 0: every match
	if count > 0 {
		limit = uint64(count)
	} else if count < 0 {
		limit = uint64(-(count + 1)) + 1
	}
	var positions []uint64
	err = c.Tx.ListRange(k, 0, size-1, reverse, func(pos uint64, v []byte) bool {
		if bytes.Equal(v, elem) {
			positions = append(positions, pos)
		}
		return limit == 0 || uint64(len(positions)) < limit
	})
	if err != nil {
		return err
	}
	if reverse {
		for i, j := 0, len(positions)-1; i < j; i, j = i+1, j-1 {
			positions[i], positions[j] = positions[j], positions[i]
		}
	}
	if err := c.Tx.ListRemove(k, positions); err != nil {
		return err
	}
	if len(positions) > 0 {
		c.Notify(NotifyList, "lrem", c.Args[1])
		notifyEmptied(c, k)
	}
	c.Out.Int(int64(len(positions)))
	return nil
}

func ltrim(c *Ctx) error {
	start, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	stop, err := ParseInt(c.Args[3])
	if err != nil {
		return err
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.OK()
		return nil
	}
	n := int64(storage.ListLen(k))
	if start, stop, ok := rankBounds(start, stop, n); ok {
		err = c.Tx.ListTrim(k, uint64(start), uint64(stop))
		c.Changed(n - (stop - start + 1))
	} else {
		err = c.Tx.ListTrim(k, 1, 0) // empties the list
		c.Changed(n)
	}
	if err != nil {
		return err
	}
	c.Notify(NotifyList, "ltrim", c.Args[1])
	notifyEmptied(c, k)
	c.Out.OK()
	return nil
}

func lpos(c *Ctx) error {
	var rank, count, maxlen int64 = 1, -1, 0
	cur := NewCursor(c.Args, 3)
	for cur.More() {
		opt, _ := cur.Next()
		if !cur.More() {
			return ErrSyntax
		}
		switch {
		case Is(opt, "rank"):
			n, err := cur.Int()
			if err != nil {
				return err
			}
			if n == 0 {
				return Errf("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
			}
			rank = n
		case Is(opt, "count"):
			n, err := cur.Int()
			if err != nil {
				return err
			}
			if n < 0 {
				return Errf("COUNT can't be negative")
			}
			count = n
		case Is(opt, "maxlen"):
			n, err := cur.Int()
			if err != nil {
				return err
			}
			if n < 0 {
				return Errf("MAXLEN can't be negative")
			}
			maxlen = n
		default:
			return ErrSyntax
		}
	}
	k, err := writeList(c, c.Args[1])
	if err != nil {
		return err
	}
	size := storage.ListLen(k)
	if size == 0 {
		if count != -1 {
			c.Out.Array(0)
		} else {
			c.Out.Null()
		}
		return nil
	}
	reverse := rank < 0
	var skip uint64 // matches to pass over before collecting
	if reverse {
		// Redis 7.0 negates the rank in place: math.MinInt64 stays
		// negative and then matches the first element found.
		if rank != math.MinInt64 {
			skip = uint64(-(rank + 1))
		}
	} else {
		skip = uint64(rank - 1)
	}
	want := uint64(1)
	if count > 0 {
		want = uint64(count)
	} else if count == 0 {
		want = math.MaxUint64
	}
	var matches []int64
	var seen uint64
	elem := c.Args[2]
	err = c.Tx.ListRange(k, 0, size-1, reverse, func(pos uint64, v []byte) bool {
		if maxlen != 0 && seen >= uint64(maxlen) {
			return false
		}
		seen++
		if bytes.Equal(v, elem) {
			if skip > 0 {
				skip--
			} else {
				matches = append(matches, int64(pos))
			}
		}
		return uint64(len(matches)) < want
	})
	if err != nil {
		return err
	}
	if count == -1 {
		if len(matches) == 0 {
			c.Out.Null()
		} else {
			c.Out.Int(matches[0])
		}
		return nil
	}
	c.Out.MarkDeferred() // NB: Redis counts the matches as it goes
	c.Out.Array(len(matches))
	for _, m := range matches {
		c.Out.Int(m)
	}
	return nil
}

// move pops one element of src from one end and pushes it onto dst at
// one end, as LMOVE does; ok is false when src is empty.
func listMove(c *Ctx, src, dst []byte, fromLeft, toLeft bool) (v []byte, ok bool, err error) {
	c.Tx.Lock(c.DB(), src, dst)
	sk, err := writeList(c, src)
	if err != nil || !sk.Live {
		return nil, false, err
	}
	dk := sk
	if !bytes.Equal(src, dst) {
		if dk, err = writeList(c, dst); err != nil {
			return nil, false, err
		}
	}
	vals, err := c.Tx.ListPop(sk, fromLeft, 1)
	if err != nil {
		return nil, false, err
	}
	if _, err := c.Tx.PrepareCollection(dk, encoding.TypeList); err != nil {
		return nil, false, err
	}
	if _, err := c.Tx.ListPush(dk, toLeft, vals); err != nil {
		return nil, false, err
	}
	// NB: in Redis's order: the push, then the pop.
	c.Notify(NotifyList, pushEvent(toLeft), dst)
	notifyPopped(c, fromLeft, sk)
	return vals[0], true, nil
}

func lmove(c *Ctx) error {
	fromLeft, err := parseEnd(c.Args[3])
	if err != nil {
		return err
	}
	toLeft, err := parseEnd(c.Args[4])
	if err != nil {
		return err
	}
	return moveReply(c, fromLeft, toLeft)
}

func rpoplpush(c *Ctx) error { return moveReply(c, false, true) }

func moveReply(c *Ctx, fromLeft, toLeft bool) error {
	v, ok, err := listMove(c, c.Args[1], c.Args[2], fromLeft, toLeft)
	if err != nil {
		return err
	}
	if !ok {
		c.Out.Null()
		return nil
	}
	c.Out.Bulk(v)
	return nil
}

// block runs a blocking command: try once, and when it has nothing to
// serve wait for a write to keys (never inside MULTI, which gets
// inMulti's reply at once). timedOut writes the reply after the timeout.
// try's woken is false on the first try and true on the tries after a
// wake: as in Redis 7.0, a source key that became another type while the
// client waited is passed over instead of failing the command.
func block(c *Ctx, keys [][]byte, timeout time.Duration, try func(woken bool) (bool, error), inMulti, timedOut func()) error {
	served, err := try(false)
	if err != nil || served {
		return err
	}
	if c.InMulti {
		inMulti()
		return nil
	}
	served, err = c.Server.Block(c, keys, timeout, func() (bool, error) { return try(true) })
	if err != nil || served {
		return err
	}
	timedOut()
	return nil
}

func bpop(c *Ctx, left bool) error {
	timeout, err := ParseBlockTimeout(c.Args[len(c.Args)-1])
	if err != nil {
		return err
	}
	keys := c.Args[1 : len(c.Args)-1]
	try := func(woken bool) (bool, error) {
		c.Tx.Lock(c.DB(), keys...)
		for _, name := range keys {
			k, err := writeList(c, name)
			if woken && err == ErrWrongType {
				continue
			}
			if err != nil {
				return false, err
			}
			if !k.Live {
				continue
			}
			vals, err := c.Tx.ListPop(k, left, 1)
			if err != nil {
				return false, err
			}
			notifyPopped(c, left, k)
			c.propagatePop(popName(true, left), name, 0)
			c.Out.Array(2)
			c.Out.Bulk(name)
			c.Out.Bulk(vals[0])
			return true, nil
		}
		return false, nil
	}
	return block(c, keys, timeout, try, c.Out.NullArray, c.Out.NullArray)
}

func blmove(c *Ctx) error {
	fromLeft, err := parseEnd(c.Args[3])
	if err != nil {
		return err
	}
	toLeft, err := parseEnd(c.Args[4])
	if err != nil {
		return err
	}
	return blockingMove(c, fromLeft, toLeft, c.Args[5])
}

func brpoplpush(c *Ctx) error { return blockingMove(c, false, true, c.Args[3]) }

func blockingMove(c *Ctx, fromLeft, toLeft bool, timeoutArg []byte) error {
	timeout, err := ParseBlockTimeout(timeoutArg)
	if err != nil {
		return err
	}
	try := func(woken bool) (bool, error) {
		if woken {
			// A source that is no longer a list is waited on, not refused.
			k, err := c.WriteKey(c.Args[1])
			if err != nil || (k.Live && k.Meta.Type != encoding.TypeList) {
				return false, err
			}
		}
		v, ok, err := listMove(c, c.Args[1], c.Args[2], fromLeft, toLeft)
		if ok {
			c.Out.Bulk(v)
			if c.Feeding() {
				// As Redis: the arguments given, or a served wait's ends
				// in its own words.
				from, to := endName(fromLeft), endName(toLeft)
				if c.Cmd.Name == "blmove" && !woken {
					from, to = c.Args[3], c.Args[4]
				}
				if c.Cmd.Name == "brpoplpush" {
					c.Propagate([]byte("RPOPLPUSH"), c.Args[1], c.Args[2])
				} else {
					c.Propagate([]byte("LMOVE"), c.Args[1], c.Args[2], from, to)
				}
			}
		}
		return ok, err
	}
	// Redis answers a null bulk inside MULTI but a null array after a
	// timeout.
	return block(c, c.Args[1:2], timeout, try, c.Out.Null, c.Out.NullArray)
}

// lmpop runs LMPOP and, when blocking, BLMPOP (whose arguments start
// after the timeout).
func lmpop(c *Ctx, blocking bool) error {
	at := 1
	var timeout time.Duration
	if blocking {
		var err error
		if timeout, err = ParseBlockTimeout(c.Args[1]); err != nil {
			return err
		}
		at = 2
	}
	n, err := ParseInt(c.Args[at])
	if err != nil || n <= 0 {
		return Errf("numkeys should be greater than 0")
	}
	if n > int64(len(c.Args)-at-2) {
		return ErrSyntax
	}
	keys := c.Args[at+1 : at+1+int(n)]
	left, err := parseEnd(c.Args[at+1+int(n)])
	if err != nil {
		return err
	}
	count := int64(-1)
	cur := NewCursor(c.Args, at+2+int(n))
	for cur.More() {
		opt, _ := cur.Next()
		if count != -1 || !Is(opt, "count") || !cur.More() {
			return ErrSyntax
		}
		if count, err = cur.Int(); err != nil || count <= 0 {
			return Errf("count should be greater than 0")
		}
	}
	if count == -1 {
		count = 1
	}
	try := func(woken bool) (bool, error) {
		c.Tx.Lock(c.DB(), keys...)
		for _, name := range keys {
			k, err := writeList(c, name)
			if woken && err == ErrWrongType {
				continue
			}
			if err != nil {
				return false, err
			}
			if !k.Live {
				continue
			}
			vals, err := c.Tx.ListPop(k, left, uint64(count))
			if err != nil {
				return false, err
			}
			notifyPopped(c, left, k)
			c.propagatePop(popName(true, left), name, len(vals))
			c.Out.Array(2)
			c.Out.Bulk(name)
			c.Out.BulkArray(vals)
			return true, nil
		}
		return false, nil
	}
	if !blocking {
		served, err := try(false)
		if err == nil && !served {
			c.Out.NullArray()
		}
		return err
	}
	return block(c, keys, timeout, try, c.Out.NullArray, c.Out.NullArray)
}
