package commands

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// keyCommands are Redis's generic key commands (DEL, EXPIRE, RENAME, SCAN,
// OBJECT, ...) and the database-wide ones Redis files under "server"
// (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB).
func keyCommands() []*Command {
	// key1 is the key position of commands with one key, keysAll of those
	// taking keys to the end.
	type pos struct{ first, last, step int }
	key1, keys2, keysAll := pos{1, 1, 1}, pos{1, 2, 1}, pos{1, -1, 1}
	none := pos{}
	cmd := func(name string, arity int, flags Flags, p pos, acl []string, group, summary, since, complexity string, h func(*Ctx) error) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: p.first, LastKey: p.last, Step: p.step,
			ACL: acl, Group: group, Summary: summary, Since: since, Complexity: complexity, Handler: h}
	}
	rf := []string{"keyspace", "read", "fast"}
	wf := []string{"keyspace", "write", "fast"}
	ws := []string{"keyspace", "write", "slow"}
	return append([]*Command{
		cmd("del", -2, Write, keysAll, ws, gen, "Deletes one or more keys.", "1.0.0",
			"O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", del),
		cmd("unlink", -2, Write|Fast, keysAll, wf, gen, "Asynchronously deletes one or more keys.", "4.0.0",
			"O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", del),
		cmd("exists", -2, ReadOnly|Fast, keysAll, rf, gen, "Determines whether one or more keys exist.", "3.0.3",
			"O(N) where N is the number of keys to check.", countLive),
		cmd("touch", -2, ReadOnly|Fast, keysAll, rf, gen, "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "3.2.1",
			"O(N) where N is the number of keys that will be touched.", countLive),
		cmd("type", 2, ReadOnly|Fast, key1, rf, gen, "Determines the type of value stored at a key.", "1.0.0", "O(1)", typeCmd),
		cmd("expire", -3, Write|Fast, key1, wf, gen, "Sets the expiration time of a key in seconds.", "1.0.0", "O(1)", expireGeneric(1000, false)),
		cmd("pexpire", -3, Write|Fast, key1, wf, gen, "Sets the expiration time of a key in milliseconds.", "2.6.0", "O(1)", expireGeneric(1, false)),
		cmd("expireat", -3, Write|Fast, key1, wf, gen, "Sets the expiration time of a key to a Unix timestamp.", "1.2.0", "O(1)", expireGeneric(1000, true)),
		cmd("pexpireat", -3, Write|Fast, key1, wf, gen, "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0", "O(1)", expireGeneric(1, true)),
		cmd("expiretime", 2, ReadOnly|Fast, key1, rf, gen, "Returns the expiration time of a key as a Unix timestamp.", "7.0.0", "O(1)", ttlGeneric(false, true)),
		cmd("pexpiretime", 2, ReadOnly|Fast, key1, rf, gen, "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0", "O(1)", ttlGeneric(true, true)),
		cmd("ttl", 2, ReadOnly|Fast, key1, rf, gen, "Returns the expiration time in seconds of a key.", "1.0.0", "O(1)", ttlGeneric(false, false)),
		cmd("pttl", 2, ReadOnly|Fast, key1, rf, gen, "Returns the expiration time in milliseconds of a key.", "2.6.0", "O(1)", ttlGeneric(true, false)),
		cmd("persist", 2, Write|Fast, key1, wf, gen, "Removes the expiration time of a key.", "2.2.0", "O(1)", persist),
		cmd("rename", 3, Write, keys2, ws, gen, "Renames a key and overwrites the destination.", "1.0.0", "O(1)", renameGeneric(false)),
		cmd("renamenx", 3, Write|Fast, keys2, wf, gen, "Renames a key only when the target key name doesn't exist.", "1.0.0", "O(1)", renameGeneric(true)),
		cmd("copy", -3, Write|DenyOOM, keys2, ws, gen, "Copies the value of a key to a new key.", "6.2.0",
			"O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", copyCmd),
		cmd("move", 3, Write|Fast, key1, wf, gen, "Moves a key to another database.", "1.0.0", "O(1)", move),
		cmd("keys", 2, ReadOnly, none, []string{"keyspace", "read", "slow", "dangerous"}, gen, "Returns all key names that match a pattern.", "1.0.0",
			"O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", keysCmd),
		cmd("scan", -2, ReadOnly, none, []string{"keyspace", "read", "slow"}, gen, "Iterates over the key names in the database.", "2.8.0",
			"O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", scan),
		cmd("randomkey", 1, ReadOnly, none, []string{"keyspace", "read", "slow"}, gen, "Returns a random key name from the database.", "1.0.0", "O(1)", randomKey),
		cmd("dbsize", 1, ReadOnly|Fast, none, rf, "server", "Returns the number of keys in the database.", "1.0.0", "O(1)", dbsize),
		cmd("flushdb", -1, Write, none, []string{"keyspace", "write", "slow", "dangerous"}, "server", "Remove all keys from the current database.", "1.0.0",
			"O(N) where N is the number of keys in the selected database", flushGeneric(false)),
		cmd("flushall", -1, Write, none, []string{"keyspace", "write", "slow", "dangerous"}, "server", "Removes all keys from all databases.", "1.0.0",
			"O(N) where N is the total number of keys in all databases", flushGeneric(true)),
		cmd("swapdb", 3, Write|Fast, none, []string{"keyspace", "write", "fast", "dangerous"}, "server", "Swaps two Redis databases.", "4.0.0",
			"O(N) where N is the count of clients watching or blocking on keys from both databases.", swapdb),
		objectCommand(),
	}, append(dumpCommands(), migrateCommands()...)...)
}

