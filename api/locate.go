package api

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
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

func (s *Server) locateRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/locate", role: data.RoleField, id: "locate", tag: "Locate", summary: "The published grid containing a point, its parent areas and the distance to its boundary",
			params: []param{
				lonParam, latParam, crsParam,
			},
			responses: withProblems(map[int]string{200: `{"point", "grid" (null outside every grid), "parents", "distance_to_boundary_m"}`}),
			produces:  "application/json", handler: s.locate},
		{method: "POST", path: "/v1/locate", role: data.RoleField, id: "locateBatch", tag: "Locate",
			summary: fmt.Sprintf(`Batch locate: body {"points": [[lon, lat], …], "crs": "wgs84"} with up to %d points; results in the same order. `+
				`"crs" takes the values of the crs parameter: wgs84 (default), gcj02, bd09, or the OGC URIs of CRS84, EPSG:4326 and EPSG:4490 (the last two with [lat, lon] points). `+
				`"answer": "codes" answers {"codes": [grid code or null, …]} alone, for clients that only sort points into grids`, maxBatch),
			responses: withProblems(map[int]string{200: `{"results": […]}, one locate answer per point`}),
			produces:  "application/json", handler: s.locateBatch},
	}
}

// plainLocateQuery reads lon, lat and crs from a raw query string without
// building url.Values, which costs a map and a slice per parameter on the
// busiest route. It handles only what needs no decoding (no '%', '+' or
// ';') and names no other parameter; for anything else it reports false
// and locate asks url.ParseQuery, so odd queries get exactly its answer.
// Like url.Values.Get, it keeps the first value of a repeated parameter.
func plainLocateQuery(raw string) (lon, lat, crs string, ok bool) {
	// One pass over the bytes: strings.ContainsAny builds its set of three
	// bytes again on every call.
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '%' || c == '+' || c == ';' {
			return "", "", "", false
		}
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

// plainCoord reads a coordinate written the way clients write one,
// -?(0|[1-9][0-9]*)(.[0-9]+)? with at most 15 significant digits and 22
// after the point, within [-limit, limit]; ok is false for anything else,
// which coordValue reads (and names what is wrong with). It returns the
// number, the bits strconv.ParseFloat gives (roundDecimal), and its
// shortest form: the text itself without trailing zeros after the point,
// which is what strconv.AppendFloat(f, 'f', -1, 64) writes, because no
// two decimals of 15 significant digits or fewer are the same float64.
// The answer then echoes the text instead of formatting the number again.
func plainCoord(s string, limit float64) (f float64, short string, ok bool) {
	i := 0
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	var m uint64
	nd, k := 0, 0 // digits in m from the first non-zero one; digits after the point
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			m = m*10 + uint64(s[i]-'0')
			nd++
		}
	default:
		return 0, "", false
	}
	end := i // the end of the shortest form
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) {
			return 0, "", false
		}
		// Trailing zeros are left out of m and of the shortest form.
		last := i - 1
		for j := i; j < len(s); j++ {
			if s[j] < '0' || s[j] > '9' {
				return 0, "", false
			}
			if s[j] != '0' {
				last = j
			}
		}
		for ; i <= last; i++ {
			m = m*10 + uint64(s[i]-'0')
			if m != 0 {
				nd++
			}
			k++
		}
		if last >= end+1 {
			end = last + 1
		}
		i = len(s)
	}
	if i != len(s) || nd > 15 || k > 22 {
		return 0, "", false
	}
	f, _ = roundDecimal(m, k) // exact: m < 10^15 < 2^53, k ≤ 22
	if neg {
		f = -f
	}
	if f < -limit || f > limit {
		return 0, "", false
	}
	return f, s[:end], true
}

// locatePoint reads the point of GET /v1/locate from the raw query, in
// WGS 84. Where both coordinates are plain WGS 84 ones (plainCoord), at
// also holds their shortest forms, for the answer to echo.
func locatePoint(raw string) (p orb.Point, at pointText, err error) {
	lon, lat, crs, ok := plainLocateQuery(raw)
	if !ok {
		// Other names were refused before (strictQuery).
		v, _ := url.ParseQuery(raw) // checkRawQuery refused what it drops
		p, err = parsePoint(v)
		return p, pointText{}, err
	}
	x, xs, okx := plainCoord(lon, 180)
	y, ys, oky := plainCoord(lat, 90)
	if !okx || !oky {
		p, err = pointValue(lon, lat, crs)
		return p, pointText{}, err
	}
	// The checks of pointValue, in its order: the coordinates are good,
	// so the crs comes next.
	c, err := crsValue(crs)
	if err != nil {
		return orb.Point{}, pointText{}, err
	}
	if c != spatial.WGS84 {
		p, err = toWGS84(c, orb.Point{x, y}, "the point")
		return p, pointText{}, err
	}
	return orb.Point{x, y}, pointText{xs, ys}, nil
}

