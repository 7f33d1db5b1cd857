package commands

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/failpoint"
	"github.com/shoaldb/shoal/internal/netfault"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// debugHelp is DEBUG HELP: Redis 7.0's lines for the subcommands Shoal
// runs, in Redis's order, then Shoal's own.
var debugHelp = []string{
	"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ASSERT",
	"    Crash by assertion failed.",
	"CHANGE-REPL-ID",
	"    Change the replication IDs of the instance.",
	"    Dangerous: should be used only for testing the replication subsystem.",
	"DIGEST",
	"    Output a hex signature representing the current DB content.",
	"CONFIG-REWRITE-FORCE-ALL",
	"    Like CONFIG REWRITE but writes all configuration options, including",
	"    keywords not listed in original configuration file or default values.",
	"DIGEST-VALUE <key> [<key> ...]",
	"    Output a hex signature of the values of all the specified keys.",
	"ERROR <string>",
	"    Return a Redis protocol error with <string> as message. Useful for clients",
	"    unit tests to simulate Redis errors.",
	"LOADAOF",
	"    Flush the AOF buffers on disk and reload the AOF in memory.",
	"OBJECT <key>",
	"    Show low level info about `key` and associated value.",
	"PANIC",
	"    Crash the server simulating a panic.",
	"POPULATE <count> [<prefix>] [<size>]",
	"    Create <count> string keys named key:<num>. If <prefix> is specified then",
	"    it is used instead of the 'key' prefix. These are not propagated to",
	"    replicas. Cluster slots are not respected so keys not belonging to the",
	"    current node can be created in cluster mode.",
	"PROTOCOL <type>",
	"    Reply with a test value of the specified type. <type> can be: string,",
	"    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
	"    true, false.",
	"RELOAD [option ...]",
	"    Save the RDB on disk and reload it back to memory. Valid <option> values:",
	"    * MERGE: conflicting keys will be loaded from RDB.",
	"    * NOFLUSH: the existing database will not be removed before load, but",
	"      conflicting keys are refused.",
	"    * NOSAVE: the database will be loaded from an existing RDB file.",
	"SEGFAULT",
	"    Crash the server with sigsegv.",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    Setting it to 0 disables expiring keys in background when they are not",
	"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
	"    default.",
	"QUICKLIST-PACKED-THRESHOLD <size>",
	"    Sets the threshold for elements to be inserted as plain vs packed nodes",
	"    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
	"SLEEP <seconds>",
	"    Stop the server for <seconds>. Decimals allowed.",
	"PAUSE-CRON <0|1>",
	"    Stop periodic cron job processing.",
	"REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
	"    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
	"    In case NEVER is provided the last observed peak will never be reset",
	"    In case RESET is provided the peak reset time will be restored to the default value",
	"REPLYBUFFER RESIZING <0|1>",
	"    Enable or disable the reply buffer resize cron job",
	"FAILPOINT <name> <[count*]action|off>",
	"    Arm or disarm a failpoint (needs " + failpoint.EnvVar + " set at start).",
	"NETFAULT DROP <host:port> ...",
	"    Drop this node's traffic to these addresses (needs " + failpoint.EnvVar + ").",
	"NETFAULT HEAL",
	"    Stop dropping traffic.",
	"CATALOG-BUMP [<count>]",
	"    Commit <count> (default 1) catalog changes that only grow the catalog's epoch.",
	"HELP",
	"    Prints this help.",
}

