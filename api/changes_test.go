package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
)

// Points of the demo (Liechtenstein): Vaduz and Triesen are in Oberland,
// Eschen in Unterland.
var (
	streamVaduz   = orb.Point{9.5209, 47.1410}
	streamTriesen = orb.Point{9.5280, 47.1070}
	streamEschen  = orb.Point{9.5220, 47.2110}
)

const oberland = "relation/1156142"

// sseBlock is one block of a stream, up to its blank line: a message
// (event and data), or an id alone, or comments alone.
type sseBlock struct {
	id       string
	event    string
	data     string
	comments []string
}

func (b sseBlock) seq(t *testing.T) int64 {
	t.Helper()
	n, err := strconv.ParseInt(b.id, 10, 64)
	if err != nil {
		t.Fatalf("block %+v: id %q", b, b.id)
	}
	return n
}

func (b sseBlock) message(t *testing.T) changeMessage {
	t.Helper()
	var m changeMessage
	if err := json.Unmarshal([]byte(b.data), &m); err != nil {
		t.Fatalf("event %s: data %q: %v", b.event, b.data, err)
	}
	return m
}

// stream is a client of GET /v1/changes.
type stream struct {
	res    *http.Response
	blocks chan sseBlock
	cancel context.CancelFunc
}

// openStream opens a stream and fails the test unless it answers 200
// text/event-stream.
func openStream(t *testing.T, base, query, token string, hdr ...string) *stream {
	t.Helper()
	s, res, body := tryStream(t, base, query, token, hdr...)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/changes?%s: %d %s %s", query, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	return s
}

// tryStream opens a stream; a refusal is read whole and returned.
func tryStream(t *testing.T, base, query, token string, hdr ...string) (*stream, *http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/changes?"+query, nil)
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return nil, res, string(b)
	}
	s := &stream{res: res, blocks: make(chan sseBlock, 10_000), cancel: cancel}
	go func() {
		defer close(s.blocks)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var b sseBlock
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				s.blocks <- b
				b = sseBlock{}
			case strings.HasPrefix(line, ":"):
				b.comments = append(b.comments, strings.TrimSpace(line[1:]))
			default:
				name, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch name {
				case "id":
					b.id = value
				case "event":
					b.event = value
				case "data":
					b.data += value
				}
			}
		}
	}()
	t.Cleanup(s.close)
	return s, res, ""
}

func (s *stream) close() { s.cancel() }

// next returns the next block; ok is false when the stream ended.
func (s *stream) next(t *testing.T, within time.Duration) (sseBlock, bool) {
	t.Helper()
	select {
	case b, ok := <-s.blocks:
		return b, ok
	case <-time.After(within):
		t.Fatalf("no block within %v", within)
	}
	return sseBlock{}, false
}

// until reads messages until one satisfies stop, and returns them all.
// Blocks without an event (ids alone, comments) are skipped.
func (s *stream) until(t *testing.T, what string, stop func(changeMessage) bool) []changeMessage {
	t.Helper()
	var got []changeMessage
	deadline := time.Now().Add(3 * time.Second)
	for {
		select {
		case b, ok := <-s.blocks:
			if !ok {
				t.Fatalf("%s: the stream ended after %v", what, got)
			}
			if b.event == "" {
				continue
			}
			m := b.message(t)
			if b.seq(t) != m.Seq || b.event != m.Layer {
				t.Fatalf("block id %s event %s, data %+v", b.id, b.event, m)
			}
			got = append(got, m)
			if stop(m) {
				return got
			}
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%s: not seen within 3 s; got %v", what, got)
		}
	}
}

// resumed reads a stream's first blocks up to the one that says where
// live changes begin, and returns the messages before it and that Seq.
func (s *stream) resumed(t *testing.T) ([]sseBlock, int64) {
	t.Helper()
	var got []sseBlock
	for {
		b, ok := s.next(t, 3*time.Second)
		if !ok {
			t.Fatalf("stream ended after %v", got)
		}
		if b.event == "" && len(b.comments) > 0 && strings.HasPrefix(b.comments[0], "changes after ") {
			return got, b.seq(t)
		}
		got = append(got, b)
	}
}

func isFID(layer string, fid int64) func(changeMessage) bool {
	return func(m changeMessage) bool { return m.Layer == layer && m.FID == fid }
}

