package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// TestSmallerHardening: the smaller items of "Hardening, round two", each
// as the client meets it.
func TestSmallerHardening(t *testing.T) {
	srv, ts, tokens := authServer(t, Config{Anonymous: data.RoleViewer})
	planner, admin := tokens[data.RolePlanner], tokens[data.RoleAdmin]

	t.Run("405 names the allowed methods", func(t *testing.T) {
		res, body := do(t, "PUT", ts.URL+"/collections/hazards/items", planner, `{}`)
		if allow := res.Header.Get("Allow"); res.StatusCode != 405 || !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("PUT on items: %d, Allow %q: %s", res.StatusCode, allow, body)
		}
	})
	t.Run("BD-09 near the poles", func(t *testing.T) {
		for _, q := range []string{"lon=-180&lat=-90&crs=bd09", "lon=-180&lat=0&crs=bd09"} {
			if res, body := do(t, "GET", ts.URL+"/v1/locate?"+q, planner, ""); res.StatusCode != 400 || !strings.Contains(body, "outside WGS 84") {
				t.Errorf("locate?%s: %d %s", q, res.StatusCode, body)
			}
		}
		if res, body := do(t, "POST", ts.URL+"/v1/locate", planner, `{"points": [[9.52, 47.14], [-180, -90]], "crs": "bd09"}`); res.StatusCode != 400 || !strings.Contains(body, "points[1]") {
			t.Errorf("batch: %d %s", res.StatusCode, body)
		}
	})
	t.Run("coordinates are decimal numbers", func(t *testing.T) {
		for _, q := range []string{"lon=0x1p3&lat=47.14", "lon=9.52&lat=4_7", "lon=9.52&lat=0X2Ap0"} {
			if res, body := do(t, "GET", ts.URL+"/v1/locate?"+q, planner, ""); res.StatusCode != 400 || !strings.Contains(body, "decimal") {
				t.Errorf("locate?%s: %d %s", q, res.StatusCode, body)
			}
		}
	})

	hazard := `{"type":"Feature","geometry":{"type":"Point","coordinates":[9.52,47.14]},"properties":{"category":"fire","severity":1,"reported_at":"2025-05-01T09:00:00.123456789Z"}}`
	res, body := do(t, "POST", ts.URL+"/collections/hazards/items", planner, hazard)
	var created struct {
		ID         int64          `json:"id"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	t.Run("reported_at as stored", func(t *testing.T) {
		got, err := srv.store.Hazard(context.Background(), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if created.Properties["reported_at"] != got.ReportedAt.UTC().Format(storeTimeFormat) || got.ReportedAt.Nanosecond() != 123_000_000 {
			t.Errorf("answer says %v, store holds %v", created.Properties["reported_at"], got.ReportedAt)
		}
	})
	t.Run("empty PATCH changes nothing and is refused", func(t *testing.T) {
		path := ts.URL + "/collections/hazards/items/" + jsonNumber(created.ID)
		if res, body := do(t, "PATCH", path, planner, `{}`); res.StatusCode != 400 || !strings.Contains(body, "changes nothing") {
			t.Errorf("PATCH {}: %d %s", res.StatusCode, body)
		}
		if res, body := do(t, "PATCH", path, planner, `{"type":"Feature","properties":{}}`); res.StatusCode != 400 {
			t.Errorf("PATCH with empty properties: %d %s", res.StatusCode, body)
		}
	})
	t.Run("NUL in source_id is refused on every store", func(t *testing.T) {
		body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[9.52,47.14]},"properties":{"category":"fire","severity":1,"source_id":"a\u0000b"}}`
		if res, got := do(t, "POST", ts.URL+"/collections/hazards/items", planner, body); res.StatusCode != 400 || !strings.Contains(got, "source_id") {
			t.Errorf("NUL source_id: %d %s", res.StatusCode, got)
		}
	})
	t.Run("camera tiles are never public", func(t *testing.T) {
		res, _ := do(t, "GET", ts.URL+"/tiles/cameras/10/539/359.mvt", planner, "")
		if cc := res.Header.Get("Cache-Control"); res.StatusCode != 200 || !strings.Contains(cc, "private") {
			t.Errorf("camera tile with --public-read: %d, Cache-Control %q", res.StatusCode, cc)
		}
		if res, _ := do(t, "GET", ts.URL+"/tiles/hazards/10/539/359.mvt", "", ""); res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "public") {
			t.Errorf("public hazard tile: Cache-Control %q", res.Header.Get("Cache-Control"))
		}
	})
	t.Run("revoking twice audits once", func(t *testing.T) {
		res, body := do(t, "POST", ts.URL+"/v1/keys", admin, `{"role": "field", "name": "twice"}`)
		var k struct{ ID string }
		if json.Unmarshal([]byte(body), &k); res.StatusCode != 201 {
			t.Fatalf("create key: %d %s", res.StatusCode, body)
		}
		for i := range 2 {
			if res, body := do(t, "DELETE", ts.URL+"/v1/keys/"+k.ID, admin, ""); res.StatusCode != 204 {
				t.Fatalf("revoke %d: %d %s", i+1, res.StatusCode, body)
			}
		}
		entries, _, err := srv.store.AuditLog(context.Background(), data.AuditQuery{Action: "key.revoke", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Target == "keys/"+k.ID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d audit entries for revoking one key twice, want 1", n)
		}
	})
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
