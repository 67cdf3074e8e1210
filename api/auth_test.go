package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
)

// authServer is a server with anonymous access off (the default) over the
// demo data, and one key per role.
func authServer(t *testing.T, cfg Config) (*Server, *httptest.Server, map[data.Role]string) {
	t.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "auth.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	tokens := map[data.Role]string{}
	tx, _ := store.Begin(ctx)
	for _, role := range data.Roles() {
		tok, k, err := data.NewKey(role, "test "+string(role), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.AddKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		tokens[role] = tok
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	cfg.Store = store
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := New(cfg)
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close(); store.Close() })
	return srv, ts, tokens
}

func do(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// concrete turns a route template into a request that reaches the handler
// without changing anything: ids that do not exist, empty bodies.
var concrete = strings.NewReplacer(
	"{collectionId}", "hazards", "{featureId}", "999999", "{layers}", "grids", "{z}", "0", "{x}", "0", "{y}", "0",
	"{planId}", "999999", "{code}", "NOPE", "{keyId}", "nokey", "{file}", "nothing.js", "{workerId}", "noworker",
)

// TestRoleTable asks every route as every role: a role reaches exactly the
// routes its policy allows (any answer but 401/403), and is refused the
// rest with 401 (no key) or 403 (a key of a lesser role).
func TestRoleTable(t *testing.T) {
	s, ts, tokens := authServer(t, Config{})
	type req struct{ method, path, body string }
	var reqs []req
	var need []data.Role
	err := s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, _ := r.GetPathTemplate()
		methods, _ := r.GetMethods()
		for _, m := range methods {
			if m == http.MethodHead {
				continue
			}
			if _, ok := s.policy[m+" "+tpl]; !ok {
				t.Errorf("%s %s has no entry in the policy table: decide who may call it", m, tpl)
			}
			body := ""
			if m == http.MethodPost || m == http.MethodPatch {
				body = "{}"
			}
			reqs = append(reqs, req{m, concrete.Replace(tpl), body})
			need = append(need, s.needs(m, tpl))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Resources that need more than their route: cameras, units and households.
	extra := []struct {
		req
		need data.Role
	}{
		{req{"GET", "/collections/cameras/items", ""}, data.RolePlanner},
		{req{"GET", "/collections/cameras", ""}, data.RolePlanner},
		{req{"GET", "/collections/households/items", ""}, data.RolePlanner},
		{req{"GET", "/collections/households/items/1", ""}, data.RolePlanner},
		{req{"GET", "/collections/cameras/queryables", ""}, data.RolePlanner},
		{req{"GET", "/collections/households/queryables", ""}, data.RolePlanner},
		{req{"GET", "/tiles/grids,cameras/14/8593/5747.mvt", ""}, data.RolePlanner},
		{req{"GET", "/tiles/cameras.json", ""}, data.RolePlanner},
		{req{"GET", "/tiles/streets,units/14/8593/5747.mvt", ""}, data.RolePlanner},
		{req{"GET", "/tiles/units.json", ""}, data.RolePlanner},
		{req{"GET", "/tiles/areas,streets/14/8593/5747.mvt", ""}, data.RoleViewer},
		{req{"GET", "/tiles/streets.json", ""}, data.RoleViewer},
		{req{"GET", "/v1/nearby?lon=9.52&lat=47.14&kind=cameras", ""}, data.RolePlanner},
		{req{"POST", "/collections/cameras/items", "{}"}, data.RolePlanner},
		{req{"GET", "/v1/nearby?lon=9.52&lat=47.14&kind=hazards", ""}, data.RoleField},
		{req{"POST", "/collections/hazards/items", "{}"}, data.RoleField},
	}
	for _, e := range extra {
		reqs = append(reqs, e.req)
		need = append(need, e.need)
	}
	who := append([]data.Role{""}, data.Roles()...)
	for i, rq := range reqs {
		for _, role := range who {
			res, body := do(t, rq.method, ts.URL+rq.path, tokens[role], rq.body)
			allowed := role.Allows(need[i]) || need[i] == ""
			name := string(role)
			if name == "" {
				name = "anonymous"
			}
			switch {
			case allowed && (res.StatusCode == 401 || res.StatusCode == 403):
				t.Errorf("%s %s as %s: %d, want it reached (needs %q): %s", rq.method, rq.path, name, res.StatusCode, need[i], body)
			case !allowed && role == "" && res.StatusCode != 401:
				t.Errorf("%s %s as anonymous: %d, want 401", rq.method, rq.path, res.StatusCode)
			case !allowed && role != "" && res.StatusCode != 403:
				t.Errorf("%s %s as %s: %d, want 403 (needs %s)", rq.method, rq.path, name, res.StatusCode, need[i])
			case !allowed && res.Header.Get("Content-Type") != "application/problem+json":
				t.Errorf("%s %s as %s: refusal is %s, not problem+json", rq.method, rq.path, name, res.Header.Get("Content-Type"))
			}
		}
	}
	if len(reqs) < 40 {
		t.Errorf("only %d requests per role", len(reqs))
	}
}

// Roles below planner never see household points or cameras listed.
func TestCollectionsByRole(t *testing.T) {
	_, ts, tokens := authServer(t, Config{})
	for role, want := range map[data.Role]string{
		data.RoleViewer:  "areas,grids,hazards,streets",
		data.RoleField:   "areas,grids,hazards,streets",
		data.RolePlanner: "areas,grids,hazards,cameras,households,streets,units",
	} {
		_, body := do(t, "GET", ts.URL+"/collections", tokens[role], "")
		var doc struct{ Collections []struct{ ID string } }
		json.Unmarshal([]byte(body), &doc)
		var ids []string
		for _, c := range doc.Collections {
			ids = append(ids, c.ID)
		}
		if strings.Join(ids, ",") != want {
			t.Errorf("%s sees %v, want %s", role, ids, want)
		}
	}
}

func TestBadKeys(t *testing.T) {
	s, ts, tokens := authServer(t, Config{Anonymous: data.RoleViewer})
	id, _, _ := data.ParseToken(tokens[data.RoleField])
	tests := []struct {
		name, header, detail string
	}{
		{"not bearer", "Basic abc", "Bearer"},
		{"malformed", "Bearer hello", "malformed API key"},
		{"unknown id", "Bearer wg_zzzzzzzzzzzzzzzz_secret", "unknown API key"},
		{"wrong secret", "Bearer wg_" + id + "_wrongsecret", "unknown API key"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest("GET", ts.URL+"/collections", nil)
		req.Header.Set("Authorization", tc.header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// A bad key is refused even though anonymous reads are open here.
		if res.StatusCode != 401 || !strings.Contains(string(b), tc.detail) || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", tc.name, res.StatusCode, b)
		}
	}
	// Anonymous reads work with --public-read, writes do not.
	if res, _ := do(t, "GET", ts.URL+"/collections/hazards/items?limit=1", "", ""); res.StatusCode != 200 {
		t.Errorf("public read: %d", res.StatusCode)
	}
	if res, _ := do(t, "GET", ts.URL+"/v1/locate?lon=9.52&lat=47.14", "", ""); res.StatusCode != 401 {
		t.Errorf("anonymous locate: %d, want 401", res.StatusCode)
	}

	// Revoked through the API: refused at once, and the audit log says who.
	res, body := do(t, "DELETE", ts.URL+"/v1/keys/"+id, tokens[data.RoleAdmin], "")
	if res.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, "GET", ts.URL+"/v1/locate?lon=9.52&lat=47.14", tokens[data.RoleField], ""); res.StatusCode != 401 || !strings.Contains(body, "revoked") {
		t.Errorf("revoked key: %d %s", res.StatusCode, body)
	}
	entries, _, err := s.store.AuditLog(context.Background(), data.AuditQuery{Action: "key.revoke"})
	adminID, _, _ := data.ParseToken(tokens[data.RoleAdmin])
	if err != nil || len(entries) != 1 || entries[0].Actor != "key:"+adminID || entries[0].Target != "keys/"+id {
		t.Errorf("audit of the revocation: %+v %v", entries, err)
	}
}

// Keys created through the API work at once; the secret is shown once and
// never listed; the hash is never shown.
func TestKeyLifecycle(t *testing.T) {
	_, ts, tokens := authServer(t, Config{})
	res, body := do(t, "POST", ts.URL+"/v1/keys", tokens[data.RoleAdmin], `{"role": "field", "name": "tablet 7"}`)
	var created struct{ ID, Key string }
	json.Unmarshal([]byte(body), &created)
	if res.StatusCode != 201 || !strings.HasPrefix(created.Key, "wg_"+created.ID+"_") {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "GET", ts.URL+"/v1/locate?lon=9.52&lat=47.14", created.Key, ""); res.StatusCode != 200 {
		t.Errorf("new key: %d", res.StatusCode)
	}
	_, list := do(t, "GET", ts.URL+"/v1/keys", tokens[data.RoleAdmin], "")
	_, secret, _ := data.ParseToken(created.Key)
	if strings.Contains(list, secret) || strings.Contains(list, "hash") || !strings.Contains(list, "tablet 7") {
		t.Errorf("key list shows too much or too little: %s", list)
	}
	if res, body := do(t, "POST", ts.URL+"/v1/keys", tokens[data.RoleAdmin], `{"role": "boss"}`); res.StatusCode != 400 || !strings.Contains(body, "unknown role") {
		t.Errorf("bad role: %d %s", res.StatusCode, body)
	}
}

// Writes are in the audit log with who, what, before and after.
func TestAuditOfWrites(t *testing.T) {
	_, ts, tokens := authServer(t, Config{})
	planner := tokens[data.RolePlanner]
	res, body := do(t, "POST", ts.URL+"/collections/hazards/items", tokens[data.RoleField],
		`{"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.52, 47.14]}, "properties": {"category": "fire", "severity": 2}}`)
	var f struct{ ID int64 }
	json.Unmarshal([]byte(body), &f)
	if res.StatusCode != 201 {
		t.Fatalf("create hazard: %d %s", res.StatusCode, body)
	}
	path := ts.URL + "/collections/hazards/items/" + itoa(f.ID)
	if res, body := do(t, "PATCH", path, planner, `{"properties": {"status": "rejected"}}`); res.StatusCode != 200 {
		t.Fatalf("patch: %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "DELETE", path, planner, ""); res.StatusCode != 204 {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	_, body = do(t, "GET", ts.URL+"/v1/audit?limit=3", tokens[data.RoleAdmin], "")
	var log struct {
		Entries []struct {
			Actor, Action, Target string
			Before, After         json.RawMessage
		}
	}
	json.Unmarshal([]byte(body), &log)
	fieldID, _, _ := data.ParseToken(tokens[data.RoleField])
	plannerID, _, _ := data.ParseToken(planner)
	want := []struct{ actor, action string }{{plannerID, "hazard.delete"}, {plannerID, "hazard.rejected"}, {fieldID, "hazard.create"}}
	if len(log.Entries) != 3 {
		t.Fatalf("audit: %s", body)
	}
	for i, w := range want {
		e := log.Entries[i]
		if e.Actor != "key:"+w.actor || e.Action != w.action || e.Target != "hazards/"+itoa(f.ID) {
			t.Errorf("entry %d = %s %s %s, want key:%s %s", i, e.Actor, e.Action, e.Target, w.actor, w.action)
		}
	}
	if !strings.Contains(string(log.Entries[1].Before), `"reported"`) || !strings.Contains(string(log.Entries[1].After), `"rejected"`) {
		t.Errorf("update before/after: %s → %s", log.Entries[1].Before, log.Entries[1].After)
	}
	if string(log.Entries[0].After) != "null" || string(log.Entries[2].Before) != "null" {
		t.Errorf("delete after %s, create before %s; want null", log.Entries[0].After, log.Entries[2].Before)
	}
}

func TestRateLimit(t *testing.T) {
	_, ts, tokens := authServer(t, Config{RateLimit: 1, RateBurst: 3})
	codes := []int{}
	for range 5 {
		res, _ := do(t, "GET", ts.URL+"/collections", tokens[data.RoleViewer], "")
		codes = append(codes, res.StatusCode)
		if res.StatusCode == 429 && res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if codes[0] != 200 || codes[2] != 200 || codes[3] != 429 || codes[4] != 429 {
		t.Errorf("statuses %v, want 3 × 200 then 429", codes)
	}
	// Another key has its own bucket; public routes are not limited.
	if res, _ := do(t, "GET", ts.URL+"/collections", tokens[data.RoleField], ""); res.StatusCode != 200 {
		t.Errorf("other key: %d", res.StatusCode)
	}
	if res, _ := do(t, "GET", ts.URL+"/healthz", "", ""); res.StatusCode != 200 {
		t.Errorf("healthz: %d", res.StatusCode)
	}
}

func TestCORSAndHeaders(t *testing.T) {
	_, ts, _ := authServer(t, Config{CORSOrigins: []string{"https://dash.example.gov"}})
	pre := func(origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", ts.URL+"/collections", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "Authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := pre("https://dash.example.gov"); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://dash.example.gov" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed preflight: %d %v", res.StatusCode, res.Header)
	}
	if res := pre("https://evil.example.com"); res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused preflight: %d %v", res.StatusCode, res.Header)
	}
	res, _ := do(t, "GET", ts.URL+"/healthz", "", "")
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if res.Header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, res.Header.Get(h), want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestGridStatsByRole: camera counts and coverage derive from camera
// positions, which only planners and admins may see.
func TestGridStatsByRole(t *testing.T) {
	srv, ts, tokens := authServer(t, Config{})
	ctx := context.Background()
	if err := publishFuzzPlan(ctx, srv.store); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.live.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, role := range data.Roles() {
		res, body := do(t, "GET", ts.URL+"/v1/grids/stats", tokens[role], "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: /v1/grids/stats answered %d: %s", role, res.StatusCode, body)
		}
		var got struct {
			Grids []map[string]json.RawMessage `json:"grids"`
			Total map[string]json.RawMessage   `json:"total"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Grids) == 0 {
			t.Fatalf("%s: no grids in %.200s (%v)", role, body, err)
		}
		want := role.Allows(data.RolePlanner)
		for _, row := range append(got.Grids, got.Total) {
			_, cams := row["cameras"]
			_, cov := row["coverage"]
			if cams != want || cov != want {
				t.Fatalf("%s: cameras shown %v, coverage shown %v; want %v for both: %.300s", role, cams, cov, want, body)
			}
		}
	}
}
