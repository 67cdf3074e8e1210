package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/spatial"
)

// as sends a request with an API key (token "" for the fixture's
// anonymous admin) and optional If-Match.
func (f *fixture) as(t *testing.T, token, method, path string, body any, ifMatch string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, f.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(b) > 0 && json.Unmarshal(b, &out) != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, b)
	}
	return res, out
}

func (f *fixture) must(t *testing.T, want int, token, method, path string, body any, ifMatch string) (*http.Response, map[string]any) {
	t.Helper()
	res, out := f.as(t, token, method, path, body, ifMatch)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, res.StatusCode, want, out)
	}
	return res, out
}

// center is the middle of lattice grid (c, r).
func center(c, r int) orb.Point {
	return orb.Point{latticeLon0 + (float64(c)+0.5)*latticeStep, latticeLat0 + (float64(r)+0.5)*latticeStep}
}

// TestEventLoop walks an event from a field report to its closure: a
// field key tied to worker W reports in W's grid (in GCJ-02, as phones in
// China do), the event is assigned to W, W handles and resolves it, a
// planner verifies and closes it, and the history shows every step with
// its actor. On the way: another worker's key cannot move it (403), a
// move the state machine lacks is a 409 naming the allowed ones, a stale
// If-Match is a 412, and a field key cannot verify.
func TestEventLoop(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	west, east := streetCode+"001", streetCode+"002"
	g00, g10 := latticeGrid(0, 0), latticeGrid(1, 0)
	for _, w := range []map[string]any{
		{"id": "W1", "name": "示例·王芳", "role": "full_time", "phone": "+86 100 0000 0001", "grid_codes": []string{g00}},
		{"id": "W2", "name": "示例·李强", "role": "part_time", "phone": "+86 100 0000 0002", "grid_codes": []string{g10}},
		{"id": "C1", "name": "示例·张伟", "role": "grid_chief", "phone": "+86 100 0000 0003", "grid_codes": []string{west}},
	} {
		f.must(t, 201, "", "POST", "/v1/workers", w, "")
	}
	_, bad := f.must(t, 400, "", "POST", "/v1/workers", map[string]any{"id": "X", "name": "x", "role": "boss", "grid_codes": []string{g00}}, "")
	if !strings.Contains(fmt.Sprint(bad["detail"]), "role") || !strings.Contains(fmt.Sprint(bad["detail"]), "grid_chief") {
		t.Errorf("unknown role: %v", bad)
	}
	key := func(role, worker string) string {
		t.Helper()
		_, k := f.must(t, 201, "", "POST", "/v1/keys", map[string]any{"role": role, "name": "test " + worker, "worker": worker}, "")
		return k["key"].(string)
	}
	w1, w2, planner := key("field", "W1"), key("field", "W2"), key("planner", "")
	if _, p := f.must(t, 400, "", "POST", "/v1/keys", map[string]any{"role": "field", "name": "x", "worker": "nobody"}, ""); !strings.Contains(fmt.Sprint(p["detail"]), "nobody") {
		t.Errorf("key for an unknown worker: %v", p)
	}

	// Locate names the grid's worker and chief; phones for planners only.
	c00 := center(0, 0)
	at := fmt.Sprintf("/v1/locate?lon=%v&lat=%v", c00[0], c00[1])
	_, loc := f.must(t, 200, w1, "GET", at, nil, "")
	grid := loc["grid"].(map[string]any)
	workers := grid["workers"].([]any)
	if len(workers) != 1 || workers[0].(map[string]any)["id"] != "W1" || grid["worker"] != "示例·王芳" {
		t.Fatalf("locate for a field key: %v", grid)
	}
	if workers[0].(map[string]any)["phone"] != "" || grid["chief"].(map[string]any)["phone"] != "" {
		t.Errorf("a field key sees phone numbers: %v", grid)
	}
	if grid["chief"].(map[string]any)["id"] != "C1" {
		t.Errorf("chief: %v", grid["chief"])
	}
	_, loc = f.must(t, 200, planner, "GET", at, nil, "")
	if p := loc["grid"].(map[string]any)["workers"].([]any)[0].(map[string]any)["phone"]; p != "+86 100 0000 0001" {
		t.Errorf("a planner does not see the phone: %v", p)
	}
	_, me := f.must(t, 200, w1, "GET", "/v1/me", nil, "")
	if me["worker"].(map[string]any)["id"] != "W1" || me["role"] != "field" {
		t.Errorf("me: %v", me)
	}

	// W1 reports in their grid, from a phone in GCJ-02.
	g := spatial.WGS84ToGCJ02(c00)
	before := time.Now().Add(-time.Second)
	res, ev := f.must(t, 201, w1, "POST", "/collections/hazards/items?crs=gcj02", map[string]any{
		"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{g[0], g[1]}},
		"properties": map[string]any{"category": "traffic", "note": "路灯不亮"},
	}, "")
	props := ev["properties"].(map[string]any)
	if props["status"] != "assigned" || props["assignee"] != "W1" || props["resp_code"] != g00 || props["severity"] != 2.0 {
		t.Fatalf("new event: %v", props)
	}
	reported, _ := time.Parse(time.RFC3339, props["reported_at"].(string))
	due, _ := time.Parse(time.RFC3339, props["due_at"].(string))
	if reported.Before(before) || due.Sub(reported) != 72*time.Hour {
		t.Errorf("reported %v, due %v: want 72 h later (traffic)", reported, due)
	}
	item := res.Header.Get("Location")[len(f.url):]
	etag := res.Header.Get("ETag")

	// Another worker's key cannot move it.
	if _, p := f.must(t, 403, w2, "PATCH", item, map[string]any{"properties": map[string]any{"status": "in_progress"}}, ""); !strings.Contains(fmt.Sprint(p["detail"]), "not assigned") {
		t.Errorf("W2 moving W1's event: %v", p)
	}
	// A move the state machine does not have names those it has.
	_, p := f.must(t, 409, w1, "PATCH", item, map[string]any{"properties": map[string]any{"status": "closed"}}, "")
	for _, s := range []string{"accepted", "in_progress", "resolved", "rejected", "escalated"} {
		if !strings.Contains(fmt.Sprint(p["detail"]), s) {
			t.Errorf("409 does not name %s: %v", s, p)
		}
	}
	// A field key changes status and note only.
	f.must(t, 403, w1, "PATCH", item, map[string]any{"properties": map[string]any{"severity": 3}}, "")

	res, _ = f.must(t, 200, w1, "PATCH", item, map[string]any{"properties": map[string]any{"status": "in_progress"}}, etag)
	f.must(t, 412, w1, "PATCH", item, map[string]any{"properties": map[string]any{"status": "resolved"}}, etag)
	_, ev = f.must(t, 200, w1, "PATCH", item, map[string]any{"properties": map[string]any{"status": "resolved", "note": "已修复"}}, res.Header.Get("ETag"))
	if ev["properties"].(map[string]any)["resolved_at"] == nil {
		t.Errorf("resolved without resolved_at: %v", ev["properties"])
	}
	f.must(t, 403, w1, "PATCH", item, map[string]any{"properties": map[string]any{"status": "verified"}}, "")
	f.must(t, 200, planner, "PATCH", item, map[string]any{"properties": map[string]any{"status": "verified", "note": "回访满意"}}, "")
	_, ev = f.must(t, 200, planner, "PATCH", item, map[string]any{"properties": map[string]any{"status": "closed"}}, "")
	if ev["properties"].(map[string]any)["closed_at"] == nil {
		t.Errorf("closed without closed_at: %v", ev["properties"])
	}

	_, h := f.must(t, 200, planner, "GET", item+"/history", nil, "")
	type step struct{ from, to, actor string }
	var got []step
	for _, s := range h["steps"].([]any) {
		m := s.(map[string]any)
		got = append(got, step{m["from"].(string), m["to"].(string), m["actor"].(string)})
	}
	w1Actor, pActor := "key:"+keyID(w1), "key:"+keyID(planner)
	want := []step{{"", "reported", w1Actor}, {"reported", "assigned", "system"}, {"assigned", "in_progress", w1Actor},
		{"in_progress", "resolved", w1Actor}, {"resolved", "verified", pActor}, {"verified", "closed", pActor}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history:\n got %v\nwant %v", got, want)
	}
	if fmt.Sprint(h["allowed"]) != "[reopened]" {
		t.Errorf("a planner may move a closed event to %v, want [reopened]", h["allowed"])
	}

	// An event where no worker serves stays unassigned; escalation moves
	// its responsible unit up: grid → community → street → county.
	c := center(latticeCols-1, latticeRows-1)
	res, ev = f.must(t, 201, planner, "POST", "/collections/hazards/items", map[string]any{
		"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{c[0], c[1]}},
		"properties": map[string]any{"category": "neighbours"},
	}, "")
	props = ev["properties"].(map[string]any)
	if props["status"] != "reported" || props["assignee"] != "" || props["resp_level"] != 3.0 {
		t.Fatalf("event in an unstaffed grid: %v", props)
	}
	item = res.Header.Get("Location")[len(f.url):]
	for _, want := range []struct {
		code  string
		level float64
	}{{east, 2}, {streetCode, 1}, {"", 0}} {
		_, ev = f.must(t, 200, planner, "PATCH", item, map[string]any{"properties": map[string]any{"status": "escalated"}}, "")
		props = ev["properties"].(map[string]any)
		if props["resp_code"] != want.code || props["resp_level"] != want.level {
			t.Errorf("escalated to %v/%v, want %s/%v", props["resp_code"], props["resp_level"], want.code, want.level)
		}
	}
	f.must(t, 409, planner, "PATCH", item, map[string]any{"properties": map[string]any{"status": "escalated"}}, "")
	// The county assigns it to a worker of the roster.
	f.must(t, 400, planner, "PATCH", item, map[string]any{"properties": map[string]any{"status": "assigned", "assignee": "nobody"}}, "")
	_, ev = f.must(t, 200, planner, "PATCH", item, map[string]any{"properties": map[string]any{"status": "assigned", "assignee": "W2"}}, "")
	if ev["properties"].(map[string]any)["assignee"] != "W2" {
		t.Errorf("assigned: %v", ev["properties"])
	}
	f.must(t, 200, w2, "PATCH", item, map[string]any{"properties": map[string]any{"status": "accepted"}}, "")

	// New events: only reported, never assigned by the client; category
	// from the taxonomy.
	pt := map[string]any{"type": "Point", "coordinates": []float64{c00[0], c00[1]}}
	f.must(t, 400, w1, "POST", "/collections/hazards/items", map[string]any{"type": "Feature", "geometry": pt, "properties": map[string]any{"category": "fire", "status": "closed"}}, "")
	f.must(t, 400, w1, "POST", "/collections/hazards/items", map[string]any{"type": "Feature", "geometry": pt, "properties": map[string]any{"category": "fire", "assignee": "W2"}}, "")
	if _, p := f.must(t, 400, w1, "POST", "/collections/hazards/items", map[string]any{"type": "Feature", "geometry": pt, "properties": map[string]any{"category": "Fire"}}, ""); !strings.Contains(fmt.Sprint(p["detail"]), "marriage_family") {
		t.Errorf("unknown category: %v", p)
	}
	f.must(t, 400, planner, "PATCH", item, map[string]any{"properties": map[string]any{"due_at": "2030-01-01T00:00:00Z"}}, "")
	// A field key does not add cameras.
	f.must(t, 403, w1, "POST", "/collections/cameras/items", map[string]any{"type": "Feature", "geometry": pt, "properties": map[string]any{"azimuth": 0, "fov": 90, "range_m": 30}}, "")
}

