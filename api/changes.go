package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// GET /v1/changes: the change feed as Server-Sent Events (DESIGN.md, "The
// change stream"). Each message is one feed entry the caller may see,
// with the feature as it stands when the message is sent; a client that
// reconnects with Last-Event-ID gets what it missed from the store's feed,
// then the live entries, with no gap and no entry twice.

// StreamConfig tunes GET /v1/changes; zero values are the defaults.
type StreamConfig struct {
	// Heartbeat is how often a stream sends a comment line, so that
	// proxies do not cut an idle one; 0 means 15 s.
	Heartbeat time.Duration
	// Buffer is how many entries a stream may fall behind by before it is
	// dropped (the client resumes with Last-Event-ID); 0 means
	// live.DefaultStreamBuffer.
	Buffer int
}

const (
	defaultHeartbeat = 15 * time.Second
	// streamWriteWait bounds one write to a stream's client: one that
	// reads nothing for this long is gone as far as we care.
	streamWriteWait = 30 * time.Second
	// replayPage is how many feed entries one read of a replay takes.
	replayPage  = 1000
	eventStream = "text/event-stream"
)

// streamLayers are the feed's layers a stream may carry, with the role
// each needs. Household points change in bulk (imports) and are not held
// in memory: they are not streamed; keys never are.
var streamLayers = []streamLayer{
	{string(data.LayerHazards), data.RoleViewer},
	{string(data.LayerAreas), data.RoleViewer},
	{string(data.LayerGrids), data.RoleViewer},
	{data.FeedPlans, data.RoleViewer},
	{string(data.LayerCameras), data.RolePlanner},
	{data.FeedWorkers, data.RolePlanner},
	// Notifications name workers: planners see all, a field key those
	// for its own worker.
	{layerNotify, data.RoleField},
}

type streamLayer struct {
	name string
	need data.Role
}

// streamHub is the server's side of its streams: whether it is shutting
// down, and the http.Servers told to end the streams when they do.
type streamHub struct {
	mu      sync.Mutex
	servers map[*http.Server]bool
	closing atomic.Bool
}

// watchShutdown makes the http.Server serving r end every stream when it
// shuts down: Shutdown waits for handlers, and a stream never finishes by
// itself.
func (s *Server) watchShutdown(r *http.Request) {
	hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return
	}
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	if s.streams.servers[hs] {
		return
	}
	if s.streams.servers == nil {
		s.streams.servers = map[*http.Server]bool{}
	}
	s.streams.servers[hs] = true
	hs.RegisterOnShutdown(func() {
		s.streams.closing.Store(true)
		s.live.EndStreams()
	})
}

func (s *Server) changeRoutes() []route {
	list := func(desc string) map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc}
	}
	var layers []string
	for _, l := range streamLayers {
		layers = append(layers, l.name)
	}
	return []route{
		{method: "GET", path: "/v1/changes", role: data.RoleViewer, id: "streamChanges", tag: "Live",
			summary: "The change feed as Server-Sent Events (send Accept: text/event-stream): one message per change the caller may see, " +
				"whoever made it (any replica, the CLI, GDAL, QGIS, psql). Each message has id: the feed's sequence number, event: the layer, " +
				`data: {"seq","layer","fid","op","at","feature"}, feature being the GeoJSON Feature as the caller may see it when the message is sent ` +
				"(null for a delete, for a feature gone since, and for plans and workers). Cameras and workers need role planner, assignee=mine " +
				"a field key tied to a worker. Layer notify carries the deployment's notification rules' messages (event: notify, " +
				`data: {"seq","rule","event","category","grid","workers"}, the same id as the new event's message): planners get all, ` +
				"a field key those naming its worker. Reconnecting with Last-Event-ID (or last_event_id) replays the changes after it first; one pruned " +
				"from the feed gets a single event: reset (reload, then go on). A client that falls behind by the server's buffer gets " +
				"event: overflow and the stream ends (reconnect with Last-Event-ID). A comment line (: ping) every 15 s keeps proxies from cutting it.",
			params: []param{
				{name: "layer", in: "query", desc: "layers to stream, a comma list of " + strings.Join(layers, ", ") +
					" (cameras and workers need planner, notify field); all the caller may see when absent", schema: list("layer names")},
				queryParam("area", "changes inside this area (code) or in the areas and grids nested in it: hazards and cameras by their point, "+
					"areas and grids by their code", str),
				queryParam("grid", "changes inside this grid of the published plan (code)", str),
				{name: "bbox", in: "query", desc: "minLon,minLat,maxLon,maxLat (WGS 84): points inside, areas and grids whose bounds meet it",
					schema: map[string]any{"type": "array", "minItems": 4, "maxItems": 6, "items": map[string]any{"type": "number"}}},
				{name: "status", in: "query", desc: "hazards in these states (" + strings.Join(data.StatusNames(), ", ") + ") and cameras in these (" +
					strings.Join(data.CameraStatuses(), ", ") + "), a comma list; other layers are left out", schema: list("states")},
				queryParam("assignee", "hazards assigned to this worker id; mine: to the worker the key is tied to (role field or higher); "+
					"empty: unassigned ones; other layers are left out", str),
				queryParam("last_event_id", "resume after this sequence number (the Last-Event-ID header wins: EventSource sends it on reconnecting)",
					map[string]any{"type": "integer", "minimum": 0}),
				headerParam("Last-Event-ID", "resume after this sequence number: the id of the last message received"),
			},
			responses: withProblems(map[int]string{200: "the stream of changes (text/event-stream), until the client leaves, it falls behind, or the server stops",
				406: "the request does not accept text/event-stream"}),
			produces: eventStream, handler: s.changes},
	}
}

