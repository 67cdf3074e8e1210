package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// Per-grid statistics for dashboards and grid offices: households, hazards
// by category and status, the closure rate (resolved / reported, the figure
// grid offices report) and camera coverage, over the published plan.

// gridStats is one grid's statistics.
type gridStats struct {
	Code       string       `json:"code,omitempty"`
	Name       string       `json:"name,omitempty"`
	ParentCode string       `json:"parent_code,omitempty"`
	Worker     string       `json:"worker,omitempty"`
	Households int          `json:"households"` // as the plan counted them
	Hazards    hazardStats  `json:"hazards"`
	Cameras    *cameraStats `json:"cameras,omitempty"` // planners and admins only, as cameras are
	Coverage   *gridCovStat `json:"coverage,omitempty"`
}

type hazardStats struct {
	Reported   int            `json:"reported"`
	Resolved   int            `json:"resolved"`
	Closure    *float64       `json:"closure_rate"` // resolved / reported; null when none reported
	ByCategory map[string]int `json:"by_category"`
	ByStatus   map[string]int `json:"by_status"`
}

type cameraStats struct {
	Online int `json:"online"`
	Total  int `json:"total"`
}

type gridCovStat struct {
	HouseholdsShare     float64 `json:"households_share"`
	AreaShare           float64 `json:"area_share"`
	HouseholdsUncovered int     `json:"households_uncovered"`
}

func newHazardStats() hazardStats {
	h := hazardStats{ByCategory: map[string]int{}, ByStatus: map[string]int{}}
	for _, c := range data.HazardCategories {
		h.ByCategory[c] = 0
	}
	for _, st := range data.HazardStatuses {
		h.ByStatus[st] = 0
	}
	return h
}

func (h *hazardStats) add(category, status string) {
	h.Reported++
	h.ByCategory[category]++
	h.ByStatus[status]++
	if status == "resolved" {
		h.Resolved++
	}
}

func (h *hazardStats) close() {
	if h.Reported > 0 {
		r := round4(float64(h.Resolved) / float64(h.Reported))
		h.Closure = &r
	}
}

// statsQuery is the reporting period and whether to include coverage.
type statsQuery struct {
	since, until time.Time // reported_at in [since, until); zero = open
	coverage     bool
}

func parseStatsQuery(v url.Values) (statsQuery, error) {
	q := statsQuery{coverage: true}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.since}, {"until", &q.until}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, s); err != nil {
				return q, invalid("parameter %s must be a date (2025-01-01) or an RFC 3339 time, got %q", p.name, s)
			}
		}
		*p.dst = t
	}
	if !q.since.IsZero() && !q.until.IsZero() && !q.since.Before(q.until) {
		return q, invalid("parameter since (%s) must be before until (%s)", v.Get("since"), v.Get("until"))
	}
	switch c := strings.ToLower(v.Get("coverage")); c {
	case "", "true", "1":
	case "false", "0":
		q.coverage = false
	default:
		return q, invalid("parameter coverage must be true or false, got %q", c)
	}
	return q, nil
}

func (q statsQuery) inPeriod(t time.Time) bool {
	return (q.since.IsZero() || !t.Before(q.since)) && (q.until.IsZero() || t.Before(q.until))
}

