package api

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// Rollups (GET /v1/stats): the figures of the event loop summed from the
// grids up the area tree (层层汇总), by area, category, month or week, with
// the previous period beside each row, as JSON or as a CSV that Excel
// opens with its Chinese headers; grid rows carry their risk level. The
// figures are computed in live (GridAssignment.Rollup, Risk); this file
// holds the route and shapes the answer, rollups_query.go reads the query
// and rollups_csv.go writes the CSV.

// rollupFigures is the JSON of live.RollupFigures: rates rounded to 4
// decimals, hours and per_1000_households to 2.
type rollupFigures struct {
	Since       *string  `json:"since"`
	Until       *string  `json:"until"`
	Reported    int      `json:"reported"`
	Closed      int      `json:"closed"`
	Rejected    int      `json:"rejected"`
	Open        int      `json:"open"`
	Overdue     int      `json:"overdue"`
	Repeat      int      `json:"repeat"`
	ClosureRate *float64 `json:"closure_rate"`
	OnTimeRate  *float64 `json:"on_time_rate"`
	MedianH     *float64 `json:"median_hours_to_close"`
	P90H        *float64 `json:"p90_hours_to_close"`
	Per1000     *float64 `json:"per_1000_households"`
}

// rollupStock is the JSON of live.UnitStock.
type rollupStock struct {
	Households     int            `json:"households"`
	Grids          int            `json:"grids"`
	Workers        int            `json:"workers"`
	WorkersPerGrid *float64       `json:"workers_per_grid"`
	Cameras        *rollupCameras `json:"cameras,omitempty"` // planners and admins only
}

// rollupCameras are a unit's camera figures.
type rollupCameras struct {
	Online          int      `json:"online"`
	Total           int      `json:"total"`
	OnlineRate      *float64 `json:"online_rate"`      // 完好率
	HouseholdsShare *float64 `json:"households_share"` // null without coverage=true, or without households
	AreaShare       *float64 `json:"area_share"`
}

// rollupRow is one row of the answer.
type rollupRow struct {
	AreaCode     string  `json:"area_code"`
	AreaName     string  `json:"area_name"`
	AreaLevel    int     `json:"area_level"`
	AreaType     string  `json:"area_type"`
	Period       *string `json:"period,omitempty"`
	PeriodStart  *string `json:"period_start,omitempty"`
	PeriodEnd    *string `json:"period_end,omitempty"`
	Category     *string `json:"category,omitempty"`
	CategoryName *string `json:"category_name,omitempty"`
	rollupFigures
	rollupStock
	RiskLevel    *string        `json:"risk_level,omitempty"`
	RiskReasons  *[]string      `json:"risk_reasons,omitempty"`
	Previous     *rollupFigures `json:"previous"`
	PreviousYear *rollupFigures `json:"previous_year"`
}

func ratioOf(n, d float64, scale float64) *float64 {
	if d == 0 {
		return nil
	}
	r := n / d
	return roundPtr(&r, scale)
}

// timeOrNil formats a window bound in the answer's zone; nil for an open
// one.
func timeOrNil(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(loc).Format(time.RFC3339)
	return &s
}

func newRollupFigures(f live.RollupFigures, households int, loc *time.Location) rollupFigures {
	return rollupFigures{Since: timeOrNil(f.Window.Since, loc), Until: timeOrNil(f.Window.Until, loc),
		Reported: f.Reported, Closed: f.Closed, Rejected: f.Rejected, Open: f.Open, Overdue: f.Overdue, Repeat: f.Repeat,
		ClosureRate: roundPtr(f.ClosureRate, 1e4), OnTimeRate: roundPtr(f.OnTimeRate, 1e4),
		MedianH: roundPtr(f.MedianHoursToClose, 100), P90H: roundPtr(f.P90HoursToClose, 100),
		Per1000: ratioOf(1000*float64(f.Reported), float64(households), 100)}
}

