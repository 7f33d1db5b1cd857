package cluster

// Maintenance is the catalog's maintenance state.
type Maintenance struct{}

// maintOp is one change of the maintenance state.
type maintOp struct{}

func (m *Maintenance) clone() *Maintenance {
	if m == nil {
		return nil
	}
	c := *m
	return &c
}

// applyMaintenance applies op at proposer time at (Unix ms); changed
// reports whether the state changed.
func (s *State) applyMaintenance(op *maintOp, at int64) (res *applyResult, changed bool) {
	return &applyResult{Err: "maintenance: not implemented"}, false
}
