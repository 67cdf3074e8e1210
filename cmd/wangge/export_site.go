package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/tiles"
)

// The files of a static site that the page and other clients name.
const (
	siteConfigFile = "site.json"
	siteStyleFile  = "style.json"
	siteArchive    = "tiles.pmtiles"
	// siteGenerator marks a directory's site.json as ours: only such a
	// directory is replaced by a new export.
	siteGenerator = "wangge export --format site"
)

// siteConfig is site.json, what the page reads to know it is a static
// snapshot (web/src/site.js) and of what.
type siteConfig struct {
	Generator string     `json:"generator"`
	Title     string     `json:"title"`
	Exported  time.Time  `json:"exported"`
	Version   int64      `json:"version"`          // the store's change-feed version the tiles show
	Wangge    string     `json:"wangge,omitempty"` // the binary that wrote it: module version or VCS revision
	Archive   string     `json:"archive"`
	Style     string     `json:"style"`
	Bounds    [4]float64 `json:"bounds"` // minlon, minlat, maxlon, maxlat
	Layers    []string   `json:"layers"`
	MinZoom   int        `json:"minzoom"`
	MaxZoom   int        `json:"maxzoom"`
}

// exportSite writes a directory that a plain static file host or a CDN can
// serve as a read-only dashboard with no wangge behind it: the map page
// embedded in this binary, started in static mode by its wangge-site tag;
// site.json; style.json, whose source is pmtiles://tiles.pmtiles (relative
// to the page); the tile archive itself (exportTiles); and the labels'
// Latin glyphs. It is built in a temporary directory beside out and
// renamed into place, so a reader never sees half a site; out may be
// missing, empty, or an earlier site export, which it replaces.
func exportSite(ctx context.Context, db, out, title string, req tileRequest, tf *tileFlags, stdout, stderr io.Writer) error {
	page, err := api.PageDist()
	if err != nil {
		return err
	}
	index, err := api.SitePage(siteConfigFile)
	if err != nil {
		return err
	}
	out = filepath.Clean(out)
	replace, err := checkSiteDir(out)
	if err != nil {
		return err
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return err
	}
	// After the rename this removes nothing; after a failure, the rest.
	defer os.RemoveAll(tmp)
	// A static host's server usually runs as another user.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	req.format = "pmtiles"
	// Its own summary would name the temporary path: this one's says it all.
	te, err := exportTiles(ctx, db, filepath.Join(tmp, siteArchive), req, tf, io.Discard, stderr)
	if err != nil {
		return err
	}
	pageBytes, err := copyPage(page, tmp, index)
	if err != nil {
		return err
	}
	// Page-relative URLs: the site may live under any path of any host.
	// The page makes them absolute (web/src/site.js); other clients
	// resolve them against the style's own URL.
	style := tiles.Style(".", "pmtiles://"+siteArchive, nil, te.bound, true, te.risk)
	style["metadata"] = map[string]any{"wangge:layers": strings.Join(req.layers, ","), "wangge:site": siteConfigFile}
	if title != "" {
		style["name"] = title
	}
	if title == "" {
		title = "wangge"
	}
	cfg := siteConfig{
		Generator: siteGenerator, Title: title, Exported: time.Now().UTC().Truncate(time.Second), Version: te.version,
		Wangge: binaryVersion(), Archive: siteArchive, Style: siteStyleFile,
		Bounds: [4]float64{e7(te.bound.Min[0]), e7(te.bound.Min[1]), e7(te.bound.Max[0]), e7(te.bound.Max[1])},
		Layers: req.layers, MinZoom: req.minZoom, MaxZoom: req.maxZoom,
	}
	for name, v := range map[string]any{siteStyleFile: style, siteConfigFile: cfg} {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), append(b, '\n'), 0o644); err != nil {
			return err
		}
		pageBytes += int64(len(b) + 1)
	}
	if err := swapDir(tmp, out, replace); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported a static site to %s: %s (%d tiles, layers %s, zoom %d–%d, %d bytes) and the page, style and glyphs (%d bytes); %s\n",
		out, siteArchive, te.stats.Tiles, strings.Join(req.layers, ","), req.minZoom, req.maxZoom, te.stats.Bytes, pageBytes,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// e7 rounds degrees to the archive header's precision (1e-7°, ~1 cm).
func e7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// checkSiteDir refuses an out that exists and is neither an empty
// directory nor an earlier site export; replace says whether there is a
// directory to swap out.
func checkSiteDir(out string) (replace bool, err error) {
	st, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, usageError{fmt.Errorf("%s exists and is not a directory; --format site writes a directory", out)}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return false, err
	}
	if len(entries) == 0 {
		return true, nil
	}
	var cfg siteConfig
	b, err := os.ReadFile(filepath.Join(out, siteConfigFile))
	if err != nil || json.Unmarshal(b, &cfg) != nil || cfg.Generator != siteGenerator {
		return false, usageError{fmt.Errorf("%s is not empty and is not an earlier site export (it has no %s written by %s); "+
			"name a new or empty directory, so that nothing else in it is replaced", out, siteConfigFile, siteGenerator)}
	}
	// A file added to an earlier site (a host's CNAME, a README) would go
	// with it: the export says so rather than deleting it.
	var extra []string
	for _, e := range entries {
		if !slices.Contains(siteEntries, e.Name()) {
			extra = append(extra, e.Name())
		}
	}
	if len(extra) > 0 {
		return false, usageError{fmt.Errorf("%s is an earlier site export but also holds %s, which a new export would remove; move it away first",
			out, strings.Join(extra, ", "))}
	}
	return true, nil
}

// siteEntries are the names a site export writes at its top level.
var siteEntries = []string{"index.html", "manifest.webmanifest", "assets", "fonts", siteConfigFile, siteStyleFile, siteArchive}

// swapDir puts the finished directory tmp at out, moving an earlier one
// aside first and removing it after: out is the old site or the new one,
// never a mix (between the two renames it is briefly missing).
func swapDir(tmp, out string, replace bool) error {
	if !replace {
		return os.Rename(tmp, out)
	}
	old := tmp + ".old"
	if err := os.Rename(out, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		if back := os.Rename(old, out); back != nil {
			return fmt.Errorf("%w; the earlier site is at %s", err, old)
		}
		return err
	}
	return os.RemoveAll(old)
}

// copyPage writes the map page's files into dir, index.html given: the
// assets, the glyphs and the manifest. The gzip twins are left out (a
// static host compresses by its own rules) and so is the service worker,
// which the page registers only for a signed-in field worker. It returns
// the bytes written.
func copyPage(page fs.FS, dir string, index []byte) (int64, error) {
	total := int64(len(index))
	if err := os.WriteFile(filepath.Join(dir, "index.html"), index, 0o644); err != nil {
		return 0, err
	}
	err := fs.WalkDir(page, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		switch {
		case p == ".":
			return nil
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case p == "index.html" || p == "sw.js" || path.Ext(p) == ".gz":
			return nil
		}
		b, err := fs.ReadFile(page, p)
		if err != nil {
			return err
		}
		total += int64(len(b))
		return os.WriteFile(target, b, 0o644)
	})
	return total, err
}

// binaryVersion names the binary: its module version when installed from
// one, else the VCS revision it was built from ("" when unknown).
func binaryVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
