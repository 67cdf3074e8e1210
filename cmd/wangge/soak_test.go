package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
)

// Soak settings.
const (
	// soakStale is how old a difference between a replica and the store
	// may be while writes go on: a hazard written less than this ago may
	// still show its previous state.
	soakStale = 2 * time.Second
	// soakSettle is how soon after the last write both replicas must
	// agree with the store exactly.
	soakSettle = 2 * time.Second
	// soakMaxHazards keeps the store under nearby's limit of 1000, so one
	// nearby over the whole country returns every hazard.
	soakMaxHazards = 900
)

// TestSoakPostGIS: for a minute (15 s with -short), three writers create,
// patch, move and delete hazards — through replica A, through replica B,
// and with SQL — and a fourth publishes plans now and then, while readers
// compare each replica's nearby answers with the store. Differences older
// than soakStale are failures. When the writes stop, both replicas must
// agree with the store exactly within soakSettle: every hazard and
// property (nearby over the whole country), the zoom 0 clusters, and the
// published plan. Staleness (a write's acknowledgement → visible on the
// other replica) is reported.
func TestSoakPostGIS(t *testing.T) {
	dur := 60 * time.Second
	if testing.Short() {
		dur = 15 * time.Second
	}
	c := startPostGISPair(t, "soak")
	ctx := context.Background()
	plan1, _, err := pgPlan(ctx, c.pg)
	if err != nil {
		t.Fatal(err)
	}
	plan2 := newPlan(t, c.b, 250)

	all, err := pgHazards(ctx, c.pg, "")
	if err != nil {
		t.Fatal(err)
	}
	s := &soak{pair: c, tr: newTracker(), count: int64(len(all)), stop: make(chan struct{}), tiles: map[[2]int]bool{}}
	writers := []*soakWriter{
		{name: "A", via: c.a, others: []*replica{c.b}},
		{name: "B", via: c.b, others: []*replica{c.a}},
		{name: "psql", others: []*replica{c.a, c.b}},
	}
	for fid, h := range all {
		w := writers[fid%int64(len(writers))]
		if w.own == nil {
			w.own = map[int64]hazard{}
		}
		w.own[fid] = h
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i, w := range writers {
		w.rnd = rand.New(rand.NewPCG(uint64(i)+1, uint64(start.UnixNano())))
		wg.Go(func() { s.write(w) })
	}
	var readers sync.WaitGroup
	for i, r := range c.both() {
		rnd := rand.New(rand.NewPCG(uint64(i)+10, uint64(start.UnixNano())))
		readers.Go(func() { s.read(r, rnd) })
	}
	wg.Go(func() { s.publish([2]int64{plan1, plan2}, dur/5) })
	time.Sleep(dur)
	close(s.stop)
	wg.Wait()
	settled := time.Now()
	readers.Wait()

	ops := []string{}
	for _, w := range writers {
		ops = append(ops, fmt.Sprintf("%s %+v", w.name, w.ops))
	}
	t.Logf("%v of writes: %s; %d publishes; %d reader comparisons with the store (%d hazards compared)",
		dur, strings.Join(ops, ", "), s.publishes.Load(), s.compares.Load(), s.compared.Load())
	t.Logf("staleness (write acknowledged → visible on the other replica), %d writes: p50 %v, p99 %v, max %v",
		len(s.staleness), percentile(s.staleness, 50), percentile(s.staleness, 99), percentile(s.staleness, 100))
	s.report(t)

	// Settled: both replicas equal the store.
	store, err := pgHazards(ctx, c.pg, "")
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := pgPlan(ctx, c.pg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.both() {
		took, err := within(settled, soakSettle, 20*time.Millisecond, func() error { return agreesWithStore(r, store, plan, s.tiles) })
		if err != nil {
			t.Errorf("%s does not agree with the store %v after the writes stopped (%d hazards, plan %d):\n%v", r.name, took.Round(time.Millisecond), len(store), plan, err)
		} else {
			t.Logf("%s agrees with the store (%d hazards, plan %d) %v after the writes stopped", r.name, len(store), plan, took.Round(time.Millisecond))
		}
	}
}

// soak is the shared state of the soak's goroutines.
type soak struct {
	pair      *pgPair
	tr        *tracker
	count     int64 // hazards in the store, about
	countMu   sync.Mutex
	stop      chan struct{}
	publishes atomic.Int64
	compares  atomic.Int64
	compared  atomic.Int64

	mu        sync.Mutex
	problems  []string
	nProblems int
	staleness []time.Duration
	tiles     map[[2]int]bool // zoom 14 hazards tiles the readers asked for
}

func (s *soak) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// fail records a problem; goroutines must not call t.Fatal.
func (s *soak) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nProblems++
	if len(s.problems) < 25 {
		s.problems = append(s.problems, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
}

func (s *soak) report(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nProblems > 0 {
		t.Errorf("%d problems during the soak (first %d):\n%s", s.nProblems, len(s.problems), strings.Join(s.problems, "\n"))
	}
}

// tracker knows when each hazard was last written, so readers can tell a
// fresh difference (allowed for soakStale) from a lasting one.
type tracker struct {
	mu            sync.Mutex
	touched       map[int64]time.Time
	inflight      map[int64]int
	creating      int
	lastCreateEnd time.Time
}

func newTracker() *tracker {
	return &tracker{touched: map[int64]time.Time{}, inflight: map[int64]int{}}
}

// begin marks a write of fid (0: a create) as started; the returned func
// marks it done, with the fid a create got.
func (tr *tracker) begin(fid int64) func(int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if fid == 0 {
		tr.creating++
	} else {
		tr.inflight[fid]++
		tr.touched[fid] = time.Now()
	}
	return func(got int64) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		now := time.Now()
		if fid == 0 {
			tr.creating--
			tr.lastCreateEnd = now
			if got != 0 {
				tr.touched[got] = now
			}
			return
		}
		tr.inflight[fid]--
		tr.touched[fid] = now
	}
}

// fresh reports whether a difference about fid may be a write not yet
// shown: fid is being written or was within soakStale.
func (tr *tracker) fresh(fid int64) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.inflight[fid] > 0 {
		return true
	}
	if at, ok := tr.touched[fid]; ok {
		return time.Since(at) < soakStale
	}
	// A hazard we never heard of: a create whose answer has not come.
	return tr.creating > 0 || time.Since(tr.lastCreateEnd) < soakStale
}

// soakWriter writes the hazards it owns (none of the others touches them,
// so it knows their state) through via, or with SQL when via is nil.
type soakWriter struct {
	name   string
	via    *replica
	others []*replica // where its writes must show
	own    map[int64]hazard
	rnd    *rand.Rand
	ops    struct{ create, patch, move, delete int }
	seq    int
}

func (w *soakWriter) randomPoint() pt {
	return pt{9.49 + w.rnd.Float64()*0.09, 47.06 + w.rnd.Float64()*0.16}
}

func (s *soak) write(w *soakWriter) {
	ctx := context.Background()
	for !s.stopped() {
		fids := slices.Sorted(maps.Keys(w.own))
		s.countMu.Lock()
		canCreate := s.count < soakMaxHazards
		s.countMu.Unlock()
		x := w.rnd.Float64()
		var fid int64
		if len(fids) > 0 {
			fid = fids[w.rnd.IntN(len(fids))]
		}
		var err error
		var want *hazard
		var at, from pt
		switch {
		case fid == 0 || (x < 0.35 && canCreate):
			w.seq++
			categories := data.DefaultTaxonomy().CategoryCodes()
			h := hazard{SourceID: fmt.Sprintf("soak/%s/%d", w.name, w.seq), Category: categories[w.rnd.IntN(len(categories))],
				Severity: 1 + w.rnd.IntN(3), Status: string(data.StatusReported),
				ReportedAt: time.Now().UTC().Truncate(time.Second)}
			at = w.randomPoint()
			h.Lon, h.Lat = at[0], at[1]
			done := s.tr.begin(0)
			if w.via == nil {
				h.FID, err = pgInsertHazard(ctx, s.pair.pg, h)
			} else {
				// The API reports a new event and assigns it itself:
				// what it answers is what the store holds.
				h, _, err = createHazard(w.via, at, map[string]any{"source_id": h.SourceID, "category": h.Category, "severity": h.Severity,
					"reported_at": h.ReportedAt.Format(time.RFC3339)})
			}
			done(h.FID)
			if err == nil {
				w.ops.create++
				w.own[h.FID] = h
				want = &h
				s.countMu.Lock()
				s.count++
				s.countMu.Unlock()
			}
		case x < 0.7 || (!canCreate && x < 0.8):
			h := w.own[fid]
			from = pt{h.Lon, h.Lat}
			props := map[string]any{}
			move := w.rnd.IntN(4) == 0
			switch w.rnd.IntN(3) {
			case 0:
				// A move the state machine has (all are a planner's to
				// make) but assigned, which needs a worker of the roster,
				// and escalated, which a county event cannot make.
				next := slices.DeleteFunc(data.Next(data.Status(h.Status)), func(s data.Status) bool {
					return s == data.StatusAssigned || s == data.StatusEscalated
				})
				h.Status = string(next[w.rnd.IntN(len(next))])
				props["status"] = h.Status
			case 1:
				h.Severity = 1 + w.rnd.IntN(3)
				props["severity"] = h.Severity
			default:
				categories := data.DefaultTaxonomy().CategoryCodes()
				h.Category = categories[w.rnd.IntN(len(categories))]
				props["category"] = h.Category
			}
			if move {
				h.Lon, h.Lat = h.Lon+(w.rnd.Float64()-0.5)*0.004, h.Lat+(w.rnd.Float64()-0.5)*0.004
			}
			done := s.tr.begin(fid)
			if w.via == nil {
				_, err = s.pair.pg.Exec(ctx, `UPDATE hazards SET status = $1, severity = $2, category = $3, geom = ST_SetSRID(ST_MakePoint($4, $5), 4326) WHERE fid = $6`,
					h.Status, h.Severity, h.Category, h.Lon, h.Lat, fid)
			} else {
				body := map[string]any{"type": "Feature", "properties": props}
				if move {
					body["geometry"] = map[string]any{"type": "Point", "coordinates": []float64{h.Lon, h.Lat}}
				}
				var a answer
				if a, err = w.via.do("PATCH", fmt.Sprintf("/collections/hazards/items/%d", fid), body); err == nil && a.status != http.StatusOK {
					err = fmt.Errorf("%s: PATCH hazard %d %v: %v", w.via.name, fid, body, a)
				}
			}
			done(fid)
			if err == nil {
				if move {
					w.ops.move++
				} else {
					w.ops.patch++
				}
				w.own[fid] = h
				want = &h
				at = pt{h.Lon, h.Lat}
			}
		default:
			h := w.own[fid]
			at = pt{h.Lon, h.Lat}
			done := s.tr.begin(fid)
			if w.via == nil {
				_, err = s.pair.pg.Exec(ctx, `DELETE FROM hazards WHERE fid = $1`, fid)
			} else {
				_, err = deleteHazard(w.via, fid)
			}
			done(fid)
			if err == nil {
				w.ops.delete++
				delete(w.own, fid)
				s.countMu.Lock()
				s.count--
				s.countMu.Unlock()
			}
		}
		if err != nil {
			s.fail("writer %s: %v", w.name, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		acked := time.Now()
		for _, r := range w.others {
			s.waitShown(r, w.name, acked, want, fid, at, from)
		}
	}
}

// waitShown polls r until its nearby shows want at at (nil: hazard fid
// gone from at), and records the staleness.
func (s *soak) waitShown(r *replica, writer string, acked time.Time, want *hazard, fid int64, at, from pt) {
	if want != nil {
		fid = want.FID
	}
	took, err := within(acked, 3*time.Second, 5*time.Millisecond, func() error {
		near, _, err := r.nearby(at, 3)
		if err != nil {
			return err
		}
		got, ok := near[fid]
		switch {
		case want == nil && ok:
			return fmt.Errorf("still shows deleted %v", got)
		case want == nil:
			return nil
		case !ok:
			return fmt.Errorf("does not show %v", *want)
		}
		if d := want.diff(got); d != "" {
			return fmt.Errorf("shows hazard %d with %s", fid, d)
		}
		if from != (pt{}) && from != at {
			old, _, err := r.nearby(from, 1)
			if err != nil {
				return err
			}
			if _, ok := old[fid]; ok && spatialDistanceM(from, at) > 2 {
				return fmt.Errorf("still shows hazard %d at its old place %v", fid, from)
			}
		}
		return nil
	})
	if err != nil {
		s.fail("write by %s acknowledged %v ago, not shown on %s: %v", writer, took.Round(time.Millisecond), r.name, err)
		return
	}
	s.mu.Lock()
	s.staleness = append(s.staleness, took)
	s.mu.Unlock()
}

// publish publishes the two plans in turn through A and B every period.
func (s *soak) publish(plans [2]int64, period time.Duration) {
	for i := 0; ; i++ {
		select {
		case <-s.stop:
			return
		case <-time.After(period):
		}
		r := s.pair.both()[i%2]
		id := plans[i%2]
		a, err := r.do("POST", fmt.Sprintf("/v1/plans/%d/publish", id), nil)
		if err != nil || a.status != http.StatusOK {
			s.fail("publish plan %d through %s: %v %v", id, r.name, a, err)
			continue
		}
		s.publishes.Add(1)
		acked := time.Now()
		for _, o := range s.pair.both() {
			if _, err := within(acked, convergeLimit, 10*time.Millisecond, func() error {
				plan, code, err := o.locate(vaduz)
				if err == nil && plan != id {
					err = fmt.Errorf("%s: locate answers grid %s of plan %d", o.name, code, plan)
				}
				return err
			}); err != nil {
				s.fail("plan %d published through %s, not shown on %s within %v: %v", id, r.name, o.name, convergeLimit, err)
			}
		}
	}
}

// read compares r's nearby answers at random points with the store until
// the writes stop.
func (s *soak) read(r *replica, rnd *rand.Rand) {
	ctx := context.Background()
	const radius = 400.0
	for !s.stopped() {
		p := pt{9.49 + rnd.Float64()*0.09, 47.06 + rnd.Float64()*0.16}
		near, n, err := r.nearby(p, radius)
		if err != nil {
			s.fail("reader of %s: %v", r.name, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		dLon, dLat := (radius+50)/(111320*math.Cos(p[1]*math.Pi/180)), (radius+50)/110540
		store, err := pgHazards(ctx, s.pair.pg, `WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)`, p[0]-dLon, p[1]-dLat, p[0]+dLon, p[1]+dLat)
		if err != nil {
			s.fail("reader of %s: the store: %v", r.name, err)
			continue
		}
		if n == 1000 {
			s.fail("reader of %s: nearby %v returned its limit of 1000", r.name, p)
		}
		s.compares.Add(1)
		s.compared.Add(int64(len(near)))
		if s.compares.Load()%4 == 0 {
			// The hazards tile there too: a tile cached while a write
			// lands must not outlive it.
			x, y := tileOf(p, 14)
			s.mu.Lock()
			s.tiles[[2]int{x, y}] = true
			s.mu.Unlock()
			w, so, e, n := tileBounds(14, x, y, 0.03)
			inTile, err := pgHazards(ctx, s.pair.pg, `WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)`, w, so, e, n)
			if err == nil {
				for _, d := range tileDiffs(r, 14, x, y, inTile, s.tr.fresh) {
					s.fail("%s (the store's, unchanged for %v)", d, soakStale)
				}
			} else {
				s.fail("reader of %s: the store: %v", r.name, err)
			}
		}
		// Leave the two cores mostly to the writers and the servers.
		time.Sleep(20 * time.Millisecond)
		for fid, got := range near {
			want, ok := store[fid]
			switch {
			case s.tr.fresh(fid):
			case !ok:
				s.fail("%s: nearby %v shows %v, which the store does not have within %.0f m (not written for %v)", r.name, p, got, radius+50, soakStale)
			case spatialDistanceM(p, pt{want.Lon, want.Lat}) > radius+1:
				s.fail("%s: nearby %v within %.0f m shows %v, which the store has at %.7f,%.7f, %.0f m away", r.name, p, radius, got, want.Lon, want.Lat, spatialDistanceM(p, pt{want.Lon, want.Lat}))
			default:
				if d := want.diff(got); d != "" {
					s.fail("%s: nearby %v shows hazard %d with %s (the store's, unchanged for %v)", r.name, p, fid, d, soakStale)
				}
			}
		}
		for fid, want := range store {
			if _, ok := near[fid]; ok || spatialDistanceM(p, pt{want.Lon, want.Lat}) > radius-1 || s.tr.fresh(fid) {
				continue
			}
			s.fail("%s: nearby %v within %.0f m lacks %v of the store (unchanged for %v)", r.name, p, radius, want, soakStale)
		}
	}
}

// agreesWithStore returns nil when r shows exactly the store's hazards
// (nearby over the whole country, zoom 0 clusters, the zoom 14 tiles
// named) and published plan.
func agreesWithStore(r *replica, store map[int64]hazard, plan int64, tiles map[[2]int]bool) error {
	var diffs []string
	near, n, err := r.nearby(pt{9.555, 47.16}, 50000)
	if err != nil {
		return err
	}
	if n >= 1000 {
		return fmt.Errorf("%s: nearby returned its limit of %d hazards: cannot compare the whole store", r.name, n)
	}
	for _, fid := range slices.Sorted(maps.Keys(mergeHazardKeys(near, store))) {
		got, inView := near[fid]
		want, inStore := store[fid]
		switch {
		case !inView:
			diffs = append(diffs, fmt.Sprintf("lacks %v", want))
		case !inStore:
			diffs = append(diffs, fmt.Sprintf("shows %v, gone from the store", got))
		default:
			if d := want.diff(got); d != "" {
				diffs = append(diffs, fmt.Sprintf("hazard %d: %s", fid, d))
			}
		}
	}
	layers, err := r.tileLayers("hazards", 0, 0, 0)
	if err != nil {
		return err
	}
	var count, open, wantOpen int64
	for _, f := range layers["hazards"] {
		c, _ := f.Props["count"].(int64)
		o, _ := f.Props["open"].(int64)
		count, open = count+c, open+o
	}
	for _, h := range store {
		if data.Status(h.Status).Open() {
			wantOpen++
		}
	}
	if count != int64(len(store)) || open != wantOpen {
		diffs = append(diffs, fmt.Sprintf("zoom 0 hazard clusters count %d hazards, %d open; the store has %d, %d open", count, open, len(store), wantOpen))
	}
	for _, xy := range slices.SortedFunc(maps.Keys(tiles), func(a, b [2]int) int { return a[0]*100000 + a[1] - b[0]*100000 - b[1] }) {
		diffs = append(diffs, tileDiffs(r, 14, xy[0], xy[1], store, func(int64) bool { return false })...)
	}
	got, code, err := r.locate(vaduz)
	if err != nil {
		return err
	}
	if got != plan {
		diffs = append(diffs, fmt.Sprintf("locate answers grid %s of plan %d; the store's published plan is %d", code, got, plan))
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("… and %d more", len(diffs)-20))
	}
	return fmt.Errorf("%s: %s", r.name, strings.Join(diffs, "\n  "))
}

// tileDiffs compares the hazards of tile z/x/y (from zoom 14: one point
// each) as r serves it with store (which must hold at least the hazards
// near the tile) and says how they differ; hazards for which fresh is true
// are let be.
func tileDiffs(r *replica, z, x, y int, store map[int64]hazard, fresh func(int64) bool) []string {
	path := fmt.Sprintf("%s: hazards tile %d/%d/%d", r.name, z, x, y)
	layers, err := r.tileLayers("hazards", z, x, y)
	if err != nil {
		return []string{err.Error()}
	}
	var diffs []string
	got := map[int64]hazard{}
	for _, f := range layers["hazards"] {
		h, err := tileHazard(f)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", path, err))
		}
		got[h.FID] = h
	}
	outW, outS, outE, outN := tileBounds(z, x, y, 0.03) // the tile and its buffer, with room
	inW, inS, inE, inN := tileBounds(z, x, y, -0.005)   // surely inside
	for fid, h := range got {
		want, ok := store[fid]
		switch {
		case fresh(fid):
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s shows %v, gone from the store", path, h))
		case want.Lon < outW || want.Lon > outE || want.Lat < outS || want.Lat > outN:
			diffs = append(diffs, fmt.Sprintf("%s shows %v, which the store has at %.7f,%.7f, outside the tile", path, h, want.Lon, want.Lat))
		default:
			if d := want.diff(h); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s shows hazard %d with %s", path, fid, d))
			}
		}
	}
	for fid, want := range store {
		if _, ok := got[fid]; ok || want.Lon < inW || want.Lon > inE || want.Lat < inS || want.Lat > inN || fresh(fid) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s lacks %v of the store", path, want))
	}
	return diffs
}

// tileBounds returns the west, south, east and north edges of tile
// z/x/y, grown by margin (a share of its width; negative shrinks it).
func tileBounds(z, x, y int, margin float64) (w, s, e, n float64) {
	size := math.Exp2(float64(z))
	lon := func(x float64) float64 { return x/size*360 - 180 }
	lat := func(y float64) float64 { return math.Atan(math.Sinh(math.Pi*(1-2*y/size))) * 180 / math.Pi }
	fx, fy := float64(x), float64(y)
	return lon(fx - margin), lat(fy + 1 + margin), lon(fx + 1 + margin), lat(fy - margin)
}

func mergeHazardKeys(a, b map[int64]hazard) map[int64]bool {
	out := map[int64]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// spatialDistanceM is the haversine distance in metres on orb's sphere,
// as nearby measures it.
func spatialDistanceM(a, b pt) float64 {
	const r = 6378137.0
	rad := math.Pi / 180
	dLat, dLon := (b[1]-a[1])*rad, (b[0]-a[0])*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a[1]*rad)*math.Cos(b[1]*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}
