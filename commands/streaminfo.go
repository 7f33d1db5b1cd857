package commands

import (
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// xinfoCommand is XINFO and its subcommands, with Redis 7.0's fields.
func xinfoCommand() *Command {
	const grp = "stream"
	sub := func(name string, arity int, summary string, h func(*Ctx) error) *Command {
		return &Command{Name: "xinfo|" + name, Arity: arity, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1,
			ACL: []string{"read", "stream", "slow"}, Group: grp, Summary: summary, Since: "5.0.0", Complexity: "O(1)", Handler: h}
	}
	return &Command{Name: "xinfo", Arity: -2, ACL: []string{"slow"}, Group: grp,
		Summary: "A container for stream introspection commands.", Since: "5.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("consumers", 4, "Returns a list of the consumers in a consumer group.", xinfoConsumers),
			sub("groups", 3, "Returns a list of the consumer groups of a stream.", xinfoGroups),
			sub("stream", -3, "Returns information about a stream.", xinfoStream),
			containerHelp("xinfo", grp, "5.0.0", []string{"stream", "slow"},
				"CONSUMERS <key> <groupname>",
				"    Show consumers of <groupname>.",
				"GROUPS <key>",
				"    Show the stream consumer groups.",
				"STREAM <key> [FULL [COUNT <count>]",
				"    Show information about the stream."),
		}}
}

// infoStream locks and looks up the stream XINFO names: a missing key is
// an error.
func infoStream(c *Ctx) (*storage.Key, error) {
	k, err := readStream(c, c.Args[2])
	if err == nil && !k.Live {
		err = ErrNoSuchKey
	}
	return k, err
}

func xinfoConsumers(c *Ctx) error {
	k, err := infoStream(c)
	if err != nil {
		return err
	}
	g, err := c.Tx.StreamGroup(k, c.Args[3])
	if err != nil {
		return err
	}
	if g == nil {
		return errNoGroupOfKey(c.Args[3], c.Args[2])
	}
	list, err := consumerList(g)
	if err != nil {
		return err
	}
	now := c.NowMs()
	c.Out.Array(len(list))
	for _, cons := range list {
		c.Out.Map(3)
		c.Out.BulkString("name")
		c.Out.Bulk(cons.Name)
		c.Out.BulkString("pending")
		c.Out.Int(int64(cons.Pending))
		c.Out.BulkString("idle")
		c.Out.Int(max(now-cons.SeenTime, 0))
	}
	return nil
}

// consumerList returns the consumers of g in name order.
func consumerList(g *storage.StreamGroup) ([]*storage.StreamConsumer, error) {
	var list []*storage.StreamConsumer
	err := g.ConsumerList(func(cons *storage.StreamConsumer) bool {
		list = append(list, cons)
		return true
	})
	return list, err
}

// streamGroups returns the groups of k in name order.
func streamGroups(c *Ctx, k *storage.Key) ([]*storage.StreamGroup, error) {
	var gs []*storage.StreamGroup
	err := c.Tx.StreamGroups(k, func(g *storage.StreamGroup) bool {
		gs = append(gs, g)
		return true
	})
	return gs, err
}

func xinfoGroups(c *Ctx) error {
	k, err := infoStream(c)
	if err != nil {
		return err
	}
	gs, err := streamGroups(c, k)
	if err != nil {
		return err
	}
	c.Out.Array(len(gs))
	for _, g := range gs {
		c.Out.Map(6)
		c.Out.BulkString("name")
		c.Out.Bulk(g.Name)
		c.Out.BulkString("consumers")
		c.Out.Int(int64(g.Consumers))
		c.Out.BulkString("pending")
		c.Out.Int(int64(g.Pending))
		c.Out.BulkString("last-delivered-id")
		writeStreamID(c, g.LastID)
		c.Out.BulkString("entries-read")
		writeEntriesRead(c, g.EntriesRead)
		c.Out.BulkString("lag")
		writeLag(c, k, g)
	}
	return nil
}

