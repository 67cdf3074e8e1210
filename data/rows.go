package data

import (
	"encoding/json"
	"fmt"
	"time"
)

// Row readers shared by the stores. Each reads one row of the columns named
// beside it, in that order (SQL both stores run alike); scan is the
// driver's Scan and its error is returned as it is, so that the store maps
// it; decode is the store's geometry decoder.

// AreaColumns are the columns ScanArea reads, from the areas table.
const AreaColumns = `fid, geom, code, name, name_en, level, coalesce(admin_level, 0), coalesce(parent_code, ''), coalesce(osm_id, '')`

// ScanArea reads a row of AreaColumns.
func ScanArea(scan func(dest ...any) error, decode GeomDecoder) (Area, error) {
	var a Area
	var blob []byte
	if err := scan(&a.FID, &blob, &a.Code, &a.Name, &a.NameEn, &a.Level, &a.AdminLevel, &a.ParentCode, &a.OSMID); err != nil {
		return Area{}, err
	}
	var err error
	if a.Geometry, err = decode.MultiPolygon(blob); err != nil {
		return Area{}, fmt.Errorf("area %s: %w", a.Code, err)
	}
	return a, nil
}

// CameraColumns are the columns ScanCamera reads, from the cameras table.
const CameraColumns = `fid, geom, source_id, azimuth, fov, range_m, status`

// ScanCamera reads a row of CameraColumns.
func ScanCamera(scan func(dest ...any) error, decode GeomDecoder) (Camera, error) {
	var c Camera
	var blob []byte
	if err := scan(&c.FID, &blob, &c.ID, &c.Azimuth, &c.FOV, &c.RangeM, &c.Status); err != nil {
		return Camera{}, err
	}
	var err error
	if c.Point, err = decode.Point(blob); err != nil {
		return Camera{}, fmt.Errorf("camera %d: %w", c.FID, err)
	}
	return c, nil
}

// HouseholdColumns are the columns ScanHousehold reads, from the
// households table.
const HouseholdColumns = `fid, geom, source_id, households`

// ScanHousehold reads a row of HouseholdColumns.
func ScanHousehold(scan func(dest ...any) error, decode GeomDecoder) (Household, error) {
	var h Household
	var blob []byte
	if err := scan(&h.FID, &blob, &h.ID, &h.Households); err != nil {
		return Household{}, err
	}
	var err error
	if h.Point, err = decode.Point(blob); err != nil {
		return Household{}, fmt.Errorf("household %d: %w", h.FID, err)
	}
	return h, nil
}

// HazardColumns are the columns ScanHazard reads, from the hazards table.
const HazardColumns = `fid, geom, source_id, category, severity, status, reported_at, note, assignee, resp_code, resp_level, due_at, resolved_at, closed_at`

// ScanHazard reads a row of HazardColumns. Times are scanned to a T (text
// in SQLite, a time in PostgreSQL; the nullable ones to a *T, nil for
// NULL) that toTime turns into a time.
func ScanHazard[T any](scan func(dest ...any) error, decode GeomDecoder, toTime func(T) (time.Time, error)) (Hazard, error) {
	var h Hazard
	var blob []byte
	var at T
	var due, resolved, closed *T
	var status string
	if err := scan(&h.FID, &blob, &h.ID, &h.Category, &h.Severity, &status, &at,
		&h.Note, &h.Assignee, &h.RespCode, &h.RespLevel, &due, &resolved, &closed); err != nil {
		return Hazard{}, err
	}
	h.Status = Status(status)
	var err error
	if h.Point, err = decode.Point(blob); err != nil {
		return Hazard{}, fmt.Errorf("hazard %d: %w", h.FID, err)
	}
	if h.ReportedAt, err = toTime(at); err != nil {
		return Hazard{}, fmt.Errorf("hazard %d: reported_at: %w", h.FID, err)
	}
	for _, t := range []struct {
		name string
		from *T
		to   *time.Time
	}{{"due_at", due, &h.DueAt}, {"resolved_at", resolved, &h.ResolvedAt}, {"closed_at", closed, &h.ClosedAt}} {
		if t.from == nil {
			continue
		}
		if *t.to, err = toTime(*t.from); err != nil {
			return Hazard{}, fmt.Errorf("hazard %d: %s: %w", h.FID, t.name, err)
		}
	}
	return h, nil
}

