package live

import (
	"context"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// Who is the caller of an event write: how the audit log and the history
// name them, their role, and the worker their key is tied to ("" if none).
type Who struct {
	Actor  string
	Role   data.Role
	Worker string
}

// systemActor names the steps wangge makes itself (auto-assignment).
const systemActor = "system"

// ReportEvent stores a new event (a hazard or dispute report) for who and
// assigns it: to the first worker of the grid its point falls in, or with
// none to the grid's chief, or to nobody (it then stays reported and shows
// as unassigned). Its due time comes from its category's deadline, its
// responsible unit is its grid (or the smallest area holding it, or the
// county). The history records the report and, when made, the assignment
// by "system"; all in one transaction.
func (s *Service) ReportEvent(ctx context.Context, who Who, h data.Hazard) (Written[data.Hazard], error) {
	cat, ok := s.cfg.Taxonomy.Category(h.Category)
	if !ok {
		return Written[data.Hazard]{}, s.cfg.Taxonomy.CheckCategory(h.Category)
	}
	if h.Severity == 0 {
		h.Severity = cat.Severity
	}
	h.Status = data.StatusReported
	h.DueAt = h.ReportedAt.Add(cat.Deadline())
	h.ResolvedAt, h.ClosedAt = time.Time{}, time.Time{}
	var assignee string
	h.RespCode, h.RespLevel, assignee = s.responsibleAt(h.Point)
	seq, err := data.Audited(ctx, s.store, who.Actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		now := time.Now().UTC()
		stored := h
		if assignee != "" {
			stored.Status, stored.Assignee = data.StatusAssigned, assignee
		}
		fid, err := tx.AddHazard(ctx, stored)
		if err != nil {
			return nil, err
		}
		stored.FID = fid
		steps := []data.EventStep{{FID: fid, At: now, Actor: who.Actor, To: data.StatusReported, RespCode: h.RespCode, Note: h.Note}}
		if assignee != "" {
			steps = append(steps, data.EventStep{FID: fid, At: now, Actor: systemActor, From: data.StatusReported, To: data.StatusAssigned,
				Assignee: assignee, RespCode: h.RespCode, Note: "assigned to the worker of the grid"})
		}
		for _, st := range steps {
			if _, err := tx.AddEventStep(ctx, st); err != nil {
				return nil, err
			}
		}
		h = stored
		return audit("hazard.create", data.LayerHazards, fid, nil, stored), nil
	})
	if err != nil {
		return Written[data.Hazard]{}, err
	}
	return Written[data.Hazard]{h, s.shown(ctx, seq)}, nil
}

// responsibleAt returns the unit responsible for an event at p and whom it
// is assigned to: the published grid holding p with its staff's assignee,
// or else the deepest area holding p, or else the county.
func (s *Service) responsibleAt(p orb.Point) (code string, level int, assignee string) {
	as := s.areas.Load()
	if st := s.Staffed(); st != nil {
		if gi, ok := st.Plan.Locator.Locate(p); ok {
			g := st.Plan.Plan.Grids[gi]
			return g.Code, as.levelOf(g.ParentCode) + 1, st.Staff[gi].Assignee()
		}
	}
	if i, ok := as.Deepest(p); ok {
		return as.List[i].Code, as.List[i].Level, ""
	}
	return "", data.RespCounty, ""
}

// levelOf returns the level of the area with code, 0 when there is none.
func (as *Areas) levelOf(code string) int {
	if as == nil {
		return 0
	}
	if i, ok := as.ByCode[code]; ok {
		return as.List[i].Level
	}
	return 0
}

// Move is a transition asked of an event: the state to enter, a note for
// the history, and for "assigned" the worker (nil keeps the assignee).
type Move struct {
	To       data.Status
	Note     string
	Assignee *string
}

// UpdateEvent changes event fid for who in one transaction that holds the
// row: change (may be nil) edits its fields, then move (may be nil) makes
// a transition the state machine allows for who's role, recorded in the
// history. A field key may only move events assigned to its worker, and
// only through the states data.MayEnter gives it; anything else is
// EFORBIDDEN. ifMatch is checked as UpdateHazard does.
func (s *Service) UpdateEvent(ctx context.Context, who Who, fid int64, ifMatch string, change func(*data.Hazard) error, move *Move) (Written[data.Hazard], error) {
	var h data.Hazard
	seq, err := data.Audited(ctx, s.store, who.Actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		before, err := tx.HazardForUpdate(ctx, fid)
		if err != nil {
			return nil, err
		}
		if err := precondition(ifMatch, before.ETag(), data.LayerHazards, fid); err != nil {
			return nil, err
		}
		h = before
		if change != nil {
			if err := change(&h); err != nil {
				return nil, err
			}
			if h.Category != before.Category {
				if err := s.cfg.Taxonomy.CheckCategory(h.Category); err != nil {
					return nil, err
				}
			}
		}
		h.FID = fid
		action := "hazard.update"
		if move != nil {
			step, err := s.move(&h, who, *move)
			if err != nil {
				return nil, err
			}
			if _, err := tx.AddEventStep(ctx, step); err != nil {
				return nil, err
			}
			action = "hazard." + string(move.To)
		}
		if err := h.Validate(); err != nil {
			return nil, err
		}
		if err := tx.UpdateHazard(ctx, h); err != nil {
			return nil, err
		}
		return audit(action, data.LayerHazards, fid, before, h), nil
	})
	if err != nil {
		return Written[data.Hazard]{}, err
	}
	return Written[data.Hazard]{h, s.shown(ctx, seq)}, nil
}

