package data_test

import (
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// The whole state machine: every state × every target × every role, with
// and without the event being the caller's. want is the table written out
// by hand in docs/DESIGN.md ("Events"); the test fails on any cell that
// differs.
func TestStateMachine(t *testing.T) {
	S := func(names ...string) map[data.Status]bool {
		m := map[data.Status]bool{}
		for _, n := range names {
			m[data.Status(n)] = true
		}
		return m
	}
	exists := map[data.Status]map[data.Status]bool{
		"reported":    S("accepted", "assigned", "rejected", "escalated"),
		"accepted":    S("assigned", "in_progress", "rejected", "escalated"),
		"assigned":    S("accepted", "in_progress", "resolved", "rejected", "escalated"),
		"in_progress": S("resolved", "escalated"),
		"resolved":    S("verified", "reopened"),
		"verified":    S("closed", "reopened"),
		"closed":      S("reopened"),
		"rejected":    S("reopened"),
		"escalated":   S("accepted", "assigned", "in_progress", "resolved", "rejected", "escalated"),
		"reopened":    S("accepted", "assigned", "in_progress", "resolved", "rejected", "escalated"),
	}
	fieldMay := S("accepted", "in_progress", "resolved", "escalated")
	roles := []data.Role{"", data.RoleViewer, data.RoleField, data.RolePlanner, data.RoleAdmin}
	cells := 0
	for _, from := range data.Statuses() {
		for _, to := range data.Statuses() {
			for _, role := range roles {
				for _, mine := range []bool{false, true} {
					cells++
					err := data.CheckTransition(role, from, to, mine)
					var want string
					switch {
					case !exists[from][to]:
						want = data.ECONFLICT
					case role == data.RolePlanner || role == data.RoleAdmin:
						want = ""
					case role == data.RoleField && mine && fieldMay[to]:
						want = ""
					default:
						want = data.EFORBIDDEN
					}
					got := ""
					if err != nil {
						got = data.ErrorCode(err)
					}
					if got != want {
						t.Errorf("%s → %s by %q (mine %v): got %q (%v), want %q", from, to, role, mine, got, err, want)
					}
					if want == data.ECONFLICT {
						// A 409 names the moves there are.
						for next := range exists[from] {
							if !strings.Contains(err.Error(), string(next)) {
								t.Errorf("%s → %s: %q does not name the allowed %s", from, to, err, next)
							}
						}
					}
				}
			}
		}
	}
	if cells != 10*10*5*2 {
		t.Fatalf("checked %d cells", cells)
	}
	if err := data.CheckTransition(data.RoleAdmin, data.StatusReported, "lost", false); data.ErrorCode(err) != data.EINVALID {
		t.Errorf("unknown target: %v", err)
	}
	// A field key sees the moves it may make, and they are the ones it
	// is allowed.
	if got := data.Allowed(data.RoleField, data.StatusAssigned, true); len(got) != 4 {
		t.Errorf("field on its own assigned event may: %v", got)
	}
	if got := data.Allowed(data.RoleField, data.StatusAssigned, false); len(got) != 0 {
		t.Errorf("field on another's event may: %v", got)
	}
}

func TestDefaultTaxonomy(t *testing.T) {
	tx := data.DefaultTaxonomy()
	for _, kind := range []string{"hazard", "dispute"} {
		if len(tx.CategoryCodesOf(kind)) == 0 {
			t.Errorf("no %s categories", kind)
		}
	}
	// The seeds' categories.
	for _, c := range []string{"public_order", "construction", "traffic", "fire", "workplace", "water", "building", "electrical",
		"marriage_family", "neighbours", "labour", "road_accident", "land_demolition", "dispute_other"} {
		if err := tx.CheckCategory(c); err != nil {
			t.Error(err)
		}
	}
	if err := tx.CheckCategory("Fire"); err == nil || !strings.Contains(err.Error(), "public_order") {
		t.Errorf("unknown category: %v", err)
	}
	if !tx.IsChief("grid_chief") || tx.IsChief("full_time") {
		t.Error("chief roles")
	}
}

func TestParseTaxonomyErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"syntax", "{\n\"kinds\": [\n,]}", "t.json:3:"},
		{"type", `{"kinds": [{"code": 1}]}`, "t.json:1: kinds.code must be string"},
		{"unknown field", `{"kinds": [], "colours": 1}`, `unknown field "colours"`},
		{"empty", `{}`, "at least one entry"},
		{"bad kind", `{"kinds":[{"code":"hazard","zh":"隐患","en":"H"}],"categories":[{"code":"fire","kind":"fires","zh":"消防","en":"F","deadline_hours":1,"severity":1}],"worker_roles":[{"code":"w","zh":"员","en":"W"}]}`, `categories[0] (fire): kind "fires" is not one of kinds (hazard)`},
		{"deadline", `{"kinds":[{"code":"hazard","zh":"隐患","en":"H"}],"categories":[{"code":"fire","kind":"hazard","zh":"消防","en":"F","deadline_hours":0,"severity":1}],"worker_roles":[{"code":"w","zh":"员","en":"W"}]}`, "deadline_hours must be at least 1"},
		{"duplicate", `{"kinds":[{"code":"hazard","zh":"隐患","en":"H"}],"categories":[{"code":"fire","kind":"hazard","zh":"消防","en":"F","deadline_hours":1,"severity":1},{"code":"fire","kind":"hazard","zh":"消防","en":"F","deadline_hours":1,"severity":1}],"worker_roles":[{"code":"w","zh":"员","en":"W"}]}`, `categories[1]: code "fire" is used twice`},
		{"label", `{"kinds":[{"code":"hazard","zh":"","en":"H"}],"categories":[],"worker_roles":[]}`, "at least one entry"},
	} {
		_, err := data.ParseTaxonomy(strings.NewReader(c.in), "t.json")
		if err == nil || !strings.Contains(err.Error(), c.want) || data.ErrorCode(err) != data.EINVALID {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestWorkerValidate(t *testing.T) {
	ok := data.Worker{ID: "w1", Name: "示例·王芳", Role: "full_time", Phone: "+86 100 0000 0001", GridCodes: []string{"LI01001"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field  string
		change func(*data.Worker)
	}{
		{"id", func(w *data.Worker) { w.ID = "" }},
		{"id", func(w *data.Worker) { w.ID = "a b" }},
		{"name", func(w *data.Worker) { w.Name = " " }},
		{"role", func(w *data.Worker) { w.Role = "" }},
		{"phone", func(w *data.Worker) { w.Phone = "call me" }},
		{"grid_codes", func(w *data.Worker) { w.GridCodes = nil }},
		{"grid_codes", func(w *data.Worker) { w.GridCodes = []string{"a;b"} }},
		{"grid_codes", func(w *data.Worker) { w.GridCodes = []string{"A", "A"} }},
	} {
		w := ok
		w.GridCodes = append([]string(nil), ok.GridCodes...)
		c.change(&w)
		if err := w.Validate(); data.ErrorField(err) != c.field {
			t.Errorf("%+v: got %v (field %q), want field %s", w, err, data.ErrorField(err), c.field)
		}
	}
}

func TestUnstaffed(t *testing.T) {
	tax := data.DefaultTaxonomy()
	p := data.Plan{Grids: []data.Grid{{Code: "A-001", ParentCode: "A"}, {Code: "A-002", ParentCode: "A"}, {Code: "B-001", ParentCode: "B"}, {Code: "C-001", ParentCode: "C"}}}
	areas := []data.Area{{Code: "T"}, {Code: "A", ParentCode: "T"}, {Code: "B", ParentCode: "T"}, {Code: "C", ParentCode: "X"}}
	if got := data.Unstaffed(p, areas, nil, tax); got != nil {
		t.Errorf("no roster: %v", got)
	}
	workers := []data.Worker{
		{ID: "w1", Role: "full_time", GridCodes: []string{"A-001"}},
		{ID: "c1", Role: "grid_chief", GridCodes: []string{"A", "B"}}, // a chief alone staffs nothing
		{ID: "w2", Role: "part_time", GridCodes: []string{"B"}},       // an area's code serves its grids
	}
	got := data.Unstaffed(p, areas, workers, tax)
	if strings.Join(got, ",") != "A-002,C-001" {
		t.Errorf("unstaffed: %v", got)
	}
	data.NoteUnstaffed(&p, areas, workers, tax)
	if len(p.Report.WithoutWorker) != 2 || len(p.Report.Warnings) != 1 || !strings.Contains(p.Report.Warnings[0], "2 of 4 grids") {
		t.Errorf("report: %+v", p.Report)
	}
}