// del is DEL and UNLINK: members go with one range tombstone per key, so
// both are as cheap as Redis's lazy free.
func del(c *Ctx) error {
	keys := c.Args[1:]
	c.reserve(len(keys), metaKeyExtra, keys)
	c.Tx.Lock(c.DB(), keys...)
	if len(keys) > readManyMin {
		c.Tx.ReadMany(0)
		defer c.Tx.EndReadMany()
	}
	var n int64
	var k storage.Key
	for _, name := range keys {
		if err := c.Tx.LookupToDelete(&k, c.DB(), name); err != nil {
			return err
		}
		live := k.Live
		c.Tx.Delete(&k) // an expired key goes too, uncounted
		if live {
			n++
			c.Notify(NotifyGeneric, "del", name)
		}
	}
	c.Out.Int(n)
	return nil
}

// countLive is EXISTS and TOUCH: the number of named keys that exist, a
// key named twice counting twice.
func countLive(c *Ctx) error {
	var n int64
	var k storage.Key
	for _, name := range c.Args[1:] {
		if err := c.Tx.LookupHeader(&k, c.DB(), name); err != nil {
			return err
		}
		c.countRead(k.Live, name)
		if k.Live {
			n++
		}
	}
	c.Out.Int(n)
	return nil
}

func typeCmd(c *Ctx) error {
	k, err := c.ReadMeta(c.Args[1])
	if err != nil {
		return err
	}
	c.Out.Simple(k.Type().String())
	return nil
}

