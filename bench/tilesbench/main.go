// Command tilesbench sets up and probes the tile benchmark of
// bench/tiles.sh (docs/BENCHMARKS.md, "tiles").
//
//	tilesbench serve -households F -dir D -pg URL -cached ADDR -uncached ADDR
//
// draws a Montevideo plan with gridgen (one bbox parent, target 300), adds
// seeded synthetic hazards and cameras, stores it all in D/tiles.gpkg,
// loads the same grids and hazards into PostGIS (tables bench_grids,
// bench_hazards in EPSG:3857 with GiST indexes, and the function
// bench_tile(z, x, y) that pg_tileserv serves), writes the z10–z16 tile mix
// to D/mix.txt and serves wangge twice: with its tile cache and without.
//
//	tilesbench probe -dir D -url URL -suffix S [-twice]
//
// requests a sample of the mix per zoom one at a time and prints p50/p99
// and tile sizes; with -twice each tile is asked twice (cold, then cached).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/importer"
	"github.com/wangge/wangge/gridgen"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tilesbench serve|probe …")
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "probe":
		err = probe(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tilesbench:", err)
		os.Exit(1)
	}
}

func loadHouseholds(path string) ([]data.Household, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.ReadHouseholds(f, path)
}

// synthetic hazards: 70 % uniform over the bound, 30 % in five clusters of
// about 1 km, a year of reports; cameras uniform.
func synthetic(b orb.Bound, nHaz, nCam int, seed uint64) ([]data.Hazard, []data.Camera) {
	rng := rand.New(rand.NewPCG(seed, 42))
	var centres []orb.Point
	for range 5 {
		centres = append(centres, orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])})
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hz := make([]data.Hazard, nHaz)
	cats, statuses := data.DefaultTaxonomy().CategoryCodes(), data.Statuses()
	for i := range hz {
		var p orb.Point
		if rng.Float64() < 0.3 {
			c := centres[rng.IntN(len(centres))]
			p = orb.Point{c[0] + rng.NormFloat64()*0.005, c[1] + rng.NormFloat64()*0.004}
		} else {
			p = orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		}
		hz[i] = data.Hazard{ID: "syn-" + strconv.Itoa(i), Point: p, Category: cats[rng.IntN(len(cats))],
			Severity: 1 + rng.IntN(3), Status: statuses[rng.IntN(len(statuses))],
			ReportedAt: t0.Add(time.Duration(rng.IntN(365*24*60)) * time.Minute)}
	}
	cams := make([]data.Camera, nCam)
	for i := range cams {
		cams[i] = data.Camera{ID: "cam-" + strconv.Itoa(i), Point: orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])},
			Azimuth: float64(rng.IntN(360)), FOV: 30 + float64(rng.IntN(90)), RangeM: 30 + float64(rng.IntN(120)), Status: "online"}
	}
	return hz, cams
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	hhPath := fs.String("households", "../shared/data/montevideo/households.csv", "households CSV")
	dir := fs.String("dir", "/tmp/wangge-tiles-bench", "work directory")
	pgURL := fs.String("pg", "", "PostGIS database URL (scratch); empty to skip")
	cachedAddr := fs.String("cached", "127.0.0.1:18490", "address of the server with the tile cache")
	uncachedAddr := fs.String("uncached", "127.0.0.1:18491", "address of the server without it")
	nHaz := fs.Int("hazards", 60000, "synthetic hazards")
	nCam := fs.Int("cameras", 2000, "synthetic cameras")
	fs.Parse(args)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	hh, err := loadHouseholds(*hhPath)
	if err != nil {
		return err
	}
	b := orb.Bound{Min: hh[0].Point, Max: hh[0].Point}
	for _, h := range hh {
		b = b.Extend(h.Point)
	}
	b = b.Pad(1e-4)
	parent := data.Area{Code: "UY-MO", Name: "Montevideo", Level: 1, Geometry: orb.MultiPolygon{b.ToPolygon()}}
	start := time.Now()
	plan, err := gridgen.Generate(ctx, gridgen.Input{Households: hh, Parents: []data.Area{parent}, Target: 300}, gridgen.Options{})
	if err != nil {
		return err
	}
	fmt.Printf("gridgen: %d grids (res %d) from %d households in %v\n", len(plan.Grids), plan.Resolution, len(hh), time.Since(start).Round(time.Millisecond))
	hz, cams := synthetic(b, *nHaz, *nCam, 1)

	path := filepath.Join(*dir, "tiles.gpkg")
	os.Remove(path)
	store, err := gpkg.Open(ctx, path)
	if err != nil {
		return err
	}
	defer store.Close()
	tx, err := store.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.AddArea(ctx, parent); err != nil {
		return err
	}
	for _, h := range hz {
		if _, err := tx.AddHazard(ctx, h); err != nil {
			return err
		}
	}
	for _, c := range cams {
		if _, err := tx.AddCamera(ctx, c); err != nil {
			return err
		}
	}
	id, err := tx.SavePlan(ctx, plan)
	if err != nil {
		return err
	}
	if err := tx.PublishPlan(ctx, id); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if *pgURL != "" {
		if err := loadPostGIS(ctx, *pgURL, plan, hz); err != nil {
			return fmt.Errorf("postgis: %w", err)
		}
	}
	os.WriteFile(filepath.Join(*dir, "pg.ready"), nil, 0o644)
	if err := writeMix(filepath.Join(*dir, "mix.txt"), b); err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	errc := make(chan error, 2)
	for _, sv := range []struct {
		addr  string
		cache int
	}{{*cachedAddr, 0}, {*uncachedAddr, -1}} {
		// The peer has no auth either; planner, so that the probes may ask
		// for the cameras layer and bench/tiles.sh may write during a run.
		// Both listen on loopback only.
		srv := api.New(api.Config{Store: store, Logger: log, TileCacheBytes: sv.cache, Anonymous: data.RolePlanner})
		if err := srv.Load(ctx); err != nil {
			return err
		}
		hs := &http.Server{Addr: sv.addr, Handler: srv, ReadHeaderTimeout: 5 * time.Second}
		go func() { errc <- hs.ListenAndServe() }()
	}
	os.WriteFile(filepath.Join(*dir, "ready"), nil, 0o644)
	fmt.Println("serving", *cachedAddr, "(cached)", *uncachedAddr, "(uncached)")
	return <-errc
}

