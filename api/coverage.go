package api

// derivedCache holds results derived from the indexes for one version.
type derivedCache struct{}

func (s *Server) coverageRoutes() []route { return nil }
