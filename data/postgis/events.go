package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

// Workers and the events' history (migrations/0004_events.sql). Workers are
// not buffered like the layers' rows: a roster is hundreds of rows, written
// one statement each after the buffered rows, so the feed keeps the order
// of the writes.

// Workers returns the roster, ordered by id (byte order, as in SQLite).
func (s *Store) Workers(ctx context.Context) ([]data.Worker, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Worker, error) {
		ws, err := readWorkers(ctx, db, ` ORDER BY id COLLATE "C"`)
		if ws == nil && err == nil {
			ws = []data.Worker{}
		}
		return ws, err
	})
}

// Worker returns one worker by id.
func (s *Store) Worker(ctx context.Context, id string) (data.Worker, error) {
	ws, err := readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Worker, error) { return readWorkers(ctx, db, ` WHERE id = $1`, id) })
	return data.One(ws, err, "no worker %q", id)
}

// readWorkers reads workers; tail is the rest of the statement after FROM
// workers (WHERE, ORDER BY, FOR UPDATE).
func readWorkers(ctx context.Context, q querier, tail string, args ...any) ([]data.Worker, error) {
	return collect(ctx, q, "read workers", data.ScanWorker, `SELECT `+data.WorkerColumns+` FROM workers`+tail, args...)
}

// EventHistory returns the steps of event fid in the order they were
// added, which is the order of its transitions.
func (s *Store) EventHistory(ctx context.Context, fid int64) ([]data.EventStep, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.EventStep, error) {
		steps, err := collect(ctx, db, fmt.Sprintf("read the history of event %d", fid), scanStep,
			`SELECT id, hazard_fid, at, actor, from_status, to_status, assignee, resp_code, note FROM wangge_event_history
				WHERE hazard_fid = $1 ORDER BY id`, fid)
		if steps == nil && err == nil {
			steps = []data.EventStep{}
		}
		return steps, err
	})
}

func scanStep(scan scanFunc) (data.EventStep, error) {
	var st data.EventStep
	var from, to string
	if err := scan(&st.ID, &st.FID, &st.At, &st.Actor, &from, &to, &st.Assignee, &st.RespCode, &st.Note); err != nil {
		return data.EventStep{}, err
	}
	st.At = st.At.UTC()
	st.From, st.To = data.Status(from), data.Status(to)
	return st, nil
}

// checkWorker refuses a worker that is not valid or that PostgreSQL cannot
// store.
func checkWorker(w data.Worker) error {
	if err := w.Validate(); err != nil {
		return err
	}
	return checkText("name", w.Name, "role", w.Role)
}

// AddWorker stores a worker; ECONFLICT if its id exists. The id is looked
// up first, so that a duplicate is refused without spoiling the
// transaction.
func (t *Tx) AddWorker(ctx context.Context, w data.Worker) error {
	if err := checkWorker(w); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workers WHERE id = $1)`, w.ID).Scan(&exists); err != nil {
		return t.fail(ctx, err, "add worker %q", w.ID)
	}
	if exists {
		return data.FieldError(data.ECONFLICT, "id", "duplicate worker id %q", w.ID)
	}
	_, err := t.exec(ctx, fmt.Sprintf("add worker %q", w.ID), `INSERT INTO workers (id, name, role, phone, grid_codes) VALUES ($1, $2, $3, $4, $5)`,
		w.ID, w.Name, w.Role, w.Phone, data.JoinCodes(w.GridCodes))
	return err
}

// WorkerForUpdate reads a worker and locks its row until the transaction
// ends (SELECT … FOR UPDATE), as HazardForUpdate.
func (t *Tx) WorkerForUpdate(ctx context.Context, id string) (data.Worker, error) {
	if err := t.usable(); err != nil {
		return data.Worker{}, err
	}
	if err := t.flushAll(ctx); err != nil {
		return data.Worker{}, err
	}
	ws, err := readWorkers(ctx, t.tx, ` WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return data.Worker{}, t.fail(ctx, err, "read worker %q", id)
	}
	return data.One(ws, nil, "no worker %q", id)
}

// UpdateWorker replaces the worker with w.ID.
func (t *Tx) UpdateWorker(ctx context.Context, w data.Worker) error {
	if err := checkWorker(w); err != nil {
		return err
	}
	n, err := t.exec(ctx, fmt.Sprintf("update worker %q", w.ID), `UPDATE workers SET name = $2, role = $3, phone = $4, grid_codes = $5 WHERE id = $1`,
		w.ID, w.Name, w.Role, w.Phone, data.JoinCodes(w.GridCodes))
	if err != nil {
		return err
	}
	if n == 0 {
		return data.Errorf(data.ENOTFOUND, "no worker %q", w.ID)
	}
	return nil
}

// DeleteWorker removes a worker. Keys and events that name it keep the
// name: the roster is the caller's to keep consistent.
func (t *Tx) DeleteWorker(ctx context.Context, id string) error {
	n, err := t.exec(ctx, fmt.Sprintf("delete worker %q", id), `DELETE FROM workers WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return data.Errorf(data.ENOTFOUND, "no worker %q", id)
	}
	return nil
}

// ClearWorkers empties the roster. DELETE rather than TRUNCATE, as Clear.
func (t *Tx) ClearWorkers(ctx context.Context) error {
	_, err := t.exec(ctx, "clear workers", `DELETE FROM workers`)
	return err
}

// AddEventStep appends a step to an event's history.
func (t *Tx) AddEventStep(ctx context.Context, st data.EventStep) (int64, error) {
	if st.At.IsZero() {
		st.At = time.Now()
	}
	if err := st.Validate(); err != nil {
		return 0, err
	}
	if err := t.usable(); err != nil {
		return 0, err
	}
	if err := t.flushAll(ctx); err != nil {
		return 0, err
	}
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO wangge_event_history (hazard_fid, at, actor, from_status, to_status, assignee, resp_code, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		st.FID, st.At, st.Actor, string(st.From), string(st.To), st.Assignee, st.RespCode, st.Note).Scan(&id)
	if err != nil {
		return 0, t.fail(ctx, err, "add a step to the history of event %d", st.FID)
	}
	return id, nil
}
