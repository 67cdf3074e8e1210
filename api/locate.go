package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
	"github.com/wangge/wangge/spatial"
)

// maxBatch is the most points one POST /v1/locate may carry: enough for a
// day of a field team's tracks, small enough to answer in a few milliseconds.
const maxBatch = 10000

// locateRoutes is the group of issue 4: locate, nearby, writes, coverage and
// per-grid statistics. One group keeps routeTable to one line for all of them.
func (s *Server) locateRoutes() []route {
	crsParam := queryParam("crs", "coordinate system of the point: wgs84 (default), gcj02 (AMap, Tencent) or bd09 (Baidu)",
		map[string]any{"type": "string", "enum": []string{"wgs84", "gcj02", "bd09"}, "default": "wgs84"})
	rt := []route{
		{method: "GET", path: "/v1/locate", id: "locate", tag: "Locate", summary: "The published grid containing a point, its parent areas and the distance to its boundary",
			params: []param{
				{name: "lon", in: "query", desc: "longitude", schema: map[string]any{"type": "number", "minimum": -180, "maximum": 180}, required: true},
				{name: "lat", in: "query", desc: "latitude", schema: map[string]any{"type": "number", "minimum": -90, "maximum": 90}, required: true},
				crsParam,
			},
			responses: withProblems(map[int]string{200: `{"point", "grid" (null outside every grid), "parents", "distance_to_boundary_m"}`}),
			produces:  "application/json", handler: s.locate},
		{method: "POST", path: "/v1/locate", id: "locateBatch", tag: "Locate",
			summary:   fmt.Sprintf(`Batch locate: body {"points": [[lon, lat], …], "crs": "wgs84"} with up to %d points; results in the same order`, maxBatch),
			responses: withProblems(map[int]string{200: `{"results": […]}, one locate answer per point`}),
			produces:  "application/json", handler: s.locateBatch},
	}
	rt = append(rt, s.nearbyRoutes(crsParam)...)
	rt = append(rt, s.writeRoutes(crsParam)...)
	rt = append(rt, s.coverageRoutes()...)
	return append(rt, s.statsRoutes()...)
}

// queryOnly rejects parameters outside known, like checkParams, but on
// values already parsed: locate is the hot path and parses the query once.
func queryOnly(v url.Values, known ...string) error {
	for name := range v {
		if !slices.Contains(known, name) {
			return invalid("unknown query parameter %q (known here: %s)", name, strings.Join(known, ", "))
		}
	}
	return nil
}

// coordValue checks the first value s of a required longitude or latitude
// parameter ("" when absent).
func coordValue(name, s string, limit float64) (float64, error) {
	if s == "" {
		return 0, invalid("parameter %s is required", name)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, invalid("parameter %s must be a number, got %q", name, s)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, invalid("parameter %s must be a finite number, got %q", name, s)
	}
	if !decimal(strings.TrimSpace(s)) {
		return 0, invalid("parameter %s must be a decimal number, got %q", name, s)
	}
	if f < -limit || f > limit {
		return 0, invalid("parameter %s must be within [%v, %v], got %v", name, -limit, limit, f)
	}
	return f, nil
}

// parseCRSParam reads the optional crs parameter; WGS 84 when absent.
func parseCRSParam(v url.Values) (spatial.CRS, error) {
	return crsValue(v.Get("crs"))
}

// crsValue checks the first value s of the crs parameter ("" when absent).
func crsValue(s string) (spatial.CRS, error) {
	if s == "" {
		return spatial.WGS84, nil
	}
	c, err := spatial.ParseCRS(s)
	if err != nil {
		return 0, invalid("parameter crs: unknown coordinate system %q (want wgs84, gcj02 or bd09)", s)
	}
	return c, nil
}

// parsePoint reads lon, lat and crs and returns the point in WGS 84.
func parsePoint(v url.Values) (orb.Point, error) {
	return pointValue(v.Get("lon"), v.Get("lat"), v.Get("crs"))
}

// pointValue checks the first values of lon, lat and crs ("" when absent),
// in that order, and returns the point in WGS 84.
func pointValue(lonS, latS, crsS string) (orb.Point, error) {
	lon, err := coordValue("lon", lonS, 180)
	if err != nil {
		return orb.Point{}, err
	}
	lat, err := coordValue("lat", latS, 90)
	if err != nil {
		return orb.Point{}, err
	}
	c, err := crsValue(crsS)
	if err != nil {
		return orb.Point{}, err
	}
	return toWGS84(c, orb.Point{lon, lat}, "the point")
}