// expireGeneric is EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: unitMs is the
// unit of the argument, abs says it is a Unix time rather than a TTL. A
// deadline already past deletes the key, as Redis 7 does.
func expireGeneric(unitMs int64, abs bool) func(*Ctx) error {
	return func(c *Ctx) error {
		var nx, xx, gt, lt bool
		for _, opt := range c.Args[3:] {
			switch {
			case Is(opt, "nx"):
				nx = true
			case Is(opt, "xx"):
				xx = true
			case Is(opt, "gt"):
				gt = true
			case Is(opt, "lt"):
				lt = true
			default:
				return Errf("Unsupported option %s", opt)
			}
		}
		if nx && (xx || gt || lt) {
			return Errf("NX and XX, GT or LT options at the same time are not compatible")
		}
		if gt && lt {
			return Errf("GT and LT options at the same time are not compatible")
		}
		when, err := ParseInt(c.Args[2])
		if err != nil {
			return err
		}
		bad := Errf("invalid expire time in '%s' command", c.Cmd.Name)
		if unitMs != 1 {
			if when > math.MaxInt64/unitMs || when < math.MinInt64/unitMs {
				return bad
			}
			when *= unitMs
		}
		var base int64
		if !abs {
			base = c.NowMs()
		}
		if when > math.MaxInt64-base {
			return bad
		}
		when += base

		k, err := c.WriteMeta(c.Args[1])
		if err != nil {
			return err
		}
		if !k.Live {
			c.Out.Int(0)
			return nil
		}
		cur := k.Meta.ExpireAt // 0: none, an infinite TTL for GT and LT
		if (nx && cur != 0) || (xx && cur == 0) || (gt && (cur == 0 || when <= cur)) || (lt && cur != 0 && when >= cur) {
			c.Out.Int(0)
			return nil
		}
		if when <= c.NowMs() {
			c.Tx.Delete(k)
			c.Notify(NotifyGeneric, "del", c.Args[1])
		} else {
			c.Tx.SetExpire(k, when)
			c.Notify(NotifyGeneric, "expire", c.Args[1])
		}
		c.Out.Int(1)
		return nil
	}
}

// ttlGeneric is TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing
// key, -1 for one without expiry; seconds are rounded to the nearest.
func ttlGeneric(ms, abs bool) func(*Ctx) error {
	return func(c *Ctx) error {
		k, err := c.ReadMeta(c.Args[1])
		if err != nil {
			return err
		}
		switch {
		case !k.Live:
			c.Out.Int(-2)
		case k.Meta.ExpireAt == 0:
			c.Out.Int(-1)
		default:
			t := k.Meta.ExpireAt
			if !abs {
				t = max(t-c.NowMs(), 0)
			}
			if !ms {
				t = t/1000 + (t%1000+500)/1000 // (t+500)/1000 without overflow
			}
			c.Out.Int(t)
		}
		return nil
	}
}

func persist(c *Ctx) error {
	k, err := c.WriteMeta(c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live || k.Meta.ExpireAt == 0 {
		c.Out.Int(0)
		return nil
	}
	c.Tx.SetExpire(k, 0)
	c.Notify(NotifyGeneric, "persist", c.Args[1])
	c.Out.Int(1)
	return nil
}

// renameGeneric is RENAME and RENAMENX. The value keeps its expiry.
func renameGeneric(nx bool) func(*Ctx) error {
	return func(c *Ctx) error {
		from, to := c.Args[1], c.Args[2]
		c.Tx.Lock(c.DB(), from, to)
		src, err := c.Tx.LookupMeta(c.DB(), from)
		if err != nil {
			return err
		}
		if !src.Live {
			return ErrNoSuchKey
		}
		reply := func(done bool) {
			switch {
			case !nx:
				c.Out.OK()
			case done:
				c.Out.Int(1)
			default:
				c.Out.Int(0)
			}
		}
		if bytes.Equal(from, to) {
			reply(false)
			return nil
		}
		dst, err := c.Tx.LookupMeta(c.DB(), to)
		if err != nil {
			return err
		}
		if nx && dst.Live {
			reply(false)
			return nil
		}
		replaced := dst.Live
		if err := c.Tx.RenameKey(src, dst); err != nil {
			return err
		}
		if replaced {
			// NB: Redis deletes the old value and adds the new one.
			c.Notify(NotifyNew, "new", to)
		}
		c.Notify(NotifyGeneric, "rename_from", from)
		c.Notify(NotifyGeneric, "rename_to", to)
		reply(true)
		return nil
	}
}

// parseDB parses a database index as Redis's getIntFromObjectOrReply and
// selectDb do: notInt when it is not a 32-bit integer, ErrDBIndex when no
// such database exists.
func (c *Ctx) parseDB(arg []byte, notInt error) (int, error) {
	n, ok := parseInt(arg)
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, notInt
	}
	if n < 0 || n >= int64(c.Store.Databases()) {
		return 0, ErrDBIndex
	}
	return int(n), nil
}

