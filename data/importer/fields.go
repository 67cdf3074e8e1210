package importer

import (
	"fmt"
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
	}
	return nil, 0
}

// fieldSet holds the values of one record's known columns. present tells an
// absent GeoJSON property from an empty one, for a clearer reason. tax is
// the taxonomy hazard categories and worker roles are checked against; it
// is set for those layers only.
type fieldSet struct {
	vals    [numCols]string
	present [numCols]bool
	tax     *data.Taxonomy
}

func (f *fieldSet) reset() {
	f.vals = [numCols]string{}
	f.present = [numCols]bool{}
}

// required returns the value of c, or a reason if it is missing or empty.
func (f *fieldSet) required(c col) (string, string) {
	if !f.present[c] {
		return "", "missing " + c.name()
	}
	if f.vals[c] == "" {
		return "", c.name() + " is empty"
	}
	return f.vals[c], ""
}

// number parses a required finite decimal number.
func (f *fieldSet) number(c col) (float64, string) {
	s, reason := f.required(c)
	if reason != "" {
		return 0, reason
	}
	return parseNumber(c.name(), s)
}

// parseNumber parses a finite decimal number. strconv.ParseFloat also takes
// NaN, Inf, hexadecimal and underscores; those are never meant in our
// files, so each gets a reason of its own.
func parseNumber(name, s string) (float64, string) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Sprintf("%s %q is out of range for a number", name, s)
		}
		return 0, fmt.Sprintf("%s %q is not a number", name, s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Sprintf("%s %q is not a finite number", name, s)
	}
	if strings.ContainsAny(s, "xX_pP") {
		return 0, fmt.Sprintf("%s %q is not a decimal number", name, s)
	}
	return v, ""
}

// integer parses a required whole number within [lo, hi]. A value like
// "3.0" is accepted: it is a whole number, written as converters write it.
func (f *fieldSet) integer(c col, lo, hi int) (int, string) {
	v, reason := f.number(c)
	if reason != "" {
		return 0, reason
	}
	return checkInteger(c.name(), v, lo, hi)
}

func checkInteger(name string, v float64, lo, hi int) (int, string) {
	if v != math.Trunc(v) {
		return 0, fmt.Sprintf("%s %v is not a whole number", name, v)
	}
	if v < float64(lo) {
		return 0, fmt.Sprintf("%s %v is less than %d", name, v, lo)
	}
	if v > float64(hi) {
		return 0, fmt.Sprintf("%s %v is more than %d", name, v, hi)
	}
	return int(v), ""
}

// oneOf returns the lower-cased value of c if it is in allowed.
func (f *fieldSet) oneOf(c col, allowed []string) (string, string) {
	s, reason := f.required(c)
	if reason != "" {
		return "", reason
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a, ""
		}
	}
	return "", fmt.Sprintf("unknown %s %q (want one of %s)", c.name(), s, strings.Join(allowed, ", "))
}

// lonLat checks a position against the WGS 84 ranges. Projected
// coordinates (metres) are the usual cause of a failure, hence the hint.
func lonLat(lon, lat float64) string {
	if math.IsNaN(lon) || math.IsInf(lon, 0) || math.IsNaN(lat) || math.IsInf(lat, 0) {
		return "position is not finite"
	}
	if lon < -180 || lon > 180 {
		return fmt.Sprintf("longitude %v is out of range [-180, 180] (coordinates must be WGS 84 lon, lat)", lon)
	}
	if lat < -90 || lat > 90 {
		return fmt.Sprintf("latitude %v is out of range [-90, 90] (coordinates must be WGS 84 lon, lat)", lat)
	}
	return ""
}

// maxHouseholds bounds the households of one point. No building has a
// million households, and the bound keeps the float→int conversion exact.
const maxHouseholds = 1_000_000