// toWGS84 converts p from c, refusing a result outside WGS 84's range:
// GCJ-02 and BD-09 are offsets defined around China, and near the poles
// BD-09's formula leaves the globe ([-180.0067, -90.0055] from [-180, -90]).
func toWGS84(c spatial.CRS, p orb.Point, what string) (orb.Point, error) {
	w := c.ToWGS84(p)
	if !spatial.ValidLonLat(w) {
		return orb.Point{}, invalid("%s [%v, %v] in %s converts to [%v, %v], outside WGS 84's range; %s is an offset defined around China",
			what, p[0], p[1], c, w[0], w[1], c)
	}
	return w, nil
}

// plainLocateQuery reads lon, lat and crs from a raw query string without
// building url.Values, which costs a map and a slice per parameter on the
// busiest route. It handles only what needs no decoding (no '%', '+' or
// ';') and names no other parameter; for anything else it reports false
// and locate asks url.ParseQuery, so odd queries get exactly its answer.
// Like url.Values.Get, it keeps the first value of a repeated parameter.
func plainLocateQuery(raw string) (lon, lat, crs string, ok bool) {
	if strings.ContainsAny(raw, "%+;") {
		return "", "", "", false
	}
	var seenLon, seenLat, seenCRS bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		switch {
		case key == "lon":
			if !seenLon {
				lon, seenLon = value, true
			}
		case key == "lat":
			if !seenLat {
				lat, seenLat = value, true
			}
		case key == "crs":
			if !seenCRS {
				crs, seenCRS = value, true
			}
		default:
			return "", "", "", false
		}
	}
	return lon, lat, crs, true
}

func (s *Server) locate(w http.ResponseWriter, r *http.Request) error {
	var p orb.Point
	var err error
	if lon, lat, crs, ok := plainLocateQuery(r.URL.RawQuery); ok {
		p, err = pointValue(lon, lat, crs)
	} else {
		v := r.URL.Query()
		if err := queryOnly(v, "lon", "lat", "crs"); err != nil {
			return err
		}
		p, err = parsePoint(v)
	}
	if err != nil {
		return err
	}
	// The answer is a few hundred bytes, copied into the connection's
	// buffer by Write, so its buffer is reused by the next request.
	bp, _ := s.answerBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
		*bp = make([]byte, 0, 512)
	}
	buf := s.appendLocate((*bp)[:0], s.live.Published(), s.live.Areas(), p)
	buf = append(buf, '\n')
	err = writeRaw(w, buf)
	if cap(buf) <= 64<<10 {
		*bp = buf
		s.answerBufs.Put(bp)
	}
	return err
}

// locateRequest is the body of POST /v1/locate as first read: positions as
// plain arrays of numbers, the fast way for a well-formed batch.
type locateRequest struct {
	Points [][]float64 `json:"points"`
	CRS    string      `json:"crs"`
}

// locateRequestRaw is the body read again, item by item, when the fast read
// fails: it finds the index of the item that is not [lon, lat].
type locateRequestRaw struct {
	Points []json.RawMessage `json:"points"`
	CRS    string            `json:"crs"`
}

func (s *Server) locateBatch(w http.ResponseWriter, r *http.Request) error {
	if err := queryOnly(r.URL.Query()); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonBodyError(err)
	}
	var req locateRequest
	if err := decodeJSON(body, &req); err != nil {
		var raw locateRequestRaw
		if rerr := decodeJSON(body, &raw); rerr != nil {
			return rerr
		}
		if len(raw.Points) > maxBatch {
			return invalid("body: points has %d positions, the limit is %d", len(raw.Points), maxBatch)
		}
		for i, item := range raw.Points {
			if _, perr := parsePosition(item); perr != nil {
				return invalid("body: points[%d] %v", i, perr)
			}
		}
		return err // not expected: the item-wise read found nothing wrong
	}
	if req.Points == nil {
		return invalid(`body: "points" is required: {"points": [[lon, lat], …]}`)
	}
	if len(req.Points) > maxBatch {
		return invalid("body: points has %d positions, the limit is %d", len(req.Points), maxBatch)
	}
	c := spatial.WGS84
	if req.CRS != "" {
		if c, err = spatial.ParseCRS(req.CRS); err != nil {
			return invalid("body: crs: unknown coordinate system %q (want wgs84, gcj02 or bd09)", req.CRS)
		}
	}
	// Check every point before answering any, so a bad point rejects the
	// batch with its index rather than a half-written answer.
	pts := make([]orb.Point, len(req.Points))
	for i, xy := range req.Points {
		if len(xy) != 2 {
			got, _ := json.Marshal(xy) // numbers just decoded from JSON
			return invalid("body: points[%d] must be [lon, lat] (two numbers), got %s", i, got)
		}
		p := orb.Point{xy[0], xy[1]}
		if reason := data.ValidPoint(p); reason != "" {
			return invalid("body: points[%d] %s", i, reason)
		}
		var err error
		if pts[i], err = toWGS84(c, p, fmt.Sprintf("body: points[%d]", i)); err != nil {
			return err
		}
	}
	pp, as := s.live.Published(), s.live.Areas()
	buf := make([]byte, 0, 64+len(pts)*256)
	buf = append(buf, `{"results":[`...)
	for i, p := range pts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = s.appendLocate(buf, pp, as, p)
	}
	buf = append(buf, "]}\n"...)
	return writeRaw(w, buf)
}

