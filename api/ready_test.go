package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// primaryDown is a store whose reads work and whose writes cannot be taken:
// a PostgreSQL primary lost while its standbys serve reads.
type primaryDown struct{ data.Store }

func (primaryDown) PingWrite(context.Context) error {
	return data.Errorf(data.EUNAVAILABLE, "primary gone")
}

// TestReadiness: /readyz is about reads, /readyz/write about writes, and a
// draining server leaves the balancer's rotation.
func TestReadiness(t *testing.T) {
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "ready.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := api.New(api.Config{Store: primaryDown{store}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ready := func(path string) (int, map[string]string) {
		t.Helper()
		res, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct{ Checks map[string]string }
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return res.StatusCode, body.Checks
	}
	if code, checks := ready("/readyz"); code != 503 || checks["indexes"] != "loading" {
		t.Errorf("before Load: /readyz = %d %v", code, checks)
	}
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	code, checks := ready("/readyz")
	if code != 200 || checks["write"] != "primary gone" || checks["store"] != "ok" {
		t.Errorf("primary down: /readyz = %d %v, want 200 with the write check failing", code, checks)
	}
	if code, checks := ready("/readyz/write"); code != 503 || checks["write"] != "primary gone" {
		t.Errorf("primary down: /readyz/write = %d %v, want 503", code, checks)
	}
	srv.Drain()
	if code, checks := ready("/readyz"); code != 503 || checks["indexes"] != "draining" {
		t.Errorf("draining: /readyz = %d %v", code, checks)
	}
}
