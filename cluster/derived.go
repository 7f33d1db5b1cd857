package cluster

// applyDerived turns the catalog state at raft index idx into this node's
// derived admin state (the maintenance flag it enforces, the components it
// loaded). It runs on the node's loop after every catalog change and at
// every tick.
func (n *Node) applyDerived(st *State, idx uint64) {}