func copyCmd(c *Ctx) error {
	db := c.DB()
	replace := false
	cur := NewCursor(c.Args, 3)
	for cur.More() {
		opt, _ := cur.Next()
		switch {
		case Is(opt, "replace"):
			replace = true
		case Is(opt, "db") && cur.More():
			a, _ := cur.Next()
			n, ok := parseInt(a)
			if !ok {
				return ErrNotInteger
			}
			if n < 0 || n >= int64(c.Store.Databases()) {
				return ErrDBIndex
			}
			db = int(n)
		default:
			return ErrSyntax
		}
	}
	from, to := c.Args[1], c.Args[2]
	if db == c.DB() && bytes.Equal(from, to) {
		return ErrSameObject
	}
	c.Tx.LockMulti([]int{c.DB(), db}, [][]byte{from, to})
	src, err := c.Tx.LookupMeta(c.DB(), from)
	if err != nil {
		return err
	}
	c.countRead(src.Live, from)
	if !src.Live {
		c.Out.Int(0)
		return nil
	}
	dst, err := c.Tx.LookupMeta(db, to)
	if err != nil {
		return err
	}
	if dst.Live && !replace {
		c.Out.Int(0)
		return nil
	}
	replaced := dst.Live
	if err := c.Tx.CopyKey(src, dst, src.Meta.ExpireAt); err != nil {
		return err
	}
	if replaced {
		c.NotifyIn(db, NotifyNew, "new", to)
	}
	c.NotifyIn(db, NotifyGeneric, "copy_to", to)
	c.Out.Int(1)
	return nil
}

func move(c *Ctx) error {
	db, err := c.parseDB(c.Args[2], ErrNotInteger)
	if err != nil {
		return err
	}
	if db == c.DB() {
		return ErrSameObject
	}
	name := c.Args[1]
	c.Tx.LockMulti([]int{c.DB(), db}, [][]byte{name, name})
	src, err := c.Tx.LookupMeta(c.DB(), name)
	if err != nil {
		return err
	}
	if !src.Live {
		c.Out.Int(0)
		return nil
	}
	dst, err := c.Tx.LookupMeta(db, name)
	if err != nil {
		return err
	}
	if dst.Live {
		c.Out.Int(0)
		return nil
	}
	if err := c.Tx.RenameKey(src, dst); err != nil {
		return err
	}
	c.Notify(NotifyGeneric, "move_from", name)
	c.NotifyIn(db, NotifyGeneric, "move_to", name)
	c.Out.Int(1)
	return nil
}

func keysCmd(c *Ctx) error {
	pattern := c.Args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	var out [][]byte
	_, _, err := c.Tx.ScanKeys(c.DB(), nil, func(name []byte, _ *encoding.Meta) bool {
		if all || GlobMatch(pattern, name) {
			out = append(out, bytes.Clone(name))
		}
		return true
	})
	if err != nil {
		return err
	}
	c.Out.MarkDeferred()
	c.Out.BulkArray(out)
	return nil
}

// ParseScanCursor parses a SCAN-family cursor: an unsigned 64-bit number.
//
// Redis reads the cursor with strtoul, and so does this: an optional sign
// ("-1" wraps to 2^64-1, which names no cursor), "" is 0, and leading
// spaces, trailing text and values past 64 bits are refused.
func ParseScanCursor(arg []byte) (uint64, error) {
	s := string(arg)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
		if s == "" {
			return 0, errInvalidCursor
		}
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || s[0] == '+' || s[0] == '-' {
		return 0, errInvalidCursor
	}
	if neg {
		n = -n
	}
	return n, nil
}

// ScanOptions are SCAN's MATCH, COUNT and TYPE.
type ScanOptions struct {
	Match []byte // nil: every key
	Count int64  // default 10
	Type  []byte // nil: every type
}

// ParseScanOptions parses the options after a SCAN-family cursor; withType
// allows TYPE (SCAN only).
func ParseScanOptions(args [][]byte, withType bool) (ScanOptions, error) {
	o := ScanOptions{Count: 10}
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return o, ErrSyntax
		}
		opt, val := args[i], args[i+1]
		switch {
		case Is(opt, "count"):
			n, err := ParseInt(val)
			if err != nil {
				return o, err
			}
			if n < 1 {
				return o, ErrSyntax
			}
			o.Count = n
		case Is(opt, "match"):
			o.Match = val
			if len(val) == 1 && val[0] == '*' {
				o.Match = nil
			}
		case Is(opt, "type") && withType:
			o.Type = val
		default:
			return o, ErrSyntax
		}
	}
	return o, nil
}

