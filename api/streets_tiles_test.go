package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/importer"
)

// mvtLayer is what TestStreetTilesFollowImport reads of a tile's layer.
type mvtLayer struct {
	features int
	keys     []string
	strings  []string // the string values
}

// scanMVT reads the layers of a vector tile: names, feature counts, keys
// and string values. Just enough protobuf for the test.
func scanMVT(b []byte) (map[string]*mvtLayer, error) {
	out := map[string]*mvtLayer{}
	err := scanPB(b, func(field int, v []byte) error {
		if field != 3 {
			return nil
		}
		l, name := &mvtLayer{}, ""
		err := scanPB(v, func(field int, v []byte) error {
			switch field {
			case 1:
				name = string(v)
			case 2:
				l.features++
			case 3:
				l.keys = append(l.keys, string(v))
			case 4:
				return scanPB(v, func(field int, v []byte) error {
					if field == 1 {
						l.strings = append(l.strings, string(v))
					}
					return nil
				})
			}
			return nil
		})
		out[name] = l
		return err
	})
	return out, err
}

// scanPB calls fn with each length-delimited field of message b; varint
// and fixed fields are skipped.
func scanPB(b []byte, fn func(field int, v []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("bad tag")
		}
		b = b[n:]
		switch tag & 7 {
		case 0:
			_, n = binary.Uvarint(b)
			if n <= 0 {
				return fmt.Errorf("bad varint")
			}
			b = b[n:]
		case 1:
			b = b[8:]
		case 5:
			b = b[4:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return fmt.Errorf("bad length")
			}
			if err := fn(int(tag>>3), b[n:n+int(l)]); err != nil {
				return err
			}
			b = b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d", tag&7)
		}
	}
	return nil
}

// TestStreetTilesFollowImport: a street imported into the store (as the
// CLI does, not through the server) appears in the streets tiles once the
// follower reads the feed, for a viewer too; units are imported alike, and
// a viewer never gets them, alone or beside streets, in tiles or TileJSON.
func TestStreetTilesFollowImport(t *testing.T) {
	srv, ts, tokens := authServer(t, Config{})
	vaduz := orb.Point{9.5209, 47.1410}
	tile := maptile.At(vaduz, 15)
	path := func(layers string) string {
		return fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", ts.URL, layers, tile.Z, tile.X, tile.Y)
	}
	get := func(token, layers string) (*http.Response, map[string]*mvtLayer) {
		t.Helper()
		res, body := do(t, "GET", path(layers), token, "")
		if res.StatusCode != 200 {
			return res, nil
		}
		ls, err := scanMVT([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", layers, err)
		}
		return res, ls
	}
	viewer, planner := tokens[data.RoleViewer], tokens[data.RolePlanner]

	// The demo ships streets and units: cleared first, as another process
	// would, so that the import below is all the tile holds.
	ctx := context.Background()
	tx, err := srv.cfg.Store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []data.Layer{data.LayerStreets, data.LayerUnits} {
		if err := tx.Clear(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		res, _ := get(viewer, "streets")
		if res.StatusCode == 204 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("streets tile after the demo's streets were cleared: %d, want 204", res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}

	streets := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"w1",
		"properties":{"kind":"road","class":"primary","name":"Aeulestrasse"},
		"geometry":{"type":"LineString","coordinates":[[9.515,47.141],[9.5209,47.1411],[9.527,47.1412]]}}]}`
	if _, err := importer.Import(ctx, srv.cfg.Store, data.LayerStreets, strings.NewReader(streets), "streets.geojson", importer.Options{}); err != nil {
		t.Fatal(err)
	}
	units := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"school-1",
		"properties":{"kind":"school","name":"Primarschule Vaduz"},
		"geometry":{"type":"Point","coordinates":[9.5210,47.1412]}}]}`
	if _, err := importer.Import(ctx, srv.cfg.Store, data.LayerUnits, strings.NewReader(units), "units.geojson", importer.Options{}); err != nil {
		t.Fatal(err)
	}

	// The follower reads the feed every 100 ms.
	var ls map[string]*mvtLayer
	for deadline := time.Now().Add(5 * time.Second); ; {
		var res *http.Response
		res, ls = get(viewer, "streets")
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("streets tile after the import: still %d", res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := ls["streets"]
	if st == nil || st.features != 1 || !slices.Contains(st.strings, "Aeulestrasse") || !slices.Contains(st.keys, "class") {
		t.Fatalf("streets layer %+v, want the road with its name and class", st)
	}

	// Units: for planners, once the follower has them.
	for deadline := time.Now().Add(5 * time.Second); ; {
		res, ls := get(planner, "streets,units")
		if res.StatusCode == 200 && ls["units"] != nil {
			if u := ls["units"]; u.features != 1 || !slices.Contains(u.strings, "Primarschule Vaduz") {
				t.Fatalf("units layer %+v", u)
			}
			if cc := res.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
				t.Errorf("units tile Cache-Control %q, want private", cc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("units tile for a planner: %d, layers %v", res.StatusCode, ls)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, role := range []data.Role{data.RoleViewer, data.RoleField} {
		for _, p := range []string{path("units"), path("streets,units"), path("units,grids"), ts.URL + "/tiles/units.json", ts.URL + "/tiles/streets,units.json"} {
			res, body := do(t, "GET", p, tokens[role], "")
			if res.StatusCode != 403 || bytes.Contains([]byte(body), []byte("Primarschule")) {
				t.Errorf("%s GET %s: %d %.200s, want 403", role, p, res.StatusCode, body)
			}
		}
	}
	if res, _ := do(t, "GET", ts.URL+"/tiles/units.json", "", ""); res.StatusCode != 401 {
		t.Errorf("units TileJSON anonymously: %d, want 401", res.StatusCode)
	}
}
