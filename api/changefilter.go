package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// The filter of a change stream or of a webhook (data.StreamFilter): the
// layers the caller's role may see, narrowed by place, state and assignee.

// layerNotify is the stream's name of the notifications the deployment's
// rules make (live/notify.go): not a layer of the feed, but asked for and
// filtered like one.
const layerNotify = "notify"

// changeFilter is what one stream carries: the caller's layers and the
// filters of its query.
type changeFilter struct {
	role   data.Role
	worker string // the worker the caller's key is tied to
	layers map[string]bool
	area   string
	grid   string
	bbox   *orb.Bound
	status map[string]bool
	// assignee applies when hasAssignee; "" is unassigned.
	assignee    string
	hasAssignee bool
}

// parseChangeFilter reads the filters of a stream request.
func parseChangeFilter(r *http.Request, lv *live.Service) (*changeFilter, error) {
	v := r.URL.Query()
	var spec data.StreamFilter
	if s := v.Get("layer"); s != "" {
		for _, name := range strings.Split(s, ",") {
			spec.Layers = append(spec.Layers, strings.TrimSpace(name))
		}
	}
	spec.Area, spec.Grid = v.Get("area"), v.Get("grid")
	if s := v.Get("bbox"); s != "" {
		b, err := parseBBox(s)
		if err != nil {
			return nil, err
		}
		spec.BBox = []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	}
	if s := v.Get("status"); s != "" {
		for _, st := range strings.Split(s, ",") {
			spec.Status = append(spec.Status, strings.TrimSpace(st))
		}
	}
	if v.Has("assignee") {
		a := v.Get("assignee")
		spec.Assignee = &a
	}
	p := principalOf(r.Context())
	f, err := newChangeFilter(lv, p.role, p.worker, spec, "parameter ")
	if ae, ok := err.(*authError); ok && p.keyID == "" {
		ae.status, ae.msg = http.StatusUnauthorized, ae.msg+" (send an API key: header Authorization: Bearer wg_…)"
	}
	return f, err
}

// newChangeFilter checks spec for a caller of role whose key is tied to
// worker; where prefixes the names in errors ("parameter ", "filter.").
func newChangeFilter(lv *live.Service, role data.Role, worker string, spec data.StreamFilter, where string) (*changeFilter, error) {
	f := &changeFilter{role: role, worker: worker, layers: map[string]bool{}}
	for _, name := range spec.Layers {
		i := slices.IndexFunc(streamLayers, func(l streamLayer) bool { return l.name == name })
		switch {
		case name == string(data.LayerHouseholds):
			return nil, invalid("%slayer: household points are not streamed (they change in bulk, by import); read /collections/households/items", where)
		case name == data.FeedKeys:
			return nil, invalid("%slayer: API keys are never streamed", where)
		case i < 0:
			names := make([]string, len(streamLayers))
			for j, l := range streamLayers {
				names[j] = l.name
			}
			return nil, invalid("%slayer: unknown layer %q (known: %s)", where, name, strings.Join(names, ", "))
		}
		if need := streamLayers[i].need; !role.Allows(need) {
			return nil, &authError{status: http.StatusForbidden, msg: "role " + string(role) + " may not stream " + name + "; it needs role " + string(need) + " or higher"}
		}
		f.layers[name] = true
	}
	if len(spec.Layers) == 0 {
		for _, l := range streamLayers {
			if role.Allows(l.need) {
				f.layers[l.name] = true
			}
		}
	}
	if code := spec.Area; code != "" {
		if as := lv.Areas(); as == nil || !hasKey(as.ByCode, code) {
			return nil, invalid("%sarea: no area %q", where, code)
		}
		f.area = code
	}
	if code := spec.Grid; code != "" {
		if pp := lv.Published(); pp == nil || !hasKey(pp.ByCode, code) {
			return nil, invalid("%sgrid: no grid %q in the published plan", where, code)
		}
		f.grid = code
	}
	if b := spec.BBox; len(b) > 0 {
		if len(b) != 4 || b[0] > b[2] || b[1] > b[3] {
			return nil, invalid("%sbbox: want minLon,minLat,maxLon,maxLat with min ≤ max", where)
		}
		f.bbox = &orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}
	}
	if len(spec.Status) > 0 {
		f.status = map[string]bool{}
		for _, st := range spec.Status {
			if !slices.Contains(data.StatusNames(), st) && !slices.Contains(data.CameraStatuses(), st) {
				return nil, invalid("%sstatus: unknown state %q (hazards: %s; cameras: %s)", where, st,
					strings.Join(data.StatusNames(), ", "), strings.Join(data.CameraStatuses(), ", "))
			}
			f.status[st] = true
		}
	}
	if spec.Assignee != nil {
		f.hasAssignee, f.assignee = true, *spec.Assignee
		if f.assignee == "mine" {
			if !role.Allows(data.RoleField) {
				return nil, &authError{status: http.StatusForbidden, msg: "role " + string(role) + " may not stream assignee=mine; it needs role field or higher"}
			}
			if worker == "" {
				return nil, invalid("%sassignee=mine: this key is tied to no worker (wangge keys create --worker)", where)
			}
			f.assignee = worker
		}
	}
	return f, nil
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// feedLayers are the feed's layers f may carry, for a replay.
func (f *changeFilter) feedLayers() []string {
	var out []string
	for _, l := range streamLayers {
		if l.name == layerNotify {
			if f.layers[l.name] && !f.layers[string(data.LayerHazards)] {
				out = append(out, string(data.LayerHazards))
			}
			continue
		}
		if f.layers[l.name] {
			out = append(out, l.name)
		}
	}
	return out
}