func newRollupStock(st live.UnitStock, cameras bool) rollupStock {
	out := rollupStock{Households: st.Households, Grids: st.Grids, Workers: st.Workers,
		WorkersPerGrid: ratioOf(float64(st.Workers), float64(st.Grids), 100)}
	if cameras {
		c := &rollupCameras{Online: st.CamerasOnline, Total: st.CamerasTotal,
			OnlineRate: ratioOf(float64(st.CamerasOnline), float64(st.CamerasTotal), 1e4)}
		if st.HasCoverage {
			c.HouseholdsShare = ratioOf(float64(st.CoverageHouseholdsCovered), float64(st.CoverageHouseholds), 1e4)
			c.AreaShare = ratioOf(math.Min(st.CoverageCoveredM2, st.CoverageAreaM2), st.CoverageAreaM2, 1e4)
		}
		out.Cameras = c
	}
	return out
}

// unitName is a unit's name in lang: the area's English name when asked
// for and known; the county and the grids of no area in words.
func unitName(u live.RollupUnit, lang string) string {
	switch {
	case u.Type == live.UnitCounty && lang == "zh":
		return "全域"
	case u.Type == live.UnitCounty:
		return "all areas"
	case u.Type == live.UnitOther && lang == "zh":
		return "不属于本层级地区的网格"
	case u.Type == live.UnitOther:
		return "grids in no area of this level"
	case lang == "en" && u.NameEn != "":
		return u.NameEn
	}
	return u.Name
}

// gridRisk is one grid's risk as the API shows it.
type gridRisk struct {
	level   string
	reasons []string
}

// gridRisks returns the current risk of each grid of pp by plan index, its
// reasons in lang; camera coverage figures in them only when cameras.
// Nil when no risk is computed for pp.
func (s *Server) gridRisks(ctx context.Context, pp *live.Plan, lang string, cameras bool) ([]gridRisk, *live.Risk, error) {
	r, err := s.live.Risk(ctx)
	if err != nil || r == nil {
		return nil, nil, err
	}
	if r.Plan != pp {
		return nil, nil, data.Errorf(data.EUNAVAILABLE, "the published plan changed during the request; retry")
	}
	tax := s.live.Taxonomy()
	out := make([]gridRisk, len(r.Grids))
	for i, g := range r.Grids {
		out[i] = gridRisk{level: r.Rules.Levels[g.Level].Code, reasons: make([]string, 0, len(g.Reasons))}
		for _, reason := range g.Reasons {
			out[i].reasons = append(out[i].reasons, reason.Text(lang, tax, cameras))
		}
	}
	return out, r, nil
}

// riskLevelDoc is a level of the palette in the answer.
type riskLevelDoc struct {
	Code  string `json:"code"`
	Zh    string `json:"zh"`
	En    string `json:"en"`
	Color string `json:"color"`
}

