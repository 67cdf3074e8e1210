// Package live owns the state that wangge derives from its store: the
// in-memory indexes of hazards and cameras, the areas and the published
// plan with their locators, the tile scene and cache, the key snapshot,
// and the version they all stand at. It follows the store's change feed,
// so every view converges on every committed change, whoever made it: this
// process, another replica, the CLI, GDAL or QGIS on the GeoPackage, psql.
//
// The api package turns HTTP into calls on a Service and its answers into
// HTTP; nothing in here knows about requests.
package live

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
	"github.com/wangge/wangge/tiles"
)

// Defaults of Config.
const (
	DefaultPoll     = 100 * time.Millisecond
	DefaultFeedKeep = 100_000
	// DefaultStale is how long the feed may go unread before the service
	// says it is not ready.
	DefaultStale = 3 * time.Second
	// tileCacheBytes bounds the tile cache: some 20,000 typical city tiles.
	tileCacheBytes = 256 << 20
)

// Config is what a Service needs.
type Config struct {
	Store  data.Store
	Logger *slog.Logger
	// Poll is how often the change feed is read when nothing wakes the
	// follower sooner; 0 means DefaultPoll.
	Poll time.Duration
	// FeedKeep is how many feed entries pruning keeps; 0 means
	// DefaultFeedKeep. A follower further behind than that reloads in full.
	FeedKeep int
	// Stale is how long a feed may go unread before Health fails; 0 means
	// DefaultStale.
	Stale time.Duration
	// TileCacheBytes bounds the tile cache; 0 means 256 MiB, negative turns
	// caching off (for benchmarks of rendering).
	TileCacheBytes int
	// Taxonomy is the event categories and worker roles in use; nil means
	// data.DefaultTaxonomy.
	Taxonomy *data.Taxonomy
	// Risk is the risk rules of the grids (risk.go); nil means
	// data.DefaultRiskRules.
	Risk *data.RiskRules
	// Webhooks is how webhooks are delivered (webhooks.go); its Render is
	// given to RunWebhooks.
	Webhooks HookConfig
	// Rules are the deployment's notification rules (notify.go); nil
	// means none.
	Rules *data.NotifyRules
}

// Service is the live state. Its zero value is not usable; call New, then
// Load, then Run in a goroutine.
type Service struct {
	store data.Store
	log   *slog.Logger
	cfg   Config

	// version is the change-feed Seq up to which every view is applied.
	version atomic.Int64
	// want is the highest version a WaitFor has asked for: the follower
	// reads at least that far, from the primary when standbys lag.
	want atomic.Int64
	// changed is closed and replaced each time version moves.
	waitMu  sync.Mutex
	changed chan struct{}
	// kick asks the follower to read the feed now.
	kick chan struct{}

	mu      sync.RWMutex // guards the point layers
	hazards points[data.Hazard]
	cameras points[data.Camera]

	// hazardGen and cameraGen count applied changes of each layer; derived
	// results (coverage, statistics) key on them.
	hazardGen    atomic.Uint64
	cameraGen    atomic.Uint64
	householdGen atomic.Uint64
	// camLog holds the camera changes behind the last cameraGen steps
	// (coverage.go).
	camLog camLog

	// Swapped whole, so a lookup sees one plan or the next.
	areas     atomic.Pointer[Areas]
	published atomic.Pointer[Plan]

	keys   keySnapshot
	roster rosterState
	tiles  tileState
	// derived holds coverage and statistics (coverage.go, stats.go).
	derived derivedCache
	// risk holds the grids' risk levels (risk.go).
	risk riskState
	jobs jobs
	// stream hands each applied change to its subscribers (stream.go).
	stream streamState
	// shares keeps the grids' street shares of recent plans (streets.go).
	shares shareCache

	// storeSeq is the feed's last Seq as the follower last read it.
	storeSeq atomic.Int64
	// applying is when, in Unix nanoseconds, the poll under way read the
	// feed and began applying it; 0 between polls (Health).
	applying atomic.Int64
	// applyLimit is how long, in nanoseconds, that poll may take.
	applyLimit atomic.Int64
	// health of the follower (follow.go).
	healthMu sync.Mutex
	lastRead time.Time
	lastErr  error
	loaded   atomic.Bool
}