// changeMessage is the data of one message.
type changeMessage struct {
	Seq     int64  `json:"seq"`
	Layer   string `json:"layer"`
	FID     int64  `json:"fid"`
	Op      string `json:"op"`
	At      string `json:"at"` // when the feed recorded the change
	Feature any    `json:"feature"`
}

// changeMessage is the message of feed entry c, on the stream and to
// webhooks.
func (s *Server) changeMessage(c data.Change) changeMessage {
	return changeMessage{Seq: c.Seq, Layer: c.Layer, FID: c.FID, Op: c.Op, At: c.At.UTC().Format(storeTimeFormat), Feature: s.changeFeature(c)}
}

// changeFeature is the feature of c as it stands now, nil when it is
// gone or the layer has none to send (plans, workers: clients reload
// those).
func (s *Server) changeFeature(c data.Change) any {
	if c.Op == data.OpDelete {
		return nil
	}
	switch c.Layer {
	case string(data.LayerHazards):
		if h, ok := s.live.Hazard(c.FID); ok {
			return hazardFeature(h)
		}
	case string(data.LayerCameras):
		if cam, ok := s.live.Camera(c.FID); ok {
			return cameraFeature(cam)
		}
	case string(data.LayerAreas):
		if a, ok := s.live.AreaByFID(c.FID); ok {
			// As the stores keep them: no admin level and no parent are NULL.
			var admin, parent any
			if a.AdminLevel != 0 {
				admin = a.AdminLevel
			}
			if a.ParentCode != "" {
				parent = a.ParentCode
			}
			return &feature{Type: "Feature", ID: a.FID, Geometry: geojson.NewGeometry(a.Geometry), Properties: map[string]any{
				"code": a.Code, "name": a.Name, "name_en": a.NameEn, "level": a.Level, "admin_level": admin,
				"parent_code": parent, "osm_id": a.OSMID}}
		}
	case string(data.LayerGrids):
		if g, ok := s.live.PublishedGrid(c.FID); ok {
			return &feature{Type: "Feature", ID: g.FID, Geometry: geojson.NewGeometry(g.Geometry), Properties: map[string]any{
				"plan_id": g.PlanID, "code": g.Code, "parent_code": g.ParentCode, "name": g.Name, "households": g.Households,
				"area_m2": g.AreaM2, "worker": g.Worker}}
		}
	}
	return nil
}

// acceptsEventStream reports whether an Accept header names
// text/event-stream. Nothing else is served here; a client that does not
// ask for a stream (one that reads an answer to its end) gets a 406 at
// once rather than an answer that never ends.
func acceptsEventStream(accept []string) bool {
	for _, h := range accept {
		for _, rng := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
			if err == nil && mt == eventStream && params["q"] != "0" && params["q"] != "0.0" && params["q"] != "0.00" && params["q"] != "0.000" {
				return true
			}
		}
	}
	return false
}

// lastEventID reads where a client resumes: the Last-Event-ID header
// (EventSource sends it when it reconnects, with the URL it began with),
// else last_event_id.
func lastEventID(r *http.Request) (int64, bool, error) {
	s, name := r.Header.Get("Last-Event-ID"), "header Last-Event-ID"
	if s == "" {
		s, name = r.URL.Query().Get("last_event_id"), "parameter last_event_id"
	}
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, false, invalid("%s must be a sequence number (the id of a message), got %q", name, s)
	}
	return n, true, nil
}

// sse writes the events of one stream, each flushed to the client at once.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
	err error
}

// send writes what buf holds and flushes it; the first error sticks.
func (e *sse) send() error {
	if e.err == nil {
		// Past this, a client that reads nothing is dropped: the server's
		// WriteTimeout, meant for answers, would cut every stream.
		_ = e.rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
		if _, e.err = e.w.Write(e.buf.Bytes()); e.err == nil {
			e.err = e.rc.Flush()
		}
	}
	e.buf.Reset()
	return e.err
}

// event writes one message; id < 0 writes none.
func (e *sse) event(id int64, event string, v any) error {
	if id >= 0 {
		e.buf.WriteString("id: ")
		e.buf.WriteString(strconv.FormatInt(id, 10))
		e.buf.WriteByte('\n')
	}
	e.buf.WriteString("event: ")
	e.buf.WriteString(event)
	e.buf.WriteString("\ndata: ")
	enc := json.NewEncoder(&e.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // ends with the newline
		e.buf.Reset()
		return err
	}
	e.buf.WriteByte('\n')
	return e.send()
}