func (s *Server) rollups(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRollupQuery(r)
	if err != nil {
		return err
	}
	pp, err := s.publishedOr404()
	if err != nil {
		return err
	}
	ctx := r.Context()
	q.Taxonomy = s.live.Taxonomy()
	q.Cameras = principalOf(ctx).role.Allows(data.RolePlanner)
	if q.Cameras && q.coverage {
		cov, err := s.live.Coverage(ctx)
		if err != nil {
			return err
		}
		q.Coverage = cov
	}
	q.Staffed = s.live.Staffed()
	if (q.Coverage != nil && q.Coverage.Plan != pp) || q.Staffed == nil || q.Staffed.Plan != pp {
		return data.Errorf(data.EUNAVAILABLE, "the published plan changed during the request; retry")
	}
	res, err := s.live.GridAssignment(pp).Rollup(q.RollupQuery, s.live.Areas())
	if err != nil {
		return err
	}
	var risks []gridRisk
	var risk *live.Risk
	if slices.ContainsFunc(res.Units, func(u live.RollupUnit) bool { return u.Type == live.UnitGrid }) {
		if risks, risk, err = s.gridRisks(ctx, pp, q.lang, q.Cameras); err != nil {
			return err
		}
	}
	tax := q.Taxonomy
	rows := make([]rollupRow, len(res.Rows))
	for i, row := range res.Rows {
		u := res.Units[row.Unit]
		out := rollupRow{AreaCode: u.Code, AreaName: unitName(u, q.lang), AreaLevel: u.Level, AreaType: u.Type,
			rollupFigures: newRollupFigures(row.Figures, u.Stock.Households, q.loc), rollupStock: newRollupStock(u.Stock, q.Cameras)}
		if row.Period >= 0 {
			p := res.Periods[row.Period]
			label, start, end := p.Label, p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly)
			out.Period, out.PeriodStart, out.PeriodEnd = &label, &start, &end
		}
		if q.ByCategory {
			code, name := row.Category, row.Category
			if c, ok := tax.Category(code); ok {
				name = c.En
				if q.lang == "zh" {
					name = c.Zh
				}
			}
			out.Category, out.CategoryName = &code, &name
		}
		if u.Type == live.UnitGrid && risks != nil {
			gr := risks[u.Grid]
			out.RiskLevel, out.RiskReasons = &gr.level, &gr.reasons
		}
		if row.Previous != nil {
			pf := newRollupFigures(*row.Previous, u.Stock.Households, q.loc)
			out.Previous = &pf
		}
		if row.PreviousYear != nil {
			py := newRollupFigures(*row.PreviousYear, u.Stock.Households, q.loc)
			out.PreviousYear = &py
		}
		rows[i] = out
	}
	if q.csv {
		return writeRollupCSV(w, &q, res, rows, risks != nil)
	}
	levels := make([]riskLevelDoc, 0, len(s.live.RiskRules().Levels))
	for _, l := range s.live.RiskRules().Levels {
		levels = append(levels, riskLevelDoc{Code: l.Code, Zh: l.Zh, En: l.En, Color: l.Color})
	}
	total := struct {
		rollupFigures
		rollupStock
	}{newRollupFigures(res.Total, res.TotalStock.Households, q.loc), newRollupStock(res.TotalStock, q.Cameras)}
	scope := map[string]any{}
	if q.HasParent {
		scope["parent"] = q.Parent
	} else {
		scope["level"] = q.Level
	}
	doc := map[string]any{
		"plan_id": pp.Plan.ID, "scope": scope, "group_by": q.groupBy, "tz": q.tz,
		"period": map[string]any{"since": timeOrNil(q.Since, q.loc), "until": timeOrNil(q.Until, q.loc)},
		"as_of":  q.Now.In(q.loc).Format(time.RFC3339), "lang": q.lang,
		"risk_levels": levels, "total": total, "numberMatched": len(rows), "rows": rows,
	}
	if risk != nil {
		doc["risk_as_of"] = risk.AsOf.In(q.loc).Format(time.RFC3339)
	}
	return writeJSON(w, http.StatusOK, "application/json", doc)
}

// rollupFiguresDoc describes the figures of /v1/stats in its OpenAPI
// entry; live/rollup.go and live/stats.go hold the same definitions.
const rollupFiguresDoc = "Each row: area_code, area_name, area_level, area_type (county: the whole deployment, level 0; area; grid; other: grids of the scope in no area of the rows' level), " +
	"period, period_start, period_end (with month or week), category and category_name (with category); " +
	"the events reported in the row's period inside its grids: reported, closed (办结: resolved, verified or closed), rejected, open (neither), " +
	"overdue (open and past due at as_of: due_at, or reported_at plus the category's deadline), repeat (repeats a done event of the same category within 100 m and 90 days), " +
	"closure_rate = closed / (reported − rejected), on_time_rate = closed on time / closed with a resolved_at, median and p90 hours to close (percentile_cont), " +
	"per_1000_households = 1000 × reported / households; the area's households (as the plan counted them), grids, workers (roster workers serving each grid, chiefs apart, " +
	"summed over the grids) and workers_per_grid; for planners and admins, cameras: online, total, online_rate (完好率), households_share and area_share (coverage); " +
	"grid rows: risk_level and risk_reasons; previous (the month or week before, or the window of the same length before since) and previous_year " +
	"(a year before, 52 weeks before for weeks), null without since and until when not grouped by period. Counts add up: a parent's are the sum of its children's; " +
	"rates are recomputed from the sums. Rates rounded to 4 decimals, hours and per_1000_households to 2. format=csv (or Accept: text/csv) gives the rows as CSV " +
	"(UTF-8 with BOM, CRLF, headers in lang), as an attachment"

