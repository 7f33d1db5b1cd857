package commands

import (
	"math"
	"math/big"
	"strconv"
	"sync"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

func stringCommands() []*Command {
	rf := []string{"read", "string", "fast"}
	rs := []string{"read", "string", "slow"}
	wf := []string{"write", "string", "fast"}
	ws := []string{"write", "string", "slow"}
	const (
		o1       = "O(1)"
		rangeCpx = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings."
	)
	return []*Command{
		{Name: "get", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf, Group: "string",
			Summary: "Returns the string value of a key.", Since: "1.0.0", Complexity: o1, Handler: get},
		{Name: "set", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws, Group: "string",
			Summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Since: "1.0.0", Complexity: o1, Handler: set},
		{Name: "setnx", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Set the string value of a key only when the key doesn't exist.", Since: "1.0.0", Complexity: o1, Handler: setnx},
		{Name: "setex", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws, Group: "string",
			Summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", Since: "2.0.0", Complexity: o1, Handler: setex},
		{Name: "psetex", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws, Group: "string",
			Summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", Since: "2.6.0", Complexity: o1, Handler: setex},
		{Name: "mget", Arity: -2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: -1, Step: 1, ACL: rf, Group: "string",
			Summary: "Atomically returns the string values of one or more keys.", Since: "1.0.0", Complexity: "O(N) where N is the number of keys to retrieve.", Handler: mget},
		{Name: "mset", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 2, ACL: ws, Group: "string",
			Summary: "Atomically creates or modifies the string values of one or more keys.", Since: "1.0.1", Complexity: "O(N) where N is the number of keys to set.", Handler: mset},
		{Name: "msetnx", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 2, ACL: ws, Group: "string",
			Summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", Since: "1.0.1", Complexity: "O(N) where N is the number of keys to set.", Handler: mset},
		{Name: "getset", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Returns the previous string value of a key after setting it to a new value.", Since: "1.0.0", Complexity: o1, Handler: getset},
		{Name: "getdel", Arity: 2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Returns the string value of a key after deleting the key.", Since: "6.2.0", Complexity: o1, Handler: getdel},
		{Name: "getex", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Returns the string value of a key after setting its expiration time.", Since: "6.2.0", Complexity: o1, Handler: getex},
		{Name: "append", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", Since: "2.0.0",
			Complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
			Handler:    appendCmd},
		{Name: "strlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: rf, Group: "string",
			Summary: "Returns the length of a string value.", Since: "2.2.0", Complexity: o1, Handler: strlen},
		{Name: "incr", Arity: 2, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Since: "1.0.0", Complexity: o1, Handler: incrDecr},
		{Name: "decr", Arity: 2, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Since: "1.0.0", Complexity: o1, Handler: incrDecr},
		{Name: "incrby", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Since: "1.0.0", Complexity: o1, Handler: incrDecr},
		{Name: "decrby", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", Since: "1.0.0", Complexity: o1, Handler: incrDecr},
		{Name: "incrbyfloat", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf, Group: "string",
			Summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Since: "2.6.0", Complexity: o1, Handler: incrbyfloat},
		{Name: "getrange", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs, Group: "string",
			Summary: "Returns a substring of the string stored at a key.", Since: "2.4.0", Complexity: rangeCpx, Handler: getrange},
		{Name: "substr", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs, Group: "string",
			Summary: "Returns a substring from a string value.", Since: "1.0.0", Complexity: rangeCpx, Handler: getrange},
		{Name: "setrange", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws, Group: "string",
			Summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", Since: "2.2.0",
			Complexity: "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
			Handler:    setrange},
		{Name: "lcs", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 2, Step: 1, ACL: rs, Group: "string",
			Summary: "Finds the longest common substring.", Since: "7.0.0", Complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively", Handler: lcs},
	}
}

// strKey is a pooled storage.Key with scratch space for formatting numbers,
// so that GET, SET and INCR look keys up without allocating per call.
type strKey struct {
	storage.Key
	num    [24]byte
	noPool bool // the Key's buffer may be large: let it go
	ctx    *Ctx // whose free list it goes back to
}

var strKeys = sync.Pool{New: func() any { return new(strKey) }}

// ctxStrKeys bounds the keys a Ctx keeps for reuse.
const ctxStrKeys = 4

// newStrKey returns a key for a lookup by c: one c released, else one
// from the pool.
func newStrKey(c *Ctx) *strKey {
	if n := len(c.strKeys); n > 0 {
		k := c.strKeys[n-1]
		c.strKeys = c.strKeys[:n-1]
		return k
	}
	k := strKeys.Get().(*strKey)
	k.ctx = c
	return k
}

// maxPooledValue bounds the value buffer a pooled key may keep.
const maxPooledValue = 64 << 10

// lookupKey looks name up without locking it (readers); release the
// result when done with its value.
func lookupKey(c *Ctx, name []byte) (*strKey, error) {
	return lookupCounted(c, name, readWhole)
}

// lookupInline is lookupKey for the commands that read a range of a
// string: a chunked string's value stays in its chunks.
func lookupInline(c *Ctx, name []byte) (*strKey, error) {
	return lookupCounted(c, name, readInline)
}

func lookupCounted(c *Ctx, name []byte, mode strRead) (*strKey, error) {
	k, err := lookupStrKey(c, name, mode)
	if err == nil {
		c.countRead(k.Live, name)
	}
	return k, err
}

// strRead is how much of a string's value a lookup reads.
type strRead uint8

const (
	readHeader strRead = iota // none, perhaps (Tx.LookupHeader)
	readInline                // an inline value; a chunked one stays in its chunks (Tx.LookupInline)
	readWhole                 // the whole value (Tx.LookupInto)
)

// lookupStrKey looks name up into a pooled key, reading as much of a
// string's value as mode says.
func lookupStrKey(c *Ctx, name []byte, mode strRead) (*strKey, error) {
	k := newStrKey(c)
	var err error
	switch mode {
	case readWhole:
		err = c.Tx.LookupInto(&k.Key, c.DB(), name)
	case readInline:
		err = c.Tx.LookupInline(&k.Key, c.DB(), name)
	default:
		err = c.Tx.LookupHeader(&k.Key, c.DB(), name)
	}
	if err != nil {
		k.release()
		return nil, err
	}
	return k, nil
}

// lockKey locks name until the connection's Tx commits, then looks it up.
func lockKey(c *Ctx, name []byte) (*strKey, error) {
	c.Tx.Lock(c.DB(), name)
	return lookupStrKey(c, name, readWhole)
}

// lockRead is lockKey for a write that returns the value it found
// (GETSET, GETDEL, GETEX, SET ... GET): Redis reads it as a read, which
// counts as a keyspace hit or miss.
func lockRead(c *Ctx, name []byte) (*strKey, error) {
	k, err := lockKey(c, name)
	if err == nil {
		c.countRead(k.Live, name)
	}
	return k, err
}

// lockInline is lockKey for the commands that write a range of a string:
// a chunked string's value stays in its chunks.
func lockInline(c *Ctx, name []byte) (*strKey, error) {
	c.Tx.Lock(c.DB(), name)
	return lookupStrKey(c, name, readInline)
}

// lockKeyToReplace is lockKey for a write that replaces or deletes the key
// without reading its value: a string's Meta.Value may be left empty.
func lockKeyToReplace(c *Ctx, name []byte) (*strKey, error) {
	c.Tx.Lock(c.DB(), name)
	return lookupStrKey(c, name, readHeader)
}

func (k *strKey) release() {
	if k.noPool || (k.Exists && k.Meta.Type == encoding.TypeString && cap(k.Meta.Value) > maxPooledValue) {
		return
	}
	k.Name = nil // NB: it aliases the connection's read buffer
	if c := k.ctx; c != nil && len(c.strKeys) < ctxStrKeys {
		c.strKeys = append(c.strKeys, k)
		return
	}
	k.ctx = nil
	strKeys.Put(k)
}

// str returns k's value when it is a live string; ok is false when the
// key is absent, and err is ErrWrongType for another type.
func (k *strKey) str() (val []byte, ok bool, err error) {
	if !k.Live {
		return nil, false, nil
	}
	if k.Meta.Type != encoding.TypeString {
		return nil, false, ErrWrongType
	}
	return k.Meta.Value, true, nil
}

// strLen returns the length of k's value when it is a live string (0
// when absent), and ErrWrongType for another type.
func (k *strKey) strLen() (int64, error) {
	if !k.Live {
		return 0, nil
	}
	if k.Meta.Type != encoding.TypeString {
		return 0, ErrWrongType
	}
	return k.Meta.Len(), nil
}

// bulkRange replies with the bytes [off, off+n) of the live string k,
// read chunk by chunk into the reply when k is chunked.
func bulkRange(c *Ctx, k *storage.Key, off, n int64) error {
	if !k.Meta.Chunked {
		c.Out.Bulk(k.Meta.Value[off : off+n])
		return nil
	}
	mark := c.Out.Len()
	c.Out.BulkHeader(n)
	if err := c.Tx.EachRange(k, off, n, func(p []byte) bool {
		c.Out.Raw(p)
		return true
	}); err != nil {
		c.Out.Truncate(mark)
		return err
	}
	c.Out.Raw(crlf)
	return nil
}

var crlf = []byte("\r\n")

// writeRange writes p at offset off of k as SETRANGE does, chunk by chunk
// when k is or becomes a chunked string, and returns the new length.
func writeRange(c *Ctx, k *strKey, off int64, p []byte) (int64, error) {
	k.markLarge()
	if err := c.Tx.WriteRange(&k.Key, off, p); err != nil {
		return 0, err
	}
	return k.Meta.Len(), nil
}

// writeLong is SETRANGE's and APPEND's write of p at off when k is or
// becomes a chunked string: it writes and replies with the new length,
// and done is set. A string that stays inline is left to the caller.
func writeLong(c *Ctx, k *strKey, off int64, p []byte) (done bool, err error) {
	if !k.Meta.Chunked && off+int64(len(p)) <= storage.ChunkThreshold {
		return false, nil
	}
	n, err := writeRange(c, k, off, p)
	if err == nil {
		c.Out.Int(n)
	}
	return true, err
}

// ttl returns the expiry a rewrite of k keeps (0 when none or absent).
func (k *strKey) ttl() int64 {
	if !k.Live {
		return 0
	}
	return k.Meta.ExpireAt
}

// put stores val at k with expiry at (Unix ms, 0 for none). As Redis's
// setKey, a deadline that passed meanwhile (SET ... PX 1 on a busy
// server, a KEEPTTL about to end) is stored as it is: the key is written,
// fires its events and replicates, and its next lookup expires it.
func (k *strKey) put(c *Ctx, val []byte, at int64) { c.PutString(&k.Key, val, at) }

// putRaw is put for a value written in place, which Redis keeps raw.
func (k *strKey) putRaw(c *Ctx, val []byte, at int64) { c.PutRawString(&k.Key, val, at) }

// expire sets k's expiry to at (0: none), keeping its value as it is
// kept. An absolute deadline (abs: EXAT, PXAT) already past deletes it,
// as Redis's checkAlreadyExpired; a relative one is stored as it is.
func (k *strKey) expire(c *Ctx, at int64, abs bool) {
	if abs && at != 0 && at <= c.NowMs() {
		k.del(c)
		return
	}
	c.Tx.SetExpire(&k.Key, at)
}

func (k *strKey) del(c *Ctx) {
	k.markLarge()
	c.Tx.Delete(&k.Key)
}

// markLarge keeps k out of the pool when its buffer has grown large, for
// callers about to replace what k describes.
func (k *strKey) markLarge() {
	if cap(k.Meta.Value) > maxPooledValue {
		k.noPool = true
	}
}

func get(c *Ctx) error {
	k, err := lookupInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	n, err := k.strLen()
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Null()
		return nil
	}
	return bulkRange(c, &k.Key, 0, n)
}

// Expiry units of SET and GETEX options, as Redis parses them.
const (
	unitNone = iota
	unitEX
	unitPX
	unitEXAT
	unitPXAT
)

// strOpts are the options of SET (forSet) or GETEX, parsed the way Redis's
// parseExtendedStringArgumentsOrReply does: conflicting options are a
// syntax error, a repeated one is not, and the expiry value is only
// checked afterwards (expireAt).
type strOpts struct {
	nx, xx, get, keepTTL, persist bool
	unit                          int
	expire                        []byte
}

func parseStrOpts(args [][]byte, from int, forSet bool) (o strOpts, err error) {
	for i := from; i < len(args); i++ {
		a := args[i]
		unit := unitNone
		switch {
		case forSet && Is(a, "nx") && !o.xx:
			o.nx = true
		case forSet && Is(a, "xx") && !o.nx:
			o.xx = true
		case forSet && Is(a, "get"):
			o.get = true
		case forSet && Is(a, "keepttl") && o.unit == unitNone:
			o.keepTTL = true
		case !forSet && Is(a, "persist") && o.unit == unitNone:
			o.persist = true
		case Is(a, "ex"):
			unit = unitEX
		case Is(a, "px"):
			unit = unitPX
		case Is(a, "exat"):
			unit = unitEXAT
		case Is(a, "pxat"):
			unit = unitPXAT
		default:
			return o, ErrSyntax
		}
		if unit == unitNone {
			continue
		}
		if o.keepTTL || o.persist || (o.unit != unitNone && o.unit != unit) || i+1 == len(args) {
			return o, ErrSyntax
		}
		o.unit, o.expire = unit, args[i+1]
		i++
	}
	return o, nil
}

// expireAt turns an expiry argument in unit into an absolute Unix ms
// deadline with Redis's checks; cmd names the command in the error.
func expireAt(c *Ctx, arg []byte, unit int, cmd string) (int64, error) {
	n, err := ParseInt(arg)
	if err != nil {
		return 0, err
	}
	seconds := unit == unitEX || unit == unitEXAT
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		return 0, errExpireTime(cmd)
	}
	if seconds {
		n *= 1000
	}
	if unit == unitEX || unit == unitPX {
		now := c.NowMs()
		if n > math.MaxInt64-now {
			return 0, errExpireTime(cmd)
		}
		n += now
	}
	return n, nil
}

func errExpireTime(cmd string) error {
	switch cmd {
	case "set":
		return ErrInvalidExpire
	case "setex":
		return errSetexExpire
	case "psetex":
		return errPsetexExpire
	case "getex":
		return errGetexExpire
	}
	return Errf("invalid expire time in '%s' command", cmd)
}

var (
	errSetexExpire  = &Error{"ERR", "invalid expire time in 'setex' command"}
	errPsetexExpire = &Error{"ERR", "invalid expire time in 'psetex' command"}
	errGetexExpire  = &Error{"ERR", "invalid expire time in 'getex' command"}
	errDecrOverflow = &Error{"ERR", "decrement would overflow"}
	errLCSType      = &Error{"ERR", "The specified keys must contain string values"}
	errLCSIdxLen    = &Error{"ERR", "If you want both the length and indexes, please just use IDX."}
	errLCSMemory    = &Error{"ERR", "Insufficient memory, failed allocating transient memory for LCS"}
)

func set(c *Ctx) error {
	o, err := parseStrOpts(c.Args, 3, true)
	if err != nil {
		return err
	}
	var at int64
	if o.unit != unitNone {
		if at, err = expireAt(c, o.expire, o.unit, "set"); err != nil {
			return err
		}
	}
	lock := lockKeyToReplace
	if o.get {
		lock = lockRead
	}
	k, err := lock(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	if o.get {
		old, ok, err := k.str()
		if err != nil {
			return err
		}
		// The old value is the reply whether or not the write happens;
		// write it before the write replaces k's buffer.
		if ok {
			c.Out.Bulk(old)
		} else {
			c.Out.Null()
		}
	}
	if (o.nx && k.Live) || (o.xx && !k.Live) {
		if !o.get {
			c.Out.Null()
		}
		return nil
	}
	if o.keepTTL {
		at = k.ttl()
	}
	k.put(c, c.Args[2], at)
	c.Notify(NotifyString, "set", c.Args[1])
	if o.unit != unitNone {
		c.Notify(NotifyGeneric, "expire", c.Args[1])
	}
	if !o.get {
		c.Out.OK()
	}
	return nil
}

func setnx(c *Ctx) error {
	k, err := lockKeyToReplace(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	if k.Live {
		c.Out.Int(0)
		return nil
	}
	k.put(c, c.Args[2], 0)
	c.Notify(NotifyString, "set", c.Args[1])
	c.Out.Int(1)
	return nil
}

// setex serves SETEX and PSETEX: key, a relative expiry, value.
func setex(c *Ctx) error {
	unit, name := unitEX, "setex"
	if c.Cmd.Name == "psetex" {
		unit, name = unitPX, "psetex"
	}
	at, err := expireAt(c, c.Args[2], unit, name)
	if err != nil {
		return err
	}
	k, err := lockKeyToReplace(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	k.put(c, c.Args[3], at)
	c.Notify(NotifyString, "set", c.Args[1])
	c.Notify(NotifyGeneric, "expire", c.Args[1])
	c.Out.OK()
	return nil
}

func mget(c *Ctx) error {
	keys := c.Args[1:]
	c.Tx.Lock(c.DB(), keys...)
	k := newStrKey(c)
	defer k.release()
	c.Out.Array(len(keys))
	for _, name := range keys {
		if err := c.Tx.LookupInto(&k.Key, c.DB(), name); err != nil {
			// NB: the array header is out; a storage failure here poisons
			// the connection's Tx, whose error the server reports.
			return err
		}
		c.countRead(k.Live, name)
		if v, ok, err := k.str(); ok && err == nil {
			c.Out.Bulk(v)
		} else {
			c.Out.Null()
		}
		k.markLarge()
	}
	return nil
}

// mset serves MSET and MSETNX.
func mset(c *Ctx) error {
	nx := c.Cmd.Name == "msetnx"
	if len(c.Args)%2 == 0 {
		return ErrArity(c.Cmd.Name)
	}
	c.reserve(len(c.Args)/2, metaKeyExtra+metaRecordExtra, c.Args[1:])
	c.Tx.LockEvery(c.DB(), c.Args[1:], 2)
	if len(c.Args) > 2*readManyMin {
		c.Tx.ReadMany(len(c.Args) / 2)
		defer c.Tx.EndReadMany()
	}
	k := newStrKey(c)
	defer k.release()
	if nx {
		for i := 1; i < len(c.Args); i += 2 {
			name := c.Args[i]
			if err := c.Tx.LookupHeader(&k.Key, c.DB(), name); err != nil {
				return err
			}
			if k.Live {
				c.Out.Int(0)
				return nil
			}
		}
	}
	// Look each key up just before writing it, so a key named twice sees
	// its first write (the last value wins, as in Redis).
	for i := 1; i < len(c.Args); i += 2 {
		if err := c.Tx.LookupHeader(&k.Key, c.DB(), c.Args[i]); err != nil {
			return err
		}
		k.markLarge()
		c.PutString(&k.Key, c.Args[i+1], 0)
		c.Notify(NotifyString, "set", c.Args[i])
	}
	if nx {
		c.Out.Int(1)
	} else {
		c.Out.OK()
	}
	return nil
}

func getset(c *Ctx) error {
	k, err := lockRead(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	old, ok, err := k.str()
	if err != nil {
		return err
	}
	if ok {
		c.Out.Bulk(old)
	} else {
		c.Out.Null()
	}
	k.put(c, c.Args[2], 0)
	c.Notify(NotifyString, "set", c.Args[1])
	return nil
}

func getdel(c *Ctx) error {
	k, err := lockRead(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	v, ok, err := k.str()
	if err != nil {
		return err
	}
	if !ok {
		c.Out.Null()
		return nil
	}
	c.Out.Bulk(v)
	k.del(c)
	c.Notify(NotifyGeneric, "del", c.Args[1])
	return nil
}

func getex(c *Ctx) error {
	o, err := parseStrOpts(c.Args, 2, false)
	if err != nil {
		return err
	}
	k, err := lockRead(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	v, ok, err := k.str()
	if err != nil {
		return err
	}
	if !ok {
		c.Out.Null()
		return nil
	}
	var at int64
	if o.unit != unitNone {
		if at, err = expireAt(c, o.expire, o.unit, "getex"); err != nil {
			return err
		}
	}
	c.Out.Bulk(v)
	switch {
	case o.unit != unitNone:
		k.expire(c, at, o.unit == unitEXAT || o.unit == unitPXAT)
		if k.Live {
			c.Notify(NotifyGeneric, "expire", c.Args[1])
		} else {
			c.Notify(NotifyGeneric, "del", c.Args[1])
		}
	case o.persist && k.Meta.ExpireAt != 0:
		k.expire(c, 0, false)
		c.Notify(NotifyGeneric, "persist", c.Args[1])
	}
	return nil
}

// checkLength returns Redis's error when a string would grow past
// proto-max-bulk-len: size plus add bytes.
func checkLength(c *Ctx, size, add int64) error {
	total := size + add
	if total < size || total < add {
		return ErrStringTooLong
	}
	// proto-max-bulk-len is at least 1mb: only longer strings need it.
	if total > 1<<20 && total > c.Server.Config().ProtoMaxBulkLen {
		return ErrStringTooLong
	}
	return nil
}

func appendCmd(c *Ctx) error {
	k, err := lockInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	n, err := k.strLen()
	if err != nil {
		return err
	}
	add := c.Args[2]
	if err := checkLength(c, n, int64(len(add))); err != nil {
		return err
	}
	if done, err := writeLong(c, k, n, add); done || err != nil {
		return err
	}
	old := k.Meta.Value
	// old is k's own copy: growing it in place is safe, and PutString
	// copies it again.
	v := append(old, add...)
	if k.Live {
		k.putRaw(c, v, k.ttl())
	} else {
		k.put(c, v, 0)
	}
	c.Notify(NotifyString, "append", c.Args[1])
	c.Out.Int(int64(len(v)))
	return nil
}

func strlen(c *Ctx) error {
	k, err := lookupInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	n, err := k.strLen()
	if err != nil {
		return err
	}
	c.Out.Int(n)
	return nil
}

// incrDecr serves INCR, DECR, INCRBY and DECRBY.
func incrDecr(c *Ctx) error {
	by := int64(1)
	if len(c.Args) == 3 {
		n, err := ParseInt(c.Args[2])
		if err != nil {
			return err
		}
		by = n
	}
	if c.Cmd.Name[0] == 'd' {
		if by == math.MinInt64 {
			return errDecrOverflow
		}
		by = -by
	}
	k, err := lockKey(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	old, ok, err := k.str()
	if err != nil {
		return err
	}
	var n int64
	if ok {
		if n, err = ParseInt(old); err != nil {
			return err
		}
	}
	if (by < 0 && n < 0 && by < math.MinInt64-n) || (by > 0 && n > 0 && by > math.MaxInt64-n) {
		return ErrOverflow
	}
	n += by
	k.put(c, strconv.AppendInt(k.num[:0], n, 10), k.ttl())
	c.Notify(NotifyString, "incrby", c.Args[1])
	c.Out.Int(n)
	return nil
}

func incrbyfloat(c *Ctx) error {
	k, err := lockKey(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	old, ok, err := k.str()
	if err != nil {
		return err
	}
	cur := new(big.Float).SetPrec(longDoublePrec)
	if ok {
		if cur, ok = ParseLongDouble(old); !ok {
			return ErrNotFloat
		}
	}
	by, ok := ParseLongDouble(c.Args[2])
	if !ok {
		return ErrNotFloat
	}
	sum, ok := AddLongDouble(cur, by)
	if !ok {
		return ErrNaN
	}
	v := FormatLongDouble(sum)
	k.put(c, v, k.ttl())
	c.NotifyAs(NotifyString, "incrbyfloat", "set", c.Args[1])
	c.Out.Bulk(v)
	return nil
}

// Redis does INCRBYFLOAT and HINCRBYFLOAT in C's long double, the x87
// 80-bit format on the machines it runs on: a 64-bit mantissa and a 15-bit
// exponent. Shoal computes with big.Float at that precision so that sums
// and their text match Redis's ("0.1" plus "0.2" is "0.3", "1e400" is a
// valid value).
const (
	longDoublePrec   = 64
	longDoubleMaxExp = 16384  // |x| < 2^16384
	longDoubleMinExp = -16445 // smallest denormal 2^-16445
	// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: longer text
	// is not a float.
	maxLongDoubleChars = 5 * 1024
)

// ParseLongDouble parses b as Redis's string2ld does with strtold:
// decimal or hexadecimal (0x…p…) notation, an optional sign, "inf" and
// "infinity" in any case; spaces, NaN, and values that overflow or
// underflow a long double are refused.
func ParseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars {
		return nil, false
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	body := b[i:]
	if Is(body, "inf") || Is(body, "infinity") {
		return new(big.Float).SetInf(neg), true
	}
	base := 10
	if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
		base = 16
		body = body[2:]
	}
	if !floatSyntax(body, base) {
		return nil, false
	}
	f, _, err := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven).Parse(string(b), 0)
	if err != nil {
		return nil, false
	}
	// Out of range: strtold's ERANGE with an infinite or zero result.
	// big.Float's own range is wider, but an exponent past even that
	// parses as ±Inf or as zero.
	if f.IsInf() || (f.Sign() == 0 && nonZeroMantissa(body)) {
		return nil, false
	}
	if f.Sign() != 0 {
		exp := f.MantExp(nil)
		if exp > longDoubleMaxExp || exp < longDoubleMinExp {
			return nil, false
		}
	}
	return f, true
}

// nonZeroMantissa reports whether a number's digits before its exponent
// are not all zero.
func nonZeroMantissa(b []byte) bool {
	for _, c := range b {
		switch c {
		case '0', '.':
		case 'e', 'E', 'p', 'P':
			return false
		default:
			return true
		}
	}
	return false
}

// floatSyntax checks the digits of a strtold number after its sign and
// 0x prefix: digits with an optional point (at least one digit), then an
// optional exponent (e for decimal, p for hexadecimal) with decimal digits.
func floatSyntax(b []byte, base int) bool {
	isDigit := func(c byte) bool {
		if base == 16 {
			return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		}
		return '0' <= c && c <= '9'
	}
	i, digits := 0, 0
	for i < len(b) && isDigit(b[i]) {
		i, digits = i+1, digits+1
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && isDigit(b[i]) {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i == len(b) {
		return true
	}
	e := b[i]
	if (base == 10 && e != 'e' && e != 'E') || (base == 16 && e != 'p' && e != 'P') {
		return false
	}
	i++
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

// AddLongDouble returns a+b rounded to a long double; ok is false when the
// result is NaN or infinite.
func AddLongDouble(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	s := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven).Add(a, b)
	if s.Sign() != 0 && s.MantExp(nil) > longDoubleMaxExp {
		return nil, false
	}
	return s, true
}

// FormatLongDouble formats f as Redis's ld2string in LD_STR_HUMAN mode:
// printf's %.17Lf with trailing zeros (and a bare point) removed, and
// "-0" written as "0".
func FormatLongDouble(f *big.Float) []byte {
	if f.IsInf() {
		if f.Sign() < 0 {
			return []byte("-inf")
		}
		return []byte("inf")
	}
	b := f.Append(nil, 'f', 17)
	l := len(b)
	for b[l-1] == '0' {
		l--
	}
	if b[l-1] == '.' {
		l--
	}
	b = b[:l]
	if l == 2 && b[0] == '-' && b[1] == '0' {
		b = b[1:]
	}
	return b
}

// getrange serves GETRANGE and SUBSTR.
func getrange(c *Ctx) error {
	start, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	end, err := ParseInt(c.Args[3])
	if err != nil {
		return err
	}
	k, err := lookupInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	n, err := k.strLen()
	if err != nil {
		return err
	}
	if start < 0 && end < 0 && start > end {
		c.Out.Bulk(nil)
		return nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.Out.Bulk(nil)
		return nil
	}
	return bulkRange(c, &k.Key, start, end-start+1)
}

func setrange(c *Ctx) error {
	off, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	if off < 0 {
		return ErrOffsetRange
	}
	val := c.Args[3]
	k, err := lockInline(c, c.Args[1])
	if err != nil {
		return err
	}
	defer k.release()
	n, err := k.strLen()
	if err != nil {
		return err
	}
	if len(val) == 0 {
		c.Out.Int(n)
		return nil
	}
	if err := checkLength(c, off, int64(len(val))); err != nil {
		return err
	}
	if done, err := writeLong(c, k, off, val); done || err != nil {
		return err
	}
	old := k.Meta.Value
	v := old // k's own copy: written in place
	if need := int(off) + len(val); need > len(v) {
		if need <= cap(v) {
			v = v[:need]
			clear(v[len(old):])
		} else {
			v = make([]byte, need)
			copy(v, old)
		}
	}
	copy(v[off:], val)
	k.putRaw(c, v, k.ttl())
	c.Notify(NotifyString, "setrange", c.Args[1])
	c.Out.Int(int64(len(v)))
	return nil
}

// maxLCSCells bounds LCS's table (4 bytes a cell), where Redis answers an
// allocation failure.
const maxLCSCells = 1 << 28

// lcsMatch is one range of LCS ... IDX: [a0, a1] in the first string,
// [b0, b1] in the second.
type lcsMatch struct{ a0, a1, b0, b1 int64 }

// lcs follows Redis's lcsCommand step by step, so that IDX reports the
// same ranges in the same order.
func lcs(c *Ctx) error {
	ka, err := lookupKey(c, c.Args[1])
	if err != nil {
		return err
	}
	defer ka.release()
	kb, err := lookupKey(c, c.Args[2])
	if err != nil {
		return err
	}
	defer kb.release()
	a, _, errA := ka.str()
	b, _, errB := kb.str()
	if errA != nil || errB != nil {
		return errLCSType
	}
	var (
		getLen, getIdx, withLen bool
		minLen                  int64
	)
	for i := 3; i < len(c.Args); i++ {
		opt := c.Args[i]
		switch {
		case Is(opt, "idx"):
			getIdx = true
		case Is(opt, "len"):
			getLen = true
		case Is(opt, "withmatchlen"):
			withLen = true
		case Is(opt, "minmatchlen") && i+1 < len(c.Args):
			n, err := ParseInt(c.Args[i+1])
			if err != nil {
				return err
			}
			minLen = max(n, 0)
			i++
		default:
			return ErrSyntax
		}
	}
	if getIdx && getLen {
		return errLCSIdxLen
	}
	alen, blen := len(a), len(b)
	if int64(alen+1)*int64(blen+1) > maxLCSCells {
		return errLCSMemory
	}
	// dp[i*w+j] is the LCS length of a[:i] and b[:j].
	w := blen + 1
	dp := make([]uint32, (alen+1)*w)
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				dp[i*w+j] = dp[(i-1)*w+j-1] + 1
			} else {
				dp[i*w+j] = max(dp[(i-1)*w+j], dp[i*w+j-1])
			}
		}
	}
	total := dp[alen*w+blen]
	if getLen {
		c.Out.Int(int64(total))
		return nil
	}
	// Walk back from the end, building the LCS backwards and, for IDX,
	// the ranges of contiguous matches.
	result := make([]byte, total)
	var matches []lcsMatch
	idx := total
	i, j := alen, blen
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0 // aStart == alen: no open range
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if dp[(i-1)*w+j] > dp[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			if n := int64(aEnd - aStart + 1); getIdx && (minLen == 0 || n >= minLen) {
				matches = append(matches, lcsMatch{int64(aStart), int64(aEnd), int64(bStart), int64(bEnd)})
			}
			aStart = alen
		}
	}
	if !getIdx {
		c.Out.Bulk(result)
		return nil
	}
	c.Out.Map(2)
	c.Out.BulkString("matches")
	c.Out.MarkDeferred() // NB: Redis counts the matches as it goes
	c.Out.Array(len(matches))
	for _, m := range matches {
		if withLen {
			c.Out.Array(3)
		} else {
			c.Out.Array(2)
		}
		c.Out.Array(2)
		c.Out.Int(m.a0)
		c.Out.Int(m.a1)
		c.Out.Array(2)
		c.Out.Int(m.b0)
		c.Out.Int(m.b1)
		if withLen {
			c.Out.Int(m.a1 - m.a0 + 1)
		}
	}
	c.Out.BulkString("len")
	c.Out.Int(int64(total))
	return nil
}