// debug runs DEBUG's subcommands. Dispatch runs it only as
// enable-debug-command allows.
func debug(c *Ctx) error {
	sub, n := c.Args[1], len(c.Args)
	// Nothing DEBUG reads counts as an access (Redis reads the
	// dictionary directly).
	c.Tx.SetNoTouch(true)
	switch {
	case Is(sub, "help") && n == 2:
		c.Out.Array(len(debugHelp))
		for _, l := range debugHelp {
			c.Out.Simple(l) // status lines, as Redis's addReplyHelp
		}
		return nil
	case Is(sub, "replybuffer") && n == 4:
		return debugReplyBuffer(c)
	case Is(sub, "sleep") && n == 3:
		// As Redis's strtod: what does not parse sleeps for 0 s.
		secs, _ := strconv.ParseFloat(string(c.Args[2]), 64)
		if secs > 0 {
			c.Server.Sleep(time.Duration(secs * float64(time.Second)))
		}
		c.Out.OK()
		return nil
	case (Is(sub, "segfault") || Is(sub, "panic") || Is(sub, "assert")) && n == 2:
		c.Server.Crash(strings.ToLower(string(sub)))
		return nil
	case Is(sub, "pause-cron") && n == 3:
		c.Server.PauseCron(atoi(c.Args[2]) != 0)
		c.Out.OK()
		return nil
	case Is(sub, "set-disable-deny-scripts") && n == 3:
		// Not in Redis's DEBUG HELP either.
		c.Server.DisableDenyScripts(atoi(c.Args[2]) != 0)
		c.Out.OK()
		return nil
	case Is(sub, "set-skip-checksum-validation") && n == 3:
		// Not in Redis's DEBUG HELP either.
		c.Store.SetSkipChecksumValidation(atoi(c.Args[2]) != 0)
		c.Out.OK()
		return nil
	case Is(sub, "set-active-expire") && n == 3:
		// As Redis: 0 switches the active expiry sweeper off, anything
		// else back on. Maintenance pauses the same switch.
		c.Store.SetActiveExpire(atoi(c.Args[2]) != 0)
		c.Out.OK()
		return nil
	case Is(sub, "quicklist-packed-threshold") && n == 3:
		// Lists keep no quicklist nodes: the size is checked as Redis
		// checks it, and has no effect.
		sz, err := config.ParseMemory(string(c.Args[2]))
		if err != nil || sz > 1<<32-1<<20 {
			return Errf("argument must be a memory value bigger than 1 and smaller than 4gb")
		}
		c.Out.OK()
		return nil
	case Is(sub, "change-repl-id") && n == 2:
		if err := c.Store.ChangeReplID(); err != nil {
			return err
		}
		c.Out.OK()
		return nil
	case Is(sub, "config-rewrite-force-all") && n == 2:
		if c.Server.Config().File == "" {
			// NB: Redis opens a NULL path and reports strerror(EFAULT).
			return Errf("CONFIG-REWRITE-FORCE-ALL failed: Bad address")
		}
		if err := c.Server.ConfigRewrite(true); err != nil {
			if e, ok := err.(*Error); ok {
				// "Rewriting config file: <reason>", as CONFIG REWRITE words it.
				_, reason, _ := strings.Cut(e.Msg, ": ")
				return Errf("CONFIG-REWRITE-FORCE-ALL failed: %s", reason)
			}
			return err
		}
		c.Out.OK()
		return nil
	case Is(sub, "error") && n == 3:
		// The line as given, new lines made spaces, with no code added.
		return &Error{Code: strings.NewReplacer("\r", " ", "\n", " ").Replace(string(c.Args[2]))}
	case Is(sub, "object") && n == 3:
		return debugObject(c)
	case Is(sub, "populate") && n >= 3 && n <= 5:
		return debugPopulate(c)
	case Is(sub, "protocol") && n == 3:
		return debugProtocol(c)
	case Is(sub, "reload"):
		return debugReload(c)
	case Is(sub, "loadaof") && n == 2:
		// The log Redis would replay is Pebble's, whose writes are all
		// applied: once it is on disk, the dataset is what a replay gives.
		if err := c.Store.Sync(); err != nil {
			return err
		}
		c.Out.OK()
		return nil
	case Is(sub, "digest") && n == 2:
		// NB: every lock, so that each value reads whole, as Redis's one
		// thread reads them (a list's index and its nodes).
		c.Tx.LockAll()
		d, err := datasetDigest(c)
		if err != nil {
			return err
		}
		c.Out.Simple(hex.EncodeToString(d[:]))
		return nil
	case Is(sub, "digest-value") && n >= 2:
		c.Tx.Lock(c.DB(), c.Args[2:]...)
		c.Out.Array(n - 2)
		for _, name := range c.Args[2:] {
			var d [sha1.Size]byte
			k, err := c.Tx.Lookup(c.DB(), name)
			if err != nil {
				return err
			}
			if k.Live {
				if d, err = valueDigest(c.Tx, k); err != nil {
					return err
				}
			}
			c.Out.Simple(hex.EncodeToString(d[:]))
		}
		return nil
	case Is(sub, "failpoint") && n == 4:
		if !failpoint.Enabled() {
			return Errf("DEBUG FAILPOINT needs the server started with %s set", failpoint.EnvVar)
		}
		if err := failpoint.Set(string(c.Args[2]), string(c.Args[3])); err != nil {
			return Errf("%v", err)
		}
		c.Out.OK()
		return nil
	case Is(sub, "netfault") && n >= 3:
		var addrs []string
		switch {
		case Is(c.Args[2], "drop"):
			for _, a := range c.Args[3:] {
				addrs = append(addrs, string(a))
			}
		case Is(c.Args[2], "heal") && n == 3:
		default:
			return ErrSubcommandSyntax(c)
		}
		if err := netfault.Drop(addrs); err != nil {
			return Errf("%v", err)
		}
		c.Out.OK()
		return nil
	case Is(sub, "catalog-bump") && n <= 3:
		// Catalog entries that change nothing but the epoch, to drive the
		// schema pipeline (SCHEMA STATUS) in tests and by hand.
		count := int64(1)
		if n == 3 {
			v, err := ParseInt(c.Args[2])
			if err != nil || v < 1 || v > 10000 {
				return Errf("count must be within 1..10000")
			}
			count = v
		}
		if c.Catalog == nil {
			return &Error{"LOADING", "Shoal is loading the catalog"}
		}
		if err := c.Catalog.CatalogBump(int(count)); err != nil {
			return err
		}
		c.Out.OK()
		return nil
	}
	return ErrSubcommandSyntax(c)
}

