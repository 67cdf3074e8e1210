package api

import (
	"math"
	"net/http"
	"time"

	"github.com/paulmach/orb/geojson"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Camera coverage of the published plan over HTTP; live.Service.Coverage
// computes it.

// defaultGapRes is the H3 resolution of gap cells: ~25 m.
const defaultGapRes = 11

func (s *Server) coverageRoutes() []route {
	paging := pagingParams("grids", 1000)
	return []route{
		{method: "GET", path: "/v1/coverage", role: data.RolePlanner, id: "coverage", tag: "Cameras",
			summary:   "Per grid of the published plan: share of households and of area inside at least one online camera's sector, uncovered households",
			params:    paging,
			responses: withProblems(map[int]string{200: "coverage per grid, with totals", 404: "no published plan"}),
			produces:  "application/json", handler: s.coverageHandler},
		{method: "GET", path: "/v1/coverage/gaps", role: data.RolePlanner, id: "coverageGaps", tag: "Cameras",
			summary: "Uncovered areas per grid as GeoJSON: the H3 cells (resolution res) of the grid whose centres no online camera covers",
			params: append([]param{
				queryParam("grid", "one grid's code", str),
				queryParam("res", "H3 resolution of the gap cells (9–13; 11 ≈ 25 m cells)", map[string]any{"type": "integer", "minimum": 9, "maximum": 13, "default": defaultGapRes}),
				outCRSParam,
			}, paging...),
			responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection, one MultiPolygon feature per grid with gaps", 404: "no published plan, or no such grid"}),
			produces:  geoJSONType, handler: s.coverageGaps},
	}
}

func (s *Server) coverageHandler(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := parsePage(r.URL.Query(), 1000, maxLimit, false)
	if err != nil {
		return err
	}
	cov, err := s.live.Coverage(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"plan_id":        cov.Plan.Plan.ID,
		"cameras_online": cov.Online,
		"raster_cell_m":  math.Round(cov.CellM()*100) / 100,
		"computed_at":    cov.Computed.UTC().Format(time.RFC3339),
		"compute_ms":     cov.Took.Milliseconds(),
		"total":          cov.Total(nil),
		"numberMatched":  len(cov.Grids),
		"grids":          page(cov.Grids, limit, offset),
	})
}

func (s *Server) coverageGaps(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, offset, err := parsePage(v, 100, maxLimit, false)
	if err != nil {
		return err
	}
	res, err := intParam(v, "res", defaultGapRes, 9, 13)
	if err != nil {
		return err
	}
	oc, err := parseCRS(v, "crs")
	if err != nil {
		return err
	}
	cov, err := s.live.Coverage(r.Context())
	if err != nil {
		return err
	}
	pp := cov.Plan
	idx := make([]int, 0, len(pp.Plan.Grids))
	if code := v.Get("grid"); code != "" {
		i, ok := pp.ByCode[code]
		if !ok {
			return data.Errorf(data.ENOTFOUND, "parameter grid: no grid %q in the published plan", code)
		}
		idx = append(idx, i)
	} else {
		for i := range pp.Plan.Grids {
			idx = append(idx, i)
		}
	}
	idx = page(idx, limit, offset)
	fc := struct {
		Type     string             `json:"type"`
		Features []*geojson.Feature `json:"features"`
		// Paging is over grids, of which those without gaps give no feature.
		GridsMatched int `json:"grids_matched"`
		Offset       int `json:"offset"`
		Limit        int `json:"limit"`
	}{Type: "FeatureCollection", Features: []*geojson.Feature{}, GridsMatched: len(pp.Plan.Grids), Offset: offset, Limit: limit}
	if v.Get("grid") != "" {
		fc.GridsMatched = 1
	}
	for _, i := range idx {
		if err := r.Context().Err(); err != nil {
			return err
		}
		g := pp.Plan.Grids[i]
		var gaps []h3.Cell
		for _, poly := range g.Geometry {
			cells, err := spatial.PolygonToCells(poly, res)
			if err != nil {
				return data.Wrap(data.EINTERNAL, err, "grid %s: cells", g.Code)
			}
			for _, c := range cells {
				p, err := spatial.CellCenter(c)
				if err == nil && !cov.Covered(p) {
					gaps = append(gaps, c)
				}
			}
		}
		if len(gaps) == 0 {
			continue
		}
		mp, err := spatial.CellsToMultiPolygon(gaps)
		if err != nil {
			return data.Wrap(data.EINTERNAL, err, "grid %s: gap outline", g.Code)
		}
		gc := cov.Grids[i]
		f := geojson.NewFeature(oc.convert(mp))
		f.Properties = geojson.Properties{
			"code": g.Code, "res": res, "gap_cells": len(gaps), "gap_m2": math.Round(spatial.AreaM2(mp)),
			"area_share": gc.AreaShare, "households_uncovered": gc.HouseholdsUncovered,
		}
		fc.Features = append(fc.Features, f)
	}
	oc.header(w)
	return writeJSON(w, http.StatusOK, geoJSONType, fc)
}
