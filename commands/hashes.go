package commands

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// hashCommands returns the hashes command group.
func hashCommands() []*Command {
	const grp = "hash"
	wf := []string{"write", "hash", "fast"}
	rf := []string{"read", "hash", "fast"}
	rs := []string{"read", "hash", "slow"}
	return []*Command{
		{Name: "hset", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Creates or modifies the value of a field in a hash.", Since: "2.0.0", Complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", Handler: hset},
		{Name: "hsetnx", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Sets the value of a field in a hash only when the field doesn't exist.", Since: "2.0.0", Complexity: "O(1)", Handler: hsetnx},
		{Name: "hmset", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Sets the values of multiple fields.", Since: "2.0.0", Complexity: "O(N) where N is the number of fields being set.", Handler: hset},
		{Name: "hget", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Returns the value of a field in a hash.", Since: "2.0.0", Complexity: "O(1)", Handler: hget},
		{Name: "hmget", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Returns the values of all fields in a hash.", Since: "2.0.0", Complexity: "O(N) where N is the number of fields being requested.", Handler: hmget},
		{Name: "hdel", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", Since: "2.0.0", Complexity: "O(N) where N is the number of fields to be removed.", Handler: removeMembers(encoding.TypeHash, NotifyHash, "hdel", func(c *Ctx, k *storage.Key, f []byte) (bool, error) { return c.Tx.HashDelete(k, f) })},
		{Name: "hlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Returns the number of fields in a hash.", Since: "2.0.0", Complexity: "O(1)", Handler: cardinality(encoding.TypeHash)},
		{Name: "hstrlen", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Returns the length of the value of a field.", Since: "3.2.0", Complexity: "O(1)", Handler: hstrlen},
		{Name: "hexists", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf,
			Group: grp, Summary: "Determines whether a field exists in a hash.", Since: "2.0.0", Complexity: "O(1)", Handler: hexists},
		{Name: "hkeys", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns all fields in a hash.", Since: "2.0.0", Complexity: "O(N) where N is the size of the hash.", Handler: hkeys},
		{Name: "hvals", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns all values in a hash.", Since: "2.0.0", Complexity: "O(N) where N is the size of the hash.", Handler: hvals},
		{Name: "hgetall", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns all fields and values in a hash.", Since: "2.0.0", Complexity: "O(N) where N is the size of the hash.", Handler: hgetall},
		{Name: "hincrby", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", Since: "2.0.0", Complexity: "O(1)", Handler: hincrby},
		{Name: "hincrbyfloat", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", Since: "2.6.0", Complexity: "O(1)", Handler: hincrbyfloat},
		{Name: "hrandfield", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns one or more random fields from a hash.", Since: "6.2.0", Complexity: "O(N) where N is the number of fields returned", Handler: hrandfield},
		{Name: "hscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Iterates over fields and values of a hash.", Since: "2.8.0", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Handler: hscan},
	}
}

// readHash looks up a hash for reading: k.Live is false when absent.
func readHash(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.ReadKey(name)
	if err != nil {
		return nil, err
	}
	return k, CheckType(k, encoding.TypeHash)
}

// writeHash locks and looks up a hash, creating it (in memory until
// SetSize) when absent.
func writeHash(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.WriteKey(name)
	if err != nil {
		return nil, err
	}
	if _, err := c.Tx.PrepareCollection(k, encoding.TypeHash); err != nil {
		return nil, err
	}
	return k, nil
}

// hset serves HSET (reply: fields added) and HMSET (reply: OK).
func hset(c *Ctx) error {
	if len(c.Args)%2 != 0 {
		return ErrArity(c.Cmd.Name)
	}
	c.reserve(len(c.Args)/2-1, memberKeyExtra+len(c.Args[1]), c.Args[2:])
	k, err := writeHash(c, c.Args[1])
	if err != nil {
		return err
	}
	var added int64
	for i := 2; i < len(c.Args); i += 2 {
		ok, err := c.Tx.HashSet(k, c.Args[i], c.Args[i+1])
		if err != nil {
			return err
		}
		if ok {
			added++
		}
	}
	c.Tx.SetSize(k, k.Meta.Size)
	c.Notify(NotifyHash, "hset", c.Args[1])
	if c.Cmd.Name == "hmset" {
		c.Out.OK()
	} else {
		c.Out.Int(added)
	}
	return nil
}

func hsetnx(c *Ctx) error {
	k, err := writeHash(c, c.Args[1])
	if err != nil {
		return err
	}
	if k.Live {
		_, ok, err := c.Tx.HashGet(k, c.Args[2], nil)
		if err != nil {
			return err
		}
		if ok {
			c.Out.Int(0)
			return nil
		}
	}
	if _, err := c.Tx.HashSet(k, c.Args[2], c.Args[3]); err != nil {
		return err
	}
	c.Tx.SetSize(k, k.Meta.Size)
	c.Notify(NotifyHash, "hset", c.Args[1])
	c.Out.Int(1)
	return nil
}

// hashField reads one field of a hash for reading; ok is false when the
// key or the field is absent.
func hashField(c *Ctx, name, field []byte) (val []byte, ok bool, err error) {
	k, err := readHash(c, name)
	if err != nil || !k.Live {
		return nil, false, err
	}
	return c.Tx.HashGet(k, field, nil)
}

func hget(c *Ctx) error {
	v, ok, err := hashField(c, c.Args[1], c.Args[2])
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

func hmget(c *Ctx) error {
	k, err := readHash(c, c.Args[1])
	if err != nil {
		return err
	}
	vals := make([][]byte, len(c.Args)-2)
	found := make([]bool, len(vals))
	if k.Live {
		for i, f := range c.Args[2:] {
			if vals[i], found[i], err = c.Tx.HashGet(k, f, nil); err != nil {
				return err
			}
		}
	}
	c.Out.Array(len(vals))
	for i, v := range vals {
		if found[i] {
			c.Out.Bulk(v)
		} else {
			c.Out.Null()
		}
	}
	return nil
}

func hstrlen(c *Ctx) error {
	v, _, err := hashField(c, c.Args[1], c.Args[2])
	if err != nil {
		return err
	}
	c.Out.Int(int64(len(v)))
	return nil
}

func hexists(c *Ctx) error {
	_, ok, err := hashField(c, c.Args[1], c.Args[2])
	if err != nil {
		return err
	}
	if ok {
		c.Out.Int(1)
	} else {
		c.Out.Int(0)
	}
	return nil
}

// hashEntries reads every field and value of a hash (nil when absent),
// in the order Redis answers them (Tx.HashEntries).
func hashEntries(c *Ctx, name []byte) (fields, vals [][]byte, err error) {
	k, err := readHash(c, name)
	if err != nil || !k.Live {
		return nil, nil, err
	}
	return c.Tx.HashEntries(k)
}

func hkeys(c *Ctx) error {
	fields, _, err := hashEntries(c, c.Args[1])
	if err != nil {
		return err
	}
	c.Out.BulkArray(fields)
	return nil
}

func hvals(c *Ctx) error {
	_, vals, err := hashEntries(c, c.Args[1])
	if err != nil {
		return err
	}
	c.Out.BulkArray(vals)
	return nil
}

func hgetall(c *Ctx) error {
	fields, vals, err := hashEntries(c, c.Args[1])
	if err != nil {
		return err
	}
	c.Out.Map(len(fields))
	for i := range fields {
		c.Out.Bulk(fields[i])
		c.Out.Bulk(vals[i])
	}
	return nil
}

var (
	errHashNotInt   = &Error{"ERR", "hash value is not an integer"}
	errHashNotFloat = &Error{"ERR", "hash value is not a float"}
	errNaNOrInf     = &Error{"ERR", "value is NaN or Infinity"}
)

func hincrby(c *Ctx) error {
	incr, err := ParseInt(c.Args[3])
	if err != nil {
		return err
	}
	k, err := writeHash(c, c.Args[1])
	if err != nil {
		return err
	}
	var cur int64
	if k.Live {
		v, ok, err := c.Tx.HashGet(k, c.Args[2], nil)
		if err != nil {
			return err
		}
		if ok {
			n, ok := parseInt(v)
			if !ok {
				return errHashNotInt
			}
			cur = n
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		return ErrOverflow
	}
	cur += incr
	if _, err := c.Tx.HashSet(k, c.Args[2], strconv.AppendInt(nil, cur, 10)); err != nil {
		return err
	}
	c.Tx.SetSize(k, k.Meta.Size)
	c.Notify(NotifyHash, "hincrby", c.Args[1])
	c.Out.Int(cur)
	return nil
}

// hincrbyfloat computes in long double, as Redis does (and as INCRBYFLOAT
// does): 0.1 plus 0.2 is "0.3", and 1e400 is a value.
func hincrbyfloat(c *Ctx) error {
	incr, ok := ParseLongDouble(c.Args[3])
	if !ok {
		return ErrNotFloat
	}
	if incr.IsInf() {
		return errNaNOrInf
	}
	k, err := writeHash(c, c.Args[1])
	if err != nil {
		return err
	}
	cur := new(big.Float).SetPrec(longDoublePrec)
	if k.Live {
		v, found, err := c.Tx.HashGet(k, c.Args[2], nil)
		if err != nil {
			return err
		}
		if found {
			if cur, ok = ParseLongDouble(v); !ok {
				return errHashNotFloat
			}
		}
	}
	sum, ok := AddLongDouble(cur, incr)
	if !ok {
		return ErrNaN
	}
	s := FormatLongDouble(sum)
	if _, err := c.Tx.HashSet(k, c.Args[2], s); err != nil {
		return err
	}
	c.Tx.SetSize(k, k.Meta.Size)
	c.NotifyAs(NotifyHash, "hincrbyfloat", "hset", c.Args[1])
	c.Out.Bulk(s)
	return nil
}

var errValueRange = &Error{"ERR", "value is out of range"}

// errCountRange is Redis's error for a count of LLONG_MIN (HRANDFIELD,
// SRANDMEMBER).
var errCountRange = &Error{"ERR", "value is out of range, value must between -9223372036854775807 and 9223372036854775807"}

func hrandfield(c *Ctx) error {
	if len(c.Args) == 2 {
		k, err := readHash(c, c.Args[1])
		if err != nil {
			return err
		}
		if !k.Live {
			c.Out.Null()
			return nil
		}
		idx := []uint64{rand.Uint64N(k.Meta.Size)}
		var field []byte
		err = sampleMembers(k, idx, func(f, _ []byte) bool { field = bytes.Clone(f); return false },
			func(after []byte, fn func(m, v []byte) bool) error {
				_, err := c.Tx.HashScan(k, after, fn)
				return err
			})
		if err != nil {
			return err
		}
		if field == nil { // the hash shrank under an unlocked read
			c.Out.Null()
			return nil
		}
		c.Out.Bulk(field)
		return nil
	}
	if len(c.Args) > 4 || (len(c.Args) == 4 && !Is(c.Args[3], "withvalues")) {
		return ErrSyntax
	}
	count, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	withValues := len(c.Args) == 4
	if count == math.MinInt64 {
		return errCountRange
	}
	if withValues && count < -math.MaxInt64/2 {
		return errValueRange
	}
	k, err := readHash(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live || count == 0 {
		c.Out.Array(0)
		return nil
	}
	if count < 0 && uint64(-count) > k.Meta.Size {
		fields, vals, err := c.Tx.HashEntries(k)
		if err != nil {
			return err
		}
		randomRepeat(c, -count, fields, vals, withValues)
		return nil
	}
	var fields, vals [][]byte
	if count > 0 && uint64(count) >= k.Meta.Size {
		// NB: the whole hash comes as HGETALL answers it, as in Redis.
		fields, vals, err = c.Tx.HashEntries(k)
	} else {
		err = randomMembers(k, count, func(f, v []byte) {
			fields = append(fields, bytes.Clone(f))
			if withValues {
				vals = append(vals, bytes.Clone(v))
			}
		}, func(after []byte, fn func(m, v []byte) bool) error {
			_, err := c.Tx.HashScan(k, after, fn)
			return err
		})
		rand.Shuffle(len(fields), func(i, j int) {
			fields[i], fields[j] = fields[j], fields[i]
			if withValues {
				vals[i], vals[j] = vals[j], vals[i]
			}
		})
	}
	if err != nil {
		return err
	}
	if !withValues {
		c.Out.BulkArray(fields)
		return nil
	}
	if c.Out.Proto() == 3 {
		c.Out.Array(len(fields))
		for i := range fields {
			c.Out.Array(2)
			c.Out.Bulk(fields[i])
			c.Out.Bulk(vals[i])
		}
		return nil
	}
	c.Out.Array(2 * len(fields))
	for i := range fields {
		c.Out.Bulk(fields[i])
		c.Out.Bulk(vals[i])
	}
	return nil
}

// memberScanner walks a collection's members in order after a member (from
// the first when nil) until fn returns false.
type memberScanner func(after []byte, fn func(member, value []byte) bool) error

// randomMembers picks members of k as HRANDFIELD and SRANDMEMBER count
// does: count > 0 gives min(count, size) distinct members, count < 0 gives
// -count members with repeats. It draws positions first, then visits the
// collection once in order, so memory is that of the result; emit receives
// the members in collection order (callers shuffle).
// randomRepeat answers a negative count of more draws than the collection
// has members (values nil without them): n draws with repetition among
// the members, held in memory, written as they are drawn, so the reply is
// the only thing that grows with n; it stops once the client's output is
// over its limit, which closes it, as Redis stops mid-run.
func randomRepeat(c *Ctx, n int64, members, values [][]byte, withValues bool) {
	pairs := withValues && c.Out.Proto() == 3
	if withValues && !pairs {
		c.Out.Array(int(2 * n))
	} else {
		c.Out.Array(int(n))
	}
	for ; n > 0 && !c.Out.Over(); n-- {
		j := rand.IntN(len(members))
		if pairs {
			c.Out.Array(2)
		}
		c.Out.Bulk(members[j])
		if withValues {
			c.Out.Bulk(values[j])
		}
	}
}

func randomMembers(k *storage.Key, count int64, emit func(m, v []byte), scan memberScanner) error {
	size := k.Meta.Size
	var idx []uint64
	switch {
	case count > 0 && uint64(count) >= size:
		return scan(nil, func(m, v []byte) bool { emit(m, v); return true })
	case count > 0:
		idx = distinctPositions(size, uint64(count))
	default:
		n := uint64(-count)
		idx = make([]uint64, n)
		for i := range idx {
			idx[i] = rand.Uint64N(size)
		}
		slices.Sort(idx)
	}
	return sampleMembers(k, idx, func(m, v []byte) bool { emit(m, v); return true }, scan)
}

// distinctPositions returns n distinct positions of [0, size) in order
// (Floyd's sampling; n < size).
func distinctPositions(size, n uint64) []uint64 {
	chosen := make(map[uint64]struct{}, n)
	for j := size - n; j < size; j++ {
		t := rand.Uint64N(j + 1)
		if _, dup := chosen[t]; dup {
			t = j
		}
		chosen[t] = struct{}{}
	}
	idx := make([]uint64, 0, n)
	for p := range chosen {
		idx = append(idx, p)
	}
	slices.Sort(idx)
	return idx
}

// sampleMembers visits the members at the sorted positions idx (repeats
// allowed) in one ordered pass, stopping early when emit returns false or
// the positions are used up.
func sampleMembers(k *storage.Key, idx []uint64, emit func(m, v []byte) bool, scan memberScanner) error {
	if len(idx) == 0 {
		return nil
	}
	var pos uint64
	return scan(nil, func(m, v []byte) bool {
		for len(idx) > 0 && idx[0] == pos {
			if !emit(m, v) {
				return false
			}
			idx = idx[1:]
		}
		pos++
		return len(idx) > 0
	})
}

// The SCAN family (HSCAN, SSCAN here): Redis cursors are numbers, while
// Shoal resumes a scan after the last member it returned. The server keeps
// a table from cursor numbers to those positions; 0 starts and ends a scan.

// pattern] [COUNT count].
type scanArgs struct {
	cursor  uint64
	pattern []byte // nil: every member
	count   int64
}

var errInvalidCursor = &Error{"ERR", "invalid cursor"}

func parseScanArgs(args [][]byte) (scanArgs, error) {
	a := scanArgs{count: 10}
	cur, err := ParseScanCursor(args[2])
	if err != nil {
		return a, err
	}
	a.cursor = cur
	c := NewCursor(args, 3)
	for c.More() {
		opt, _ := c.Next()
		switch {
		case Is(opt, "match"):
			p, err := c.Next()
			if err != nil {
				return a, err
			}
			a.pattern = p
			if len(p) == 1 && p[0] == '*' {
				a.pattern = nil
			}
		case Is(opt, "count"):
			n, err := c.Int()
			if err != nil {
				return a, err
			}
			if n < 1 {
				return a, ErrSyntax
			}
			a.count = n
		default:
			return a, ErrSyntax
		}
	}
	return a, nil
}

// scanMembers runs one HSCAN/SSCAN step over a collection: it resumes after
// the cursor's position, visits up to a.count members, emits those that
// match, and writes the reply with the next cursor (0 when done). A
// collection Redis holds compact (listpack, intset) is answered whole
// with cursor 0 whatever the cursor and COUNT, as Redis does, walked by
// whole in the compact encoding's order.
func scanMembers(c *Ctx, a scanArgs, k *storage.Key, withValues bool, whole func(fn func(m, v []byte) bool) error, scan func(after []byte, fn func(m, v []byte) bool) (bool, error)) error {
	var out [][]byte
	next := uint64(0)
	compact := false
	if k.Live {
		var err error
		if compact, err = c.Tx.Compact(k); err != nil {
			return err
		}
	}
	if compact {
		a.cursor, a.count = 0, math.MaxInt64
		scan = func(_ []byte, fn func(m, v []byte) bool) (bool, error) { return false, whole(fn) }
	}
	if k.Live {
		var after []byte
		if a.cursor != 0 {
			// An unknown cursor (never issued, or forgotten) restarts the
			// scan: every member present throughout is still returned.
			after, _ = c.Server.Cursors().Load(a.cursor)
		}
		var seen int64
		var last []byte
		more, err := scan(after, func(m, v []byte) bool {
			seen++
			if a.pattern == nil || GlobMatch(a.pattern, m) {
				out = append(out, bytes.Clone(m))
				if withValues {
					out = append(out, bytes.Clone(v))
				}
			}
			if seen >= a.count {
				last = bytes.Clone(m)
				return false
			}
			return true
		})
		if err != nil {
			return err
		}
		if more {
			next = c.Server.Cursors().Save(last)
		}
	}
	c.Out.Array(2)
	c.Out.Bulk(strconv.AppendUint(nil, next, 10))
	c.Out.BulkArray(out)
	return nil
}

func hscan(c *Ctx) error {
	a, err := parseScanArgs(c.Args)
	if err != nil {
		return err
	}
	k, err := readHash(c, c.Args[1])
	if err != nil {
		return err
	}
	return scanMembers(c, a, k, true, func(fn func(m, v []byte) bool) error { return c.Tx.HashWalk(k, fn) }, func(after []byte, fn func(m, v []byte) bool) (bool, error) {
		return c.Tx.HashScan(k, after, fn)
	})
}
