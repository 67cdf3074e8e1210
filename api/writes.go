package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	"github.com/wangge/wangge/spatial"
)

// Writes to hazards and cameras. Each write is one store transaction; the
// in-memory indexes change only after it commits, under live.writeMu so
// that they change in commit order. Areas come from imports and grids from
// plans, so those collections are read-only here.

func (s *Server) writeRoutes(crsParam param) []route {
	coll := pathParam("collectionId", "hazards or cameras")
	fid := pathParam("featureId", "feature id (integer)")
	return []route{
		{method: "POST", path: "/collections/{collectionId}/items", id: "createFeature", tag: "Data",
			summary: "Add a hazard or camera: a GeoJSON Feature with a Point geometry and the collection's properties " +
				"(hazards: category, severity required; status, reported_at, source_id optional. cameras: azimuth, fov, range_m required; status, source_id optional)",
			params:    []param{coll, crsParam},
			responses: withProblems(map[int]string{201: "created; Location names the new feature", 405: "collection is read-only", 409: "source_id exists"}),
			produces:  geoJSONType, handler: s.createItem},
		{method: "PATCH", path: "/collections/{collectionId}/items/{featureId}", id: "patchFeature", tag: "Data",
			summary:   "Change a hazard or camera: a partial GeoJSON Feature; given properties replace, others stay, geometry if given moves it",
			params:    []param{coll, fid, crsParam},
			responses: withProblems(map[int]string{200: "the changed feature", 405: "collection is read-only", 409: "source_id exists"}),
			produces:  geoJSONType, handler: s.patchItem},
		{method: "DELETE", path: "/collections/{collectionId}/items/{featureId}", id: "deleteFeature", tag: "Data",
			summary:   "Delete a hazard or camera",
			params:    []param{coll, fid},
			responses: withProblems(map[int]string{204: "deleted", 405: "collection is read-only"}),
			produces:  "application/json", handler: s.deleteItem},
	}
}

// errReadOnly marks a write to a collection that takes none; the handlers
// answer it with 405, which no data error code maps to.
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

// readOnly answers a write to a read-only collection with 405 and reports
// whether it did.
func readOnly(w http.ResponseWriter, r *http.Request, err error) bool {
	if ro, ok := err.(errReadOnly); ok {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, r, http.StatusMethodNotAllowed, ro.Error())
		return true
	}
	return false
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
	v := r.URL.Query()
	if err := queryOnly(v, "crs"); err != nil {
		return fb, nil, err
	}
	c, err := parseCRSParam(v)
	if err != nil {
		return fb, nil, err
	}
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
	p, err := parsePosition(g.Coordinates)
	if err != nil {
		return fb, nil, invalid("body: geometry.coordinates %v", err)
	}
	p = c.ToWGS84(p)
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

func (p props) str(name string, dst *string) error {
	raw, ok := p[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		return invalid("body: properties.%s must be a string, got %.40s", name, string(raw))
	}
	return nil
}

func (p props) num(name string, dst *float64) error {
	raw, ok := p[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		return invalid("body: properties.%s must be a number, got %.40s", name, string(raw))
	}
	return nil
}

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
	*dst = t.UTC()
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

var (
	hazardProperties = []string{"source_id", "category", "severity", "status", "reported_at"}
	cameraProperties = []string{"source_id", "azimuth", "fov", "range_m", "status"}
)

// applyHazard merges the given properties into h.
func applyHazard(p props, h *data.Hazard) error {
	if err := p.check(hazardProperties...); err != nil {
		return err
	}
	for _, err := range []error{p.str("source_id", &h.ID), p.str("category", &h.Category), p.integer("severity", &h.Severity),
		p.str("status", &h.Status), p.time("reported_at", &h.ReportedAt)} {
		if err != nil {
			return err
		}
	}
	return fieldError(h.Validate())
}

// applyCamera merges the given properties into c.
func applyCamera(p props, c *data.Camera) error {
	if err := p.check(cameraProperties...); err != nil {
		return err
	}
	for _, err := range []error{p.str("source_id", &c.ID), p.num("azimuth", &c.Azimuth), p.num("fov", &c.FOV),
		p.num("range_m", &c.RangeM), p.str("status", &c.Status)} {
		if err != nil {
			return err
		}
	}
	return fieldError(c.Validate())
}