// write commits fn as another process would (the CLI on the file).
func write(t *testing.T, s data.Store, fn func(ctx context.Context, tx data.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

var streamSerial int

func addHazard(t *testing.T, s data.Store, p orb.Point, edit ...func(*data.Hazard)) int64 {
	t.Helper()
	streamSerial++
	h := data.Hazard{ID: fmt.Sprintf("stream/%d", streamSerial), Point: p, Category: "fire", Severity: 1, Status: data.StatusReported,
		ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
	for _, e := range edit {
		e(&h)
	}
	var fid int64
	write(t, s, func(ctx context.Context, tx data.Tx) (err error) { fid, err = tx.AddHazard(ctx, h); return err })
	return fid
}

// streamServer is authServer with quick heartbeats.
func streamServer(t *testing.T, cfg StreamConfig) (*Server, *httptest.Server, map[data.Role]string) {
	t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 100 * time.Millisecond
	}
	return authServer(t, Config{Stream: cfg})
}

func TestChangeStreamRefusals(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{})
	viewer, field, planner := tokens[data.RoleViewer], tokens[data.RoleField], tokens[data.RolePlanner]
	// Without Accept: text/event-stream, at once (TestRoleTable relies on it).
	res, body := do(t, "GET", ts.URL+"/v1/changes", viewer, "")
	if res.StatusCode != http.StatusNotAcceptable || !strings.Contains(body, "text/event-stream") {
		t.Errorf("without Accept: %d %s", res.StatusCode, body)
	}
	req, _ := http.NewRequest("HEAD", ts.URL+"/v1/changes", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+viewer)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: %v %v", res, err)
	}
	for _, c := range []struct {
		query, token string
		status       int
		says         string
	}{
		{"", "", 401, "API key"},
		{"layer=cameras", viewer, 403, "planner"},
		{"layer=hazards,workers", field, 403, "planner"},
		{"layer=households", planner, 400, "not streamed"},
		{"layer=keys", tokens[data.RoleAdmin], 400, "never streamed"},
		{"layer=roads", viewer, 400, "unknown layer"},
		{"area=NOPE", viewer, 400, "no area"},
		{"grid=NOPE", viewer, 400, "no grid"},
		{"bbox=1,2,3", viewer, 400, "bbox"},
		{"status=lost", viewer, 400, "unknown state"},
		{"assignee=mine", viewer, 403, "field"},
		{"assignee=mine", field, 400, "tied to no worker"},
		{"last_event_id=x", viewer, 400, "last_event_id"},
		{"since=1", viewer, 400, "unknown query parameter"},
	} {
		_, res, body := tryStream(t, ts.URL, c.query, c.token)
		if res.StatusCode != c.status || !strings.Contains(body, c.says) || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") {
			t.Errorf("?%s: %d %s, want %d saying %q", c.query, res.StatusCode, body, c.status, c.says)
		}
	}
	if _, res, body := tryStream(t, ts.URL, "", viewer, "Last-Event-ID", "-1"); res.StatusCode != 400 {
		t.Errorf("Last-Event-ID -1: %d %s", res.StatusCode, body)
	}
	if n := s.live.Subscribers(); n != 0 {
		t.Errorf("%d subscribers left after refusals", n)
	}
}

// A viewer's stream never carries cameras, households, workers or keys; a
// planner's carries cameras and workers, never households or keys.
func TestChangeStreamByRole(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{})
	viewer := openStream(t, ts.URL, "", tokens[data.RoleViewer])
	field := openStream(t, ts.URL, "", tokens[data.RoleField])
	planner := openStream(t, ts.URL, "", tokens[data.RolePlanner])
	var cam, hh int64
	write(t, s.store, func(ctx context.Context, tx data.Tx) (err error) {
		if cam, err = tx.AddCamera(ctx, data.Camera{ID: "stream/cam", Point: streamVaduz, Azimuth: 10, FOV: 90, RangeM: 40, Status: "online"}); err != nil {
			return err
		}
		if hh, err = tx.AddHousehold(ctx, data.Household{ID: "stream/hh", Point: streamVaduz, Households: 3}); err != nil {
			return err
		}
		return tx.AddWorker(ctx, data.Worker{ID: "stream-w", Name: "Streamer", Role: "full_time", Phone: "+86 100 0000 9999", GridCodes: []string{"LI-11"}})
	})
	write(t, s.store, func(ctx context.Context, tx data.Tx) error {
		_, k, err := data.NewKey(data.RoleViewer, "stream", time.Now())
		if err != nil {
			return err
		}
		return tx.AddKey(ctx, k)
	})
	last := addHazard(t, s.store, streamVaduz)
	for name, st := range map[string]*stream{"viewer": viewer, "field": field, "planner": planner} {
		got := st.until(t, name+" sees the hazard", isFID("hazards", last))
		layers := map[string]int{}
		for _, m := range got {
			layers[m.Layer]++
			if m.Layer == "cameras" && m.FID != cam || m.Layer == "households" && m.FID != hh {
				t.Errorf("%s: %+v", name, m)
			}
		}
		wantCams := 0
		if name == "planner" {
			wantCams = 1
		}
		if layers["cameras"] != wantCams || layers["workers"] != wantCams || layers["households"] != 0 || layers["keys"] != 0 || layers["hazards"] != 1 {
			t.Errorf("%s saw %v", name, layers)
		}
	}
	for range len(viewer.blocks) {
		if blk := <-viewer.blocks; blk.event != "" {
			t.Errorf("viewer got more: %+v", blk)
		}
	}
}

