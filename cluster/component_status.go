package cluster

import (
	"slices"
	"sort"
	"time"
)

// ComponentStatus is COMPONENT STATUS and GET /v1/components/{name}.
type ComponentStatus struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	ActiveVersion string   `json:"active_version"`
	State         string   `json:"state"`
	Reason        string   `json:"reason,omitempty"`
	Target        string   `json:"deploying_version,omitempty"`
	Versions      []string `json:"versions"`
	LockOwner     string   `json:"lock_owner"`
	LockExpiresMs int64    `json:"lock_expires_ms"`
	UpdatedAt     int64    `json:"updated_at"`
	// Nodes maps each member's id to the version it applied ("" for
	// none); for the built-in "shoal", to its build.
	Nodes map[string]string `json:"nodes"`
	// StorageFormat and StorageFormats are the built-in "shoal"'s: the
	// cluster's active storage format and what each member supports
	// (absent when its gossip did not say).
	StorageFormat  int                      `json:"storage_format,omitempty"`
	StorageFormats map[string]FormatSupport `json:"storage_formats,omitempty"`
}

// ComponentStatus is COMPONENT STATUS.
func (n *Node) ComponentStatus(name string) (ComponentStatus, error) {
	st, _ := n.fsm.state()
	if name == ShoalComponent {
		return n.shoalStatus(st), nil
	}
	c := st.Components[name]
	if c == nil {
		return ComponentStatus{}, errf("no such component '%s'", name)
	}
	return n.statusOf(st, c, time.Now().UnixMilli()), nil
}

// ComponentList is COMPONENT LIST: the built-in "shoal" first, then every
// component by name.
func (n *Node) ComponentList() []ComponentStatus {
	st, _ := n.fsm.state()
	out := []ComponentStatus{n.shoalStatus(st)}
	now := time.Now().UnixMilli()
	for _, name := range componentNames(st) {
		if c := st.Components[name]; c.Kind != kindBuiltin {
			out = append(out, n.statusOf(st, c, now))
		}
	}
	return out
}

// ComponentHistory is COMPONENT HISTORY: the component's last events,
// oldest first.
func (n *Node) ComponentHistory(name string) ([]ComponentEvent, error) {
	st, _ := n.fsm.state()
	c := st.Components[name]
	if c == nil {
		if name == ShoalComponent {
			return []ComponentEvent{}, nil
		}
		return nil, errf("no such component '%s'", name)
	}
	if c.History == nil {
		return []ComponentEvent{}, nil
	}
	return c.History, nil
}

// componentMembers is who a component status lists: the catalog's
// members, or this node alone.
func (n *Node) componentMembers(st *State) []string {
	ids := st.MemberIDs()
	if !slices.Contains(ids, n.cfg.ID) {
		ids = append(ids, n.cfg.ID)
		sort.Strings(ids)
	}
	return ids
}

func (n *Node) statusOf(st *State, c *Component, now int64) ComponentStatus {
	s := ComponentStatus{Name: c.Name, Kind: c.Kind, ActiveVersion: c.Active, State: c.State, Reason: c.Reason,
		Target: c.Target, Versions: slices.Clone(c.Versions), UpdatedAt: c.UpdatedAt, Nodes: map[string]string{}}
	if s.Versions == nil {
		s.Versions = []string{}
	}
	if c.Lock != nil {
		s.LockOwner = c.Lock.Owner
		s.LockExpiresMs = max(0, c.Lock.Expires-now)
	}
	for _, id := range n.componentMembers(st) {
		s.Nodes[id] = c.Applied[id].Version
	}
	return s
}

// shoalStatus is the built-in component: every member's build (the
// active version when they all agree, else "mixed") and storage formats.
func (n *Node) shoalStatus(st *State) ComponentStatus {
	s := ComponentStatus{Name: ShoalComponent, Kind: kindBuiltin, State: CompActive, Nodes: map[string]string{},
		StorageFormat: st.ActiveFormat(), StorageFormats: map[string]FormatSupport{}, Versions: []string{}}
	ids, sup := n.memberFormats(st)
	n.mu.Lock()
	for _, id := range ids {
		b := n.cfg.Build
		if id != n.cfg.ID {
			b = n.mu.metas[id].Build
		}
		s.Nodes[id] = b
		if b != "" && !slices.Contains(s.Versions, b) {
			s.Versions = append(s.Versions, b)
		}
		if f := sup[id]; f != nil {
			s.StorageFormats[id] = *f
		}
	}
	n.mu.Unlock()
	sort.Strings(s.Versions)
	if len(s.Versions) == 1 && len(s.StorageFormats) == len(ids) {
		s.ActiveVersion = s.Versions[0]
	} else {
		s.ActiveVersion, s.State = "mixed", "upgrading"
	}
	if c := st.Components[ShoalComponent]; c != nil {
		s.UpdatedAt = c.UpdatedAt
	}
	return s
}

// ComponentInfo is what INFO components reports of this node.
type ComponentInfo struct {
	// Deploys counts the deploys this node ran, by result.
	Deploys map[string]int64
	// Results lists the results in a fixed order.
	Results []string
	// Loaded maps each component this node runs to its version.
	Loaded map[string]string
	// Components are the catalog's components (the built-in first).
	Components []ComponentStatus
}

// ComponentInfo returns INFO components' data.
func (n *Node) ComponentInfo() ComponentInfo {
	ci := ComponentInfo{Deploys: map[string]int64{}, Results: slices.Clone(deployResults), Loaded: map[string]string{}}
	for _, r := range deployResults {
		ci.Deploys[r] = n.comp.counts[r].Load()
	}
	n.comp.mu.Lock()
	for name, l := range n.comp.mu.loaded {
		ci.Loaded[name] = l.version
	}
	n.comp.mu.Unlock()
	ci.Components = n.ComponentList()
	return ci
}
