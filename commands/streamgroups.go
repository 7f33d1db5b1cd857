package commands

import (
	"math"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Consumer groups: XGROUP, XACK, XPENDING, XCLAIM and XAUTOCLAIM, and the
// read counter and lag of Redis 7.0 (entries-read, lag), kept as
// t_stream.c keeps them: a counter that stays valid while no entry after
// the group's position was deleted, estimated from the stream's counters
// otherwise, and unknown (nil) when it cannot be.

var (
	errGroupExists = &Error{"BUSYGROUP", "Consumer Group name already exists"}
	errXGroupKey   = Errf("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
)

// errNoGroup is the NOGROUP error of XPENDING, XCLAIM and XAUTOCLAIM.
func errNoGroup(key, group []byte) error {
	return &Error{"NOGROUP", "No such key '" + string(key) + "' or consumer group '" + string(group) + "'"}
}

// errNoGroupOfKey is the NOGROUP error of XGROUP and XINFO CONSUMERS.
func errNoGroupOfKey(group, key []byte) error {
	return &Error{"NOGROUP", "No such consumer group '" + string(group) + "' for key name '" + string(key) + "'"}
}

// groupLag returns the number of entries the group has yet to read;
// ok is false when it cannot be known.
func groupLag(m *encoding.Meta, g *storage.StreamGroup) (lag int64, ok bool) {
	added := int64(m.Stream.EntriesAdded)
	switch {
	case added == 0:
		return 0, true
	case g.EntriesRead != -1 && !storage.StreamTombstonesFrom(m, g.LastID):
		return added - g.EntriesRead, true
	}
	if read := storage.StreamEntriesRead(m, g.LastID); read != -1 {
		return added - read, true
	}
	return 0, false
}

// advanceGroup moves the group's last delivered ID to id, delivered now,
// counting it as read.
func advanceGroup(k *storage.Key, g *storage.StreamGroup, id encoding.StreamID) {
	if g.EntriesRead != -1 && !storage.StreamTombstonesFrom(&k.Meta, id) {
		g.EntriesRead++
	} else if k.Meta.Stream.EntriesAdded != 0 {
		g.EntriesRead = storage.StreamEntriesRead(&k.Meta, id)
	}
	g.LastID = id
}

// writeEntriesRead writes a read counter, or nil when unknown.
func writeEntriesRead(c *Ctx, n int64) {
	if n == -1 {
		c.Out.Null()
		return
	}
	c.Out.Int(n)
}

func writeLag(c *Ctx, k *storage.Key, g *storage.StreamGroup) {
	if lag, ok := groupLag(&k.Meta, g); ok {
		c.Out.Int(lag)
		return
	}
	c.Out.Null()
}

// xgroupCommand is XGROUP and its subcommands.
func xgroupCommand() *Command {
	const grp = "stream"
	sub := func(name string, arity int, flags Flags, summary, since, complexity string) *Command {
		return &Command{Name: "xgroup|" + name, Arity: arity, Flags: flags, FirstKey: 2, LastKey: 2, Step: 1,
			ACL: []string{"write", "stream", "slow"}, Group: grp, Summary: summary, Since: since, Complexity: complexity, Handler: xgroup}
	}
	return &Command{Name: "xgroup", Arity: -2, ACL: []string{"slow"}, Group: grp,
		Summary: "A container for consumer groups commands.", Since: "5.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("create", -5, Write|DenyOOM, "Creates a consumer group.", "5.0.0", "O(1)"),
			sub("createconsumer", 5, Write|DenyOOM, "Creates a consumer in a consumer group.", "6.2.0", "O(1)"),
			sub("delconsumer", 5, Write, "Deletes a consumer from a consumer group.", "5.0.0", "O(1)"),
			sub("destroy", 4, Write, "Destroys a consumer group.", "5.0.0", "O(N) where N is the number of entries in the group's pending entries list (PEL)."),
			sub("setid", -5, Write, "Sets the last-delivered ID of a consumer group.", "5.0.0", "O(1)"),
			containerHelp("xgroup", grp, "5.0.0", []string{"stream", "slow"},
				"CREATE <key> <groupname> <id|$> [option]",
				"    Create a new consumer group. Options are:",
				"    * MKSTREAM",
				"      Create the empty stream if it does not exist.",
				"    * ENTRIESREAD entries_read",
				"      Set the group's entries_read counter (internal use).",
				"CREATECONSUMER <key> <groupname> <consumer>",
				"    Create a new consumer in the specified group.",
				"DELCONSUMER <key> <groupname> <consumer>",
				"    Remove the specified consumer.",
				"DESTROY <key> <groupname>",
				"    Remove the specified group.",
				"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
				"    Set the current group ID and entries_read counter."),
		}}
}

// xgroup serves XGROUP CREATE, SETID, DESTROY, CREATECONSUMER and
// DELCONSUMER, checking in xgroupCommand's order: options, the key, the
// group, then each subcommand's arguments.
func xgroup(c *Ctx) error {
	sub := c.Cmd.Name[len("xgroup|"):]
	create, setid := sub == "create", sub == "setid"
	mkstream := false
	entriesRead := int64(-1)
	for i := 5; i < len(c.Args); {
		switch {
		case create && Is(c.Args[i], "mkstream"):
			mkstream = true
			i++
		case (create || setid) && Is(c.Args[i], "entriesread") && i+1 < len(c.Args):
			n, err := ParseInt(c.Args[i+1])
			if err != nil {
				return err
			}
			if n < 0 && n != -1 {
				return Errf("value for ENTRIESREAD must be positive or -1")
			}
			entriesRead = n
			i += 2
		default:
			return ErrSubcommandSyntax(c)
		}
	}
	k, err := readStream(c, c.Args[2])
	if err != nil {
		return err
	}
	name := c.Args[3]
	var g *storage.StreamGroup
	if !mkstream {
		if !k.Live {
			return errXGroupKey
		}
		if g, err = c.Tx.StreamGroup(k, name); err != nil {
			return err
		}
		if g == nil && sub != "create" && sub != "destroy" {
			return errNoGroupOfKey(name, c.Args[2])
		}
	}
	switch {
	case create && len(c.Args) <= 8:
		return xgroupCreate(c, k, name, entriesRead)
	case setid && (len(c.Args) == 5 || len(c.Args) == 7):
		id := k.Meta.Stream.LastID
		if !isArg(c.Args[4], "$") {
			if id, _, err = parseStreamID(c.Args[4], 0, false, false); err != nil {
				return err
			}
		}
		g.LastID, g.EntriesRead = id, entriesRead
		g.Save()
		c.Notify(NotifyStream, "xgroup-setid", c.Args[2])
		c.Out.OK()
	case sub == "destroy":
		if g == nil {
			c.Out.Int(0)
			return nil
		}
		if _, err := c.Tx.StreamDestroyGroup(k, name); err != nil {
			return err
		}
		c.Tx.StreamStoreQuiet(k)
		c.Tx.SignalReady(k) // its blocked consumers get NOGROUP
		c.Notify(NotifyStream, "xgroup-destroy", c.Args[2])
		c.Out.Int(1)
	case sub == "createconsumer":
		_, created, err := g.CreateConsumer(c.Args[4], c.NowMs())
		if err != nil {
			return err
		}
		g.Save()
		if created {
			c.Notify(NotifyStream, "xgroup-createconsumer", c.Args[2])
		}
		c.Out.Int(boolInt(created))
	case sub == "delconsumer":
		pending, ok, err := g.DeleteConsumer(c.Args[4])
		if err != nil {
			return err
		}
		if ok {
			g.Save()
			c.Notify(NotifyStream, "xgroup-delconsumer", c.Args[2])
		}
		c.Out.Int(int64(pending))
	default:
		return ErrSubcommandSyntax(c)
	}
	return nil
}

// isArg reports whether arg is exactly s.
func isArg(arg []byte, s string) bool { return string(arg) == s }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// xgroupCreate creates the group at the ID argument ("$": the stream's
// last ID), and the stream with MKSTREAM.
func xgroupCreate(c *Ctx, k *storage.Key, name []byte, entriesRead int64) error {
	id := k.Meta.Stream.LastID // 0-0 when the key is absent
	if !isArg(c.Args[4], "$") {
		var err error
		if id, err = strictStreamID(c.Args[4]); err != nil {
			return err
		}
	}
	if _, err := c.Tx.PrepareCollection(k, encoding.TypeStream); err != nil {
		return err
	}
	created, err := c.Tx.StreamCreateGroup(k, name, id, entriesRead)
	if err != nil {
		return err
	}
	if !created {
		return errGroupExists
	}
	c.Tx.StreamStoreQuiet(k)
	c.Notify(NotifyStream, "xgroup-create", c.Args[2])
	c.Out.OK()
	return nil
}

// openGroup locks and looks up a stream and its group for the commands
// that answer a missing key or group with 0 (XACK) or NOGROUP; g is nil
// when either is missing.
func openGroup(c *Ctx, key, group []byte) (*storage.Key, *storage.StreamGroup, error) {
	k, err := readStream(c, key)
	if err != nil {
		return nil, nil, err
	}
	g, err := c.Tx.StreamGroup(k, group)
	return k, g, err
}

// xack serves XACK key group id [id ...]: a missing key or group answers
// 0 before the IDs are read, as in Redis.
func xack(c *Ctx) error {
	_, g, err := openGroup(c, c.Args[1], c.Args[2])
	if err != nil {
		return err
	}
	if g == nil {
		c.Out.Int(0)
		return nil
	}
	n, err := forEachID(c.Args[3:], g.Ack)
	if err != nil {
		return err
	}
	if n > 0 {
		g.Save()
	}
	c.Out.Int(n)
	return nil
}

// xpending serves XPENDING key group [[IDLE min-idle] start end count
// [consumer]].
func xpending(c *Ctx) error {
	n := len(c.Args)
	if n != 3 && (n < 6 || n > 9) {
		return ErrSyntax
	}
	var (
		minIdle, count int64
		start, end     encoding.StreamID
		consumer       []byte
		err            error
	)
	if n >= 6 {
		at := 3
		if Is(c.Args[3], "idle") {
			if minIdle, err = ParseInt(c.Args[4]); err != nil {
				return err
			}
			if n < 8 {
				return ErrSyntax
			}
			at += 2
		}
		if count, err = ParseInt(c.Args[at+2]); err != nil {
			return err
		}
		count = max(count, 0)
		if start, err = parseRangeID(c.Args[at], 0, false); err != nil {
			return err
		}
		if end, err = parseRangeID(c.Args[at+1], math.MaxUint64, true); err != nil {
			return err
		}
		if at+3 < n {
			consumer = c.Args[at+3]
		}
	}
	_, g, err := openGroup(c, c.Args[1], c.Args[2])
	if err != nil {
		return err
	}
	if g == nil {
		return errNoGroup(c.Args[1], c.Args[2])
	}
	if n == 3 {
		return xpendingSummary(c, g)
	}
	type row struct {
		id       encoding.StreamID
		consumer []byte
		idle     int64
		count    uint64
	}
	var rows []row
	now := c.NowMs()
	visit := func(id encoding.StreamID, nack storage.StreamNACK) bool {
		if count == 0 {
			return false
		}
		idle := now - nack.DeliveryTime
		if minIdle != 0 && idle < minIdle {
			return true
		}
		rows = append(rows, row{id, append([]byte(nil), nack.Consumer...), max(idle, 0), nack.DeliveryCount})
		count--
		return true
	}
	if consumer != nil {
		cons, err := g.Consumer(consumer)
		if err != nil {
			return err
		}
		var nerr error
		if cons != nil {
			err = g.OwnedRange(consumer, start, end, func(id encoding.StreamID) bool {
				nack, ok, err := g.NACK(id)
				if err != nil {
					nerr = err
					return false
				}
				return !ok || visit(id, nack)
			})
		}
		if err == nil {
			err = nerr
		}
	} else {
		err = g.PEL(start, end, visit)
	}
	if err != nil {
		return err
	}
	c.Out.MarkDeferred() // NB: Redis counts the entries as it goes
	c.Out.Array(len(rows))
	for _, r := range rows {
		c.Out.Array(4)
		writeStreamID(c, r.id)
		c.Out.Bulk(r.consumer)
		c.Out.Int(r.idle)
		c.Out.Int(int64(r.count))
	}
	return nil
}

// xpendingSummary writes [count, first ID, last ID, [[consumer, count]
// ...]], the consumers in name order with their counts as bulk strings.
func xpendingSummary(c *Ctx, g *storage.StreamGroup) error {
	if g.Pending == 0 {
		c.Out.Array(4)
		c.Out.Int(0)
		c.Out.Null()
		c.Out.Null()
		c.Out.NullArray()
		return nil
	}
	first, _, err := g.PELEdge(false)
	if err != nil {
		return err
	}
	last, _, err := g.PELEdge(true)
	if err != nil {
		return err
	}
	all, err := consumerList(g)
	if err != nil {
		return err
	}
	var owners []*storage.StreamConsumer
	for _, cons := range all {
		if cons.Pending > 0 {
			owners = append(owners, cons)
		}
	}
	c.Out.Array(4)
	c.Out.Int(int64(g.Pending))
	writeStreamID(c, first)
	writeStreamID(c, last)
	c.Out.MarkDeferred() // NB: Redis counts the consumers as it goes
	c.Out.Array(len(owners))
	for _, o := range owners {
		c.Out.Array(2)
		c.Out.Bulk(o.Name)
		c.Out.BulkInt(int64(o.Pending))
	}
	return nil
}

// claim is the part XCLAIM and XAUTOCLAIM share: id, pending as nack
// (nil: created by FORCE), goes to the claiming consumer, created if
// new, with the delivery time and count given.
type claim struct {
	c      *Ctx
	k      *storage.Key
	g      *storage.StreamGroup
	name   []byte
	cons   *storage.StreamConsumer
	justID bool
	out    []streamEntry
	// feeding passes each change on to redis-server replicas; last is
	// the group's last ID before the call.
	feeding bool
	last    encoding.StreamID
}

// newClaim starts XCLAIM's or XAUTOCLAIM's work for the consumer name.
func newClaim(c *Ctx, k *storage.Key, g *storage.StreamGroup, name []byte, justID bool) *claim {
	// Replicas see each claim as an XCLAIM of its outcome (streamfeed.go).
	c.PropagateNothing()
	return &claim{c: c, k: k, g: g, name: name, justID: justID, feeding: c.Feeding(), last: g.LastID}
}

// drop removes the pending entry id, whose entry is gone.
func (cl *claim) drop(id encoding.StreamID, nack storage.StreamNACK) error {
	if cl.feeding {
		propagateClaim(cl.c, cl.k.Name, cl.g, nack.Consumer, id, nack)
	}
	_, err := cl.g.Ack(id)
	return err
}

// finish saves the group and passes on a last ID it moved to.
func (cl *claim) finish() {
	if cl.feeding && cl.g.LastID != cl.last {
		propagateGroupID(cl.c, cl.k.Name, cl.g)
	}
	cl.g.Save()
}

// take gives id to the consumer and records it for the reply.
func (cl *claim) take(id encoding.StreamID, nack *storage.StreamNACK, n storage.StreamNACK, pairs [][]byte) error {
	if cl.cons == nil {
		now := cl.c.NowMs()
		cons, created, err := cl.g.CreateConsumer(cl.name, now)
		if err != nil {
			return err
		}
		if created {
			cl.c.Notify(NotifyStream, "xgroup-createconsumer", cl.k.Name)
		} else {
			cons.Touch(now)
		}
		cl.cons = cons
	}
	if err := cl.g.SetNACK(id, cl.cons, n, nack); err != nil {
		return err
	}
	if cl.feeding {
		propagateClaim(cl.c, cl.k.Name, cl.g, cl.name, id, n)
	}
	if cl.justID {
		pairs = nil
	}
	cl.out = append(cl.out, streamEntry{id, pairs})
	return nil
}

// writeClaimed writes the claimed entries, or their IDs with JUSTID.
func (cl *claim) writeClaimed() {
	cl.c.Out.MarkDeferred() // NB: Redis counts the claimed entries as it goes
	if !cl.justID {
		writeEntries(cl.c, cl.out)
		return
	}
	cl.c.Out.Array(len(cl.out))
	for _, e := range cl.out {
		writeStreamID(cl.c, e.id)
	}
}

// xclaim serves XCLAIM key group consumer min-idle-time id [id ...]
// [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id].
func xclaim(c *Ctx) error {
	k, g, err := openGroup(c, c.Args[1], c.Args[2])
	if err != nil {
		return err
	}
	if g == nil {
		return errNoGroup(c.Args[1], c.Args[2])
	}
	minIdle, err := ParseInt(c.Args[4])
	if err != nil {
		return Errf("Invalid min-idle-time argument for XCLAIM")
	}
	minIdle = max(minIdle, 0)
	j := 5
	var ids []encoding.StreamID
	for ; j < len(c.Args); j++ {
		id, err := strictStreamID(c.Args[j])
		if err != nil {
			break
		}
		ids = append(ids, id)
	}
	now := c.NowMs()
	cl := newClaim(c, k, g, c.Args[3], false)
	var force bool
	delivery, retry := int64(-1), int64(-1)
	var lastID encoding.StreamID
	for ; j < len(c.Args); j++ {
		opt, more := c.Args[j], j+1 < len(c.Args)
		switch {
		case Is(opt, "force"):
			force = true
		case Is(opt, "justid"):
			cl.justID = true
		case Is(opt, "idle") && more:
			j++
			idle, err := ParseInt(c.Args[j])
			if err != nil {
				return Errf("Invalid IDLE option argument for XCLAIM")
			}
			delivery = now - idle
		case Is(opt, "time") && more:
			j++
			if delivery, err = ParseInt(c.Args[j]); err != nil {
				return Errf("Invalid TIME option argument for XCLAIM")
			}
		case Is(opt, "retrycount") && more:
			j++
			if retry, err = ParseInt(c.Args[j]); err != nil {
				return Errf("Invalid RETRYCOUNT option argument for XCLAIM")
			}
		case Is(opt, "lastid") && more:
			j++
			if lastID, err = strictStreamID(c.Args[j]); err != nil {
				return err
			}
		default:
			return Errf("Unrecognized XCLAIM option '%s'", opt)
		}
	}
	if lastID.Compare(g.LastID) > 0 {
		g.LastID = lastID
	}
	if delivery < 0 || delivery > now {
		// No IDLE or TIME, or one that makes no sense: delivered now.
		delivery = now
	}
	for _, id := range ids {
		nack, pending, err := g.NACK(id)
		if err != nil {
			return err
		}
		pairs, exists, err := c.Tx.StreamGet(k, id)
		if err != nil {
			return err
		}
		if !exists {
			if pending {
				if err := cl.drop(id, nack); err != nil {
					return err
				}
			}
			continue
		}
		prev := &nack
		if !pending {
			if !force {
				continue
			}
			prev, nack = nil, storage.StreamNACK{DeliveryTime: now, DeliveryCount: 1}
		} else if minIdle > 0 && now-nack.DeliveryTime < minIdle {
			continue
		}
		n := storage.StreamNACK{DeliveryTime: delivery, DeliveryCount: nack.DeliveryCount}
		if retry >= 0 {
			n.DeliveryCount = uint64(retry)
		} else if !cl.justID {
			n.DeliveryCount++
		}
		if err := cl.take(id, prev, n, pairs); err != nil {
			return err
		}
	}
	cl.finish()
	cl.writeClaimed()
	return nil
}

// xautoclaimAttempts bounds the pending entries XAUTOCLAIM looks at: ten
// per entry it may claim.
const xautoclaimAttempts = 10

// xautoclaim serves XAUTOCLAIM key group consumer min-idle-time start
// [COUNT count] [JUSTID]: it claims pending entries idle long enough from
// start, drops those whose entries were deleted, and returns the next
// start.
func xautoclaim(c *Ctx) error {
	minIdle, err := ParseInt(c.Args[4])
	if err != nil {
		return Errf("Invalid min-idle-time argument for XAUTOCLAIM")
	}
	minIdle = max(minIdle, 0)
	start, err := parseRangeID(c.Args[5], 0, false)
	if err != nil {
		return err
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(c.Args); j++ {
		switch {
		case Is(c.Args[j], "count") && j+1 < len(c.Args):
			n, err := ParseInt(c.Args[j+1])
			if err != nil || n < 1 || n > math.MaxInt64/16 {
				return Errf("COUNT must be > 0")
			}
			count = n
			j++
		case Is(c.Args[j], "justid"):
			justID = true
		default:
			return ErrSyntax
		}
	}
	k, g, err := openGroup(c, c.Args[1], c.Args[2])
	if err != nil {
		return err
	}
	if g == nil {
		return errNoGroup(c.Args[1], c.Args[2])
	}
	now := c.NowMs()
	cl := newClaim(c, k, g, c.Args[3], justID)
	type pending struct {
		id   encoding.StreamID
		nack storage.StreamNACK
	}
	// Visit at most attempts entries and one more: the next start.
	attempts := count * xautoclaimAttempts
	var visit []pending
	err = g.PEL(start, encoding.MaxStreamID, func(id encoding.StreamID, n storage.StreamNACK) bool {
		n.Consumer = append([]byte(nil), n.Consumer...)
		visit = append(visit, pending{id, n})
		return int64(len(visit)) <= attempts
	})
	if err != nil {
		return err
	}
	var deleted []encoding.StreamID
	next := encoding.StreamID{}
	i := 0
	for ; i < len(visit) && int64(i) < attempts && count > 0; i++ {
		p := visit[i]
		pairs, exists, err := c.Tx.StreamGet(k, p.id)
		if err != nil {
			return err
		}
		if !exists {
			if err := cl.drop(p.id, p.nack); err != nil {
				return err
			}
			deleted = append(deleted, p.id)
			count--
			continue
		}
		if minIdle > 0 && now-p.nack.DeliveryTime < minIdle {
			continue
		}
		n := storage.StreamNACK{DeliveryTime: now, DeliveryCount: p.nack.DeliveryCount}
		if !justID {
			n.DeliveryCount++
		}
		if err := cl.take(p.id, &p.nack, n, pairs); err != nil {
			return err
		}
		count--
	}
	if i < len(visit) {
		next = visit[i].id
	}
	cl.finish()
	c.Out.Array(3)
	c.Out.MarkDeferred() // NB: as Redis, which learns the next ID last
	writeStreamID(c, next)
	cl.writeClaimed()
	c.Out.Array(len(deleted))
	for _, id := range deleted {
		writeStreamID(c, id)
	}
	return nil
}