// point returns the record's position: the geometry's for GeoJSON (already
// checked), the lon and lat columns for CSV.
func (f *fieldSet) point(geom *orb.Point) (orb.Point, string) {
	if geom != nil {
		return *geom, ""
	}
	lon, reason := f.number(colLon)
	if reason != "" {
		return orb.Point{}, reason
	}
	lat, reason := f.number(colLat)
	if reason != "" {
		return orb.Point{}, reason
	}
	if reason := lonLat(lon, lat); reason != "" {
		return orb.Point{}, reason
	}
	return orb.Point{lon, lat}, ""
}

func (f *fieldSet) household(geom *orb.Point, rec *Record) string {
	id, reason := f.required(colID)
	if reason != "" {
		return reason
	}
	pt, reason := f.point(geom)
	if reason != "" {
		return reason
	}
	n, reason := f.integer(colHouseholds, 1, maxHouseholds)
	if reason != "" {
		return reason
	}
	rec.Household = data.Household{ID: id, Point: pt, Households: n}
	return validate(rec.Household.Validate())
}

func (f *fieldSet) hazard(geom *orb.Point, rec *Record) string {
	id, reason := f.required(colID)
	if reason != "" {
		return reason
	}
	pt, reason := f.point(geom)
	if reason != "" {
		return reason
	}
	cat, reason := f.category()
	if reason != "" {
		return reason
	}
	severity, reason := f.number(colSeverity)
	if reason != "" {
		return reason
	}
	if severity != 1 && severity != 2 && severity != 3 {
		return fmt.Sprintf("severity %v is not 1, 2 or 3", severity)
	}
	status, reason := f.status()
	if reason != "" {
		return reason
	}
	s, reason := f.required(colReportedAt)
	if reason != "" {
		return reason
	}
	at, reason := parseTime(colReportedAt, s)
	if reason != "" {
		return reason
	}
	h := data.Hazard{ID: id, Point: pt, Category: cat.Code, Severity: int(severity), Status: status, ReportedAt: at,
		Note: f.vals[colNote], Assignee: f.vals[colAssignee]}
	if h.Assignee != "" {
		// The roster's own rule for ids, without copying it: a worker that
		// differs only in the id. Whether the worker is on the roster is
		// not checked: the roster may be imported after the events.
		w := data.Worker{ID: h.Assignee, Name: "-", Role: "-", GridCodes: []string{"-"}}
		if err := w.Validate(); data.ErrorField(err) == "id" {
			return fmt.Sprintf("assignee %q is not a worker id (1 to 64 letters, digits, '_', '.' or '-')", h.Assignee)
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
		v, reason := parseTime(t.c, s)
		if reason != "" {
			return reason
		}
		if v.Before(at) {
			return fmt.Sprintf("%s %s is before reported_at %s", t.c.name(), s, f.vals[colReportedAt])
		}
		*t.dst = v
	}
	rec.Hazard = h
	return validate(rec.Hazard.Validate())
}

// category returns the record's category from the taxonomy, matched
// case-insensitively (codes are lower case), or a reason naming the known
// ones, so that a file from another deployment says what this one takes.
func (f *fieldSet) category() (data.Category, string) {
	s, reason := f.required(colCategory)
	if reason != "" {
		return data.Category{}, reason
	}
	if c, ok := f.tax.Category(strings.ToLower(s)); ok {
		return c, ""
	}
	return data.Category{}, fmt.Sprintf("unknown category %q (known: %s)", s, strings.Join(f.tax.CategoryCodes(), ", "))
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
func (f *fieldSet) status() (data.Status, string) {
	s, reason := f.required(colStatus)
	if reason != "" {
		return "", reason
	}
	if st, err := data.ParseStatus(strings.ToLower(s)); err == nil {
		return st, ""
	}
	if st, ok := legacyStatus(s); ok {
		return st, ""
	}
	return "", fmt.Sprintf("unknown status %q (want one of %s; open, from older files, is read as reported)",
		s, strings.Join(data.StatusNames(), ", "))
}

// parseTime parses a time column: RFC 3339, or a plain date taken as
// midnight UTC because many reports carry no time of day.
func parseTime(c col, s string) (time.Time, string) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, ""
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, ""
	}
	return time.Time{}, fmt.Sprintf("%s %q is not an RFC 3339 time (2024-05-01T09:30:00Z) or a date (2024-05-01)", c.name(), s)
}

