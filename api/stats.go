package api

func (s *Server) statsRoutes() []route { return nil }
