package commands

import (
	"bytes"
	"net"
	"slices"
	"strconv"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/storage/encoding"
)

// errClusterDisabled is every cluster command's reply on a node without
// cluster-enabled; Redis 7.0 checks it before anything else, HELP and
// KEYSLOT included.
var errClusterDisabled = &Error{"ERR", "This instance has cluster support disabled"}

// clusterPortIncr is Redis's default distance from the RESP port to the
// cluster bus port (CLUSTER_PORT_INCR).
const clusterPortIncr = 10000

func clusterCommands() []*Command {
	view := Stale | MaintenanceOK
	admin := Admin | Stale | MaintenanceOK
	topology := admin | Topology
	slow := []string{"slow"}
	adm := []string{"admin", "slow", "dangerous"}
	sub := func(name string, arity int, flags Flags, acl []string, summary, since, complexity string, h func(*Ctx) error) *Command {
		return serverSub("cluster", name, arity, flags, acl, "cluster", summary, since, complexity, needCluster(h))
	}
	replicas := func(name, since string) *Command {
		return sub(name, 3, admin, adm, "Lists the replica nodes of a master node.", since,
			"O(N) where N is the number of replicas.", clusterReplicas)
	}
	help := containerHelp("cluster", "cluster", "5.0.0", slow,
		"COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
		"FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
		"FORGET <node-id>", "    Remove a node from the cluster.",
		"GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
		"INFO", "    Return information about the cluster.",
		"KEYSLOT <key>", "    Return the hash slot for <key>.",
		"MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
		"MYID", "    Return the node id.",
		"NODES", "    Return cluster configuration seen by node. Output format:",
		"    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
		"REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
		"RESET [HARD|SOFT]", "    Reset current node (default: soft).",
		"REPLICAS <node-id>", "    Return <node-id> replicas.",
		"SLOTS", "    Return information about slots range mappings. Each range is made of:",
		"    start, end, master and replicas IP addresses, ports and ids",
		"SHARDS", "    Return information about slot range mappings and the nodes associated with them.")
	help.Handler = needCluster(help.Handler)
	connection := []string{"fast", "connection"}
	return []*Command{
		{Name: "cluster", Arity: -2, ACL: slow, Group: "cluster", Summary: "A container for Redis Cluster commands.",
			Since: "3.0.0", Complexity: "Depends on subcommand.",
			Subcommands: []*Command{
				sub("myid", 2, view, slow, "Returns the ID of a node.", "3.0.0", "O(1)", func(c *Ctx) error {
					c.Out.BulkString(c.Cluster.View().Myself)
					return nil
				}),
				sub("nodes", 2, view, slow, "Returns the cluster configuration for a node.", "3.0.0",
					"O(N) where N is the total number of Cluster nodes", func(c *Ctx) error {
						v := c.Cluster.View()
						c.Out.Verbatim("txt", ClusterNodes(&v))
						return nil
					}),
				sub("slots", 2, view, slow, "Returns the mapping of cluster slots to nodes.", "3.0.0",
					"O(N) where N is the total number of Cluster nodes", func(c *Ctx) error {
						v := c.Cluster.View()
						c.Out.MarkDeferred() // NB: Redis counts the slot ranges as it goes
						WriteClusterSlots(c.Out, &v)
						return nil
					}),
				sub("shards", 2, view, slow, "Returns the mapping of cluster slots to shards.", "7.0.0",
					"O(N) where N is the total number of cluster nodes", func(c *Ctx) error {
						v := c.Cluster.View()
						c.Out.MarkDeferred() // NB: Redis counts the shards as it goes
						WriteClusterShards(c.Out, &v)
						return nil
					}),
				sub("info", 2, view, slow, "Returns information about the state of a node.", "3.0.0", "O(1)", func(c *Ctx) error {
					v := c.Cluster.View()
					c.Out.Verbatim("txt", ClusterInfo(&v))
					return nil
				}),
				sub("keyslot", 3, view, slow, "Returns the hash slot for a key.", "3.0.0",
					"O(N) where N is the number of bytes in the key", func(c *Ctx) error {
						c.Out.Int(int64(cluster.KeySlot(c.Args[2])))
						return nil
					}),
				sub("countkeysinslot", 3, view, slow, "Returns the number of keys in a hash slot.", "3.0.0", "O(1)",
					countKeysInSlot),
				sub("getkeysinslot", 4, view, slow, "Returns the key names in a hash slot.", "3.0.0",
					"O(N) where N is the number of requested keys", getKeysInSlot),
				sub("meet", -4, topology|NoAsyncLoading, adm, "Forces a node to handshake with another node.", "3.0.0", "O(1)", clusterMeet),
				sub("forget", 3, topology|NoAsyncLoading, adm, "Removes a node from the nodes table.", "3.0.0", "O(1)", func(c *Ctx) error {
					return okOr(c, c.Cluster.Forget(string(c.Args[2])))
				}),
				sub("replicate", 3, topology|NoAsyncLoading, adm, "Configure a node as replica of a master node.", "3.0.0", "O(1)", func(c *Ctx) error {
					return okOr(c, c.Cluster.Replicate(string(c.Args[2])))
				}),
				sub("failover", -2, topology|NoAsyncLoading, adm, "Forces a replica to perform a manual failover of its master.", "3.0.0", "O(1)",
					clusterFailover),
				sub("reset", -2, topology|NoScript, adm, "Resets a node.", "3.0.0",
					"O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.",
					clusterReset),
				replicas("replicas", "5.0.0"),
				replicas("slaves", "3.0.0"),
				help,
			}},
		{Name: "readonly", Arity: 1, Flags: Fast | Loading | Stale | MaintenanceOK, ACL: connection, Group: "cluster",
			Summary: "Enables read-only queries for a connection to a Redis Cluster replica node.", Since: "3.0.0", Complexity: "O(1)",
			Handler: needCluster(func(c *Ctx) error {
				c.Client.ReadOnlyCluster = true
				c.Out.OK()
				return nil
			})},
		// NB: "Reids" is how Redis spells it in COMMAND DOCS.
		{Name: "readwrite", Arity: 1, Flags: Fast | Loading | Stale | MaintenanceOK, ACL: connection, Group: "cluster",
			Summary: "Enables read-write queries for a connection to a Reids Cluster replica node.", Since: "3.0.0", Complexity: "O(1)",
			Handler: needCluster(func(c *Ctx) error {
				c.Client.ReadOnlyCluster = false
				c.Out.OK()
				return nil
			})},
		{Name: "asking", Arity: 1, Flags: Fast | MaintenanceOK, ACL: connection, Group: "cluster",
			Summary: "Signals that a cluster client is following an -ASK redirect.", Since: "3.0.0", Complexity: "O(1)",
			Handler: needCluster(func(c *Ctx) error {
				c.Client.Asking = true
				c.Out.OK()
				return nil
			})},
	}
}

