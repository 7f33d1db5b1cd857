package commands

import (
	"strconv"

	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// Stream writes as redis-server replicas are to run them (Ctx.Propagate),
// the way t_stream.c propagates them: XADD with the ID it made and an
// approximate trim as the exact trim it came to, XREADGROUP, XCLAIM and
// XAUTOCLAIM as one XCLAIM ... FORCE JUSTID per entry delivered or
// claimed (with its delivery time and count, and the group's last ID),
// then XGROUP SETID ... ENTRIESREAD when the group moved on (for
// XREADGROUP only under NOACK, which claims nothing). A consumer
// XREADGROUP ... NOACK creates goes first as XGROUP CREATECONSUMER.

func idArg(id encoding.StreamID) []byte { return id.AppendText(nil) }

func intArg(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

// propagateTrim adds the trim threshold a replica is to apply after the
// trim a ran on k: the one given for an exact trim, what an approximate
// one came to (the length left, or the first entry left) otherwise.
func propagateTrim(c *Ctx, args [][]byte, k *storage.Key, a addTrimArgs) ([][]byte, error) {
	if !a.trim.ByID {
		n := a.trim.MaxLen
		if a.trim.Approx {
			n = k.Meta.Size
		}
		return append(args, []byte("MAXLEN"), []byte("="), strconv.AppendUint(nil, n, 10)), nil
	}
	id := a.trim.MinID
	if a.trim.Approx {
		var err error
		if id, err = c.Tx.StreamFirstEntry(k); err != nil {
			return nil, err
		}
	}
	return append(args, []byte("MINID"), []byte("="), idArg(id)), nil
}

// propagateAdd passes on the XADD that made id on k.
func propagateAdd(c *Ctx, k *storage.Key, a addTrimArgs, id encoding.StreamID, pairs [][]byte) error {
	args := [][]byte{[]byte("XADD"), k.Name}
	if a.trimming {
		var err error
		if args, err = propagateTrim(c, args, k, a); err != nil {
			return err
		}
	}
	c.Propagate(append(append(args, idArg(id)), pairs...)...)
	return nil
}

// propagateClaim passes on that id is pending for consumer as n says.
func propagateClaim(c *Ctx, key []byte, g *storage.StreamGroup, consumer []byte, id encoding.StreamID, n storage.StreamNACK) {
	c.Propagate([]byte("XCLAIM"), key, g.Name, consumer, []byte("0"), idArg(id),
		[]byte("TIME"), intArg(n.DeliveryTime), []byte("RETRYCOUNT"), strconv.AppendUint(nil, n.DeliveryCount, 10),
		[]byte("FORCE"), []byte("JUSTID"), []byte("LASTID"), idArg(g.LastID))
}

// propagateGroupID passes on the group's last delivered ID and read
// counter.
func propagateGroupID(c *Ctx, key []byte, g *storage.StreamGroup) {
	c.Propagate([]byte("XGROUP"), []byte("SETID"), key, g.Name, idArg(g.LastID), []byte("ENTRIESREAD"), intArg(g.EntriesRead))
}

// propagateConsumer passes on a consumer the call created.
func propagateConsumer(c *Ctx, key []byte, g *storage.StreamGroup, consumer []byte) {
	c.Propagate([]byte("XGROUP"), []byte("CREATECONSUMER"), key, g.Name, consumer)
}
