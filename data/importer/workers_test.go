package importer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
)

const wk = LayerWorkers

const rosterHead = "id,name,role,grid_codes,phone\n"

// threeWorkers is a good roster: a chief over an area and two workers.
const threeWorkers = rosterHead +
	"w1,示例·王芳,grid_chief,LI-01,+86 100 0000 0001\n" +
	"w2,示例·李强,full_time,LI-01-001;LI-01-002,\n" +
	"w3,Example Person,part_time,LI-02-001,010-0000-0003\n"

func TestCSVWorkerRows(t *testing.T) {
	row := func(name, line, want string) readerCase {
		return readerCase{name: name, layer: wk, file: "r.csv", input: rosterHead + line + "\n", rows: []string{"r.csv:2: " + want}}
	}
	roles := strings.Join(data.DefaultTaxonomy().RoleCodes(), ", ")
	runReaderCases(t, []readerCase{
		{name: "valid", layer: wk, file: "r.csv", input: threeWorkers, records: 3},
		{name: "Excel: BOM, CRLF, any order and case, no phone column", layer: wk, file: "r.csv",
			input: "\uFEFFRole,Grid_Codes,Name,ID\r\nFull_Time, G1 ; G2 ,A B,w1\r\n", records: 1},
		{name: "missing column is named", layer: wk, file: "r.csv", input: "id,name,grid_codes\nw1,a,G1\n",
			fileErr: "r.csv:1: missing required column(s) role (header has id, name, grid_codes; workers need id,name,role,grid_codes)"},
		{name: "GeoJSON is refused", layer: wk, file: "r.geojson", input: `{"type":"FeatureCollection","features":[]}`,
			fileErr: "the roster is imported from CSV only (columns id,name,role,grid_codes,phone)"},
		row("unknown role", "w1,a,boss,G1,", `unknown worker role "boss" (known: `+roles+")"),
		row("empty role", "w1,a,,G1,", "role is empty"),
		row("empty name", "w1,  ,full_time,G1,", "name is empty"),
		row("name not UTF-8", "w1,\xff,full_time,G1,", "name must be valid UTF-8 text"),
		row("empty id", ",a,full_time,G1,", "id is empty"),
		row("bad id", "w 1,a,full_time,G1,", `worker id "w 1" must be`),
		row("bad phone", "w1,a,full_time,G1,call me", `phone "call me" is not a phone number`),
		row("empty grid_codes", "w1,a,full_time,,", "grid_codes is empty"),
		row("empty code in grid_codes", "w1,a,full_time,G1;;G2,", `grid_codes "G1;;G2": code 2 is empty`),
		row("trailing ; in grid_codes", "w1,a,full_time,G1;,", `grid_codes "G1;": code 2 is empty`),
		row("space inside a code", "w1,a,full_time,G 1,", `grid_codes: grid code "G 1" must be 1 to 64 characters`),
		row("code listed twice", "w1,a,full_time,G1;G1,", "grid_codes: grid codes are listed twice"),
		row("too few fields", "w1,a,full_time,G1", "row has 4 fields, the header has 5"),
	})
}

// TestRecordValuesWorker checks what is read is what is in the file.
func TestRecordValuesWorker(t *testing.T) {
	rd, err := NewReader(strings.NewReader("\uFEFFid,name,role,grid_codes,phone\r\nw9, 示例·王芳 ,Grid_Chief, LI-01 ;LI-02-003,+86 100 0000 0009\r\n"), "r.csv", wk)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	want := data.Worker{ID: "w9", Name: "示例·王芳", Role: "grid_chief", Phone: "+86 100 0000 0009", GridCodes: []string{"LI-01", "LI-02-003"}}
	if !equalWorker(rec.Worker, want) || rec.Line != 2 {
		t.Errorf("got %+v line %d, want %+v line 2", rec.Worker, rec.Line, want)
	}
}

func equalWorker(a, b data.Worker) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Role == b.Role && a.Phone == b.Phone && slices.Equal(a.GridCodes, b.GridCodes)
}

// roster returns the stored workers by id.
func roster(t *testing.T, s data.Store) map[string]data.Worker {
	t.Helper()
	ws, err := s.Workers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]data.Worker)
	for _, w := range ws {
		m[w.ID] = w
	}
	return m
}

