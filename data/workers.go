package data

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Worker is one person on the roster: a grid worker (网格员) or a grid chief
// (网格长). A worker serves the grids whose codes are listed; a code may
// also be an area's, which stands for every grid in that area (a chief
// serving a community). The roster is kept by grid code, so a worker stays
// with a grid across redraws wherever its code survives. Phone numbers are
// personal data: planners and admins only.
type Worker struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Role      string   `json:"role"`  // a Taxonomy worker role
	Phone     string   `json:"phone"` // "" if unknown
	GridCodes []string `json:"grid_codes"`
}

var (
	workerIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	phoneRE    = regexp.MustCompile(`^\+?[0-9][0-9 -]{2,30}$`)
	gridCodeRE = regexp.MustCompile(`^[^\s;]{1,64}$`)
)

// Validate returns an EINVALID *Error naming the first thing wrong with w.
// The role is checked against a Taxonomy (Taxonomy.CheckWorker), which the
// stores do not have.
func (w Worker) Validate() error {
	switch {
	case !workerIDRE.MatchString(w.ID):
		return FieldError(EINVALID, "id", "worker id %q must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", w.ID)
	case strings.TrimSpace(w.Name) == "" || !utf8.ValidString(w.Name) || len(w.Name) > 200:
		return FieldError(EINVALID, "name", "name must be valid UTF-8 text, 1 to 200 bytes")
	case w.Role == "":
		return FieldError(EINVALID, "role", "role is missing")
	case w.Phone != "" && !phoneRE.MatchString(w.Phone):
		return FieldError(EINVALID, "phone", "phone %q is not a phone number (digits, spaces, '-', an optional leading '+')", w.Phone)
	case len(w.GridCodes) == 0:
		return FieldError(EINVALID, "grid_codes", "a worker serves at least one grid code")
	}
	for _, c := range w.GridCodes {
		if !gridCodeRE.MatchString(c) {
			return FieldError(EINVALID, "grid_codes", "grid code %q must be 1 to 64 characters without spaces or ';'", c)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(w.GridCodes)))) != len(w.GridCodes) {
		return FieldError(EINVALID, "grid_codes", "grid codes are listed twice")
	}
	return nil
}

// JoinCodes is how the stores keep grid codes in one text column:
// ';'-separated, as in the roster's CSV.
func JoinCodes(codes []string) string { return strings.Join(codes, ";") }

// SplitCodes is the inverse of JoinCodes.
func SplitCodes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ";")
}

// WorkerColumns are the columns ScanWorker reads, from the workers table.
const WorkerColumns = `id, name, role, phone, grid_codes`

// ScanWorker reads a row of WorkerColumns.
func ScanWorker(scan func(dest ...any) error) (Worker, error) {
	var w Worker
	var codes string
	if err := scan(&w.ID, &w.Name, &w.Role, &w.Phone, &codes); err != nil {
		return Worker{}, err
	}
	w.GridCodes = SplitCodes(codes)
	return w, nil
}

// Public returns w as roles below planner may see it: without the phone.
func (w Worker) Public() Worker {
	w.Phone = ""
	return w
}

// Unstaffed returns the codes of the grids of p that no worker (a chief
// alone does not count) serves, by the grid's own code or the code of an
// area above it; nil when workers is empty. Workers stay with codes, not
// grids, so after a redraw this names the grids whose codes are new.
func Unstaffed(p Plan, areas []Area, workers []Worker, tax *Taxonomy) []string {
	if len(workers) == 0 {
		return nil
	}
	served := map[string]bool{}
	for _, w := range workers {
		if tax.IsChief(w.Role) {
			continue
		}
		for _, c := range w.GridCodes {
			served[c] = true
		}
	}
	parent := map[string]string{}
	for _, a := range areas {
		parent[a.Code] = a.ParentCode
	}
	out := []string{}
	for _, g := range p.Grids {
		ok := served[g.Code]
		seen := map[string]bool{}
		for c := g.ParentCode; !ok && c != "" && !seen[c]; c = parent[c] {
			seen[c] = true
			ok = served[c]
		}
		if !ok {
			out = append(out, g.Code)
		}
	}
	return out
}

// NoteUnstaffed records in p's report the grids no worker serves, with a
// warning naming how many.
func NoteUnstaffed(p *Plan, areas []Area, workers []Worker, tax *Taxonomy) {
	p.Report.WithoutWorker = Unstaffed(*p, areas, workers, tax)
	if n := len(p.Report.WithoutWorker); n > 0 {
		p.Report.Warnings = append(p.Report.Warnings, fmt.Sprintf("%d of %d grids have no worker on the roster (without_worker): assign them before publishing", n, len(p.Grids)))
	}
}