// --- DEBUG OBJECT ---

var addrSeed = maphash.MakeSeed()

// debugObject answers DEBUG OBJECT in Redis's line. Shoal has no object
// in memory: the address is made from the key's name, serializedlength is
// the size of the RDB object Redis 7.0 would write for the key's value in
// its encoding (storage.Tx.SerializedLen), and a list's ql_
// fields are those of the quicklist Redis 7.0 would build by appending
// its elements under list-max-listpack-size.
func debugObject(c *Ctx) error {
	// NB: as Redis's, which finds the key in its dictionary, an expired
	// key not yet deleted is shown, and stays.
	c.Tx.SetNoTouch(true)
	k, err := c.Tx.LookupAsIs(c.DB(), c.Args[2])
	c.Tx.SetNoTouch(c.Client.NoTouch)
	if err != nil {
		return err
	}
	if !k.Exists {
		return Errf("no such key")
	}
	enc, err := ObjectEncoding(c.Tx, k)
	if err != nil {
		return err
	}
	serialized, err := c.Tx.SerializedLen(k, c.rdbCompression())
	if err != nil {
		return err
	}
	extra := ""
	if k.Meta.Type == encoding.TypeList {
		if extra, err = quicklistShape(c, k); err != nil {
			return err
		}
	}
	addr := maphash.Bytes(addrSeed, c.Args[2])&0xffffffffff | 0x7f0000000000
	c.Out.Simple(fmt.Sprintf("Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d%s",
		addr, objectRefcount(c, &k.Meta), enc, serialized, c.Tx.AccessClock(k), c.Tx.IdleTime(k), extra))
	return nil
}

// packedThreshold is the size from which Redis 7.0 gives a list element
// a plain node of its own (1 GiB by default).
const packedThreshold = 1 << 30

// quicklistShape returns DEBUG OBJECT's ql_ fields for list k, as Redis
// 7.0's quicklist would hold its elements pushed one by one at the tail
// (quicklist.c _quicklistNodeAllowInsert).
func quicklistShape(c *Ctx, k *storage.Key) (string, error) {
	cfg := c.Server.Config()
	fill, _ := strconv.Atoi(config.Lookup("list-max-listpack-size").Get(cfg))
	compress, _ := strconv.Atoi(config.Lookup("list-compress-depth").Get(cfg))
	var nodes, count, total, nodeSz, nodeCount int64
	plain := false
	closeNode := func() {
		if nodeCount > 0 {
			nodes++
			total += nodeSz
		}
		nodeSz, nodeCount, plain = 0, 0, false
	}
	if n := storage.ListLen(k); n > 0 {
		err := c.Tx.ListRange(k, 0, n-1, false, func(_ uint64, v []byte) bool {
			count++
			sz := int64(len(v))
			if sz >= packedThreshold {
				closeNode()
				nodeSz, nodeCount, plain = sz, 1, true
				closeNode()
				return true
			}
			if nodeCount == 0 || plain || !quicklistAllowInsert(nodeSz, nodeCount, sz, fill) {
				closeNode()
				nodeSz = 7 // listpack header and end byte
			}
			nodeSz += listpackEntrySize(v)
			nodeCount++
			return true
		})
		if err != nil {
			return "", err
		}
		closeNode()
	}
	avg := 0.0
	if nodes > 0 {
		avg = float64(count) / float64(nodes)
	}
	return fmt.Sprintf(" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d ql_uncompressed_size:%d",
		nodes, avg, fill, boolInt(compress != 0), total), nil
}

