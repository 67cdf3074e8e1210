package gpkg_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/importer"
	"github.com/wangge/wangge/data/storetest"
)

// Issue 17: while a store has the file open, the .gpkg file alone (copied,
// or read by a tool that ignores the WAL) must be a complete GeoPackage
// holding what was committed up to the last checkpoint.

// copyAlone copies the GeoPackage file at path, without its -wal and -shm
// files, into a new directory and returns the copy's path.
func copyAlone(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cp
}

// fileHeader is what a GeoPackage's first page says of itself.
type fileHeader struct {
	size          int64
	appID         uint32 // 0x47504B47 "GPKG"
	userVersion   uint32 // 10300
	write, read   byte   // file format versions: 1 rollback journal, 2 WAL
	pages         uint32 // database size in pages
	pageSize      uint32
	hasWAL, hasSH bool // -wal and -shm files beside it
}

func readHeader(t *testing.T, path string) fileHeader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [100]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	fi, _ := f.Stat()
	h := fileHeader{size: fi.Size(), appID: binary.BigEndian.Uint32(b[68:]), userVersion: binary.BigEndian.Uint32(b[60:]),
		write: b[18], read: b[19], pages: binary.BigEndian.Uint32(b[28:]), pageSize: uint32(binary.BigEndian.Uint16(b[16:]))}
	if h.pageSize == 1 {
		h.pageSize = 65536
	}
	_, err = os.Stat(path + "-wal")
	h.hasWAL = err == nil
	_, err = os.Stat(path + "-shm")
	h.hasSH = err == nil
	return h
}

// checkHeader fails unless the file at path begins as a GeoPackage 1.3 and
// is as long as its header says.
func checkHeader(t *testing.T, path string) fileHeader {
	t.Helper()
	h := readHeader(t, path)
	if h.appID != 0x47504B47 || h.userVersion != 10300 {
		t.Errorf("%s: application_id %#x, user_version %d; want 0x47504b47 (GPKG), 10300", path, h.appID, h.userVersion)
	}
	if int64(h.pages)*int64(h.pageSize) != h.size {
		t.Errorf("%s: %d bytes, the header says %d pages of %d", path, h.size, h.pages, h.pageSize)
	}
	return h
}