func (s *Server) rollupRoutes() []route {
	cats := s.taxonomyInUse().CategoryCodes()
	kinds := s.taxonomyInUse().KindCodes()
	return []route{
		{method: "GET", path: "/v1/stats", role: data.RoleViewer, id: "getRollups", tag: "Statistics",
			summary: "Rollups of the event loop's figures by area level (层层汇总), category, month or week, with the previous period (环比) and the year before (同比); " +
				"households, grids, workers, cameras; the risk level of grid rows; as JSON or CSV",
			params: []param{
				queryParam("level", "one row per area of this level (1 = top); 0 (the default) is the whole deployment as one row. Not with parent",
					map[string]any{"type": "integer", "minimum": 0}),
				queryParam("parent", "one row per child area of this area, or per grid when it has no child areas; empty for the top-level areas. Not with level", str),
				queryParam("group_by", "comma list of area (the default), category, month, week (month and week not together); without area one row holds the whole scope (parent, or the deployment)",
					map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": groupings}, "default": []string{"area"}}),
				queryParam("since", "events reported at or after: a date (midnight in tz) or an RFC 3339 time", map[string]any{"type": "string"}),
				queryParam("until", "events reported before: a date (midnight in tz) or an RFC 3339 time", map[string]any{"type": "string"}),
				queryParam("tz", "the calendar of dates, months and weeks: Z (default), a UTC offset (+08:00, escaped %2B08:00) or a time zone name (Asia/Shanghai)", str),
				queryParam("category", "count only the events of this category of the taxonomy in use ("+strings.Join(cats, ", ")+"); another value counts none",
					map[string]any{"type": "string", "enum": cats}),
				queryParam("kind", "count only the events of this kind ("+strings.Join(kinds, ", ")+"); another value counts none",
					map[string]any{"type": "string", "enum": kinds}),
				queryParam("coverage", "planners and admins: include camera coverage shares (default true; the first computation after a camera change takes longest)",
					map[string]any{"type": "boolean", "default": true}),
				queryParam("format", "json (default) or csv (UTF-8 with BOM for Excel); Accept: text/csv also gives csv", map[string]any{"type": "string", "enum": []string{"json", "csv"}}),
				queryParam("lang", "language of names, CSV headers and risk reasons: zh or en; default from Accept-Language (zh… → zh), else en",
					map[string]any{"type": "string", "enum": []string{"zh", "en"}}),
			},
			responses: withProblems(map[int]string{200: "the rows, their total, the risk levels in use. " + rollupFiguresDoc,
				404: "no published plan, or no area parent"}),
			produces: "application/json", handler: s.rollups},
	}
}

// gridRiskProps returns what adds risk_level and risk_reasons (in the
// language of Accept-Language) to a feature of the grids collection, or
// nil for other layers and while no risk is known for the published plan
// (the items are read from the store, the risk is the live plan's: a grid
// the live plan does not have gets none).
func (s *Server) gridRiskProps(r *http.Request, layer data.Layer) (func(*data.Feature), error) {
	pp := s.live.Published()
	if layer != data.LayerGrids || pp == nil {
		return nil, nil
	}
	ctx := r.Context()
	risks, _, err := s.gridRisks(ctx, pp, langOf(r.Header.Get("Accept-Language")), principalOf(ctx).role.Allows(data.RolePlanner))
	if data.ErrorCode(err) == data.EUNAVAILABLE && ctx.Err() == nil {
		return nil, nil // published again meanwhile: no risk for these items
	}
	if err != nil || risks == nil {
		return nil, err
	}
	return func(f *data.Feature) {
		code, _ := f.Properties["code"].(string)
		i, ok := pp.ByCode[code]
		if !ok || f.Properties == nil {
			return
		}
		f.Properties["risk_level"] = risks[i].level
		f.Properties["risk_reasons"] = risks[i].reasons
	}, nil
}
