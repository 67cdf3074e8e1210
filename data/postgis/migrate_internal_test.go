package postgis

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/storetest"
)

// A database of schema 3 (before events) is migrated by Open with its data
// kept: open hazards become reported, the other states keep their names,
// the new fields are empty and null; keys act for no worker; the roster
// and the history work at once, and the roster's changes are in the feed,
// also when made from a session whose search path does not name the
// schema (as QGIS on schema.workers).
func TestMigrateFromSchema3(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresSchema(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if names, err := migrateTo(ctx, conn, 3); err != nil || len(names) != 3 {
		t.Fatalf("migrations up to 3: %v, %v", names, err)
	}
	// Data written by wangge of schema 3, or by psql.
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	fids := map[string]int64{}
	for i, st := range []string{"open", "in_progress", "resolved"} {
		var fid int64
		err := conn.QueryRow(ctx, `INSERT INTO hazards (geom, source_id, category, severity, status, reported_at)
			VALUES (ST_SetSRID(ST_MakePoint(9.5, 47.1), 4326), $1, 'fire', $2, $3, $4) RETURNING fid`,
			fmt.Sprint("z", i), i+1, st, at).Scan(&fid)
		if err != nil {
			t.Fatal(err)
		}
		fids[st] = fid
	}
	if _, err := conn.Exec(ctx, `INSERT INTO wangge_keys (id, role, hash, created_at) VALUES ('k1', 'field', '\x01', now())`); err != nil {
		t.Fatal(err)
	}
	var before int64
	if err := conn.QueryRow(ctx, `SELECT max(seq) FROM wangge_changes`).Scan(&before); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("open a schema-3 database: %v", err)
	}
	defer s.Close()
	for old, st := range map[string]data.Status{"open": data.StatusReported, "in_progress": data.StatusInProgress, "resolved": data.StatusResolved} {
		h, err := s.Hazard(ctx, fids[old])
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != st || h.Note != "" || h.Assignee != "" || h.RespCode != "" || h.RespLevel != 0 ||
			!h.DueAt.IsZero() || !h.ResolvedAt.IsZero() || !h.ClosedAt.IsZero() || !h.ReportedAt.Equal(at) {
			t.Errorf("hazard %s after migration: %+v, want status %s and no workflow fields", old, h, st)
		}
		f, err := s.Item(ctx, data.LayerHazards, fids[old])
		if err != nil || f.Properties["due_at"] != nil || f.Properties["resolved_at"] != nil || f.Properties["closed_at"] != nil ||
			f.Properties["resp_level"] != int64(0) || f.Properties["status"] != string(st) {
			t.Errorf("feature %s after migration: %+v, %v", old, f.Properties, err)
		}
	}
	if k, err := s.Key(ctx, "k1"); err != nil || k.Worker != "" || k.Role != data.RoleField {
		t.Errorf("key after migration: %+v, %v", k, err)
	}
	// The migration's update of the open hazard is recorded, as any update.
	cs, err := s.Changes(ctx, data.ChangeQuery{After: before, Limit: 100})
	if err != nil || len(cs) != 1 || cs[0].Layer != "hazards" || cs[0].FID != fids["open"] || cs[0].Op != data.OpUpdate {
		t.Errorf("feed of the migration = %+v, %v; want the open hazard's update", cs, err)
	}
	_, last, _ := s.FeedBounds(ctx)

	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.AddWorker(ctx, data.Worker{ID: "w1", Name: "王芳", Role: "grid_worker", GridCodes: []string{"A1001"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.AddEventStep(ctx, data.EventStep{FID: fids["open"], At: at, Actor: "system", From: data.StatusReported, To: data.StatusAssigned, Assignee: "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if steps, err := s.EventHistory(ctx, fids["open"]); err != nil || len(steps) != 1 || steps[0].Assignee != "w1" {
		t.Errorf("EventHistory after migration = %+v, %v", steps, err)
	}

	// psql in another search path, naming the schema.
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	schema, _, _ := strings.Cut(p.Query().Get("search_path"), ",")
	other, err := pgx.Connect(ctx, storetest.WithParam(t, storetest.PostgresURL(t), "search_path", "public"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var w2 int64
	if err := other.QueryRow(ctx, fmt.Sprintf(`INSERT INTO %s.workers (id, name, role, grid_codes) VALUES ('w2', 'Li', 'grid_chief', 'A1') RETURNING fid`, schema)).Scan(&w2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`UPDATE %s.workers SET phone = '110' WHERE id = 'w2'`, schema),
		fmt.Sprintf(`TRUNCATE %s.workers`, schema),
	} {
		if _, err := other.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cs, err = s.Changes(ctx, data.ChangeQuery{After: last, Limit: 100})
	if err != nil || len(cs) != 5 {
		t.Fatalf("feed after roster writes = %+v, %v; want 5 entries", cs, err)
	}
	w1 := cs[0].FID
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s %d %s", c.Layer, c.FID, c.Op))
	}
	want := []string{fmt.Sprintf("workers %d insert", w1), fmt.Sprintf("workers %d insert", w2), fmt.Sprintf("workers %d update", w2)}
	// TRUNCATE records a delete of every row, in no particular order.
	deletes := []string{fmt.Sprintf("workers %d delete", w1), fmt.Sprintf("workers %d delete", w2)}
	if !slices.Equal(got[:3], want) || !(slices.Equal(got[3:], deletes) || slices.Equal(got[3:], []string{deletes[1], deletes[0]})) {
		t.Errorf("feed after roster writes:\n got %v\nwant %v then %v", got, want, deletes)
	}
	if ws, err := s.Workers(ctx); err != nil || len(ws) != 0 {
		t.Errorf("Workers after TRUNCATE = %+v, %v", ws, err)
	}
}
