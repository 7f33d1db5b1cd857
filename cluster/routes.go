package cluster

// Routes is what dispatch reads on every keyed command in cluster mode: an
// immutable value, replaced whole whenever the catalog or this node's role
// changes, so reading it takes no lock.
type Routes struct {
	// Shards lists the shards; Owner[slot] is the index in Shards of the
	// shard owning slot, -1 for an unassigned slot.
	Shards []ShardRoute
	Owner  []int16
}

// ShardRoute is one shard as routing needs it.
type ShardRoute struct {
	// PrimaryID and PrimaryAddr ("ip:port") name the shard's primary;
	// PrimaryAddr is "" while it is unknown.
	PrimaryID   string
	PrimaryAddr string
	// Local reports that this node is the shard's primary; Replica that
	// this node replicates it.
	Local, Replica bool
}

// ShardOf returns the shard owning slot, or nil when no shard does.
func (r *Routes) ShardOf(slot int) *ShardRoute {
	if r == nil || slot < 0 || slot >= len(r.Owner) {
		return nil
	}
	i := r.Owner[slot]
	if i < 0 || int(i) >= len(r.Shards) {
		return nil
	}
	return &r.Shards[i]
}

// singleShardRoutes returns routes where one shard owns every slot.
func singleShardRoutes(s ShardRoute) *Routes {
	r := &Routes{Shards: []ShardRoute{s}, Owner: make([]int16, Slots)}
	return r
}
