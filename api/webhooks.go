package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// /v1/webhooks: subscriptions of other systems to the changes
// (data/webhooks.go, live/webhooks.go), for admins. A delivery is a POST
// of the message the change stream sends, signed in Wangge-Signature.

func (s *Server) webhookRoutes() []route {
	id := pathParam("webhookId", "webhook id")
	ifMatch := headerParam("If-Match", "the webhook's ETag from a read: refuse (412) if it changed since")
	body := `{"id", "url" (in the deployment's allow-list, --webhook-allow), "secret" (≥ 16 characters; generated and shown once when absent), ` +
		`"role" (viewer or planner: what the receiver may see), "filter": {"layers", "area", "grid", "bbox", "status", "assignee"} as GET /v1/changes's parameters}`
	return withRole(data.RoleAdmin, []route{
		{method: "GET", path: "/v1/webhooks", id: "listWebhooks", tag: "Live", summary: "The webhook subscriptions with their delivery state: cursor (the feed's seq delivered up to), lag, failures, paused, last_error",
			responses: withProblems(map[int]string{200: `{"webhooks": [...]}`}), produces: "application/json", handler: s.listWebhooks},
		{method: "POST", path: "/v1/webhooks", id: "createWebhook", tag: "Live", summary: "Subscribe a URL to the changes committed from now on: body " + body +
			". Deliveries are POSTs in seq order, at least once (deduplicate by Wangge-Delivery), signed: Wangge-Signature: t=<unix>,sha256=<hex HMAC-SHA256 of \"<t>.<body>\" with the secret>",
			responses: withProblems(map[int]string{201: "the webhook (with its secret, this once); Location names it", 409: "the id exists"}), produces: "application/json", handler: s.createWebhook},
		{method: "GET", path: "/v1/webhooks/{webhookId}", id: "getWebhook", tag: "Live", summary: "One webhook and its delivery state",
			params: []param{id}, responses: withProblems(map[int]string{200: "the webhook"}), produces: "application/json", handler: s.getWebhook},
		{method: "PATCH", path: "/v1/webhooks/{webhookId}", id: "patchWebhook", tag: "Live", summary: `Change a webhook: url, secret, role, filter, paused (false resumes one paused after failures, from where it stopped)`,
			params: []param{id, ifMatch}, responses: withProblems(map[int]string{200: "the changed webhook"}), produces: "application/json", handler: s.patchWebhook},
		{method: "DELETE", path: "/v1/webhooks/{webhookId}", id: "deleteWebhook", tag: "Live", summary: "Remove a webhook: its deliveries stop",
			params: []param{id, ifMatch}, responses: withProblems(map[int]string{204: "removed"}), produces: "application/json", handler: s.deleteWebhook},
	})
}

// webhookView is a webhook as the API shows it: never its secret (but
// once, when it was made here), and how far behind the views it is.
type webhookView struct {
	data.Webhook
	Secret string `json:"secret,omitempty"`
	Lag    int64  `json:"lag"`
}

func (s *Server) viewWebhook(w data.Webhook) webhookView {
	return webhookView{Webhook: w, Lag: max(s.live.Version()-w.Cursor, 0)}
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Webhooks(data.ReadPrimary(r.Context()))
	if err != nil {
		return err
	}
	out := make([]webhookView, len(list))
	for i, h := range list {
		out[i] = s.viewWebhook(h)
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"webhooks": out})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := s.store.Webhook(data.ReadPrimary(r.Context()), mux.Vars(r)["webhookId"])
	if err != nil {
		return err
	}
	w.Header().Set("ETag", live.WebhookETag(h))
	return writeJSON(w, http.StatusOK, "application/json", s.viewWebhook(h))
}