// needCluster refuses h on a node running without cluster-enabled.
func needCluster(h func(*Ctx) error) func(*Ctx) error {
	return func(c *Ctx) error {
		if c.Cluster == nil {
			return errClusterDisabled
		}
		return h(c)
	}
}

// okOr replies +OK when err is nil and returns err otherwise.
func okOr(c *Ctx, err error) error {
	if err != nil {
		return err
	}
	c.Out.OK()
	return nil
}

// --- Keys by slot ---

func countKeysInSlot(c *Ctx) error {
	slot, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	if slot < 0 || slot >= cluster.Slots {
		return Errf("Invalid slot")
	}
	var n int64
	err = keysInSlot(c, int(slot), func([]byte) bool {
		n++
		return true
	})
	if err != nil {
		return err
	}
	c.Out.Int(n)
	return nil
}

func getKeysInSlot(c *Ctx) error {
	slot, err := ParseInt(c.Args[2])
	if err != nil {
		return err
	}
	count, err := ParseInt(c.Args[3])
	if err != nil {
		return err
	}
	if slot < 0 || slot >= cluster.Slots || count < 0 {
		return Errf("Invalid slot or number of keys")
	}
	var out [][]byte
	if count > 0 {
		err = keysInSlot(c, int(slot), func(name []byte) bool {
			out = append(out, bytes.Clone(name))
			return int64(len(out)) < count
		})
		if err != nil {
			return err
		}
	}
	c.Out.BulkArray(out)
	return nil
}

