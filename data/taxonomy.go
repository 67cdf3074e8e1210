package data

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Taxonomy is the configuration of events and workers that deployments
// edit rather than code: the kinds of event (hazards 隐患, disputes 矛盾纠纷),
// their categories with labels, deadline and default severity, and the
// roles of grid workers. `wangge serve --taxonomy FILE` reads one; without
// it the built-in default (taxonomy.json, from the seeds) applies.
type Taxonomy struct {
	Kinds       []EventKind  `json:"kinds"`
	Categories  []Category   `json:"categories"`
	WorkerRoles []WorkerRole `json:"worker_roles"`
}

// EventKind is a kind of event.
type EventKind struct {
	Code string `json:"code"`
	Zh   string `json:"zh"`
	En   string `json:"en"`
}

// Category is one category of event.
type Category struct {
	Code          string `json:"code"`
	Kind          string `json:"kind"` // a EventKind code
	Zh            string `json:"zh"`
	En            string `json:"en"`
	DeadlineHours int    `json:"deadline_hours"` // an event is due this long after its report
	Severity      int    `json:"severity"`       // default severity, 1–3
}

// Deadline is how long after its report an event of c is due.
func (c Category) Deadline() time.Duration { return time.Duration(c.DeadlineHours) * time.Hour }

// WorkerRole is a role on the roster. A chief (网格长) serves several grids
// above their workers and takes the events of grids that have no worker.
type WorkerRole struct {
	Code  string `json:"code"`
	Zh    string `json:"zh"`
	En    string `json:"en"`
	Chief bool   `json:"chief,omitempty"`
}

//go:embed taxonomy.json
var defaultTaxonomy []byte

// DefaultTaxonomy returns the built-in taxonomy (data/taxonomy.json).
func DefaultTaxonomy() *Taxonomy { return builtIn(defaultTaxonomy, "taxonomy.json", ParseTaxonomy) }

// LoadTaxonomy reads a taxonomy file.
func LoadTaxonomy(path string) (*Taxonomy, error) { return loadConfig(path, "taxonomy", ParseTaxonomy) }

// builtIn parses a configuration file embedded in the binary. It cannot
// fail in a build whose tests passed (each file has a test), so a failure
// is a programming error.
func builtIn[T any](b []byte, name string, parse func(io.Reader, string) (T, error)) T {
	v, err := parse(bytes.NewReader(b), name)
	if err != nil {
		panic("the built-in " + name + " is invalid: " + err.Error())
	}
	return v
}

// loadConfig reads a deployment's configuration file (a taxonomy, risk
// rules) with parse; what names it in the error when it cannot be opened.
func loadConfig[T any](path, what string, parse func(io.Reader, string) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, Wrap(EINVALID, err, "%s: %v", what, err)
	}
	defer f.Close()
	return parse(f, path)
}

var codeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// ParseTaxonomy reads a taxonomy from r; name is the file, for errors. An
// error names the file and what is wrong: the line of a syntax error, the
// entry and field of a bad value.
func ParseTaxonomy(r io.Reader, name string) (*Taxonomy, error) {
	var t Taxonomy
	if err := decodeConfig(r, name, &t); err != nil {
		return nil, err
	}
	if err := t.validate(); err != nil {
		return nil, Errorf(EINVALID, "%s: %v", name, err)
	}
	return &t, nil
}

// decodeConfig decodes one JSON object of a configuration file from r into
// v, strictly: an unknown member, a value of the wrong type, a syntax error
// or data after the object is EINVALID naming the file, and the line where
// the decoder stopped. name is the file.
func decodeConfig(r io.Reader, name string, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return Wrap(EINVALID, err, "%s: %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return Errorf(EINVALID, "%s:%d: %v", name, lineAt(b, se.Offset), err)
		case errors.As(err, &te):
			return Errorf(EINVALID, "%s:%d: %s must be %s, not %s", name, lineAt(b, te.Offset), te.Field, te.Type, te.Value)
		}
		return Errorf(EINVALID, "%s: %v", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(EINVALID, "%s: unexpected data after the JSON object", name)
	}
	return nil
}

func lineAt(b []byte, off int64) int {
	return bytes.Count(b[:min(int(off), len(b))], []byte("\n")) + 1
}

