package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
)

// TestGridgenTakesThePlanLock: on a store shared by replicas, `wangge
// gridgen` waits its turn behind a server's plan job (the same lock), and
// says so, rather than generating a second plan at the same time.
func TestGridgenTakesThePlanLock(t *testing.T) {
	ctx := context.Background()
	url := storetest.PostgresSchema(t)
	holder, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	release, ok, err := holder.TryLockJob(ctx, "plan")
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	var out, errb bytes.Buffer
	err = runGridgen(ctx, []string{"--db", url, "--target", "300"}, &out, &errb)
	if data.ErrorCode(err) != data.ECONFLICT || !strings.Contains(data.ErrorMessage(err), "a plan is being generated") {
		t.Fatalf("gridgen while a plan job holds the lock: %v, want ECONFLICT naming the running plan", err)
	}
	release()
	// Free again: gridgen goes past the lock (and stops at the empty store).
	err = runGridgen(ctx, []string{"--db", url, "--target", "300"}, &out, &errb)
	if err == nil || strings.Contains(data.ErrorMessage(err), "a plan is being generated") {
		t.Fatalf("gridgen after the release: %v", err)
	}
}
