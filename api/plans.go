package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/gridgen"
	"github.com/wangge/wangge/live"
)

// jobView is a plan job as GET /v1/plans/{id} shows it: live's job with
// its links.
type jobView struct {
	live.Job
	Links []link `json:"links,omitempty"`
}

func (s *Server) planRoutes() []route {
	planID := pathParam("planId", "plan id (integer), or a job id (job-N) while a plan is generated")
	return []route{
		{method: "GET", path: "/v1/plans", role: data.RolePlanner, id: "listPlans", tag: "Planning", summary: "Stored plans (newest first) with their quality reports, and running jobs",
			responses: map[int]string{200: "plans"}, produces: "application/json", handler: s.listPlans},
		{method: "POST", path: "/v1/plans", role: data.RolePlanner, id: "createPlan", tag: "Planning",
			summary:   `Generate a plan from the stored households and areas: body {"target": 300, "res": 0, "base": 0, "lock": [], "grids": {}, "no_streets": false, "weight": "households", "publish": false}; answers 202 with a job to poll`,
			responses: withProblems(map[int]string{202: "job started", 429: "another plan is being generated"}), produces: "application/json", handler: s.createPlan},
		{method: "GET", path: "/v1/plans/{planId}", role: data.RolePlanner, id: "getPlan", tag: "Planning", summary: "A plan with its quality report and grid list, or a job's progress",
			params: []param{planID}, responses: withProblems(map[int]string{200: "plan or job"}), produces: "application/json", handler: s.getPlan},
		{method: "GET", path: "/v1/plans/{planId}/grids", role: data.RolePlanner, id: "getPlanGrids", tag: "Planning", summary: "A plan's grids as GeoJSON, to compare with the published plan",
			params: []param{planID}, responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection", 409: "the job has no plan (yet)"}), produces: geoJSONType, handler: s.planGrids},
		{method: "POST", path: "/v1/plans/{planId}/publish", role: data.RolePlanner, id: "publishPlan", tag: "Planning", summary: "Publish a plan: lookups, tiles and the grids collection switch to it",
			params: []param{planID}, responses: withProblems(map[int]string{200: "published plan", 409: "the job has no plan (yet)"}), produces: "application/json", handler: s.publishPlan},
	}
}

// planRequest is the body of POST /v1/plans.
type planRequest struct {
	gridgen.Request
	Publish bool `json:"publish"`
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	var req planRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	// Read and check the input now, so that a bad request is a 400 here and
	// not a failed job later.
	in, err := gridgen.LoadInput(r.Context(), s.store, req.Request)
	if err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	actor := principalOf(r.Context()).actor() // the job outlives the request
	j, err := s.live.StartPlanJob(actor, in, req.Request, req.Publish)
	if errors.Is(err, live.ErrBusy) {
		// A second request while one runs waits: 429 with Retry-After.
		return &tooBusy{retryAfter: 5}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/plans/"+j.ID)
	return writeJSON(w, http.StatusAccepted, "application/json", s.jobView(r, j.ID))
}

// tooBusy is the error for a request that must wait for a running job.
type tooBusy struct{ retryAfter int }

func (e *tooBusy) Error() string { return live.ErrBusy.Error() }

// jobView shows job id as it is now, with its links.
func (s *Server) jobView(r *http.Request, id string) jobView {
	j, _ := s.live.Job(id)
	v := jobView{Job: j}
	base := s.baseURL(r)
	v.Links = []link{{Href: base + "/v1/plans/" + v.ID, Rel: "self", Type: "application/json"}}
	if v.PlanID != 0 {
		v.Links = append(v.Links, link{Href: fmt.Sprintf("%s/v1/plans/%d", base, v.PlanID), Rel: "plan", Type: "application/json"})
	}
	return v
}

// planSummary is a plan without grid geometry.
type planSummary struct {
	ID         int64         `json:"id"`
	CreatedAt  time.Time     `json:"created_at"`
	Target     int           `json:"target"`
	Resolution int           `json:"resolution"`
	BaseID     int64         `json:"base,omitempty"`
	Published  bool          `json:"published"`
	Report     data.Report   `json:"report"`
	Grids      []gridSummary `json:"grids,omitempty"`
	Links      []link        `json:"links"`
}

type gridSummary struct {
	Code         string  `json:"code"`
	ParentCode   string  `json:"parent_code"`
	Households   int     `json:"households"`
	DeviationPct float64 `json:"deviation_pct"`
	AreaM2       float64 `json:"area_m2"`
	Cells        int     `json:"cells"`
	// StreetSharePct is the share of the grid's boundary with the other
	// grids of its parent within 20 m of a street (the report's
	// street_share_pct, per grid); absent without streets or without
	// such a boundary.
	StreetSharePct *float64 `json:"street_share_pct,omitempty"`
}

// gridStreetShares is each grid's street share of p in percent
// (gridgen.StreetShares over the stored streets, kept by live per plan);
// nil when there are no streets, a nil entry for a grid that shares no
// boundary with another of its parent.
func (s *Server) gridStreetShares(r *http.Request, p data.Plan) ([]*float64, error) {
	shares, err := s.live.StreetShares(r.Context(), p)
	if err != nil || shares == nil {
		return nil, err
	}
	out := make([]*float64, len(shares))
	for i, sh := range shares {
		if pct, ok := sh.Pct(); ok {
			out[i] = &pct
		}
	}
	return out, nil
}

func (s *Server) summarize(r *http.Request, p data.Plan, withGrids bool) planSummary {
	base := s.baseURL(r)
	out := planSummary{ID: p.ID, CreatedAt: p.CreatedAt, Target: p.Target, Resolution: p.Resolution, BaseID: p.BaseID,
		Published: p.Published, Report: p.Report, Links: []link{
			{Href: fmt.Sprintf("%s/v1/plans/%d", base, p.ID), Rel: "self", Type: "application/json"},
			{Href: fmt.Sprintf("%s/v1/plans/%d/grids", base, p.ID), Rel: "items", Type: geoJSONType, Title: "grids as GeoJSON"},
		}}
	if withGrids {
		for _, g := range p.Grids {
			out.Grids = append(out.Grids, gridSummary{Code: g.Code, ParentCode: g.ParentCode, Households: g.Households,
				DeviationPct: deviation(g.Households, p.Target), AreaM2: g.AreaM2, Cells: len(g.Cells)})
		}
	}
	return out
}

// deviation is how far a grid's households are from the target, in percent.
func deviation(households, target int) float64 {
	if target <= 0 {
		return 0
	}
	return float64(households-target) / float64(target) * 100
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) error {
	plans, err := s.store.Plans(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Plans []planSummary `json:"plans"`
		Jobs  []live.Job    `json:"jobs"`
	}{Plans: []planSummary{}, Jobs: []live.Job{}}
	for _, p := range plans {
		out.Plans = append(out.Plans, s.summarize(r, p, false))
	}
	out.Jobs = append(out.Jobs, s.live.Jobs()...)
	return writeJSON(w, http.StatusOK, "application/json", out)
}

// plan resolves a {planId}: a numeric plan id, or a finished job's plan.
func (s *Server) plan(r *http.Request) (data.Plan, error) {
	id := mux.Vars(r)["planId"]
	if strings.HasPrefix(id, "job-") {
		j, ok := s.live.Job(id)
		if !ok {
			return data.Plan{}, data.Errorf(data.ENOTFOUND, "no job %s", id)
		}
		if j.PlanID == 0 {
			return data.Plan{}, data.Errorf(data.ECONFLICT, "job %s has no plan (status %s)", id, j.Status)
		}
		return s.store.Plan(r.Context(), j.PlanID)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan %q: plan ids are positive integers, job ids job-N", id)
	}
	return s.store.Plan(r.Context(), n)
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["planId"]
	if strings.HasPrefix(id, "job-") {
		j, ok := s.live.Job(id)
		if !ok {
			return data.Errorf(data.ENOTFOUND, "no job %s", id)
		}
		return writeJSON(w, http.StatusOK, "application/json", s.jobView(r, j.ID))
	}
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	sum := s.summarize(r, p, true)
	shares, err := s.gridStreetShares(r, p)
	if err != nil {
		return err
	}
	for i := range shares {
		sum.Grids[i].StreetSharePct = shares[i]
	}
	return writeJSON(w, http.StatusOK, "application/json", sum)
}

func (s *Server) planGrids(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	fc := featureCollection{Type: "FeatureCollection", Features: make([]*feature, 0, len(p.Grids)),
		NumberMatched: len(p.Grids), NumberReturned: len(p.Grids), TimeStamp: time.Now().UTC().Format(time.RFC3339)}
	for i, g := range p.Grids {
		fc.Features = append(fc.Features, toGeoJSON(data.Feature{FID: int64(i + 1), Geometry: g.Geometry, Properties: map[string]any{
			"code": g.Code, "parent_code": g.ParentCode, "households": g.Households,
			"deviation_pct": deviation(g.Households, p.Target), "area_m2": g.AreaM2, "worker": g.Worker,
		}}, defaultCRS))
	}
	return writeJSON(w, http.StatusOK, geoJSONType, fc)
}

func (s *Server) publishPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	if err := data.PublishPlan(r.Context(), s.store, p.ID, principalOf(r.Context()).actor()); err != nil {
		return err
	}
	setVersion(w, s.live.Shown(r.Context()))
	p.Published = true
	return writeJSON(w, http.StatusOK, "application/json", s.summarize(r, p, false))
}
