package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // raw reads of the file, beside the store's own

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
)

// The kill -9 tests (the GeoPackage and the PostGIS store side by side): a write (an import, a plan publish) is killed with
// SIGKILL at several points of its run, and after each kill the store must
// open, hold the state before the write or after it whole, and serve.
// Kill times are fractions of a full run measured first, so they fall in
// the reading, the writing and the commit whatever the machine's speed;
// the assertions hold for any kill time, so a kill that lands before the
// process starts writing or after it ends is a weaker test, never a
// failure.

// Kill times as fractions of a full run's duration. A plan is written in
// the last moments of gridgen's run, so its kills crowd there.
var (
	importKills  = []float64{0.2, 0.6, 0.9, 0.97}
	publishKills = []float64{0.5, 0.9, 0.97}
)

// durabilityRows is the size of the CSV imported and killed: about 2.5 s
// of import on the benchmark machine, as is a third of it with -race.
func durabilityRows() int {
	if raceBuild() {
		return 35_000
	}
	return 100_000
}

// raceBuild reports whether this test binary was built with -race.
func raceBuild() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// buildWangge builds this command into a temporary directory and returns
// the binary's path. It is built as the test is (-race or not), so the
// packages compiled for the test are reused rather than built again.
func buildWangge(t *testing.T) string {
	t.Helper()
	return goBuild(t, raceBuild())
}

// buildShipped builds this command as users run it, without the race
// detector, for the tests that hold it to a wall-clock bound (a change in
// every view within a second): the detector slows the follower five- to
// tenfold, and the bound is the product's, not the detector's. The
// follower's concurrency is checked under -race in-process by the live and
// api tests. `make build` reuses these packages afterwards.
func buildShipped(t *testing.T) string {
	t.Helper()
	return goBuild(t, false)
}

func goBuild(t *testing.T, race bool) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wangge")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// after returns when a kill after d is due.
func after(d time.Duration) func() <-chan time.Time {
	return func() <-chan time.Time { return time.After(d) }
}

// onWAL returns when a kill is due d after the GeoPackage's write-ahead log
// starts to grow: a small transaction (a plan) keeps its pages in memory
// until the commit writes them to the log, so this kills the process in
// the middle of its commit. It gives up (never fires) after limit.
func onWAL(db string, d, limit time.Duration) func() <-chan time.Time {
	return func() <-chan time.Time {
		c := make(chan time.Time, 1)
		go func() {
			for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(200 * time.Microsecond) {
				if st, err := os.Stat(db + "-wal"); err == nil && st.Size() > 0 {
					time.Sleep(d)
					c <- time.Now()
					return
				}
			}
		}()
		return c
	}
}

// killed runs the binary with args and sends it SIGKILL when at says (if it
// is still running); it reports whether the kill came before the process
// ended. A process that ends on its own must succeed.
func killed(t *testing.T, bin string, at func() <-chan time.Time, args ...string) bool {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "WANGGE_LOG_FORMAT=text")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return false
	case <-at():
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return true
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return false // ended between the timer and the signal
}