// keysInSlot calls fn with each live key of database 0 (the only one in
// cluster mode) that hashes to slot, until fn returns false. name aliases
// iterator memory valid only during the call.
//
// NB: this walks the whole keyspace; Redis keeps an index of keys by slot.
// It serves inspection and the occasional resharding step, not a hot path.
func keysInSlot(c *Ctx, slot int, fn func(name []byte) bool) error {
	_, _, err := c.Tx.ScanKeys(0, nil, func(name []byte, _ *encoding.Meta) bool {
		if cluster.KeySlot(name) != slot {
			return true
		}
		return fn(name)
	})
	return err
}

// --- Membership ---

func clusterMeet(c *Ctx) error {
	if len(c.Args) > 5 {
		return ErrSubcommandSyntax(c)
	}
	port, err := ParseInt(c.Args[3])
	if err != nil {
		return Errf("Invalid TCP base port specified: %s", c.Args[3])
	}
	busPort := port + clusterPortIncr
	if len(c.Args) == 5 {
		if busPort, err = ParseInt(c.Args[4]); err != nil {
			return Errf("Invalid TCP bus port specified: %s", c.Args[4])
		}
	}
	// NB: Redis's handshake takes a numeric IPv4 or IPv6 address only, and
	// ports within 1..65535.
	host := string(c.Args[2])
	if net.ParseIP(host) == nil || port <= 0 || port > 65535 || busPort <= 0 || busPort > 65535 {
		return Errf("Invalid node address specified: %s:%s", c.Args[2], c.Args[3])
	}
	return okOr(c, c.Cluster.Meet(host, int(port), int(busPort)))
}

func clusterFailover(c *Ctx) error {
	mode := ""
	switch {
	case len(c.Args) > 3:
		return ErrSubcommandSyntax(c)
	case len(c.Args) == 3 && Is(c.Args[2], "force"):
		mode = "force"
	case len(c.Args) == 3 && Is(c.Args[2], "takeover"):
		mode = "takeover"
	case len(c.Args) == 3:
		return ErrSyntax
	}
	return okOr(c, c.Cluster.Failover(mode))
}

func clusterReset(c *Ctx) error {
	hard := false
	switch {
	case len(c.Args) > 3:
		return ErrSubcommandSyntax(c)
	case len(c.Args) == 3 && Is(c.Args[2], "hard"):
		hard = true
	case len(c.Args) == 3 && !Is(c.Args[2], "soft"):
		return ErrSyntax
	}
	// Replicas may be reset with data (they drop it); primaries must be
	// empty.
	v := c.Cluster.View()
	if me := v.Me(); me == nil || me.Primary {
		n, err := c.Tx.KeyCount(c.DB())
		if err != nil {
			return err
		}
		if n != 0 {
			return Errf("CLUSTER RESET can't be called with master nodes containing keys")
		}
	}
	return okOr(c, c.Cluster.Reset(hard))
}

func clusterReplicas(c *Ctx) error {
	v := c.Cluster.View()
	n := v.Node(string(c.Args[2]))
	if n == nil {
		return Errf("Unknown node %s", c.Args[2])
	}
	if !n.Primary {
		return Errf("The specified node is not a master")
	}
	reps := replicasOf(&v, n.ID)
	c.Out.Array(len(reps))
	var b []byte
	for _, r := range reps {
		b = appendNodeLine(b[:0], &v, r)
		c.Out.Bulk(b)
	}
	return nil
}

// --- Rendering ---

// ClusterNodes renders CLUSTER NODES for v as Redis 7.0's
// clusterGenNodesDescription does: one line per member, in v's order, each
// ending in "\n":
//
//	<id> <ip>:<port>@<bus-port> <flags> <primary-id|-> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot-runs>...
func ClusterNodes(v *cluster.View) string {
	var b []byte
	for i := range v.Nodes {
		b = appendNodeLine(b, v, &v.Nodes[i])
		b = append(b, '\n')
	}
	return string(b)
}

