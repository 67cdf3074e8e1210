package api

import (
	"hash/fnv"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
)

// glyphDir holds the map's label glyphs, built with the page (cmd/glyphs,
// run by web/build.mjs): fontstack/start-end.pbf, Latin ranges only. CJK
// is drawn by the browser's own fonts (MapLibre's
// localIdeographFontFamily), so its ranges are never asked for by the page
// and answer 404 at once. See docs/DESIGN.md, "Map page".
const glyphDir = "page/dist/fonts"

// glyphRange is a MapLibre glyph range: 256 code points, "start-end".
var glyphRange = regexp.MustCompile(`^([0-9]{1,5})-([0-9]{1,5})$`)

func (s *Server) glyphRoutes() []route {
	return []route{
		{method: "GET", path: "/fonts/{fontstack}/{range}.pbf", role: public, id: "getGlyphs", tag: "Tiles",
			summary: "Label glyphs of the style's font (MapLibre glyph protobuf, signed distance fields of 256 code points); Latin ranges only, CJK is drawn by the browser",
			params: []param{pathParam("fontstack", "font name, as the style's text-font: DejaVu Sans"),
				pathParam("range", "code points start-end, a multiple of 256 and 255 more: 0-255")},
			responses: withProblems(map[int]string{200: "glyph protobuf", 304: "not modified"}),
			produces:  "application/x-protobuf", handler: s.glyphs},
	}
}

// glyphs serves one built glyph range, gzipped to clients that accept it
// (the build writes the twins: a third of the size). The files change only
// with the binary, so they may be kept for a day and are revalidated by
// ETag.
func (s *Server) glyphs(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	stack, rng := vars["fontstack"], vars["range"]
	m := glyphRange.FindStringSubmatch(rng)
	if m == nil {
		return data.Errorf(data.ENOTFOUND, "no glyph range %q: want start-end, such as 0-255", rng)
	}
	start, _ := strconv.Atoi(m[1])
	end, _ := strconv.Atoi(m[2])
	if start%256 != 0 || end != start+255 || end > 65535 {
		return data.Errorf(data.ENOTFOUND, "no glyph range %q: a range is 256 code points from a multiple of 256", rng)
	}
	if !fs.ValidPath(stack) || stack == "." {
		return data.Errorf(data.ENOTFOUND, "no font %q", stack)
	}
	file := glyphDir + "/" + stack + "/" + rng + ".pbf"
	body, err := pageFiles.ReadFile(file)
	if err != nil {
		return data.Errorf(data.ENOTFOUND, "no glyphs %s for font %q: only Latin ranges are served; the page draws CJK with the browser's fonts", rng, stack)
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	return serveBuilt(w, r, file, body, "application/x-protobuf", strconv.Itoa(len(body))+"-"+strconv.FormatUint(uint64(sum32(body)), 16))
}

// sum32 is FNV-1a of b, enough to tell one build's glyphs from another's.
func sum32(b []byte) uint32 {
	h := fnv.New32a()
	h.Write(b)
	return h.Sum32()
}
