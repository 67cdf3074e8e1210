package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

const (
	defaultNearbyRadiusM = 500
	maxNearbyRadiusM     = 50000 // a county; wider questions belong to /collections?bbox=
	defaultNearbyLimit   = 10
	maxNearbyLimit       = 1000
	// storeTimeFormat is how the store shows reported_at, so nearby and
	// /collections print the same text for the same hazard.
	// Both stores print RFC 3339 with the fraction trimmed of zeros.
	storeTimeFormat = time.RFC3339Nano
)

func (s *Server) nearbyRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/nearby", role: data.RoleField, id: "nearby", tag: "Locate", summary: "Hazards or cameras near a point, nearest first (great-circle metres), from the in-memory index",
			params: []param{
				lonParam, latParam, crsParam,
				{name: "kind", in: "query", desc: "what to find: hazards or cameras", schema: map[string]any{"type": "string", "enum": []string{"hazards", "cameras"}}, required: true},
				queryParam("radius_m", "search radius in metres", map[string]any{"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": maxNearbyRadiusM, "default": defaultNearbyRadiusM}),
				queryParam("limit", "most features returned", map[string]any{"type": "integer", "minimum": 1, "maximum": maxNearbyLimit, "default": defaultNearbyLimit}),
			},
			responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection, nearest first, each with properties.distance_m"}),
			produces:  geoJSONType, handler: s.nearby},
	}
}

func (s *Server) nearby(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	p, err := parsePoint(v)
	if err != nil {
		return err
	}
	// The point's crs is the answer's too.
	oc, err := parseCRS(v, "crs")
	if err != nil {
		return err
	}
	kind := v.Get("kind")
	if kind != string(data.LayerHazards) && kind != string(data.LayerCameras) {
		if kind == "" {
			return invalid("parameter kind is required: hazards or cameras")
		}
		return invalid("parameter kind must be hazards or cameras, got %q", kind)
	}
	if kind == string(data.LayerCameras) {
		if err := authorize(r, data.RolePlanner, "find cameras"); err != nil {
			return err
		}
	}
	radius := float64(defaultNearbyRadiusM)
	if s := v.Get("radius_m"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || !(f > 0 && f <= maxNearbyRadiusM) {
			return invalid("parameter radius_m must be a number of metres in (0, %d], got %q", maxNearbyRadiusM, s)
		}
		radius = f
	}
	limit, err := intParam(v, "limit", defaultNearbyLimit, 1, maxNearbyLimit)
	if err != nil {
		return err
	}

	fc := struct {
		Type           string     `json:"type"`
		Features       []*feature `json:"features"`
		NumberReturned int        `json:"numberReturned"`
	}{Type: "FeatureCollection", Features: []*feature{}}
	base := s.baseURL(r)
	add := func(fid int64, pt orb.Point, props map[string]any, dist float64) {
		props["distance_m"] = math.Round(dist*10) / 10
		fc.Features = append(fc.Features, &feature{Type: "Feature", ID: fid, Geometry: oc.geometry(pt), Properties: props,
			Links: []link{{Href: base + "/collections/" + kind + "/items/" + strconv.FormatInt(fid, 10), Rel: "self", Type: geoJSONType}}})
	}
	if kind == string(data.LayerHazards) {
		for _, n := range s.live.NearbyHazards(p, radius, limit) {
			add(n.Record.FID, n.Record.Point, hazardProps(n.Record), n.DistanceM)
		}
	} else {
		for _, n := range s.live.NearbyCameras(p, radius, limit) {
			add(n.Record.FID, n.Record.Point, cameraProps(n.Record), n.DistanceM)
		}
	}
	fc.NumberReturned = len(fc.Features)
	oc.header(w)
	return writeJSON(w, http.StatusOK, geoJSONType, fc)
}

// hazardProps are a hazard's properties under the names /collections uses.
func hazardProps(h data.Hazard) map[string]any {
	return map[string]any{"source_id": h.ID, "category": h.Category, "severity": h.Severity, "status": h.Status,
		"reported_at": h.ReportedAt.UTC().Format(storeTimeFormat), "note": h.Note, "assignee": h.Assignee,
		"resp_code": h.RespCode, "resp_level": h.RespLevel,
		"due_at": optTime(h.DueAt), "resolved_at": optTime(h.ResolvedAt), "closed_at": optTime(h.ClosedAt)}
}

// optTime is a time as features show it, or null for none.
func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(storeTimeFormat)
}

// cameraProps are a camera's properties under the names /collections uses.
func cameraProps(c data.Camera) map[string]any {
	return map[string]any{"source_id": c.ID, "azimuth": c.Azimuth, "fov": c.FOV, "range_m": c.RangeM, "status": c.Status}
}
