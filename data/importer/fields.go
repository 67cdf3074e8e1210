package importer

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// col is a known column (CSV) or property (GeoJSON). The readers copy the
// values of the known columns into a fixed array, so that one set of
// validators serves both formats without a map per record.
type col int

const (
	colID col = iota
	colLon
	colLat
	colHouseholds
	colCategory
	colSeverity
	colStatus
	colReportedAt
	colAzimuth
	colFOV
	colRangeM
	colCode
	colName
	colNameEn
	colAdminLevel
	colParentCode
	colOSMID
	colNote
	colAssignee
	colDueAt
	colResolvedAt
	colClosedAt
	colRole
	colGridCodes
	colPhone
	colKind
	colClass
	numCols
)

// name returns the column's name as it appears in files.
func (c col) name() string {
	switch c {
	case colID:
		return "id"
	case colLon:
		return "lon"
	case colLat:
		return "lat"
	case colHouseholds:
		return "households"
	case colCategory:
		return "category"
	case colSeverity:
		return "severity"
	case colStatus:
		return "status"
	case colReportedAt:
		return "reported_at"
	case colAzimuth:
		return "azimuth"
	case colFOV:
		return "fov"
	case colRangeM:
		return "range_m"
	case colCode:
		return "code"
	case colName:
		return "name"
	case colNameEn:
		return "name_en"
	case colAdminLevel:
		return "admin_level"
	case colParentCode:
		return "parent_code"
	case colOSMID:
		return "osm_id"
	case colNote:
		return "note"
	case colAssignee:
		return "assignee"
	case colDueAt:
		return "due_at"
	case colResolvedAt:
		return "resolved_at"
	case colClosedAt:
		return "closed_at"
	case colRole:
		return "role"
	case colGridCodes:
		return "grid_codes"
	case colPhone:
		return "phone"
	case colKind:
		return "kind"
	case colClass:
		return "class"
	}
	return "?"
}

// columns returns the columns a layer reads and how many of them, from the
// start, are required. For GeoJSON lon and lat come from the geometry, and
// the id of point layers may come from the feature id.
func columns(layer data.Layer) (cols []col, required int) {
	switch layer {
	case data.LayerHouseholds:
		return []col{colID, colLon, colLat, colHouseholds}, 4
	case data.LayerHazards:
		// The event fields after reported_at came with the event workflow;
		// files written before it have none of them.
		return []col{colID, colLon, colLat, colCategory, colSeverity, colStatus, colReportedAt,
			colNote, colAssignee, colDueAt, colResolvedAt, colClosedAt}, 7
	case data.LayerCameras:
		return []col{colID, colLon, colLat, colAzimuth, colFOV, colRangeM, colStatus}, 7
	case data.LayerAreas:
		return []col{colCode, colName, colNameEn, colAdminLevel, colParentCode, colOSMID}, 1
	case LayerWorkers:
		return []col{colID, colName, colRole, colGridCodes, colPhone}, 4
	case data.LayerStreets:
		return []col{colID, colKind, colClass, colName, colOSMID}, 2
	case data.LayerUnits:
		return []col{colID, colKind, colName}, 2
	}
	return nil, 0
}

// fieldSet holds the values of one record's known columns. present tells an
// absent GeoJSON property from an empty one, for a clearer reason. tax is
// the taxonomy hazard categories and worker roles are checked against; it
// is set for those layers only.
//
// err is the record's first problem. The readers of columns below (required,
// number, point…) record the problem they find there and do nothing once
// there is one, so that a record's check reads its columns in a row and
// looks at err where it needs the values: the problem reported is always
// the first, in the order the columns are read.
type fieldSet struct {
	vals    [numCols]string
	present [numCols]bool
	tax     *data.Taxonomy
	err     error
}

func (f *fieldSet) reset() {
	f.vals = [numCols]string{}
	f.present = [numCols]bool{}
	f.err = nil
}