// rawDB opens a file with a plain SQLite connection (no wangge functions).
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// openWith opens a new store at a new path with options.
func openWith(t *testing.T, o gpkg.Options) (*gpkg.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "live.gpkg")
	s, err := gpkg.OpenWith(context.Background(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// A new file carries its GeoPackage header in the file itself at once.
func TestNewFileIsComplete(t *testing.T) {
	_, path := openWith(t, gpkg.Options{CheckpointEvery: -1})
	cp := copyAlone(t, path)
	checkHeader(t, cp)
	storetest.ValidateGPKG(t, cp)
	if n := count(t, rawDB(t, cp), `SELECT count(*) FROM gpkg_contents`); n != 9 {
		t.Errorf("copy of a new file: %d layers in gpkg_contents, want 9 (7 layers, plans and workers)", n)
	}
}

// An import and a plan saved and published are in the file alone as soon
// as they are committed, without waiting for the periodic checkpoint (off
// here) or SQLite's automatic one (after 1,000 pages).
func TestBulkWritesReachTheFile(t *testing.T) {
	ctx := context.Background()
	s, path := openWith(t, gpkg.Options{CheckpointEvery: -1})
	const rows = 2000
	res, err := importer.Import(ctx, s, data.LayerHouseholds, bytes.NewReader(householdsCSV(rows)), "h.csv", importer.Options{})
	if err != nil || res.Imported != rows {
		t.Fatalf("import: %+v, %v", res, err)
	}
	cp := copyAlone(t, path)
	checkHeader(t, cp)
	storetest.ValidateGPKG(t, cp)
	if n := count(t, rawDB(t, cp), `SELECT count(*) FROM households`); n != rows {
		t.Errorf("copy of the file after an import of %d households holds %d", rows, n)
	}

	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tx.SavePlan(ctx, data.Plan{Target: 300, Resolution: 9, Grids: []data.Grid{
		{Code: "A001", ParentCode: "A", Households: 4, AreaM2: 1e6, Cells: []uint64{0x89283082803ffff}, Geometry: square}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PublishPlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	cp = copyAlone(t, path)
	storetest.ValidateGPKG(t, cp)
	if n := count(t, rawDB(t, cp), `SELECT count(*) FROM plans WHERE published = 1 AND id = ?`, id); n != 1 {
		t.Errorf("copy of the file after plan %d was published: not published there", id)
	}
}

// One small write (an API hazard report) reaches the file alone by the
// store's periodic checkpoint.
func TestPeriodicCheckpoint(t *testing.T) {
	s, path := openWith(t, gpkg.Options{CheckpointEvery: 20 * time.Millisecond})
	addHazards(t, s, "tick", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		cp := copyAlone(t, path)
		n := count(t, rawDB(t, cp), `SELECT count(*) FROM hazards WHERE source_id = 'tick/0'`)
		if n == 1 {
			storetest.ValidateGPKG(t, cp)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a hazard written 5 s ago is not in the file alone: no periodic checkpoint")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close puts what this store wrote into the file even while another
// process (here another store) keeps the WAL open, when SQLite's own
// checkpoint at the last close does not happen.
func TestCloseCheckpoints(t *testing.T) {
	ctx := context.Background()
	_, path := openWith(t, gpkg.Options{CheckpointEvery: -1})
	other, err := gpkg.OpenWith(ctx, path, gpkg.Options{CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	addHazards(t, other, "closed", 3)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
	cp := copyAlone(t, path)
	if n := count(t, rawDB(t, cp), `SELECT count(*) FROM hazards`); n != 3 {
		t.Errorf("after a store closed, the file alone holds %d of its 3 hazards", n)
	}
}

// addHazards writes n hazards prefix/0… in one transaction.
func addHazards(t testing.TB, s *gpkg.Store, prefix string, n int) {
	t.Helper()
	if err := writeHazards(context.Background(), s, prefix, 0, n); err != nil {
		t.Fatal(err)
	}
}

func writeHazards(ctx context.Context, s *gpkg.Store, prefix string, from, n int) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		h := data.Hazard{ID: fmt.Sprintf("%s/%d", prefix, i), Point: orb.Point{9.5 + float64(i%100)*0.001, 47.1 + float64(i%97)*0.001},
			Category: "fire", Severity: 1 + i%3, Status: "reported", ReportedAt: at}
		if _, err := tx.AddHazard(ctx, h); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func writeHouseholds(ctx context.Context, s *gpkg.Store, from, n int) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := from; i < from+n; i++ {
		h := data.Household{ID: fmt.Sprintf("w/%d", i), Point: orb.Point{9.5 + float64(i%100)*0.001, 47.1 + float64(i%89)*0.001}, Households: 1}
		if _, err := tx.AddHousehold(ctx, h); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// A backup taken while another store on the same file writes hazards three
// to a transaction and households a hundred at a time (the bulk path) is
// one committed state: counts that are whole transactions, a change feed
// that records exactly the rows there, a file that passes SQLite's
// integrity check, opens as a store and passes GDAL's validator; one file
// with no WAL.
func TestBackupDuringWrites(t *testing.T) {
	ctx := context.Background()
	s, path := openWith(t, gpkg.Options{})
	fill(t, s) // 3 hazards, 2 households
	writer, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()

	const hazardsPerTx, householdsPerTx = 3, 100
	var committedTx atomic.Int64 // transactions of the writer committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := writeHazards(ctx, writer, "w", i*hazardsPerTx, hazardsPerTx); err != nil {
				writeErr = err
				return
			}
			if err := writeHouseholds(ctx, writer, i*householdsPerTx, householdsPerTx); err != nil {
				writeErr = err
				return
			}
			committedTx.Add(1)
		}
	}()

	dir := t.TempDir()
	var outs []string
	for i := range 3 {
		time.Sleep(150 * time.Millisecond)
		out := filepath.Join(dir, fmt.Sprintf("backup%d.gpkg", i))
		before := committedTx.Load()
		if err := s.Backup(ctx, out, false); err != nil {
			t.Fatal(err)
		}
		after := committedTx.Load()
		outs = append(outs, out)
		t.Logf("backup %d taken between %d and %d committed writer rounds", i, before, after)
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writer: %v", writeErr)
	}
	if committedTx.Load() == 0 {
		t.Fatal("the writer committed nothing during the backups")
	}

	seen := map[int]bool{}
	for _, out := range outs {
		h := checkHeader(t, out)
		if h.hasWAL || h.hasSH || h.write != 1 || h.read != 1 {
			t.Errorf("%s: -wal %v, -shm %v, format versions %d/%d: want one file in rollback mode (1/1)", out, h.hasWAL, h.hasSH, h.write, h.read)
		}
		storetest.ValidateGPKG(t, out) // before anything opens it for writing
		db := rawDB(t, out)
		var check string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Errorf("%s: integrity_check %q, %v", out, check, err)
		}
		hz := count(t, db, `SELECT count(*) FROM hazards`) - 3
		hh := count(t, db, `SELECT count(*) FROM households`) - 2
		// Each round commits hazards, then households: a committed state
		// has k rounds of hazards and k or k-1 of households.
		k := hz / hazardsPerTx
		if hz%hazardsPerTx != 0 || hh%householdsPerTx != 0 || (hh/householdsPerTx != k && hh/householdsPerTx != k-1) {
			t.Errorf("%s: %d hazards and %d households written: not a committed state (%d, %d a transaction)", out, hz, hh, hazardsPerTx, householdsPerTx)
		}
		seen[hz] = true
		for _, layer := range []string{"hazards", "households"} {
			rows := count(t, db, `SELECT count(*) FROM `+layer)
			fed := count(t, db, `SELECT count(*) FROM wangge_changes WHERE layer = ? AND op = ?`, layer, data.OpInsert)
			if rows != fed {
				t.Errorf("%s: %d %s, but the change feed records %d inserts", out, rows, layer, fed)
			}
			indexed := count(t, db, fmt.Sprintf(`SELECT count(*) FROM rtree_%s_geom`, layer))
			if rows != indexed {
				t.Errorf("%s: %d %s, %d in the R-tree", out, rows, layer, indexed)
			}
		}
		db.Close()
		b, err := gpkg.Open(ctx, out)
		if err != nil {
			t.Fatalf("%s does not open as a store: %v", out, err)
		}
		first, last, err := b.FeedBounds(ctx)
		if err != nil || first > last {
			t.Errorf("%s: feed bounds %d…%d, %v", out, first, last, err)
		}
		if n, err := b.Count(ctx, data.LayerHazards); err != nil || n != hz+3 {
			t.Errorf("%s: the store counts %d hazards (%v), the file %d", out, n, err, hz+3)
		}
		b.Close()
	}
	if len(seen) < 2 {
		t.Logf("the backups all hold %d rounds: the writer was slow", len(seen))
	}
}

// noTemp fails if dir holds a backup's temporary file.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".tmp") || strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("a failed backup left %s in %s", e.Name(), dir)
		}
	}
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	s, path := openWith(t, gpkg.Options{})
	fill(t, s)
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.gpkg")
	writeExisting := func() {
		if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name    string
		ctx     context.Context
		out     string
		replace bool
		setup   func()
		code    string // data error code, or "" for any error
	}{
		{"exists", ctx, existing, false, writeExisting, data.ECONFLICT},
		{"itself", ctx, path, true, nil, data.EINVALID},
		{"in use", ctx, existing, true, func() {
			writeExisting()
			os.WriteFile(existing+"-wal", nil, 0o644)
		}, data.ECONFLICT},
		{"no directory", ctx, filepath.Join(dir, "missing", "b.gpkg"), false, nil, ""},
		{"cancelled", cancelled, filepath.Join(dir, "cancelled.gpkg"), false, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			err := s.Backup(c.ctx, c.out, c.replace)
			if err == nil {
				t.Fatalf("backup to %s: no error", c.out)
			}
			if !strings.Contains(err.Error(), c.out) && !strings.Contains(data.ErrorMessage(err), c.out) {
				t.Errorf("the error does not name %s: %v", c.out, err)
			}
			var de *data.Error
			if c.code != "" && (!errors.As(err, &de) || de.Code != c.code) {
				t.Errorf("error %v, want code %s", err, c.code)
			}
			if c.out == existing {
				if b, _ := os.ReadFile(existing); string(b) != "keep me" {
					t.Errorf("%s was changed by a refused backup", existing)
				}
				os.Remove(existing + "-wal")
			}
			if _, err := os.Stat(c.out); c.out != existing && c.out != path && err == nil {
				t.Errorf("a failed backup left %s", c.out)
			}
			noTemp(t, dir)
		})
	}

	// With replace, an existing file not in use is replaced whole.
	writeExisting()
	if err := s.Backup(ctx, existing, true); err != nil {
		t.Fatal(err)
	}
	checkHeader(t, existing)
	if n := count(t, rawDB(t, existing), `SELECT count(*) FROM hazards`); n != 3 {
		t.Errorf("replaced backup holds %d hazards, want 3", n)
	}
	noTemp(t, dir)
}

// BenchmarkHazardWriteNormal and BenchmarkHazardWriteDurable are one
// hazard written in its own transaction (an API report without the audit
// entry and the service), with synchronous=NORMAL (the default) and FULL
// (serve --durable, an fsync of the WAL at every commit):
//
//	go test -run '^$' -bench HazardWrite -benchtime 2s ./data/gpkg/
//
// The file is in the test's temporary directory: on a tmpfs fsync costs
// nothing and the two are alike; set TMPDIR to a directory on the disk the
// store would live on. On 2 vCPUs (Oxide Virtual Turin-like, ext4 on a
// virtual disk) at load ≈ 10 (other builds and tests), medians of five
// runs interleaved, 2026-12:
//
//	Normal                              0.62 ms/write   4.3 kB  100 allocs
//	Normal, no periodic checkpoint      0.65 ms/write
//	Durable (synchronous=FULL)          2.00 ms/write   4.3 kB   99 allocs
func BenchmarkHazardWriteNormal(b *testing.B)  { benchHazardWrite(b, gpkg.Options{}) }
func BenchmarkHazardWriteDurable(b *testing.B) { benchHazardWrite(b, gpkg.Options{Durable: true}) }

func benchHazardWrite(b *testing.B, o gpkg.Options) {
	ctx := context.Background()
	s, err := gpkg.OpenWith(ctx, filepath.Join(b.TempDir(), "bench.gpkg"), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := writeHazards(ctx, s, "seed", 0, 10_000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := writeHazards(ctx, s, "bench", i, 1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