// fieldError names the field in a validation message from data: its
// messages start with the field ("severity must …") or with "unknown"
// and the field ("unknown category …"); a bad position is the geometry's.
func fieldError(err error) error {
	if err == nil {
		return nil
	}
	msg := data.ErrorMessage(err)
	words := strings.Fields(msg)
	switch {
	case len(words) < 2:
		return invalid("body: %s", msg)
	case words[0] == "longitude" || words[0] == "latitude":
		return invalid("body: geometry: %s", msg)
	case words[0] == "unknown":
		return invalid("body: properties.%s: %s", words[1], msg)
	}
	return invalid("body: properties.%s: %s", words[0], msg)
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
	if readOnly(w, r, err) {
		return nil
	}
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
	var f *feature
	if layer == data.LayerHazards {
		h := data.Hazard{Point: *pt, Status: "open", ReportedAt: time.Now().UTC().Truncate(time.Millisecond), ID: newSourceID()}
		if err := p.require("category", "severity"); err != nil {
			return err
		}
		if err := applyHazard(p, &h); err != nil {
			return err
		}
		s.live.writeMu.Lock()
		defer s.live.writeMu.Unlock()
		if h.FID, err = s.commitLocked(r.Context(), change{action: "hazard.create", layer: layer, after: func(fid int64) any { h := h; h.FID = fid; return h }},
			func(tx data.Tx) (int64, error) { return tx.AddHazard(r.Context(), h) }); err != nil {
			return err
		}
		s.indexHazard(h, false)
		f = hazardFeature(h)
	} else {
		c := data.Camera{Point: *pt, Status: "online", ID: newSourceID()}
		if err := p.require("azimuth", "fov", "range_m"); err != nil {
			return err
		}
		if err := applyCamera(p, &c); err != nil {
			return err
		}
		s.live.writeMu.Lock()
		defer s.live.writeMu.Unlock()
		if c.FID, err = s.commitLocked(r.Context(), change{action: "camera.create", layer: layer, after: func(fid int64) any { c := c; c.FID = fid; return c }},
			func(tx data.Tx) (int64, error) { return tx.AddCamera(r.Context(), c) }); err != nil {
			return err
		}
		s.indexCamera(c, false)
		f = cameraFeature(c)
	}
	self := fmt.Sprintf("%s/collections/%s/items/%d", s.baseURL(r), layer, f.ID)
	f.Links = []link{{Href: self, Rel: "self", Type: geoJSONType}}
	w.Header().Set("Location", self)
	return writeJSON(w, http.StatusCreated, geoJSONType, f)
}

