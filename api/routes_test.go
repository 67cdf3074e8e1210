package api

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// Every route the router serves, with every method, is in the OpenAPI
// document: the document is built from the same table, and this keeps it so.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := New(Config{})
	rec := httptest.NewRecorder()
	if err := s.openAPI(rec, httptest.NewRequest("GET", "/api", nil)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string         `json:"operationId"`
			Responses   map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	n := 0
	err := s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, _ := r.GetPathTemplate()
		methods, _ := r.GetMethods()
		for _, m := range methods {
			if m == "HEAD" {
				continue
			}
			op, ok := doc.Paths[path][strings.ToLower(m)]
			if !ok {
				t.Errorf("%s %s is served but not in the OpenAPI document", m, path)
				continue
			}
			if op.OperationID == "" || ids[op.OperationID] || len(op.Responses) == 0 {
				t.Errorf("%s %s: operationId %q missing or repeated, or no responses", m, path, op.OperationID)
			}
			ids[op.OperationID] = true
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("only %d routes walked", n)
	}
}
