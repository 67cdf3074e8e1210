package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/gridgen"
)

// jobs runs plan generation in the background, one at a time: a partition
// of a city takes both cores for seconds, and a queue of them would starve
// lookups. A second request while one runs gets 429 with Retry-After.
type jobs struct {
	ctx  context.Context // the server's lifetime; jobs outlive requests
	mu   sync.Mutex
	next int
	byID map[string]*job
	busy bool
}

// job is one plan generation, as GET /v1/plans/{id} shows it.
type job struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"` // running, done, failed
	Request  gridgen.Request `json:"request"`
	Publish  bool            `json:"publish"`
	Done     int             `json:"progress_done"`
	Total    int             `json:"progress_total"`
	PlanID   int64           `json:"plan_id,omitempty"`
	Error    string          `json:"error,omitempty"`
	Started  time.Time       `json:"started"`
	Finished *time.Time      `json:"finished,omitempty"`
	Links    []link          `json:"links,omitempty"`
}

func (s *Server) planRoutes() []route {
	planID := pathParam("planId", "plan id (integer), or a job id (job-N) while a plan is generated")
	return []route{
		{method: "GET", path: "/v1/plans", id: "listPlans", tag: "Planning", summary: "Stored plans (newest first) with their quality reports, and running jobs",
			responses: map[int]string{200: "plans"}, produces: "application/json", handler: s.listPlans},
		{method: "POST", path: "/v1/plans", id: "createPlan", tag: "Planning",
			summary:   `Generate a plan from the stored households and areas: body {"target": 300, "res": 0, "base": 0, "lock": [], "grids": {}, "publish": false}; answers 202 with a job to poll`,
			responses: withProblems(map[int]string{202: "job started", 429: "another plan is being generated"}), produces: "application/json", handler: s.createPlan},
		{method: "GET", path: "/v1/plans/{planId}", id: "getPlan", tag: "Planning", summary: "A plan with its quality report and grid list, or a job's progress",
			params: []param{planID}, responses: withProblems(map[int]string{200: "plan or job"}), produces: "application/json", handler: s.getPlan},
		{method: "GET", path: "/v1/plans/{planId}/grids", id: "getPlanGrids", tag: "Planning", summary: "A plan's grids as GeoJSON, to compare with the published plan",
			params: []param{planID}, responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection"}), produces: geoJSONType, handler: s.planGrids},
		{method: "POST", path: "/v1/plans/{planId}/publish", id: "publishPlan", tag: "Planning", summary: "Publish a plan: lookups, tiles and the grids collection switch to it",
			params: []param{planID}, responses: withProblems(map[int]string{200: "published plan"}), produces: "application/json", handler: s.publishPlan},
	}
}

// planRequest is the body of POST /v1/plans.
type planRequest struct {
	gridgen.Request
	Publish bool `json:"publish"`
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	var req planRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return bodyError(err)
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
	j, err := s.jobs.start(req, func(ctx context.Context, j *job, progress func(done, total int)) (int64, error) {
		plan, err := gridgen.Generate(ctx, in, gridgen.Options{Progress: progress})
		if err != nil {
			return 0, err
		}
		return s.savePlan(ctx, actor, plan, req.Publish)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/plans/"+j.ID)
	return writeJSON(w, http.StatusAccepted, "application/json", s.jobView(r, j))
}

// savePlan stores a plan, publishes it if asked (both audited), and swaps
// the live plan.
func (s *Server) savePlan(ctx context.Context, actor string, plan data.Plan, publish bool) (int64, error) {
	id, err := data.SavePlan(ctx, s.store, plan, publish, actor)
	if err != nil || !publish {
		return id, err
	}
	s.live.Shown(ctx)
	return id, nil
}

// bodyError turns a JSON decoding failure into a 400 that says where.
func bodyError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return invalid("request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("request body is not valid JSON: it ends early")
	case errors.As(err, &se):
		return invalid("request body is not valid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		field := te.Field[strings.LastIndexByte(te.Field, '.')+1:] // embedded structs prefix their name
		return invalid("request body: field %q must be %s, got %s", field, te.Type, te.Value)
	case errors.As(err, &mbe):
		return invalid("request body is larger than %d bytes", mbe.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return invalid("request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return invalid("request body: %v", err)
}

func (j *jobs) start(req planRequest, run func(ctx context.Context, j *job, progress func(done, total int)) (int64, error)) (*job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.busy {
		return nil, &tooBusy{retryAfter: 5}
	}
	j.busy = true
	j.next++
	jb := &job{ID: fmt.Sprintf("job-%d", j.next), Status: "running", Request: req.Request, Publish: req.Publish, Started: time.Now().UTC()}
	if j.byID == nil {
		j.byID = map[string]*job{}
	}
	j.byID[jb.ID] = jb
	go func() {
		id, err := run(j.ctx, jb, func(done, total int) {
			j.mu.Lock()
			jb.Done, jb.Total = done, total
			j.mu.Unlock()
		})
		j.mu.Lock()
		defer j.mu.Unlock()
		now := time.Now().UTC()
		jb.Finished = &now
		if err != nil {
			jb.Status, jb.Error = "failed", data.ErrorMessage(err)
		} else {
			jb.Status, jb.PlanID, jb.Done = "done", id, jb.Total
		}
		j.busy = false
	}()
	return jb, nil
}

// snapshot copies a job under the lock, for a consistent view.
func (j *jobs) snapshot(id string) (job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb, ok := j.byID[id]
	if !ok {
		return job{}, false
	}
	return *jb, true
}

// tooBusy is the error for a request that must wait for a running job.
type tooBusy struct{ retryAfter int }

func (e *tooBusy) Error() string {
	return "a plan is being generated; retry when it is done"
}

func (s *Server) jobView(r *http.Request, j *job) job {
	v, _ := s.jobs.snapshot(j.ID)
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
		Jobs  []job         `json:"jobs"`
	}{Plans: []planSummary{}, Jobs: []job{}}
	for _, p := range plans {
		out.Plans = append(out.Plans, s.summarize(r, p, false))
	}
	s.jobs.mu.Lock()
	ids := make([]string, 0, len(s.jobs.byID))
	for id := range s.jobs.byID {
		ids = append(ids, id)
	}
	s.jobs.mu.Unlock()
	for _, id := range ids {
		if v, ok := s.jobs.snapshot(id); ok {
			out.Jobs = append(out.Jobs, v)
		}
	}
	return writeJSON(w, http.StatusOK, "application/json", out)
}

// plan resolves a {planId}: a numeric plan id, or a finished job's plan.
func (s *Server) plan(r *http.Request) (data.Plan, error) {
	id := mux.Vars(r)["planId"]
	if strings.HasPrefix(id, "job-") {
		j, ok := s.jobs.snapshot(id)
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
		j, ok := s.jobs.snapshot(id)
		if !ok {
			return data.Errorf(data.ENOTFOUND, "no job %s", id)
		}
		return writeJSON(w, http.StatusOK, "application/json", s.jobView(r, &j))
	}
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", s.summarize(r, p, true))
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
		}}))
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