// writeMix writes the z10–z16 tile mix over the data bound, one z/x/y a
// line: every tile of z10–z13, and of z14–z16 a seeded sample weighted the
// way a dashboard pans (more tiles at deeper zooms, as each view needs
// more of them), 4,000 lines in all.
func writeMix(path string, b orb.Bound) error {
	rng := rand.New(rand.NewPCG(7, 7))
	var lines []string
	weights := map[maptile.Zoom]int{10: 40, 11: 120, 12: 300, 13: 600, 14: 900, 15: 1000, 16: 1040}
	for z := maptile.Zoom(10); z <= 16; z++ {
		lo, hi := maptile.At(orb.Point{b.Min[0], b.Max[1]}, z), maptile.At(orb.Point{b.Max[0], b.Min[1]}, z)
		var all []string
		for x := lo.X; x <= hi.X; x++ {
			for y := lo.Y; y <= hi.Y; y++ {
				all = append(all, fmt.Sprintf("%d/%d/%d", z, x, y))
			}
		}
		for i := range weights[z] {
			lines = append(lines, all[(i+rng.IntN(len(all)))%len(all)])
		}
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// loadPostGIS stores the grids and hazards in EPSG:3857 and creates
// bench_tile(z, x, y): the ST_AsMVT query pg_tileserv and Martin run, for
// the same two layers wangge draws, with hazards gathered into the same
// 16×16 bins per tile below zoom 14.
func loadPostGIS(ctx context.Context, url string, plan data.Plan, hz []data.Hazard) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE EXTENSION IF NOT EXISTS postgis`,
		`DROP TABLE IF EXISTS bench_grids, bench_hazards, bench_stage`,
		`CREATE TABLE bench_stage (k text, a text, b text, c text, n int, f float8, wkt text)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	var rows [][]any
	for _, g := range plan.Grids {
		dev := math.Round(1000*float64(g.Households-plan.Target)/float64(plan.Target)) / 10
		rows = append(rows, []any{"g", g.Code, g.Name, g.ParentCode, g.Households, dev, wkt.MarshalString(project.Geometry(g.Geometry.Clone(), project.WGS84.ToMercator))})
	}
	for _, h := range hz {
		rows = append(rows, []any{"h", h.ID, h.Category, string(h.Status), h.Severity, 0.0, wkt.MarshalString(project.Point(h.Point, project.WGS84.ToMercator))})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bench_stage"}, []string{"k", "a", "b", "c", "n", "f", "wkt"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	for _, q := range []string{
		`CREATE TABLE bench_grids AS SELECT a AS code, b AS name, c AS parent_code, n AS households, f AS deviation_pct,
			ST_Multi(ST_GeomFromText(wkt, 3857))::geometry(MultiPolygon, 3857) AS geom FROM bench_stage WHERE k = 'g'`,
		`CREATE TABLE bench_hazards AS SELECT a AS id, b AS category, c AS status, n AS severity,
			ST_GeomFromText(wkt, 3857)::geometry(Point, 3857) AS geom FROM bench_stage WHERE k = 'h'`,
		`DROP TABLE bench_stage`,
		`CREATE INDEX ON bench_grids USING gist (geom)`,
		`CREATE INDEX ON bench_hazards USING gist (geom)`,
		`ANALYZE bench_grids`, `ANALYZE bench_hazards`,
		`CREATE OR REPLACE FUNCTION bench_tile(z integer, x integer, y integer) RETURNS bytea AS $$
		WITH b AS (SELECT ST_TileEnvelope(z, x, y) AS env, ST_TileEnvelope(z, x, y, margin => 64.0/4096) AS q),
		g AS (SELECT ST_AsMVTGeom(t.geom, b.env, 4096, 64, true) AS geom, code, name, parent_code, households, deviation_pct
			FROM bench_grids t, b WHERE t.geom && b.q),
		p AS (SELECT ST_AsMVTGeom(t.geom, b.env, 4096, 64, true) AS geom, id, category, severity, status
			FROM bench_hazards t, b WHERE z >= 14 AND t.geom && b.q),
		c AS (SELECT ST_AsMVTGeom(ST_Centroid(ST_Collect(t.geom)), b.env, 4096, 64, true) AS geom, count(*) AS count,
				count(*) FILTER (WHERE status = 'open') AS open, max(severity) AS max_severity, mode() WITHIN GROUP (ORDER BY category) AS category
			FROM bench_hazards t, b WHERE z < 14 AND t.geom && b.q
			GROUP BY b.env, floor((ST_X(t.geom) - ST_XMin(b.env)) / ((ST_XMax(b.env) - ST_XMin(b.env)) / 16)),
				floor((ST_Y(t.geom) - ST_YMin(b.env)) / ((ST_YMax(b.env) - ST_YMin(b.env)) / 16)))
		SELECT (SELECT coalesce(ST_AsMVT(g, 'grids', 4096, 'geom'), '') FROM g)
			|| (SELECT coalesce(ST_AsMVT(p, 'hazards', 4096, 'geom'), '') FROM p)
			|| (SELECT coalesce(ST_AsMVT(c, 'hazards', 4096, 'geom'), '') FROM c)
		$$ LANGUAGE sql STABLE PARALLEL SAFE`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%.60s: %w", q, err)
		}
	}
	return nil
}

