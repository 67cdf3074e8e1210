package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/cql2"
)

const (
	defaultLimit = 10
	maxLimit     = 10000
	crs84        = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	geoJSONType  = "application/geo+json"
)

// collectionInfo describes the collections served and the role each
// needs. Household points are personal data and camera positions are
// sensitive: both are for planners only, and other roles do not even see
// them listed.
var collectionInfo = []struct {
	layer       data.Layer
	title, desc string
	role        data.Role
}{
	{data.LayerAreas, "Administrative areas", "Streets/townships (level 1) and communities/villages (level 2) that grids nest in", data.RoleViewer},
	{data.LayerGrids, "Grids", "Management grids of the published plan", data.RoleViewer},
	{data.LayerHazards, "Hazards", "Reported hazards: category, severity 1–3, status, reported_at (the time datetime selects on)", data.RoleViewer},
	{data.LayerCameras, "Cameras", "Surveillance cameras: azimuth, field of view, range, status", data.RolePlanner},
	{data.LayerHouseholds, "Household points", "Residential buildings with their number of households (personal data)", data.RolePlanner},
	{data.LayerStreets, "Streets", "Roads, rivers and railways (kind road/water/rail, class) that grid boundaries follow", data.RoleViewer},
	{data.LayerUnits, "Units", "Organisations a grid covers whole (实有单位): schools, offices, factories, as points or polygons", data.RolePlanner},
}

// servedLayer returns the collection called id if the request's principal
// may read it.
func servedLayer(r *http.Request, id string) (data.Layer, error) {
	for _, c := range collectionInfo {
		if string(c.layer) == id {
			if err := authorize(r, c.role, "read "+id); err != nil {
				return "", err
			}
			return c.layer, nil
		}
	}
	return "", data.Errorf(data.ENOTFOUND, "no collection %q (collections: areas, grids, hazards, cameras, households, streets, units)", id)
}

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// baseURL is the absolute prefix for links: configured, or this request's.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type collectionDoc struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	ItemType    string   `json:"itemType"`
	CRS         []string `json:"crs"`
	StorageCRS  string   `json:"storageCrs"`
	Extent      *extent  `json:"extent,omitempty"`
	Links       []link   `json:"links"`
}

type extent struct {
	Spatial struct {
		BBox [][]float64 `json:"bbox"`
		CRS  string      `json:"crs"`
	} `json:"spatial"`
	Temporal *temporalExtent `json:"temporal,omitempty"`
}

// temporalExtent is the interval of a collection's temporal property
// (data.TimeProperty), in the Gregorian calendar; a null end is open.
type temporalExtent struct {
	Interval [][2]*string `json:"interval"`
	TRS      string       `json:"trs"`
}

// gregorian is the only temporal reference system of OGC API Features Core.
const gregorian = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

func (s *Server) describe(r *http.Request, layer data.Layer, title, desc string) (collectionDoc, error) {
	base := s.baseURL(r)
	doc := collectionDoc{
		ID: string(layer), Title: title, Description: desc, ItemType: "feature", CRS: crsURIs, StorageCRS: crs84,
		Links: []link{
			{Href: base + "/collections/" + string(layer), Rel: "self", Type: "application/json", Title: title},
			{Href: base + "/collections/" + string(layer) + "/items", Rel: "items", Type: geoJSONType, Title: title + " as GeoJSON"},
			queryablesLink(base, layer),
		},
	}
	b, ok, err := s.store.Extent(r.Context(), layer)
	if err != nil {
		return doc, err
	}
	if ok {
		doc.Extent = &extent{}
		doc.Extent.Spatial.BBox = [][]float64{{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}
		doc.Extent.Spatial.CRS = crs84
		if first, last, ok := s.live.TimeExtent(layer); ok {
			f, l := first.Format(storeTimeFormat), last.Format(storeTimeFormat)
			doc.Extent.Temporal = &temporalExtent{Interval: [][2]*string{{&f, &l}}, TRS: gregorian}
		}
	}
	return doc, nil
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) error {
	base := s.baseURL(r)
	out := struct {
		Links       []link          `json:"links"`
		Collections []collectionDoc `json:"collections"`
	}{Links: []link{{Href: base + "/collections", Rel: "self", Type: "application/json"}}}
	p := principalOf(r.Context())
	for _, c := range collectionInfo {
		if !p.role.Allows(c.role) {
			continue
		}
		doc, err := s.describe(r, c.layer, c.title, c.desc)
		if err != nil {
			return err
		}
		out.Collections = append(out.Collections, doc)
	}
	return writeJSON(w, http.StatusOK, "application/json", out)
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) error {
	layer, err := servedLayer(r, mux.Vars(r)["collectionId"])
	if err != nil {
		return err
	}
	for _, c := range collectionInfo {
		if c.layer == layer {
			doc, err := s.describe(r, layer, c.title, c.desc)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, "application/json", doc)
		}
	}
	return nil
}