// New builds a Service over cfg.Store. It holds nothing until Load.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.FeedKeep <= 0 {
		cfg.FeedKeep = DefaultFeedKeep
	}
	if cfg.Stale <= 0 {
		cfg.Stale = DefaultStale
	}
	if cfg.Taxonomy == nil {
		cfg.Taxonomy = data.DefaultTaxonomy()
	}
	if cfg.Risk == nil {
		cfg.Risk = data.DefaultRiskRules()
	}
	n := cfg.TileCacheBytes
	if n == 0 {
		n = tileCacheBytes
	}
	s := &Service{store: cfg.Store, log: cfg.Logger, cfg: cfg, changed: make(chan struct{}), kick: make(chan struct{}, 1),
		hazards: points[data.Hazard]{kind: "hazard", at: hazardAt, byID: map[int64]*data.Hazard{}, index: spatial.NewPointIndex[int64]()},
		cameras: points[data.Camera]{kind: "camera", at: cameraAt, byID: map[int64]*data.Camera{}, index: spatial.NewPointIndex[int64]()}}
	s.keys.store = cfg.Store
	s.risk.kick = make(chan struct{}, 1)
	s.jobs.ctx, s.jobs.stop = context.WithCancel(context.Background())
	s.tiles.cache = tiles.NewCache(max(n, 0))
	return s
}

// Taxonomy returns the event categories and worker roles in use.
func (s *Service) Taxonomy() *data.Taxonomy { return s.cfg.Taxonomy }

// Store returns the store the service follows.
func (s *Service) Store() data.Store { return s.store }

// Load builds every view from the store, at the feed's current end: what
// it reads is at least that new, and changes after it are applied by Run
// (applying one twice does no harm, as each re-reads the row).
func (s *Service) Load(ctx context.Context) error {
	start := time.Now()
	// Never load older than what is shown already (a reload after the
	// feed was pruned); every read below sees at least the feed's end.
	ctx = data.ReadAtLeast(ctx, s.Version())
	_, last, err := s.store.FeedBounds(ctx)
	if err != nil {
		return err
	}
	s.storeSeq.Store(last)
	ctx = data.ReadAtLeast(ctx, last)
	// The hazards are most of a province's load (a million rows): they are
	// read while the rest is read and indexed on another core.
	var read pointLists
	if err := both(func() (err error) {
		read, err = s.readPoints(ctx)
		return err
	}, func() error {
		if err := s.reloadAreas(ctx); err != nil {
			return err
		}
		if err := s.reloadPlan(ctx); err != nil {
			return err
		}
		if err := s.keys.reload(ctx); err != nil {
			return err
		}
		if err := s.reloadRoster(ctx); err != nil {
			return err
		}
		return s.reloadStreetLayers(ctx)
	}); err != nil {
		return err
	}
	// Then the points are indexed while the grids' staff and the scene's
	// polygons are made, which need no point: after the points, they
	// were a fifth of a province's load on one core while the other idled.
	var pts indexedPoints
	if err := both(func() (err error) {
		pts, err = indexPoints(read)
		return err
	}, func() error {
		s.restaff()
		s.prepareShapes()
		return nil
	}); err != nil {
		return err
	}
	s.setPoints(pts)
	s.rebuildScene(pts.layers)
	s.setVersion(last)
	s.markRead(nil)
	s.loaded.Store(true)
	s.mu.RLock()
	nh, nc := len(s.hazards.byID), len(s.cameras.byID)
	s.mu.RUnlock()
	s.log.Info("views loaded", "hazards", nh, "cameras", nc, "version", last, "dur", time.Since(start).Round(time.Millisecond))
	return nil
}

// Loaded reports whether Load has succeeded once.
func (s *Service) Loaded() bool { return s.loaded.Load() }

// reloadPoints replaces the hazards and cameras with the store's, and
// returns their tile layers, prepared from the same lists for the scene
// that rebuildScene makes next.
func (s *Service) reloadPoints(ctx context.Context) (scenePoints, error) {
	read, err := s.readPoints(ctx)
	if err != nil {
		return scenePoints{}, err
	}
	pts, err := indexPoints(read)
	if err != nil {
		return scenePoints{}, err
	}
	s.setPoints(pts)
	return pts.layers, nil
}

