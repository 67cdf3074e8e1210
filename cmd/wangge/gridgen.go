package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/gridgen"
)

func runGridgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gridgen", stderr)
	db := fs.String("db", env("db", "wangge.gpkg"), "GeoPackage file (WANGGE_DB)")
	target := fs.Int("target", 0, "households per grid (required)")
	res := fs.Int("res", 0, fmt.Sprintf("H3 resolution %d–%d; 0 chooses one", gridgen.MinResolution, gridgen.MaxResolution))
	base := fs.Int64("base", 0, "id of the plan to redraw from, moving as few households as possible")
	lock := fs.String("lock", "", "comma-separated codes of base grids to keep unchanged")
	publish := fs.Bool("publish", false, "publish the new plan")
	weight := fs.String("weight", gridgen.WeightHouseholds, "what grids balance: households, or workload (households + events a year + units + area, see --workload)")
	workload := fs.String("workload", "", "the workload mix as per_event,per_unit,per_km2 in households (default 5,20,30)")
	noStreets := fs.Bool("no-streets", false, "draw grid boundaries without regard to the streets layer (by default they follow its streets, rivers and railways); the report still measures how much of the boundary runs along them")
	out := fs.String("out", "", "write the grids as GeoJSON to this file")
	report := fs.String("report", "", "write the quality report as JSON to this file")
	maxHeap := fs.Int("max-heap", 1792, "MiB the Go heap should stay under: the collector works harder near it instead of letting the heap grow to twice what is live (0: no limit; GOMEMLIMIT, when set, wins)")
	taxonomyFile := fs.String("taxonomy", env("taxonomy", ""), "JSON file of worker roles (and event categories), as serve --taxonomy: tells chiefs from workers when the report names grids without a worker; the built-in default is data/taxonomy.json (WANGGE_TAXONOMY)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	req := gridgen.Request{Target: *target, Resolution: *res, BaseID: *base, NoStreets: *noStreets, Weight: *weight}
	if *workload != "" {
		var w gridgen.Workload
		if n, err := fmt.Sscanf(*workload, "%g,%g,%g", &w.PerEvent, &w.PerUnit, &w.PerKm2); err != nil || n != 3 {
			return usageError{fmt.Errorf("--workload %q: want per_event,per_unit,per_km2, three numbers", *workload)}
		}
		req.Workload = &w
	}
	if *lock != "" {
		req.Locked = strings.Split(*lock, ",")
	}
	if *target <= 0 {
		return usageError{errors.New("--target must be a positive number of households per grid")}
	}
	if *maxHeap > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// The collector lets the heap grow to twice what is live before
		// it collects; a province is 0.7 GB live at 64× Montevideo (its
		// household points, then the grids of 64 parents as they are
		// drawn), and more at a larger scale. The default keeps the heap
		// in 1.75 GiB, what is left of 2 GiB once SQLite's caches and the
		// runtime are counted, without binding at 64× (its heap peaks at
		// 1.4 GB). A soft limit: the collector works harder near it, it
		// is never an error, and it is given back when the command
		// returns (tests run the command in process).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(*maxHeap) << 20))
	}
	taxonomy, err := loadTaxonomy(*taxonomyFile)
	if err != nil {
		return err
	}

	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if l, ok := store.(data.JobLocker); ok {
		// The same lock as the server's plan jobs: one generation at a
		// time across every replica and the CLI.
		release, ok, err := l.TryLockJob(ctx, "plan")
		if err != nil {
			return err
		}
		if !ok {
			return data.Errorf(data.ECONFLICT, "a plan is being generated (by a server's plan job or another wangge gridgen); try again when it is done")
		}
		defer release()
	}
	in, err := gridgen.LoadInput(ctx, store, req)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, "gridgen", 1)
	plan, err := gridgen.Generate(ctx, in, gridgen.Options{Progress: func(done, total int) {
		bar.total = int64(total)
		bar.Set(int64(done))
	}})
	bar.Done()
	if err != nil {
		return err
	}
	if err := noteUnstaffed(ctx, store, &plan, taxonomy); err != nil {
		return err
	}
	id, err := savePlan(ctx, store, plan, *publish)
	if err != nil {
		return err
	}
	r := plan.Report
	fmt.Fprintf(stdout, "plan %d: %d grids in %d parents, res %d%s, households %d–%d (median %.0f), max deviation %.1f%%, %d within ±10%%, %d non-contiguous, %d heavy cells, %d households moved, %.2fs\n",
		id, r.Grids, r.Parents, r.Resolution, map[bool]string{true: " (auto)"}[r.ResolutionAuto], r.HouseholdsMin, r.HouseholdsMax,
		r.HouseholdsMedian, r.MaxDeviationPct, r.WithinTenPct, r.NonContiguous, len(r.HeavyCells), r.HouseholdsMoved, r.RuntimeSeconds)
	if r.Weight == gridgen.WeightWorkload {
		fmt.Fprintf(stdout, "workload per grid %.0f–%.0f (median %.0f) in households (max deviation and ±10 %% above are of workload)\n", r.WorkloadMin, r.WorkloadMax, r.WorkloadMedian)
	}
	if r.InnerBoundaryM > 0 {
		fmt.Fprintf(stdout, "streets: %.1f%% of the %.0f m of boundary between grids within 20 m of a street, river or railway\n", r.StreetSharePct, r.InnerBoundaryM)
	}
	if r.Units > 0 {
		fmt.Fprintf(stdout, "units: %d in grids, %d split between grids\n", r.Units, len(r.UnitsSplit))
		for _, u := range r.UnitsSplit {
			fmt.Fprintf(stdout, "  unit %s %q (%s, %.0f m²) split between %s: %s\n", u.ID, u.Name, u.Kind, u.AreaM2, strings.Join(u.Grids, ", "), u.Reason)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if *publish {
		fmt.Fprintf(stdout, "plan %d published\n", id)
	}
	if *out != "" {
		if err := writeFileAtomic(*out, func(w io.Writer) error { return json.NewEncoder(w).Encode(gridsGeoJSON(plan)) }); err != nil {
			return err
		}
	}
	if *report != "" {
		if err := writeFileAtomic(*report, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		}); err != nil {
			return err
		}
	}
	return nil
}

// noteUnstaffed records in the plan's report the grids no worker of the
// roster serves, by the taxonomy's roles.
func noteUnstaffed(ctx context.Context, store data.Store, plan *data.Plan, tax *data.Taxonomy) error {
	workers, err := store.Workers(ctx)
	if err != nil {
		return err
	}
	areas, err := store.Areas(ctx)
	if err != nil {
		return err
	}
	data.NoteUnstaffed(plan, areas, workers, tax)
	return nil
}

// savePlan stores a plan, and publishes it if asked, audited as the CLI's
// user.
func savePlan(ctx context.Context, store data.Store, plan data.Plan, publish bool) (int64, error) {
	return data.SavePlan(ctx, store, plan, publish, cliActor())
}

// gridsGeoJSON is the --out file: one feature per grid with its code,
// parent and households.
func gridsGeoJSON(p data.Plan) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for _, g := range p.Grids {
		f := geojson.NewFeature(g.Geometry)
		f.Properties = geojson.Properties{
			"code": g.Code, "parent_code": g.ParentCode, "households": g.Households,
			"area_m2": g.AreaM2, "cells": len(g.Cells),
		}
		fc.Append(f)
	}
	return fc
}

// writeFileAtomic writes through a temporary file and renames it, so a
// failed run never leaves half a file where a good one was.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(dirOf(path), ".wangge-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}
