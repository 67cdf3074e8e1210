package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
)

// runExport writes everything a store holds to a new GeoPackage, a new (or
// empty) PostGIS database, or a directory of GeoJSON files, so that users
// can move between the file and PostGIS in either direction.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	db := fs.String("db", env("db", "wangge.gpkg"), "the store to export: GeoPackage file or postgres:// URL (WANGGE_DB)")
	format := fs.String("format", "", "gpkg (OUT is a new file), postgis (OUT is a postgres:// URL of an empty database), geojson (OUT is a new directory), "+
		"or pmtiles or mbtiles (OUT is a new tile archive, export_tiles.go), "+
		"or site (OUT is a new or empty directory, or an earlier site export it replaces: the map page, style.json and a PMTiles archive for a static file host, export_site.go)")
	tf := addTileFlags(fs)
	title := fs.String("title", "", "site: the dashboard's title (default wangge)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want one output: wangge export --format gpkg|geojson|postgis|pmtiles|mbtiles|site OUT [--db …]")}
	}
	out := pos[0]
	if *format != "pmtiles" && *format != "mbtiles" && *format != "site" {
		if err := tf.checkUnused(fs, *format); err != nil {
			return err
		}
	}
	if *format != "site" && *title != "" {
		return usageError{fmt.Errorf("--title is for --format site, not %s", *format)}
	}
	switch *format {
	case "pmtiles", "mbtiles", "site":
		req, err := tf.parse(*format)
		if err != nil {
			return err
		}
		if !postgis.IsURL(*db) {
			if _, err := os.Stat(*db); err != nil {
				return fmt.Errorf("%s: no such store", *db)
			}
		}
		if *format == "site" {
			return exportSite(ctx, *db, out, *title, req, tf, stdout, stderr)
		}
		_, err = exportTiles(ctx, *db, out, req, tf, stdout, stderr)
		return err
	case "gpkg", "geojson":
		if _, err := os.Stat(out); err == nil {
			return usageError{fmt.Errorf("%s exists; export writes a new %s and never overwrites", out, *format)}
		}
	case "postgis":
		if !postgis.IsURL(out) {
			return usageError{fmt.Errorf("--format postgis needs a postgres:// URL as OUT, got %q", out)}
		}
	default:
		return usageError{fmt.Errorf("--format must be gpkg, geojson, postgis, pmtiles, mbtiles or site, got %q", *format)}
	}
	if !postgis.IsURL(*db) {
		// openStore would create a missing GeoPackage: exporting one is a typo.
		if _, err := os.Stat(*db); err != nil {
			return fmt.Errorf("%s: no such store", *db)
		}
	}
	src, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer src.Close()

	var counts map[string]int
	switch *format {
	case "geojson":
		counts, err = exportGeoJSON(ctx, src, out)
		if err != nil {
			os.RemoveAll(out)
		}
	case "gpkg":
		var dst data.Store
		if dst, err = gpkg.Open(ctx, out); err != nil {
			return err
		}
		counts, err = copyStore(ctx, dst, src, sourceName(*db))
		dst.Close()
		if err != nil {
			os.Remove(out)
		}
	case "postgis":
		var dst data.Store
		if dst, err = postgis.Open(ctx, out); err != nil {
			return err
		}
		counts, err = copyStore(ctx, dst, src, sourceName(*db))
		dst.Close()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported to %s: %d areas, %d households, %d hazards, %d cameras, %d plans with %d grids\n", out,
		counts["areas"], counts["households"], counts["hazards"], counts["cameras"], counts["plans"], counts["grids"])
	return nil
}