// spatial reports whether f has a filter by place.
func (f *changeFilter) spatial() bool { return f.area != "" || f.grid != "" || f.bbox != nil }

// match reports whether c goes to the stream, judged on the views as they
// stand (they show c already). A feature that is gone (a delete) has no
// place or state left to judge: its entry passes every filter but the
// layer's. It runs on the follower's goroutine for live entries
// (live.Subscribe), so it only reads memory. A new hazard passes for the
// notifications it may make even when the hazards layer is not asked for.
func (f *changeFilter) match(lv *live.Service, c data.Change) bool {
	if !f.layers[c.Layer] && !(c.Layer == string(data.LayerHazards) && c.Op == data.OpInsert && f.layers[layerNotify]) {
		return false
	}
	// Filters on what a layer does not have leave the layer out.
	switch {
	case f.status != nil && c.Layer != string(data.LayerHazards) && c.Layer != string(data.LayerCameras):
		return false
	case f.hasAssignee && c.Layer != string(data.LayerHazards):
		return false
	case f.spatial() && (c.Layer == data.FeedPlans || c.Layer == data.FeedWorkers):
		return false
	}
	switch c.Layer {
	case string(data.LayerHazards):
		h, ok := lv.Hazard(c.FID)
		if !ok {
			return f.layers[c.Layer]
		}
		return f.point(lv, h.Point) && (f.status == nil || f.status[string(h.Status)]) && (!f.hasAssignee || h.Assignee == f.assignee)
	case string(data.LayerCameras):
		cam, ok := lv.Camera(c.FID)
		if !ok {
			return true
		}
		return f.point(lv, cam.Point) && (f.status == nil || f.status[cam.Status])
	case string(data.LayerAreas):
		a, ok := lv.AreaByFID(c.FID)
		if !ok {
			return true
		}
		return f.shape(lv, a.Code, "", a.Geometry.Bound())
	case string(data.LayerGrids):
		g, ok := lv.PublishedGrid(c.FID)
		if !ok {
			// A grid of a plan not published (saved by a plan job, or no
			// longer published): for planners, who see stored plans; its
			// place is not in memory.
			return f.role.Allows(data.RolePlanner) && !f.spatial()
		}
		return f.shape(lv, g.ParentCode, g.Code, g.Geometry.Bound())
	}
	return true // plans, workers: no filter of theirs
}

// notifications returns the notifications of c that f carries: planners
// see every one, a field key those naming its worker.
func (f *changeFilter) notifications(lv *live.Service, c data.Change) []live.Notification {
	if !f.layers[layerNotify] {
		return nil
	}
	var out []live.Notification
	for _, n := range lv.Notifications(c) {
		if f.role.Allows(data.RolePlanner) || f.worker != "" && slices.Contains(n.Workers, f.worker) {
			out = append(out, n)
		}
	}
	return out
}

// point reports whether p passes f's filters by place.
func (f *changeFilter) point(lv *live.Service, p orb.Point) bool {
	if f.bbox != nil && !f.bbox.Contains(p) {
		return false
	}
	if f.grid != "" {
		pp := lv.Published()
		gi, ok := 0, false
		if pp != nil {
			gi, ok = pp.ByCode[f.grid]
		}
		if !ok || !pp.Locator.Contains(gi, p) {
			return false
		}
	}
	return f.area == "" || lv.InArea(p, f.area)
}

// shape reports whether an area (grid "") or a grid, whose parent area is
// parent, passes f's filters by place.
func (f *changeFilter) shape(lv *live.Service, parent, grid string, b orb.Bound) bool {
	if f.bbox != nil && !f.bbox.Intersects(b) {
		return false
	}
	if f.grid != "" && grid != f.grid {
		return false
	}
	return f.area == "" || lv.Areas().Nested(parent, f.area)
}
