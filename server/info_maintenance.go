package server

import "strings"

// infoMaintenance renders INFO maintenance: the catalog's maintenance
// state as this node has it, and this node's own side.
func (s *Server) infoMaintenance(b *infoBuilder) {
	if s.catalog == nil {
		return
	}
	st := s.catalog.MaintenanceStatus()
	local := s.catalog.MaintenanceLocal()
	b.int("maintenance_enabled", boolInt(st.Enabled))
	b.field("maintenance_phase", st.Phase)
	b.int("maintenance_run", int64(st.Run))
	b.int("maintenance_started_at", st.StartedAt)
	b.field("maintenance_started_by", st.StartedBy)
	b.int("maintenance_paused_items", int64(len(st.Paused)))
	b.int("maintenance_waiting_syncs", int64(len(st.Waiting)))
	b.field("maintenance_local_paused", strings.Join(local.Paused, ","))
	b.int("maintenance_rejected_calls", local.Rejected)
	b.int("maintenance_failovers_held", local.FailoversHeld)
}
