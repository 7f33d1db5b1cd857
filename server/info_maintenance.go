package server

// infoMaintenance renders INFO maintenance.
func (s *Server) infoMaintenance(b *infoBuilder) {}