// The feature is as the collections show it, at send time; deletes carry
// none.
func TestChangeStreamFeature(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{})
	planner := tokens[data.RolePlanner]
	st := openStream(t, ts.URL, "", planner)
	fid := addHazard(t, s.store, streamVaduz, func(h *data.Hazard) { h.Note = "smoke" })
	m := st.until(t, "insert", isFID("hazards", fid))[0]
	res, body := do(t, "GET", fmt.Sprintf("%s/collections/hazards/items/%d", ts.URL, fid), planner, "")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode, body)
	}
	var item feature
	if err := json.Unmarshal([]byte(body), &item); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(m.Feature)
	var f feature
	json.Unmarshal(got, &f)
	want, _ := json.Marshal(item.Properties)
	have, _ := json.Marshal(f.Properties)
	if m.Op != data.OpInsert || f.ID != fid || string(have) != string(want) {
		t.Errorf("message %+v\nproperties %s\nitem       %s", m, have, want)
	}
	if at, err := time.Parse(time.RFC3339Nano, m.At); err != nil || time.Since(at) > time.Minute {
		t.Errorf("at %q: %v", m.At, err)
	}
	write(t, s.store, func(ctx context.Context, tx data.Tx) error { return tx.Delete(ctx, data.LayerHazards, fid) })
	if m := st.until(t, "delete", isFID("hazards", fid))[0]; m.Op != data.OpDelete || m.Feature != nil {
		t.Errorf("delete: %+v", m)
	}
	// Areas come as the collection shows them too.
	sq := orb.Ring{{10.0, 47.0}, {10.01, 47.0}, {10.01, 47.01}, {10.0, 47.01}, {10.0, 47.0}}
	var afid int64
	write(t, s.store, func(ctx context.Context, tx data.Tx) (err error) {
		afid, err = tx.AddArea(ctx, data.Area{Code: "stream-area", Name: "Streamland", NameEn: "Streamland", Level: 1, Geometry: orb.MultiPolygon{{sq}}})
		return err
	})
	m = st.until(t, "area insert", isFID("areas", afid))[0]
	res, body = do(t, "GET", fmt.Sprintf("%s/collections/areas/items/%d", ts.URL, afid), planner, "")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode, body)
	}
	item = feature{}
	json.Unmarshal([]byte(body), &item)
	got, _ = json.Marshal(m.Feature)
	f = feature{}
	json.Unmarshal(got, &f)
	want, _ = json.Marshal(item.Properties)
	have, _ = json.Marshal(f.Properties)
	if f.ID != afid || string(have) != string(want) {
		t.Errorf("area message %s\nproperties %s\nitem       %s", got, have, want)
	}
}

