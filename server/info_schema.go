package server

import "strings"

// infoSchema renders INFO schema: SCHEMA STATUS's fields, prefixed
// "schema_"; flags are 0 or 1, times Unix milliseconds.
func (s *Server) infoSchema(b *infoBuilder) {
	if s.catalog == nil {
		return
	}
	st := s.catalog.SchemaStatus()
	b.int("schema_epoch", int64(st.Epoch))
	b.int("schema_applied_epoch", int64(st.AppliedEpoch))
	b.int("schema_dirty", boolInt(st.Dirty))
	b.int("schema_degraded", boolInt(st.Degraded))
	b.field("schema_degraded_error", schemaInfoText(st.DegradedError))
	b.int("schema_pending_events", int64(st.PendingEvents))
	b.int("schema_last_resync_at", st.LastResyncAt)
	b.field("schema_last_resync_reason", st.LastResyncReason)
	b.int("schema_retries", st.Retries)
	b.int("schema_resyncs", st.Resyncs)
}

// schemaInfoText keeps an error's text on one INFO line.
func schemaInfoText(s string) string {
	return strings.NewReplacer("\r", " ", "\n", "; ").Replace(s)
}