// copyStore copies every record of src into the empty store dst in one
// transaction. Records go in fid order (plans in id order), so a store
// whose fids have no gaps keeps them; otherwise they are renumbered in the
// same order. Source ids, codes, plan links (base plan, published) and every
// field are kept.
func copyStore(ctx context.Context, dst, src data.Store, from string) (map[string]int, error) {
	for _, l := range data.Layers() {
		if n, err := dst.Count(ctx, l); err != nil || n > 0 {
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("the target store is not empty (%d %s): export only into an empty store", n, l)
		}
	}
	if plans, err := dst.Plans(ctx); err != nil || len(plans) > 0 {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("the target store is not empty (%d plans): export only into an empty store", len(plans))
	}
	var counts map[string]int
	_, err := data.Audited(ctx, dst, cliActor(), func(tx data.Tx) ([]data.AuditEntry, error) {
		var err error
		if counts, err = copyRecords(ctx, tx, src); err != nil {
			return nil, err
		}
		// The target's audit log says where its data came from, who moved it
		// and how much, like an import's entry.
		after, _ := json.Marshal(counts)
		return []data.AuditEntry{{Action: "export", Target: from, After: after}}, nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// copyRecords copies every record of src into tx, in the order copyStore
// describes, and counts them by kind.
func copyRecords(ctx context.Context, tx data.Tx, src data.Store) (map[string]int, error) {
	counts := map[string]int{}
	// A record the target refuses (PostgreSQL rejects text SQLite accepts)
	// fails the export: copying must not lose records quietly.
	refused := func(what string, err error) error {
		return fmt.Errorf("%s: %w", what, err)
	}

	areas, err := src.Areas(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(areas, func(a, b data.Area) int { return cmp.Compare(a.FID, b.FID) })
	for _, a := range areas {
		if _, err := tx.AddArea(ctx, a); err != nil {
			return nil, refused("area "+a.Code, err)
		}
	}
	counts["areas"] = len(areas)

	err = src.EachHousehold(ctx, func(h data.Household) error {
		if _, err := tx.AddHousehold(ctx, h); err != nil {
			return refused("household "+h.ID, err)
		}
		counts["households"]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	hazards, err := src.Hazards(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range hazards {
		if _, err := tx.AddHazard(ctx, h); err != nil {
			return nil, refused("hazard "+h.ID, err)
		}
	}
	counts["hazards"] = len(hazards)
	cameras, err := src.Cameras(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cameras {
		if _, err := tx.AddCamera(ctx, c); err != nil {
			return nil, refused("camera "+c.ID, err)
		}
	}
	counts["cameras"] = len(cameras)
	streets, err := src.Streets(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range streets {
		if _, err := tx.AddStreet(ctx, st); err != nil {
			return nil, refused("street "+st.ID, err)
		}
	}
	counts["streets"] = len(streets)
	units, err := src.Units(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		if _, err := tx.AddUnit(ctx, u); err != nil {
			return nil, refused("unit "+u.ID, err)
		}
	}
	counts["units"] = len(units)

	plans, err := src.Plans(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(plans) // oldest first, so base plans exist before their redraws
	newID := map[int64]int64{}
	for _, meta := range plans {
		p, err := src.Plan(ctx, meta.ID)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(p.Grids, func(a, b data.Grid) int { return cmp.Compare(a.FID, b.FID) })
		p.BaseID = newID[p.BaseID] // 0 stays 0; a base plan that is gone becomes none
		id, err := tx.SavePlan(ctx, p)
		if err != nil {
			return nil, refused(fmt.Sprintf("plan %d", meta.ID), err)
		}
		newID[meta.ID] = id
		if p.Published {
			if err := tx.PublishPlan(ctx, id); err != nil {
				return nil, err
			}
		}
		counts["plans"]++
		counts["grids"] += len(p.Grids)
	}
	return counts, nil
}

// sourceName names a store in the audit log: a GeoPackage by its file
// name, PostGIS without its URL, which may carry a password.
func sourceName(db string) string {
	if postgis.IsURL(db) {
		return "PostGIS database"
	}
	return filepath.Base(db)
}

// exportGeoJSON writes one FeatureCollection per layer into the new
// directory dir, with the property names `wangge import` reads, so that
// `wangge import households dir/households.geojson` loads them again, and
// plans.json with every plan's settings and quality report. grids.geojson
// holds the grids of every plan (property plan_id).
func exportGeoJSON(ctx context.Context, s data.Store, dir string) (map[string]int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	counts := map[string]int{}
	write := func(name string, each func(emit func(fid int64, g orb.Geometry, props map[string]any) error) error) error {
		f, err := os.Create(filepath.Join(dir, name+".geojson"))
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<16)
		io.WriteString(w, `{"type":"FeatureCollection","features":[`)
		n := 0
		err = each(func(fid int64, g orb.Geometry, props map[string]any) error {
			feat := geojson.NewFeature(g)
			feat.ID = fid
			feat.Properties = props
			b, err := json.Marshal(feat)
			if err != nil {
				return err
			}
			if n > 0 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
			w.Write(b)
			n++
			return nil
		})
		if err != nil {
			return err
		}
		io.WriteString(w, "\n]}\n")
		counts[name] = n
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	}

	err := write("areas", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		areas, err := s.Areas(ctx)
		if err != nil {
			return err
		}
		for _, a := range areas {
			props := map[string]any{"code": a.Code, "name": a.Name, "name_en": a.NameEn, "level": a.Level, "osm_id": a.OSMID}
			if a.AdminLevel != 0 {
				props["admin_level"] = a.AdminLevel
			}
			if a.ParentCode != "" {
				props["parent_code"] = a.ParentCode
			}
			if err := emit(a.FID, a.Geometry, props); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = write("households", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		return s.EachHousehold(ctx, func(h data.Household) error {
			return emit(h.FID, h.Point, map[string]any{"id": h.ID, "households": h.Households})
		})
	})
	if err != nil {
		return nil, err
	}
	err = write("hazards", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		hz, err := s.Hazards(ctx)
		if err != nil {
			return err
		}
		for _, h := range hz {
			if err := emit(h.FID, h.Point, map[string]any{"id": h.ID, "category": h.Category, "severity": h.Severity,
				"status": h.Status, "reported_at": h.ReportedAt.UTC().Format(time.RFC3339Nano)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = write("cameras", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		cams, err := s.Cameras(ctx)
		if err != nil {
			return err
		}
		for _, c := range cams {
			if err := emit(c.FID, c.Point, map[string]any{"id": c.ID, "azimuth": c.Azimuth, "fov": c.FOV, "range_m": c.RangeM, "status": c.Status}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = write("streets", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		streets, err := s.Streets(ctx)
		if err != nil {
			return err
		}
		for _, st := range streets {
			if err := emit(st.FID, st.Geometry, map[string]any{"id": st.ID, "kind": st.Kind, "class": st.Class, "name": st.Name, "osm_id": st.OSMID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = write("units", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		units, err := s.Units(ctx)
		if err != nil {
			return err
		}
		for _, u := range units {
			if err := emit(u.FID, u.Geometry, map[string]any{"id": u.ID, "kind": u.Kind, "name": u.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	plans, err := s.Plans(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(plans)
	type planJSON struct {
		ID         int64       `json:"id"`
		CreatedAt  time.Time   `json:"created_at"`
		Target     int         `json:"target"`
		Resolution int         `json:"resolution"`
		BaseID     int64       `json:"base_id,omitempty"`
		Published  bool        `json:"published"`
		Report     data.Report `json:"report"`
	}
	var meta []planJSON
	err = write("grids", func(emit func(int64, orb.Geometry, map[string]any) error) error {
		for _, pm := range plans {
			p, err := s.Plan(ctx, pm.ID)
			if err != nil {
				return err
			}
			meta = append(meta, planJSON{p.ID, p.CreatedAt, p.Target, p.Resolution, p.BaseID, p.Published, p.Report})
			for _, g := range p.Grids {
				cells := make([]string, len(g.Cells))
				for i, c := range g.Cells {
					cells[i] = strconv.FormatUint(c, 16)
				}
				if err := emit(g.FID, g.Geometry, map[string]any{"plan_id": p.ID, "code": g.Code, "parent_code": g.ParentCode, "name": g.Name,
					"households": g.Households, "area_m2": g.AreaM2, "worker": g.Worker, "cells": cells, "published": p.Published}); err != nil {
					return err
				}
			}
			counts["plans"]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(map[string]any{"plans": meta}, "", "  ")
	if err != nil {
		return nil, err
	}
	return counts, os.WriteFile(filepath.Join(dir, "plans.json"), append(b, '\n'), 0o644)
}
