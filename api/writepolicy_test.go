package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// TestCrossSiteWrites: with anonymous writes open (as make run has them),
// a page on another site cannot write through a visitor's browser, and a
// body must be plain JSON.
func TestCrossSiteWrites(t *testing.T) {
	_, ts, _ := authServer(t, Config{Anonymous: data.RolePlanner, CORSOrigins: []string{"https://dash.example.gov"}})
	hazard := `{"type":"Feature","geometry":{"type":"Point","coordinates":[9.52,47.14]},"properties":{"category":"fire","severity":1}}`
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		want                     int
		detail                   string
	}{
		{"text/plain simple request", "POST", "/collections/hazards/items", hazard, []string{"Content-Type", "text/plain"}, 415, "must be JSON"},
		{"form simple request", "POST", "/collections/hazards/items", hazard, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "must be JSON"},
		{"no content type", "POST", "/collections/hazards/items", hazard, nil, 415, "got none"},
		{"compressed body", "POST", "/collections/hazards/items", hazard, []string{"Content-Type", "application/json", "Content-Encoding", "br"}, 415, "Content-Encoding br"},
		{"other site", "POST", "/collections/hazards/items", hazard, []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, 403, "origin https://evil.example"},
		{"other site, no body", "POST", "/v1/plans/1/publish", "", []string{"Origin", "https://evil.example"}, 403, "not allowed"},
		{"other site, delete", "DELETE", "/collections/hazards/items/1", "", []string{"Origin", "null"}, 403, "not allowed"},
		{"allowed origin", "POST", "/collections/hazards/items", hazard, []string{"Content-Type", "application/json", "Origin", "https://dash.example.gov"}, 201, ""},
		{"geo+json", "POST", "/collections/hazards/items", hazard, []string{"Content-Type", "application/geo+json; charset=utf-8"}, 201, ""},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		for i := 0; i+1 < len(tc.header); i += 2 {
			req.Header.Set(tc.header[i], tc.header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := res.Body.Read(buf)
		b.Write(buf[:n])
		res.Body.Close()
		if res.StatusCode != tc.want || !strings.Contains(b.String(), tc.detail) {
			t.Errorf("%s: %s %s answered %d %s; want %d with %q", tc.name, tc.method, tc.path, res.StatusCode, b.String(), tc.want, tc.detail)
		}
	}
	// The server's own page writes from its own origin.
	req, _ := http.NewRequest("POST", ts.URL+"/collections/hazards/items", strings.NewReader(hazard))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", ts.URL)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("a write from the server's own origin answered %d", res.StatusCode)
	}
}