// TestWorkersCRUD: the roster through HTTP, audited, with ETags; a redraw
// keeps a grid's worker wherever its code survives, since the roster holds
// codes, not grids.
func TestWorkersCRUD(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	g := latticeGrid(2, 2)
	res, _ := f.must(t, 201, "", "POST", "/v1/workers", map[string]any{"id": "W9", "name": "示例·赵敏", "role": "full_time", "grid_codes": []string{g}}, "")
	if res.Header.Get("Location") == "" || res.Header.Get("ETag") == "" {
		t.Errorf("create: headers %v", res.Header)
	}
	f.must(t, 409, "", "POST", "/v1/workers", map[string]any{"id": "W9", "name": "again", "role": "full_time", "grid_codes": []string{g}}, "")
	res, w := f.must(t, 200, "", "GET", "/v1/workers/W9", nil, "")
	etag := res.Header.Get("ETag")
	if w["name"] != "示例·赵敏" || w["phone"] != "" {
		t.Errorf("read: %v", w)
	}
	f.must(t, 400, "", "PATCH", "/v1/workers/W9", map[string]any{"id": "W10"}, "")
	f.must(t, 400, "", "PATCH", "/v1/workers/W9", map[string]any{"colour": "red"}, "")
	f.must(t, 400, "", "PATCH", "/v1/workers/W9", map[string]any{"phone": "call me"}, "")
	res, w = f.must(t, 200, "", "PATCH", "/v1/workers/W9", map[string]any{"phone": "+86 100 0000 0009"}, etag)
	if res.Header.Get("ETag") == etag {
		t.Errorf("the ETag did not change with the worker")
	}
	if w["phone"] != "+86 100 0000 0009" || w["name"] != "示例·赵敏" {
		t.Errorf("patched: %v", w)
	}
	f.must(t, 412, "", "PATCH", "/v1/workers/W9", map[string]any{"phone": "+86 100 0000 0010"}, etag)
	c := center(2, 2)
	_, loc := f.must(t, 200, "", "GET", fmt.Sprintf("/v1/locate?lon=%v&lat=%v", c[0], c[1]), nil, "")
	if loc["grid"].(map[string]any)["worker"] != "示例·赵敏" {
		t.Errorf("locate after create: %v", loc["grid"])
	}
	_, list := f.must(t, 200, "", "GET", "/v1/workers", nil, "")
	if n := len(list["workers"].([]any)); n != 1 {
		t.Errorf("%d workers listed", n)
	}
	f.must(t, 412, "", "DELETE", "/v1/workers/W9", nil, etag)
	f.must(t, 204, "", "DELETE", "/v1/workers/W9", nil, "")
	f.must(t, 404, "", "GET", "/v1/workers/W9", nil, "")
	f.must(t, 404, "", "DELETE", "/v1/workers/W9", nil, "")
	_, loc = f.must(t, 200, "", "GET", fmt.Sprintf("/v1/locate?lon=%v&lat=%v", c[0], c[1]), nil, "")
	if ws := loc["grid"].(map[string]any)["workers"].([]any); len(ws) != 0 {
		t.Errorf("locate after delete: %v", loc["grid"])
	}
	_, audit := f.must(t, 200, "", "GET", "/v1/audit?limit=10", nil, "")
	var actions []string
	for _, e := range audit["entries"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "worker.delete worker.update worker.create") {
		t.Errorf("audit: %s", got)
	}
}

