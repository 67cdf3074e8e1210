package live

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wangge/wangge/data"
)

// Roster is the store's workers, indexed by the codes they serve. It is
// swapped whole when the feed shows a workers change.
type Roster struct {
	List   []data.Worker // by id
	ByID   map[string]int
	byCode map[string][]int // grid or area code → workers serving it, by id
}

// NewRoster indexes workers.
func NewRoster(workers []data.Worker) *Roster {
	list := slices.Clone(workers)
	slices.SortFunc(list, func(a, b data.Worker) int { return strings.Compare(a.ID, b.ID) })
	r := &Roster{List: list, ByID: make(map[string]int, len(list)), byCode: map[string][]int{}}
	for i, w := range list {
		r.ByID[w.ID] = i
		for _, c := range w.GridCodes {
			r.byCode[c] = append(r.byCode[c], i)
		}
	}
	return r
}

// Worker returns the worker with id.
func (r *Roster) Worker(id string) (data.Worker, bool) {
	if r == nil {
		return data.Worker{}, false
	}
	i, ok := r.ByID[id]
	if !ok {
		return data.Worker{}, false
	}
	return r.List[i], true
}

// Staff is who serves one grid: its workers (not chiefs) and its chief.
type Staff struct {
	Workers []data.Worker
	Chief   *data.Worker
}

// For returns the staff of the grid with code gridCode whose area chain
// (its parent area, then that area's parent, …) is areas. A worker listed
// by the grid's code or by one of its areas' codes serves it; the chief
// is the nearest: one listed by the grid itself before one listed by its
// area. Chiefs are told from workers by their role in the taxonomy.
func (r *Roster) For(tax *data.Taxonomy, gridCode string, areas []string) Staff {
	var st Staff
	if r == nil {
		return st
	}
	seen := map[int]bool{}
	for _, code := range append([]string{gridCode}, areas...) {
		for _, i := range r.byCode[code] {
			if seen[i] {
				continue
			}
			seen[i] = true
			w := r.List[i]
			switch {
			case !tax.IsChief(w.Role):
				st.Workers = append(st.Workers, w)
			case st.Chief == nil:
				st.Chief = &w
			}
		}
	}
	return st
}

// Assignee is whom a new event in the grid goes to: its first worker, or
// with none its chief, or nobody ("").
func (st Staff) Assignee() string {
	switch {
	case len(st.Workers) > 0:
		return st.Workers[0].ID
	case st.Chief != nil:
		return st.Chief.ID
	}
	return ""
}

// rosterState holds the roster and the published plan's grids rendered
// with their staff for locate. Both are rebuilt when the plan, the areas
// or the roster change.
type rosterState struct {
	mu      sync.Mutex // one rebuild at a time
	roster  atomic.Pointer[Roster]
	staffed atomic.Pointer[Staffed]
}

// Staffed is the published plan with each grid's staff, rendered as
// locate shows the grid: Public for roles that may not see phone numbers,
// Private for planners and admins. Plan and rendering are one pair, so a
// lookup never mixes one plan's grid index with another's rendering.
type Staffed struct {
	Plan    *Plan
	Staff   []Staff
	Public  [][]byte
	Private [][]byte
}

func (s *Service) reloadRoster(ctx context.Context) error {
	list, err := s.store.Workers(ctx)
	if err != nil {
		return err
	}
	s.roster.roster.Store(NewRoster(list))
	return nil
}

// restaff renders the published plan's grids with their staff again: once
// after the roster, the areas or the plan were reloaded (Load, and a batch
// that changed any of them), not once per reload.
func (s *Service) restaff() {
	s.roster.mu.Lock()
	defer s.roster.mu.Unlock()
	pp := s.published.Load()
	if pp == nil {
		s.roster.staffed.Store(nil)
		return
	}
	r, as := s.roster.roster.Load(), s.areas.Load()
	st := &Staffed{Plan: pp, Staff: make([]Staff, len(pp.Plan.Grids)),
		Public: make([][]byte, len(pp.Plan.Grids)), Private: make([][]byte, len(pp.Plan.Grids))}
	for i, g := range pp.Plan.Grids {
		st.Staff[i] = r.For(s.cfg.Taxonomy, g.Code, as.chainCodes(g.ParentCode))
		st.Public[i] = renderGrid(pp.Plan, i, st.Staff[i], false)
		st.Private[i] = renderGrid(pp.Plan, i, st.Staff[i], true)
	}
	s.roster.staffed.Store(st)
}

