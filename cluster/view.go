package cluster

// Health is what gossip says of a member.
type Health int

// Member health, as CLUSTER NODES flags show it.
const (
	// Alive: the member answers gossip probes.
	Alive Health = iota
	// Suspect: a probe failed and the suspicion has not timed out yet
	// (flag "fail?").
	Suspect
	// Failed: gossip declared the member dead, or it is no longer in the
	// gossip list but the catalog still knows it (flag "fail").
	Failed
)

// SlotRange is an inclusive range of hash slots.
type SlotRange struct{ Start, End int }

// NodeView is one member as CLUSTER NODES, SLOTS and SHARDS show it.
type NodeView struct {
	// ID is the node's 40-hex id.
	ID string
	// IP, Port and BusPort are its announced address, RESP port and gossip
	// port.
	IP      string
	Port    int
	BusPort int
	// Myself marks the node answering.
	Myself bool
	// Primary reports that the node is its shard's primary; PrimaryID is
	// the primary a replica follows ("" for a primary).
	Primary   bool
	PrimaryID string
	Health    Health
	// Epoch is the node's config epoch: its shard's writer epoch.
	Epoch uint64
	// Offset is the node's replication offset: its own for Myself, the
	// gossiped one for others.
	Offset int64
	// PingSent and PongRecv are Unix milliseconds, 0 when none.
	PingSent, PongRecv int64
	// Linked reports a live gossip link ("connected" link-state).
	Linked bool
	// Slots are the slots a primary owns, ascending.
	Slots []SlotRange
}

// View is a consistent snapshot of the cluster for the CLUSTER commands.
// Every node renders the same Nodes from the same catalog state.
type View struct {
	// Myself is this node's id.
	Myself string
	// OK reports cluster_state:ok: every slot has a primary this node
	// considers reachable.
	OK bool
	// CurrentEpoch is the highest writer epoch in the catalog; MyEpoch is
	// the writer epoch of this node's shard.
	CurrentEpoch, MyEpoch uint64
	// Nodes lists every member the catalog knows, ordered by id.
	Nodes []NodeView
}

// Node returns the member with id, or nil.
func (v *View) Node(id string) *NodeView {
	for i := range v.Nodes {
		if v.Nodes[i].ID == id {
			return &v.Nodes[i]
		}
	}
	return nil
}

// Me returns this node's entry, or nil.
func (v *View) Me() *NodeView { return v.Node(v.Myself) }