func TestImportWorkers(t *testing.T) {
	tests := []struct {
		name    string
		seed    string // roster committed before the import
		input   string
		opt     Options
		wantErr string // substring of the error; "" for success
		read    int
		imp     int
		rej     int
		stored  []string // ids on the roster afterwards
		reasons []string // substrings of Result.Errors, in order
	}{
		{
			name: "valid roster commits", input: threeWorkers,
			read: 3, imp: 3, stored: []string{"w1", "w2", "w3"},
		},
		{
			name: "every bad row is reported and nothing is written", seed: threeWorkers,
			input: rosterHead +
				"w4,a,boss,G1,\n" + // 2
				"w5,,full_time,G1,\n" + // 3
				"w6,a,full_time,G1,not a phone\n" + // 4
				"w7,a,full_time,G1;;G2,\n" + // 5
				"w8,a,full_time,G8,\n" + // 6: good
				"w8,b,full_time,G9,\n" + // 7
				"w2,c,full_time,G2,\n", // 8: on the roster already
			wantErr: "6 of 7 records are invalid, so nothing was imported", read: 7, rej: 6,
			stored: []string{"w1", "w2", "w3"},
			reasons: []string{
				`w.csv:2: unknown worker role "boss"`,
				"w.csv:3: name is empty",
				`w.csv:4: phone "not a phone"`,
				`w.csv:5: grid_codes "G1;;G2": code 2 is empty`,
				`w.csv:7: id "w8" appears twice in the file (first at line 6)`,
				`w.csv:8: id "w2" is already on the roster`,
			},
		},
		{
			name: "skip-invalid commits the good rows", seed: threeWorkers,
			input: rosterHead + "w4,a,boss,G1,\nw5,b,full_time,G5,\nw5,c,full_time,G6,\nw1,d,full_time,G1,\n",
			opt:   Options{SkipInvalid: true}, read: 4, imp: 1, rej: 3,
			stored:  []string{"w1", "w2", "w3", "w5"},
			reasons: []string{"w.csv:2: unknown worker role", `w.csv:4: id "w5" appears twice`, `w.csv:5: id "w1" is already on the roster`},
		},
		{
			name: "replace replaces the roster in the same transaction", seed: threeWorkers,
			input: rosterHead + "w3,new name,full_time,G3,\nw4,b,part_time,G4,\n",
			opt:   Options{Replace: true}, read: 2, imp: 2, stored: []string{"w3", "w4"},
		},
		{
			name: "a failed replace keeps the old roster", seed: threeWorkers,
			input: rosterHead + "w3,new name,full_time,G3,\nw4,b,boss,G4,\n",
			opt:   Options{Replace: true}, wantErr: "1 of 2", read: 2, rej: 1, stored: []string{"w1", "w2", "w3"},
			reasons: []string{"w.csv:3: unknown worker role"},
		},
		{
			name: "missing column stops before any row", input: "id,name,role\nw1,a,full_time\n",
			wantErr: "w.csv:1: missing required column(s) grid_codes",
		},
	}
	for _, kind := range storeKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				s := kind.open(t)
				if tt.seed != "" {
					if _, err := Import(context.Background(), s, wk, strings.NewReader(tt.seed), "seed.csv", Options{}); err != nil {
						t.Fatalf("seeding: %v", err)
					}
				}
				res, err := Import(context.Background(), s, wk, strings.NewReader(tt.input), "w.csv", tt.opt)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("err = %v, want nil", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if err != nil && data.ErrorCode(err) != data.EINVALID {
					t.Errorf("error code = %s, want %s", data.ErrorCode(err), data.EINVALID)
				}
				if got, want := errors.Is(err, ErrRejected), tt.rej > 0 && !tt.opt.SkipInvalid; got != want {
					t.Errorf("errors.Is(err, ErrRejected) = %v, want %v", got, want)
				}
				if res.Read != tt.read || res.Imported != tt.imp || res.Rejected != tt.rej {
					t.Errorf("result read/imported/rejected = %d/%d/%d, want %d/%d/%d",
						res.Read, res.Imported, res.Rejected, tt.read, tt.imp, tt.rej)
				}
				got := roster(t, s)
				ids := slices.Sorted(func(yield func(string) bool) {
					for id := range got {
						if !yield(id) {
							return
						}
					}
				})
				if !slices.Equal(ids, tt.stored) {
					t.Errorf("roster %v, want %v", ids, tt.stored)
				}
				if len(res.Errors) != len(tt.reasons) {
					t.Fatalf("errors = %v, want %d", res.Errors, len(tt.reasons))
				}
				for i, want := range tt.reasons {
					if got := res.Errors[i].Error(); !strings.Contains(got, want) {
						t.Errorf("error %d = %q, want it to contain %q", i, got, want)
					}
				}
			})
		}
	}
}