// parseItemsQuery reads limit, offset, bbox, bbox-crs, datetime and the
// layer's property filters (its queryables, queryables.go).
func parseItemsQuery(r *http.Request, layer data.Layer) (data.Query, error) {
	q, _, err := parseItemsRequest(r, layer)
	return q, err
}

// parseItemsRequest is parseItemsQuery and the crs of the answer.
func parseItemsRequest(r *http.Request, layer data.Layer) (data.Query, outCRS, error) {
	q, err := itemsQuery(r, layer)
	if err != nil {
		return q, outCRS{}, err
	}
	oc, err := parseCRS(r.URL.Query(), "crs")
	return q, oc, err
}

func itemsQuery(r *http.Request, layer data.Layer) (data.Query, error) {
	// The route declares every layer's filters; each layer takes its own.
	// f was checked with the route's (strictQuery).
	if err := checkNames(r.URL.RawQuery, itemsParams(layer), true); err != nil {
		return data.Query{}, err
	}
	v := r.URL.Query()
	q := data.Query{Limit: defaultLimit}
	var err error
	if q.Limit, q.Offset, err = parsePage(v, defaultLimit, maxLimit, true); err != nil {
		return q, err
	}
	bc, err := parseCRS(v, "bbox-crs")
	if err != nil {
		return q, err
	}
	if s := v.Get("bbox"); s != "" {
		b, err := parseBBoxIn(s, bc)
		if err != nil {
			return q, err
		}
		q.BBox = &b
	}
	// datetime is taken on every collection: one without a temporal
	// property matches every feature (/req/core/fc-time-response C), which
	// the store does when it has no data.TimeProperty for the layer.
	if s := v.Get("datetime"); s != "" {
		t, err := parseDatetime("datetime", s)
		if err != nil {
			return q, err
		}
		q.Time = &t
	}
	if prop := data.TimeProperty(layer); prop != "" {
		// The temporal queryable as a query parameter: that instant.
		if s := v.Get(prop); s != "" {
			lo, hi, err := parseInstant(prop, s)
			if err != nil {
				return q, err
			}
			q.Time = intersect(q.Time, data.TimeRange{Start: lo, End: hi})
		}
	}
	if err := parseFilter(v, &q); err != nil {
		return q, err
	}
	for _, name := range data.Filterable(layer) {
		if s := v.Get(name); s != "" {
			if err := checkFilter(name, s); err != nil {
				return q, err
			}
			if q.Filter == nil {
				q.Filter = map[string]string{}
			}
			q.Filter[name] = s
		}
	}
	return q, nil
}

// parseFilter reads a CQL2 filter (OGC API Features Part 3): filter in the
// text encoding, the only filter-lang here, with coordinates in CRS84. The
// store checks its properties against the layer's queryables and turns it
// into SQL with bound arguments (data/cql2).
func parseFilter(v url.Values, q *data.Query) error {
	if s := v.Get("filter-lang"); s != "" && s != "cql2-text" {
		return invalid("parameter filter-lang: only cql2-text is supported, got %q", s)
	}
	if s := v.Get("filter-crs"); s != "" && s != crs84 {
		return invalid("parameter filter-crs: only %s is supported, got %q", crs84, s)
	}
	text := v.Get("filter")
	if text == "" {
		if v.Has("filter") {
			return invalid("parameter filter is empty")
		}
		return nil
	}
	e, err := cql2.Parse(text)
	if err != nil {
		return data.Wrap(data.EINVALID, err, "parameter %v", err)
	}
	q.Where = e
	return nil
}

