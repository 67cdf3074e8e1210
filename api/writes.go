package api

func (s *Server) writeRoutes(crsParam param) []route { return nil }