func (s *Server) patchItem(w http.ResponseWriter, r *http.Request) error {
	layer, err := writableLayer(r)
	if readOnly(w, r, err) {
		return nil
	}
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
	ctx := r.Context()
	// Read, merge and write under the write lock, so two patches of one
	// feature cannot both start from the same old version.
	s.live.writeMu.Lock()
	defer s.live.writeMu.Unlock()
	var f *feature
	if layer == data.LayerHazards {
		h, err := s.store.Hazard(ctx, fid)
		if err != nil {
			return err
		}
		before := h
		if pt != nil {
			h.Point = *pt
		}
		if err := applyHazard(p, &h); err != nil {
			return err
		}
		if _, err := s.commitLocked(ctx, change{action: "hazard.update", layer: layer, before: before, after: func(int64) any { return h }},
			func(tx data.Tx) (int64, error) { return fid, tx.UpdateHazard(ctx, h) }); err != nil {
			return err
		}
		s.indexHazard(h, true)
		f = hazardFeature(h)
	} else {
		c, err := s.store.Camera(ctx, fid)
		if err != nil {
			return err
		}
		before := c
		if pt != nil {
			c.Point = *pt
		}
		if err := applyCamera(p, &c); err != nil {
			return err
		}
		if _, err := s.commitLocked(ctx, change{action: "camera.update", layer: layer, before: before, after: func(int64) any { return c }},
			func(tx data.Tx) (int64, error) { return fid, tx.UpdateCamera(ctx, c) }); err != nil {
			return err
		}
		s.indexCamera(c, true)
		f = cameraFeature(c)
	}
	f.Links = []link{{Href: fmt.Sprintf("%s/collections/%s/items/%d", s.baseURL(r), layer, fid), Rel: "self", Type: geoJSONType}}
	return writeJSON(w, http.StatusOK, geoJSONType, f)
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request) error {
	layer, err := writableLayer(r)
	if readOnly(w, r, err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := queryOnly(r.URL.Query()); err != nil {
		return err
	}
	fid, err := pathFID(r, layer)
	if err != nil {
		return err
	}
	ctx := r.Context()
	s.live.writeMu.Lock()
	defer s.live.writeMu.Unlock()
	var before any
	var err2 error
	if layer == data.LayerHazards {
		before, err2 = s.store.Hazard(ctx, fid)
	} else {
		before, err2 = s.store.Camera(ctx, fid)
	}
	if data.ErrorCode(err2) == data.ENOTFOUND {
		return data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	if err2 != nil {
		return err2
	}
	action := strings.TrimSuffix(string(layer), "s") + ".delete"
	if _, err := s.commitLocked(ctx, change{action: action, layer: layer, before: before},
		func(tx data.Tx) (int64, error) { return fid, tx.Delete(ctx, layer, fid) }); err != nil {
		return err
	}
	s.unindex(layer, fid)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// change describes a write for the audit log: the record before (nil for
// a create) and after (nil for a delete), given the fid the write returns.
type change struct {
	action string
	layer  data.Layer
	before any
	after  func(fid int64) any
}

// commitLocked runs write in a transaction with its audit entry and commits
// both; on any error the transaction is rolled back and nothing changes.
// The caller holds live.writeMu and updates the indexes before releasing
// it, so the indexes change in commit order.
func (s *Server) commitLocked(ctx context.Context, c change, write func(data.Tx) (int64, error)) (int64, error) {
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	fid, err := write(tx)
	if err != nil {
		return 0, err
	}
	e := data.AuditEntry{Actor: principalOf(ctx).actor(), At: time.Now(), Action: c.action, Target: fmt.Sprintf("%s/%d", c.layer, fid),
		Before: json.RawMessage("null"), After: json.RawMessage("null")}
	if c.before != nil {
		e.Before, _ = json.Marshal(c.before)
	}
	if c.after != nil {
		e.After, _ = json.Marshal(c.after(fid))
	}
	if err := tx.Audit(ctx, e); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return fid, nil
}

// indexHazard puts a committed hazard into the indexes and bumps the
// version. A failure here means the index and the store disagree, which a
// restart mends; it is logged, as the client's write did succeed.
func (s *Server) indexHazard(h data.Hazard, update bool) {
	s.live.mu.Lock()
	s.live.hazardByID[h.FID] = h
	s.live.mu.Unlock()
	if err := putPoint(s.live.hazards, h.FID, h.Point, update); err != nil {
		s.log.Error("hazard index out of step with the store", "fid", h.FID, "err", err)
	}
	s.live.version.Add(1)
}

// indexCamera is indexHazard for cameras.
func (s *Server) indexCamera(c data.Camera, update bool) {
	s.live.mu.Lock()
	s.live.cameraByID[c.FID] = c
	s.live.mu.Unlock()
	if err := putPoint(s.live.cameras, c.FID, c.Point, update); err != nil {
		s.log.Error("camera index out of step with the store", "fid", c.FID, "err", err)
	}
	s.live.derived.cameraWrites.Add(1)
	s.live.version.Add(1)
}

func putPoint(x *spatial.PointIndex[int64], fid int64, p orb.Point, update bool) error {
	if update {
		return x.Update(fid, p)
	}
	return x.Insert(fid, p)
}

// unindex removes a deleted feature from the indexes and bumps the version.
func (s *Server) unindex(layer data.Layer, fid int64) {
	s.live.mu.Lock()
	if layer == data.LayerHazards {
		delete(s.live.hazardByID, fid)
		s.live.hazards.Delete(fid)
	} else {
		delete(s.live.cameraByID, fid)
		s.live.cameras.Delete(fid)
		s.live.derived.cameraWrites.Add(1)
	}
	s.live.mu.Unlock()
	s.live.version.Add(1)
}

func hazardFeature(h data.Hazard) *feature {
	return &feature{Type: "Feature", ID: h.FID, Geometry: geojson.NewGeometry(h.Point), Properties: hazardProps(h)}
}

func cameraFeature(c data.Camera) *feature {
	return &feature{Type: "Feature", ID: c.FID, Geometry: geojson.NewGeometry(c.Point), Properties: cameraProps(c)}
}
