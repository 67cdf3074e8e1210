package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
	"github.com/wangge/wangge/tiles"
)

func (s *Server) hotspotRoutes() []route {
	cats := s.taxonomyInUse().CategoryCodes()
	return []route{
		{method: "GET", path: "/v1/hotspots", role: data.RoleViewer, id: "getHotspots", tag: "Analysis",
			summary: "Getis-Ord Gi* hot and cold spots of hazards over H3 cells (k-ring 1, each cell its own neighbour), " +
				"two-sided p, Benjamini–Hochberg FDR, bins −3…+3 for 99/95/90% cold and hot spots. " +
				"Returns the cells with incidents or a nonzero bin; warns under 30 incidents",
			params: []param{
				queryParam("category", "event category of the taxonomy in use: "+strings.Join(cats, ", ")+"; another value selects no incident",
					map[string]any{"type": "string", "enum": cats}),
				queryParam("since", "reported at or after: RFC 3339 time or YYYY-MM-DD", str),
				queryParam("until", "reported before: RFC 3339 time or YYYY-MM-DD", str),
				queryParam("res", "H3 resolution, 5–11 (default 9, cells of about 0.1 km²)", map[string]any{"type": "integer", "minimum": tiles.MinHotspotRes, "maximum": tiles.MaxHotspotRes}),
				queryParam("significant", "true: only the hot and cold spots (bin ≠ 0), not every cell with incidents", map[string]any{"type": "boolean", "default": false}),
				outCRSParam,
				queryParam("limit", "cells per page (the cells are in H3 index order; follow the next link for the rest)", map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": hotspotsPage}),
				queryParam("offset", "cells to skip", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
			},
			responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection of H3 cells, one page: numberMatched, numberReturned, links (self, next, prev)"}), produces: geoJSONType, handler: s.hotspots},
	}
}

// hotspotsPage is the default page of /v1/hotspots: a province has
// hundreds of thousands of cells with incidents, tens of MB as one answer;
// a map draws them from the hotspots tile layer, a client reads the pages.
const hotspotsPage = 1000

// hotspotCollection is the /v1/hotspots answer: a GeoJSON FeatureCollection
// with the analysis' parameters and warnings as foreign members, and
// OGC API Features paging (numberMatched, numberReturned, links).
type hotspotCollection struct {
	Type           string             `json:"type"`
	Res            int                `json:"res"`
	K              int                `json:"k"`
	Incidents      int                `json:"incidents"`
	Outside        int                `json:"incidents_outside_study"`
	StudyCells     int                `json:"study_cells"`
	Warnings       []string           `json:"warnings"`
	NumberMatched  int                `json:"numberMatched"`
	NumberReturned int                `json:"numberReturned"`
	Links          []link             `json:"links"`
	Features       []*geojson.Feature `json:"features"`
}

func (s *Server) hotspots(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	// A category the taxonomy in use does not have selects nothing, as on
	// every read filter: the answer is an analysis of no incidents, not an
	// error, so a dashboard built for another taxonomy keeps working.
	q := tiles.HotspotQuery{Category: v.Get("category")}
	var err error
	if q.Since, q.Until, err = parsePeriod(v); err != nil {
		return err
	}
	if q.Res, err = intParam(v, "res", 0, tiles.MinHotspotRes, tiles.MaxHotspotRes); err != nil {
		return err
	}
	oc, err := parseCRS(v, "crs")
	if err != nil {
		return err
	}
	significant, err := boolParam(v, "significant", false)
	if err != nil {
		return err
	}
	limit, offset, err := parsePage(v, hotspotsPage, maxLimit, false)
	if err != nil {
		return err
	}
	sc := s.live.Scene()
	start := time.Now()
	// One analysis per set of hazards and query, kept with the scene: the
	// pages of one client, and the tile layer's default, share it.
	res, err := sc.Hotspots(r.Context(), q)
	if err != nil {
		return err
	}
	// The analysis' own time, apart from encoding, for dashboards' and
	// benchmarks' sake (https://www.w3.org/TR/server-timing/).
	w.Header().Set("Server-Timing", fmt.Sprintf("gistar;dur=%.1f", float64(time.Since(start).Microseconds())/1000))
	out := hotspotCollection{Type: "FeatureCollection", Res: res.Res, K: res.K, Incidents: res.Incidents, Outside: res.Outside,
		StudyCells: res.StudyCells, Warnings: res.Warnings, Features: []*geojson.Feature{}}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	for i := range res.Cells {
		c := &res.Cells[i]
		// An empty, ordinary cell says nothing the study size does not.
		if (c.Value == 0 && c.Bin == 0) || (significant && c.Bin == 0) {
			continue
		}
		if out.NumberMatched >= offset && out.NumberMatched < offset+limit {
			f, err := hotspotFeature(*c, oc)
			if err != nil {
				return err
			}
			out.Features = append(out.Features, f)
		}
		out.NumberMatched++
	}
	out.NumberReturned = len(out.Features)
	self := s.baseURL(r) + r.URL.Path
	withOffset := func(off int) string {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(off))
		q.Set("limit", strconv.Itoa(limit))
		return self + "?" + q.Encode()
	}
	out.Links = []link{{Href: self + query(r.URL.Query()), Rel: "self", Type: geoJSONType}}
	if offset+out.NumberReturned < out.NumberMatched {
		out.Links = append(out.Links, link{Href: withOffset(offset + limit), Rel: "next", Type: geoJSONType, Title: "next page"})
	}
	if offset > 0 {
		out.Links = append(out.Links, link{Href: withOffset(max(0, offset-limit)), Rel: "prev", Type: geoJSONType, Title: "previous page"})
	}
	oc.header(w)
	return writeJSON(w, http.StatusOK, geoJSONType, out)
}

func hotspotFeature(c spatial.HotspotCell, oc outCRS) (*geojson.Feature, error) {
	poly, err := spatial.CellPolygon(c.Cell)
	if err != nil {
		return nil, err
	}
	f := geojson.NewFeature(oc.convert(poly))
	f.ID = c.Cell.String()
	f.Properties = geojson.Properties{
		"cell": c.Cell.String(), "count": int(c.Value), "neighbors": c.Neighbors,
		"z": c.Z, "p": c.P, "p_fdr": c.PFDR, "bin": c.Bin,
	}
	return f, nil
}
