package gpkg_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/storetest"
)

// TestContract runs the store contract shared with data/postgis.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) data.Store {
		s, err := gpkg.Open(context.Background(), filepath.Join(t.TempDir(), "contract.gpkg"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