// appendNodeLine appends n's CLUSTER NODES line, without its newline.
func appendNodeLine(b []byte, v *cluster.View, n *cluster.NodeView) []byte {
	b = append(b, n.ID...)
	b = append(b, ' ')
	b = append(b, n.IP...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n.Port), 10)
	b = append(b, '@')
	b = strconv.AppendInt(b, int64(n.BusPort), 10)
	b = append(b, ' ')
	b = appendNodeFlags(b, v, n)
	b = append(b, ' ')
	epoch := n.Epoch
	if !n.Primary && n.PrimaryID != "" {
		b = append(b, n.PrimaryID...)
		// A replica shows its primary's config epoch, as Redis does.
		if p := v.Node(n.PrimaryID); p != nil {
			epoch = p.Epoch
		}
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.PingSent, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.PongRecv, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, epoch, 10)
	if n.Linked || isMyself(v, n) {
		b = append(b, " connected"...)
	} else {
		b = append(b, " disconnected"...)
	}
	if n.Primary {
		for _, r := range slotRuns(n.Slots) {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(r.Start), 10)
			if r.End != r.Start {
				b = append(b, '-')
				b = strconv.AppendInt(b, int64(r.End), 10)
			}
		}
	}
	return b
}

// appendNodeFlags appends n's flags in Redis's fixed order: myself, master,
// slave, fail?, fail, noaddr; "noflags" when none applies.
func appendNodeFlags(b []byte, v *cluster.View, n *cluster.NodeView) []byte {
	start := len(b)
	add := func(on bool, flag string) {
		if !on {
			return
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, flag...)
	}
	add(isMyself(v, n), "myself")
	add(n.Primary, "master")
	add(!n.Primary, "slave")
	add(n.Health == cluster.Suspect, "fail?")
	add(n.Health == cluster.Failed, "fail")
	add(n.IP == "", "noaddr")
	if len(b) == start {
		b = append(b, "noflags"...)
	}
	return b
}

func isMyself(v *cluster.View, n *cluster.NodeView) bool { return n.Myself || n.ID == v.Myself }