// webhookBody is what a POST or PATCH may say.
type webhookBody struct {
	ID     string             `json:"id"`
	URL    string             `json:"url"`
	Secret string             `json:"secret"`
	Role   data.Role          `json:"role"`
	Filter *data.StreamFilter `json:"filter"`
	Paused *bool              `json:"paused"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var b webhookBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.Paused != nil {
		return invalid("body: paused: a webhook starts delivering; pause it with PATCH")
	}
	h := data.Webhook{ID: b.ID, URL: b.URL, Secret: b.Secret, Role: b.Role}
	if h.Role == "" {
		h.Role = data.RoleViewer
	}
	if b.Filter != nil {
		h.Filter = *b.Filter
	}
	shown := ""
	if h.Secret == "" {
		buf := make([]byte, 24)
		rand.Read(buf)
		h.Secret = "whsec_" + hex.EncodeToString(buf)
		shown = h.Secret
	}
	if err := s.checkHookFilter(h); err != nil {
		return err
	}
	h, err := s.live.CreateWebhook(r.Context(), principalOf(r.Context()).actor(), h)
	if err != nil {
		return hookFieldError(err)
	}
	w.Header().Set("Location", fmt.Sprintf("%s/v1/webhooks/%s", s.baseURL(r), h.ID))
	w.Header().Set("ETag", live.WebhookETag(h))
	v := s.viewWebhook(h)
	v.Secret = shown
	return writeJSON(w, http.StatusCreated, "application/json", v)
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	var b webhookBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.ID != "" {
		return invalid("body: id: a webhook's id cannot change")
	}
	if b.URL == "" && b.Secret == "" && b.Role == "" && b.Filter == nil && b.Paused == nil {
		return invalid("body changes nothing: give the members to change (url, secret, role, filter, paused)")
	}
	h, err := s.live.UpdateWebhook(r.Context(), principalOf(r.Context()).actor(), mux.Vars(r)["webhookId"], r.Header.Get("If-Match"), func(h *data.Webhook) error {
		if b.URL != "" {
			h.URL = b.URL
		}
		if b.Secret != "" {
			h.Secret = b.Secret
		}
		if b.Role != "" {
			h.Role = b.Role
		}
		if b.Filter != nil {
			h.Filter = *b.Filter
		}
		if b.Paused != nil {
			h.Paused = *b.Paused
		}
		return s.checkHookFilter(*h)
	})
	if err != nil {
		return hookFieldError(err)
	}
	w.Header().Set("ETag", live.WebhookETag(h))
	return writeJSON(w, http.StatusOK, "application/json", s.viewWebhook(h))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.live.DeleteWebhook(r.Context(), principalOf(r.Context()).actor(), mux.Vars(r)["webhookId"], r.Header.Get("If-Match")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkHookFilter checks a webhook's filter as a stream's parameters are
// checked, for the role its messages are rendered for.
func (s *Server) checkHookFilter(h data.Webhook) error {
	if h.Role != data.RoleViewer && h.Role != data.RolePlanner {
		return invalid("body: role: %q is neither viewer nor planner (what the receiver may see)", h.Role)
	}
	_, err := newChangeFilter(s.live, h.Role, "", h.Filter, "body: filter.")
	if ae, ok := err.(*authError); ok {
		return invalid("body: filter: %s (set role planner)", ae.msg)
	}
	return err
}

// hookFieldError names the member a validation error is about.
func hookFieldError(err error) error {
	if f := data.ErrorField(err); f != "" && data.ErrorCode(err) == data.EINVALID && !strings.HasPrefix(data.ErrorMessage(err), "body:") {
		return invalid("body: %s: %s", f, data.ErrorMessage(err))
	}
	return err
}

// HookMessages returns the renderer of webhook h's messages: for a feed
// entry, the change as GET /v1/changes sends it to h's role through h's
// filter, and the notifications. It is the live.HookRender of the server's
// webhooks; the filter is resolved once, for the batch of entries the
// renderer is used on.
func (s *Server) HookMessages(h data.Webhook) func(c data.Change) []live.HookMessage {
	f, err := newChangeFilter(s.live, h.Role, "", h.Filter, "filter.")
	if err != nil {
		// The filter names an area or grid gone since: nothing matches
		// it until the admin mends it (the webhook's list shows the lag).
		return func(data.Change) []live.HookMessage { return nil }
	}
	return func(c data.Change) []live.HookMessage {
		if !f.match(s.live, c) {
			return nil
		}
		var out []live.HookMessage
		if f.layers[c.Layer] {
			b, _ := json.Marshal(s.changeMessage(c))
			out = append(out, live.HookMessage{Event: c.Layer, Body: b})
		}
		for _, n := range f.notifications(s.live, c) {
			b, _ := json.Marshal(n)
			out = append(out, live.HookMessage{Event: layerNotify, Body: b})
		}
		return out
	}
}
