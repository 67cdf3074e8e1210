package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/gridgen"
)

// fixture is a server of its own over its own GeoPackage, for tests that
// need a published plan or that write: the shared server of TestMain stays
// as the demo left it.
type fixture struct {
	url   string
	store *gpkg.Store
	srv   *api.Server
	// failCommit makes every Commit of a write through the API fail (after
	// rolling back), to show that a failed write changes nothing.
	failCommit *atomic.Bool
}

// flakyStore is the fixture's store as the server sees it: it can make
// commits fail.
type flakyStore struct {
	data.Store
	fail *atomic.Bool
}

func (s flakyStore) Begin(ctx context.Context) (data.Tx, error) {
	tx, err := s.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return flakyTx{tx, s.fail}, nil
}

type flakyTx struct {
	data.Tx
	fail *atomic.Bool
}

func (t flakyTx) Commit() error {
	if t.fail.Load() {
		t.Tx.Rollback()
		return errors.New("disk full (simulated)")
	}
	return t.Tx.Commit()
}

func newFixture(t testing.TB, fill func(ctx context.Context, store *gpkg.Store) error) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "fixture.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := fill(ctx, store); err != nil {
		t.Fatal(err)
	}
	fail := new(atomic.Bool)
	srv := api.New(api.Config{Store: flakyStore{store, fail}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fixture{url: hs.URL, store: store, srv: srv, failCommit: fail}
}

// demoPlanFixture is the demo data with a plan drawn by gridgen from the
// demo households (target 300) and published.
func demoPlanFixture(t *testing.T) *fixture {
	return newFixture(t, func(ctx context.Context, store *gpkg.Store) error {
		if _, err := demo.Load(ctx, store); err != nil {
			return err
		}
		in, err := gridgen.LoadInput(ctx, store, gridgen.Request{Target: 300, Resolution: 10})
		if err != nil {
			return err
		}
		start := time.Now()
		plan, err := gridgen.Generate(ctx, in, gridgen.Options{})
		if err != nil {
			return err
		}
		t.Logf("gridgen: %d grids in %v", len(plan.Grids), time.Since(start).Round(time.Millisecond))
		return publish(ctx, store, plan)
	})
}

func publish(ctx context.Context, store data.Store, plan data.Plan) error {
	tx, err := store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, err := tx.SavePlan(ctx, plan)
	if err != nil {
		return err
	}
	if err := tx.PublishPlan(ctx, id); err != nil {
		return err
	}
	return tx.Commit()
}

// Beijing lattice: a synthetic plan in China (so GCJ-02 and BD-09 offsets
// apply) of latticeCols × latticeRows square grids of latticeStep degrees,
// in two communities of one street.
const (
	latticeLon0, latticeLat0 = 116.38, 39.90
	latticeStep              = 0.005
	latticeCols, latticeRows = 10, 6
	streetCode               = "110101001"
)

func box(x0, y0, x1, y1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

// latticeGrid returns the code of the lattice grid at column c, row r.
func latticeGrid(c, r int) string {
	return fmt.Sprintf("%s%03d%03d", streetCode, 1+c/(latticeCols/2), 1+r*latticeCols+c)
}

// beijingFixture builds the lattice with the given households and cameras.
func beijingFixture(t *testing.T, hh []data.Household, cams []data.Camera) *fixture {
	return newFixture(t, func(ctx context.Context, store *gpkg.Store) error {
		tx, err := store.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		x1, y1 := latticeLon0+latticeCols*latticeStep, latticeLat0+latticeRows*latticeStep
		xm := latticeLon0 + latticeCols/2*latticeStep
		areas := []data.Area{
			{Code: streetCode, Name: "东华门街道", Level: 1, Geometry: box(latticeLon0, latticeLat0, x1, y1)},
			{Code: streetCode + "001", Name: "West", Level: 2, ParentCode: streetCode, Geometry: box(latticeLon0, latticeLat0, xm, y1)},
			{Code: streetCode + "002", Name: "East", Level: 2, ParentCode: streetCode, Geometry: box(xm, latticeLat0, x1, y1)},
		}
		for _, a := range areas {
			if _, err := tx.AddArea(ctx, a); err != nil {
				return err
			}
		}
		for _, h := range hh {
			if _, err := tx.AddHousehold(ctx, h); err != nil {
				return err
			}
		}
		for _, c := range cams {
			if _, err := tx.AddCamera(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		plan := data.Plan{Target: 300, Resolution: 10}
		for r := range latticeRows {
			for c := range latticeCols {
				x, y := latticeLon0+float64(c)*latticeStep, latticeLat0+float64(r)*latticeStep
				code := latticeGrid(c, r)
				plan.Grids = append(plan.Grids, data.Grid{Code: code, ParentCode: code[:len(code)-3], Name: "grid " + code[len(code)-3:],
					Households: 100, Worker: "worker " + code[len(code)-3:], Geometry: box(x, y, x+latticeStep, y+latticeStep)})
			}
		}
		return publish(ctx, store, plan)
	})
}

// do sends a request with an optional JSON body and returns the response
// and its body.
func (f *fixture) do(t testing.TB, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, out
}

// decode unmarshals a JSON body or fails the test showing it.
func decode(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %.300s: %v", body, err)
	}
}

// problemDetail returns the detail of a problem+json answer, failing the
// test if the answer is not one with the given status.
func problemDetail(t *testing.T, res *http.Response, body []byte, status int) string {
	t.Helper()
	var p struct {
		Status int
		Detail string
	}
	json.Unmarshal(body, &p)
	if res.StatusCode != status || res.Header.Get("Content-Type") != "application/problem+json" || p.Status != status {
		t.Errorf("got %d %s %.300s, want %d problem+json", res.StatusCode, res.Header.Get("Content-Type"), body, status)
	}
	return p.Detail
}
