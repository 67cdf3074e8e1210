package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/gridgen"
)

// ErrBusy is returned by StartPlanJob while another plan is generated, by
// this process or another replica of the same store.
var ErrBusy = errors.New("a plan is being generated; retry when it is done")

// jobs runs plan generation in the background, one at a time: a partition
// of a city takes both cores for seconds, and a queue of them would starve
// lookups.
type jobs struct {
	ctx  context.Context // the service's lifetime; jobs outlive requests
	stop context.CancelFunc
	mu   sync.Mutex
	next int
	byID map[string]*Job
	busy bool
}

// Job is one plan generation, tagged as the API shows it.
type Job struct {
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
}

// StartPlanJob generates a plan from in in the background, saves it for
// actor and publishes it if asked (both audited), and returns the job that
// shows its progress; ErrBusy while another job runs. It takes no context:
// the job outlives the request that starts it, and Close cancels it.
func (s *Service) StartPlanJob(actor string, in gridgen.Input, req gridgen.Request, publish bool) (Job, error) {
	j := &s.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.busy {
		return Job{}, ErrBusy
	}
	release := func() {}
	if l, ok := s.store.(data.JobLocker); ok {
		// One job across every replica of the store: generation takes a
		// machine's cores, and two plans raced to publish help nobody.
		ctx, cancel := context.WithTimeout(j.ctx, 5*time.Second)
		rel, ok, err := l.TryLockJob(ctx, "plan")
		cancel()
		switch {
		case err != nil:
			return Job{}, err
		case !ok:
			return Job{}, ErrBusy
		}
		release = rel
	}
	j.busy = true
	j.next++
	jb := &Job{ID: fmt.Sprintf("job-%d", j.next), Status: "running", Request: req, Publish: publish, Started: time.Now().UTC()}
	if j.byID == nil {
		j.byID = map[string]*Job{}
	}
	j.byID[jb.ID] = jb
	go func() {
		id, err := s.runPlanJob(j.ctx, actor, in, publish, func(done, total int) {
			j.mu.Lock()
			jb.Done, jb.Total = done, total
			j.mu.Unlock()
		})
		// A save that never committed leaves nothing: SavePlan is one
		// transaction, and the lock goes with the process if it dies.
		release()
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
	return *jb, nil
}

// runPlanJob generates a plan, stores it, publishes it if asked (both
// audited), and waits for the views to show the published plan.
func (s *Service) runPlanJob(ctx context.Context, actor string, in gridgen.Input, publish bool, progress func(done, total int)) (int64, error) {
	plan, err := gridgen.Generate(ctx, in, gridgen.Options{Progress: progress})
	if err != nil {
		return 0, err
	}
	var areas []data.Area
	if as := s.areas.Load(); as != nil {
		areas = as.List
	}
	if r := s.Roster(); r != nil {
		data.NoteUnstaffed(&plan, areas, r.List, s.cfg.Taxonomy)
	}
	id, err := data.SavePlan(ctx, s.store, plan, publish, actor)
	if err != nil || !publish {
		return id, err
	}
	s.Shown(ctx)
	return id, nil
}

// Job returns a copy of job id, for a consistent view of a running job.
func (s *Service) Job(id string) (Job, bool) {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	jb, ok := s.jobs.byID[id]
	if !ok {
		return Job{}, false
	}
	return *jb, true
}

// Jobs returns a copy of every job, in no order.
func (s *Service) Jobs() []Job {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	out := make([]Job, 0, len(s.jobs.byID))
	for _, jb := range s.jobs.byID {
		out = append(out, *jb)
	}
	return out
}

// Close cancels background jobs (plan generation); a job started later
// fails at once. The follower is not stopped: it runs until Run's context
// ends.
func (s *Service) Close() { s.jobs.stop() }
