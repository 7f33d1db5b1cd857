package commands

import (
	"math"
	"time"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// XREAD and XREADGROUP read the entries after an ID of each stream and,
// with BLOCK, wait for new ones. Blocked readers are woken by any write of
// their keys; each serves only when its stream moved on since it blocked,
// as Redis serves the clients of a stream XADD signalled.

// xreadArgs are XREAD's and XREADGROUP's options.
type xreadArgs struct {
	grouped bool
	// block is BLOCK's timeout; blocking is false without BLOCK.
	block    time.Duration
	blocking bool
	count    int64 // 0: all
	keys     [][]byte
	idArgs   [][]byte
	group    []byte
	consumer []byte
	noack    bool
}

var (
	errXReadUnbalanced = Errf("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
	errXReadGroupOnly  = Errf("The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
	errXReadNoAckOnly  = Errf("The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
	errXReadNoGroup    = Errf("Missing GROUP option for XREADGROUP")
	errXReadDollar     = Errf("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
	errXReadGT         = Errf("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
	errGroupGone       = &Error{"NOGROUP", "the consumer group this client was blocked on no longer exists"}
	errStreamGone      = &Error{"UNBLOCKED", "the stream key no longer exists"}
)

// parseBlockMillis parses BLOCK's timeout, in milliseconds, as Redis's
// getTimeoutFromObjectOrReply does for them.
func parseBlockMillis(b []byte, now int64) (time.Duration, error) {
	ms, err := ParseInt(b)
	switch {
	case err != nil:
		return 0, Errf("timeout is not an integer or out of range")
	case ms < 0:
		return 0, ErrNegTimeout
	case ms > 0 && ms > math.MaxInt64-now:
		return 0, Errf("timeout is out of range")
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func parseXRead(c *Ctx, grouped bool) (*xreadArgs, error) {
	a := &xreadArgs{grouped: grouped}
	args := c.Args
	streams := 0
	for i := 1; i < len(args) && streams == 0; i++ {
		more := len(args) - i - 1
		switch o := args[i]; {
		case Is(o, "block") && more > 0:
			if c.InScript {
				return nil, Errf("%s command is not allowed with BLOCK option from scripts", args[0])
			}
			i++
			var err error
			if a.block, err = parseBlockMillis(args[i], c.NowMs()); err != nil {
				return nil, err
			}
			a.blocking = true
		case Is(o, "count") && more > 0:
			i++
			n, err := ParseInt(args[i])
			if err != nil {
				return nil, err
			}
			a.count = max(n, 0)
		case Is(o, "streams") && more > 0:
			streams = i + 1
			if (len(args)-streams)%2 != 0 {
				return nil, errXReadUnbalanced
			}
		case Is(o, "group") && more >= 2:
			if !grouped {
				return nil, errXReadGroupOnly
			}
			a.group, a.consumer = args[i+1], args[i+2]
			i += 2
		case Is(o, "noack"):
			if !grouped {
				return nil, errXReadNoAckOnly
			}
			a.noack = true
		default:
			return nil, ErrSyntax
		}
	}
	if streams == 0 {
		return nil, ErrSyntax
	}
	if grouped && a.group == nil {
		return nil, errXReadNoGroup
	}
	n := (len(args) - streams) / 2
	a.keys, a.idArgs = args[streams:streams+n], args[streams+n:]
	return a, nil
}

// xread serves XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ... and
// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
// key ... id ....
func xread(c *Ctx, grouped bool) error {
	a, err := parseXRead(c, grouped)
	if err != nil {
		return err
	}
	if grouped {
		// Replicas see what the reads did to the groups (streamfeed.go).
		c.PropagateNothing()
	}
	c.Tx.Lock(c.DB(), a.keys...)
	// gt is the ID each stream's entries must follow; MaxStreamID stands
	// for ">", the group's last delivered ID.
	gt := make([]encoding.StreamID, len(a.keys))
	for i, name := range a.keys {
		k, err := readStream(c, name)
		if err != nil {
			return err
		}
		if grouped {
			g, err := c.Tx.StreamGroup(k, a.group)
			if err != nil {
				return err
			}
			if g == nil {
				return &Error{"NOGROUP", "No such key '" + string(name) + "' or consumer group '" + string(a.group) + "' in XREADGROUP with GROUP option"}
			}
		}
		switch arg := a.idArgs[i]; {
		case len(arg) == 1 && arg[0] == '$':
			if grouped {
				return errXReadDollar
			}
			gt[i] = k.Meta.Stream.LastID
		case len(arg) == 1 && arg[0] == '>':
			if !grouped {
				return errXReadGT
			}
			gt[i] = encoding.MaxStreamID
		default:
			if gt[i], err = strictStreamID(arg); err != nil {
				return err
			}
		}
	}
	var served []streamRead
	for i, name := range a.keys {
		r, ok, err := a.serve(c, name, gt[i], nil)
		if err != nil {
			return err
		}
		if ok {
			served = append(served, r)
		}
	}
	if len(served) > 0 || !a.blocking || c.InMulti {
		if len(served) > 0 {
			c.Out.MarkDeferred() // NB: Redis counts the streams it served as it goes
		}
		writeStreamReads(c, served)
		return nil
	}
	// Blocked readers serve once a stream moves past what it holds now:
	// its last ID, or the ID the reader asked for if later.
	since := make([]encoding.StreamID, len(a.keys))
	for i, name := range a.keys {
		k, err := readStream(c, name)
		if err != nil {
			return err
		}
		since[i] = k.Meta.Stream.LastID
		if !grouped && gt[i].Compare(since[i]) > 0 {
			since[i] = gt[i]
		}
	}
	ok, err := c.Server.BlockReader(c, a.keys, a.block, func() (bool, error) {
		c.Tx.Lock(c.DB(), a.keys...)
		for i, name := range a.keys {
			r, ok, err := a.serve(c, name, gt[i], &since[i])
			if err != nil || ok {
				if ok {
					writeStreamReads(c, []streamRead{r})
				}
				return ok, err
			}
		}
		return false, nil
	})
	if err == nil && !ok {
		c.Out.NullArray()
	}
	return err
}

// streamRead is what one stream contributes to a reply.
type streamRead struct {
	key     []byte
	entries []streamEntry
}

// writeStreamReads writes XREAD's reply: a stream → entries map (in
// RESP2 an array of pairs), or a null array when nothing was read.
func writeStreamReads(c *Ctx, rs []streamRead) {
	if len(rs) == 0 {
		c.Out.NullArray()
		return
	}
	if c.Out.Proto() == 3 {
		c.Out.Map(len(rs))
	} else {
		c.Out.Array(len(rs))
	}
	for _, r := range rs {
		if c.Out.Proto() == 2 {
			c.Out.Array(2)
		}
		c.Out.Bulk(r.key)
		c.Out.MarkDeferred() // NB: as Redis's streamReplyWithRange
		writeEntries(c, r.entries)
	}
}

// serve reads the stream name for the reply if it has something for the
// reader, as xreadCommand's synchronous pass does: entries after gt[i]
// (for ">", after the group's last delivered ID), or a consumer's history.
// A woken reader passes since, what its stream held when it blocked: it
// serves when the stream has an entry for it or moved past since, and a
// group that went away is an error.
func (a *xreadArgs) serve(c *Ctx, name []byte, gt encoding.StreamID, since *encoding.StreamID) (streamRead, bool, error) {
	r := streamRead{key: name}
	k, err := readStream(c, name)
	if since != nil && a.grouped && (err == ErrWrongType || (err == nil && !k.Live)) {
		// As Redis 7.0: a group reader's stream that went away (deleted,
		// flushed, made another type) ends the wait.
		return r, false, errStreamGone
	}
	if since != nil && err == ErrWrongType {
		return r, false, nil // a woken reader waits on a key of another type
	}
	if err != nil || !k.Live {
		return r, false, err
	}
	var g *storage.StreamGroup
	if a.grouped {
		if g, err = c.Tx.StreamGroup(k, a.group); err != nil {
			return r, false, err
		}
		if g == nil {
			return r, false, errGroupGone // only a woken reader gets here
		}
	}
	history := a.grouped && gt != encoding.MaxStreamID
	if a.grouped && !history {
		gt = g.LastID
	}
	if !history {
		top, ok, err := c.Tx.StreamEdge(k, true)
		if err != nil {
			return r, false, err
		}
		moved := since != nil && k.Meta.Stream.LastID.Compare(*since) > 0 && k.Meta.Stream.LastID.Compare(gt) > 0
		if !(ok && top.Compare(gt) > 0) && !moved {
			return r, false, nil
		}
	}
	start, _ := gt.Next()
	switch {
	case history:
		r.entries, err = a.readHistory(c, k, g, start)
	case a.grouped:
		r.entries, err = a.deliver(c, k, g, start)
	default:
		r.entries, err = streamRange(c, k, start, encoding.MaxStreamID, false, a.count)
	}
	return r, err == nil, err
}

// consumerOf returns the reading consumer, created if new, seen now. A
// new one goes to redis-server replicas as XGROUP CREATECONSUMER under
// NOACK only, as Redis 7.0 propagates it: otherwise the XCLAIM of each
// entry delivered creates it there.
func (a *xreadArgs) consumerOf(c *Ctx, key []byte, g *storage.StreamGroup, now int64) (*storage.StreamConsumer, error) {
	cons, created, err := g.CreateConsumer(a.consumer, now)
	switch {
	case err != nil:
	case created:
		c.Notify(NotifyStream, "xgroup-createconsumer", key)
		if c.Feeding() && a.noack {
			propagateConsumer(c, key, g, cons.Name)
		}
	default:
		cons.Touch(now)
	}
	return cons, err
}

// deliver reads the entries from start for the group, moving its last
// delivered ID and read counter, and, unless NOACK, makes them pending
// for the consumer (taking them from another consumer whose they were,
// after an XGROUP SETID).
func (a *xreadArgs) deliver(c *Ctx, k *storage.Key, g *storage.StreamGroup, start encoding.StreamID) ([]streamEntry, error) {
	now := c.NowMs()
	cons, err := a.consumerOf(c, k.Name, g, now)
	if err != nil {
		return nil, err
	}
	es, err := streamRange(c, k, start, encoding.MaxStreamID, false, a.count)
	if err != nil {
		return nil, err
	}
	feeding, last := c.Feeding(), g.LastID
	for _, e := range es {
		if e.id.Compare(g.LastID) > 0 {
			advanceGroup(k, g, e.id)
		}
		if a.noack {
			continue
		}
		prev, had, err := g.NACK(e.id)
		if err != nil {
			return nil, err
		}
		n := storage.StreamNACK{DeliveryTime: now, DeliveryCount: 1}
		if had {
			err = g.SetNACK(e.id, cons, n, &prev)
		} else {
			err = g.SetNACK(e.id, cons, n, nil)
		}
		if err != nil {
			return nil, err
		}
		if feeding {
			propagateClaim(c, k.Name, g, cons.Name, e.id, n)
		}
	}
	if feeding && a.noack && g.LastID != last {
		// NB: without NOACK, each XCLAIM's LASTID moves the group, as
		// Redis 7.0 leaves it.
		propagateGroupID(c, k.Name, g)
	}
	g.Save()
	return es, nil
}

// readHistory reads the consumer's pending entries from start: a
// delivery again for those that still exist, [id, nil] for the others.
func (a *xreadArgs) readHistory(c *Ctx, k *storage.Key, g *storage.StreamGroup, start encoding.StreamID) ([]streamEntry, error) {
	now := c.NowMs()
	cons, err := a.consumerOf(c, k.Name, g, now)
	if err != nil {
		return nil, err
	}
	var ids []encoding.StreamID
	err = g.OwnedRange(cons.Name, start, encoding.MaxStreamID, func(id encoding.StreamID) bool {
		ids = append(ids, id)
		return a.count == 0 || int64(len(ids)) < a.count
	})
	if err != nil {
		return nil, err
	}
	es := make([]streamEntry, 0, len(ids))
	for _, id := range ids {
		pairs, ok, err := c.Tx.StreamGet(k, id)
		if err != nil {
			return nil, err
		}
		es = append(es, streamEntry{id, pairs})
		if !ok {
			continue
		}
		n, _, err := g.NACK(id)
		if err != nil {
			return nil, err
		}
		n.DeliveryTime = now
		n.DeliveryCount++
		if err := g.SetNACK(id, cons, n, &n); err != nil {
			return nil, err
		}
		if c.Feeding() {
			propagateClaim(c, k.Name, g, cons.Name, id, n)
		}
	}
	g.Save()
	return es, nil
}
