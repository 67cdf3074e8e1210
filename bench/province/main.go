// Command province derives a province-scale input from the shared
// Montevideo household points: SCALE translated copies of the city side by
// side (a near-square block of them, 0.02° apart), each with its own
// level-1 area (the copy's bound, code UY-MO-NN) and, per copy, seeded
// synthetic hazards and cameras as bench/tilesbench draws them (60,000 and
// 2,000 by default: 960,000 and 32,000 at 16×). It writes households.csv,
// areas.geojson, hazards.csv and cameras.csv into -out, ready for
// `wangge import`. The same -seed gives the same files.
//
//	go run ./bench/province -scale 16 -out /tmp/province16
package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
)

func main() {
	src := flag.String("households", "../shared/data/montevideo/households.csv", "the city's households CSV (id,lon,lat,households)")
	out := flag.String("out", "/tmp/wangge-province", "output directory")
	scale := flag.Int("scale", 16, "copies of the city")
	nHaz := flag.Int("hazards", 60000, "synthetic hazards per copy")
	nCam := flag.Int("cameras", 2000, "synthetic cameras per copy")
	seed := flag.Uint64("seed", 1, "seed of the hazards and cameras")
	flag.Parse()
	if err := run(*src, *out, *scale, *nHaz, *nCam, *seed); err != nil {
		log.Fatal(err)
	}
}

type household struct {
	id       string
	lon, lat float64
	n        string
}

func run(src, out string, scale, nHaz, nCam int, seed uint64) error {
	if scale < 1 {
		return fmt.Errorf("scale must be at least 1")
	}
	hh, err := readHouseholds(src)
	if err != nil {
		return err
	}
	b := orb.Bound{Min: orb.Point{hh[0].lon, hh[0].lat}, Max: orb.Point{hh[0].lon, hh[0].lat}}
	for _, h := range hh {
		b = b.Extend(orb.Point{h.lon, h.lat})
	}
	b = b.Pad(1e-4)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cols := int(math.Ceil(math.Sqrt(float64(scale))))
	const gap = 0.02
	dx, dy := b.Max[0]-b.Min[0]+gap, b.Max[1]-b.Min[1]+gap
	// Copy k is moved east by its column and south by its row; a block of
	// 8 × 8 copies of Montevideo spans about 4° × 2.7°.
	offset := func(k int) (float64, float64) { return float64(k%cols) * dx, -float64(k/cols) * dy }

	files := map[string]*bufio.Writer{}
	for _, name := range []string{"households.csv", "hazards.csv", "cameras.csv", "areas.geojson"} {
		f, err := os.Create(filepath.Join(out, name))
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		files[name] = w
	}
	fmt.Fprintln(files["households.csv"], "id,lon,lat,households")
	fmt.Fprintln(files["hazards.csv"], "id,lon,lat,category,severity,status,reported_at")
	fmt.Fprintln(files["cameras.csv"], "id,lon,lat,azimuth,fov,range_m,status")
	fc := geojson.NewFeatureCollection()
	cats, statuses := data.DefaultTaxonomy().CategoryCodes(), data.Statuses()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := range scale {
		ox, oy := offset(k)
		w := files["households.csv"]
		for _, h := range hh {
			fmt.Fprintf(w, "%d/%s,%.7f,%.7f,%s\n", k, h.id, h.lon+ox, h.lat+oy, h.n)
		}
		cb := orb.Bound{Min: orb.Point{b.Min[0] + ox, b.Min[1] + oy}, Max: orb.Point{b.Max[0] + ox, b.Max[1] + oy}}
		f := geojson.NewFeature(orb.MultiPolygon{cb.ToPolygon()})
		f.Properties = geojson.Properties{"code": fmt.Sprintf("UY-MO-%02d", k), "name": fmt.Sprintf("Montevideo %d", k), "level": 1}
		fc.Append(f)

		// Hazards: 70 % uniform over the copy's bound, 30 % in five
		// clusters of about 1 km, a year of reports; cameras uniform.
		rng := rand.New(rand.NewPCG(seed, uint64(k)))
		var centres []orb.Point
		for range 5 {
			centres = append(centres, orb.Point{cb.Min[0] + rng.Float64()*(cb.Max[0]-cb.Min[0]), cb.Min[1] + rng.Float64()*(cb.Max[1]-cb.Min[1])})
		}
		w = files["hazards.csv"]
		for i := range nHaz {
			var p orb.Point
			if rng.Float64() < 0.3 {
				c := centres[rng.IntN(len(centres))]
				p = orb.Point{c[0] + rng.NormFloat64()*0.005, c[1] + rng.NormFloat64()*0.004}
			} else {
				p = orb.Point{cb.Min[0] + rng.Float64()*(cb.Max[0]-cb.Min[0]), cb.Min[1] + rng.Float64()*(cb.Max[1]-cb.Min[1])}
			}
			fmt.Fprintf(w, "syn-%d-%d,%.7f,%.7f,%s,%d,%s,%s\n", k, i, p[0], p[1], cats[rng.IntN(len(cats))], 1+rng.IntN(3),
				statuses[rng.IntN(len(statuses))], t0.Add(time.Duration(rng.IntN(365*24*60))*time.Minute).Format(time.RFC3339))
		}
		w = files["cameras.csv"]
		for i := range nCam {
			fmt.Fprintf(w, "cam-%d-%d,%.7f,%.7f,%d,%d,%d,online\n", k, i, cb.Min[0]+rng.Float64()*(cb.Max[0]-cb.Min[0]),
				cb.Min[1]+rng.Float64()*(cb.Max[1]-cb.Min[1]), rng.IntN(360), 30+rng.IntN(90), 30+rng.IntN(120))
		}
	}
	raw, err := json.Marshal(fc)
	if err != nil {
		return err
	}
	files["areas.geojson"].Write(raw)
	for _, w := range files {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Printf("province ×%d: %d households points, %d areas, %d hazards, %d cameras in %s\n",
		scale, scale*len(hh), scale, scale*nHaz, scale*nCam, out)
	return nil
}

func readHouseholds(path string) ([]household, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, c := range []string{"id", "lon", "lat", "households"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s: no column %q", path, c)
		}
	}
	var out []household
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		lon, err1 := strconv.ParseFloat(rec[col["lon"]], 64)
		lat, err2 := strconv.ParseFloat(rec[col["lat"]], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad point %v", path, rec)
		}
		out = append(out, household{id: rec[col["id"]], lon: lon, lat: lat, n: rec[col["households"]]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no households", path)
	}
	return out, nil
}