// NullTime is a nullable time column's value for a driver: nil for the
// zero time.
func NullTime(t time.Time, format func(time.Time) any) any {
	if t.IsZero() {
		return nil
	}
	return format(t)
}

// GridColumns are the columns ScanGrid reads, from the grids table.
const GridColumns = `fid, geom, code, parent_code, name, households, area_m2, worker, cells`

// ScanGrid reads a row of GridColumns of plan's grids. The cells are
// scanned to a C (text in SQLite, an array in PostgreSQL) that cells
// decodes.
func ScanGrid[C any](scan func(dest ...any) error, plan int64, decode GeomDecoder, cells func(C) ([]uint64, error)) (Grid, error) {
	g := Grid{PlanID: plan}
	var blob []byte
	var c C
	if err := scan(&g.FID, &blob, &g.Code, &g.ParentCode, &g.Name, &g.Households, &g.AreaM2, &g.Worker, &c); err != nil {
		return Grid{}, err
	}
	var err error
	if g.Geometry, err = decode.MultiPolygon(blob); err != nil {
		return Grid{}, fmt.Errorf("grid %s: %w", g.Code, err)
	}
	if g.Cells, err = cells(c); err != nil {
		return Grid{}, fmt.Errorf("grid %s: %w", g.Code, err)
	}
	return g, nil
}

// KeyColumns are the columns ScanKey reads, from the wangge_keys table.
const KeyColumns = `id, role, name, hash, created_at, revoked_at, worker`

// ScanKey reads a row of KeyColumns. Times are scanned to a T (text in
// SQLite, a time in PostgreSQL; revoked_at to a *T, nil for NULL) that
// toTime turns into a time.
func ScanKey[T any](scan func(dest ...any) error, toTime func(T) (time.Time, error)) (Key, error) {
	var k Key
	var role string
	var created T
	var revoked *T
	if err := scan(&k.ID, &role, &k.Name, &k.Hash, &created, &revoked, &k.Worker); err != nil {
		return Key{}, err
	}
	k.Role = Role(role)
	var err error
	if k.CreatedAt, err = toTime(created); err != nil {
		return Key{}, fmt.Errorf("key %s created_at: %w", k.ID, err)
	}
	if revoked != nil {
		if k.RevokedAt, err = toTime(*revoked); err != nil {
			return Key{}, fmt.Errorf("key %s revoked_at: %w", k.ID, err)
		}
	}
	return k, nil
}

// PlanRow is what a store writes to its plans table for a plan.
type PlanRow struct {
	CreatedAt time.Time // the plan's, or now if it has none
	BaseID    any       // nil (NULL) when the plan has no base
	Report    []byte    // JSON
}

// Row returns what a store writes to its plans table for p.
func (p Plan) Row() (PlanRow, error) {
	report, err := json.Marshal(p.Report)
	if err != nil {
		return PlanRow{}, fmt.Errorf("encode report: %w", err)
	}
	r := PlanRow{CreatedAt: p.CreatedAt, Report: report}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	if p.BaseID != 0 {
		r.BaseID = p.BaseID
	}
	return r, nil
}

// PlanColumns are the columns ScanPlan reads, from the plans table.
const PlanColumns = `id, created_at, target, resolution, coalesce(base_id, 0), published, report`

// ScanPlan reads a row of PlanColumns, without the plan's grids. created_at
// is scanned to a T (text in SQLite, a time in PostgreSQL) that toTime
// turns into a time; the report is JSON.
func ScanPlan[T any](scan func(dest ...any) error, toTime func(T) (time.Time, error)) (Plan, error) {
	var p Plan
	var created T
	var report []byte
	if err := scan(&p.ID, &created, &p.Target, &p.Resolution, &p.BaseID, &p.Published, &report); err != nil {
		return Plan{}, err
	}
	var err error
	if p.CreatedAt, err = toTime(created); err != nil {
		return Plan{}, fmt.Errorf("plan %d created_at: %w", p.ID, err)
	}
	if err := json.Unmarshal(report, &p.Report); err != nil {
		return Plan{}, fmt.Errorf("plan %d report: %w", p.ID, err)
	}
	return p, nil
}
