package importer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// TestImportCRSMember: the legacy crs member of GeoJSON 2008. CGCS2000
// (EPSG:4490) is read as WGS 84 with a note; WGS 84's names pass without
// one; another system is refused before anything is imported.
func TestImportCRSMember(t *testing.T) {
	area := areaFeature("110105001001", "", 1, "Polygon", "["+square(116.44, 39.92, 116.46, 39.94)+"]")
	withCRS := func(name string) string {
		return `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"` + name + `"}},"features":[` + "\n" + area + "\n]}\n"
	}
	tests := []struct {
		name, file string
		note       string // "" for none
		refused    string // "" when imported
	}{
		{"cgcs2000 urn", withCRS("urn:ogc:def:crs:EPSG::4490"), "CGCS2000", ""},
		{"cgcs2000 short", withCRS("EPSG:4490"), "CGCS2000", ""},
		{"cgcs2000 uri", withCRS("http://www.opengis.net/def/crs/EPSG/0/4490"), "CGCS2000", ""},
		{"crs84 (GDAL writes it)", withCRS("urn:ogc:def:crs:OGC:1.3:CRS84"), "", ""},
		{"epsg:4326", withCRS("urn:ogc:def:crs:EPSG::4326"), "", ""},
		{"none", featureCollection(area), "", ""},
		{"null", strings.Replace(featureCollection(area), `"features"`, `"crs":null,"features"`, 1), "", ""},
		{"web mercator", withCRS("urn:ogc:def:crs:EPSG::3857"), "", "EPSG::3857"},
		{"beijing 1954", withCRS("EPSG:4214"), "", "EPSG:4214"},
		// After the features: the import is still refused as a whole.
		{"late", `{"type":"FeatureCollection","features":[` + area + `],"crs":{"type":"name","properties":{"name":"EPSG:2385"}}}`, "", "EPSG:2385"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			res, err := Import(context.Background(), s, data.LayerAreas, strings.NewReader(tc.file), "a.geojson", Options{})
			if tc.refused != "" {
				var e *data.Error
				if !errors.As(err, &e) || e.Code != data.EINVALID || !strings.Contains(e.Message, tc.refused) || !strings.Contains(e.Message, "EPSG:4490") {
					t.Fatalf("err = %v, want EINVALID naming %s and what is accepted", err, tc.refused)
				}
				if n := count(t, s, data.LayerAreas); n != 0 {
					t.Errorf("%d areas imported from a refused file", n)
				}
				return
			}
			if err != nil || res.Imported != 1 {
				t.Fatalf("imported %d: %v", res.Imported, err)
			}
			got := strings.Join(res.Notes, "\n")
			if (tc.note == "") != (got == "") || !strings.Contains(got, tc.note) {
				t.Errorf("notes %q, want one mentioning %q", got, tc.note)
			}
			// Read as WGS 84: the coordinates are stored as given.
			if b := storedAreas(t, s)["110105001001"].Geometry.Bound(); b.Min[0] != 116.44 || b.Max[1] != 39.94 {
				t.Errorf("stored bound %v", b)
			}
		})
	}
}
