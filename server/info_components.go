package server

// infoComponents renders INFO components.
func (s *Server) infoComponents(b *infoBuilder) {}
