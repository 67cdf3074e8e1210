package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGlyphs: the style names the glyph route; malformed and CJK ranges
// are 404 problems at once (the page draws CJK with the browser's fonts);
// the built Latin ranges, when the binary has the page, are protobufs kept
// for a day and revalidated by ETag.
func TestGlyphs(t *testing.T) {
	_, body := get(t, "/style.json")
	var st struct {
		Glyphs string
		Layers []struct {
			ID, Type string
			Layout   map[string]any
		}
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Glyphs != server.URL+"/fonts/{fontstack}/{range}.pbf" {
		t.Errorf("style glyphs %q", st.Glyphs)
	}
	labels := 0
	for _, l := range st.Layers {
		if l.Type == "symbol" {
			labels++
			if l.Layout["text-allow-overlap"] != nil || l.Layout["text-ignore-placement"] != nil {
				t.Errorf("%s: labels must not overlap", l.ID)
			}
		}
	}
	if labels != 3 {
		t.Errorf("%d label layers, want grids-label, streets-label and areas-label", labels)
	}
	for _, path := range []string{
		"/fonts/DejaVu%20Sans/19968-20223.pbf", // 一…: CJK, drawn by the browser
		"/fonts/DejaVu%20Sans/0-256.pbf",
		"/fonts/DejaVu%20Sans/1-256.pbf",
		"/fonts/DejaVu%20Sans/65536-65791.pbf",
		"/fonts/DejaVu%20Sans/abc.pbf",
		"/fonts/No%20Such%20Font/0-255.pbf",
		"/fonts/..%2F..%2Fassets/0-255.pbf",
	} {
		res, body := get(t, path)
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s %s, want a 404 problem", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	if res, _ := get(t, "/fonts/DejaVu%20Sans/0-255.pbf"); res.StatusCode == 404 {
		t.Log("the binary was built without the page (make web): the built ranges are not checked")
		return
	}
	for _, rng := range []string{"0-255", "256-511", "8192-8447"} {
		res, body := get(t, "/fonts/DejaVu%20Sans/"+rng+".pbf")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-protobuf" ||
			res.Header.Get("Cache-Control") != "public, max-age=86400" || len(body) < 1000 {
			t.Fatalf("%s: %d %v, %d bytes", rng, res.StatusCode, res.Header, len(body))
		}
		// glyphs { stacks=1 { name=1 "DejaVu Sans" … } }
		if body[0] != 0x0a || !strings.Contains(string(body[:20]), "DejaVu Sans") || !strings.Contains(string(body[:40]), rng) {
			t.Errorf("%s: not a glyph protobuf of DejaVu Sans: % x", rng, body[:20])
		}
		res2, _ := get(t, "/fonts/DejaVu%20Sans/"+rng+".pbf", "If-None-Match", res.Header.Get("ETag"))
		if res2.StatusCode != 304 {
			t.Errorf("%s: revalidation %d, want 304", rng, res2.StatusCode)
		}
		// Gzipped when asked, a third of the size, with its own ETag.
		req, _ := http.NewRequest("GET", server.URL+"/fonts/DejaVu%20Sans/"+rng+".pbf", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		gres, err := http.DefaultTransport.RoundTrip(req) // the transport alone leaves gzip alone
		if err != nil {
			t.Fatal(err)
		}
		gz, _ := io.ReadAll(gres.Body)
		gres.Body.Close()
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: gzip: %v (%v)", rng, err, gres.Header)
		}
		unz, _ := io.ReadAll(zr)
		if gres.Header.Get("Content-Encoding") != "gzip" || !strings.HasSuffix(gres.Header.Get("ETag"), `.gz"`) || !bytes.Equal(unz, body) || len(gz) > len(body)/2 {
			t.Errorf("%s: gzip %q etag %q, %d → %d bytes", rng, gres.Header.Get("Content-Encoding"), gres.Header.Get("ETag"), len(gz), len(unz))
		}
	}
}
