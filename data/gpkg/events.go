package gpkg

import (
	"context"
	"fmt"
	"time"

	"github.com/wangge/wangge/data"
)

// Schema version 4: events on their way from report to closure
// (data/events.go), the roster of workers who handle them, and each
// event's history.
//
// Events stay in the hazards layer, which gains the columns of their
// workflow; a file of an older version gets them by ALTER TABLE, and new
// files are built by the same steps, so both end with the same table.
// workers is an attributes table in gpkg_contents, like plans, so that GDAL
// and QGIS list the roster and can edit it; its changes are in the feed
// like every table a replica follows. wangge_event_history, like
// wangge_audit, is ours and no layer: it is not in gpkg_contents, and it
// has no foreign key to hazards because the history of an event outlives
// the event (a deleted report is still accounted for).

// hazardColumns4 are the columns schema 4 adds to hazards. Times are NULL
// when not set (data.NullTime): "not yet resolved" is no time at all.
var hazardColumns4 = []string{
	`note TEXT NOT NULL DEFAULT ''`,
	`assignee TEXT NOT NULL DEFAULT ''`,
	`resp_code TEXT NOT NULL DEFAULT ''`,
	`resp_level INTEGER NOT NULL DEFAULT 0`,
	`due_at DATETIME`,
	`resolved_at DATETIME`,
	`closed_at DATETIME`,
}

// eventsSchema brings a file of schema version 3 to version 4. It runs once,
// in the transaction of createSchema or of migrate.
func eventsSchema() []string {
	var stmts []string
	for _, c := range hazardColumns4 {
		stmts = append(stmts, `ALTER TABLE hazards ADD COLUMN `+c)
	}
	stmts = append(stmts,
		// Before the states of data.Status an event waiting for handling
		// was "open"; in_progress and resolved kept their names. The
		// feed records the rows changed, as for any update.
		`UPDATE hazards SET status = 'reported' WHERE status = 'open'`,
		// A field worker's list of events is a lookup by assignee.
		`CREATE INDEX IF NOT EXISTS hazards_assignee ON hazards(assignee)`,
		`ALTER TABLE wangge_keys ADD COLUMN worker TEXT NOT NULL DEFAULT ''`,
		// fid is the GeoPackage's integer key of an attributes table, and
		// the feed's fid; id is the roster's own key, what keys and
		// hazards name.
		`CREATE TABLE IF NOT EXISTS workers (fid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
			role TEXT NOT NULL, phone TEXT NOT NULL DEFAULT '', grid_codes TEXT NOT NULL)`,
		`INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)
			VALUES ('workers', 'attributes', 'workers', 'the roster: grid workers and chiefs with their grid codes (personal data)')`,
		`CREATE TABLE IF NOT EXISTS wangge_event_history (id INTEGER PRIMARY KEY AUTOINCREMENT, hazard_fid INTEGER NOT NULL,
			at DATETIME NOT NULL, actor TEXT NOT NULL, from_status TEXT NOT NULL DEFAULT '', to_status TEXT NOT NULL,
			assignee TEXT NOT NULL DEFAULT '', resp_code TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS wangge_event_history_hazard ON wangge_event_history(hazard_fid)`,
	)
	return append(stmts, feedTriggers(4)...)
}

// sqlTime is a time as a DATETIME column holds it.
func sqlTime(t time.Time) any { return t.UTC().Format(timeFormat) }

// Workers returns the roster, ordered by id.
func (s *Store) Workers(ctx context.Context) ([]data.Worker, error) {
	ws, err := workers(ctx, s.db, "")
	if ws == nil && err == nil {
		ws = []data.Worker{}
	}
	return ws, err
}

// Worker returns one worker by id.
func (s *Store) Worker(ctx context.Context, id string) (data.Worker, error) {
	ws, err := workers(ctx, s.db, ` WHERE id = ?`, id)
	return data.One(ws, err, "no worker %q", id)
}

func workers(ctx context.Context, db querier, where string, args ...any) ([]data.Worker, error) {
	return collect(ctx, db, "read workers", data.ScanWorker, `SELECT `+data.WorkerColumns+` FROM workers`+where+` ORDER BY id`, args...)
}