func (s *Server) locate(w http.ResponseWriter, r *http.Request) error {
	p, at, err := locatePoint(r.URL.RawQuery)
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
	buf := appendLocateAt((*bp)[:0], s.staffed(w, r), s.live.Areas(), p, at)
	buf = append(buf, '\n')
	err = s.writeRaw(w, buf)
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
	// Answer "codes" asks for the grid codes alone: {"codes": [code or
	// null, …]}, for clients that only sort points into grids.
	Answer string `json:"answer"`
}

// locateRequestRaw is the body read again, item by item, when the fast read
// fails: it finds the index of the item that is not [lon, lat].
type locateRequestRaw struct {
	Points []json.RawMessage `json:"points"`
	CRS    string            `json:"crs"`
	Answer string            `json:"answer"`
}

func (s *Server) locateBatch(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonBodyError(err)
	}
	var req locateRequest
	fast, crs, answer, ok := scanBatch(body)
	if ok {
		req.CRS, req.Answer = crs, answer
	} else if err := decodeJSON(body, &req); err != nil {
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
	} else {
		if req.Points == nil {
			return invalid(`body: "points" is required: {"points": [[lon, lat], …]}`)
		}
		fast = make([][2]float64, len(req.Points))
		for i, xy := range req.Points {
			if len(xy) != 2 {
				got, _ := json.Marshal(xy) // numbers just decoded from JSON
				return invalid("body: points[%d] must be [lon, lat] (two numbers), got %s", i, got)
			}
			fast[i] = [2]float64{xy[0], xy[1]}
		}
	}
	if len(fast) > maxBatch {
		return invalid("body: points has %d positions, the limit is %d", len(fast), maxBatch)
	}
	if req.Answer != "" && req.Answer != "full" && req.Answer != "codes" {
		return invalid("body: answer: %q is neither full (the default) nor codes", req.Answer)
	}
	// The values of the crs query parameters, from the same parser; the
	// positions follow the CRS's axis order, as POST items has them:
	// lat, lon for EPSG:4326 and EPSG:4490.
	oc, err := crsNamed("body: crs", req.CRS)
	if err != nil {
		return err
	}
	c := oc.c
	// Check every point before answering any, so a bad point rejects the
	// batch with its index rather than a half-written answer.
	pts := make([]orb.Point, len(fast))
	for i, xy := range fast {
		p := orb.Point(xy)
		if oc.latLon {
			p[0], p[1] = p[1], p[0]
		}
		if err := data.CheckPoint(p); err != nil {
			return invalid("body: points[%d] %s", i, data.ErrorMessage(err))
		}
		var err error
		if pts[i], err = toWGS84Named(c, p, func() string { return fmt.Sprintf("body: points[%d]", i) }); err != nil {
			return err
		}
	}
	if req.Answer == "codes" {
		return s.writeRaw(w, s.appendCodes(pts))
	}
	pp, as := s.staffed(w, r), s.live.Areas()
	buf := make([]byte, 0, 64+len(pts)*256)
	buf = append(buf, `{"results":[`...)
	for i, p := range pts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendLocate(buf, pp, as, p)
	}
	buf = append(buf, "]}\n"...)
	return s.writeRaw(w, buf)
}

// appendCodes is the compact answer: each point's grid code, or null.
func (s *Server) appendCodes(pts []orb.Point) []byte {
	pp := s.live.Published()
	quoted := s.quotedCodesOf(pp)
	buf := make([]byte, 0, 32+len(pts)*16)
	buf = append(buf, `{"codes":[`...)
	for i, p := range pts {
		if i > 0 {
			buf = append(buf, ',')
		}
		gi, ok := -1, false
		if pp != nil {
			gi, ok = pp.Locator.Locate(p)
		}
		if !ok {
			buf = append(buf, "null"...)
			continue
		}
		buf = append(buf, quoted[gi]...)
	}
	return append(buf, "]}\n"...)
}

