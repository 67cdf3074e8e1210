package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// Writes to hazards and cameras. Each write is one audited store
// transaction (live.Service does it) and answers once this replica's
// views show it. Areas come from imports and grids from plans, so those
// collections are read-only here.

func (s *Server) writeRoutes() []route {
	coll := pathParam("collectionId", "hazards or cameras")
	fid := pathParam("featureId", "feature id (integer)")
	ifMatch := headerParam("If-Match", "the feature's ETag from a read: refuse (412) if it changed since")
	return []route{
		{method: "POST", path: "/collections/{collectionId}/items", role: data.RoleField, id: "createFeature", tag: "Data",
			summary: "Add a hazard or camera: a GeoJSON Feature with a Point geometry and the collection's properties " +
				"(hazards, that is events: category (GET /v1/taxonomy) required; severity (default: the category's), note, reported_at, source_id optional; " +
				"a new event is reported, then assigned to the worker of its grid, or the grid's chief. " +
				"Cameras, planners only: azimuth, fov, range_m required; status, source_id optional)",
			params:    []param{coll, crsParam},
			responses: withProblems(map[int]string{201: "created; Location names the new feature", 403: "cameras are for planners", 405: "collection is read-only", 409: "source_id exists"}),
			produces:  geoJSONType, handler: s.createItem},
		{method: "PATCH", path: "/collections/{collectionId}/items/{featureId}", role: data.RoleField, id: "patchFeature", tag: "Data",
			summary: "Change a hazard or camera: a partial GeoJSON Feature; given properties replace, others stay, geometry if given moves it. " +
				"A new status moves an event through the state machine (docs/DESIGN.md, Events), with an optional note, and assignee for status assigned; " +
				"the history keeps each move. Planners may change any property; a field key only status and note of the events assigned to its worker",
			params: []param{coll, fid, crsParam, ifMatch},
			responses: withProblems(map[int]string{200: "the changed feature", 403: "the key may not make this change (a field key: only its worker's events, only some states)",
				405: "collection is read-only", 409: "source_id exists, or the state machine has no such move: the answer names the allowed ones"}),
			produces: geoJSONType, handler: s.patchItem},
		{method: "DELETE", path: "/collections/{collectionId}/items/{featureId}", role: data.RolePlanner, id: "deleteFeature", tag: "Data",
			summary:   "Delete a hazard or camera",
			params:    []param{coll, fid, ifMatch},
			responses: withProblems(map[int]string{204: "deleted", 405: "collection is read-only"}),
			produces:  "application/json", handler: s.deleteItem},
	}
}

// errReadOnly marks a write to a collection that takes none: a 405
// (writeError), which no data error code maps to.
type errReadOnly struct{ layer data.Layer }

func (e errReadOnly) Error() string {
	return fmt.Sprintf("collection %s is read-only here: areas come from imports and grids from plans; hazards and cameras take writes", e.layer)
}

// writableLayer returns hazards or cameras from the path.
func writableLayer(r *http.Request) (data.Layer, error) {
	layer, err := servedLayer(r, mux.Vars(r)["collectionId"])
	if err != nil {
		return "", err
	}
	if layer != data.LayerHazards && layer != data.LayerCameras {
		return "", errReadOnly{layer}
	}
	return layer, nil
}

func pathFID(r *http.Request, layer data.Layer) (int64, error) {
	s := mux.Vars(r)["featureId"]
	fid, err := strconv.ParseInt(s, 10, 64)
	if err != nil || fid < 1 {
		return 0, data.Errorf(data.ENOTFOUND, "no feature %q in %s: feature ids are positive integers", s, layer)
	}
	return fid, nil
}