// slotRuns returns rs sorted, with touching or overlapping ranges merged:
// the maximal runs Redis prints from its slot bitmap, however the catalog
// split them.
func slotRuns(rs []cluster.SlotRange) []cluster.SlotRange {
	if len(rs) < 2 {
		return rs
	}
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b cluster.SlotRange) int { return a.Start - b.Start })
	merged := out[:1]
	for _, r := range out[1:] {
		last := &merged[len(merged)-1]
		if r.Start <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// replicasOf returns the members of v that replicate the primary id, in
// v's order.
func replicasOf(v *cluster.View, id string) []*cluster.NodeView {
	var out []*cluster.NodeView
	for i := range v.Nodes {
		if n := &v.Nodes[i]; !n.Primary && n.PrimaryID == id {
			out = append(out, n)
		}
	}
	return out
}

// slotOwner is one run of slots and the primary owning it.
type slotOwner struct {
	cluster.SlotRange
	node *cluster.NodeView
}

// slotOwners returns every primary's slot runs in slot order, adjacent runs
// of the same primary merged: the entries of CLUSTER SLOTS.
func slotOwners(v *cluster.View) []slotOwner {
	var out []slotOwner
	for i := range v.Nodes {
		n := &v.Nodes[i]
		if !n.Primary {
			continue
		}
		for _, r := range slotRuns(n.Slots) {
			out = append(out, slotOwner{r, n})
		}
	}
	slices.SortFunc(out, func(a, b slotOwner) int { return a.Start - b.Start })
	return out
}

// WriteClusterSlots writes CLUSTER SLOTS for v as Redis 7.0's
// clusterReplyMultiBulkSlots does: one entry per run of slots with one
// owner, [start, end, primary, replicas...], each node as [ip, port, id,
// {}]. Replicas that failed or have replicated nothing yet (offset 0) are
// left out.
func WriteClusterSlots(w *resp.Writer, v *cluster.View) {
	owners := slotOwners(v)
	w.Array(len(owners))
	for _, o := range owners {
		var reps []*cluster.NodeView
		for _, r := range replicasOf(v, o.node.ID) {
			if r.Health != cluster.Failed && r.Offset != 0 {
				reps = append(reps, r)
			}
		}
		w.Array(3 + len(reps))
		w.Int(int64(o.Start))
		w.Int(int64(o.End))
		writeSlotsNode(w, o.node)
		for _, r := range reps {
			writeSlotsNode(w, r)
		}
	}
}

// writeSlotsNode writes one node of a CLUSTER SLOTS entry. The endpoint is
// the IP (cluster-preferred-endpoint-type ip), so the map of other
// endpoints is empty.
func writeSlotsNode(w *resp.Writer, n *cluster.NodeView) {
	w.Array(4)
	w.BulkString(n.IP)
	w.Int(int64(n.Port))
	w.BulkString(n.ID)
	w.Map(0)
}

// WriteClusterShards writes CLUSTER SHARDS for v as Redis 7.0.1+'s
// clusterReplyShards does: one map per primary (with or without slots) in
// v's order, {slots: [start, end, ...] as integers, nodes: [primary,
// replicas...]}, each node a map of id, port, ip, endpoint, role,
// replication-offset and health (fail, loading for a replica at offset 0,
// or online).
func WriteClusterShards(w *resp.Writer, v *cluster.View) {
	shards := 0
	for i := range v.Nodes {
		if v.Nodes[i].Primary {
			shards++
		}
	}
	w.Array(shards)
	for i := range v.Nodes {
		p := &v.Nodes[i]
		if !p.Primary {
			continue
		}
		runs := slotRuns(p.Slots)
		reps := replicasOf(v, p.ID)
		w.Map(2)
		w.BulkString("slots")
		w.Array(2 * len(runs))
		for _, r := range runs {
			w.Int(int64(r.Start))
			w.Int(int64(r.End))
		}
		w.BulkString("nodes")
		w.Array(1 + len(reps))
		writeShardNode(w, p)
		for _, r := range reps {
			writeShardNode(w, r)
		}
	}
}

func writeShardNode(w *resp.Writer, n *cluster.NodeView) {
	fields := 6
	if n.Port != 0 {
		fields++
	}
	w.Map(fields)
	w.BulkString("id")
	w.BulkString(n.ID)
	if n.Port != 0 {
		w.BulkString("port")
		w.Int(int64(n.Port))
	}
	w.BulkString("ip")
	w.BulkString(n.IP)
	w.BulkString("endpoint")
	w.BulkString(n.IP)
	w.BulkString("role")
	if n.Primary {
		w.BulkString("master")
	} else {
		w.BulkString("replica")
	}
	w.BulkString("replication-offset")
	w.Int(n.Offset)
	w.BulkString("health")
	switch {
	case n.Health == cluster.Failed:
		w.BulkString("fail")
	case !n.Primary && n.Offset == 0:
		w.BulkString("loading")
	default:
		w.BulkString("online")
	}
}

// ClusterInfo renders CLUSTER INFO for v as Redis 7.0's genClusterInfoString
// does, CRLF-terminated lines. Slots count as ok, pfail or fail by the
// health of their primary (Alive, Suspect, Failed); cluster_size counts the
// primaries owning slots. Shoal's gossip does not count bus messages, so
// the message totals are 0 and no per-type line appears, as in Redis
// before any message.
func ClusterInfo(v *cluster.View) string {
	var assigned, ok, pfail, fail, size int
	for i := range v.Nodes {
		n := &v.Nodes[i]
		if !n.Primary {
			continue
		}
		slots := 0
		for _, r := range slotRuns(n.Slots) {
			slots += r.End - r.Start + 1
		}
		if slots > 0 {
			size++
		}
		assigned += slots
		switch n.Health {
		case cluster.Failed:
			fail += slots
		case cluster.Suspect:
			pfail += slots
		default:
			ok += slots
		}
	}
	state := "fail"
	if v.OK {
		state = "ok"
	}
	b := make([]byte, 0, 512)
	line := func(k string, n int64) {
		b = append(b, k...)
		b = append(b, ':')
		b = strconv.AppendInt(b, n, 10)
		b = append(b, '\r', '\n')
	}
	b = append(b, "cluster_state:"+state+"\r\n"...)
	line("cluster_slots_assigned", int64(assigned))
	line("cluster_slots_ok", int64(ok))
	line("cluster_slots_pfail", int64(pfail))
	line("cluster_slots_fail", int64(fail))
	line("cluster_known_nodes", int64(len(v.Nodes)))
	line("cluster_size", int64(size))
	b = append(b, "cluster_current_epoch:"...)
	b = strconv.AppendUint(b, v.CurrentEpoch, 10)
	b = append(b, "\r\ncluster_my_epoch:"...)
	b = strconv.AppendUint(b, v.MyEpoch, 10)
	b = append(b, "\r\n"...)
	line("cluster_stats_messages_sent", 0)
	line("cluster_stats_messages_received", 0)
	line("total_cluster_links_buffer_limit_exceeded", 0)
	return string(b)
}
