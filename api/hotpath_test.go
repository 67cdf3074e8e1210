package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing but the status and
// reuses its header map, so that a benchmark counts the server's own
// allocations and not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

// BenchmarkLocateChain is GET /v1/locate through Server.ServeHTTP with
// requests built beforehand and a writer that allocates nothing: what
// wangge's own request path costs on top of net/http, allocations
// included (BenchmarkLocateHandler also counts httptest's).
func BenchmarkLocateChain(b *testing.B) {
	srv, bound := montevideoServer(b)
	rng := rand.New(rand.NewPCG(7, 7))
	reqs := make([]*http.Request, 4096)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", fmt.Sprintf("/v1/locate?lon=%.7f&lat=%.7f",
			bound.Min[0]+rng.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1]+rng.Float64()*(bound.Max[1]-bound.Min[1])), nil)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		w.status, w.n = 0, 0
		srv.ServeHTTP(w, reqs[i%len(reqs)])
		if w.status != http.StatusOK || w.n == 0 {
			b.Fatalf("status %d, %d bytes", w.status, w.n)
		}
		i++
	}
}

// TestLocateAllocatesNothing: GET /v1/locate through ServeHTTP allocates
// nothing of wangge's own, in the grid and outside every grid: the writer
// is reused from request to request and the principal rides in it, not
// in a copy of the request.
func TestLocateAllocatesNothing(t *testing.T) {
	if raceDetector {
		t.Skip("allocations are counted without the race detector (make test runs this test so too)")
	}
	f := beijingFixture(t, nil, nil)
	c := center(0, 0)
	for _, path := range []string{fmt.Sprintf("/v1/locate?lon=%v&lat=%v", c[0], c[1]), "/v1/locate?lon=116.1&lat=39.5"} {
		req := httptest.NewRequest("GET", path, nil)
		w := &discardWriter{h: http.Header{}}
		request := func() {
			clear(w.h)
			w.status, w.n = 0, 0
			f.srv.ServeHTTP(w, req)
		}
		request()
		if n := testing.AllocsPerRun(1000, request); n != 0 || w.status != http.StatusOK || w.n == 0 {
			t.Errorf("%s: %v allocations a request (status %d, %d bytes)", path, n, w.status, w.n)
		}
	}
}