// After a disconnect, Last-Event-ID gets exactly the changes missed, then
// the live ones: no gap and none twice, with a writer going on throughout.
func TestChangeStreamResume(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{})
	planner := tokens[data.RolePlanner]
	first := openStream(t, ts.URL, "layer=hazards", planner)
	done := make(chan []int64)
	go func() {
		var fids []int64
		for i := range 40 {
			fids = append(fids, addHazard(t, s.store, streamTriesen, func(h *data.Hazard) { h.ID = fmt.Sprintf("resume/%d", i) }))
			time.Sleep(5 * time.Millisecond)
		}
		done <- fids
	}()
	var seen []int64
	var lastID int64
	for len(seen) < 5 {
		b, ok := first.next(t, 3*time.Second)
		if !ok {
			t.Fatal("stream ended")
		}
		if b.event == "hazards" {
			seen = append(seen, b.seq(t))
			lastID = b.seq(t)
		}
	}
	first.close()
	time.Sleep(30 * time.Millisecond) // a few writes while away
	second := openStream(t, ts.URL, "layer=hazards", planner, "Last-Event-ID", strconv.FormatInt(lastID, 10))
	replayed, start := second.resumed(t)
	for _, b := range replayed {
		seen = append(seen, b.seq(t))
	}
	fids := <-done
	live := second.until(t, "the last write", isFID("hazards", fids[len(fids)-1]))
	for _, m := range live {
		if m.Seq <= start {
			t.Errorf("live message %d at or before the replay's end %d", m.Seq, start)
		}
		seen = append(seen, m.Seq)
	}
	// Exactly the feed's hazard entries from the first one seen.
	feed, err := s.store.Changes(context.Background(), data.ChangeQuery{After: seen[0] - 1, Layers: []string{"hazards"}, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, c := range feed {
		want = append(want, c.Seq)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("seen %v\nfeed %v", seen, want)
	}
	if len(replayed) == 0 {
		t.Log("nothing was missed while away (the writer was slow)")
	}
	// Last-Event-ID wins over last_event_id (EventSource reconnects with
	// the URL it began with).
	third := openStream(t, ts.URL, "layer=hazards&last_event_id=1", planner, "Last-Event-ID", strconv.FormatInt(want[len(want)-2], 10))
	if got, _ := third.resumed(t); len(got) != 1 || got[0].seq(t) != want[len(want)-1] {
		t.Errorf("resumed before the last: %+v", got)
	}
	fourth := openStream(t, ts.URL, "layer=hazards&last_event_id="+strconv.FormatInt(want[len(want)-2], 10), planner)
	if got, _ := fourth.resumed(t); len(got) != 1 || got[0].seq(t) != want[len(want)-1] {
		t.Errorf("last_event_id: %+v", got)
	}
}

// A Last-Event-ID pruned from the feed gets one reset message, then the
// live changes.
func TestChangeStreamReset(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{})
	ctx := context.Background()
	addHazard(t, s.store, streamVaduz)
	addHazard(t, s.store, streamVaduz)
	// The views first catch up: a follower the pruning passes by reloads
	// and ends every stream (live: TestStreamsEndOnReload).
	waitVersion(t, s)
	if _, err := s.store.PruneChanges(ctx, 1); err != nil {
		t.Fatal(err)
	}
	first, last, err := s.store.FeedBounds(ctx)
	if err != nil || first < 3 {
		t.Fatalf("feed %d–%d after pruning: %v", first, last, err)
	}
	st := openStream(t, ts.URL, "", tokens[data.RoleViewer], "Last-Event-ID", "1")
	got, start := st.resumed(t)
	if len(got) != 1 || got[0].event != "reset" || got[0].seq(t) != start || !strings.Contains(got[0].data, "pruned") {
		t.Fatalf("after a pruned id: %+v, want one reset", got)
	}
	fid := addHazard(t, s.store, streamVaduz)
	if m := st.until(t, "a change after the reset", isFID("hazards", fid)); len(m) != 1 {
		t.Errorf("after the reset: %+v", m)
	}
	// An id no write gave out resets too (a store restored from a backup).
	st = openStream(t, ts.URL, "", tokens[data.RoleViewer], "Last-Event-ID", strconv.FormatInt(last+1_000_000, 10))
	if got, _ := st.resumed(t); len(got) != 1 || got[0].event != "reset" || !strings.Contains(got[0].data, "beyond") {
		t.Errorf("after a future id: %+v", got)
	}
}

// Filters: an area with what nests in it, a grid, a box, states, and the
// key's own worker.
func TestChangeStreamFilters(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{})
	ctx := context.Background()
	viewer := tokens[data.RoleViewer]
	if err := publishFuzzPlan(ctx, s.store); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.live.Published() == nil {
		if time.Now().After(deadline) {
			t.Fatal("plan not published")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pp := s.live.Published()
	gi, ok := pp.Locator.Locate(streamVaduz)
	if !ok {
		t.Fatal("no grid in Vaduz")
	}
	grid := pp.Plan.Grids[gi].Code
	worker := "stream-worker"
	write(t, s.store, func(ctx context.Context, tx data.Tx) error {
		return tx.AddWorker(ctx, data.Worker{ID: worker, Name: "Streamer", Role: "full_time", GridCodes: []string{grid}})
	})
	fieldTok, _, err := data.CreateKey(ctx, s.store, "test", data.RoleField, "stream field", worker)
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, s)
	streams := map[string]*stream{
		"area":     openStream(t, ts.URL, "area="+oberland, viewer),
		"leaf":     openStream(t, ts.URL, "area=LI-11", viewer),
		"grid":     openStream(t, ts.URL, "grid="+grid, viewer),
		"bbox":     openStream(t, ts.URL, "bbox=9.50,47.12,9.54,47.16", viewer),
		"status":   openStream(t, ts.URL, "status=in_progress,escalated", viewer),
		"mine":     openStream(t, ts.URL, "assignee=mine", fieldTok),
		"assignee": openStream(t, ts.URL, "assignee="+worker+"&layer=hazards,areas", viewer),
	}
	vaduz := addHazard(t, s.store, streamVaduz)
	triesen := addHazard(t, s.store, streamTriesen, func(h *data.Hazard) { h.Status = data.StatusInProgress })
	eschen := addHazard(t, s.store, streamEschen, func(h *data.Hazard) { h.Assignee = worker; h.Status = data.StatusAssigned })
	marker := addHazard(t, s.store, streamVaduz, func(h *data.Hazard) {
		h.Status, h.Assignee = data.StatusEscalated, worker
	})
	want := map[string][]int64{
		"area":     {vaduz, triesen, marker},
		"leaf":     {vaduz, marker},
		"grid":     {vaduz, marker},
		"bbox":     {vaduz, marker},
		"status":   {triesen, marker},
		"mine":     {eschen, marker},
		"assignee": {eschen, marker},
	}
	for name, st := range streams {
		var got []int64
		for _, m := range st.until(t, name, isFID("hazards", marker)) {
			if m.Layer == "hazards" {
				got = append(got, m.FID)
			}
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s: hazards %v, want %v (vaduz %d, triesen %d, eschen %d, marker %d)", name, got, want[name], vaduz, triesen, eschen, marker)
		}
	}
}

