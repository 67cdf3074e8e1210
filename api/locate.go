package api

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
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
		// Other names were refused before (strictQuery).
		p, err = parsePoint(r.URL.Query())
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
	buf := appendLocate((*bp)[:0], s.staffed(r), s.live.Areas(), p)
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
	pp, as := s.staffed(r), s.live.Areas()
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

// staffed is the published plan's grids as the caller may see them: with
// the staff's phone numbers for planners and admins only.
func (s *Server) staffed(r *http.Request) staffedView {
	st := s.live.Staffed()
	if st == nil {
		return staffedView{}
	}
	if principalOf(r.Context()).role.Allows(data.RolePlanner) {
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
	pp := sv.plan
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
	buf = append(buf, sv.grids[gi]...)
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
	if i, ok := as.Deepest(p); ok {
		return as.Chains[i]
	}
	return []byte("[]")
}