// move applies m to h for who and returns the history step.
func (s *Service) move(h *data.Hazard, who Who, m Move) (data.EventStep, error) {
	from := h.Status
	mine := who.Worker != "" && h.Assignee == who.Worker
	if _, err := data.ParseStatus(string(from)); err != nil {
		// A status no state has, written by another tool (GDAL, QGIS,
		// psql): the state machine has no moves from it, so a planner
		// repairs it by setting any state; the history keeps what it was.
		if !who.Role.Allows(data.RolePlanner) {
			return data.EventStep{}, data.FieldError(data.EFORBIDDEN, "status", "event %d has the status %q, which is no state (written by another tool); a planner sets a valid one", h.FID, from)
		}
		if _, err := data.ParseStatus(string(m.To)); err != nil {
			return data.EventStep{}, err
		}
	} else if err := data.CheckTransition(who.Role, from, m.To, mine); err != nil {
		return data.EventStep{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if m.Assignee != nil {
		if m.To != data.StatusAssigned {
			return data.EventStep{}, data.FieldError(data.EINVALID, "assignee", "an assignee is given only with status assigned, not %s", m.To)
		}
		if _, ok := s.Roster().Worker(*m.Assignee); !ok {
			return data.EventStep{}, data.FieldError(data.EINVALID, "assignee", "no worker %q on the roster", *m.Assignee)
		}
		h.Assignee = *m.Assignee
	}
	switch m.To {
	case data.StatusAssigned:
		if h.Assignee == "" {
			return data.EventStep{}, data.FieldError(data.EINVALID, "assignee", "status assigned needs an assignee: give properties.assignee, a worker id")
		}
	case data.StatusEscalated:
		code, level, ok := s.parentOf(h.RespCode, h.RespLevel)
		if !ok {
			return data.EventStep{}, data.FieldError(data.ECONFLICT, "status", "event %d is already the county's: there is no level above to escalate to", h.FID)
		}
		h.RespCode, h.RespLevel = code, level
	case data.StatusResolved:
		h.ResolvedAt = now
	case data.StatusClosed:
		h.ClosedAt = now
	case data.StatusReopened:
		h.ResolvedAt, h.ClosedAt = time.Time{}, time.Time{}
	}
	h.Status = m.To
	if m.Note != "" {
		h.Note = m.Note
	}
	return data.EventStep{FID: h.FID, At: now, Actor: who.Actor, From: from, To: m.To, Assignee: h.Assignee, RespCode: h.RespCode, Note: m.Note}, nil
}

// parentOf returns the unit above the responsible unit code at level: a
// grid's area, an area's parent, then the county; false at the county.
func (s *Service) parentOf(code string, level int) (string, int, bool) {
	if level == data.RespCounty {
		return "", 0, false
	}
	as := s.areas.Load()
	if st := s.Staffed(); st != nil {
		if gi, ok := st.Plan.ByCode[code]; ok && level > as.levelOf(st.Plan.Plan.Grids[gi].ParentCode) {
			p := st.Plan.Plan.Grids[gi].ParentCode
			return p, as.levelOf(p), true
		}
	}
	if as != nil {
		if i, ok := as.ByCode[code]; ok {
			if p, ok := as.ByCode[as.List[i].ParentCode]; ok {
				return as.List[p].Code, as.List[p].Level, true
			}
		}
	}
	return "", data.RespCounty, true
}

// EventHistory returns the steps of event fid, oldest first, and the
// event; ENOTFOUND when there is no such event.
func (s *Service) EventHistory(ctx context.Context, fid int64) (data.Hazard, []data.EventStep, error) {
	ctx = data.ReadAtLeast(ctx, s.Version())
	h, err := s.store.Hazard(ctx, fid)
	if err != nil {
		return data.Hazard{}, nil, err
	}
	steps, err := s.store.EventHistory(ctx, fid)
	return h, steps, err
}
