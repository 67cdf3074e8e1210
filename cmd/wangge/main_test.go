package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func count(t *testing.T, db string, layer data.Layer) int {
	t.Helper()
	s, err := gpkg.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Count(context.Background(), layer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "w.gpkg")
	good := write(t, "good.csv", "id,lon,lat,households\na,9.5,47.1,2\nb,9.6,47.2,1\n")
	bad := write(t, "bad.csv", "id,lon,lat,households\nc,9.5,47.1,2\nd,nine,47.2,1\ne,9.6,97.2,1\nb,9.6,47.2,1\n")

	code, out, _ := runCLI(t, "import", "households", good, "--db", db)
	if code != 0 || !strings.Contains(out, "read 2, imported 2, rejected 0") {
		t.Fatalf("good import: exit %d, %q", code, out)
	}

	// Without --skip-invalid nothing of a bad file is written, and every bad
	// row is named with its line.
	code, out, errs := runCLI(t, "import", "households", bad, "--db", db)
	if code != 1 || !strings.Contains(out, "imported 0, rejected 3") {
		t.Errorf("bad import: exit %d, %q", code, out)
	}
	for _, want := range []string{"bad.csv:3:", "lon", "bad.csv:4:", "latitude", "bad.csv:5:", `duplicate id "b"`, "nothing imported"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := count(t, db, data.LayerHouseholds); n != 2 {
		t.Errorf("after the failed import: %d households, want 2", n)
	}

	code, out, _ = runCLI(t, "import", "--skip-invalid", "households", bad, "--db", db)
	if code != 0 || !strings.Contains(out, "read 4, imported 1, rejected 3") {
		t.Errorf("skip-invalid import: exit %d, %q", code, out)
	}
	if n := count(t, db, data.LayerHouseholds); n != 3 {
		t.Errorf("after --skip-invalid: %d households, want 3", n)
	}

	code, _, _ = runCLI(t, "import", "households", good, "--db", db, "--replace")
	if n := count(t, db, data.LayerHouseholds); code != 0 || n != 2 {
		t.Errorf("--replace: exit %d, %d households, want 2", code, n)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"import", "parks", "x.csv"}, 2, `cannot import "parks"`},
		{[]string{"import", "grids", "x.csv"}, 2, `cannot import "grids"`},
		{[]string{"import", "households"}, 2, "want a layer and a file"},
		{[]string{"import", "households", "/does/not/exist.csv"}, 1, "no such file"},
		{[]string{"serve", "--db", "postgres://127.0.0.1:1/x"}, 1, "cannot connect to postgres://127.0.0.1:1/x"},
	}
	for _, tc := range tests {
		code, _, errs := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("wangge %v: exit %d, stderr %q; want %d with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}

// TestServeDemo runs `wangge serve --demo` as a user would, asks it for
// hazards, and stops it the way SIGTERM does.
func TestServeDemo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--public-read", "--addr", addr, "--db", filepath.Join(t.TempDir(), "w.gpkg")}, &bytes.Buffer{}, &errb)
	}()
	var res *http.Response
	// Generous: the first start draws the demo plan, slow under -race.
	for start := time.Now(); time.Since(start) < 120*time.Second; time.Sleep(100 * time.Millisecond) {
		if res, err = http.Get("http://" + addr + "/collections/hazards/items?limit=2"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("server never answered: %v\n%s", err, errb.String())
	}
	var fc struct {
		Type          string
		Features      []json.RawMessage
		NumberMatched int
	}
	json.NewDecoder(res.Body).Decode(&fc)
	res.Body.Close()
	if fc.Type != "FeatureCollection" || len(fc.Features) != 2 || fc.NumberMatched != 766 {
		t.Errorf("got %+v", fc)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d:\n%s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// TestKeys creates, lists and revokes a key with the CLI; the key is
// printed once, on its own line, and the audit log names the CLI's user.
func TestKeys(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.gpkg")
	code, out, errs := runCLI(t, "keys", "create", "--role", "field", "--name", "tablet", "--db", db)
	token := strings.TrimSpace(out)
	id, _, ok := data.ParseToken(token)
	if code != 0 || !ok || strings.Count(out, "\n") != 1 || !strings.Contains(errs, "shown this once") {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "keys", "list", "--db", db)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "field") || strings.Contains(out, token) {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	if code, _, _ = runCLI(t, "keys", "revoke", id, "--db", db); code != 0 {
		t.Errorf("revoke: exit %d", code)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"keys", "revoke", "nope", "--db", db}, 1, `no key "nope"`},
		{[]string{"keys", "create", "--role", "boss", "--db", db}, 1, `unknown role "boss"`},
		{[]string{"keys", "create", "--db", db}, 2, "needs --role"},
		{[]string{"keys", "--db", db}, 2, "want create"},
	} {
		if code, _, errs := runCLI(t, tc.args...); code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("wangge %v: exit %d %q, want %d with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	s, err := gpkg.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, n, err := s.AuditLog(context.Background(), data.AuditQuery{})
	if err != nil || n != 2 || entries[0].Action != "key.revoke" || !strings.HasPrefix(entries[0].Actor, "cli") {
		t.Errorf("audit: %d entries %+v %v", n, entries, err)
	}
}

// TestImportCGCS2000 imports a GeoJSON file that declares CGCS2000 in the
// legacy crs member: it is read as WGS 84 and the report has a note line.
func TestImportCGCS2000(t *testing.T) {
	db := filepath.Join(t.TempDir(), "w.gpkg")
	f := write(t, "hh.geojson", `{"type": "FeatureCollection",
  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
  "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.404, 39.915]}, "properties": {"id": "a", "households": 3}}]}
`)
	code, out, errs := runCLI(t, "import", "households", f, "--db", db)
	if code != 0 || !strings.Contains(out, "read 1, imported 1, rejected 0") || !strings.Contains(out, "hh.geojson: note: the file declares CGCS2000") {
		t.Fatalf("exit %d, %q %q", code, out, errs)
	}
}