// Roster returns the roster as the views have it.
func (s *Service) Roster() *Roster { return s.roster.roster.Load() }

// Staffed returns the published plan with its grids' staff; nil when no
// plan is published.
func (s *Service) Staffed() *Staffed { return s.roster.staffed.Load() }

// chainCodes returns the codes of the area with code and its ancestors,
// nearest first.
func (as *Areas) chainCodes(code string) []string {
	var out []string
	if as == nil {
		return out
	}
	seen := map[int]bool{}
	for i, ok := as.ByCode[code]; ok && !seen[i]; i, ok = as.ByCode[as.List[i].ParentCode] {
		seen[i] = true
		out = append(out, as.List[i].Code)
	}
	return out
}

// CreateWorker adds a worker to the roster for actor, audited, once its
// role is one of the taxonomy's.
func (s *Service) CreateWorker(ctx context.Context, actor string, w data.Worker) (Written[data.Worker], error) {
	if err := w.Validate(); err != nil {
		return Written[data.Worker]{}, err
	}
	if err := s.cfg.Taxonomy.CheckWorker(w); err != nil {
		return Written[data.Worker]{}, err
	}
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		if err := tx.AddWorker(ctx, w); err != nil {
			return nil, err
		}
		return auditWorker("worker.create", w.ID, nil, w), nil
	})
	if err != nil {
		return Written[data.Worker]{}, err
	}
	return Written[data.Worker]{w, s.shown(ctx, seq)}, nil
}

// UpdateWorker changes worker id with change, holding the row as
// UpdateHazard does; the id itself cannot change.
func (s *Service) UpdateWorker(ctx context.Context, actor, id, ifMatch string, change func(*data.Worker) error) (Written[data.Worker], error) {
	var w data.Worker
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		before, err := holdWorker(ctx, tx, id, ifMatch)
		if err != nil {
			return nil, err
		}
		w = before
		w.GridCodes = slices.Clone(before.GridCodes)
		if err := change(&w); err != nil {
			return nil, err
		}
		if w.ID != id {
			return nil, data.FieldError(data.EINVALID, "id", "a worker's id cannot change (it is %q); delete and create instead", id)
		}
		if err := w.Validate(); err != nil {
			return nil, err
		}
		if err := s.cfg.Taxonomy.CheckWorker(w); err != nil {
			return nil, err
		}
		if err := tx.UpdateWorker(ctx, w); err != nil {
			return nil, err
		}
		return auditWorker("worker.update", id, before, w), nil
	})
	if err != nil {
		return Written[data.Worker]{}, err
	}
	return Written[data.Worker]{w, s.shown(ctx, seq)}, nil
}

// DeleteWorker removes worker id from the roster. Events assigned to the
// worker keep the assignee as history; the dashboard shows them as
// assigned to someone no longer on the roster, for a planner to reassign.
func (s *Service) DeleteWorker(ctx context.Context, actor, id, ifMatch string) (int64, error) {
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		before, err := holdWorker(ctx, tx, id, ifMatch)
		if err != nil {
			return nil, err
		}
		if err := tx.DeleteWorker(ctx, id); err != nil {
			return nil, err
		}
		return auditWorker("worker.delete", id, before, nil), nil
	})
	if err != nil {
		return 0, err
	}
	return s.shown(ctx, seq), nil
}

// holdWorker reads worker id inside tx, holding the row, and checks
// ifMatch against it.
func holdWorker(ctx context.Context, tx data.Tx, id, ifMatch string) (data.Worker, error) {
	return holdRecord(ctx, id, ifMatch, "workers/"+id, tx.WorkerForUpdate, WorkerETag)
}

// holdRecord reads record id with forUpdate (inside a transaction, holding
// its row until the end) and checks ifMatch against its entity tag, so a
// change made since the client read it is refused before anything is
// written. what names the record in the 412.
func holdRecord[T any](ctx context.Context, id, ifMatch, what string, forUpdate func(context.Context, string) (T, error), etag func(T) string) (T, error) {
	r, err := forUpdate(ctx, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return r, preconditionOf(ifMatch, etag(r), what)
}

// WorkerETag is the entity tag of a worker as stored.
func WorkerETag(w data.Worker) string {
	return data.ETagOf("w", w.ID, w.Name, w.Role, w.Phone, data.JoinCodes(w.GridCodes))
}

func auditWorker(action, id string, before, after any) []data.AuditEntry {
	e := audit(action, "workers", 0, before, after)
	e[0].Target = "workers/" + id
	return e
}