// itemsParams lists the query parameters of a layer's items.
func itemsParams(layer data.Layer) []string {
	known := append([]string{"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "filter-crs", "f"}, data.Filterable(layer)...)
	if prop := data.TimeProperty(layer); prop != "" {
		known = append(known, prop)
	}
	return known
}

// intersect narrows r (nil: all time) to the closed range t.
func intersect(r *data.TimeRange, t data.TimeRange) *data.TimeRange {
	if r == nil {
		return &t
	}
	out := *r
	if out.Start.IsZero() || t.Start.After(out.Start) {
		out.Start = t.Start
	}
	if out.End.IsZero() || (!t.End.IsZero() && t.End.Before(out.End)) {
		out.End = t.End
	}
	return &out
}

// checkFilter checks a filter value's type. A value of the right type
// outside the values a property takes (category=Fire, severity=5) matches
// nothing rather than failing: the queryables list those values, and a
// client that filters on one that does not occur gets what exists.
func checkFilter(name, value string) error {
	switch name {
	case "severity":
		if _, err := strconv.Atoi(value); err != nil {
			return invalid("parameter severity must be an integer (1, 2 or 3), got %q", value)
		}
	case "level":
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return invalid("parameter level must be a positive integer, got %q", value)
		}
	}
	return nil
}

// parseBBoxIn reads a bbox given in the CRS c (its axis order: lat first
// for EPSG:4326 and EPSG:4490, Part 2's /req/crs/fc-bbox-crs-definition)
// as a WGS 84 bound.
func parseBBoxIn(s string, c outCRS) (orb.Bound, error) {
	if c.latLon {
		parts := strings.Split(s, ",")
		switch len(parts) {
		case 4:
			parts = []string{parts[1], parts[0], parts[3], parts[2]}
		case 6:
			parts = []string{parts[1], parts[0], parts[2], parts[4], parts[3], parts[5]}
		}
		s = strings.Join(parts, ",")
	}
	b, err := parseBBox(s)
	if err != nil {
		return b, err
	}
	return c.bound(b), nil
}

// parseBBox reads "minLon,minLat,maxLon,maxLat" or the 6-number 3D form
// (whose heights are ignored: wangge's data is 2D).
func parseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return orb.Bound{}, invalid("parameter bbox must have 4 numbers (minLon,minLat,maxLon,maxLat) or 6, got %d", len(parts))
	}
	nums := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, invalid("parameter bbox: item %d (%q) is not a number", i+1, p)
		}
		nums[i] = f
	}
	if len(nums) == 6 {
		nums = []float64{nums[0], nums[1], nums[3], nums[4]}
	}
	minx, miny, maxx, maxy := nums[0], nums[1], nums[2], nums[3]
	switch {
	case minx < -180 || maxx > 180 || minx > 180 || maxx < -180:
		return orb.Bound{}, invalid("parameter bbox: longitudes must be within [-180, 180]")
	case miny < -90 || maxy > 90 || miny > 90 || maxy < -90:
		return orb.Bound{}, invalid("parameter bbox: latitudes must be within [-90, 90]")
	case miny > maxy:
		return orb.Bound{}, invalid("parameter bbox: minLat %v is greater than maxLat %v", miny, maxy)
	case minx > maxx:
		return orb.Bound{}, invalid("parameter bbox: minLon %v is greater than maxLon %v (boxes across the antimeridian are not supported)", minx, maxx)
	}
	return orb.Bound{Min: orb.Point{minx, miny}, Max: orb.Point{maxx, maxy}}, nil
}

