package main

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wangge/wangge/api"
)

// needPage skips a test when the binary under test was built without the
// map page (api/page/dist), unless under CI, where it fails.
func needPage(t *testing.T) {
	t.Helper()
	if _, err := api.PageDist(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (make web)", err)
		}
		t.Skipf("%v: run make web first", err)
	}
}

// TestExportSite exports the demo as a static site and checks what a file
// host would serve: the page in static mode and every asset it names, the
// glyphs, site.json, a style.json over pmtiles://tiles.pmtiles with the
// server's layers that the MapLibre validator accepts, and an archive whose
// tiles are the running server's, byte for byte. A second export replaces
// the first.
func TestExportSite(t *testing.T) {
	needPage(t)
	db := demoStore(t)
	addr := serveStore(t, db)
	parent := t.TempDir()
	out := filepath.Join(parent, "site")
	code, stdout, errs := runCLI(t, "export", "--format", "site", out, "--db", db, "--maxzoom", "13", "--title", "Vaduz")
	if code != 0 || !strings.Contains(stdout, "exported a static site to "+out) {
		t.Fatalf("export site: exit %d\n%s%s", code, stdout, errs)
	}
	t.Log(strings.TrimSpace(stdout))

	index, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), `<meta name="wangge-site" content="site.json">`) {
		t.Error("index.html does not name site.json in its wangge-site tag")
	}
	assets := regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(assets) < 3 {
		t.Errorf("index.html names %d assets", len(assets))
	}
	for _, a := range assets {
		if _, err := os.Stat(filepath.Join(out, a[1])); err != nil {
			t.Errorf("index.html names %s: %v", a[1], err)
		}
	}
	for _, f := range []string{"manifest.webmanifest", "fonts/DejaVu Sans/0-255.pbf", "fonts/DejaVu Sans/256-511.pbf", "fonts/DejaVu Sans/8192-8447.pbf"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".gz") || d.Name() == "sw.js") {
			t.Errorf("%s: gzip twins and the service worker stay out of a site", p)
		}
		return err
	})

	var cfg siteConfig
	readJSON(t, filepath.Join(out, "site.json"), &cfg)
	if cfg.Generator != siteGenerator || cfg.Title != "Vaduz" || cfg.Archive != "tiles.pmtiles" || cfg.Style != "style.json" ||
		cfg.MinZoom != 0 || cfg.MaxZoom != 13 || !slices.Equal(cfg.Layers, publicTileLayers()) || cfg.Exported.IsZero() || cfg.Version <= 0 {
		t.Errorf("site.json %+v", cfg)
	}

	// The archive: the server's tiles.
	h, got, _ := readPMTiles(t, filepath.Join(out, "tiles.pmtiles"))
	if h.MinZoom != 0 || h.MaxZoom != 13 || !h.Gzip {
		t.Errorf("archive header %+v", h)
	}
	for i, v := range []float64{h.Bounds.Min[0], h.Bounds.Min[1], h.Bounds.Max[0], h.Bounds.Max[1]} {
		if math.Abs(cfg.Bounds[i]-v) > 1.5e-7 {
			t.Errorf("site.json bounds %v, archive's %v", cfg.Bounds, h.Bounds)
			break
		}
	}
	checkTiles(t, "site", "http://"+addr+"/tiles/"+strings.Join(publicTileLayers(), ","), h.Bounds, 0, 13, got)

	// The style: the archive beside it, the glyphs beside it, the layers of
	// the server's own style.
	var style, served struct {
		Glyphs  string
		Sources map[string]struct{ Type, URL string }
		Layers  []struct{ ID string }
	}
	body := readJSON(t, filepath.Join(out, "style.json"), &style)
	if src := style.Sources["wangge"]; src.Type != "vector" || src.URL != "pmtiles://tiles.pmtiles" || len(style.Sources) != 1 {
		t.Errorf("style sources %+v", style.Sources)
	}
	if style.Glyphs != "./fonts/{fontstack}/{range}.pbf" {
		t.Errorf("style glyphs %q", style.Glyphs)
	}
	res, err := http.Get("http://" + addr + "/style.json")
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(sb, &served); err != nil {
		t.Fatal(err)
	}
	ids := func(ls []struct{ ID string }) (out []string) {
		for _, l := range ls {
			out = append(out, l.ID)
		}
		return out
	}
	if !slices.Equal(ids(style.Layers), ids(served.Layers)) {
		t.Errorf("site style layers %v, the server's %v", ids(style.Layers), ids(served.Layers))
	}
	t.Run("style validator", func(t *testing.T) {
		validateStyle(t, body)
	})

	// Again into the same directory: an earlier site export is replaced,
	// and nothing is left beside it.
	code, stdout, errs = runCLI(t, "export", "--format", "site", out, "--db", db, "--maxzoom", "12")
	if code != 0 {
		t.Fatalf("export site again: exit %d\n%s%s", code, stdout, errs)
	}
	readJSON(t, filepath.Join(out, "site.json"), &cfg)
	if cfg.MaxZoom != 12 || cfg.Title != "wangge" {
		t.Errorf("the second export's site.json %+v", cfg)
	}
	if left, _ := os.ReadDir(parent); len(left) != 1 {
		t.Errorf("beside the site: %v", left)
	}

	// A file someone added to the site is not removed by the next export.
	os.WriteFile(filepath.Join(out, "CNAME"), []byte("maps.example.org"), 0o644)
	code, _, errs = runCLI(t, "export", "--format", "site", out, "--db", db)
	if code != 2 || !strings.Contains(errs, "also holds CNAME") {
		t.Errorf("a site with a CNAME: exit %d, %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, "CNAME")); err != nil {
		t.Error(err)
	}
}

