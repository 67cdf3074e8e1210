package api

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// Per-grid statistics for dashboards and grid offices: households, the
// figures of the event loop (事件闭环: open, overdue, closure and on-time
// rates, times to close, repeats, counts by kind, category and status) and
// camera coverage, over the published plan. The figures are computed in
// live (Service.GridStats); this file only reads the query and shapes the
// answer.

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

// hazardStats are the figures of a grid's events (hazards and disputes,
// all stored as hazards), as live.EventFigures defines them. Rates are
// rounded to 4 decimals, hours to 2.
type hazardStats struct {
	Reported int `json:"reported"`
	// Resolved counts the events handled to the end (办结): resolved,
	// verified or closed. The name is the one clients of the three-state
	// workflow know.
	Resolved   int            `json:"resolved"`
	Rejected   int            `json:"rejected"`
	Open       int            `json:"open"`
	Overdue    int            `json:"overdue"`
	Repeat     int            `json:"repeat"`
	Closure    *float64       `json:"closure_rate"`
	OnTime     *float64       `json:"on_time_rate"`
	MedianH    *float64       `json:"median_hours_to_close"`
	P90H       *float64       `json:"p90_hours_to_close"`
	ByKind     map[string]int `json:"by_kind"`
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

func newHazardStats(f live.EventFigures) hazardStats {
	h := hazardStats{Reported: f.Reported, Resolved: f.Done, Rejected: f.Rejected, Open: f.Open, Overdue: f.Overdue, Repeat: f.Repeat,
		Closure: roundPtr(f.ClosureRate, 1e4), OnTime: roundPtr(f.OnTimeRate, 1e4),
		MedianH: roundPtr(f.MedianHoursToClose, 100), P90H: roundPtr(f.P90HoursToClose, 100),
		ByKind: f.ByKind, ByCategory: f.ByCategory, ByStatus: make(map[string]int, len(f.ByStatus))}
	for st, n := range f.ByStatus {
		h.ByStatus[string(st)] = n
	}
	return h
}

// newGridStats is the answer's form of st, the statistics of grid g (nil
// for the total).
func newGridStats(g *data.Grid, st live.GridStats) gridStats {
	out := gridStats{Households: st.Households, Hazards: newHazardStats(st.Events)}
	if g != nil {
		out.Code, out.Name, out.ParentCode, out.Worker = g.Code, g.Name, g.ParentCode, g.Worker
	}
	if c := st.Cameras; c != nil {
		out.Cameras = &cameraStats{Online: c.Online, Total: c.Total}
	}
	if c := st.Coverage; c != nil {
		out.Coverage = &gridCovStat{HouseholdsShare: c.HouseholdsShare, AreaShare: c.AreaShare, HouseholdsUncovered: c.HouseholdsUncovered}
	}
	return out
}

// parseStatsQuery reads the reporting period, the events kept and whether
// to include coverage. Camera counts and coverage derive from camera
// positions, which only planners and admins may see (docs/SECURITY.md):
// other roles get neither.
func parseStatsQuery(v url.Values, p principal) (live.StatsQuery, error) {
	q := live.StatsQuery{FigureQuery: live.FigureQuery{Now: time.Now()}, Cameras: p.role.Allows(data.RolePlanner)}
	var err error
	if q.Since, q.Until, err = parsePeriod(v); err != nil {
		return q, err
	}
	// Any value is accepted: one the taxonomy in use does not have counts
	// nothing, as every read filter does.
	q.Category, q.Kind = v.Get("category"), v.Get("kind")
	if q.Coverage, err = boolParam(v, "coverage", true); err != nil {
		return q, err
	}
	return q, nil
}

func (s *Server) publishedOr404() (*live.Plan, error) {
	pp := s.live.Published()
	if pp == nil {
		return nil, data.Errorf(data.ENOTFOUND, "no published plan: statistics are per grid of the published plan (POST /v1/plans, then publish)")
	}
	return pp, nil
}

func (s *Server) gridStatsOne(w http.ResponseWriter, r *http.Request) error {
	q, err := parseStatsQuery(r.URL.Query(), principalOf(r.Context()))
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
	q.Grids = []int{i}
	st, _, err := s.live.GridStats(r.Context(), pp, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", newGridStats(&pp.Plan.Grids[i], st[0]))
}

func (s *Server) gridStatsAll(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q, err := parseStatsQuery(v, principalOf(r.Context()))
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
	st, total, err := s.live.GridStats(r.Context(), pp, q)
	if err != nil {
		return err
	}
	out := make([]gridStats, len(st))
	for i := range st {
		out[i] = newGridStats(&pp.Plan.Grids[i], st[i])
	}
	period := map[string]any{"since": nil, "until": nil}
	if !q.Since.IsZero() {
		period["since"] = q.Since.UTC().Format(time.RFC3339)
	}
	if !q.Until.IsZero() {
		period["until"] = q.Until.UTC().Format(time.RFC3339)
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"plan_id": pp.Plan.ID, "period": period, "as_of": q.Now.UTC().Format(time.RFC3339), "total": newGridStats(nil, total),
		"numberMatched": len(out), "grids": page(out, limit, offset),
	})
}

// statsFigures describes the figures of /v1/grids/stats in its OpenAPI
// entry; live/stats.go holds the same definitions.
const statsFigures = "Per grid and in total, over the events (hazards and disputes) reported in [since, until) inside the grid: " +
	"reported; by_kind, by_category (every category of the taxonomy in use) and by_status (every state); " +
	"open (neither done nor rejected); overdue (open, and as_of is after its due time: due_at, or for events without one " +
	"reported_at plus its category's deadline_hours in the taxonomy in use); resolved (done, 办结: resolved, verified or closed); rejected; " +
	"closure_rate = resolved / (reported − rejected), null when that is 0; " +
	"on_time_rate = done events resolved at or before their due time / done events with a resolved_at, null when none; " +
	"median_hours_to_close and p90_hours_to_close: percentiles (linear interpolation, as PostgreSQL's percentile_cont) of " +
	"resolved_at − reported_at in hours over done events with a resolved_at, null when none; " +
	"repeat: events that repeat a done event of the same category at most 100 m away (great-circle), reported no earlier than " +
	"that event's resolved_at and at most 90 days after it (the done event may be in another grid or before since). " +
	"Rates are rounded to 4 decimals, hours to 2"

func (s *Server) statsRoutes() []route {
	cats := s.taxonomyInUse().CategoryCodes()
	kinds := s.taxonomyInUse().KindCodes()
	period := []param{
		queryParam("since", "events reported at or after (date or RFC 3339 time)", map[string]any{"type": "string", "format": "date-time"}),
		queryParam("until", "events reported before (date or RFC 3339 time)", map[string]any{"type": "string", "format": "date-time"}),
		queryParam("category", "count only the events of this category of the taxonomy in use ("+strings.Join(cats, ", ")+"); another value counts none",
			map[string]any{"type": "string", "enum": cats}),
		queryParam("kind", "count only the events of this kind ("+strings.Join(kinds, ", ")+"); another value counts none",
			map[string]any{"type": "string", "enum": kinds}),
		queryParam("coverage", "include camera coverage (default true; its first computation after a camera change takes longest)", map[string]any{"type": "boolean", "default": true}),
	}
	return []route{
		{method: "GET", path: "/v1/grids/stats", role: data.RoleViewer, id: "gridStatsAll", tag: "Statistics",
			summary: "Statistics of every grid of the published plan: households; events open, overdue, resolved, rejected, repeated; " +
				"closure rate (resolved / (reported − rejected)), on-time rate, median and p90 hours to close; cameras, coverage",
			params:    append(period, pagingParams("grids", 1000)...),
			responses: withProblems(map[int]string{200: "per-grid statistics and their total. " + statsFigures, 404: "no published plan"}),
			produces:  "application/json", handler: s.gridStatsAll},
		{method: "GET", path: "/v1/grids/{code}/stats", role: data.RoleViewer, id: "gridStats", tag: "Statistics",
			summary:   "Statistics of one grid of the published plan, as /v1/grids/stats has them",
			params:    append([]param{pathParam("code", "grid code")}, period...),
			responses: withProblems(map[int]string{200: "the grid's statistics. " + statsFigures}),
			produces:  "application/json", handler: s.gridStatsOne},
	}
}
