package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data/gpkg"
)

// validators is test/validators, from this package's directory.
const validators = "../test/validators"

// TestOpenAPIValidators has the validators that clients and tools run
// check what the server serves: /api with @apidevtools/swagger-parser,
// @seriousme/openapi-schema-validator and redocly lint, /style.json with
// MapLibre's style spec (test/validators/validate.mjs, packages pinned by
// its lock file).
func TestOpenAPIValidators(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		for _, pkg := range []string{"@apidevtools/swagger-parser", "@seriousme/openapi-schema-validator", "@redocly/cli", "@maplibre/maplibre-gl-style-spec"} {
			if _, serr := os.Stat(filepath.Join(validators, "node_modules", pkg)); serr != nil {
				err = serr
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the validators cannot run (%v): make test installs them (npm ci --prefix test/validators)", err)
		}
		t.Skipf("the validators cannot run (%v): run scripts/deps.sh for Node.js, then npm ci --prefix test/validators", err)
	}
	dir := t.TempDir()
	fetch := func(path, wantType string) string {
		t.Helper()
		res, body := get(t, path)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != wantType {
			t.Fatalf("GET %s: %d %s, want 200 %s", path, res.StatusCode, res.Header.Get("Content-Type"), wantType)
		}
		file := filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(path, "/"), ".json")+".json")
		if err := os.WriteFile(file, body, 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	doc := fetch("/api", "application/vnd.oai.openapi+json;version=3.0")
	style := fetch("/style.json", "application/json")
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(validators, "validate.mjs"), "--openapi", doc, "--style", style)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	t.Logf("%s", out)
	// The styles over the Chinese base maps too.
	for _, q := range []string{"basemap=amap", "basemap=tianditu&tk=0123456789abcdef"} {
		res, body := get(t, "/style.json?"+q)
		file := filepath.Join(dir, "style-"+strings.SplitN(strings.TrimPrefix(q, "basemap="), "&", 2)[0]+".json")
		if res.StatusCode != http.StatusOK || os.WriteFile(file, body, 0o600) != nil {
			t.Fatalf("/style.json?%s: %d", q, res.StatusCode)
		}
		out, err := exec.CommandContext(t.Context(), node, filepath.Join(validators, "validate.mjs"), "--style", file).CombinedOutput()
		if err != nil {
			t.Fatalf("/style.json?%s: %v:\n%s", q, err, out)
		}
	}
}

// openAPIDoc is what these tests read of the OpenAPI document.
type openAPIDoc struct {
	Paths map[string]map[string]struct {
		OperationID string           `json:"operationId"`
		Security    []map[string]any `json:"security"`
		Responses   map[string]any   `json:"responses"`
		Parameters  []struct {
			In    string `json:"in"`
			Style string `json:"style"`
		} `json:"parameters"`
	} `json:"paths"`
}

// TestOpenAPIMatchesServer checks the document against what the server
// does, on a server without anonymous access: an operation documented as
// needing a key answers 401 without one and documents 401, 403 and 429; a
// public one does not refuse; a write documents 403 and 415 and answers a
// cross-site Origin with 403 and a text/plain body with 415.
func TestOpenAPIMatchesServer(t *testing.T) {
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "empty.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := api.New(api.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	closed := httptest.NewServer(srv)
	defer closed.Close()

	res, err := http.Get(closed.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	do := func(base, method, path string, header ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if len(header) > 0 {
			req, _ = http.NewRequest(method, base+path, strings.NewReader("{}"))
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	vars := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for template, item := range doc.Paths {
		path := vars.ReplaceAllString(template, "1")
		for m, op := range item {
			method := strings.ToUpper(m)
			name := method + " " + template
			n++
			has := func(codes ...string) {
				for _, c := range codes {
					if _, ok := op.Responses[c]; !ok {
						t.Errorf("%s does not document %s", name, c)
					}
				}
			}
			has("400", "500", "503")
			for _, p := range op.Parameters {
				if p.In == "path" && p.Style != "" && p.Style != "simple" {
					t.Errorf("%s: a path parameter with style %q", name, p.Style)
				}
			}
			got := do(closed.URL, method, path)
			if len(op.Security) > 0 {
				has("401", "403", "429")
				if got != http.StatusUnauthorized {
					t.Errorf("%s without a key: %d; the document says it needs one", name, got)
				}
			} else if got == http.StatusUnauthorized || got == http.StatusForbidden {
				t.Errorf("%s without a key: %d; the document says it is public", name, got)
			}
			if method == http.MethodGet {
				continue
			}
			has("403", "415")
			// The shared server lets requests without a key act as admin:
			// these reach the write policy, which refuses them before any
			// handler runs.
			if got := do(server.URL, method, path, "Content-Type", "text/plain"); got != http.StatusUnsupportedMediaType {
				t.Errorf("%s with a text/plain body: %d, want 415", name, got)
			}
			if got := do(server.URL, method, path, "Content-Type", "application/json", "Origin", "https://elsewhere.example"); got != http.StatusForbidden {
				t.Errorf("%s from another site: %d, want 403", name, got)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d operations documented", n)
	}
}