// pointLists are the hazards and cameras as read from the store.
type pointLists struct {
	hazards []data.Hazard
	cameras []data.Camera
}

// readPoints reads every hazard and camera, the two at once.
func (s *Service) readPoints(ctx context.Context) (pointLists, error) {
	var l pointLists
	err := both(func() (err error) {
		l.hazards, err = s.readHazards(ctx)
		return err
	}, func() (err error) {
		l.cameras, err = s.store.Cameras(ctx)
		return err
	})
	return l, err
}

// indexedPoints are the views' hazards and cameras, and their tile
// layers, made from one pointLists: the two share the lists.
type indexedPoints struct {
	hazards points[data.Hazard]
	cameras points[data.Camera]
	layers  scenePoints
}

// indexPoints indexes the lists of l and prepares their tile layers, each
// list's index and layer at once.
func indexPoints(l pointLists) (indexedPoints, error) {
	var ip indexedPoints
	err := both(func() (err error) {
		ip.hazards, err = newPoints("hazard", hazardAt, l.hazards)
		return err
	}, func() (err error) {
		ip.layers.hazards = tiles.HazardPoints(l.hazards)
		if ip.cameras, err = newPoints("camera", cameraAt, l.cameras); err != nil {
			return err
		}
		ip.layers.cameras = tiles.CameraPoints(l.cameras)
		return nil
	})
	return ip, err
}

// setPoints makes ip the views' hazards and cameras.
func (s *Service) setPoints(ip indexedPoints) {
	s.mu.Lock()
	s.hazards, s.cameras = ip.hazards, ip.cameras
	s.mu.Unlock()
	s.hazardGen.Add(1)
	s.camLog.reset(&s.cameraGen)
	s.householdGen.Add(1)
}

// hazardParts is a store that reads every hazard in parts at once (the
// GeoPackage: a connection a part), each part at least as new as ctx asks
// but not necessarily of one commit: right for a load, whose later changes
// the follower applies, not for a copy of the store.
type hazardParts interface {
	HazardsInParts(ctx context.Context, parts int) ([]data.Hazard, error)
}

// readHazards reads every hazard for a load: in a part a core where the
// store can (on one core too: the parts are its fastest read).
func (s *Service) readHazards(ctx context.Context) ([]data.Hazard, error) {
	if hp, ok := s.store.(hazardParts); ok {
		return hp.HazardsInParts(ctx, runtime.GOMAXPROCS(0))
	}
	return s.store.Hazards(ctx)
}

// both runs f and g at once and returns the first of their errors.
func both(f, g func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- g() }()
	err := f()
	if gerr := <-errc; err == nil {
		err = gerr
	}
	return err
}

// Version returns the change-feed Seq every view has applied.
func (s *Service) Version() int64 { return s.version.Load() }

