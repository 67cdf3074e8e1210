package postgis

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// This file holds the writes of a transaction by layer: Add, Update and
// their checks, the reads that lock a row, Delete, Clear, and the plans.

// checkText refuses text PostgreSQL cannot store, which SQLite would:
// fields are name, value pairs.
func checkText(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := data.CheckText(fields[i], fields[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// AddHousehold buffers a household point; ECONFLICT if its id exists.
func (t *Tx) AddHousehold(ctx context.Context, h data.Household) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := errors.Join(checkText("source_id", h.ID), data.CheckInt32("households", h.Households)); err != nil {
		return 0, firstErr(err)
	}
	return t.add(ctx, data.LayerHouseholds, h.ID, h.Point, h.ID, int32(h.Households))
}

// AddHazard buffers a hazard; ECONFLICT if its id exists.
func (t *Tx) AddHazard(ctx context.Context, h data.Hazard) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := checkHazard(h); err != nil {
		return 0, err
	}
	return t.add(ctx, data.LayerHazards, h.ID, h.Point, hazardValues(h)...)
}

// checkHazard refuses what PostgreSQL cannot store of a valid hazard.
func checkHazard(h data.Hazard) error {
	return firstErr(errors.Join(checkText("source_id", h.ID, "category", h.Category, "status", string(h.Status),
		"note", h.Note, "assignee", h.Assignee, "resp_code", h.RespCode), data.CheckInt32("resp_level", h.RespLevel)))
}

// hazardValues are the values of h's columns after fid and geom, in the
// order of tables[data.LayerHazards]; unset times are NULL.
func hazardValues(h data.Hazard) []any {
	return []any{h.ID, h.Category, int16(h.Severity), string(h.Status), h.ReportedAt, h.Note, h.Assignee, h.RespCode, int32(h.RespLevel),
		data.NullTime(h.DueAt, timeArg), data.NullTime(h.ResolvedAt, timeArg), data.NullTime(h.ClosedAt, timeArg)}
}

// timeArg is a time as pgx sends it.
func timeArg(t time.Time) any { return t }

// AddCamera buffers a camera; ECONFLICT if its id exists.
func (t *Tx) AddCamera(ctx context.Context, c data.Camera) (int64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	if err := checkText("source_id", c.ID, "status", c.Status); err != nil {
		return 0, err
	}
	return t.add(ctx, data.LayerCameras, c.ID, c.Point,
		c.ID, c.Azimuth, c.FOV, c.RangeM, c.Status)
}

// AddArea buffers an area; ECONFLICT if its code exists.
func (t *Tx) AddArea(ctx context.Context, a data.Area) (int64, error) {
	if err := a.ValidateStored(); err != nil {
		return 0, err
	}
	if err := errors.Join(checkText("code", a.Code, "name", a.Name, "name_en", a.NameEn, "parent_code", a.ParentCode, "osm_id", a.OSMID),
		data.CheckInt32("level", a.Level), data.CheckInt32("admin_level", a.AdminLevel)); err != nil {
		return 0, firstErr(err)
	}
	var parent, adminLevel any // NULL when absent, as data/gpkg stores them
	if a.ParentCode != "" {
		parent = a.ParentCode
	}
	if a.AdminLevel != 0 {
		adminLevel = int32(a.AdminLevel)
	}
	return t.add(ctx, data.LayerAreas, a.Code, a.Geometry,
		a.Code, a.Name, a.NameEn, int32(a.Level), adminLevel, parent, a.OSMID)
}

// firstErr returns the first error of an errors.Join.
func firstErr(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

// update runs one UPDATE by fid inside a savepoint, so that a duplicate id
// is refused (ECONFLICT) without aborting the transaction.
func (t *Tx) update(ctx context.Context, layer data.Layer, fid int64, key string, g orb.Geometry, set string, vals ...any) error {
	if err := t.usable(); err != nil {
		return err
	}
	geom, err := encodeGeom(g)
	if err != nil {
		return data.Wrap(data.EINVALID, err, "%s: geometry cannot be encoded", key)
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return t.fail(ctx, err, "savepoint")
	}
	args := append([]any{geom}, vals...)
	args = append(args, fid)
	tag, err := sp.Exec(ctx, fmt.Sprintf(`UPDATE %s SET geom = $1, %s WHERE fid = $%d`, layer, set, len(args)), args...)
	if err != nil {
		e := data.OnKey(mapErr(ctx, err, "%s", data.DuplicateKey(layer, key)), layer)
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return t.fail(ctx, rbErr, "roll back to savepoint")
		}
		if c := data.ErrorCode(e); c == data.ECONFLICT || c == data.EINVALID {
			return e
		}
		return t.fail(ctx, err, "update %s %d", layer, fid)
	}
	if err := sp.Commit(ctx); err != nil {
		return t.fail(ctx, err, "release savepoint")
	}
	if tag.RowsAffected() == 0 {
		return data.Errorf(data.ENOTFOUND, "no %s %d", strings.TrimSuffix(string(layer), "s"), fid)
	}
	// The new id is stored now; the old one stays in the set, where a hit
	// only costs a query.
	if ks := t.keys[layer]; ks != nil {
		ks.seen[maphash.String(t.s.seed, key)] = struct{}{}
	}
	return nil
}

// HazardForUpdate reads a hazard and locks its row until the transaction
// ends (SELECT … FOR UPDATE); rows still buffered are sent first.
func (t *Tx) HazardForUpdate(ctx context.Context, fid int64) (data.Hazard, error) {
	if err := t.usable(); err != nil {
		return data.Hazard{}, err
	}
	if err := t.flushAll(ctx); err != nil {
		return data.Hazard{}, err
	}
	hz, err := readHazards(ctx, t.tx, ` WHERE fid = $1 FOR UPDATE`, fid)
	if err != nil {
		return data.Hazard{}, t.fail(ctx, err, "read hazard %d", fid)
	}
	if len(hz) == 0 {
		return data.Hazard{}, data.Errorf(data.ENOTFOUND, "no hazard %d", fid)
	}
	return hz[0], nil
}

// CameraForUpdate reads a camera and locks its row, as HazardForUpdate.
func (t *Tx) CameraForUpdate(ctx context.Context, fid int64) (data.Camera, error) {
	if err := t.usable(); err != nil {
		return data.Camera{}, err
	}
	if err := t.flushAll(ctx); err != nil {
		return data.Camera{}, err
	}
	cs, err := readCameras(ctx, t.tx, ` WHERE fid = $1 FOR UPDATE`, fid)
	if err != nil {
		return data.Camera{}, t.fail(ctx, err, "read camera %d", fid)
	}
	if len(cs) == 0 {
		return data.Camera{}, data.Errorf(data.ENOTFOUND, "no camera %d", fid)
	}
	return cs[0], nil
}

// UpdateHazard replaces the hazard with h.FID.
func (t *Tx) UpdateHazard(ctx context.Context, h data.Hazard) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if err := checkHazard(h); err != nil {
		return err
	}
	return t.update(ctx, data.LayerHazards, h.FID, h.ID, h.Point,
		`source_id = $2, category = $3, severity = $4, status = $5, reported_at = $6, note = $7, assignee = $8,
		resp_code = $9, resp_level = $10, due_at = $11, resolved_at = $12, closed_at = $13`,
		hazardValues(h)...)
}