// comment writes a comment line and, when id ≥ 0, an id without an event:
// EventSource takes the id as its last one and dispatches nothing.
func (e *sse) comment(text string, id int64) error {
	e.buf.WriteString(": ")
	e.buf.WriteString(text)
	e.buf.WriteByte('\n')
	if id >= 0 {
		e.buf.WriteString("id: ")
		e.buf.WriteString(strconv.FormatInt(id, 10))
		e.buf.WriteByte('\n')
	}
	e.buf.WriteByte('\n')
	return e.send()
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) error {
	f, err := parseChangeFilter(r, s.live)
	if err != nil {
		return err
	}
	after, resume, err := lastEventID(r)
	if err != nil {
		return err
	}
	if !acceptsEventStream(r.Header.Values("Accept")) {
		return &notAcceptable{"GET /v1/changes is a stream of Server-Sent Events: send Accept: text/event-stream (EventSource does)"}
	}
	w.Header().Set("Content-Type", eventStream)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if s.streams.closing.Load() || !s.live.Loaded() {
		return data.Errorf(data.EUNAVAILABLE, "this replica is not streaming changes now (starting or stopping); retry")
	}
	s.watchShutdown(r)
	ctx := r.Context()
	sub := s.live.Subscribe(func(c data.Change) bool { return f.match(s.live, c) }, s.cfg.Stream.Buffer)
	defer sub.Close()
	start := sub.Start()

	// Where the stream goes on from (pos: every entry up to it was sent
	// or passed over), and whether the client must reload instead.
	pos, reset, why := start, false, ""
	switch {
	case resume && after < start:
		first, _, err := s.store.FeedBounds(data.ReadAtLeast(ctx, start))
		if err != nil {
			return err
		}
		if first > after+1 {
			reset, why = true, "the changes after "+strconv.FormatInt(after, 10)+" were pruned from the feed (it begins at "+strconv.FormatInt(first, 10)+"); reload"
		}
	case resume && after > start:
		// Further than these views: another replica's id, soon reached
		// here, or one this store never gave out (a restored backup).
		_, last, err := s.store.FeedBounds(data.ReadPrimary(ctx))
		if err != nil {
			return err
		}
		if after > last {
			reset, why = true, "sequence "+strconv.FormatInt(after, 10)+" is beyond this store's feed (at "+strconv.FormatInt(last, 10)+"); reload"
		} else {
			pos = after
		}
	}

	h := w.Header()
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	setVersion(w, start)
	rc := http.NewResponseController(w)
	// The server's ReadTimeout would end the request's context mid-stream.
	_ = rc.SetReadDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: rc}

	send := func(c data.Change) error {
		if f.layers[c.Layer] {
			if err := out.event(c.Seq, c.Layer, s.changeMessage(c)); err != nil {
				return err
			}
		}
		for _, n := range f.notifications(s.live, c) {
			if err := out.event(c.Seq, layerNotify, n); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case reset:
		// The id moves the client to where the live changes begin.
		if out.event(start, "reset", map[string]any{"reason": why, "last_event_id": after}) != nil {
			return nil
		}
	case resume && after < start:
		rctx := data.ReadAtLeast(ctx, start)
		for cur := after; cur < start; {
			page, err := s.store.Changes(rctx, data.ChangeQuery{After: cur, UpTo: start, Layers: f.feedLayers(), Limit: replayPage})
			if err != nil {
				// Headers are sent: the client reconnects and resumes from
				// what it got.
				s.log.WarnContext(ctx, "change stream: replay failed", "after", cur, "err", err)
				return nil
			}
			for _, c := range page {
				if f.match(s.live, c) && send(c) != nil {
					return nil
				}
			}
			if len(page) < replayPage {
				break
			}
			cur = page[len(page)-1].Seq
		}
	}
	// The client learns where it stands even when nothing matched yet.
	if out.comment("changes after "+strconv.FormatInt(pos, 10), pos) != nil {
		return nil
	}

	hb := s.cfg.Stream.Heartbeat
	if hb <= 0 {
		hb = defaultHeartbeat
	}
	tick := time.NewTicker(hb)
	defer tick.Stop()
	for {
		select {
		case c, ok := <-sub.C():
			switch {
			case !ok && sub.Ended() == live.EndOverflow:
				out.event(-1, "overflow", map[string]any{"reason": "this client fell behind the changes by more than the server keeps for it; reconnect with Last-Event-ID",
					"last_event_id": pos})
				return nil
			case !ok:
				return nil // shutting down, or the views reloaded: the client reconnects
			case c.Seq <= pos:
				continue // sent by the replay, or known to the client already
			}
			pos = c.Seq
			if send(c) != nil {
				return nil
			}
		case <-tick.C:
			id := int64(-1)
			if p := sub.Position(); p > pos {
				pos, id = p, p
			}
			if out.comment("ping", id) != nil {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}