// EventHistory returns the steps of event fid in the order they were
// added, which is the order of its transitions.
func (s *Store) EventHistory(ctx context.Context, fid int64) ([]data.EventStep, error) {
	steps, err := collect(ctx, s.db, "read the history of event "+fmt.Sprint(fid), scanStep,
		`SELECT id, hazard_fid, at, actor, from_status, to_status, assignee, resp_code, note FROM wangge_event_history
			WHERE hazard_fid = ? ORDER BY id`, fid)
	if steps == nil && err == nil {
		steps = []data.EventStep{}
	}
	return steps, err
}

func scanStep(scan scanFunc) (data.EventStep, error) {
	var st data.EventStep
	var at, from, to string
	if err := scan(&st.ID, &st.FID, &at, &st.Actor, &from, &to, &st.Assignee, &st.RespCode, &st.Note); err != nil {
		return data.EventStep{}, err
	}
	st.From, st.To = data.Status(from), data.Status(to)
	var err error
	if st.At, err = parseTime(at); err != nil {
		return data.EventStep{}, fmt.Errorf("gpkg: event step %d at: %w", st.ID, err)
	}
	return st, nil
}

// AddWorker stores a worker; ECONFLICT if its id exists.
func (t *Tx) AddWorker(ctx context.Context, w data.Worker) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	_, err := t.exec(ctx, "workers", `INSERT INTO workers (id, name, role, phone, grid_codes) VALUES (?, ?, ?, ?, ?)`,
		w.ID, w.Name, w.Role, w.Phone, data.JoinCodes(w.GridCodes))
	err = mapErr(err, "duplicate worker id %q", w.ID)
	if data.ErrorCode(err) == data.ECONFLICT { // found by the unique index on id
		return &data.Error{Code: data.ECONFLICT, Field: "id", Message: data.ErrorMessage(err), Err: err}
	}
	return err
}

// WorkerForUpdate reads a worker inside the transaction; Begin took the
// file's write lock, so no one can change it before Commit (see
// HazardForUpdate).
func (t *Tx) WorkerForUpdate(ctx context.Context, id string) (data.Worker, error) {
	ws, err := workers(ctx, t.tx, ` WHERE id = ?`, id)
	return data.One(ws, err, "no worker %q", id)
}

// UpdateWorker replaces the worker with w.ID.
func (t *Tx) UpdateWorker(ctx context.Context, w data.Worker) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	res, err := t.exec(ctx, "workers", `UPDATE workers SET name = ?, role = ?, phone = ?, grid_codes = ? WHERE id = ?`,
		w.Name, w.Role, w.Phone, data.JoinCodes(w.GridCodes), w.ID)
	if err != nil {
		return mapErr(err, "update worker %q", w.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no worker %q", w.ID)
	}
	return nil
}

// DeleteWorker removes a worker. Keys and events that name it keep the
// name: the roster is the caller's to keep consistent.
func (t *Tx) DeleteWorker(ctx context.Context, id string) error {
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	res, err := t.exec(ctx, "workers", `DELETE FROM workers WHERE id = ?`, id)
	if err != nil {
		return mapErr(err, "delete worker %q", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no worker %q", id)
	}
	return nil
}

// ClearWorkers empties the roster.
func (t *Tx) ClearWorkers(ctx context.Context) error {
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "workers", `DELETE FROM workers`); err != nil {
		return mapErr(err, "clear workers")
	}
	// A roster replaced is an import: the file alone should hold it at
	// once (Commit checkpoints).
	t.rosterReplaced = true
	return nil
}

// AddEventStep appends a step to an event's history. The history is not
// in the change feed, so the deferred feed entries need no flush first.
func (t *Tx) AddEventStep(ctx context.Context, st data.EventStep) (int64, error) {
	if st.At.IsZero() {
		st.At = time.Now()
	}
	if err := st.Validate(); err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, "", `INSERT INTO wangge_event_history (hazard_fid, at, actor, from_status, to_status, assignee, resp_code, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		st.FID, sqlTime(st.At), st.Actor, string(st.From), string(st.To), st.Assignee, st.RespCode, st.Note)
	if err != nil {
		return 0, mapErr(err, "add a step to the history of event %d", st.FID)
	}
	id, err := res.LastInsertId()
	return id, mapErr(err, "add a step to the history of event %d", st.FID)
}