// UpdateCamera replaces the camera with c.FID.
func (t *Tx) UpdateCamera(ctx context.Context, c data.Camera) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := checkText("source_id", c.ID, "status", c.Status); err != nil {
		return err
	}
	return t.update(ctx, data.LayerCameras, c.FID, c.ID, c.Point,
		`source_id = $2, azimuth = $3, fov = $4, range_m = $5, status = $6`,
		c.ID, c.Azimuth, c.FOV, c.RangeM, c.Status)
}

// Delete removes one feature.
func (t *Tx) Delete(ctx context.Context, layer data.Layer, fid int64) error {
	if _, err := data.ParseLayer(string(layer)); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM `+string(layer)+` WHERE fid = $1`, fid)
	if err != nil {
		return t.fail(ctx, err, "delete %s %d", layer, fid)
	}
	if tag.RowsAffected() == 0 {
		return data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	return nil
}

// Clear deletes every feature of a layer; clearing grids deletes every plan.
// DELETE rather than TRUNCATE: TRUNCATE would lock readers out until commit.
func (t *Tx) Clear(ctx context.Context, layer data.Layer) error {
	if _, err := data.ParseLayer(string(layer)); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	if b := t.bufs[layer]; b != nil {
		clear(b.rows)
		b.rows, b.bytes = b.rows[:0], 0
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	if layer == data.LayerGrids {
		if _, err := t.tx.Exec(ctx, `DELETE FROM plans`); err != nil {
			return t.fail(ctx, err, "clear plans")
		}
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM `+string(layer)); err != nil {
		return t.fail(ctx, err, "clear %s", layer)
	}
	t.keys[layer] = &keySet{seen: map[uint64]struct{}{}, exact: true, loaded: true}
	return nil
}

