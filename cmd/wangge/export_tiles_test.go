package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/storetest"
	"github.com/wangge/wangge/tiles/archive"
)

// serveStore runs `wangge serve` on db until the test ends, with
// anonymous requests acting as planners (so the cameras layer is
// readable), and returns its address.
func serveStore(t *testing.T, db string, extra ...string) string {
	t.Helper()
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
		done <- run(ctx, append([]string{"serve", "--anonymous", "planner", "--addr", addr, "--db", db}, extra...), io.Discard, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	for start := time.Now(); time.Since(start) < 60*time.Second; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return addr
			}
		}
	}
	t.Fatalf("server never got ready:\n%s", errb.String())
	return ""
}

// serverTile returns the raw bytes the server answers for a tile, nil for
// 204 (no feature).
func serverTile(t *testing.T, base string, tl maptile.Tile) []byte {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("%s/%d/%d/%d.mvt", base, tl.Z, tl.X, tl.Y))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	switch res.StatusCode {
	case 204:
		return nil
	case 200:
		return b
	}
	t.Fatalf("GET tile %v: %d %s", tl, res.StatusCode, b)
	return nil
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("tile not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readPMTiles reads every tile of a PMTiles archive, run lengths and leaf
// directories followed (the protomaps reader checks the same archive in
// TestExportTiles).
func readPMTiles(t *testing.T, path string) (archive.PMTilesInfo, map[maptile.Tile][]byte, map[string]any) {
	t.Helper()
	info, meta, tiles, err := archive.ReadPMTiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.RootEnd > 16384 {
		t.Errorf("root directory ends at %d, beyond the first 16 KiB", info.RootEnd)
	}
	return info, tiles, meta
}

// readMBTiles reads every tile of an MBTiles file, rows flipped back to
// XYZ, and its metadata.
func readMBTiles(t *testing.T, path string) (map[maptile.Tile][]byte, map[string]string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[maptile.Tile][]byte{}
	for rows.Next() {
		var z, x, y uint32
		var b []byte
		if err := rows.Scan(&z, &x, &y, &b); err != nil {
			t.Fatal(err)
		}
		out[maptile.New(x, (1<<z)-1-y, maptile.Zoom(z))] = b
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	rows, err = db.Query(`SELECT name, value FROM metadata`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		meta[k] = v
	}
	return out, meta
}

// checkTiles compares an archive's tiles with the server's: every tile of
// the extent the server draws is in the archive with the same bytes once
// decompressed, and no other.
func checkTiles(t *testing.T, name, base string, b orb.Bound, minZoom, maxZoom int, got map[maptile.Tile][]byte) []maptile.Tile {
	t.Helper()
	var all []maptile.Tile
	want := 0
	archive.Each(b, minZoom, maxZoom, func(tl maptile.Tile) error {
		all = append(all, tl)
		srv := serverTile(t, base, tl)
		gz, ok := got[tl]
		switch {
		case srv == nil && ok:
			t.Errorf("%s: tile %v is empty on the server but in the archive", name, tl)
		case srv != nil && !ok:
			t.Errorf("%s: tile %v (%d bytes on the server) is missing", name, tl, len(srv))
		case srv != nil:
			want++
			if !bytes.Equal(gunzip(t, gz), srv) {
				t.Errorf("%s: tile %v differs from the server's", name, tl)
			}
		}
		return nil
	})
	if len(got) != want || want == 0 {
		t.Errorf("%s: %d tiles in the archive, the server draws %d in its extent", name, len(got), want)
	}
	return all
}

// TestExportTiles exports the demo to PMTiles and MBTiles and compares
// every tile with what the running server answers for the same z/x/y;
// then reads the PMTiles archive with the protomaps reader in Node
// (test/tiles/archive.test.js) and the MBTiles file with GDAL's ogrinfo.
func TestExportTiles(t *testing.T) {
	db := demoStore(t)
	addr := serveStore(t, db, "--archive-url", "/archives/demo.pmtiles")
	dir := t.TempDir()
	pm, mb := filepath.Join(dir, "demo.pmtiles"), filepath.Join(dir, "demo.mbtiles")
	layers := "areas,streets,grids,hotspots,hazards"
	base := "http://" + addr + "/tiles/" + layers

	code, out, errs := runCLI(t, "export", "--format", "pmtiles", pm, "--db", db, "--maxzoom", "13", "--progress")
	if code != 0 || !strings.Contains(out, "exported to "+pm) {
		t.Fatalf("export pmtiles: exit %d\n%s%s", code, out, errs)
	}
	t.Log(strings.TrimSpace(out))
	h, pmTiles, meta := readPMTiles(t, pm)
	if !h.Gzip || h.MinZoom != 0 || h.MaxZoom != 13 || !h.Clustered || h.Addressed != len(pmTiles) {
		t.Errorf("header %+v; %d tiles read", h, len(pmTiles))
	}
	var ids []string
	for _, l := range meta["vector_layers"].([]any) {
		ids = append(ids, l.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, ",") != layers {
		t.Errorf("vector_layers %v, want %s (the default: no cameras, no units)", ids, layers)
	}
	bound := h.Bounds
	all := checkTiles(t, "pmtiles", base, bound, 0, 13, pmTiles)

	code, out, errs = runCLI(t, "export", "--db", db, "--format", "mbtiles", mb, "--maxzoom", "13")
	if code != 0 {
		t.Fatalf("export mbtiles: exit %d\n%s%s", code, out, errs)
	}
	mbTiles, mbMeta := readMBTiles(t, mb)
	checkTiles(t, "mbtiles", base, bound, 0, 13, mbTiles)
	if mbMeta["format"] != "pbf" || mbMeta["minzoom"] != "0" || mbMeta["maxzoom"] != "13" || !strings.Contains(mbMeta["json"], `"vector_layers"`) ||
		strings.Count(mbMeta["bounds"], ",") != 3 || strings.Count(mbMeta["center"], ",") != 2 {
		t.Errorf("mbtiles metadata %v", mbMeta)
	}

	// Cameras when named, over one area's extent, down to the sectors.
	cams := filepath.Join(dir, "cams.pmtiles")
	s, err := gpkg.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	areas, err := s.Areas(context.Background())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, "export", "--format", "pmtiles", cams, "--db", db, "--layers", "cameras,areas", "--area", areas[0].Code, "--minzoom", "12", "--maxzoom", "15")
	if code != 0 {
		t.Fatalf("export cameras: exit %d\n%s%s", code, out, errs)
	}
	_, camTiles, _ := readPMTiles(t, cams)
	checkTiles(t, "cameras", "http://"+addr+"/tiles/cameras,areas", areas[0].Geometry.Bound(), 12, 15, camTiles)

	t.Run("node pmtiles reader", func(t *testing.T) {
		node := storetest.NeedTool(t, "node", "nodejs")
		dir, _ := filepath.Abs(filepath.Join("..", "..", "test", "tiles"))
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "pmtiles")); err != nil {
			cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
			}
		}
		list := make([][3]uint32, len(all))
		for i, tl := range all {
			list[i] = [3]uint32{uint32(tl.Z), tl.X, tl.Y}
		}
		js, _ := json.Marshal(list)
		cmd := exec.Command(node, "--test", "archive.test.js")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ARCHIVE="+pm, "TILES_URL="+base, "TILES="+string(js))
		out, err := cmd.CombinedOutput()
		t.Logf("node --test archive.test.js:\n%s", out)
		if err != nil {
			t.Fatalf("pmtiles reader test failed: %v", err)
		}
		if !regexp.MustCompile(`ok \d+ tiles \(\d+ features\) equal`).Match(out) || !bytes.Contains(out, []byte("# pass 1")) {
			t.Fatal("pmtiles reader test compared nothing")
		}
	})

	t.Run("style", func(t *testing.T) {
		res, err := http.Get("http://" + addr + "/style.json")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var st struct {
			Sources map[string]struct{ Type, URL string }
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if src := st.Sources["wangge"]; src.Type != "vector" || src.URL != "pmtiles://http://"+addr+"/archives/demo.pmtiles" {
			t.Errorf("style source with --archive-url: %+v", src)
		}
		validateStyle(t, body)
	})

	t.Run("ogrinfo", func(t *testing.T) {
		ogrinfo := storetest.NeedTool(t, "ogrinfo", "gdal-bin")
		out, err := exec.Command(ogrinfo, "-ro", "-al", "-so", mb).CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo: %v\n%s", err, out)
		}
		names := regexp.MustCompile(`Layer name: (\w+)`).FindAllSubmatch(out, -1)
		counts := regexp.MustCompile(`Feature Count: (\d+)`).FindAllSubmatch(out, -1)
		var got []string
		for _, n := range names {
			got = append(got, string(n[1]))
		}
		if strings.Join(got, ",") != layers || len(counts) != len(names) {
			t.Fatalf("ogrinfo lists layers %v with %d counts, want %s:\n%s", got, len(counts), layers, out)
		}
		for i, c := range counts {
			// The demo has every layer the archive lists, streets included.
			if string(c[1]) == "0" {
				t.Errorf("ogrinfo: layer %s has no feature", got[i])
			}
		}
		t.Logf("ogrinfo -ro -al -so:\n%s", out)
	})
}

