package importer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wangge/wangge/data"
)

// MaxErrors is how many RowErrors Result.Errors keeps; the rest are only
// counted (and passed to Options.Report), so a file of a million bad rows
// does not need a million errors in memory.
const MaxErrors = 100

// ErrRejected is wrapped by the error Import returns when bad records made
// it roll back.
var ErrRejected = errors.New("importer: invalid records, nothing imported")

// RowError is one record that cannot be imported: where it is and why.
type RowError struct {
	File    string // the name the file was imported under
	Line    int    // 1-based line where the record starts; 0 if unknown
	Feature int    // 1-based number of the GeoJSON feature; 0 for CSV rows
	Reason  string // what is wrong, for people
}

// Error formats the error as "file:line: feature N: reason".
func (e RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Feature > 0 {
		b.WriteString("feature ")
		b.WriteString(strconv.Itoa(e.Feature))
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// fileError is a whole-file error: it names the file and, when known, the
// line, and carries EINVALID so the CLI and the API map it in one place.
func fileError(name string, line int, format string, args ...any) *data.Error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return data.Errorf(data.EINVALID, "%s:%d: %s", name, line, msg)
	}
	return data.Errorf(data.EINVALID, "%s: %s", name, msg)
}

// invalid is a record's problem: the reason people read, and the column or
// property it is about as data.Error names fields ("geometry" for a
// position or shape; "" for the record as a whole).
func invalid(field, format string, args ...any) error {
	return data.FieldError(data.EINVALID, field, format, args...)
}