// gridStatsFor computes the statistics of the grids with the given plan
// indexes (all when idx is nil) and their total.
//
// Camera counts and coverage derive from camera positions, which only
// planners and admins may see (docs/SECURITY.md): other roles get neither.
func (s *Server) gridStatsFor(ctx context.Context, pp *live.Plan, idx []int, q statsQuery) ([]gridStats, gridStats, error) {
	cameras := principalOf(ctx).role.Allows(data.RolePlanner)
	q.coverage = q.coverage && cameras
	a := s.live.GridAssignment(pp)
	var cov *live.Coverage
	if q.coverage {
		var err error
		if cov, err = s.live.Coverage(ctx); err != nil {
			return nil, gridStats{}, err
		}
		if cov.Plan != pp { // published again meanwhile: answer from one plan
			return nil, gridStats{}, data.Errorf(data.EUNAVAILABLE, "the published plan changed during the request; retry")
		}
	}
	if idx == nil {
		idx = make([]int, len(pp.Plan.Grids))
		for i := range idx {
			idx[i] = i
		}
	}
	pos := make(map[int]int, len(idx)) // plan index → position in out
	out := make([]gridStats, len(idx))
	for k, i := range idx {
		g := pp.Plan.Grids[i]
		pos[i] = k
		out[k] = gridStats{Code: g.Code, Name: g.Name, ParentCode: g.ParentCode, Worker: g.Worker, Households: g.Households,
			Hazards: newHazardStats()}
		if cameras {
			out[k].Cameras = &cameraStats{Online: a.Cameras[i].Online, Total: a.Cameras[i].Total}
		}
		if cov != nil {
			gc := cov.Grids[i]
			out[k].Coverage = &gridCovStat{HouseholdsShare: gc.HouseholdsShare, AreaShare: gc.AreaShare, HouseholdsUncovered: gc.HouseholdsUncovered}
		}
	}
	total := gridStats{Hazards: newHazardStats()}
	if cameras {
		total.Cameras = &cameraStats{}
	}
	for _, h := range a.Hazards {
		k, ok := pos[h.Grid]
		if !ok || !q.inPeriod(h.ReportedAt) {
			continue
		}
		out[k].Hazards.add(h.Category, h.Status)
		total.Hazards.add(h.Category, h.Status)
	}
	var covHH, covHHCovered int
	var covArea, covAreaCovered float64
	for k, i := range idx {
		out[k].Hazards.close()
		total.Households += out[k].Households
		if cameras {
			total.Cameras.Online += out[k].Cameras.Online
			total.Cameras.Total += out[k].Cameras.Total
		}
		if cov != nil {
			gc := cov.Grids[i]
			covHH += gc.Households
			covHHCovered += gc.HouseholdsCovered
			covArea += gc.AreaM2
			covAreaCovered += gc.CoveredM2
		}
	}
	total.Hazards.close()
	if cov != nil {
		total.Coverage = &gridCovStat{HouseholdsUncovered: covHH - covHHCovered}
		if covHH > 0 {
			total.Coverage.HouseholdsShare = round4(float64(covHHCovered) / float64(covHH))
		}
		if covArea > 0 {
			total.Coverage.AreaShare = round4(covAreaCovered / covArea)
		}
	}
	return out, total, nil
}

func (s *Server) publishedOr404() (*live.Plan, error) {
	pp := s.live.Published()
	if pp == nil {
		return nil, data.Errorf(data.ENOTFOUND, "no published plan: statistics are per grid of the published plan (POST /v1/plans, then publish)")
	}
	return pp, nil
}

func (s *Server) gridStatsOne(w http.ResponseWriter, r *http.Request) error {
	q, err := parseStatsQuery(r.URL.Query())
	if err != nil {
		return err
	}
	pp, err := s.publishedOr404()
	if err != nil {
		return err
	}
	code := mux.Vars(r)["code"]
	i, ok := pp.ByCode[code]
	if !ok {
		return data.Errorf(data.ENOTFOUND, "no grid %q in the published plan %d", code, pp.Plan.ID)
	}
	out, _, err := s.gridStatsFor(r.Context(), pp, []int{i}, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", out[0])
}

func (s *Server) gridStatsAll(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q, err := parseStatsQuery(v)
	if err != nil {
		return err
	}
	limit, offset, err := parsePage(v, 1000, maxLimit, false)
	if err != nil {
		return err
	}
	pp, err := s.publishedOr404()
	if err != nil {
		return err
	}
	out, total, err := s.gridStatsFor(r.Context(), pp, nil, q)
	if err != nil {
		return err
	}
	period := map[string]any{"since": nil, "until": nil}
	if !q.since.IsZero() {
		period["since"] = q.since.UTC().Format(time.RFC3339)
	}
	if !q.until.IsZero() {
		period["until"] = q.until.UTC().Format(time.RFC3339)
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"plan_id": pp.Plan.ID, "period": period, "total": total,
		"numberMatched": len(out), "grids": page(out, limit, offset),
	})
}

func (s *Server) statsRoutes() []route {
	period := []param{
		queryParam("since", "hazards reported at or after (date or RFC 3339 time)", map[string]any{"type": "string", "format": "date-time"}),
		queryParam("until", "hazards reported before (date or RFC 3339 time)", map[string]any{"type": "string", "format": "date-time"}),
		queryParam("coverage", "include camera coverage (default true; its first computation after a camera change takes longest)", map[string]any{"type": "boolean", "default": true}),
	}
	return []route{
		{method: "GET", path: "/v1/grids/stats", role: data.RoleViewer, id: "gridStatsAll", tag: "Statistics",
			summary:   "Statistics of every grid of the published plan: households, hazards by category and status, closure rate (resolved / reported), cameras, coverage",
			params:    append(period, pagingParams("grids", 1000)...),
			responses: withProblems(map[int]string{200: "per-grid statistics and their total", 404: "no published plan"}),
			produces:  "application/json", handler: s.gridStatsAll},
		{method: "GET", path: "/v1/grids/{code}/stats", role: data.RoleViewer, id: "gridStats", tag: "Statistics",
			summary:   "Statistics of one grid of the published plan",
			params:    append([]param{pathParam("code", "grid code")}, period...),
			responses: withProblems(map[int]string{200: "the grid's statistics"}),
			produces:  "application/json", handler: s.gridStatsOne},
	}
}