// quicklistAllowInsert is Redis 7.0's _quicklistNodeAllowInsert for a
// packed node of sz bytes holding count elements, and an element of n bytes.
func quicklistAllowInsert(sz, count, n int64, fill int) bool {
	next := sz + n + int64(storage.ListInsertOverhead(int(n)))
	if fill < 0 {
		if level := -fill - 1; level < 5 && next <= int64(4096)<<level {
			return true
		}
	}
	if next > 8192 {
		return false
	}
	return count < int64(fill)
}

// listpackEntrySize is the size of v as a listpack entry: an integer in
// the smallest of Redis's integer encodings, otherwise a string with its
// length header, and the back-length bytes.
func listpackEntrySize(v []byte) int64 {
	var enc int64
	if n, ok := parseInt(v); ok {
		switch {
		case n >= 0 && n <= 127:
			enc = 1
		case n >= -4096 && n <= 4095:
			enc = 2
		case n >= math.MinInt16 && n <= math.MaxInt16:
			enc = 3
		case n >= -1<<23 && n <= 1<<23-1:
			enc = 4
		case n >= math.MinInt32 && n <= math.MaxInt32:
			enc = 5
		default:
			enc = 9
		}
	} else {
		l := int64(len(v))
		switch {
		case l < 64:
			enc = 1 + l
		case l < 4096:
			enc = 2 + l
		default:
			enc = 5 + l
		}
	}
	switch {
	case enc <= 127:
		return enc + 1
	case enc < 16383:
		return enc + 2
	case enc < 2097151:
		return enc + 3
	case enc < 268435455:
		return enc + 4
	}
	return enc + 5
}

// --- DEBUG DIGEST ---

// The digests are Redis's (debug.c): a value's digest mixes its type, its
// elements in order (strings, lists, streams) or xors their digests
// (sets, hashes, sorted sets), and "!!expire!!" when it has a TTL; the
// dataset's mixes each non-empty database's number and xors its keys'
// digests, each the key's name mixed with its value. So equal data gives
// equal digests on Redis and Shoal, in any order of keys and members.

// xorDigest xors SHA1(p) into d.
func xorDigest(d *[sha1.Size]byte, p []byte) {
	h := sha1.Sum(p)
	for i := range d {
		d[i] ^= h[i]
	}
}

// mixDigest makes d SHA1(d xor SHA1(p)), so that order counts.
func mixDigest(d *[sha1.Size]byte, p []byte) {
	xorDigest(d, p)
	*d = sha1.Sum(d[:])
}

// redisTypes are Redis's object type numbers (server.h OBJ_*).
var redisTypes = map[encoding.Type]uint32{
	encoding.TypeString: 0, encoding.TypeList: 1, encoding.TypeSet: 2,
	encoding.TypeZSet: 3, encoding.TypeHash: 4, encoding.TypeStream: 6,
}

// valueDigest is Redis's xorObjectDigest of the live key k from zero:
// DEBUG DIGEST-VALUE.
func valueDigest(tx *storage.Tx, k *storage.Key) ([sha1.Size]byte, error) {
	var d [sha1.Size]byte
	return d, xorValueDigest(tx, k, &d)
}