func probe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	dir := fs.String("dir", "/tmp/wangge-tiles-bench", "work directory")
	base := fs.String("url", "", "URL prefix before z/x/y")
	suffix := fs.String("suffix", ".mvt", "URL suffix after z/x/y")
	twice := fs.Bool("twice", false, "ask each tile twice: cold, then cached")
	per := fs.Int("n", 150, "tiles per zoom")
	name := fs.String("name", "", "label")
	fs.Parse(args)
	b, err := os.ReadFile(filepath.Join(*dir, "mix.txt"))
	if err != nil {
		return err
	}
	byZoom := map[string][]string{}
	seen := map[string]bool{}
	for _, l := range strings.Fields(string(b)) {
		z, _, _ := strings.Cut(l, "/")
		if !seen[l] && len(byZoom[z]) < *per {
			byZoom[z] = append(byZoom[z], l)
			seen[l] = true
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
	fetch := func(u string) (time.Duration, int, error) {
		t0 := time.Now()
		res, err := client.Get(u)
		if err != nil {
			return 0, 0, err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 && res.StatusCode != 204 {
			return 0, 0, fmt.Errorf("%s: %d", u, res.StatusCode)
		}
		return time.Since(t0), int(n), nil
	}
	fmt.Printf("| %s | zoom | tiles | cold p50 | cold p99 | cached p50 | cached p99 | size median | size max |\n", *name)
	for z := 10; z <= 16; z++ {
		var cold, warm []time.Duration
		var sizes []int
		for _, l := range byZoom[strconv.Itoa(z)] {
			d, n, err := fetch(*base + l + *suffix)
			if err != nil {
				return err
			}
			cold, sizes = append(cold, d), append(sizes, n)
			if *twice {
				d, _, err := fetch(*base + l + *suffix)
				if err != nil {
					return err
				}
				warm = append(warm, d)
			}
		}
		slices.Sort(sizes)
		w50, w99 := "–", "–"
		if *twice {
			w50, w99 = ms(pct(warm, 50)), ms(pct(warm, 99))
		}
		fmt.Printf("| %s | %d | %d | %s | %s | %s | %s | %.1f KB | %.1f KB |\n", *name, z, len(cold), ms(pct(cold, 50)), ms(pct(cold, 99)), w50, w99,
			float64(sizes[len(sizes)/2])/1024, float64(sizes[len(sizes)-1])/1024)
	}
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
