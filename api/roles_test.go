package api

import (
	"slices"
	"testing"

	"github.com/wangge/wangge/data"
)

// TestPublicRoutes lists the routes anyone may call. A route's role is in
// its table entry, where a forgotten role would read as public: a new
// public route must be added here too, on purpose.
func TestPublicRoutes(t *testing.T) {
	want := []string{
		"GET /", "GET /conformance", "GET /api", "GET /healthz", "GET /readyz", "GET /readyz/write",
		"GET /assets/{file}", "GET /style.json", "GET /fonts/{fontstack}/{range}.pbf",
		// The field page's service worker and manifest: a browser fetches
		// them without the page's key.
		"GET /sw.js", "GET /manifest.webmanifest",
	}
	var got []string
	for _, rt := range New(Config{}).routes {
		if rt.role == public {
			got = append(got, rt.method+" "+rt.path)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("public routes %q, want %q", got, want)
	}
	// policy, which the middleware reads, is the table's roles; a route
	// whose role was left out needs admin.
	if (route{}).needs() != data.RoleAdmin {
		t.Error("a route without a role does not need admin")
	}
	srv := New(Config{})
	for _, rt := range srv.routes {
		if role, ok := srv.policy[rt.method+" "+rt.path]; !ok || role != rt.needs() {
			t.Errorf("%s %s: policy has %q, the table %q", rt.method, rt.path, role, rt.role)
		}
	}
}