// timed runs the binary to its end and returns how long it took.
func timed(t *testing.T, bin string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// writeHouseholds writes n household rows with ids that start with prefix,
// over Liechtenstein, so they fall in the demo areas.
func writeHouseholds(t *testing.T, path, prefix string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,lon,lat,households")
	x := uint64(len(prefix)) + 1
	for i := range n {
		x = x*6364136223846793005 + 1442695040888963407 // a fixed LCG: the same file every run
		lon := 9.47 + float64(x>>40)/float64(1<<24)*0.16
		lat := 47.05 + float64(x>>16&0xffffff)/float64(1<<24)*0.22
		fmt.Fprintf(w, "%s%d,%.6f,%.6f,%d\n", prefix, i, lon, lat, 1+i%3)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// openAny opens the store at db (a GeoPackage path or a postgres:// URL).
func openAny(t *testing.T, db string) data.Store {
	t.Helper()
	s, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatalf("store does not open after the kill: %v", err)
	}
	return s
}

// checkGPKG checks what only a GeoPackage file has: SQLite's integrity,
// each layer's R-tree holding one entry per feature, the R-tree triggers
// in place (an import drops the insert trigger inside its transaction), and
// that GDAL reads the file.
func checkGPKG(t *testing.T, db string, want map[data.Layer]int) {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+db+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var ok string
	if err := conn.QueryRow(`PRAGMA quick_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("quick_check: %q %v", ok, err)
	}
	for _, l := range []data.Layer{data.LayerHouseholds, data.LayerAreas, data.LayerGrids} {
		var rows, index, triggers int
		if err := conn.QueryRow(`SELECT count(*) FROM ` + string(l)).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(`SELECT count(*) FROM rtree_` + string(l) + `_geom`).Scan(&index); err != nil {
			t.Fatal(err)
		}
		if rows != index {
			t.Errorf("%s: %d rows but %d R-tree entries", l, rows, index)
		}
		if err := conn.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?`, "rtree_"+string(l)+"_geom_%").Scan(&triggers); err != nil {
			t.Fatal(err)
		}
		if triggers < 4 {
			t.Errorf("%s: %d R-tree triggers left", l, triggers)
		}
	}
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		return
	}
	out, err := exec.Command(ogrinfo, "-ro", "-so", db, "households").CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Feature Count: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("ogrinfo: no feature count:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != want[data.LayerHouseholds] {
		t.Errorf("ogrinfo counts %d households, the store %d", n, want[data.LayerHouseholds])
	}
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serves starts `wangge serve` on db, waits for /readyz to answer 200 and
// returns the answer to GET path (anonymous requests act as viewers).
func serves(t *testing.T, bin, db, path string) []byte {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--db", db, "--addr", addr, "--public-read", "--rate-limit", "0")
	log := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	waitReady(t, addr, log)
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return body
}

// counts returns each layer's feature count and the import audit entries.
func counts(t *testing.T, s data.Store) (map[data.Layer]int, int) {
	t.Helper()
	ctx := context.Background()
	out := map[data.Layer]int{}
	for _, l := range data.Layers() {
		n, err := s.Count(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		out[l] = n
	}
	_, audits, err := s.AuditLog(ctx, data.AuditQuery{Action: "import.households", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return out, audits
}

func TestKillDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test: builds the binary and imports 100,000 rows several times")
	}
	bin := buildWangge(t)
	t.Run("gpkg", func(t *testing.T) {
		t.Parallel()
		killImport(t, bin, filepath.Join(t.TempDir(), "kill.gpkg"))
	})
	t.Run("postgis", func(t *testing.T) {
		t.Parallel()
		killImport(t, bin, storetest.PostgresSchema(t))
	})
}

// killImport imports a CSV once to the end, to time it, then again with a
// new id prefix each time, killed at fractions of that time. After every
// kill the households are as many as before or as many plus the whole file.
func killImport(t *testing.T, bin, db string) {
	rows := durabilityRows()
	dir := t.TempDir()
	csv := filepath.Join(dir, "h.csv")
	writeHouseholds(t, csv, "full-", rows)
	full := timed(t, bin, "import", "households", csv, "--db", db)
	t.Logf("full import of %d rows: %v", rows, full.Round(time.Millisecond))
	s := openAny(t, db)
	prev, prevAudits := counts(t, s)
	s.Close()
	if prev[data.LayerHouseholds] != rows || prevAudits != 1 {
		t.Fatalf("after the full import: %d households, %d audit entries", prev[data.LayerHouseholds], prevAudits)
	}
	for i, frac := range importKills {
		csv := filepath.Join(dir, fmt.Sprintf("h%d.csv", i))
		writeHouseholds(t, csv, fmt.Sprintf("k%d-", i), rows)
		d := time.Duration(float64(full) * frac)
		wasKilled := killed(t, bin, after(d), "import", "households", csv, "--db", db)
		s := openAny(t, db)
		now, audits := counts(t, s)
		s.Close()
		got, before := now[data.LayerHouseholds], prev[data.LayerHouseholds]
		committed := got == before+rows
		t.Logf("kill at %v (%.0f%%): killed %v, households %d → %d", d.Round(time.Millisecond), frac*100, wasKilled, before, got)
		if got != before && !committed {
			t.Fatalf("after the kill: %d households, want %d (old) or %d (new)", got, before, before+rows)
		}
		if !wasKilled && !committed {
			t.Fatalf("import ended on its own but %d households, want %d", got, before+rows)
		}
		// The audit entry commits with the rows or not at all.
		if wantAudits := prevAudits + map[bool]int{true: 1}[committed]; audits != wantAudits {
			t.Fatalf("%d import audit entries, want %d", audits, wantAudits)
		}
		for _, l := range data.Layers() {
			if l != data.LayerHouseholds && now[l] != prev[l] {
				t.Fatalf("%s changed from %d to %d", l, prev[l], now[l])
			}
		}
		if !postgis.IsURL(db) {
			checkGPKG(t, db, now)
		}
		prev, prevAudits = now, audits
	}
	serves(t, bin, db, "/readyz")
}

func TestKillDuringPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test: builds the binary and generates plans several times")
	}
	bin := buildWangge(t)
	t.Run("gpkg", func(t *testing.T) {
		t.Parallel()
		killPublish(t, bin, filepath.Join(t.TempDir(), "kill.gpkg"))
	})
	t.Run("postgis", func(t *testing.T) {
		t.Parallel()
		killPublish(t, bin, storetest.PostgresSchema(t))
	})
}

