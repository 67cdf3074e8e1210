package live

import (
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// Notifications (data/rules.go): the deployment's rules judged on a new
// event as the stream and the webhooks hand it on. They are derived from
// the feed entry, the rules and the views, not stored: a client resuming
// after the entry's Seq has had them, one replaying it gets them again.

// Notification is what one rule says about one new event.
type Notification struct {
	Seq      int64  `json:"seq"`
	Rule     string `json:"rule"`
	Event    int64  `json:"event"` // the hazard's fid
	Category string `json:"category"`
	// Grid is the published grid the event lies in, "" outside every grid.
	Grid string `json:"grid"`
	// Workers are the ids of the workers to notify.
	Workers []string `json:"workers"`
}

// Notifications returns what the rules say about feed entry c: something
// only for a new hazard the views still hold.
func (s *Service) Notifications(c data.Change) []Notification {
	rules := s.cfg.Rules
	if rules == nil || len(rules.Rules) == 0 || c.Layer != string(data.LayerHazards) || c.Op != data.OpInsert {
		return nil
	}
	h, ok := s.Hazard(c.FID)
	if !ok {
		return nil
	}
	var staff Staff
	grid := ""
	if st := s.Staffed(); st != nil {
		if gi, ok := st.Plan.Locator.Locate(h.Point); ok {
			staff, grid = st.Staff[gi], st.Plan.Plan.Grids[gi].Code
		}
	}
	var out []Notification
	for _, r := range rules.Rules {
		if !r.Takes(h.Category) || r.Area != "" && !s.InArea(h.Point, r.Area) {
			continue
		}
		n := Notification{Seq: c.Seq, Rule: r.Name, Event: h.FID, Category: h.Category, Grid: grid, Workers: []string{}}
		for _, whom := range r.Notify {
			switch {
			case whom == data.NotifyWorkers:
				for _, w := range staff.Workers {
					n.Workers = append(n.Workers, w.ID)
				}
			case whom == data.NotifyChief && staff.Chief != nil:
				n.Workers = append(n.Workers, staff.Chief.ID)
			}
		}
		out = append(out, n)
	}
	return out
}

// InArea reports whether p lies in the area with code: in its outline, or
// in a published grid nested in it (grids are drawn from cells and may
// reach a little past their area's outline).
func (s *Service) InArea(p orb.Point, code string) bool {
	as := s.Areas()
	if as == nil {
		return false
	}
	i, ok := as.ByCode[code]
	if !ok {
		return false
	}
	if lvl := as.List[i].Level - 1; lvl >= 0 && lvl < len(as.Levels) && as.Levels[lvl] != nil && as.Levels[lvl].Contains(i, p) {
		return true
	}
	if pp := s.Published(); pp != nil {
		if gi, ok := pp.Locator.Locate(p); ok {
			return as.Nested(pp.Plan.Grids[gi].ParentCode, code)
		}
	}
	return false
}

// Nested reports whether the area with code is ancestor or nested in it.
func (as *Areas) Nested(code, ancestor string) bool {
	if as == nil {
		return false
	}
	// Bounded: a parent chain that loops (bad data) must not hang the
	// follower.
	for range 64 {
		if code == ancestor {
			return true
		}
		i, ok := as.ByCode[code]
		if !ok || as.List[i].ParentCode == "" {
			return false
		}
		code = as.List[i].ParentCode
	}
	return false
}
