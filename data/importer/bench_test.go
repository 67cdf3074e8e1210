package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/wangge/wangge/data"
)

// householdsCSV generates n household rows around Vaduz, seeded, in the
// shape of the real files (OSM ids, 7 decimals).
func householdsCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("id,lon,lat,households\n")
	for i := range n {
		fmt.Fprintf(&b, "node/%d,%.7f,%.7f,%d\n", 300000000+i, 9.47+rng.Float64()*0.17, 47.04+rng.Float64()*0.23, 1+rng.IntN(40))
	}
	return b.Bytes()
}

// BenchmarkReadHouseholdsCSV measures the CSV reader alone, per file of
// 100k rows. Run with:
//
//	go test -run '^$' -bench ReadHouseholds -benchmem ./data/importer/
//
// On a 2-vCPU Xeon @ 2.8 GHz shared with other jobs (load ≈ 7), 2026-11:
//
//	BenchmarkReadHouseholdsCSV-2      ~780,000 rows/s  30 MB/s  1 alloc/row (the row's string)  49 B/row
//	BenchmarkReadHouseholdsGeoJSON-2  ~47,000 rows/s   6 MB/s   51 allocs/row                   2.1 KB/row
//
// The one CSV allocation is encoding/csv's string per record, which the
// fields (and the id) share. GeoJSON pays for encoding/json reflection on
// every member; it is the format for areas, not for a million households.
func BenchmarkReadHouseholdsCSV(b *testing.B) {
	const rows = 100_000
	input := householdsCSV(rows)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(input), "h.csv", data.LayerHouseholds)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadHouseholdsGeoJSON is the same for GeoJSON features.
func BenchmarkReadHouseholdsGeoJSON(b *testing.B) {
	const rows = 100_000
	input := householdsGeoJSON(rows)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(input), "h.geojson", data.LayerHouseholds)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// discardStore is a store that writes nowhere, so that an import's own
// memory can be measured.
type discardStore struct{ data.Store }

type discardTx struct{ data.Tx }

func (discardStore) Begin(context.Context) (data.Tx, error) { return discardTx{}, nil }
func (discardTx) AddHousehold(context.Context, data.Household) (int64, error) {
	return 1, nil
}
func (discardTx) Seq(context.Context) (int64, error) { return 0, nil }
func (discardTx) Commit() error                      { return nil }
func (discardTx) Rollback() error                    { return nil }

// householdsGeoJSON generates n household features, one per line.
func householdsGeoJSON(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","name":"households","features":[` + "\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"id":"node/%d","households":%d},"geometry":{"type":"Point","coordinates":[%.7f,%.7f]}}`,
			300000000+i, 1+rng.IntN(40), 9.47+rng.Float64()*0.17, 47.04+rng.Float64()*0.23)
	}
	b.WriteString("\n]}\n")
	return b.Bytes()
}

// TestImportFlatMemory imports many rows into a store that keeps nothing
// and checks that the heap does not grow with the number of rows.
func TestImportFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300k rows")
	}
	for _, format := range []struct {
		name string
		gen  func(int) []byte
		rows int
	}{{"h.csv", householdsCSV, 300_000}, {"h.geojson", householdsGeoJSON, 100_000}} {
		t.Run(format.name, func(t *testing.T) { testFlatMemory(t, format.name, format.gen, format.rows) })
	}
}

func testFlatMemory(t *testing.T, name string, gen func(int) []byte, rows int) {
	heapAfter := func(rows int) uint64 {
		t.Helper()
		input := gen(rows)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base, peak := ms.HeapAlloc, ms.HeapAlloc // the input is the test's, not the import's
		// Progress is called once per 64 KiB read: a fair sampling rate.
		res, err := Import(context.Background(), discardStore{}, data.LayerHouseholds, bytes.NewReader(input), name,
			Options{Progress: func(int64) {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}})
		if err != nil || res.Imported != rows {
			t.Fatalf("imported %d of %d: %v", res.Imported, rows, err)
		}
		runtime.KeepAlive(input)
		return peak - base
	}
	small, large := heapAfter(rows/10), heapAfter(rows)
	t.Logf("peak live heap above the input: %d KiB for %d rows, %d KiB for %d", small>>10, rows/10, large>>10, rows)
	// Ten times the rows may not need more than a little more memory.
	if large > small+4<<20 {
		t.Errorf("live heap %d KiB for %d rows vs %d KiB for %d: memory grows with the file", large>>10, rows, small>>10, rows/10)
	}
}
