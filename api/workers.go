package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// The roster: grid workers and chiefs, for planners. Phone numbers are
// personal data, so every route here is for planners and admins.

func (s *Server) workerRoutes() []route {
	id := pathParam("workerId", "worker id")
	ifMatch := headerParam("If-Match", "the worker's ETag from a read: refuse (412) if it changed since")
	body := `{"id", "name", "role" (GET /v1/taxonomy worker_roles), "phone", "grid_codes": [grid or area codes]}`
	return withRole(data.RolePlanner, []route{
		{method: "GET", path: "/v1/workers", id: "listWorkers", tag: "Workers", summary: "The roster: every worker and chief, with the grid (or area) codes they serve",
			responses: withProblems(map[int]string{200: `{"workers": [...]}`}), produces: "application/json", handler: s.listWorkers},
		{method: "POST", path: "/v1/workers", id: "createWorker", tag: "Workers", summary: "Add a worker: body " + body,
			responses: withProblems(map[int]string{201: "the worker; Location names it", 409: "the id exists"}), produces: "application/json", handler: s.createWorker},
		{method: "GET", path: "/v1/workers/{workerId}", id: "getWorker", tag: "Workers", summary: "One worker",
			params: []param{id}, responses: withProblems(map[int]string{200: "the worker"}), produces: "application/json", handler: s.getWorker},
		{method: "PATCH", path: "/v1/workers/{workerId}", id: "patchWorker", tag: "Workers", summary: "Change a worker: the members given replace, others stay; the id cannot change",
			params: []param{id, ifMatch}, responses: withProblems(map[int]string{200: "the changed worker"}), produces: "application/json", handler: s.patchWorker},
		{method: "DELETE", path: "/v1/workers/{workerId}", id: "deleteWorker", tag: "Workers", summary: "Remove a worker from the roster; events assigned to them keep the assignee until reassigned",
			params: []param{id, ifMatch}, responses: withProblems(map[int]string{204: "removed"}), produces: "application/json", handler: s.deleteWorker},
	})
}

func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Workers(data.ReadAtLeast(r.Context(), s.live.Version()))
	if err != nil {
		return err
	}
	if list == nil {
		list = []data.Worker{}
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"workers": list})
}

func (s *Server) getWorker(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["workerId"]
	wk, err := s.store.Worker(data.ReadAtLeast(r.Context(), s.live.Version()), id)
	if err != nil {
		return err
	}
	return writeWorker(w, http.StatusOK, wk, 0)
}

func (s *Server) createWorker(w http.ResponseWriter, r *http.Request) error {
	var wk data.Worker
	if err := decodeBody(r, &wk); err != nil {
		return err
	}
	res, err := s.live.CreateWorker(r.Context(), principalOf(r.Context()).actor(), wk)
	if err != nil {
		return workerFieldError(err)
	}
	w.Header().Set("Location", fmt.Sprintf("%s/v1/workers/%s", s.baseURL(r), res.Value.ID))
	return writeWorker(w, http.StatusCreated, res.Value, res.Version)
}

func (s *Server) patchWorker(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["workerId"]
	var patch map[string]json.RawMessage
	if err := decodeBody(r, &patch); err != nil {
		return err
	}
	if len(patch) == 0 {
		return invalid("body changes nothing: give the members to change (name, role, phone, grid_codes)")
	}
	res, err := s.live.UpdateWorker(r.Context(), principalOf(r.Context()).actor(), id, r.Header.Get("If-Match"), func(wk *data.Worker) error {
		b, _ := json.Marshal(wk)
		var merged map[string]json.RawMessage
		if err := json.Unmarshal(b, &merged); err != nil {
			return err
		}
		for k, v := range patch {
			if _, ok := merged[k]; !ok {
				return invalid("body: %s is not a member of a worker (id, name, role, phone, grid_codes)", k)
			}
			merged[k] = v
		}
		b, _ = json.Marshal(merged)
		var next data.Worker
		if err := decodeJSON(b, &next); err != nil {
			return err
		}
		*wk = next
		return nil
	})
	if err != nil {
		return workerFieldError(err)
	}
	return writeWorker(w, http.StatusOK, res.Value, res.Version)
}

func (s *Server) deleteWorker(w http.ResponseWriter, r *http.Request) error {
	version, err := s.live.DeleteWorker(r.Context(), principalOf(r.Context()).actor(), mux.Vars(r)["workerId"], r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	setVersion(w, version)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeWorker answers with a worker, its ETag and, after a write, the
// version that shows it.
func writeWorker(w http.ResponseWriter, status int, wk data.Worker, version int64) error {
	w.Header().Set("ETag", live.WorkerETag(wk))
	if version > 0 {
		setVersion(w, version)
	}
	return writeJSON(w, status, "application/json", wk)
}

// workerFieldError names the member a validation error is about, as the
// body spells it.
func workerFieldError(err error) error {
	if f := data.ErrorField(err); f != "" && data.ErrorCode(err) == data.EINVALID {
		return invalid("body: %s: %s", f, data.ErrorMessage(err))
	}
	return err
}
