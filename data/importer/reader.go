package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"

	"github.com/wangge/wangge/data"
)

// Format is the format of an input file.
type Format int

// The formats Reader understands.
const (
	CSV Format = iota + 1
	GeoJSON
)

// String returns the format's usual name.
func (f Format) String() string {
	switch f {
	case CSV:
		return "CSV"
	case GeoJSON:
		return "GeoJSON"
	}
	return "unknown"
}

// Record is one valid record. Only the field of the reader's layer is set;
// an Area's Level and, when the file gives none, its ParentCode are left for
// Import to find.
type Record struct {
	Line    int // 1-based line where the record starts; 0 if unknown
	Feature int // 1-based number of the GeoJSON feature; 0 for CSV rows

	Household data.Household
	Hazard    data.Hazard
	Camera    data.Camera
	Area      data.Area
	Worker    data.Worker
	Street    data.Street
	Unit      data.Unit
}

// LayerWorkers names the roster to Import and NewReader. It is not a map
// layer (data.Layers()), but a roster file is read, checked, reported and
// committed as the layers are: `wangge import workers FILE`.
const LayerWorkers data.Layer = "workers"

// Reader reads the records of one layer from a CSV or GeoJSON file, one at
// a time, without holding more than one record in memory.
type Reader struct {
	name   string
	layer  data.Layer
	format Format
	err    error // a whole-file error; once set, Next returns it forever
	notes  []string
	fields fieldSet

	// CSV
	csv   *csv.Reader
	idx   [numCols]int // column of each known name, -1 if absent
	nhead int

	// GeoJSON
	gj geojsonState
}

// bom is the UTF-8 byte order mark that spreadsheet programs put in front
// of "CSV UTF-8" exports.
const bom = "\xEF\xBB\xBF"

// sniffSize is how much of the file is looked at to find its format; also
// the read buffer size, large enough that reads are few.
const sniffSize = 64 << 10

// NewReader returns a reader of layer's records from r. name is the file
// name used in errors and, when the content does not tell, to pick the
// format. For CSV the header is read and checked here, so a missing column
// is reported before anything else. Errors are *data.Error with EINVALID
// for bad input. Hazard categories and worker roles are checked against
// the built-in taxonomy; Import takes another in its Options.
func NewReader(r io.Reader, name string, layer data.Layer) (*Reader, error) {
	return newReader(r, name, layer, nil)
}

// newReader is NewReader with the taxonomy to check against; nil is the
// built-in one.
func newReader(r io.Reader, name string, layer data.Layer, tax *data.Taxonomy) (*Reader, error) {
	if cols, _ := columns(layer); cols == nil {
		return nil, data.Errorf(data.EINVALID, "cannot import %q: the importable layers are households, areas, hazards, cameras, streets, units and workers", layer)
	}
	br := bufio.NewReaderSize(r, sniffSize)
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		_, _ = br.Discard(len(bom))
	}
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, data.Wrap(data.EINVALID, err, "%s: %v", name, err)
	}
	first := bytes.TrimLeft(head, " \t\r\n")
	if len(first) == 0 && len(head) < sniffSize {
		return nil, fileError(name, 0, "the file is empty")
	}
	rd := &Reader{name: name, layer: layer, format: CSV}
	if layer == data.LayerHazards || layer == LayerWorkers {
		if tax == nil {
			tax = data.DefaultTaxonomy()
		}
		rd.fields.tax = tax
	}
	ext := strings.ToLower(filepath.Ext(name))
	if (len(first) > 0 && first[0] == '{') || ext == ".geojson" || ext == ".json" {
		rd.format = GeoJSON
	}
	if rd.format == GeoJSON && layer == LayerWorkers {
		return nil, fileError(name, 0, "the roster is imported from CSV only (columns %s)", rosterHeader)
	}
	if rd.format == GeoJSON {
		rd.gj.init(br)
		return rd, nil
	}
	if layer == data.LayerAreas {
		return nil, fileError(name, 0, "areas are imported from GeoJSON only (a FeatureCollection of Polygon or MultiPolygon features)")
	}
	if layer == data.LayerStreets {
		return nil, fileError(name, 0, "streets are imported from GeoJSON only (a FeatureCollection of LineString or MultiLineString features)")
	}
	if layer == data.LayerUnits {
		return nil, fileError(name, 0, "units are imported from GeoJSON only (a FeatureCollection of Point, Polygon or MultiPolygon features)")
	}
	if err := rd.initCSV(br); err != nil {
		return nil, err
	}
	return rd, nil
}