// scan walks the keys in order from the position its cursor names. As in
// Redis, COUNT keys are fetched and MATCH and TYPE filter them afterwards,
// so a call may return fewer keys (or none) with a cursor that is not 0.
func scan(c *Ctx) error {
	cursor, err := ParseScanCursor(c.Args[1])
	if err != nil {
		return err
	}
	o, err := ParseScanOptions(c.Args[2:], true)
	if err != nil {
		return err
	}
	after, _ := c.Server.Cursors().Load(cursor) // unknown: from the start
	var out, expired [][]byte
	var seen int64
	last, more, err := c.Tx.ScanKeysExpiring(c.DB(), after, func(name []byte, m *encoding.Meta) bool {
		seen++
		if (o.Type == nil || strings.EqualFold(string(o.Type), m.Type.String())) &&
			(o.Match == nil || GlobMatch(o.Match, name)) {
			out = append(out, bytes.Clone(name))
		}
		return seen < o.Count
	}, &expired)
	if err != nil {
		return err
	}
	// As Redis's SCAN, the expired keys it passed are deleted.
	if err := c.Tx.ExpireKeys(c.DB(), expired); err != nil {
		return err
	}
	var next uint64
	if more {
		next = c.Server.Cursors().Save(last)
	}
	c.Out.Array(2)
	c.Out.BulkString(strconv.FormatUint(next, 10))
	c.Out.BulkArray(out)
	return nil
}

// randomKeyScanLimit is the database size up to which RANDOMKEY picks
// uniformly by walking to a random index; above it, it seeks to a random
// point of the key range, which favours keys after sparse stretches.
const randomKeyScanLimit = 1024

func randomKey(c *Ctx) error {
	n, err := c.Tx.KeyCount(c.DB())
	if err != nil {
		return err
	}
	var found []byte
	if n <= randomKeyScanLimit {
		found, err = c.randomKeyByIndex(n)
	} else {
		found, err = c.randomKeyBySeek()
	}
	if err != nil {
		return err
	}
	if found == nil {
		c.Out.Null()
	} else {
		c.Out.Bulk(found)
	}
	return nil
}

// randomKeyByIndex walks to a random one of the first n live keys; when
// expired keys make fewer live, it picks among those there are.
func (c *Ctx) randomKeyByIndex(n int64) ([]byte, error) {
	var keys, expired [][]byte
	_, _, err := c.Tx.ScanKeysExpiring(c.DB(), nil, func(name []byte, _ *encoding.Meta) bool {
		keys = append(keys, bytes.Clone(name))
		return int64(len(keys)) < max(n, 1)
	}, &expired)
	if err == nil {
		// As Redis's RANDOMKEY, the expired keys it met are deleted.
		err = c.Tx.ExpireKeys(c.DB(), expired)
	}
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	return keys[rand.IntN(len(keys))], nil
}