// TestExportSiteRefuses: an OUT that is not new, empty or an earlier site
// export is refused before anything is written, and bad flags are usage
// errors; nothing is left behind.
func TestExportSiteRefuses(t *testing.T) {
	needPage(t)
	db := demoStore(t)
	parent := t.TempDir()
	other := filepath.Join(parent, "photos")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "keep.txt"), []byte("mine"), 0o644)
	file := filepath.Join(parent, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	fake := filepath.Join(parent, "fake")
	os.Mkdir(fake, 0o755)
	os.WriteFile(filepath.Join(fake, "site.json"), []byte(`{"generator":"someone else"}`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"not a site", []string{other}, "is not empty and is not an earlier site export"},
		{"another site.json", []string{fake}, "is not an earlier site export"},
		{"a file", []string{file}, "is not a directory"},
		{"households", []string{filepath.Join(parent, "new"), "--layers", "grids,households"}, "household points are never exported"},
		// Refused after the temporary directory was made: it goes too.
		{"unknown area", []string{filepath.Join(parent, "new"), "--area", "nowhere"}, `--area: no area has the code "nowhere"`},
		{"title elsewhere", []string{filepath.Join(parent, "x.pmtiles"), "--title", "x"}, "--title is for --format site"},
	} {
		format := "site"
		if tc.name == "title elsewhere" {
			format = "pmtiles"
		}
		code, _, errs := runCLI(t, append([]string{"export", "--format", format, "--db", db}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.msg) {
			t.Errorf("%s: exit %d, stderr %q; want 2 with %q", tc.name, code, errs, tc.msg)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(other, "keep.txt")); string(b) != "mine" {
		t.Error("the refused directory was changed")
	}
	left, _ := os.ReadDir(parent)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"fake", "file", "photos"}) {
		t.Errorf("left in the parent: %v", names)
	}
	// An empty directory is taken.
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if code, _, errs := runCLI(t, "export", "--format", "site", empty, "--db", db, "--maxzoom", "10"); code != 0 {
		t.Errorf("empty OUT: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(empty, "tiles.pmtiles")); err != nil {
		t.Error(err)
	}
}

// readJSON decodes a file into v and returns its bytes.
func readJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
