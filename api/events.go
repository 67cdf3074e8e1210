package api

import (
	"net/http"

	"github.com/wangge/wangge/data"
)

// Events: the history of an event's moves, the taxonomy of categories and
// worker roles, and who the caller is (the field page's "my events").

func (s *Server) eventRoutes() []route {
	return []route{
		{method: "GET", path: "/collections/hazards/items/{featureId}/history", role: data.RoleField, id: "getEventHistory", tag: "Events",
			summary: "An event's history: every move with actor, time, assignee, responsible unit and note, oldest first; " +
				"its status, and the states the caller may move it to now",
			params:    []param{pathParam("featureId", "feature id (integer)")},
			responses: withProblems(map[int]string{200: `{"fid", "status", "assignee", "allowed": [states], "steps": [...]}`}),
			produces:  "application/json", handler: s.eventHistory},
		{method: "GET", path: "/v1/taxonomy", role: data.RoleViewer, id: "getTaxonomy", tag: "Events",
			summary:   "Event kinds, categories (Chinese and English labels, deadline in hours, default severity), the event states and the worker roles in use",
			responses: withProblems(map[int]string{200: "the taxonomy"}), produces: "application/json", handler: s.taxonomy},
		{method: "GET", path: "/v1/me", role: data.RoleViewer, id: "getMe", tag: "Events",
			summary:   "The caller: key id, role, and the roster's worker the key is tied to (with the grids they serve), or null",
			responses: withProblems(map[int]string{200: `{"key", "role", "worker"}`}), produces: "application/json", handler: s.me},
	}
}

func (s *Server) eventHistory(w http.ResponseWriter, r *http.Request) error {
	fid, err := pathFID(r, data.LayerHazards)
	if err != nil {
		return err
	}
	h, steps, err := s.live.EventHistory(r.Context(), fid)
	if data.ErrorCode(err) == data.ENOTFOUND {
		return data.Errorf(data.ENOTFOUND, "no feature %d in hazards", fid)
	}
	if err != nil {
		return err
	}
	pr := principalOf(r.Context())
	allowed := data.Allowed(pr.role, h.Status, pr.worker != "" && h.Assignee == pr.worker)
	if allowed == nil {
		allowed = []data.Status{} // JSON [], not null
	}
	if steps == nil {
		steps = []data.EventStep{}
	}
	w.Header().Set("ETag", h.ETag())
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"fid": fid, "status": h.Status, "assignee": h.Assignee, "resp_code": h.RespCode, "resp_level": h.RespLevel,
		"allowed": allowed, "steps": steps,
	})
}

func (s *Server) taxonomy(w http.ResponseWriter, r *http.Request) error {
	t := s.live.Taxonomy()
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"kinds": t.Kinds, "categories": t.Categories, "worker_roles": t.WorkerRoles, "statuses": data.StatusNames(),
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	pr := principalOf(r.Context())
	var worker any
	if wk, ok := s.live.Roster().Worker(pr.worker); ok {
		worker = wk // their own phone number is theirs to see
	}
	key := any(nil)
	if pr.keyID != "" {
		key = pr.keyID
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"key": key, "role": pr.role, "worker": worker})
}
