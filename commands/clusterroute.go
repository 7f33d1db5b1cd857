package commands

import (
	"strconv"

	"github.com/shoaldb/shoal/cluster"
)

// Redis Cluster's redirection errors (cluster.c getNodeByQuery and
// clusterRedirectClient). go-redis retries on CLUSTERDOWN and reloads its
// slot table on MOVED.
var (
	errCrossSlot     = &Error{"CROSSSLOT", "Keys in request don't hash to the same slot"}
	errSlotNotServed = &Error{"CLUSTERDOWN", "Hash slot not served"}
	errClusterDown   = &Error{"CLUSTERDOWN", "The cluster is down"}
)

// HasKeys reports whether cmd names keys among its arguments, so that
// dispatch can skip routing for commands that have none. It reads the
// table only.
func HasKeys(cmd *Command) bool { return cmd.FirstKey > 0 || cmd.Keys != nil }

// Redirect decides whether this node serves one command in cluster mode,
// in the order of Redis's getNodeByQuery. It returns nil to serve the
// command here, or the error to reply instead: CLUSTERDOWN Hash slot not
// served when the first key's slot has no shard, CROSSSLOT when keys hash
// to different slots, MOVED <slot> <ip:port> to the owning shard's primary
// (CLUSTERDOWN The cluster is down while that primary's address is
// unknown). A command without keys is always served. A replica serves the
// reads of its own shard's slots to a client that sent READONLY.
//
// cmd is the resolved subcommand for containers; r may be nil (no slot is
// served). Redirect does not allocate unless it redirects or cmd finds its
// keys with a Keys function.
func Redirect(cmd *Command, args [][]byte, r *cluster.Routes, cl *Client) error {
	var q RouteQuery
	if err := q.Add(cmd, args, r); err != nil {
		return err
	}
	return q.Decide(cl)
}

// RouteQuery is Redirect spread over several commands, as EXEC routes the
// commands of a transaction together: Add each command, then Decide. Every
// key of every command must hash to one slot. The zero value is an empty
// query, ready for use.
type RouteQuery struct {
	slot  int
	shard *cluster.ShardRoute
	keyed bool // a key was added; slot and shard are set
	write bool // a command added is a write
}

// Add takes the keys of one command with args. It returns the error to
// reply when the first key's slot has no shard or a key hashes to another
// slot than the first.
func (q *RouteQuery) Add(cmd *Command, args [][]byte, r *cluster.Routes) error {
	if cmd.Flags.Has(Write) {
		q.write = true
	}
	if cmd.Keys != nil {
		for _, p := range cmd.Keys(args) {
			if p > 0 && p < len(args) {
				if err := q.addKey(args[p], r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if cmd.FirstKey <= 0 {
		return nil
	}
	last := cmd.LastKey
	if last < 0 {
		last += len(args)
	}
	step := max(cmd.Step, 1)
	for i := cmd.FirstKey; i <= last && i < len(args); i += step {
		if err := q.addKey(args[i], r); err != nil {
			return err
		}
	}
	return nil
}

func (q *RouteQuery) addKey(key []byte, r *cluster.Routes) error {
	slot := cluster.KeySlot(key)
	if !q.keyed {
		q.shard = r.ShardOf(slot)
		if q.shard == nil {
			return errSlotNotServed
		}
		q.slot, q.keyed = slot, true
		return nil
	}
	if slot != q.slot {
		return errCrossSlot
	}
	return nil
}

// Decide returns nil when this node serves the keys added so far to client
// cl, or the redirection to reply (see Redirect).
func (q *RouteQuery) Decide(cl *Client) error {
	if !q.keyed || q.shard.Local {
		return nil
	}
	if q.shard.Replica && cl != nil && cl.ReadOnlyCluster && !q.write {
		return nil
	}
	if q.shard.PrimaryAddr == "" {
		return errClusterDown
	}
	return &Error{"MOVED", strconv.Itoa(q.slot) + " " + q.shard.PrimaryAddr}
}
