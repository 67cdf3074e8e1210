package api

import (
	"fmt"
	"net/http"
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
				outCRSParam,
			},
			responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection of H3 cells"}), produces: geoJSONType, handler: s.hotspots},
	}
}

// hotspotCollection is the /v1/hotspots answer: a GeoJSON FeatureCollection
// with the analysis' parameters and warnings as foreign members.
type hotspotCollection struct {
	Type           string             `json:"type"`
	Res            int                `json:"res"`
	K              int                `json:"k"`
	Incidents      int                `json:"incidents"`
	Outside        int                `json:"incidents_outside_study"`
	StudyCells     int                `json:"study_cells"`
	Warnings       []string           `json:"warnings"`
	NumberReturned int                `json:"numberReturned"`
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
	sc := s.live.Scene()
	start := time.Now()
	res, err := tiles.Hotspots(r.Context(), sc.HazardList(), sc.Study, q)
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
	for _, c := range res.Cells {
		if c.Value == 0 && c.Bin == 0 {
			continue // an empty, ordinary cell says nothing the study size does not
		}
		f, err := hotspotFeature(c, oc)
		if err != nil {
			return err
		}
		out.Features = append(out.Features, f)
	}
	out.NumberReturned = len(out.Features)
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