func (s *Service) setVersion(v int64) {
	s.waitMu.Lock()
	if v > s.version.Load() {
		s.version.Store(v)
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.waitMu.Unlock()
}

// ErrBehind is returned by WaitFor when the views do not reach the version
// asked for in time.
var ErrBehind = errors.New("live: views are behind the version asked for")

// WaitFor waits until every view has applied Seq v, asking the follower to
// read the feed at once, for as long as ctx allows; ErrBehind (wrapped in
// an EUNAVAILABLE error) when ctx ends first.
func (s *Service) WaitFor(ctx context.Context, v int64) error {
	if v <= s.Version() {
		return nil
	}
	for cur := s.want.Load(); cur < v && !s.want.CompareAndSwap(cur, v); cur = s.want.Load() {
	}
	// The wish ends with the wait: a version nobody waits for any more
	// must not keep the follower reading from the primary. (A waiter for a
	// lower one may lose its wish here; it still gets there with the
	// standbys, only not sooner.)
	defer s.want.CompareAndSwap(v, 0)
	for {
		s.waitMu.Lock()
		ch, cur := s.changed, s.version.Load()
		s.waitMu.Unlock()
		if cur >= v {
			return nil
		}
		s.Kick()
		select {
		case <-ch:
		case <-ctx.Done():
			return data.Wrap(data.EUNAVAILABLE, ErrBehind, "this replica is at version %d, not yet at %d; retry shortly", cur, v)
		}
	}
}

// ErrFuture is returned by WaitForClient for a version no write has made.
var ErrFuture = errors.New("live: version newer than any write")

// WaitForClient is WaitFor for a version a client sends back
// (Wangge-Min-Version): one beyond the primary's feed was never given out,
// and is refused (EINVALID) rather than waited for, so that a made-up
// number cannot keep the follower reading from the primary. While the
// primary cannot say, it is waited for like any other.
func (s *Service) WaitForClient(ctx context.Context, v int64) error {
	if v <= s.Version() {
		return nil
	}
	if _, last, err := s.store.FeedBounds(data.ReadPrimary(ctx)); err == nil && v > last {
		return data.Wrap(data.EINVALID, ErrFuture, "version %d is newer than any write (the store is at %d)", v, last)
	}
	return s.WaitFor(ctx, v)
}

// Sync waits until every view shows every change committed to the store
// before the call: what a writer calls so that its response is never
// newer than its own reads.
func (s *Service) Sync(ctx context.Context) (int64, error) {
	// Only the primary knows everything committed before now.
	_, last, err := s.store.FeedBounds(data.ReadPrimary(ctx))
	if err != nil {
		return 0, err
	}
	return last, s.WaitFor(ctx, last)
}

// Kick asks the follower to read the feed now rather than at its next poll.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Published returns the published plan, nil when none is.
func (s *Service) Published() *Plan { return s.published.Load() }

// Areas returns every area, nil before Load.
func (s *Service) Areas() *Areas { return s.areas.Load() }

// HazardGen, CameraGen and HouseholdGen change whenever a hazard, a
// camera or a household point does: results derived from them key on it.
func (s *Service) HazardGen() uint64    { return s.hazardGen.Load() }
func (s *Service) CameraGen() uint64    { return s.cameraGen.Load() }
func (s *Service) HouseholdGen() uint64 { return s.householdGen.Load() }

// Hazard returns one hazard by fid.
func (s *Service) Hazard(fid int64) (data.Hazard, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if h, ok := s.hazards.byID[fid]; ok {
		return *h, true
	}
	return data.Hazard{}, false
}

// Camera returns one camera by fid.
func (s *Service) Camera(fid int64) (data.Camera, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.cameras.byID[fid]; ok {
		return *c, true
	}
	return data.Camera{}, false
}

// EachHazard calls fn for every hazard, in no order, holding a read lock:
// fn must not call back into the service.
func (s *Service) EachHazard(fn func(data.Hazard)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.hazards.byID {
		fn(*h)
	}
}

// TimeExtent returns the first and last time of a layer's temporal
// property (data.TimeProperty), from the views: the store has no index on
// it. False for a layer without one, or with no features.
func (s *Service) TimeExtent(layer data.Layer) (first, last time.Time, ok bool) {
	if layer != data.LayerHazards {
		return first, last, false
	}
	s.EachHazard(func(h data.Hazard) {
		if !ok || h.ReportedAt.Before(first) {
			first = h.ReportedAt
		}
		if !ok || h.ReportedAt.After(last) {
			last = h.ReportedAt
		}
		ok = true
	})
	return first.UTC(), last.UTC(), ok
}

// EachCamera is EachHazard for cameras.
func (s *Service) EachCamera(fn func(data.Camera)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.cameras.byID {
		fn(*c)
	}
}

// NearbyHazards returns up to limit hazards within radiusM metres of p,
// nearest first.
func (s *Service) NearbyHazards(p orb.Point, radiusM float64, limit int) []Near[data.Hazard] {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hazards.nearby(p, radiusM, limit)
}

// NearbyCameras is NearbyHazards for cameras.
func (s *Service) NearbyCameras(p orb.Point, radiusM float64, limit int) []Near[data.Camera] {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cameras.nearby(p, radiusM, limit)
}