// TestImportWorkersStored checks the rows as the store gives them back,
// the audit entry, and a deployment's own roles.
func TestImportWorkersStored(t *testing.T) {
	ctx := context.Background()
	s := storeKinds[0].open(t) // the real GeoPackage store
	if _, err := Import(ctx, s, wk, strings.NewReader(threeWorkers), "roster.csv", Options{Actor: "cli:test"}); err != nil {
		t.Fatal(err)
	}
	want := data.Worker{ID: "w2", Name: "示例·李强", Role: "full_time", Phone: "", GridCodes: []string{"LI-01-001", "LI-01-002"}}
	if got := roster(t, s)["w2"]; !equalWorker(got, want) {
		t.Errorf("stored %+v, want %+v", got, want)
	}
	entries, _, err := s.AuditLog(ctx, data.AuditQuery{Action: "import.workers"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "cli:test" || entries[0].Target != "workers" ||
		!strings.Contains(string(entries[0].After), `"imported":3`) || strings.Contains(string(entries[0].After), "100 0000") {
		t.Errorf("audit %+v %v: want one import.workers entry by cli:test with the counts and no personal data", entries, err)
	}

	tax, err := data.ParseTaxonomy(strings.NewReader(`{"kinds":[{"code":"hazard","zh":"隐患","en":"Hazard"}],
		"categories":[{"code":"flood","kind":"hazard","zh":"洪水","en":"Flood","deadline_hours":6,"severity":3}],
		"worker_roles":[{"code":"volunteer","zh":"志愿者","en":"Volunteer"}]}`), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	in := rosterHead + "v1,a,volunteer,G1,\n"
	if _, err := Import(ctx, s, wk, strings.NewReader(in), "v.csv", Options{}); !errors.Is(err, ErrRejected) {
		t.Errorf("a role of another taxonomy: err = %v, want ErrRejected with the default taxonomy", err)
	}
	if _, err := Import(ctx, s, wk, strings.NewReader(in), "v.csv", Options{Taxonomy: tax}); err != nil {
		t.Errorf("with the deployment's taxonomy: %v", err)
	}
	res, err := Import(ctx, s, wk, strings.NewReader(rosterHead+"v2,a,full_time,G1,\n"), "v.csv", Options{Taxonomy: tax})
	if !errors.Is(err, ErrRejected) || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), `v.csv:2: unknown worker role "full_time" (known: volunteer)`) {
		t.Errorf("a default role under the deployment's taxonomy: %v %v", err, res.Errors)
	}
}

// TestImportHazardEvents checks hazards against the taxonomy and the event
// fields, as stored in the GeoPackage.
func TestImportHazardEvents(t *testing.T) {
	ctx := context.Background()
	const head = "id,lon,lat,category,severity,status,reported_at"
	t.Run("unknown category names the known ones", func(t *testing.T) {
		s := storeKinds[0].open(t)
		in := head + "\nz1,9.5,47.1,fire,1,open,2024-11-26\nz2,9.5,47.1,flood,1,open,2024-11-26\n"
		res, err := Import(ctx, s, data.LayerHazards, strings.NewReader(in), "z.csv", Options{})
		if !errors.Is(err, ErrRejected) || len(res.Errors) != 1 {
			t.Fatalf("err = %v, errors %v", err, res.Errors)
		}
		want := `z.csv:3: unknown category "flood" (known: ` + strings.Join(data.DefaultTaxonomy().CategoryCodes(), ", ") + ")"
		if got := res.Errors[0].Error(); got != want {
			t.Errorf("got %q\nwant %q", got, want)
		}
		if n := count(t, s, data.LayerHazards); n != 0 {
			t.Errorf("%d hazards stored, want none", n)
		}
	})
	t.Run("the deployment's taxonomy decides", func(t *testing.T) {
		s := storeKinds[0].open(t)
		tax, err := data.ParseTaxonomy(strings.NewReader(`{"kinds":[{"code":"hazard","zh":"隐患","en":"Hazard"}],
			"categories":[{"code":"flood","kind":"hazard","zh":"洪水","en":"Flood","deadline_hours":6,"severity":3}],
			"worker_roles":[{"code":"volunteer","zh":"志愿者","en":"Volunteer"}]}`), "t.json")
		if err != nil {
			t.Fatal(err)
		}
		in := head + "\nz1,9.5,47.1,Flood,3,open,2024-11-26T10:00:00Z\nz2,9.5,47.1,fire,1,open,2024-11-26\n"
		res, err := Import(ctx, s, data.LayerHazards, strings.NewReader(in), "z.csv", Options{Taxonomy: tax, SkipInvalid: true})
		if err != nil || res.Imported != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), `z.csv:3: unknown category "fire" (known: flood)`) {
			t.Fatalf("err = %v, result %+v", err, res)
		}
		hs, err := s.Hazards(ctx)
		if err != nil || len(hs) != 1 {
			t.Fatalf("hazards %v %v", hs, err)
		}
		if due := time.Date(2024, 11, 26, 16, 0, 0, 0, time.UTC); !hs[0].DueAt.Equal(due) || hs[0].Category != "flood" {
			t.Errorf("stored %+v, want category flood due %v (6 hours on)", hs[0], due)
		}
	})
	t.Run("old statuses, due times and the event columns", func(t *testing.T) {
		s := storeKinds[0].open(t)
		in := head + ",note,assignee,due_at,resolved_at,closed_at\n" +
			"old,9.5,47.1,traffic,1,open,2024-11-26T09:00:00Z,,,,,\n" +
			"wip,9.5,47.1,fire,3,in_progress,2024-11-26T09:00:00Z,,,,,\n" +
			"done,9.5,47.1,water,2,closed,2024-11-26T09:00:00Z,路灯已修,w1,2024-11-27T09:00:00Z,2024-11-26T15:00:00Z,2024-11-28T09:00:00+08:00\n"
		if _, err := Import(ctx, s, data.LayerHazards, strings.NewReader(in), "z.csv", Options{}); err != nil {
			t.Fatal(err)
		}
		hs, err := s.Hazards(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]data.Hazard{}
		for _, h := range hs {
			byID[h.ID] = h
		}
		at := time.Date(2024, 11, 26, 9, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			id     string
			status data.Status
			due    time.Time
		}{
			{"old", data.StatusReported, at.Add(72 * time.Hour)}, // traffic: 72 hours
			{"wip", data.StatusInProgress, at.Add(24 * time.Hour)},
			{"done", data.StatusClosed, at.Add(24 * time.Hour)}, // as given, not water's 48 hours
		} {
			h := byID[c.id]
			if h.Status != c.status || !h.DueAt.Equal(c.due) {
				t.Errorf("%s: status %q due %v, want %q due %v", c.id, h.Status, h.DueAt, c.status, c.due)
			}
		}
		d := byID["done"]
		if d.Note != "路灯已修" || d.Assignee != "w1" || !d.ResolvedAt.Equal(at.Add(6*time.Hour)) || !d.ClosedAt.Equal(time.Date(2024, 11, 28, 1, 0, 0, 0, time.UTC)) {
			t.Errorf("event columns: %+v", d)
		}
	})
	t.Run("bad event columns are reported by column", func(t *testing.T) {
		const h = head + ",note,assignee,due_at,resolved_at,closed_at\n"
		runReaderCases(t, []readerCase{
			{name: "bad due_at", layer: hz, file: "z.csv", input: h + "z,9.5,47.1,fire,1,open,2024-11-26,,,soon,,\n",
				rows: []string{`z.csv:2: due_at "soon" is not an RFC 3339 time`}},
			{name: "resolved before the report", layer: hz, file: "z.csv", input: h + "z,9.5,47.1,fire,1,resolved,2024-11-26,,,,2024-11-25,\n",
				rows: []string{"z.csv:2: resolved_at 2024-11-25 is before reported_at 2024-11-26"}},
			{name: "bad assignee", layer: hz, file: "z.csv", input: h + "z,9.5,47.1,fire,1,assigned,2024-11-26,,Wang Fang,,,\n",
				rows: []string{`z.csv:2: assignee "Wang Fang" is not a worker id`}},
			{name: "GeoJSON properties", layer: hz, file: "z.geojson", records: 1,
				input: featureCollection(`{"type":"Feature","properties":{"id":"z","category":"fire","severity":1,"status":"open","reported_at":"2024-11-26","note":"x","due_at":"2024-11-30T00:00:00Z"},"geometry":{"type":"Point","coordinates":[9.5,47.1]}}`)},
			{name: "GeoJSON bad closed_at", layer: hz, file: "z.geojson",
				input: featureCollection(`{"type":"Feature","properties":{"id":"z","category":"fire","severity":1,"status":"closed","reported_at":"2024-11-26","closed_at":1},"geometry":{"type":"Point","coordinates":[9.5,47.1]}}`),
				rows:  []string{`z.geojson:2: feature 1: closed_at "1" is not an RFC 3339 time`}},
		})
	})
}
