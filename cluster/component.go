package cluster

// Component is one component's catalog record.
type Component struct{}

// compOp is one change of a component.
type compOp struct{}

func cloneComponents(m map[string]*Component) map[string]*Component {
	if m == nil {
		return nil
	}
	c := make(map[string]*Component, len(m))
	for k, v := range m {
		vv := *v
		c[k] = &vv
	}
	return c
}

// applyComponent applies op at proposer time at (Unix ms); changed reports
// whether the state changed.
func (s *State) applyComponent(op *compOp, at int64) (res *applyResult, changed bool) {
	return &applyResult{Err: "component: not implemented"}, false
}