// quotedCodes is a plan's grid codes quoted as JSON strings, in the order
// of its grids.
type quotedCodes struct {
	plan  *live.Plan
	codes [][]byte
}

// quotedCodesOf returns pp's grid codes as JSON strings, quoting them once
// a plan rather than once a point.
func (s *Server) quotedCodesOf(pp *live.Plan) [][]byte {
	if pp == nil {
		return nil
	}
	if q := s.codes.Load(); q != nil && q.plan == pp {
		return q.codes
	}
	q := &quotedCodes{plan: pp, codes: make([][]byte, len(pp.Plan.Grids))}
	for i, g := range pp.Plan.Grids {
		q.codes[i], _ = json.Marshal(g.Code)
	}
	s.codes.Store(q)
	return q.codes
}

// principalInWriter reports whether the handler of the route with key
// "METHOD /path" reads the principal with principalFrom, so that
// ServeHTTP need not copy the request to carry it in its context: GET
// /v1/locate, the busiest route, where the copy was wangge's last
// allocation a request.
func principalInWriter(key string) bool {
	return key == "GET /v1/locate" || key == "HEAD /v1/locate"
}

// staffed is the published plan's grids as the caller may see them: with
// the staff's phone numbers for planners and admins only.
func (s *Server) staffed(w http.ResponseWriter, r *http.Request) staffedView {
	st := s.live.Staffed()
	if st == nil {
		return staffedView{}
	}
	if principalFrom(w, r).role.Allows(data.RolePlanner) {
		return staffedView{st.Plan, st.Private}
	}
	return staffedView{st.Plan, st.Public}
}

// staffedView is a plan and its grids rendered for one kind of caller.
type staffedView struct {
	plan  *live.Plan
	grids [][]byte
}

// appendLocate appends the locate answer for WGS 84 point p.
func appendLocate(buf []byte, sv staffedView, as *live.Areas, p orb.Point) []byte {
	return appendLocateAt(buf, sv, as, p, pointText{})
}

// pointText is a point's coordinates as strconv.AppendFloat(c, 'f', -1,
// 64) writes them, where they are known without formatting (plainCoord);
// empty where not.
type pointText struct{ lon, lat string }

// appendLocateAt is appendLocate with the point's text where known.
func appendLocateAt(buf []byte, sv staffedView, as *live.Areas, p orb.Point, at pointText) []byte {
	pp := sv.plan
	buf = append(buf, `{"point":[`...)
	if at.lon != "" && at.lat != "" {
		buf = append(buf, at.lon...)
		buf = append(buf, ',')
		buf = append(buf, at.lat...)
	} else {
		buf = strconv.AppendFloat(buf, p[0], 'f', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, p[1], 'f', -1, 64)
	}
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
	buf = append(buf, sv.grids[gi]...)
	buf = append(buf, `,"parents":`...)
	buf = append(buf, gridParents(as, g.ParentCode)...)
	buf = append(buf, `,"distance_to_boundary_m":`...)
	buf = appendTenths(buf, pp.Locator.DistanceToBoundaryM(p, gi))
	return append(buf, '}')
}

// appendTenths appends d rounded to a tenth as strconv.AppendFloat(
// math.Round(d*10)/10, 'f', -1, 64) writes it: for n = math.Round(d*10) a
// whole number from 0 to 10^15, n/10 in decimal, which is the shortest
// form of float64(n)/10 (the float64 nearest n/10; no other decimal of 15
// significant digits or fewer is the same float64), written from the
// integer without formatting a float.
func appendTenths(buf []byte, d float64) []byte {
	n := math.Round(d * 10)
	if !(n > 0 || n == 0 && !math.Signbit(n)) || n >= 1e15 {
		// Negative, -0, NaN, infinite or huge: the general way.
		return strconv.AppendFloat(buf, n/10, 'f', -1, 64)
	}
	i := int64(n)
	buf = strconv.AppendInt(buf, i/10, 10)
	if r := i % 10; r != 0 {
		buf = append(buf, '.', byte('0'+r))
	}
	return buf
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
	if i, ok := as.Deepest(p); ok {
		return as.Chains[i]
	}
	return []byte("[]")
}