// parsePosition reads one [lon, lat] position; the error completes a
// sentence that starts with the position's name.
func parsePosition(raw json.RawMessage) (orb.Point, error) {
	var xy []float64
	if err := json.Unmarshal(raw, &xy); err != nil || len(xy) != 2 {
		return orb.Point{}, fmt.Errorf("must be [lon, lat] (two numbers), got %.40s", string(raw))
	}
	p := orb.Point{xy[0], xy[1]}
	if reason := data.ValidPoint(p); reason != "" {
		return p, errors.New(reason)
	}
	return p, nil
}

// decodeBody reads a JSON body into v, rejecting unknown members, trailing
// data and bodies over the size limit with a 400 that says which. The
// Content-Type is not checked: curl -d sends a form type with JSON, and a
// body that is not JSON is reported as such anyway.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonBodyError(err)
	}
	return decodeJSON(body, v)
}

// decodeJSON is decodeBody on a body already read.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body: unexpected data after the JSON value")
	}
	return nil
}

// jsonBodyError turns a JSON decoding error into a message naming where the
// body went wrong.
func jsonBodyError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return invalid("body is larger than %d bytes", big.Limit)
	case errors.Is(err, io.EOF):
		return invalid("body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body: JSON ends early")
	case errors.As(err, &syn):
		return invalid("body is not valid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the body"
		}
		return invalid("body: %s must be %s, got JSON %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid("body: unknown member %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return invalid("body: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// appendLocate appends the locate answer for WGS 84 point p.
func (s *Server) appendLocate(buf []byte, pp *live.Plan, as *live.Areas, p orb.Point) []byte {
	buf = append(buf, `{"point":[`...)
	buf = strconv.AppendFloat(buf, p[0], 'f', -1, 64)
	buf = append(buf, ',')
	buf = strconv.AppendFloat(buf, p[1], 'f', -1, 64)
	buf = append(buf, "],"...)
	gi, ok := -1, false
	if pp != nil {
		gi, ok = pp.Locator.Locate(p)
	}
	if !ok {
		buf = append(buf, `"grid":null,"parents":`...)
		buf = append(buf, containingAreas(as, p)...)
		return append(buf, `,"distance_to_boundary_m":null}`...)
	}
	g := &pp.Plan.Grids[gi]
	buf = append(buf, `"grid":`...)
	buf = append(buf, pp.GridJSON[gi]...)
	buf = append(buf, `,"parents":`...)
	buf = append(buf, gridParents(as, g.ParentCode)...)
	buf = append(buf, `,"distance_to_boundary_m":`...)
	d := pp.Locator.DistanceToBoundaryM(p, gi)
	buf = strconv.AppendFloat(buf, math.Round(d*10)/10, 'f', -1, 64)
	return append(buf, '}')
}

// gridParents returns the chain of a grid's parent area and its ancestors.
func gridParents(as *live.Areas, parentCode string) []byte {
	if as == nil {
		return []byte("[]")
	}
	if i, ok := as.ByCode[parentCode]; ok {
		return as.Chains[i]
	}
	return []byte("[]")
}

// containingAreas returns the chain of the deepest area containing p, by
// point-in-polygon on the areas: what locate answers where no grid is.
func containingAreas(as *live.Areas, p orb.Point) []byte {
	if as == nil {
		return []byte("[]")
	}
	for lvl := len(as.Levels) - 1; lvl >= 0; lvl-- {
		if as.Levels[lvl] == nil {
			continue
		}
		if i, ok := as.Levels[lvl].Locate(p); ok {
			return as.Chains[i]
		}
	}
	return []byte("[]")
}

// writeRaw writes an already encoded JSON answer. The header values share
// one allocation and are stored under their canonical names, which is what
// Header.Set does at three allocations.
func writeRaw(w http.ResponseWriter, body []byte) error {
	h := w.Header()
	vals := make([]string, 2)
	vals[0], vals[1] = "application/json", strconv.Itoa(len(body))
	h["Content-Type"], h["Content-Length"] = vals[0:1:1], vals[1:2:2]
	_, err := w.Write(body)
	return err
}

// decimal reports whether s is written as a plain decimal number: Go's
// ParseFloat also reads hex floats (0x1p3 is 8) and digit separators
// (1_0), which no client means in a coordinate.
func decimal(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}