// randomKeyBySeek descends the key order byte by byte: at each level it
// finds the first and last key under the prefix chosen so far and picks a
// byte between theirs at the first position where they differ, retrying a
// few times when no key has that byte there (keys are sparse in the byte
// space), then continues under the longer prefix. Each level costs a few
// seeks, so the cost is bounded by the key length, not the key count. The
// choice is uniform among the branches at each level, not among keys.
func (c *Ctx) randomKeyBySeek() ([]byte, error) {
	const tries = 8
	db := c.DB()
	first, err := c.Tx.SeekKey(db, nil)
	if err != nil || first == nil {
		return first, err
	}
	var prefix []byte
	for depth := 0; depth < 64; depth++ {
		last, err := c.Tx.LastKey(db, prefix)
		if err != nil {
			return nil, err
		}
		if last == nil || bytes.Equal(first, last) {
			return first, nil
		}
		p := len(prefix)
		for p < len(first) && first[p] == last[p] {
			p++
		}
		lo, hi := 0, int(last[p])
		if p < len(first) {
			lo = int(first[p])
		} else {
			// first is the common prefix itself, shorter than every other
			// key under it: the range starts at the key after it, and
			// first gets a byte's share.
			next, err := c.Tx.SeekKey(db, append(bytes.Clone(first), 0))
			if err != nil {
				return nil, err
			}
			lo = int(next[p])
			if rand.IntN(hi-lo+2) == 0 {
				return first, nil
			}
		}
		var k []byte
		for try := 0; try < tries; try++ {
			prefix = append(bytes.Clone(first[:p]), byte(lo+rand.IntN(hi-lo+1)))
			if k, err = c.Tx.SeekKey(db, prefix); err != nil {
				return nil, err
			}
			if bytes.HasPrefix(k, prefix) {
				break
			}
		}
		if !bytes.HasPrefix(k, prefix) {
			return k, nil // the key after the gap
		}
		first = k
	}
	return first, nil
}

func dbsize(c *Ctx) error {
	n, err := c.Tx.KeyCount(c.DB())
	if err != nil {
		return err
	}
	c.Out.Int(n)
	return nil
}

// flushGeneric is FLUSHDB and FLUSHALL. SYNC and ASYNC are accepted and
// mean the same: a flush is a few range tombstones, reclaimed by compaction.
func flushGeneric(all bool) func(*Ctx) error {
	return func(c *Ctx) error {
		if len(c.Args) > 2 || (len(c.Args) == 2 && !Is(c.Args[1], "sync") && !Is(c.Args[1], "async")) {
			return ErrSyntax
		}
		c.Tx.LockAll()
		var removed int64
		if all {
			for db := 0; db < c.Store.Databases(); db++ {
				removed += c.Store.KeyCount(db)
				c.Tx.FlushDB(db)
			}
		} else {
			removed = c.Store.KeyCount(c.DB())
			c.Tx.FlushDB(c.DB())
		}
		c.Changed(removed)
		// As Redis's flushAllDataAndResetRDB: under save points FLUSHALL
		// writes the emptied dataset's RDB file at once, which leaves no
		// change since the last save. NB: inside EXEC or a script the
		// batch may not commit half done, and the save is left to the
		// save points.
		if all && !c.InMulti && !c.InScript && c.Server.Config().Save != "" {
			if err := c.Tx.Commit(); err != nil {
				return err
			}
			if started, err := c.Server.Save(false); err == nil && started {
				c.Changed(0)
			}
		}
		c.Out.OK()
		return nil
	}
}

func swapdb(c *Ctx) error {
	a, err := c.parseDB(c.Args[1], Errf("invalid first DB index"))
	if err != nil {
		return err
	}
	b, err := c.parseDB(c.Args[2], Errf("invalid second DB index"))
	if err != nil {
		return err
	}
	c.Tx.LockAll()
	if a != b {
		c.Tx.SwapDB(a, b)
	}
	c.Out.OK()
	return nil
}