// planState is what the store says about plans.
type planState struct {
	plans     int
	published int64
	grids     int // the published plan's
}

// checkPlans checks that every stored plan is whole (as many grids as its
// report says), that exactly one is published, and returns the state.
func checkPlans(t *testing.T, s data.Store) planState {
	t.Helper()
	ctx := context.Background()
	plans, err := s.Plans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var st planState
	st.plans = len(plans)
	published := 0
	for _, p := range plans {
		full, err := s.Plan(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Grids) != full.Report.Grids || full.Report.Grids == 0 {
			t.Fatalf("plan %d: %d grids, its report says %d", p.ID, len(full.Grids), full.Report.Grids)
		}
		if p.Published {
			published++
			st.published, st.grids = p.ID, len(full.Grids)
		}
	}
	if published != 1 {
		t.Fatalf("%d plans published, want exactly 1", published)
	}
	pp, err := s.PublishedPlan(ctx)
	if err != nil || pp.ID != st.published || len(pp.Grids) != st.grids {
		t.Fatalf("published plan %d with %d grids, want %d with %d (%v)", pp.ID, len(pp.Grids), st.published, st.grids, err)
	}
	return st
}

// killPublish generates and publishes a plan on the demo data once to the
// end, to time it, then again killed at fractions of that time: after
// every kill exactly one plan is published, the old one or the new one,
// and each plan has all its grids.
func killPublish(t *testing.T, bin, db string) {
	for _, imp := range [][2]string{{"areas", "boundaries.geojson"}, {"households", "households.csv"}} {
		if out, err := exec.Command(bin, "import", imp[0], filepath.Join("..", "..", "data", "demo", imp[1]), "--db", db).CombinedOutput(); err != nil {
			t.Fatalf("import %s: %v\n%s", imp[0], err, out)
		}
	}
	gridgen := []string{"gridgen", "--target", "300", "--publish", "--db", db}
	full := timed(t, bin, gridgen...)
	t.Logf("full gridgen --publish: %v", full.Round(time.Millisecond))
	s := openAny(t, db)
	prev := checkPlans(t, s)
	layers, _ := counts(t, s)
	s.Close()
	type kill struct {
		what string
		at   func() <-chan time.Time
	}
	var kills []kill
	for _, frac := range publishKills {
		kills = append(kills, kill{fmt.Sprintf("at %.0f%% of a full run", frac*100), after(time.Duration(float64(full) * frac))})
	}
	if !postgis.IsURL(db) {
		for _, d := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond} {
			kills = append(kills, kill{fmt.Sprintf("%v into the commit", d), onWAL(db, d, 3*full)})
		}
	}
	for _, k := range kills {
		wasKilled := killed(t, bin, k.at, gridgen...)
		s := openAny(t, db)
		now := checkPlans(t, s)
		s.Close()
		t.Logf("kill %s: killed %v, plans %d → %d, published %d → %d", k.what, wasKilled, prev.plans, now.plans, prev.published, now.published)
		switch {
		case now.plans == prev.plans && now.published == prev.published:
			if !wasKilled {
				t.Fatal("gridgen ended on its own but stored no plan")
			}
		case now.plans == prev.plans+1 && now.published > prev.published:
		default:
			t.Fatalf("plans %d → %d, published %d → %d: neither the old state nor the new", prev.plans, now.plans, prev.published, now.published)
		}
		if !postgis.IsURL(db) {
			checkGPKG(t, db, layers)
		}
		prev = now
	}
	body := serves(t, bin, db, "/collections/grids/items?limit=1")
	var fc struct {
		NumberMatched int `json:"numberMatched"`
	}
	if err := json.Unmarshal(body, &fc); err != nil || fc.NumberMatched != prev.grids {
		t.Fatalf("grids collection: %d grids, the published plan has %d (%v)", fc.NumberMatched, prev.grids, err)
	}
}
