// Command locateplan builds the data of the locate benchmark: a GeoPackage
// holding a Montevideo-sized plan drawn by gridgen from household points
// (one parent: the points' bounding box), published, and optionally the
// same grids in a PostGIS table with a GiST index, so that wangge and
// PostGIS answer the same question. It prints the plan's bound as
// "bbox minLon minLat maxLon maxLat" for the load generators.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/importer"
	"github.com/wangge/wangge/gridgen"
)

func main() {
	hhPath := flag.String("households", "../shared/data/montevideo/households.csv", "household CSV: id,lon,lat,households")
	out := flag.String("gpkg", "locate.gpkg", "GeoPackage to create (replaced if it exists)")
	pg := flag.String("pg", "", "PostgreSQL URL to load the grids into (table locate_grids), or empty")
	target := flag.Int("target", 300, "households per grid")
	flag.Parse()
	if err := run(context.Background(), *hhPath, *out, *pg, *target); err != nil {
		fmt.Fprintln(os.Stderr, "locateplan:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, hhPath, out, pgURL string, target int) error {
	hh, err := readHouseholds(hhPath)
	if err != nil {
		return err
	}
	b := hh[0].Point.Bound()
	for _, h := range hh {
		b = b.Extend(h.Point)
	}
	b = b.Pad(1e-4) // no point on the parent's edge
	parent := data.Area{Code: "UY-MO", Name: "Montevideo", Level: 1, Geometry: orb.MultiPolygon{b.ToPolygon()}}
	start := time.Now()
	plan, err := gridgen.Generate(ctx, gridgen.Input{Households: hh, Parents: []data.Area{parent}, Target: target}, gridgen.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gridgen: %d grids from %d points in %v\n", len(plan.Grids), len(hh), time.Since(start).Round(time.Millisecond))

	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	store, err := gpkg.Open(ctx, out)
	if err != nil {
		return err
	}
	defer store.Close()
	tx, err := store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.AddArea(ctx, parent); err != nil {
		return err
	}
	for _, h := range hh {
		if _, err := tx.AddHousehold(ctx, h); err != nil {
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
	if pgURL != "" {
		if err := loadPostGIS(ctx, pgURL, plan); err != nil {
			return err
		}
	}
	fmt.Printf("bbox %.7f %.7f %.7f %.7f\n", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	return nil
}

// loadPostGIS puts the plan's grids into locate_grids with a GiST index,
// as a PostGIS deployment would hold them.
func loadPostGIS(ctx context.Context, url string, plan data.Plan) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE EXTENSION IF NOT EXISTS postgis`,
		`DROP TABLE IF EXISTS locate_grids`,
		`CREATE TABLE locate_grids (id serial PRIMARY KEY, code text NOT NULL, parent_code text NOT NULL, name text NOT NULL,
			households int NOT NULL, worker text NOT NULL, geom geometry(MultiPolygon, 4326) NOT NULL)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, g := range plan.Grids {
		if _, err := conn.Exec(ctx, `INSERT INTO locate_grids (code, parent_code, name, households, worker, geom)
			VALUES ($1, $2, $3, $4, $5, ST_GeomFromText($6, 4326))`, g.Code, g.ParentCode, g.Name, g.Households, g.Worker, wkt.MarshalString(g.Geometry)); err != nil {
			return fmt.Errorf("grid %s: %w", g.Code, err)
		}
	}
	for _, q := range []string{`CREATE INDEX locate_grids_geom ON locate_grids USING gist (geom)`, `ANALYZE locate_grids`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	fmt.Fprintf(os.Stderr, "postgis: %d grids in locate_grids with a GiST index\n", len(plan.Grids))
	return nil
}

func readHouseholds(path string) ([]data.Household, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.ReadHouseholds(f, path)
}