// fail records err as the record's problem unless it has one already.
func (f *fieldSet) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// check checks a point layer's record, or a roster row, and fills rec. geom
// is a GeoJSON feature's position, nil for CSV, whose lon and lat are
// columns. Areas are checked by area.
//
// Each layer's check applies the domain's own rules (Validate) last, so
// that every record the reader returns is one the store accepts, and rules
// added to package data (such as a maximum camera range) reach the reader
// without copying them.
func (f *fieldSet) check(layer data.Layer, geom *orb.Point, rec *Record) error {
	f.err = nil
	switch layer {
	case data.LayerHouseholds:
		return f.household(geom, rec)
	case data.LayerHazards:
		return f.hazard(geom, rec)
	case data.LayerCameras:
		return f.camera(geom, rec)
	case LayerWorkers:
		return f.worker(rec)
	}
	return invalid("", "unsupported layer")
}

// required returns the value of c; a missing or empty one is the record's
// problem.
func (f *fieldSet) required(c col) string {
	switch {
	case f.err != nil:
		return ""
	case !f.present[c]:
		f.fail(invalid(c.name(), "missing %s", c.name()))
		return ""
	case f.vals[c] == "":
		f.fail(invalid(c.name(), "%s is empty", c.name()))
	}
	return f.vals[c]
}

// number parses a required finite decimal number.
func (f *fieldSet) number(c col) float64 {
	s := f.required(c)
	if f.err != nil {
		return 0
	}
	v, err := parseNumber(c.name(), s)
	f.fail(err)
	return v
}

// parseNumber parses a finite decimal number. strconv.ParseFloat also takes
// NaN, Inf, hexadecimal and underscores; those are never meant in our
// files, so each gets a reason of its own.
func parseNumber(name, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, invalid(name, "%s %q is out of range for a number", name, s)
		}
		return 0, invalid(name, "%s %q is not a number", name, s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, invalid(name, "%s %q is not a finite number", name, s)
	}
	if strings.ContainsAny(s, "xX_pP") {
		return 0, invalid(name, "%s %q is not a decimal number", name, s)
	}
	return v, nil
}

// integer parses a required whole number within [lo, hi]. A value like
// "3.0" is accepted: it is a whole number, written as converters write it.
func (f *fieldSet) integer(c col, lo, hi int) int {
	v := f.number(c)
	if f.err != nil {
		return 0
	}
	name := c.name()
	switch {
	case v != math.Trunc(v):
		f.fail(invalid(name, "%s %v is not a whole number", name, v))
	case v < float64(lo):
		f.fail(invalid(name, "%s %v is less than %d", name, v, lo))
	case v > float64(hi):
		f.fail(invalid(name, "%s %v is more than %d", name, v, hi))
	}
	return int(v)
}