type featureCollection struct {
	Type           string     `json:"type"`
	Features       []*feature `json:"features"`
	NumberMatched  int        `json:"numberMatched"`
	NumberReturned int        `json:"numberReturned"`
	TimeStamp      string     `json:"timeStamp"`
	Links          []link     `json:"links"`
}

// feature is a GeoJSON Feature with the OGC links member.
type feature struct {
	Type       string            `json:"type"`
	ID         int64             `json:"id"`
	Geometry   *geojson.Geometry `json:"geometry"`
	Properties map[string]any    `json:"properties"`
	Links      []link            `json:"links,omitempty"`
}

// toGeoJSON is a stored feature as an answer in the CRS oc.
func toGeoJSON(f data.Feature, oc outCRS) *feature {
	props := f.Properties
	if props == nil {
		props = map[string]any{}
	}
	return &feature{Type: "Feature", ID: f.FID, Geometry: oc.geometry(f.Geometry), Properties: props}
}

// itemsChunk is how many features an items page reads from the store at a
// time. A page is written to the client as it is encoded (stream.go), so a
// client that does not read holds one chunk and the write buffer, not the
// page: 10,000 household points are 1.5 MB of JSON and 4.3 MB as read from
// the store, 500 of them about 0.2 MB (TestStalledClientsPinLittle).
const itemsChunk = 500

func (s *Server) items(w http.ResponseWriter, r *http.Request) error {
	layer, err := servedLayer(r, mux.Vars(r)["collectionId"])
	if err != nil {
		return err
	}
	q, oc, err := parseItemsRequest(r, layer)
	if err != nil {
		return err
	}
	// Grids carry their risk level (rollups.go).
	addRisk, err := s.gridRiskProps(r, layer)
	if err != nil {
		return err
	}
	// The first chunk is read before anything is written, so a bad query
	// or a store that is down is still a problem document with its status.
	cq := q
	cq.Limit = min(q.Limit, itemsChunk)
	chunk, err := s.store.Items(r.Context(), layer, cq)
	if err != nil {
		return err
	}
	matched, timeStamp := chunk.Matched, time.Now().UTC().Format(time.RFC3339)
	w.Header().Set("Content-Type", geoJSONType)
	oc.header(w)
	// Items are the resource filtered: they name the queryables in a header
	// too, as Part 3 recommends.
	ql := queryablesLink(s.baseURL(r), layer)
	w.Header().Set("Link", "<"+ql.Href+`>; rel="`+ql.Rel+`"; type="`+ql.Type+`"`)
	w.WriteHeader(http.StatusOK)
	// From here an error cuts the answer short: a client gone, or a store
	// that failed between chunks.
	st := newJSONStream(w)
	st.raw(`{"type":"FeatureCollection","features":[`)
	returned, last := 0, int64(0)
	for {
		fresh := 0
		for i := 0; i < len(chunk.Features) && st.err == nil; i++ {
			f := &chunk.Features[i]
			if returned > 0 {
				st.raw(",")
			}
			if addRisk != nil {
				addRisk(f)
			}
			st.value(toGeoJSON(*f, oc))
			last, returned, fresh = f.FID, returned+1, fresh+1
			*f = data.Feature{} // written: the client no longer holds it
		}
		if st.err != nil || returned >= q.Limit || len(chunk.Features) < cq.Limit || fresh == 0 {
			break
		}
		// The next chunk goes on from the last fid written (keyset), so a
		// row deleted or added meanwhile neither shifts nor repeats one,
		// and is not counted again.
		cq.Offset, cq.AfterFID, cq.NoCount, cq.Limit = 0, last, true, min(q.Limit-returned, itemsChunk)
		if chunk, err = s.store.Items(r.Context(), layer, cq); err != nil {
			abort(w)
			return err
		}
	}
	self := s.baseURL(r) + r.URL.Path
	withOffset := func(off int) string {
		v := r.URL.Query()
		v.Set("offset", strconv.Itoa(off))
		v.Set("limit", strconv.Itoa(q.Limit))
		return self + "?" + v.Encode()
	}
	links := []link{
		{Href: self + query(r.URL.Query()), Rel: "self", Type: geoJSONType},
		{Href: s.baseURL(r) + "/collections/" + string(layer), Rel: "collection", Type: "application/json"},
		ql,
	}
	if q.Offset+returned < matched {
		links = append(links, link{Href: withOffset(q.Offset + q.Limit), Rel: "next", Type: geoJSONType, Title: "next page"})
	}
	if q.Offset > 0 {
		links = append(links, link{Href: withOffset(max(0, q.Offset-q.Limit)), Rel: "prev", Type: geoJSONType, Title: "previous page"})
	}
	// The members of featureCollection, in its order.
	st.raw(`],"numberMatched":` + strconv.Itoa(matched) + `,"numberReturned":` + strconv.Itoa(returned) + `,"timeStamp":`)
	st.value(timeStamp)
	st.raw(`,"links":`)
	st.value(links)
	st.raw("}\n")
	if err := st.close(); err != nil {
		abort(w)
		return err
	}
	return nil
}

