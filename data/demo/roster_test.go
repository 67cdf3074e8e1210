package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/importer"
)

// demoAreas imports the demo boundaries into a GeoPackage and returns them
// as stored, with the nesting the importer found.
func demoAreas(t *testing.T) []data.Area {
	t.Helper()
	ctx := context.Background()
	s, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "demo.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, err := Open("boundaries.geojson")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, s, data.LayerAreas, strings.NewReader(string(b)), "boundaries.geojson", importer.Options{}); err != nil {
		t.Fatal(err)
	}
	areas, err := s.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return areas
}

// gridsIn makes n grids in each of the given areas, coded as gridgen codes
// them (parent code + 3 digits).
func gridsIn(n int, parents ...string) []data.Grid {
	var out []data.Grid
	for _, p := range parents {
		for i := range n {
			out = append(out, data.Grid{Code: fmt.Sprintf("%s%03d", p, i+1), ParentCode: p})
		}
	}
	return out
}

func TestRoster(t *testing.T) {
	areas := demoAreas(t)
	var leaves []string
	for _, a := range areas {
		if a.AdminLevel == 8 {
			leaves = append(leaves, a.Code)
		}
	}
	if len(leaves) != 11 {
		t.Fatalf("%d municipalities in the demo, want 11", len(leaves))
	}
	grids := gridsIn(9, leaves...)
	roster := Roster(areas, grids)

	t.Run("one chief per leaf area, one worker per grid", func(t *testing.T) {
		served := map[string][]string{} // code → ids of the workers serving it
		for _, w := range roster {
			if len(w.GridCodes) != 1 {
				t.Errorf("%s serves %v, want one code", w.ID, w.GridCodes)
			}
			served[w.GridCodes[0]] = append(served[w.GridCodes[0]], w.ID)
		}
		for _, code := range leaves {
			if ids := served[code]; len(ids) != 1 || !strings.HasPrefix(ids[0], "demo-chief-") {
				t.Errorf("leaf area %s is served by %v, want one chief", code, ids)
			}
		}
		for _, g := range grids {
			if ids := served[g.Code]; len(ids) != 1 || !strings.HasPrefix(ids[0], "demo-worker-") {
				t.Errorf("grid %s is served by %v, want one worker", g.Code, ids)
			}
		}
		if want := len(leaves) + len(grids); len(roster) != want || len(served) != want {
			t.Errorf("%d workers serving %d codes, want %d of each (regions get no chief)", len(roster), len(served), want)
		}
	})

	t.Run("valid, fictional and unique", func(t *testing.T) {
		tax := data.DefaultTaxonomy()
		ids, names, phones := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, w := range roster {
			if err := w.Validate(); err != nil {
				t.Errorf("%+v: %v", w, err)
			}
			if err := tax.CheckWorker(w); err != nil {
				t.Errorf("%+v: %v", w, err)
			}
			if chief := strings.HasPrefix(w.ID, "demo-chief-"); tax.IsChief(w.Role) != chief {
				t.Errorf("%s has role %s: chief %v, want %v", w.ID, w.Role, tax.IsChief(w.Role), chief)
			}
			if !strings.HasPrefix(w.Name, NamePrefix) || !strings.HasPrefix(w.Phone, "+86 100 ") {
				t.Errorf("%s: name %q, phone %q are not marked as invented", w.ID, w.Name, w.Phone)
			}
			if ids[w.ID] || names[w.Name] || phones[w.Phone] {
				t.Errorf("%s: id, name %q or phone %q given twice", w.ID, w.Name, w.Phone)
			}
			ids[w.ID], names[w.Name], phones[w.Phone] = true, true, true
		}
		if w := roster[0]; w.Name != "示例·王芳" || w.Phone != "+86 100 0000 0001" || w.ID != "demo-chief-001" || w.GridCodes[0] != "LI-01" {
			t.Errorf("first worker %+v, want demo-chief-001 示例·王芳 +86 100 0000 0001 for LI-01 (Balzers)", w)
		}
	})

	t.Run("deterministic whatever the order", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		a2, g2 := slices.Clone(areas), slices.Clone(grids)
		rng.Shuffle(len(a2), func(i, j int) { a2[i], a2[j] = a2[j], a2[i] })
		rng.Shuffle(len(g2), func(i, j int) { g2[i], g2[j] = g2[j], g2[i] })
		if again := Roster(a2, g2); !reflect.DeepEqual(again, roster) {
			t.Errorf("another order of the same plan gave another roster")
		}
	})
}

// TestFictionalNames checks that the names stay different well beyond a
// demo's hundred grids, and the phone numbers well beyond that.
func TestFictionalNames(t *testing.T) {
	n := len(surnames) * len(givenNames)
	seen := map[string]int{}
	for i := range n {
		name := fictionalName(i)
		if j, ok := seen[name]; ok {
			t.Fatalf("names %d and %d are both %q", j, i, name)
		}
		seen[name] = i
	}
	phones := map[string]bool{}
	for i := range 20_000 {
		p := fictionalPhone(i)
		if phones[p] || (data.Worker{ID: "x", Name: "x", Role: "x", Phone: p, GridCodes: []string{"g"}}).Validate() != nil {
			t.Fatalf("phone %d %q is a repeat or not a phone number", i, p)
		}
		phones[p] = true
	}
}
