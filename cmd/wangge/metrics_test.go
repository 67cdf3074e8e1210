package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeMetricsAddr: --metrics-addr serves the metrics without a key on
// a listener of its own, and only them; the API's /metrics needs admin.
func TestServeMetricsAddr(t *testing.T) {
	addr, maddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--metrics-addr", maddr, "--db", filepath.Join(t.TempDir(), "m.gpkg")}, io.Discard, &errb)
	}()
	get := func(url string) (int, string) {
		t.Helper()
		var res *http.Response
		var err error
		for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(50 * time.Millisecond) {
			if res, err = http.Get(url); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, errb.String())
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("http://" + addr + "/metrics"); code != http.StatusUnauthorized {
		t.Errorf("API /metrics without a key: %d, want 401", code)
	}
	code, body := get("http://" + maddr + "/metrics")
	if code != 200 || !strings.Contains(body, `wangge_http_requests_total{code="401",method="GET",route="/metrics"} 1`) || !strings.Contains(body, "wangge_feed_healthy 1") {
		t.Errorf("--metrics-addr /metrics: %d\n%s", code, body)
	}
	if code, _ := get("http://" + maddr + "/collections"); code != http.StatusNotFound {
		t.Errorf("--metrics-addr serves more than metrics: /collections %d", code)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d:\n%s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if _, err := http.Get("http://" + maddr + "/metrics"); err == nil {
		t.Errorf("the metrics listener outlived serve")
	}
}
