package server

// infoSchema renders INFO schema.
func (s *Server) infoSchema(b *infoBuilder) {}
