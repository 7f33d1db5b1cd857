package server

import "strconv"

// infoComponents renders INFO components: how many components the
// catalog holds and how many are mid-deploy, the deploys this node ran by
// result, this node's build and the cluster's storage format, then one
// line per component:
//
//	component_<name>:active=<v>,state=<s>,applied=<version this node runs>,lock=<owner or none>
func (s *Server) infoComponents(b *infoBuilder) {
	if s.catalog == nil {
		return
	}
	ci := s.catalog.ComponentInfo()
	var lines []string
	deploying := 0
	format := 0
	for _, c := range ci.Components {
		if c.Kind == "builtin" {
			format = c.StorageFormat
			continue
		}
		if c.LockOwner != "" {
			deploying++
		}
		lock := c.LockOwner
		if lock == "" {
			lock = "none"
		}
		lines = append(lines, "component_"+c.Name+":active="+c.ActiveVersion+",state="+c.State+
			",applied="+ci.Loaded[c.Name]+",lock="+lock)
	}
	b.int("components", int64(len(lines)))
	b.int("components_deploying", int64(deploying))
	for _, r := range ci.Results {
		b.int("component_deploys_"+r, ci.Deploys[r])
	}
	b.field("shoal_build", Version)
	b.field("storage_format_active", strconv.Itoa(format))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
}