// featureBody is a GeoJSON Feature as a write sends it. Members a client
// may echo from a read (id, links, bbox) are accepted and ignored: the path
// names the feature and the server derives the rest.
type featureBody struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Links      json.RawMessage            `json:"links"`
	BBox       json.RawMessage            `json:"bbox"`
	Geometry   json.RawMessage            `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

// readFeature decodes a write's body and its point, converted from the crs
// parameter. The point is nil when the body has no geometry.
func readFeature(r *http.Request) (featureBody, *orb.Point, error) {
	var fb featureBody
	oc, err := parseCRS(r.URL.Query(), "crs")
	if err != nil {
		return fb, nil, err
	}
	c := oc.c
	if err := decodeBody(r, &fb); err != nil {
		return fb, nil, err
	}
	if fb.Type != "" && fb.Type != "Feature" {
		return fb, nil, invalid(`body: type must be "Feature", got %q`, fb.Type)
	}
	if len(fb.Geometry) == 0 || string(fb.Geometry) == "null" {
		return fb, nil, nil
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(fb.Geometry, &g); err != nil || g.Type != "Point" {
		return fb, nil, invalid(`body: geometry must be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat]}`)
	}
	raw := g.Coordinates
	if oc.latLon {
		// EPSG:4326 and EPSG:4490 order the position lat, lon.
		var xy []float64
		if json.Unmarshal(raw, &xy) == nil && len(xy) == 2 {
			raw, _ = json.Marshal([]float64{xy[1], xy[0]})
		}
	}
	p, err := parsePosition(raw)
	if err != nil {
		return fb, nil, invalid("body: geometry.coordinates %v", err)
	}
	if p, err = toWGS84(c, p, "body: geometry.coordinates"); err != nil {
		return fb, nil, err
	}
	return fb, &p, nil
}

// props reads typed properties from a write's body, naming the property in
// every error.
type props map[string]json.RawMessage

func (p props) check(known ...string) error {
	for name := range p {
		if !slices.Contains(known, name) {
			return invalid("body: properties.%s is not a property here (known: %s)", name, strings.Join(known, ", "))
		}
	}
	return nil
}

func (p props) has(name string) bool { _, ok := p[name]; return ok }

// firstError returns the first of errs that is not nil: the reads of a
// body's properties go in one call, and the first that fails is the answer.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// value decodes property name, when given, into dst; what names the type
// wanted for the error. null is not a value here: a property is changed,
// not cleared.
func (p props) value(name, what string, dst any) error {
	raw, ok := p[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		return invalid("body: properties.%s must be %s, got %.40s", name, what, string(raw))
	}
	return nil
}

func (p props) str(name string, dst *string) error { return p.value(name, "a string", dst) }

func (p props) num(name string, dst *float64) error { return p.value(name, "a number", dst) }

func (p props) integer(name string, dst *int) error {
	var f float64
	if err := p.num(name, &f); err != nil {
		return invalid("body: properties.%s must be an integer, got %.40s", name, string(p[name]))
	}
	if !p.has(name) {
		return nil
	}
	if f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return invalid("body: properties.%s must be an integer, got %v", name, f)
	}
	*dst = int(f)
	return nil
}

func (p props) time(name string, dst *time.Time) error {
	var s string
	if err := p.str(name, &s); err != nil || !p.has(name) {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return invalid("body: properties.%s must be an RFC 3339 time such as 2025-05-01T09:00:00Z, got %q", name, s)
	}
	// Milliseconds: what both stores keep, so the answer shows what is stored.
	*dst = t.UTC().Truncate(time.Millisecond)
	return nil
}

// require names the first required property missing from a new feature.
func (p props) require(names ...string) error {
	for _, n := range names {
		if !p.has(n) {
			return invalid("body: properties.%s is required (required: %s)", n, strings.Join(names, ", "))
		}
	}
	return nil
}

// The properties a write may set. An event's status, assignee and note
// are set through a move (eventMove); its responsible unit and times are
// the server's.
var (
	hazardProperties = []string{"source_id", "category", "severity", "reported_at", "note", "status", "assignee"}
	hazardServerSet  = []string{"resp_code", "resp_level", "due_at", "resolved_at", "closed_at"}
	cameraProperties = []string{"source_id", "azimuth", "fov", "range_m", "status"}
)

// applyHazard merges the given properties but the move's (status,
// assignee) into h.
func applyHazard(p props, h *data.Hazard) error {
	for _, name := range hazardServerSet {
		if p.has(name) {
			return invalid("body: properties.%s is set by the server (from the report, the deadline and the event's moves), not by a write", name)
		}
	}
	if err := p.check(hazardProperties...); err != nil {
		return err
	}
	if err := firstError(p.str("source_id", &h.ID), p.str("category", &h.Category), p.integer("severity", &h.Severity),
		p.time("reported_at", &h.ReportedAt), p.str("note", &h.Note)); err != nil {
		return err
	}
	return fieldError(h.Validate())
}

// eventMove reads the move a PATCH asks of an event: nil without status.
func eventMove(p props) (*live.Move, error) {
	var status, note, assignee string
	if err := firstError(p.str("status", &status), p.str("note", &note), p.str("assignee", &assignee)); err != nil {
		return nil, err
	}
	if !p.has("status") {
		if p.has("assignee") {
			return nil, invalid(`body: properties.assignee is given with "status": "assigned"`)
		}
		return nil, nil
	}
	to, err := data.ParseStatus(status)
	if err != nil {
		return nil, fieldError(err)
	}
	m := &live.Move{To: to, Note: note}
	if p.has("assignee") {
		m.Assignee = &assignee
	}
	return m, nil
}

// applyCamera merges the given properties into c.
func applyCamera(p props, c *data.Camera) error {
	if err := p.check(cameraProperties...); err != nil {
		return err
	}
	if err := firstError(p.str("source_id", &c.ID), p.num("azimuth", &c.Azimuth), p.num("fov", &c.FOV),
		p.num("range_m", &c.RangeM), p.str("status", &c.Status)); err != nil {
		return err
	}
	return fieldError(c.Validate())
}

// fieldError puts the field a validation error from data names
// (data.Error.Field) in front of its message, as the client sent it: the
// geometry, or a property.
func fieldError(err error) error {
	if err == nil {
		return nil
	}
	msg := data.ErrorMessage(err)
	switch f := data.ErrorField(err); f {
	case "":
		return invalid("body: %s", msg)
	case "geometry":
		return invalid("body: geometry: %s", msg)
	default:
		return invalid("body: properties.%s: %s", f, msg)
	}
}

// newSourceID names a feature created without a source_id: unique, and
// recognisably made by the API.
func newSourceID() string {
	var b [8]byte
	rand.Read(b[:])
	return "api/" + hex.EncodeToString(b[:])
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request) error {
	layer, err := writableLayer(r)
	if err != nil {
		return err
	}
	fb, pt, err := readFeature(r)
	if err != nil {
		return err
	}
	if pt == nil {
		return invalid(`body: geometry is required: {"type": "Point", "coordinates": [lon, lat]}`)
	}
	p := props(fb.Properties)
	ctx, actor := r.Context(), principalOf(r.Context()).actor()
	var f *feature
	var etag string
	var version int64
	if layer == data.LayerHazards {
		h := data.Hazard{Point: *pt, Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond), ID: newSourceID()}
		if err := p.require("category"); err != nil {
			return err
		}
		if err := p.str("category", &h.Category); err != nil {
			return err
		}
		tax := s.live.Taxonomy()
		if err := tax.CheckCategory(h.Category); err != nil {
			return fieldError(err)
		}
		if cat, _ := tax.Category(h.Category); !p.has("severity") {
			h.Severity = cat.Severity
		}
		var status string
		if err := p.str("status", &status); err != nil {
			return err
		}
		if p.has("status") && status != string(data.StatusReported) {
			return invalid(`body: properties.status: a new event is "reported" (then assigned by the server); move it on with PATCH`)
		}
		if p.has("assignee") {
			return invalid("body: properties.assignee: a new event is assigned by the server, to the worker of its grid; reassign it with PATCH")
		}
		q := maps.Clone(p)
		delete(q, "status")
		if err := applyHazard(q, &h); err != nil {
			return err
		}
		res, err := s.live.ReportEvent(ctx, principalOf(ctx).who(), h)
		if err != nil {
			return err
		}
		f, etag, version = hazardFeature(res.Value), res.Value.ETag(), res.Version
	} else {
		if !principalOf(ctx).role.Allows(data.RolePlanner) {
			return data.Errorf(data.EFORBIDDEN, "cameras are added by planners; this key's role is %s", principalOf(ctx).role)
		}
		c := data.Camera{Point: *pt, Status: "online", ID: newSourceID()}
		if err := p.require("azimuth", "fov", "range_m"); err != nil {
			return err
		}
		if err := applyCamera(p, &c); err != nil {
			return err
		}
		res, err := s.live.CreateCamera(ctx, actor, c)
		if err != nil {
			return err
		}
		f, etag, version = cameraFeature(res.Value), res.Value.ETag(), res.Version
	}
	self := fmt.Sprintf("%s/collections/%s/items/%d", s.baseURL(r), layer, f.ID)
	f.Links = []link{{Href: self, Rel: "self", Type: geoJSONType}}
	w.Header().Set("Location", self)
	return writeFeature(w, r, http.StatusCreated, f, etag, version)
}

// patchItem merges the body into the stored feature in one transaction
// that holds the row, so concurrent patches through any replica apply one
// after the other. With If-Match, a feature changed since the client read
// it is refused with 412.
func (s *Server) patchItem(w http.ResponseWriter, r *http.Request) error {
	layer, err := writableLayer(r)
	if err != nil {
		return err
	}
	fid, err := pathFID(r, layer)
	if err != nil {
		return err
	}
	fb, pt, err := readFeature(r)
	if err != nil {
		return err
	}
	p := props(fb.Properties)
	if err := p.check(layerProperties(layer)...); err != nil {
		return err
	}
	if pt == nil && len(p) == 0 {
		// Not a no-op to audit: a client that sent this meant something else.
		return invalid("body changes nothing: give a geometry or properties to change")
	}
	ctx, ifMatch := r.Context(), r.Header.Get("If-Match")
	pr := principalOf(ctx)
	actor := pr.actor()
	planner := pr.role.Allows(data.RolePlanner)
	var f *feature
	var etag string
	var version int64
	if layer == data.LayerHazards {
		move, err := eventMove(p)
		if err != nil {
			return err
		}
		rest := maps.Clone(p)
		for _, k := range []string{"status", "assignee", "note"} {
			if move != nil || k != "note" {
				delete(rest, k)
			}
		}
		if !planner && (move == nil || len(rest) > 0 || pt != nil) {
			return data.Errorf(data.EFORBIDDEN, "a %s key may change only status and note of an event assigned to its worker; other changes are for planners", pr.role)
		}
		var change func(*data.Hazard) error
		if len(rest) > 0 || pt != nil {
			change = func(h *data.Hazard) error {
				if pt != nil {
					h.Point = *pt
				}
				return applyHazard(rest, h)
			}
		}
		res, err := s.live.UpdateEvent(ctx, pr.who(), fid, ifMatch, change, move)
		if err != nil {
			return err
		}
		f, etag, version = hazardFeature(res.Value), res.Value.ETag(), res.Version
	} else {
		if !planner {
			return data.Errorf(data.EFORBIDDEN, "cameras are changed by planners; this key's role is %s", pr.role)
		}
		res, err := s.live.UpdateCamera(ctx, actor, fid, ifMatch, func(c *data.Camera) error {
			if pt != nil {
				c.Point = *pt
			}
			return applyCamera(p, c)
		})
		if err != nil {
			return err
		}
		f, etag, version = cameraFeature(res.Value), res.Value.ETag(), res.Version
	}
	f.Links = []link{{Href: fmt.Sprintf("%s/collections/%s/items/%d", s.baseURL(r), layer, fid), Rel: "self", Type: geoJSONType}}
	return writeFeature(w, r, http.StatusOK, f, etag, version)
}

// writeFeature answers a write with the feature as stored, its ETag (for
// the next If-Match) and the version that shows it; its geometry in the crs
// the point was sent in (readFeature checked it).
func writeFeature(w http.ResponseWriter, r *http.Request, status int, f *feature, etag string, version int64) error {
	if oc, err := parseCRS(r.URL.Query(), "crs"); err == nil && f.Geometry != nil {
		f.Geometry = oc.geometry(f.Geometry.Geometry())
		oc.header(w)
	}
	w.Header().Set("ETag", etag)
	setVersion(w, version)
	return writeJSON(w, status, geoJSONType, f)
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request) error {
	layer, err := writableLayer(r)
	if err != nil {
		return err
	}
	fid, err := pathFID(r, layer)
	if err != nil {
		return err
	}
	version, err := s.live.Delete(r.Context(), principalOf(r.Context()).actor(), layer, fid, r.Header.Get("If-Match"))
	if data.ErrorCode(err) == data.ENOTFOUND {
		return data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	if err != nil {
		return err
	}
	setVersion(w, version)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// layerProperties are the properties a write may set on layer.
func layerProperties(layer data.Layer) []string {
	if layer == data.LayerHazards {
		return hazardProperties
	}
	return cameraProperties
}

func hazardFeature(h data.Hazard) *feature {
	return &feature{Type: "Feature", ID: h.FID, Geometry: geojson.NewGeometry(h.Point), Properties: hazardProps(h)}
}

func cameraFeature(c data.Camera) *feature {
	return &feature{Type: "Feature", ID: c.FID, Geometry: geojson.NewGeometry(c.Point), Properties: cameraProps(c)}
}
