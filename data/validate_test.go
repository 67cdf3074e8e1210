package data

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// Every validation error names its field, and its message is the one
// clients have read so far (api still takes the field from its first word).
func TestValidationNamesField(t *testing.T) {
	p := orb.Point{116.4, 39.9}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	square := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}}
	hazard := Hazard{ID: "z", Point: p, Category: "fire", Severity: 1, Status: StatusReported, ReportedAt: at}
	camera := Camera{ID: "c", Point: p, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"}
	grid := Grid{Code: "G1", Geometry: square}
	for _, tc := range []struct {
		name  string
		err   error
		field string
		msg   string
	}{
		{"household id", Household{Point: p, Households: 1}.Validate(), "source_id", "id is empty"},
		{"household NUL id", Household{ID: "a\x00", Point: p, Households: 1}.Validate(), "source_id", "id contains a NUL character"},
		{"household point", Household{ID: "h", Point: orb.Point{200, 0}, Households: 1}.Validate(), "geometry", "longitude out of range"},
		{"households", Household{ID: "h", Point: p}.Validate(), "households", "households must be at least 1"},
		{"hazard utf-8", func() error { h := hazard; h.ID = "\xff"; return h.Validate() }(), "source_id", "source_id is not valid UTF-8"},
		{"category", func() error { h := hazard; h.Category = "UFO!"; return h.Validate() }(), "category", `category "UFO!" is not a category code`},
		{"severity", func() error { h := hazard; h.Severity = 4; return h.Validate() }(), "severity", "severity must be 1, 2 or 3"},
		{"hazard status", func() error { h := hazard; h.Status = "x"; return h.Validate() }(), "status", `unknown status "x"`},
		{"reported_at", func() error { h := hazard; h.ReportedAt = time.Time{}; return h.Validate() }(), "reported_at", "reported_at is missing"},
		{"latitude", func() error { c := camera; c.Point = orb.Point{0, math.NaN()}; return c.Validate() }(), "geometry", "latitude is not a finite number"},
		{"azimuth", func() error { c := camera; c.Azimuth = 360; return c.Validate() }(), "azimuth", "azimuth must be"},
		{"fov", func() error { c := camera; c.FOV = 0; return c.Validate() }(), "fov", "fov must be"},
		{"range_m", func() error { c := camera; c.RangeM = 20000; return c.Validate() }(), "range_m", "range_m must be"},
		{"camera status", func() error { c := camera; c.Status = "x"; return c.Validate() }(), "status", `unknown status "x"`},
		{"area code", Area{Geometry: square, Level: 1}.Validate(), "code", "code is empty"},
		{"area polygon", Area{Code: "A", Level: 1}.Validate(), "geometry", "area A has no polygon"},
		{"area ring", Area{Code: "A", Level: 1, Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}}}}}.Validate(), "geometry", "polygon 0 ring 0 has 3 positions"},
		{"area level", Area{Code: "A", Geometry: square}.ValidateStored(), "level", "area A: level must be at least 1"},
		{"plan target", Plan{}.Validate(), "target", "plan target must be positive"},
		{"plan resolution", Plan{Target: 1, Resolution: math.MinInt32 - 1}.Validate(), "resolution", "resolution -2147483649 is out of range"},
		{"grid ring", Plan{Target: 1, Grids: []Grid{{Code: "G", Geometry: orb.MultiPolygon{{}}}}}.Validate(), "grids.geometry", "grid G: polygon 0 has no rings"},
		{"grid polygon", Plan{Target: 1, Grids: []Grid{{Code: "G"}}}.Validate(), "grids.geometry", "grid G has no polygon"},
		{"grid households", Plan{Target: 1, Grids: []Grid{{Code: "G", Households: -1, Geometry: square}}}.Validate(), "grids.households", "grid G: households must be 0 or more"},
		{"grid text", Plan{Target: 1, Grids: []Grid{{Code: "G", Worker: "\xff", Geometry: square}}}.Validate(), "grids.worker", "grid G: text"},
		{"grid code", Plan{Target: 1, Grids: []Grid{grid, grid}}.Validate(), "grids.code", `duplicate grid code "G1" in plan`},
		{"text", CheckText("name", "a\x00"), "name", `text "a\\0" contains a NUL character`},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := ErrorField(tc.err); got != tc.field {
			t.Errorf("%s: field %q, want %q (%v)", tc.name, got, tc.field, tc.err)
		}
		if msg := ErrorMessage(tc.err); !strings.HasPrefix(msg, tc.msg) {
			t.Errorf("%s: message %q, want it to start with %q", tc.name, msg, tc.msg)
		}
	}
	if err := (Plan{Target: 10, Resolution: 9, Grids: []Grid{grid}}).Validate(); err != nil {
		t.Errorf("good plan: %v", err)
	}
	if err := CheckPoint(p); err != nil || ValidPoint(p) != "" {
		t.Errorf("good point: %v %q", err, ValidPoint(p))
	}
	if ErrorField(Errorf(EINVALID, "x")) != "" || ErrorField(nil) != "" {
		t.Error("an error without a field names one")
	}
}

// Filterable, derived from Properties, keeps the order clients see in
// queryables and error messages.
func TestFilterable(t *testing.T) {
	want := map[Layer][]string{
		LayerHazards:    {"category", "status", "severity", "assignee", "resp_code", "resp_level"},
		LayerCameras:    {"status"},
		LayerAreas:      {"level", "parent_code"},
		LayerGrids:      {"parent_code"},
		LayerHouseholds: {},
		LayerStreets:    {"kind", "class"},
		LayerUnits:      {"kind"},
	}
	if len(Layers()) != len(want) {
		t.Errorf("%d layers, want %d", len(Layers()), len(want))
	}
	for l, names := range want {
		got := Filterable(l)
		if got == nil || strings.Join(got, ",") != strings.Join(names, ",") {
			t.Errorf("Filterable(%s) = %#v, want %#v", l, got, names)
		}
	}
}