// objectCommand is OBJECT and its subcommands. Shoal keeps no in-memory
// objects: ENCODING reports the encoding Redis 7.0 would have given the
// value (storage records its conversions); FREQ and IDLETIME read the
// key's access clock (storage/access.go), which OBJECT does not move.
func objectCommand() *Command {
	sub := func(name string, arity int, summary, since string, h func(*Ctx) error) *Command {
		return &Command{Name: "object|" + name, Arity: arity, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1,
			ACL: []string{"keyspace", "read", "slow"}, Group: gen, Summary: summary, Since: since, Complexity: "O(1)", Handler: h}
	}
	help := &Command{Name: "object|help", Arity: 2, Flags: Loading | Stale, ACL: []string{"keyspace", "slow"}, Group: gen,
		Summary: "Returns helpful text about the different subcommands.", Since: "6.2.0", Complexity: "O(1)", Handler: objectHelp}
	return &Command{Name: "object", Arity: -2, ACL: []string{"slow"}, Group: gen,
		Summary: "A container for object introspection commands.", Since: "2.2.3", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("encoding", 3, "Returns the internal encoding of a Redis object.", "2.2.3", objectKey(func(c *Ctx, k *storage.Key) error {
				enc, err := ObjectEncoding(c.Tx, k)
				if err != nil {
					return err
				}
				c.Out.BulkString(enc)
				return nil
			})),
			sub("freq", 3, "Returns the logarithmic access frequency counter of a Redis object.", "4.0.0", objectKey(func(c *Ctx, k *storage.Key) error {
				if !strings.Contains(c.Server.Config().MaxMemoryPolicy, "lfu") {
					return Errf("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
				}
				c.Out.Int(c.Tx.AccessFrequency(k))
				return nil
			})),
			sub("idletime", 3, "Returns the time since the last access to a Redis object.", "2.2.3", objectKey(func(c *Ctx, k *storage.Key) error {
				if strings.Contains(c.Server.Config().MaxMemoryPolicy, "lfu") {
					return Errf("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
				}
				c.Out.Int(c.Tx.IdleTime(k))
				return nil
			})),
			sub("refcount", 3, "Returns the reference count of a value of a key.", "2.2.3", objectKey(func(c *Ctx, k *storage.Key) error {
				c.Out.Int(objectRefcount(c, &k.Meta))
				return nil
			})),
			help,
		}}
}

const gen = "generic"

// objectKey runs f on the live key OBJECT names, or replies null.
func objectKey(f func(*Ctx, *storage.Key) error) func(*Ctx) error {
	return func(c *Ctx) error {
		k, err := c.PeekMeta(c.Args[2])
		if err != nil {
			return err
		}
		if !k.Live {
			c.Out.Null()
			return nil
		}
		return f(c, k)
	}
}

// embstrMax is the longest string Redis keeps embedded in its object.
const embstrMax = 44

// ObjectEncoding returns the encoding redis-server 7.0 reports for the
// live key k: for a string by its value; a list is always a quicklist; a
// hash, set or sorted set is compact (listpack, intset) until a write took
// it past hash-max-listpack-*, set-max-intset-entries or
// zset-max-listpack-*, and large (hashtable, skiplist) from then on, as
// storage records.
func ObjectEncoding(tx *storage.Tx, k *storage.Key) (string, error) {
	m := &k.Meta
	switch m.Type {
	case encoding.TypeString:
		if m.Chunked || m.Enc == encoding.EncRaw {
			return "raw", nil
		}
		if _, ok := parseInt(m.Value); ok {
			return "int", nil
		}
		if len(m.Value) <= embstrMax {
			return "embstr", nil
		}
		return "raw", nil
	case encoding.TypeList:
		return "quicklist", nil
	case encoding.TypeStream:
		return "stream", nil
	}
	compact, err := tx.Compact(k)
	if err != nil {
		return "", err
	}
	switch {
	case compact && m.Type == encoding.TypeSet:
		return "intset", nil
	case compact:
		return "listpack", nil
	case m.Type == encoding.TypeZSet:
		return "skiplist", nil
	}
	return "hashtable", nil
}

// sharedRefcount is what Redis reports for its shared small integers.
const sharedRefcount = math.MaxInt32

// objectRefcount mimics Redis: strings holding 0..9999 are shared objects
// unless an LRU or LFU maxmemory policy is in force.
func objectRefcount(c *Ctx, m *encoding.Meta) int64 {
	if m.Type != encoding.TypeString {
		return 1
	}
	n, ok := parseInt(m.Value)
	if !ok || n < 0 || n >= 10000 {
		return 1
	}
	cfg := c.Server.Config()
	if cfg.MaxMemory != 0 && (strings.Contains(cfg.MaxMemoryPolicy, "lru") || strings.Contains(cfg.MaxMemoryPolicy, "lfu")) {
		return 1
	}
	return sharedRefcount
}

var objectHelpLines = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

func objectHelp(c *Ctx) error {
	c.Out.Array(len(objectHelpLines))
	for _, l := range objectHelpLines {
		c.Out.Simple(l)
	}
	return nil
}
