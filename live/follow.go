package live

import (
	"context"
	"errors"
	"time"

	"github.com/wangge/wangge/data"
)

const (
	// feedPage is how many feed entries one read returns.
	feedPage = 5000
	// reloadAbove is the number of changed rows of one layer in one batch
	// above which the layer is reloaded whole rather than row by row (a
	// CLI import, an ogr2ogr append).
	reloadAbove = 2000
	// pollTimeout bounds one read of the feed, so a stalled store delays
	// the follower rather than stopping it.
	pollTimeout = 10 * time.Second
	// reloadTimeout bounds a poll that reloads a layer, the areas or the
	// plan whole: a province's million hazards or forty thousand grids
	// take longer than one read of the feed, and a poll cut off each time
	// would never get there.
	reloadTimeout = 5 * time.Minute
	// pruneEvery is how often the follower trims the feed.
	pruneEvery = time.Minute
)

// followed lists the feed's layers the views depend on; household changes
// are left to the store (gridgen reads them from there).
var followed = []string{string(data.LayerHazards), string(data.LayerCameras), string(data.LayerAreas),
	string(data.LayerGrids), data.FeedPlans, data.FeedKeys, data.FeedWorkers, feedStreets, feedUnits}

// Run follows the change feed until ctx ends: it reads the feed every
// Poll, or at once when a write through this process or a store
// notification asks, and applies what changed. A read that fails is
// retried at the next poll; Health reports it meanwhile.
func (s *Service) Run(ctx context.Context) {
	// Each poll says how fresh its reads must be; whatever the caller's
	// context asked for (the primary, at start-up) is not for ever.
	ctx = data.ReadAny(ctx)
	if n, ok := s.store.(data.Notifier); ok {
		go s.listen(ctx, n)
	}
	// The grids' risk follows each batch applied (risk.go), from the
	// views loaded on; Run returns once its worker has stopped.
	s.kickRisk()
	riskDone := make(chan struct{})
	go func() { defer close(riskDone); s.riskLoop(ctx) }()
	defer func() { <-riskDone }()
	// The camera coverage too, once, so that its first request does not
	// wait for the household points to be read (coverage.go), then the
	// hotspot analysis the map and dashboards ask for first.
	warmDone := make(chan struct{})
	go func() {
		defer close(warmDone)
		s.warmCoverage(ctx)
		s.warmHotspots(ctx)
	}()
	defer func() { <-warmDone }()
	pruneDone := make(chan struct{})
	go func() { defer close(pruneDone); s.pruneLoop(ctx) }()
	defer func() { <-pruneDone }()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	failing := false
	for {
		err := s.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			s.log.Warn("change feed unreadable; views stay at their version until it is back", "version", s.Version(), "err", err)
		case err == nil && failing:
			s.log.Info("change feed readable again", "version", s.Version())
		}
		failing = err != nil
		s.markRead(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// listen turns store notifications into kicks, reconnecting after a lost
// connection. Polling covers the gaps.
func (s *Service) listen(ctx context.Context, n data.Notifier) {
	lost := false
	for {
		heard := false
		err := n.Listen(ctx, func() {
			if !heard && lost {
				s.log.Info("change notifications back")
			}
			heard, lost = true, false
			s.Kick()
		})
		if ctx.Err() != nil {
			return
		}
		// Once per outage: while the primary is down this fails every
		// second, and polling the standbys goes on meanwhile.
		if !lost {
			s.log.Warn("change notifications lost; polling until they are back", "err", err)
		}
		lost = true
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (s *Service) markRead(err error) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.lastErr = err
	if err == nil {
		s.lastRead = time.Now()
	}
}

// Health returns nil when the views follow the store: loaded, and the feed
// read without error within Stale. Otherwise it says what is wrong.
func (s *Service) Health() error {
	if !s.loaded.Load() {
		return errors.New("views are loading")
	}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if busy := s.applying.Load(); busy != 0 && time.Since(time.Unix(0, busy)) < time.Duration(s.applyLimit.Load()) {
		// The feed was read and a large change (an import, a plan of
		// tens of thousands of grids) is being applied: the store
		// answers and the views are moving. Every replica applies it at
		// the same moment; calling that a stall would take them all out
		// of the balancer together, while each still serves its last
		// state. A poll that overruns its limit fails and counts.
		return nil
	}
	if age := time.Since(s.lastRead); age > s.cfg.Stale {
		if s.lastErr != nil {
			return errors.New("change feed unreadable for " + age.Round(time.Second).String() + ": " + data.ErrorMessage(s.lastErr))
		}
		return errors.New("change feed not read for " + age.Round(time.Second).String())
	}
	return nil
}

// FeedStatus is how the follower stands, for monitoring.
type FeedStatus struct {
	// Version is the Seq every view has applied (Version).
	Version int64
	// StoreSeq is the feed's last Seq when the follower last read it:
	// StoreSeq − Version is how far behind the views were then.
	StoreSeq int64
	// LastRead is when the feed was last read without error; zero before
	// Load.
	LastRead time.Time
	// Health is what Health returns.
	Health error
}

// FeedStatus returns how the follower stands.
func (s *Service) FeedStatus() FeedStatus {
	st := FeedStatus{Version: s.Version(), StoreSeq: s.storeSeq.Load(), Health: s.Health()}
	s.healthMu.Lock()
	st.LastRead = s.lastRead
	s.healthMu.Unlock()
	return st
}

// batch is what one read of the feed changed.
type batch struct {
	hazards, cameras map[int64]bool
	reloadHazards    bool
	reloadCameras    bool
	areas, plan      bool
	keys, workers    bool
	streets, units   bool // reloaded whole, whatever changed
	// changes are the entries read, for the change stream (stream.go).
	changes []data.Change
}

// poll reads the feed from the current version to its end and applies it.
// Reading and applying share one deadline, pollTimeout, except in a poll
// that reloads a layer, the areas or the plan whole, which applies under
// reloadTimeout (reloadContext).
func (s *Service) poll(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, pollTimeout)
	defer cancel()
	cur := s.Version()
	// On a store with standbys: read where the feed goes at least as far
	// as these views, and as a waiting writer needs (data.ReadAtLeast).
	ctx = data.ReadAtLeast(ctx, max(cur, s.want.Load()))
	first, last, err := s.store.FeedBounds(ctx)
	if err != nil {
		return err
	}
	s.storeSeq.Store(last)
	s.applyLimit.Store(int64(pollTimeout))
	s.applying.Store(time.Now().UnixNano())
	defer s.applying.Store(0)
	// Rows re-read below must be at least as new as the entries naming
	// them; a newer row is fine (its own entry comes next).
	ctx = data.ReadAtLeast(ctx, last)
	if last <= cur {
		return nil
	}
	if first > cur+1 {
		// Pruned past us: what we missed is gone from the feed.
		s.log.Info("change feed pruned past this replica's version; reloading", "version", cur, "feed_first", first)
		rctx, cancel := s.reloadContext(parent, last)
		defer cancel()
		if err := s.Load(rctx); err != nil {
			return err
		}
		// The entries skipped were never published: streams resume from the feed.
		s.stream.endAll(EndReload)
		return nil
	}
	b := batch{hazards: map[int64]bool{}, cameras: map[int64]bool{}}
	var lastAt time.Time // when the feed recorded entry last, if it is a followed layer's
	for after := cur; after < last; {
		page, err := s.store.Changes(ctx, data.ChangeQuery{After: after, UpTo: last, Layers: followed, Limit: feedPage})
		if err != nil {
			return err
		}
		for _, c := range page {
			b.add(c)
			if c.Seq == last {
				lastAt = c.At
			}
		}
		b.changes = append(b.changes, page...)
		if len(page) < feedPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	// Household points are not held here, only counted in derived results:
	// one entry is enough to know they moved, however many an import made.
	hh, err := s.store.Changes(ctx, data.ChangeQuery{After: cur, UpTo: last, Layers: []string{string(data.LayerHouseholds)}, Limit: 1})
	if err != nil {
		return err
	}
	actx := ctx
	if b.reloads() {
		var cancel context.CancelFunc
		actx, cancel = s.reloadContext(parent, last)
		defer cancel()
	}
	if err := s.apply(actx, &b); err != nil {
		return err
	}
	if len(hh) > 0 {
		s.householdGen.Add(1)
	}
	if !lastAt.IsZero() {
		// The moment the risk of this version judges (risk.go).
		s.noteFeedTime(last, lastAt)
	}
	s.setVersion(last)
	s.kickRisk()
	// The views show the batch: its subscribers may read them now.
	s.stream.publish(b.changes, last)
	return nil
}

// reloadContext is the context of a poll that reloads a layer, the areas
// or the plan whole: reloadTimeout from now, reading at least as new as
// the feed's last entry. Health gives the poll as long.
func (s *Service) reloadContext(parent context.Context, last int64) (context.Context, context.CancelFunc) {
	s.applyLimit.Store(int64(reloadTimeout))
	return context.WithTimeout(data.ReadAtLeast(parent, last), reloadTimeout)
}

// reloads reports whether applying b reloads something whole.
func (b *batch) reloads() bool {
	return b.reloadHazards || b.reloadCameras || b.areas || b.plan || b.streets || b.units
}

func (b *batch) add(c data.Change) {
	switch c.Layer {
	case string(data.LayerHazards):
		if !b.reloadHazards {
			b.hazards[c.FID] = true
			b.reloadHazards = len(b.hazards) > reloadAbove
		}
	case string(data.LayerCameras):
		if !b.reloadCameras {
			b.cameras[c.FID] = true
			b.reloadCameras = len(b.cameras) > reloadAbove
		}
	case string(data.LayerAreas):
		b.areas = true
	case string(data.LayerGrids), data.FeedPlans:
		b.plan = true
	case data.FeedKeys:
		b.keys = true
	case data.FeedWorkers:
		b.workers = true
	case feedStreets:
		b.streets = true
	case feedUnits:
		b.units = true
	}
}

// apply brings the views up to date with what b names, re-reading each
// changed row from the store: applying a change twice, or a change whose
// row has changed again since, leaves the view equal to the store.
func (s *Service) apply(ctx context.Context, b *batch) error {
	if b.keys {
		if err := s.keys.reload(ctx); err != nil {
			return err
		}
	}
	if b.workers {
		if err := s.reloadRoster(ctx); err != nil {
			return err
		}
	}
	if b.areas {
		if err := s.reloadAreas(ctx); err != nil && !s.keepOld("areas", err) {
			return err
		}
	}
	if b.plan {
		if err := s.reloadPlan(ctx); err != nil && !s.keepOld("published plan", err) {
			return err
		}
	}
	if b.workers || b.areas || b.plan {
		s.restaff()
	}
	var d sceneDelta
	d.shapes = b.areas || b.plan || b.workers // workers: the grids' worker names in the tiles
	if b.streets || b.units {
		var err error
		if d.streets, err = s.loadStreets(ctx, b.streets, b.units); err != nil {
			return err
		}
	}
	if b.reloadHazards || b.reloadCameras {
		if d.streets.streets != nil || d.streets.units != nil {
			// For the scene rebuilt next.
			s.tiles.mu.Lock()
			s.tiles.setStreets(d.streets)
			s.tiles.mu.Unlock()
		}
		layers, err := s.reloadPoints(ctx)
		if err != nil {
			return err
		}
		s.rebuildScene(layers)
		return nil
	}
	var err error
	if d.hazardPuts, d.hazardDels, err = reread(ctx, b.hazards, s.store.Hazard); err != nil {
		return err
	}
	if d.cameraPuts, d.cameraDels, err = reread(ctx, b.cameras, s.store.Camera); err != nil {
		return err
	}
	s.applyPoints(&d)
	s.updateScene(&d)
	return nil
}

// keepOld reports whether a reload failed on the data itself (an invalid
// geometry written by GDAL, QGIS or psql, which wangge's own writes refuse),
// logging it: the views keep the previous areas or plan and the follower
// goes on, rather than stop at this version on every replica.
func (s *Service) keepOld(what string, err error) bool {
	if data.ErrorCode(err) != data.EINVALID {
		return false
	}
	s.log.Error("the store's "+what+" cannot be indexed; the previous one stays in use until it is mended", "err", err)
	return true
}

// reread reads the rows fids name as the store has them now: those still
// there to put, those gone to delete.
func reread[T any](ctx context.Context, fids map[int64]bool, get func(context.Context, int64) (T, error)) (puts []T, dels []int64, err error) {
	for fid := range fids {
		v, err := get(ctx, fid)
		switch {
		case data.ErrorCode(err) == data.ENOTFOUND:
			dels = append(dels, fid)
		case err != nil:
			return nil, nil, err
		default:
			puts = append(puts, v)
		}
	}
	return puts, dels, nil
}

// applyPoints puts d's hazards and cameras into the maps and indexes.
func (s *Service) applyPoints(d *sceneDelta) {
	if len(d.hazardPuts)+len(d.hazardDels)+len(d.cameraPuts)+len(d.cameraDels) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range d.hazardPuts {
		if err := s.hazards.put(h); err != nil {
			s.log.Error("point layer out of step with the store", "err", err)
		}
	}
	for _, fid := range d.hazardDels {
		s.hazards.del(fid)
	}
	// Each camera as it was and is, for the coverage's incremental update.
	var camChanges []camChange
	for _, c := range d.cameraPuts {
		ch := camChange{new: &c}
		if old, ok := s.cameras.byID[c.FID]; ok {
			ch.old = old // never changed in place (points)
		}
		if err := s.cameras.put(c); err != nil {
			s.log.Error("point layer out of step with the store", "err", err)
		}
		camChanges = append(camChanges, ch)
	}
	for _, fid := range d.cameraDels {
		if old, ok := s.cameras.byID[fid]; ok {
			camChanges = append(camChanges, camChange{old: old})
		}
		s.cameras.del(fid)
	}
	if len(d.hazardPuts)+len(d.hazardDels) > 0 {
		s.hazardGen.Add(1)
	}
	if len(d.cameraPuts)+len(d.cameraDels) > 0 {
		s.camLog.add(&s.cameraGen, camChanges)
	}
}

// pruneLoop trims the feed at once and every pruneEvery, beside the
// polls: the first prune after a province's import (4.3 million entries)
// takes seconds, and made inside a poll it kept every write meanwhile out
// of the views (a PATCH waited 2 s for its own change, then returned with
// its change not yet shown).
func (s *Service) pruneLoop(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if s.storeSeq.Load() >= int64(s.cfg.FeedKeep) {
			pctx, cancel := context.WithTimeout(ctx, pollTimeout)
			s.prune(pctx)
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune trims the feed to its last FeedKeep entries. Every replica may; on
// a standby it does nothing.
func (s *Service) prune(ctx context.Context) {
	n, err := s.store.PruneChanges(ctx, s.cfg.FeedKeep)
	if err != nil {
		s.log.Warn("change feed not pruned", "err", err)
		return
	}
	if n > 0 {
		s.log.Debug("change feed pruned", "deleted", n)
	}
	if _, err := s.store.PruneIdempotency(ctx, time.Now().Add(-data.IdempotencyTTL)); err != nil {
		s.log.Warn("idempotency records not pruned", "err", err)
	}
}
