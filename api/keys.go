package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
)

func (s *Server) adminRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/keys", id: "listKeys", tag: "Admin", summary: "API keys (ids, roles, names, dates; never secrets)",
			responses: withProblems(map[int]string{200: "keys"}), produces: "application/json", handler: s.listKeys},
		{method: "POST", path: "/v1/keys", id: "createKey", tag: "Admin", summary: `Create an API key: body {"role": "viewer|field|planner|admin", "name": "…", "worker": "worker id (optional): the key acts for this worker of the roster"}; the answer holds the key, shown this once`,
			responses: withProblems(map[int]string{201: "the new key"}), produces: "application/json", handler: s.createKey},
		{method: "DELETE", path: "/v1/keys/{keyId}", id: "revokeKey", tag: "Admin", summary: "Revoke an API key; it stops working at once",
			params: []param{pathParam("keyId", "key id")}, responses: withProblems(map[int]string{204: "revoked"}), produces: "application/json", handler: s.revokeKey},
		{method: "GET", path: "/v1/audit", id: "getAudit", tag: "Admin", summary: "The audit log, newest first: who wrote what, when, before and after",
			params: []param{
				queryParam("actor", "only entries by this actor (key:<id>, cli:<user>, anonymous)", str),
				queryParam("action", "only this action, e.g. hazard.create, plan.publish, import.households, key.create", str),
				queryParam("since", "only entries at or after this RFC 3339 time", map[string]any{"type": "string", "format": "date-time"}),
				queryParam("limit", "page size", map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": 100}),
				queryParam("offset", "entries to skip", map[string]any{"type": "integer", "minimum": 0}),
			},
			responses: withProblems(map[int]string{200: "audit entries"}), produces: "application/json", handler: s.audit},
	}
}

// keyView is a key as the API shows it: never the hash.
type keyView struct {
	data.KeyInfo
	Key string `json:"key,omitempty"` // only in the answer to its creation
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.store.Keys(r.Context())
	if err != nil {
		return err
	}
	out := []keyView{}
	for _, k := range keys {
		out = append(out, keyView{KeyInfo: k.Info()})
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"keys": out})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role   data.Role `json:"role"`
		Name   string    `json:"name"`
		Worker string    `json:"worker"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	token, k, err := data.CreateKey(r.Context(), s.store, principalOf(r.Context()).actor(), req.Role, req.Name, req.Worker)
	if err != nil {
		return err
	}
	setVersion(w, s.live.Shown(r.Context()))
	v := keyView{KeyInfo: k.Info(), Key: token}
	w.Header().Set("Location", "/v1/keys/"+k.ID)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, "application/json", v)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	revoked, err := data.RevokeKey(r.Context(), s.store, principalOf(r.Context()).actor(), mux.Vars(r)["keyId"], time.Now())
	if err != nil {
		return err
	}
	if revoked { // else it was revoked already: nothing changed, no version to wait for
		setVersion(w, s.live.Shown(r.Context()))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query() // the names are checked against the route's (query.go)
	q := data.AuditQuery{Actor: v.Get("actor"), Action: v.Get("action")}
	var err error
	if q.Limit, q.Offset, err = parsePage(v, 100, maxLimit, false); err != nil {
		return err
	}
	if q.Since, _, err = parsePeriod(v); err != nil { // the route has no until
		return err
	}
	entries, n, err := s.store.AuditLog(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"entries": entries, "numberMatched": n, "numberReturned": len(entries),
	})
}