func query(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	layer, err := servedLayer(r, vars["collectionId"])
	if err != nil {
		return err
	}
	fid, err := pathFID(r, layer)
	if err != nil {
		return err
	}
	oc, err := parseCRS(r.URL.Query(), "crs")
	if err != nil {
		return err
	}
	f, err := s.store.Item(r.Context(), layer, fid)
	if err != nil {
		return err
	}
	if tag, err := s.live.ETag(r.Context(), layer, fid); err != nil {
		return err
	} else if tag != "" {
		// The tag a PATCH or DELETE sends back in If-Match.
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "no-cache")
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, tag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	if addRisk, err := s.gridRiskProps(r, layer); err != nil {
		return err
	} else if addRisk != nil {
		addRisk(&f)
	}
	base := s.baseURL(r)
	out := toGeoJSON(f, oc)
	oc.header(w)
	out.Links = []link{
		{Href: fmt.Sprintf("%s/collections/%s/items/%d", base, layer, fid), Rel: "self", Type: geoJSONType},
		{Href: base + "/collections/" + string(layer), Rel: "collection", Type: "application/json"},
	}
	return writeJSON(w, http.StatusOK, geoJSONType, out)
}

func (s *Server) featureRoutes() []route {
	listParams := []param{
		pathParam("collectionId", "collection id: areas, grids, hazards, cameras"),
		queryParam("limit", fmt.Sprintf("page size; above %d is %d, as the next link says", maxLimit, maxLimit),
			map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}),
		queryParam("offset", "features to skip, for paging (the next link sets it)", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
		{name: "bbox", in: "query", desc: "minLon,minLat,maxLon,maxLat (in bbox-crs, CRS84 by default; minLat,minLon,maxLat,maxLon for EPSG:4326 and EPSG:4490): features intersecting the box",
			schema: map[string]any{"type": "array", "minItems": 4, "maxItems": 6, "items": map[string]any{"type": "number"}}},
		queryParam("bbox-crs", "CRS of bbox (OGC API Features Part 2): "+strings.Join(crsNames, ", ")+"; default "+crs84, map[string]any{"type": "string", "enum": crsNames}),
		itemsCRSParam,
		queryParam("datetime", "features whose time (hazards: reported_at) is this RFC 3339 instant or lies in this interval, ends included: "+
			"2025-03-01T09:30:00Z, 2025-03-01T00:00:00Z/2025-03-31T23:59:59Z, ../2025-03-31T23:59:59Z, 2025-03-01T00:00:00Z/.. "+
			"(an empty end is open too); a date stands for its whole UTC day. Collections without a time ignore it", str),
		queryParam("filter", "a CQL2 text filter on the collection's queryables (/collections/{collectionId}/queryables): comparisons, "+
			"AND, OR, NOT, BETWEEN, IN, LIKE, IS NULL and S_INTERSECTS(geometry, BBOX(…)|POLYGON(…)|…), e.g. "+
			"category = 'fire' AND severity >= 2 AND reported_at > TIMESTAMP('2025-03-01T00:00:00Z')", str),
		queryParam("filter-lang", "the filter's language: cql2-text, the only one", map[string]any{"type": "string", "enum": []string{"cql2-text"}}),
		queryParam("filter-crs", "CRS of the filter's geometries; only "+crs84, map[string]any{"type": "string", "format": "uri"}),
		queryParam("category", "hazards only: a category code of the taxonomy in use, GET /v1/taxonomy (another value matches nothing)", str),
		queryParam("status", "hazards ("+strings.Join(data.StatusNames(), ", ")+") and cameras (online, offline, maintenance)", str),
		queryParam("severity", "hazards only: 1, 2 or 3", map[string]any{"type": "integer"}),
		queryParam("assignee", "hazards only: the worker id an event is assigned to (\"\" for unassigned events)", str),
		queryParam("resp_code", "hazards only: the code of the responsible grid or area", str),
		queryParam("resp_level", "hazards only: the level of the responsible unit (0 = the county)", map[string]any{"type": "integer", "minimum": 0}),
		queryParam("reported_at", "hazards only: reported at this RFC 3339 instant", map[string]any{"type": "string", "format": "date-time"}),
		queryParam("level", "areas only: nesting level, 1 = top", map[string]any{"type": "integer", "minimum": 1}),
		queryParam("parent_code", "areas and grids: code of the parent area", str),
		fParam,
	}
	return []route{
		{method: "GET", path: "/collections", role: data.RoleViewer, id: "getCollections", tag: "Data", summary: "The feature collections: areas, grids (published plan), hazards, cameras",
			params: []param{fParam}, responses: map[int]string{200: "collections", 406: notJSON}, produces: "application/json", handler: s.collections},
		{method: "GET", path: "/collections/{collectionId}", role: data.RoleViewer, id: "describeCollection", tag: "Data", summary: "One collection's metadata",
			params: []param{pathParam("collectionId", "collection id"), fParam}, responses: withProblems(map[int]string{200: "collection", 406: notJSON}), produces: "application/json", handler: s.collection},
		{method: "GET", path: "/collections/{collectionId}/queryables", role: data.RoleViewer, id: "getQueryables", tag: "Data",
			summary: "The properties a collection's items can be filtered on, as a JSON Schema (OGC API Features Part 3); each but the geometry is a query parameter of the items",
			params:  []param{pathParam("collectionId", "collection id"), fParam}, responses: withProblems(map[int]string{200: "JSON Schema of the queryables", 406: notJSON}),
			produces: schemaJSON, handler: s.queryables},
		{method: "GET", path: "/collections/{collectionId}/items", role: data.RoleViewer, id: "getFeatures", tag: "Data", summary: "Features of a collection, paged, filtered by bbox, time and properties",
			params: listParams, responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection with numberMatched, numberReturned and links", 406: notJSON}), produces: "application/geo+json", handler: s.items},
		{method: "GET", path: "/collections/{collectionId}/items/{featureId}", role: data.RoleViewer, id: "getFeature", tag: "Data", summary: "One feature",
			params:    []param{pathParam("collectionId", "collection id"), pathParam("featureId", "feature id (integer)"), itemsCRSParam, fParam},
			responses: withProblems(map[int]string{200: "GeoJSON Feature", 406: notJSON}), produces: "application/geo+json", handler: s.item},
	}
}

// itemsCRSParam is the crs of the items (OGC API Features Part 2).
var itemsCRSParam = queryParam("crs", "CRS of the answer's geometry (OGC API Features Part 2): "+crs84+" (default; lon, lat), "+
	epsg4326+" or "+epsg4490+" (CGCS2000, numerically WGS 84 here; both lat, lon), or wangge's short names wgs84, gcj02 (AMap, Tencent), bd09 (Baidu), "+
	"lon, lat; the Content-Crs header names it where it has a URI", map[string]any{"type": "string", "enum": crsNames})
