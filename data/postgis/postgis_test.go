package postgis_test

import (
	"context"
	"testing"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
)

func testURL(t testing.TB) string                     { return storetest.PostgresURL(t) }
func freshSchema(t testing.TB) string                 { return storetest.PostgresSchema(t) }
func withParam(t testing.TB, raw, k, v string) string { return storetest.WithParam(t, raw, k, v) }

func open(t testing.TB) *postgis.Store {
	t.Helper()
	s, err := postgis.Open(context.Background(), freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the store contract shared with data/gpkg.
func TestContract(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) data.Store { return open(t) })
}