// TestExportTilesUsage: bad flags are usage errors that name the flag, and
// leave no file behind.
func TestExportTilesUsage(t *testing.T) {
	db := demoStore(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "there.pmtiles")
	os.WriteFile(existing, []byte("x"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"households", []string{"--format", "pmtiles", "--layers", "areas,households"}, "--layers: households: household points are never exported"},
		{"unknown layer", []string{"--format", "mbtiles", "--layers", "areas,roads"}, `--layers: unknown layer "roads"`},
		{"bbox three", []string{"--format", "pmtiles", "--bbox", "9.4,47,9.6"}, "--bbox: want minlon,minlat,maxlon,maxlat"},
		{"bbox order", []string{"--format", "pmtiles", "--bbox", "9.6,47,9.4,47.2"}, "--bbox"},
		{"bbox text", []string{"--format", "pmtiles", "--bbox", "9.4,47,x,47.2"}, `--bbox: "x" is not a number`},
		{"zooms", []string{"--format", "pmtiles", "--minzoom", "10", "--maxzoom", "8"}, "--minzoom 10 is above --maxzoom 8"},
		{"zoom range", []string{"--format", "mbtiles", "--maxzoom", "30"}, "--maxzoom must be 0–24"},
		{"bbox and area", []string{"--format", "pmtiles", "--bbox", "9.4,47,9.6,47.2", "--area", "x"}, "--bbox and --area"},
		{"unknown area", []string{"--format", "pmtiles", "--area", "nowhere"}, `--area: no area has the code "nowhere"`},
		{"tile flag elsewhere", []string{"--format", "geojson", "--layers", "areas"}, "--layers is for --format pmtiles, mbtiles or site"},
	} {
		out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".archive")
		code, _, errs := runCLI(t, append([]string{"export", out, "--db", db}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.msg) {
			t.Errorf("%s: exit %d, stderr %q; want 2 with %q", tc.name, code, errs, tc.msg)
		}
		left, _ := filepath.Glob(out + "*")
		if len(left) > 0 {
			t.Errorf("%s: left %v", tc.name, left)
		}
	}
	for _, f := range []string{"pmtiles", "mbtiles"} {
		code, _, errs := runCLI(t, "export", "--format", f, existing, "--db", db)
		if code != 2 || !strings.Contains(errs, "exists") {
			t.Errorf("existing OUT (%s): exit %d, stderr %q", f, code, errs)
		}
		if b, _ := os.ReadFile(existing); string(b) != "x" {
			t.Errorf("existing OUT (%s) was changed", f)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*tmp*")); len(left) > 0 {
		t.Errorf("left %v", left)
	}
	// A stale temporary file is not overwritten either.
	stale := filepath.Join(dir, "stale.pmtiles")
	os.WriteFile(stale+".tmp", nil, 0o644)
	if code, _, errs := runCLI(t, "export", "--format", "pmtiles", stale, "--db", db); code != 2 || !strings.Contains(errs, stale+".tmp") {
		t.Errorf("stale tmp: exit %d, stderr %q", code, errs)
	}
	if left, _ := filepath.Glob(stale + "*"); !slices.Equal(left, []string{stale + ".tmp"}) {
		t.Errorf("stale tmp: files %v", left)
	}
}

// validateStyle runs the MapLibre style validator (test/validators, npm)
// on a style.json body: skipped where it is not installed, a failure under
// CI.
func validateStyle(t *testing.T, body []byte) {
	t.Helper()
	validators, _ := filepath.Abs(filepath.Join("..", "..", "test", "validators"))
	if _, err := os.Stat(filepath.Join(validators, "node_modules", "@maplibre", "maplibre-gl-style-spec")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the style validator is not installed (%v): npm ci --prefix test/validators", err)
		}
		t.Skipf("the style validator is not installed (%v): npm ci --prefix test/validators", err)
	}
	file := filepath.Join(t.TempDir(), "style.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(storetest.NeedTool(t, "node", "nodejs"), filepath.Join(validators, "validate.mjs"), "--style", file).CombinedOutput()
	if err != nil {
		t.Fatalf("style validator: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