// waitVersion waits until the server's views show every committed change.
func waitVersion(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.live.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustLast(t *testing.T, s data.Store) int64 {
	t.Helper()
	_, last, err := s.FeedBounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// A client that falls behind by the buffer gets event: overflow and the
// stream ends; the server keeps nothing of it.
func TestChangeStreamOverflow(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{Buffer: 2})
	st := openStream(t, ts.URL, "", tokens[data.RoleViewer])
	if _, start := st.resumed(t); start != s.live.Version() {
		t.Errorf("starts at %d, version %d", start, s.live.Version())
	}
	write(t, s.store, func(ctx context.Context, tx data.Tx) error {
		for i := range 20 {
			h := data.Hazard{ID: fmt.Sprintf("overflow/%d", i), Point: streamVaduz, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: time.Now()}
			if _, err := tx.AddHazard(ctx, h); err != nil {
				return err
			}
		}
		return nil
	})
	var events []string
	for {
		b, ok := st.next(t, 3*time.Second)
		if !ok {
			break
		}
		if b.event != "" {
			events = append(events, b.event)
		}
	}
	// The handler takes entries while the follower publishes: a few more
	// than the buffer get through, never all.
	if len(events) == 0 || events[len(events)-1] != "overflow" || len(events) > 20 {
		t.Errorf("events %v, want some of the 20 changes, then overflow", events)
	}
	deadline := time.Now().Add(time.Second)
	for s.live.Subscribers() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.live.Subscribers(); n != 0 {
		t.Errorf("%d subscribers after the overflow", n)
	}
}

// Heartbeats keep an idle stream talking, and move its id on.
func TestChangeStreamHeartbeat(t *testing.T) {
	s, ts, tokens := streamServer(t, StreamConfig{Heartbeat: 50 * time.Millisecond})
	st := openStream(t, ts.URL, "layer=cameras", tokens[data.RolePlanner])
	st.resumed(t)
	addHazard(t, s.store, streamVaduz) // not for this stream: only its id moves
	want := mustLast(t, s.store)
	deadline := time.Now().Add(2 * time.Second)
	pings := 0
	for time.Now().Before(deadline) {
		b, _ := st.next(t, time.Second)
		if b.event != "" {
			t.Fatalf("a message on an idle stream: %+v", b)
		}
		if len(b.comments) == 1 && b.comments[0] == "ping" {
			pings++
			if b.id != "" && b.seq(t) == want {
				return
			}
		}
	}
	t.Errorf("%d pings in 2 s, none with id %d", pings, want)
}

// A stream outlives the server's read and write timeouts, and ends when
// the server shuts down, which then does not wait for it.
func TestChangeStreamTimeoutsAndShutdown(t *testing.T) {
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "stream.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleViewer,
		Stream: StreamConfig{Heartbeat: time.Hour}})
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String()
	st := openStream(t, base, "", "")
	st.resumed(t)
	time.Sleep(700 * time.Millisecond)
	fid := addHazard(t, store, streamVaduz)
	st.until(t, "a change after the timeouts", isFID("hazards", fid))

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	began := time.Now()
	if err := hs.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v after %v", err, time.Since(began))
	}
	if _, ok := st.next(t, time.Second); ok {
		t.Error("the stream goes on after shutdown")
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("shutdown took %v", took)
	}
}