// keyID is the id part of a token wg_<id>_<secret>.
func keyID(token string) string {
	return strings.SplitN(strings.TrimPrefix(token, "wg_"), "_", 2)[0]
}

// TestEventRepair: an event whose status another tool wrote as no state
// (here the old "open") cannot be moved by the state machine; a planner
// sets a valid state, and the history keeps what it was.
func TestEventRepair(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	c := center(3, 3)
	res, _ := f.must(t, 201, "", "POST", "/collections/hazards/items", map[string]any{
		"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{c[0], c[1]}},
		"properties": map[string]any{"category": "fire"},
	}, "")
	item := res.Header.Get("Location")[len(f.url):]
	var fid int64
	fmt.Sscanf(item, "/collections/hazards/items/%d", &fid)
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ogrinfo not found; scripts/deps.sh installs gdal-bin")
		}
		t.Skip("ogrinfo not found: run scripts/deps.sh (Debian gdal-bin)")
	}
	// GDAL writes the old status, as a tool that knows nothing of states.
	if out, err := exec.Command(ogrinfo, f.store.Path(), "-sql", fmt.Sprintf("UPDATE hazards SET status = 'open' WHERE fid = %d", fid)).CombinedOutput(); err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, ev := f.as(t, "", "GET", item, nil, "")
		if ev["properties"].(map[string]any)["status"] == "open" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the GDAL write is not shown: %v", ev)
		}
	}
	f.must(t, 400, "", "PATCH", item, map[string]any{"properties": map[string]any{"severity": 3}}, "")
	f.must(t, 200, "", "PATCH", item, map[string]any{"properties": map[string]any{"status": "in_progress", "note": "repaired"}}, "")
	_, hist := f.must(t, 200, "", "GET", item+"/history", nil, "")
	steps := hist["steps"].([]any)
	last := steps[len(steps)-1].(map[string]any)
	if last["from"] != "open" || last["to"] != "in_progress" {
		t.Errorf("repair step: %v", last)
	}
}