// SavePlan stores a plan with its grids; the plan is not published.
func (t *Tx) SavePlan(ctx context.Context, p data.Plan) (int64, error) {
	// Everything is checked before anything is written, so that a bad
	// plan is refused whole and the transaction stays usable.
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if err := t.usable(); err != nil {
		return 0, err
	}
	row, err := p.Row()
	if err != nil {
		return 0, fmt.Errorf("postgis: %w", err)
	}
	if err := t.flushAll(ctx); err != nil {
		return 0, err
	}
	var id int64
	err = t.tx.QueryRow(ctx, `INSERT INTO plans (created_at, target, resolution, base_id, published, report) VALUES ($1, $2, $3, $4, false, $5) RETURNING id`,
		row.CreatedAt, int32(p.Target), int32(p.Resolution), row.BaseID, row.Report).Scan(&id)
	if err != nil {
		return 0, t.fail(ctx, err, "save plan")
	}
	rows := make([][]any, 0, len(p.Grids))
	for _, g := range p.Grids {
		geom, err := encodeGeom(g.Geometry)
		if err != nil {
			return 0, t.fail(ctx, err, "encode grid %s", g.Code)
		}
		cells := make([]int64, len(g.Cells))
		for i, c := range g.Cells {
			cells[i] = int64(c)
		}
		rows = append(rows, []any{geom, id, g.Code, g.ParentCode, g.Name, int32(g.Households), g.AreaM2, g.Worker, cells})
	}
	_, err = t.tx.CopyFrom(ctx, pgx.Identifier{"grids"},
		[]string{"geom", "plan_id", "code", "parent_code", "name", "households", "area_m2", "worker", "cells"}, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, t.fail(ctx, err, "save the grids of plan %d", id)
	}
	return id, nil
}

// PublishPlan makes plan id the only published plan.
//
// The transaction holds the change feed's lock from Begin, so publishes
// take turns: each one sees the plan the one before it published and
// unpublishes it.
func (t *Tx) PublishPlan(ctx context.Context, id int64) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1)`, id).Scan(&exists); err != nil {
		return t.fail(ctx, err, "publish plan %d", id)
	}
	if !exists {
		return data.Errorf(data.ENOTFOUND, "no plan %d", id)
	}
	// Two statements, unpublish first: the one-published index is checked
	// row by row, so a single UPDATE could meet two published rows midway.
	if _, err := t.tx.Exec(ctx, `UPDATE plans SET published = false WHERE published AND id <> $1`, id); err != nil {
		return t.fail(ctx, err, "publish plan %d", id)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE plans SET published = true WHERE id = $1`, id); err != nil {
		return t.fail(ctx, err, "publish plan %d", id)
	}
	return nil
}