func xorValueDigest(tx *storage.Tx, k *storage.Key, d *[sha1.Size]byte) error {
	mixDigest(d, binary.BigEndian.AppendUint32(nil, redisTypes[k.Meta.Type]))
	var err error
	switch k.Meta.Type {
	case encoding.TypeString:
		mixDigest(d, k.Meta.Value)
	case encoding.TypeList:
		if n := storage.ListLen(k); n > 0 {
			err = tx.ListRange(k, 0, n-1, false, func(_ uint64, v []byte) bool {
				mixDigest(d, v)
				return true
			})
		}
	case encoding.TypeSet:
		_, err = tx.SetScan(k, nil, func(m []byte) bool {
			xorDigest(d, m)
			return true
		})
	case encoding.TypeHash:
		_, err = tx.HashScan(k, nil, func(f, v []byte) bool {
			var e [sha1.Size]byte
			mixDigest(&e, f)
			mixDigest(&e, v)
			xorDigest(d, e[:])
			return true
		})
	case encoding.TypeZSet:
		err = tx.WalkMembers(k, storage.ZTagMember, nil, func(m, score []byte) bool {
			s, derr := storage.ZDecodeScore(score)
			if derr != nil {
				err = derr
				return false
			}
			var e [sha1.Size]byte
			mixDigest(&e, m)
			mixDigest(&e, []byte(cFloat(s, 'g', 17))) // C's "%.17g", as Redis 7.0
			xorDigest(d, e[:])
			return true
		})
	case encoding.TypeStream:
		err = tx.StreamRange(k, encoding.StreamID{}, encoding.MaxStreamID, false, func(id encoding.StreamID, pairs [][]byte) bool {
			mixDigest(d, []byte(strconv.FormatUint(id.Ms, 10)+"."+strconv.FormatUint(id.Seq, 10)))
			for _, p := range pairs {
				mixDigest(d, p)
			}
			return true
		})
	}
	if err != nil {
		return err
	}
	if k.Meta.ExpireAt != 0 {
		xorDigest(d, []byte("!!expire!!"))
	}
	return nil
}

// datasetDigest is Redis's computeDatasetDigest over every database:
// DEBUG DIGEST, 20 zero bytes for an empty dataset.
func datasetDigest(c *Ctx) ([sha1.Size]byte, error) { return digestOf(c.Store, c.Tx) }

// digestOf is datasetDigest of st, read through its Tx tx.
func digestOf(st *storage.Store, tx *storage.Tx) ([sha1.Size]byte, error) {
	var final [sha1.Size]byte
	for db := 0; db < st.Databases(); db++ {
		first := true
		var lookErr error
		_, _, err := tx.ScanKeys(db, nil, func(name []byte, _ *encoding.Meta) bool {
			if first {
				mixDigest(&final, binary.BigEndian.AppendUint32(nil, uint32(db)))
				first = false
			}
			k, err := tx.Lookup(db, name)
			if err != nil {
				lookErr = err
				return false
			}
			if !k.Live {
				return true
			}
			var d [sha1.Size]byte
			mixDigest(&d, name)
			if err := xorValueDigest(tx, k, &d); err != nil {
				lookErr = err
				return false
			}
			xorDigest(&final, d[:])
			return true
		})
		if err == nil {
			err = lookErr
		}
		if err != nil {
			return final, err
		}
	}
	return final, nil
}