func (f *fieldSet) camera(geom *orb.Point, rec *Record) string {
	id, reason := f.required(colID)
	if reason != "" {
		return reason
	}
	pt, reason := f.point(geom)
	if reason != "" {
		return reason
	}
	az, reason := f.number(colAzimuth)
	if reason != "" {
		return reason
	}
	if az < 0 || az >= 360 {
		return fmt.Sprintf("azimuth %v is out of range [0, 360)", az)
	}
	fov, reason := f.number(colFOV)
	if reason != "" {
		return reason
	}
	if fov <= 0 || fov > 360 {
		return fmt.Sprintf("fov %v is out of range (0, 360]", fov)
	}
	rng, reason := f.number(colRangeM)
	if reason != "" {
		return reason
	}
	if rng <= 0 {
		return fmt.Sprintf("range_m %v is not greater than 0", rng)
	}
	status, reason := f.oneOf(colStatus, data.CameraStatuses())
	if reason != "" {
		return reason
	}
	rec.Camera = data.Camera{ID: id, Point: pt, Azimuth: az, FOV: fov, RangeM: rng, Status: status}
	return validate(rec.Camera.Validate())
}

// worker fills a roster row: grid_codes is a ';'-separated list (spaces
// around each code are dropped, as spreadsheets add them), the role is
// matched case-insensitively against the taxonomy, phone may be absent.
func (f *fieldSet) worker(rec *Record) string {
	id, reason := f.required(colID)
	if reason != "" {
		return reason
	}
	name, reason := f.required(colName)
	if reason != "" {
		return reason
	}
	role, reason := f.required(colRole)
	if reason != "" {
		return reason
	}
	codes, reason := f.required(colGridCodes)
	if reason != "" {
		return reason
	}
	w := data.Worker{ID: id, Name: name, Role: strings.ToLower(role), Phone: f.vals[colPhone]}
	for i, c := range strings.Split(codes, ";") {
		c = strings.TrimSpace(c)
		if c == "" {
			return fmt.Sprintf("grid_codes %q: code %d is empty (separate codes with ';', no ';' at the ends)", codes, i+1)
		}
		w.GridCodes = append(w.GridCodes, c)
	}
	if err := w.Validate(); err != nil {
		return fieldReason(err)
	}
	if err := f.tax.CheckWorker(w); err != nil {
		return fieldReason(err)
	}
	rec.Worker = w
	return ""
}

// fieldReason is a domain error's message with its field (the column) in
// front when the message does not name it already, so every reason says
// which column is wrong.
func fieldReason(err error) string {
	msg, field := data.ErrorMessage(err), data.ErrorField(err)
	if field == "" || strings.Contains(msg, field) {
		return msg
	}
	return field + ": " + msg
}

// area fills the attributes of an area; the geometry is checked by the
// GeoJSON reader and the level is found by Import.
func (f *fieldSet) area(mp orb.MultiPolygon, rec *Record) string {
	code, reason := f.required(colCode)
	if reason != "" {
		return reason
	}
	a := data.Area{
		Code:       code,
		Name:       f.vals[colName],
		NameEn:     f.vals[colNameEn],
		ParentCode: f.vals[colParentCode],
		OSMID:      f.vals[colOSMID],
		Geometry:   mp,
	}
	if f.vals[colAdminLevel] != "" {
		lvl, reason := f.integer(colAdminLevel, 0, 100)
		if reason != "" {
			return reason
		}
		a.AdminLevel = lvl
	}
	if a.ParentCode == code {
		return fmt.Sprintf("parent_code %q is the area's own code", code)
	}
	rec.Area = a
	return validate(rec.Area.Validate())
}

// validate applies the domain's own rules last, so that every record the
// reader returns is one the store accepts, and rules added to package data
// (such as a maximum camera range) reach the reader without copying them.
// It takes the error rather than the record so that no record is boxed in
// an interface, which would cost an allocation per row.
func validate(err error) string {
	if err != nil {
		return data.ErrorMessage(err)
	}
	return ""
}