// rosterHeader is the roster's CSV header, for messages.
const rosterHeader = "id,name,role,grid_codes,phone"

// Format returns the format the reader found.
func (r *Reader) Format() Format { return r.format }

// Notes returns what the reader assumed about the file so far, for the
// import's report: that a file declaring CGCS2000 is read as WGS 84.
func (r *Reader) Notes() []string { return r.notes }

// Next returns the next valid record. A bad record gives a *RowError, after
// which reading may go on; the end of the file gives io.EOF; any other
// error is about the whole file and ends reading.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	var rec Record
	var err error
	if r.format == CSV {
		rec, err = r.nextCSV()
	} else {
		rec, err = r.nextGeoJSON()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		var re *RowError
		if !errors.As(err, &re) {
			r.err = err
		}
	}
	return rec, err
}

// fail records a whole-file error.
func (r *Reader) fail(line int, format string, args ...any) error {
	r.err = fileError(r.name, line, format, args...)
	return r.err
}

// rowError places a record's problem in the file.
func (r *Reader) rowError(line, feature int, err error) *RowError {
	return &RowError{File: r.name, Line: line, Feature: feature, Reason: data.ErrorMessage(err)}
}

func (r *Reader) initCSV(br *bufio.Reader) error {
	cr := csv.NewReader(br)
	cr.ReuseRecord = true // one record's slice for the whole file: flat memory
	cr.FieldsPerRecord = -1
	r.csv = cr
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fileError(r.name, 0, "the file is empty: a CSV header row is required")
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fileError(r.name, pe.StartLine, "bad CSV header: %v", pe.Err)
		}
		return data.Wrap(data.EINVALID, err, "%s: %v", r.name, err)
	}
	r.nhead = len(head)
	for i := range r.idx {
		r.idx[i] = -1
	}
	names := make([]string, len(head))
	for i, h := range head {
		names[i] = strings.ToLower(strings.TrimSpace(h))
	}
	cols, required := columns(r.layer)
	var missing []string
	for k, c := range cols {
		for i, n := range names {
			if n != c.name() {
				continue
			}
			if r.idx[c] >= 0 {
				return fileError(r.name, 1, "column %q appears twice in the header", n)
			}
			r.idx[c] = i
		}
		if r.idx[c] < 0 && k < required {
			missing = append(missing, c.name())
		}
	}
	if len(missing) > 0 {
		hint := ""
		if len(head) == 1 && strings.ContainsAny(head[0], ";\t|") {
			hint = "; columns must be separated by commas"
		}
		return fileError(r.name, 1, "missing required column(s) %s (header has %s; %s need %s)%s",
			strings.Join(missing, ", "), strings.Join(names, ", "), r.layer, joinCols(cols[:required]), hint)
	}
	return nil
}

func joinCols(cols []col) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.name()
	}
	return strings.Join(s, ",")
}

func (r *Reader) nextCSV() (Record, error) {
	row, err := r.csv.Read()
	if errors.Is(err, io.EOF) {
		return Record{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// encoding/csv resumes at the next line after a parse error,
			// so one bad quote costs one row, not the file.
			return Record{}, r.rowError(pe.StartLine, 0, invalid("", "bad CSV: %v", pe.Err))
		}
		return Record{}, data.Wrap(data.EINVALID, err, "%s: %v", r.name, err)
	}
	line, _ := r.csv.FieldPos(0)
	if len(row) != r.nhead {
		return Record{}, r.rowError(line, 0, invalid("", "row has %d fields, the header has %d", len(row), r.nhead))
	}
	f := &r.fields
	for c := range numCols {
		if i := r.idx[c]; i >= 0 {
			f.vals[c] = strings.TrimSpace(row[i])
			f.present[c] = true
		} else {
			f.vals[c], f.present[c] = "", false
		}
	}
	rec := Record{Line: line}
	if err := f.check(r.layer, nil, &rec); err != nil {
		return Record{}, r.rowError(line, 0, err)
	}
	return rec, nil
}

// jsonKind names the kind of a JSON value for messages, from its first byte.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "missing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// tokenKind names the kind of a json.Token for messages.
func tokenKind(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

// ReadHouseholds reads every household point of a CSV or GeoJSON file into
// memory, for tools and tests that need them all at once (gridgen inputs,
// benchmarks); the first bad record is the error. Imports stream instead.
func ReadHouseholds(r io.Reader, name string) ([]data.Household, error) {
	rd, err := NewReader(r, name, data.LayerHouseholds)
	if err != nil {
		return nil, err
	}
	var out []data.Household
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec.Household)
	}
}