// oneOf returns the value of c as allowed spells it, matched
// case-insensitively.
func (f *fieldSet) oneOf(c col, allowed []string) string {
	s := f.required(c)
	if f.err != nil {
		return ""
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	f.fail(invalid(c.name(), "unknown %s %q (want one of %s)", c.name(), s, strings.Join(allowed, ", ")))
	return ""
}

// lonLat checks a position against the WGS 84 ranges. Projected
// coordinates (metres) are the usual cause of a failure, hence the hint.
func lonLat(lon, lat float64) error {
	if math.IsNaN(lon) || math.IsInf(lon, 0) || math.IsNaN(lat) || math.IsInf(lat, 0) {
		return invalid("geometry", "position is not finite")
	}
	if lon < -180 || lon > 180 {
		return invalid("lon", "longitude %v is out of range [-180, 180] (coordinates must be WGS 84 lon, lat)", lon)
	}
	if lat < -90 || lat > 90 {
		return invalid("lat", "latitude %v is out of range [-90, 90] (coordinates must be WGS 84 lon, lat)", lat)
	}
	return nil
}

// maxHouseholds bounds the households of one point. No building has a
// million households, and the bound keeps the float→int conversion exact.
const maxHouseholds = 1_000_000

// point returns the record's position: the geometry's for GeoJSON (already
// checked), the lon and lat columns for CSV.
func (f *fieldSet) point(geom *orb.Point) orb.Point {
	if geom != nil {
		return *geom
	}
	lon, lat := f.number(colLon), f.number(colLat)
	if f.err == nil {
		f.fail(lonLat(lon, lat))
	}
	return orb.Point{lon, lat}
}

func (f *fieldSet) household(geom *orb.Point, rec *Record) error {
	id, pt, n := f.required(colID), f.point(geom), f.integer(colHouseholds, 1, maxHouseholds)
	if f.err != nil {
		return f.err
	}
	rec.Household = data.Household{ID: id, Point: pt, Households: n}
	return rec.Household.Validate()
}

func (f *fieldSet) hazard(geom *orb.Point, rec *Record) error {
	id, pt, cat, severity := f.required(colID), f.point(geom), f.category(), f.number(colSeverity)
	if f.err != nil {
		return f.err
	}
	if severity != 1 && severity != 2 && severity != 3 {
		return invalid("severity", "severity %v is not 1, 2 or 3", severity)
	}
	status, at := f.status(), f.time(colReportedAt)
	if f.err != nil {
		return f.err
	}
	h := data.Hazard{ID: id, Point: pt, Category: cat.Code, Severity: int(severity), Status: status, ReportedAt: at,
		Note: f.vals[colNote], Assignee: f.vals[colAssignee]}
	if h.Assignee != "" {
		// The roster's own rule for ids, without copying it: a worker that
		// differs only in the id. Whether the worker is on the roster is
		// not checked: the roster may be imported after the events.
		w := data.Worker{ID: h.Assignee, Name: "-", Role: "-", GridCodes: []string{"-"}}
		if err := w.Validate(); data.ErrorField(err) == "id" {
			return invalid("assignee", "assignee %q is not a worker id (1 to 64 letters, digits, '_', '.' or '-')", h.Assignee)
		}
	}
	// A report without a due time is due its category's deadline after
	// the report, as the event workflow sets it for new reports.
	h.DueAt = at.Add(cat.Deadline())
	for _, t := range []struct {
		c   col
		dst *time.Time
	}{{colDueAt, &h.DueAt}, {colResolvedAt, &h.ResolvedAt}, {colClosedAt, &h.ClosedAt}} {
		s := f.vals[t.c]
		if s == "" {
			continue
		}
		v, err := parseTime(t.c, s)
		if err != nil {
			return err
		}
		if v.Before(at) {
			return invalid(t.c.name(), "%s %s is before reported_at %s", t.c.name(), s, f.vals[colReportedAt])
		}
		*t.dst = v
	}
	rec.Hazard = h
	return rec.Hazard.Validate()
}

// category returns the record's category from the taxonomy, matched
// case-insensitively (codes are lower case); an unknown one's problem
// names the known ones, so that a file from another deployment says what
// this one takes.
func (f *fieldSet) category() data.Category {
	s := f.required(colCategory)
	if f.err != nil {
		return data.Category{}
	}
	c, ok := f.tax.Category(strings.ToLower(s))
	if !ok {
		f.fail(invalid("category", "unknown category %q (known: %s)", s, strings.Join(f.tax.CategoryCodes(), ", ")))
	}
	return c
}

// legacyStatus maps the statuses of files written before the event
// workflow to today's: "open" was a report nobody had taken yet.
// in_progress and resolved kept their names.
func legacyStatus(s string) (data.Status, bool) {
	if strings.EqualFold(s, "open") {
		return data.StatusReported, true
	}
	return "", false
}

// status returns the record's status, matched case-insensitively.
func (f *fieldSet) status() data.Status {
	s := f.required(colStatus)
	if f.err != nil {
		return ""
	}
	if st, err := data.ParseStatus(strings.ToLower(s)); err == nil {
		return st
	}
	if st, ok := legacyStatus(s); ok {
		return st
	}
	f.fail(invalid("status", "unknown status %q (want one of %s; open, from older files, is read as reported)",
		s, strings.Join(data.StatusNames(), ", ")))
	return ""
}

// time returns the required time column c (parseTime).
func (f *fieldSet) time(c col) time.Time {
	s := f.required(c)
	if f.err != nil {
		return time.Time{}
	}
	t, err := parseTime(c, s)
	f.fail(err)
	return t
}

// parseTime parses a time column: RFC 3339, or a plain date taken as
// midnight UTC because many reports carry no time of day.
func parseTime(c col, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(c.name(), "%s %q is not an RFC 3339 time (2024-05-01T09:30:00Z) or a date (2024-05-01)", c.name(), s)
}

func (f *fieldSet) camera(geom *orb.Point, rec *Record) error {
	id, pt, az := f.required(colID), f.point(geom), f.number(colAzimuth)
	if f.err == nil && (az < 0 || az >= 360) {
		return invalid("azimuth", "azimuth %v is out of range [0, 360)", az)
	}
	fov := f.number(colFOV)
	if f.err == nil && (fov <= 0 || fov > 360) {
		return invalid("fov", "fov %v is out of range (0, 360]", fov)
	}
	rng := f.number(colRangeM)
	if f.err == nil && rng <= 0 {
		return invalid("range_m", "range_m %v is not greater than 0", rng)
	}
	status := f.oneOf(colStatus, data.CameraStatuses())
	if f.err != nil {
		return f.err
	}
	rec.Camera = data.Camera{ID: id, Point: pt, Azimuth: az, FOV: fov, RangeM: rng, Status: status}
	return rec.Camera.Validate()
}

// worker fills a roster row: grid_codes is a ';'-separated list (spaces
// around each code are dropped, as spreadsheets add them), the role is
// matched case-insensitively against the taxonomy, phone may be absent.
func (f *fieldSet) worker(rec *Record) error {
	id, name, role, codes := f.required(colID), f.required(colName), f.required(colRole), f.required(colGridCodes)
	if f.err != nil {
		return f.err
	}
	w := data.Worker{ID: id, Name: name, Role: strings.ToLower(role), Phone: f.vals[colPhone]}
	for i, c := range strings.Split(codes, ";") {
		c = strings.TrimSpace(c)
		if c == "" {
			return invalid("grid_codes", "grid_codes %q: code %d is empty (separate codes with ';', no ';' at the ends)", codes, i+1)
		}
		w.GridCodes = append(w.GridCodes, c)
	}
	if err := w.Validate(); err != nil {
		return inColumn(err)
	}
	if err := f.tax.CheckWorker(w); err != nil {
		return inColumn(err)
	}
	rec.Worker = w
	return nil
}

// inColumn is a domain error with its field (the column) in front of its
// message when the message does not name it already, so every reason says
// which column is wrong.
func inColumn(err error) error {
	msg, field := data.ErrorMessage(err), data.ErrorField(err)
	if field == "" || strings.Contains(msg, field) {
		return err
	}
	return invalid(field, "%s: %s", field, msg)
}

// area fills the attributes of an area; the geometry is checked by the
// GeoJSON reader and the level is found by Import.
func (f *fieldSet) area(mp orb.MultiPolygon, rec *Record) error {
	code := f.required(colCode)
	a := data.Area{
		Code:       code,
		Name:       f.vals[colName],
		NameEn:     f.vals[colNameEn],
		ParentCode: f.vals[colParentCode],
		OSMID:      f.vals[colOSMID],
		Geometry:   mp,
	}
	if f.vals[colAdminLevel] != "" {
		a.AdminLevel = f.integer(colAdminLevel, 0, 100)
	}
	if f.err != nil {
		return f.err
	}
	if a.ParentCode == code {
		return invalid("parent_code", "parent_code %q is the area's own code", code)
	}
	rec.Area = a
	return rec.Area.Validate()
}

// street fills a street line's record; a street without an id takes its
// osm_id (decodeFeature).
func (f *fieldSet) street(ml orb.MultiLineString, rec *Record) error {
	id := f.required(colID)
	kind := f.oneOf(colKind, data.StreetKinds())
	if f.err != nil {
		return f.err
	}
	rec.Street = data.Street{ID: id, Kind: kind, Class: f.vals[colClass], Name: f.vals[colName], OSMID: f.vals[colOSMID], Geometry: ml}
	return rec.Street.Validate()
}

// unit fills a unit's record; g is an orb.Point or an orb.MultiPolygon.
func (f *fieldSet) unit(g orb.Geometry, rec *Record) error {
	id, kind := f.required(colID), f.required(colKind)
	if f.err != nil {
		return f.err
	}
	rec.Unit = data.Unit{ID: id, Kind: kind, Name: f.vals[colName], Geometry: g}
	return rec.Unit.Validate()
}