// debugProtocol is DEBUG PROTOCOL <type>: a value of each reply type, as
// Redis 7.0 answers it for client libraries' tests.
func debugProtocol(c *Ctx) error {
	out, name := c.Out, c.Args[2]
	switch {
	case Is(name, "string"):
		out.BulkString("Hello World")
	case Is(name, "integer"):
		out.Int(12345)
	case Is(name, "double"):
		out.Double(3.141)
	case Is(name, "bignum"):
		out.BigNumber("1234567999999999999999999999999999999")
	case Is(name, "null"):
		out.Null()
	case Is(name, "array"), Is(name, "set"):
		if Is(name, "set") {
			out.Set(3)
		} else {
			out.Array(3)
		}
		for j := range 3 {
			out.Int(int64(j))
		}
	case Is(name, "map"):
		out.Map(3)
		for j := range 3 {
			out.Int(int64(j))
			out.Bool(j == 1)
		}
	case Is(name, "attrib"):
		if out.Proto() >= 3 {
			out.Raw([]byte("|1\r\n"))
			out.BulkString("key-popularity")
			out.Array(2)
			out.BulkString("key:123")
			out.Int(90)
		}
		// An attribute is no reply: a real one follows it.
		out.BulkString("Some real reply following the attribute")
	case Is(name, "push"):
		if out.Proto() < 3 {
			return Errf("RESP2 is not supported by this command")
		}
		out.Push(2)
		out.BulkString("server-cpu-usage")
		out.Int(42)
		out.BulkString("Some real reply following the push reply")
	case Is(name, "true"), Is(name, "false"):
		out.Bool(Is(name, "true"))
	case Is(name, "verbatim"):
		out.Verbatim("txt", "This is a verbatim\nstring")
	default:
		return Errf("Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
	}
	return nil
}

// populateChunk is how many keys DEBUG POPULATE writes per commit.
const populateChunk = 10000

// debugPopulate is DEBUG POPULATE count [prefix] [size], as Redis 7.0's:
// count string keys prefix:N ("key:N" without a prefix, cut to 127
// bytes as Redis's buffer cuts them) holding "value:N", or size bytes
// that begin with it and are zeros after; keys that exist are left as
// they are. Outside a transaction or a script the keys commit every
// populateChunk, so that millions of them make no batch of gigabytes.
// NB: Redis sends them to no replica; a Shoal replica, which applies its
// primary's commits, gets them.
func debugPopulate(c *Ctx) error {
	count, err := ParseInt(c.Args[2])
	if err != nil || count < 0 {
		return ErrPositive
	}
	var size int64
	if len(c.Args) == 5 {
		if size, err = ParseInt(c.Args[4]); err != nil || size < 0 {
			return ErrPositive
		}
		if size > c.Server.Config().ProtoMaxBulkLen {
			return Errf("string exceeds maximum allowed size (proto-max-bulk-len)")
		}
	}
	prefix := []byte("key")
	if len(c.Args) >= 4 {
		prefix = c.Args[3]
		if i := bytes.IndexByte(prefix, 0); i >= 0 {
			prefix = prefix[:i] // NB: Redis formats it as a C string
		}
	}
	k := newStrKey(c)
	defer k.release()
	var val []byte
	for j := int64(0); j < count; j++ {
		name := fmt.Appendf(nil, "%s:%d", prefix, j)
		name = name[:min(len(name), 127)]
		c.Tx.Lock(c.DB(), name)
		if err := c.Tx.LookupHeader(&k.Key, c.DB(), name); err != nil {
			return err
		}
		if k.Live {
			continue
		}
		val = fmt.Appendf(val[:0], "value:%d", j)
		if size > 0 {
			v := make([]byte, size)
			copy(v, val)
			val = v
		}
		c.PutString(&k.Key, val, 0)
		if (j+1)%populateChunk == 0 && !c.InMulti && !c.InScript {
			if err := c.Tx.Commit(); err != nil {
				return err
			}
		}
	}
	c.Out.OK()
	return nil
}

// atoi is C's atoi, as Redis reads DEBUG's flags: leading blanks, a sign
// and the digits that follow; what does not parse is 0.
func atoi(b []byte) int {
	b = bytes.TrimLeft(b, " \t\n\v\f\r")
	neg := len(b) > 0 && b[0] == '-'
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' || n > math.MaxInt32 {
			break
		}
		n = n*10 + int(d-'0')
	}
	if neg {
		return -n
	}
	return n
}

// replyBufferPeakResetMs is Redis's REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME.
const replyBufferPeakResetMs = 5000

// debugReplyBuffer is DEBUG REPLYBUFFER PEAK-RESET-TIME <NEVER|RESET|ms>
// and RESIZING <0|1>, as Redis 7.0 answers them.
func debugReplyBuffer(c *Ctx) error {
	what, v := c.Args[2], c.Args[3]
	switch {
	case Is(what, "peak-reset-time"):
		switch {
		case Is(v, "never"):
			c.Server.ReplyBufferPeakReset(-1)
		case Is(v, "reset"):
			c.Server.ReplyBufferPeakReset(replyBufferPeakResetMs)
		default:
			ms, err := ParseInt(v)
			if err != nil {
				return err
			}
			c.Server.ReplyBufferPeakReset(ms)
		}
	case Is(what, "resizing"):
		// NB: C's atoi: what does not parse is 0.
		n, _ := strconv.Atoi(string(v))
		c.Server.ReplyBufferResizing(n != 0)
	default:
		return ErrSubcommandSyntax(c)
	}
	c.Out.OK()
	return nil
}
