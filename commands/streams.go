package commands

import (
	"bytes"
	"math"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// streamCommands returns the streams command group: entries here,
// reading (XREAD, XREADGROUP) in streamread.go, consumer groups in
// streamgroups.go, XINFO in streaminfo.go. Storage keeps Redis's nodes,
// tombstones and counters (storage/stream.go), so replies that expose
// them (XINFO, lag, approximate trimming) are Redis's.
func streamCommands() []*Command {
	const grp = "stream"
	wf := []string{"write", "stream", "fast"}
	ws := []string{"write", "stream", "slow"}
	rs := []string{"read", "stream", "slow"}
	return []*Command{
		{Name: "xadd", Arity: -5, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Appends a new message to a stream. Creates the key if it doesn't exist.", Since: "5.0.0", Complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", Handler: xadd},
		{Name: "xrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns the messages from a stream within a range of IDs.", Since: "5.0.0", Complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", Handler: func(c *Ctx) error { return xrange(c, false) }},
		{Name: "xrevrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns the messages from a stream within a range of IDs in reverse order.", Since: "5.0.0", Complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", Handler: func(c *Ctx) error { return xrange(c, true) }},
		{Name: "xlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "stream", "fast"},
			Group: grp, Summary: "Return the number of messages in a stream.", Since: "5.0.0", Complexity: "O(1)", Handler: xlen},
		{Name: "xdel", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Returns the number of messages after removing them from a stream.", Since: "5.0.0", Complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.", Handler: xdel},
		{Name: "xtrim", Arity: -4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: ws,
			Group: grp, Summary: "Deletes messages from the beginning of a stream.", Since: "5.0.0", Complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", Handler: xtrim},
		{Name: "xsetid", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "An internal command for replicating stream values.", Since: "5.0.0", Complexity: "O(1)", Handler: xsetid},
		{Name: "xread", Arity: -4, Flags: ReadOnly | Blocking, Keys: streamsKeys, ACL: []string{"read", "stream", "slow", "blocking"},
			Group: grp, Summary: "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", Since: "5.0.0", Complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", Handler: func(c *Ctx) error { return xread(c, false) }},
		{Name: "xreadgroup", Arity: -7, Flags: Write | Blocking, Keys: streamsKeys, ACL: []string{"write", "stream", "slow", "blocking"},
			Group: grp, Summary: "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", Since: "5.0.0", Complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", Handler: func(c *Ctx) error { return xread(c, true) }},
		xgroupCommand(),
		{Name: "xack", Arity: -4, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", Since: "5.0.0", Complexity: "O(1) for each message ID processed.", Handler: xack},
		{Name: "xpending", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: rs,
			Group: grp, Summary: "Returns the information and entries from a stream consumer group's pending entries list.", Since: "5.0.0", Complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", Handler: xpending},
		{Name: "xclaim", Arity: -6, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", Since: "5.0.0", Complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.", Handler: xclaim},
		{Name: "xautoclaim", Arity: -6, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: wf,
			Group: grp, Summary: "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", Since: "6.2.0", Complexity: "O(1) if COUNT is small.", Handler: xautoclaim},
		xinfoCommand(),
	}
}

// streamsKeys finds the keys of XREAD and XREADGROUP as Redis's
// xreadGetKeys does: the first half of the arguments after STREAMS,
// found past the options BLOCK, COUNT, GROUP and NOACK.
func streamsKeys(args [][]byte) []int {
	for i := 1; i < len(args); i++ {
		switch {
		case Is(args[i], "block"), Is(args[i], "count"):
			i++
		case Is(args[i], "group"):
			i += 2
		case Is(args[i], "noack"):
		case Is(args[i], "streams"):
			n := len(args) - i - 1
			if n == 0 || n%2 != 0 {
				return nil
			}
			out := make([]int, n/2)
			for j := range out {
				out[j] = i + 1 + j
			}
			return out
		default:
			return nil
		}
	}
	return nil
}

// Redis's stream error texts.
var (
	errStreamID       = Errf("Invalid stream ID specified as stream command argument")
	errStreamStart    = Errf("invalid start ID for the interval")
	errStreamEnd      = Errf("invalid end ID for the interval")
	errXAddZero       = Errf("The ID specified in XADD must be greater than 0-0")
	errXAddSmaller    = Errf("The ID specified in XADD is equal or smaller than the target stream top item")
	errXAddExhausted  = Errf("The stream has exhausted the last possible ID, unable to add more items")
	errXAddTooLarge   = Errf("Elements are too large to be stored")
	errTrimBoth       = Errf("syntax error, MAXLEN and MINID options at the same time are not compatible")
	errTrimMaxLen     = Errf("The MAXLEN argument must be >= 0.")
	errTrimLimit      = Errf("The LIMIT argument must be >= 0.")
	errTrimLimitAlone = Errf("syntax error, LIMIT cannot be used without specifying a trimming strategy")
	errTrimNone       = Errf("syntax error, XTRIM must be called with a trimming strategy")
	errTrimLimitExact = Errf("syntax error, LIMIT cannot be used without the special ~ option")
)

// parseStreamID parses an ID as Redis's streamGenericParseIDOrReply
// does: "<ms>-<seq>", or "<ms>" with missingSeq for the sequence; "-"
// and "+" (the smallest and largest IDs) unless strict; and, when star,
// "<ms>-*", with seqGiven false. Each number is read by string2ull, so
// "+5" and "007" are numbers, as is "-03" for the sequence (strtoull
// negates it). As in C, the text ends at a NUL byte.
func parseStreamID(b []byte, missingSeq uint64, strict, star bool) (id encoding.StreamID, seqGiven bool, err error) {
	if len(b) > 127 {
		return id, false, errStreamID
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		if strict {
			return id, false, errStreamID
		}
		if b[0] == '+' {
			return encoding.MaxStreamID, true, nil
		}
		return id, true, nil
	}
	msPart, seqPart, dash := bytes.Cut(b, []byte{'-'})
	ms, ok := string2ull(msPart)
	if !ok {
		return id, false, errStreamID
	}
	if !dash {
		return encoding.StreamID{Ms: ms, Seq: missingSeq}, true, nil
	}
	if star && len(seqPart) == 1 && seqPart[0] == '*' {
		return encoding.StreamID{Ms: ms}, false, nil
	}
	seq, ok := string2ull(seqPart)
	if !ok {
		return id, false, errStreamID
	}
	return encoding.StreamID{Ms: ms, Seq: seq}, true, nil
}

// strictStreamID parses an ID that may not be "-" or "+".
func strictStreamID(b []byte) (encoding.StreamID, error) {
	id, _, err := parseStreamID(b, 0, true, false)
	return id, err
}

// string2ull parses an unsigned 64-bit number as Redis's string2ull does:
// strictly first (string2ll, refusing negatives), then as C's strtoull,
// which takes leading spaces, a sign (a minus negates modulo 2^64) and
// leading zeros, and refuses trailing text and overflow.
func string2ull(s []byte) (uint64, bool) {
	if v, ok := parseInt(s); ok {
		return uint64(v), v >= 0
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start || i != len(s) || overflow {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseRangeID parses one end of a range as streamParseIntervalIDOrReply
// does: "(" makes it exclusive (and the ID strict), which moves it one ID
// inwards.
func parseRangeID(b []byte, missingSeq uint64, end bool) (encoding.StreamID, error) {
	if len(b) > 1 && b[0] == '(' {
		id, _, err := parseStreamID(b[1:], missingSeq, true, false)
		if err != nil {
			return id, err
		}
		var ok bool
		if end {
			if id, ok = id.Prev(); !ok {
				return id, errStreamEnd
			}
		} else if id, ok = id.Next(); !ok {
			return id, errStreamStart
		}
		return id, nil
	}
	id, _, err := parseStreamID(b, missingSeq, false, false)
	return id, err
}

// readStream locks and looks up a stream for reading, so that its
// metadata and entries are of one state: k.Live is false when absent.
func readStream(c *Ctx, name []byte) (*storage.Key, error) {
	k, err := c.WriteKey(name)
	if err != nil {
		return nil, err
	}
	return k, CheckType(k, encoding.TypeStream)
}

// writeStreamID writes an ID as a bulk string.
func writeStreamID(c *Ctx, id encoding.StreamID) {
	var buf [48]byte
	c.Out.Bulk(id.AppendText(buf[:0]))
}

// streamEntry is an entry copied out of storage for a reply.
type streamEntry struct {
	id    encoding.StreamID
	pairs [][]byte // nil: the entry is gone (a pending ID whose entry was deleted)
}

// copyPairs copies an entry's fields and values out of iterator memory.
func copyPairs(pairs [][]byte) [][]byte {
	out := make([][]byte, len(pairs))
	for i, p := range pairs {
		out[i] = bytes.Clone(p)
	}
	return out
}

// writeEntry writes [id, [field, value, ...]], or [id, nil] for an entry
// that is gone.
func writeEntry(c *Ctx, e streamEntry) {
	c.Out.Array(2)
	writeStreamID(c, e.id)
	if e.pairs == nil {
		c.Out.NullArray()
		return
	}
	c.Out.BulkArray(e.pairs)
}

func writeEntries(c *Ctx, es []streamEntry) {
	c.Out.Array(len(es))
	for _, e := range es {
		writeEntry(c, e)
	}
}

// streamRange returns copies of up to count (0: all) live entries of k
// in [start, end].
func streamRange(c *Ctx, k *storage.Key, start, end encoding.StreamID, rev bool, count int64) ([]streamEntry, error) {
	var out []streamEntry
	err := c.Tx.StreamRange(k, start, end, rev, func(id encoding.StreamID, pairs [][]byte) bool {
		out = append(out, streamEntry{id, copyPairs(pairs)})
		return count == 0 || int64(len(out)) < count
	})
	return out, err
}

// xrange serves XRANGE key start end [COUNT n] and XREVRANGE key end
// start [COUNT n].
func xrange(c *Ctx, rev bool) error {
	startArg, endArg := c.Args[2], c.Args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, err := parseRangeID(startArg, 0, false)
	if err != nil {
		return err
	}
	end, err := parseRangeID(endArg, math.MaxUint64, true)
	if err != nil {
		return err
	}
	count := int64(-1)
	for j := 4; j < len(c.Args); j++ {
		if !Is(c.Args[j], "count") || j+1 >= len(c.Args) {
			return ErrSyntax
		}
		if count, err = ParseInt(c.Args[j+1]); err != nil {
			return err
		}
		count = max(count, 0)
		j++
	}
	k, err := readStream(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		c.Out.Array(0)
		return nil
	}
	if count == 0 {
		c.Out.NullArray()
		return nil
	}
	es, err := streamRange(c, k, start, end, rev, max(count, 0))
	if err != nil {
		return err
	}
	c.Out.MarkDeferred() // NB: as Redis's streamReplyWithRange
	writeEntries(c, es)
	return nil
}

func xlen(c *Ctx) error {
	k, err := readStream(c, c.Args[1])
	if err != nil {
		return err
	}
	c.Out.Int(int64(k.Meta.Size)) // 0 when absent
	return nil
}

// addTrimArgs are XADD's and XTRIM's options.
type addTrimArgs struct {
	trim       storage.StreamTrimArgs
	trimming   bool
	noMkStream bool
	// id is XADD's ID unless idAuto ("*"); seqGiven is false for "<ms>-*".
	id       encoding.StreamID
	idAuto   bool
	seqGiven bool
}

// parseAddTrim parses the options of XADD (xadd, up to its ID, whose
// index it returns) or XTRIM, as streamParseAddOrTrimArgsOrReply does.
func parseAddTrim(c *Ctx, xadd bool) (a addTrimArgs, idPos int, err error) {
	args := c.Args
	a.idAuto = true
	limitGiven := false
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			return a.finish(c, xadd, limitGiven, i)
		case (Is(opt, "maxlen") || Is(opt, "minid")) && more > 0:
			if a.trimming {
				return a, 0, errTrimBoth
			}
			a.trimming, a.trim.ByID, a.trim.Approx = true, Is(opt, "minid"), false
			if next := args[i+1]; more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				a.trim.Approx = next[0] == '~'
				i++
			}
			i++
			if a.trim.ByID {
				if a.trim.MinID, err = strictStreamID(args[i]); err != nil {
					return a, 0, err
				}
				continue
			}
			n, err := ParseInt(args[i])
			if err != nil {
				return a, 0, err
			}
			if n < 0 {
				return a, 0, errTrimMaxLen
			}
			a.trim.MaxLen = uint64(n)
		case Is(opt, "limit") && more > 0:
			n, err := ParseInt(args[i+1])
			if err != nil {
				return a, 0, err
			}
			if n < 0 {
				return a, 0, errTrimLimit
			}
			a.trim.Limit, limitGiven = n, true
			i++
		case xadd && Is(opt, "nomkstream"):
			a.noMkStream = true
		case xadd:
			a.id, a.seqGiven, err = parseStreamID(opt, 0, true, true)
			if err != nil {
				return a, 0, err
			}
			a.idAuto = false
			return a.finish(c, xadd, limitGiven, i)
		default:
			return a, 0, ErrSyntax
		}
	}
	return a.finish(c, xadd, limitGiven, i)
}

// finish checks the options together and sets the trimming limit: an
// approximate trim does at most 100 nodes' worth of work (of
// stream-node-max-entries, kept within 10,000 and 1,000,000) unless LIMIT
// says otherwise, an exact one has no limit. A primary's stream is obeyed
// without limit, LIMIT or not: Redis sends its trims as exact ones with
// the LIMIT the client gave.
func (a addTrimArgs) finish(c *Ctx, xadd, limitGiven bool, idPos int) (addTrimArgs, int, error) {
	switch {
	case a.trim.Limit != 0 && !a.trimming:
		return a, 0, errTrimLimitAlone
	case !xadd && !a.trimming:
		return a, 0, errTrimNone
	case c.Client.Master:
		a.trim.Limit = 0
	case limitGiven && !a.trim.Approx:
		return a, 0, errTrimLimitExact
	case !limitGiven && a.trim.Approx:
		n := c.Store.Encodings().StreamNodeEntries
		a.trim.Limit = 100 * n
		if n <= 0 || n > math.MaxInt64/100 {
			a.trim.Limit = 10000
		}
		a.trim.Limit = min(a.trim.Limit, 1000000)
	}
	return a, idPos, nil
}

// xadd serves XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold
// [LIMIT count]] *|id field value [field value ...].
func xadd(c *Ctx) error {
	a, idPos, err := parseAddTrim(c, true)
	if err != nil {
		return err
	}
	if idPos+3 > len(c.Args) || (len(c.Args)-idPos-1)%2 != 0 {
		return ErrArity(c.Cmd.Name)
	}
	pairs := c.Args[idPos+1:]
	if !a.idAuto && a.seqGiven && a.id.IsZero() {
		return errXAddZero
	}
	k, err := c.WriteKey(c.Args[1])
	if err != nil {
		return err
	}
	if err := CheckType(k, encoding.TypeStream); err != nil {
		return err
	}
	if !k.Live && a.noMkStream {
		c.PropagateNothing()
		c.Out.Null()
		return nil
	}
	if _, err := c.Tx.PrepareCollection(k, encoding.TypeStream); err != nil {
		return err
	}
	last := k.Meta.Stream.LastID
	if last == encoding.MaxStreamID {
		return errXAddExhausted
	}
	id, err := nextStreamID(c, last, a)
	if err != nil {
		return err
	}
	total := 0
	for _, p := range pairs {
		total += len(p)
	}
	if total > storage.StreamEntryLimit {
		return errXAddTooLarge
	}
	if err := c.Tx.StreamAdd(k, id, pairs); err != nil {
		return err
	}
	var trimmed int64
	if a.trimming {
		if trimmed, err = c.Tx.StreamTrim(k, a.trim); err != nil {
			return err
		}
	}
	if c.Feeding() {
		if err := propagateAdd(c, k, a, id, pairs); err != nil {
			return err
		}
	}
	c.Tx.StreamStore(k)
	c.Notify(NotifyStream, "xadd", c.Args[1])
	if trimmed > 0 {
		c.Notify(NotifyStream, "xtrim", c.Args[1])
	}
	writeStreamID(c, id)
	return nil
}

// nextStreamID returns XADD's ID after last: the one given, the next
// sequence of "<ms>-*", or for "*" the clock's milliseconds (or last's
// next sequence when the clock is not ahead of it).
func nextStreamID(c *Ctx, last encoding.StreamID, a addTrimArgs) (encoding.StreamID, error) {
	id := a.id
	switch {
	case a.idAuto:
		if ms := uint64(c.NowMs()); ms > last.Ms {
			id = encoding.StreamID{Ms: ms}
		} else {
			id, _ = last.Next()
		}
	case !a.seqGiven && a.id.Ms == last.Ms:
		if last.Seq == math.MaxUint64 {
			// NB: Redis 7.0 fails here without setting errno, which XADD
			// reports as the size error.
			return id, errXAddTooLarge
		}
		id = encoding.StreamID{Ms: last.Ms, Seq: last.Seq + 1}
	}
	if id.Compare(last) <= 0 {
		return id, errXAddSmaller
	}
	return id, nil
}

// xdel serves XDEL key id [id ...]. A missing key answers 0 before the
// IDs are read, as in Redis.
func xdel(c *Ctx) error {
	return removeStreamEntries(c, func(k *storage.Key) (int64, error) {
		return forEachID(c.Args[2:], func(id encoding.StreamID) (bool, error) { return c.Tx.StreamDelete(k, id) })
	})
}

// removeStreamEntries runs remove on the stream at c.Args[1] (XDEL,
// XTRIM) and replies how many entries it removed: 0 for a missing key.
func removeStreamEntries(c *Ctx, remove func(k *storage.Key) (int64, error)) error {
	k, err := readStream(c, c.Args[1])
	if err != nil {
		return err
	}
	var n int64
	if k.Live {
		if n, err = remove(k); err != nil {
			return err
		}
	}
	if n > 0 {
		c.Tx.StreamStore(k)
		c.Notify(NotifyStream, c.Cmd.Name, c.Args[1]) // xdel, xtrim
	} else {
		c.PropagateNothing()
	}
	c.Out.Int(n)
	return nil
}

// forEachID parses every argument as an ID, then calls fn with each and
// counts those it did something to: XDEL and XACK change nothing when an
// argument is not an ID.
func forEachID(args [][]byte, fn func(id encoding.StreamID) (bool, error)) (int64, error) {
	ids := make([]encoding.StreamID, 0, len(args))
	for _, a := range args {
		id, err := strictStreamID(a)
		if err != nil {
			return 0, err
		}
		ids = append(ids, id)
	}
	var n int64
	for _, id := range ids {
		ok, err := fn(id)
		if err != nil {
			return 0, err
		}
		n += boolInt(ok)
	}
	return n, nil
}

// xtrim serves XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count].
func xtrim(c *Ctx) error {
	a, _, err := parseAddTrim(c, false)
	if err != nil {
		return err
	}
	return removeStreamEntries(c, func(k *storage.Key) (int64, error) {
		n, err := c.Tx.StreamTrim(k, a.trim)
		if err == nil && n > 0 && a.trim.Approx && c.Feeding() {
			var args [][]byte
			if args, err = propagateTrim(c, [][]byte{[]byte("XTRIM"), k.Name}, k, a); err == nil {
				c.Propagate(args...)
			}
		}
		return n, err
	})
}

// xsetid serves XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
func xsetid(c *Ctx) error {
	id, err := strictStreamID(c.Args[2])
	if err != nil {
		return err
	}
	added := int64(-1)
	var maxDeleted encoding.StreamID
	for i := 3; i < len(c.Args); i += 2 {
		more := i+1 < len(c.Args)
		switch {
		case Is(c.Args[i], "entriesadded") && more:
			if added, err = ParseInt(c.Args[i+1]); err != nil {
				return err
			}
			if added < 0 {
				return Errf("entries_added must be positive")
			}
		case Is(c.Args[i], "maxdeletedid") && more:
			if maxDeleted, err = strictStreamID(c.Args[i+1]); err != nil {
				return err
			}
			if id.Compare(maxDeleted) < 0 {
				return Errf("The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
			}
		default:
			return ErrSyntax
		}
	}
	k, err := readStream(c, c.Args[1])
	if err != nil {
		return err
	}
	if !k.Live {
		return ErrNoSuchKey
	}
	if k.Meta.Size > 0 {
		top, _, err := c.Tx.StreamEdge(k, true)
		if err != nil {
			return err
		}
		if id.Compare(top) < 0 {
			return Errf("The ID specified in XSETID is smaller than the target stream top item")
		}
		if added != -1 && k.Meta.Size > uint64(added) {
			return Errf("The entries_added specified in XSETID is smaller than the target stream length")
		}
	}
	s := &k.Meta.Stream
	s.LastID = id
	if added != -1 {
		s.EntriesAdded = uint64(added)
	}
	if !maxDeleted.IsZero() {
		s.MaxDeletedID = maxDeleted
	}
	c.Tx.StreamStoreQuiet(k)
	c.Notify(NotifyStream, "xsetid", c.Args[1])
	c.Out.OK()
	return nil
}