func (t *Taxonomy) validate() error {
	if len(t.Kinds) == 0 || len(t.Categories) == 0 || len(t.WorkerRoles) == 0 {
		return fmt.Errorf("kinds, categories and worker_roles must each have at least one entry")
	}
	seen := map[string]string{}
	check := func(list string, i int, code, zh, en string) error {
		switch {
		case !codeRE.MatchString(code):
			return fmt.Errorf("%s[%d]: code %q must be lower-case letters, digits and _, starting with a letter, at most 40", list, i, code)
		case seen[list+code] != "":
			return fmt.Errorf("%s[%d]: code %q is used twice", list, i, code)
		case strings.TrimSpace(zh) == "" || strings.TrimSpace(en) == "":
			return fmt.Errorf("%s[%d] (%s): zh and en labels are both required", list, i, code)
		}
		seen[list+code] = code
		return nil
	}
	for i, k := range t.Kinds {
		if err := check("kinds", i, k.Code, k.Zh, k.En); err != nil {
			return err
		}
	}
	for i, c := range t.Categories {
		if err := check("categories", i, c.Code, c.Zh, c.En); err != nil {
			return err
		}
		switch {
		case seen["kinds"+c.Kind] == "":
			return fmt.Errorf("categories[%d] (%s): kind %q is not one of kinds (%s)", i, c.Code, c.Kind, strings.Join(t.KindCodes(), ", "))
		case c.DeadlineHours < 1:
			return fmt.Errorf("categories[%d] (%s): deadline_hours must be at least 1, got %d", i, c.Code, c.DeadlineHours)
		case c.Severity < 1 || c.Severity > 3:
			return fmt.Errorf("categories[%d] (%s): severity must be 1, 2 or 3, got %d", i, c.Code, c.Severity)
		}
	}
	for i, r := range t.WorkerRoles {
		if err := check("worker_roles", i, r.Code, r.Zh, r.En); err != nil {
			return err
		}
	}
	return nil
}

// KindCodes returns the codes of the kinds, in file order.
func (t *Taxonomy) KindCodes() []string {
	var out []string
	for _, k := range t.Kinds {
		out = append(out, k.Code)
	}
	return out
}

// CategoryCodes returns the codes of the categories, in file order.
func (t *Taxonomy) CategoryCodes() []string {
	var out []string
	for _, c := range t.Categories {
		out = append(out, c.Code)
	}
	return out
}

// CategoryCodesOf returns the codes of one kind's categories.
func (t *Taxonomy) CategoryCodesOf(kind string) []string {
	var out []string
	for _, c := range t.Categories {
		if c.Kind == kind {
			out = append(out, c.Code)
		}
	}
	return out
}

// Category returns the category with code.
func (t *Taxonomy) Category(code string) (Category, bool) {
	i := slices.IndexFunc(t.Categories, func(c Category) bool { return c.Code == code })
	if i < 0 {
		return Category{}, false
	}
	return t.Categories[i], true
}

// CheckCategory returns an EINVALID error naming the known categories
// unless code is one of them.
func (t *Taxonomy) CheckCategory(code string) error {
	if _, ok := t.Category(code); !ok {
		return FieldError(EINVALID, "category", "unknown category %q (known: %s)", code, strings.Join(t.CategoryCodes(), ", "))
	}
	return nil
}

// RoleCodes returns the codes of the worker roles, in file order.
func (t *Taxonomy) RoleCodes() []string {
	var out []string
	for _, r := range t.WorkerRoles {
		out = append(out, r.Code)
	}
	return out
}

// WorkerRole returns the worker role with code.
func (t *Taxonomy) WorkerRole(code string) (WorkerRole, bool) {
	i := slices.IndexFunc(t.WorkerRoles, func(r WorkerRole) bool { return r.Code == code })
	if i < 0 {
		return WorkerRole{}, false
	}
	return t.WorkerRoles[i], true
}

// CheckWorker returns an EINVALID error naming the field when w's role is
// not one of the taxonomy's.
func (t *Taxonomy) CheckWorker(w Worker) error {
	if _, ok := t.WorkerRole(w.Role); !ok {
		return FieldError(EINVALID, "role", "unknown worker role %q (known: %s)", w.Role, strings.Join(t.RoleCodes(), ", "))
	}
	return nil
}

// IsChief reports whether workers of role code are chiefs.
func (t *Taxonomy) IsChief(code string) bool {
	r, ok := t.WorkerRole(code)
	return ok && r.Chief
}