// xinfoStream serves XINFO STREAM key [FULL [COUNT count]]; FULL lists
// up to count entries, and pending entries of each group and consumer
// (10 by default, 0 for all).
func xinfoStream(c *Ctx) error {
	opts := c.Args[3:]
	full := len(opts) > 0
	count := int64(10)
	if full {
		if len(opts) != 1 && len(opts) != 3 || !Is(opts[0], "full") || len(opts) == 3 && !Is(opts[1], "count") {
			return ErrSubcommandSyntax(c)
		}
		if len(opts) == 3 {
			n, err := ParseInt(opts[2])
			if err != nil {
				return err
			}
			if n >= 0 {
				count = n
			}
		}
	}
	k, err := infoStream(c)
	if err != nil {
		return err
	}
	nodes, err := c.Tx.StreamRaxNodes(k)
	if err != nil {
		return err
	}
	// Read everything before the reply starts.
	var edges [2][]streamEntry
	var es []streamEntry
	var gs []groupInfo
	if full {
		if es, err = streamRange(c, k, encoding.StreamID{}, encoding.MaxStreamID, false, count); err == nil {
			gs, err = fullGroups(c, k, count)
		}
	} else {
		for i := range edges {
			if edges[i], err = streamRange(c, k, encoding.StreamID{}, encoding.MaxStreamID, i == 1, 1); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	s := &k.Meta.Stream
	if full {
		c.Out.Map(9)
	} else {
		c.Out.Map(10)
	}
	c.Out.BulkString("length")
	c.Out.Int(int64(k.Meta.Size))
	c.Out.BulkString("radix-tree-keys")
	c.Out.Int(int64(s.Nodes))
	c.Out.BulkString("radix-tree-nodes")
	c.Out.Int(nodes)
	c.Out.BulkString("last-generated-id")
	writeStreamID(c, s.LastID)
	c.Out.BulkString("max-deleted-entry-id")
	writeStreamID(c, s.MaxDeletedID)
	c.Out.BulkString("entries-added")
	c.Out.Int(int64(s.EntriesAdded))
	c.Out.BulkString("recorded-first-entry-id")
	writeStreamID(c, s.FirstID)
	if full {
		c.Out.BulkString("entries")
		writeEntries(c, es)
		c.Out.BulkString("groups")
		c.Out.Array(len(gs))
		for _, gi := range gs {
			gi.write(c, k)
		}
		return nil
	}
	c.Out.BulkString("groups")
	c.Out.Int(int64(s.Groups))
	for i, name := range []string{"first-entry", "last-entry"} {
		c.Out.BulkString(name)
		if len(edges[i]) == 0 {
			c.Out.Null()
		} else {
			writeEntry(c, edges[i][0])
		}
	}
	return nil
}

// groupInfo is what XINFO STREAM FULL shows of a group: its first count
// pending entries and its consumers with theirs.
type groupInfo struct {
	g         *storage.StreamGroup
	pel       []pendingInfo
	consumers []consumerInfo
}

type pendingInfo struct {
	id encoding.StreamID
	storage.StreamNACK
}

type consumerInfo struct {
	cons *storage.StreamConsumer
	pel  []pendingInfo
}

// fullGroups reads the groups of k for XINFO STREAM FULL.
func fullGroups(c *Ctx, k *storage.Key, count int64) ([]groupInfo, error) {
	gs, err := streamGroups(c, k)
	if err != nil {
		return nil, err
	}
	out := make([]groupInfo, len(gs))
	for i, g := range gs {
		gi := &out[i]
		gi.g = g
		err := g.PEL(encoding.StreamID{}, encoding.MaxStreamID, func(id encoding.StreamID, n storage.StreamNACK) bool {
			n.Consumer = append([]byte(nil), n.Consumer...)
			gi.pel = append(gi.pel, pendingInfo{id, n})
			return count == 0 || int64(len(gi.pel)) < count
		})
		var list []*storage.StreamConsumer
		if err == nil {
			list, err = consumerList(g)
		}
		for _, cons := range list {
			gi.consumers = append(gi.consumers, consumerInfo{cons: cons})
		}
		for j := range gi.consumers {
			if err != nil {
				break
			}
			ci := &gi.consumers[j]
			var nerr error
			err = g.OwnedRange(ci.cons.Name, encoding.StreamID{}, encoding.MaxStreamID, func(id encoding.StreamID) bool {
				n, _, err := g.NACK(id)
				if err != nil {
					nerr = err
					return false
				}
				ci.pel = append(ci.pel, pendingInfo{id, n})
				return count == 0 || int64(len(ci.pel)) < count
			})
			if err == nil {
				err = nerr
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (gi *groupInfo) write(c *Ctx, k *storage.Key) {
	g := gi.g
	c.Out.Map(7)
	c.Out.BulkString("name")
	c.Out.Bulk(g.Name)
	c.Out.BulkString("last-delivered-id")
	writeStreamID(c, g.LastID)
	c.Out.BulkString("entries-read")
	writeEntriesRead(c, g.EntriesRead)
	c.Out.BulkString("lag")
	writeLag(c, k, g)
	c.Out.BulkString("pel-count")
	c.Out.Int(int64(g.Pending))
	c.Out.BulkString("pending")
	c.Out.Array(len(gi.pel))
	for _, p := range gi.pel {
		c.Out.Array(4)
		writeStreamID(c, p.id)
		c.Out.Bulk(p.Consumer)
		c.Out.Int(p.DeliveryTime)
		c.Out.Int(int64(p.DeliveryCount))
	}
	c.Out.BulkString("consumers")
	c.Out.Array(len(gi.consumers))
	for _, ci := range gi.consumers {
		c.Out.Map(4)
		c.Out.BulkString("name")
		c.Out.Bulk(ci.cons.Name)
		c.Out.BulkString("seen-time")
		c.Out.Int(ci.cons.SeenTime)
		c.Out.BulkString("pel-count")
		c.Out.Int(int64(ci.cons.Pending))
		c.Out.BulkString("pending")
		c.Out.Array(len(ci.pel))
		for _, p := range ci.pel {
			c.Out.Array(3)
			writeStreamID(c, p.id)
			c.Out.Int(p.DeliveryTime)
			c.Out.Int(int64(p.DeliveryCount))
		}
	}
}
