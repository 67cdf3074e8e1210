package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Areas is every area, by code, with what locate needs rendered once.
type Areas struct {
	List   []data.Area
	ByCode map[string]int
	// Levels[i] locates the areas of level i+1 (locator id = index in
	// List): areas of one level do not overlap, so each level answers once.
	Levels []*spatial.Locator
	// Chains[i] is the JSON array of area i and its ancestors, nearest
	// first, rendered once so that locate only copies it.
	Chains [][]byte
}

// Plan is the published plan with its exact grid locator. Grid i of
// Plan.Grids has locator id i.
type Plan struct {
	Plan    data.Plan
	Locator *spatial.Locator
	ByCode  map[string]int
	// print is gridsPrint(&Plan), taken once here: the risk worker looks
	// its cached cells up by it after every batch.
	print uint64
}

func (s *Service) reloadAreas(ctx context.Context) error {
	areas, err := s.store.Areas(ctx)
	if err != nil {
		return err
	}
	set, err := NewAreas(areas)
	if err != nil {
		return err
	}
	s.areas.Store(set)
	return nil
}

// NewAreas indexes areas.
func NewAreas(areas []data.Area) (*Areas, error) {
	set := &Areas{List: areas, ByCode: make(map[string]int, len(areas))}
	for i, a := range areas {
		set.ByCode[a.Code] = i
	}
	var err error
	if set.Levels, err = areaLocators(areas); err != nil {
		return nil, err
	}
	set.Chains = areaChains(set)
	return set, nil
}

// Deepest returns the index in List of the deepest area containing p, by
// point-in-polygon on each level from the bottom up; false when none does
// (or as is nil).
func (as *Areas) Deepest(p orb.Point) (int, bool) {
	if as == nil {
		return 0, false
	}
	for lvl := len(as.Levels) - 1; lvl >= 0; lvl-- {
		if as.Levels[lvl] == nil {
			continue
		}
		if i, ok := as.Levels[lvl].Locate(p); ok {
			return i, true
		}
	}
	return 0, false
}

// reloadPlan rebuilds the locator of the published plan as the store has
// it and swaps it in while lookups go on against the previous one. Only the
// follower calls it, so the live plan is always the store's latest.
func (s *Service) reloadPlan(ctx context.Context) error {
	p, err := s.store.PublishedPlan(ctx)
	if data.ErrorCode(err) == data.ENOTFOUND {
		s.published.Store(nil)
		return nil
	}
	if err != nil {
		return err
	}
	pp, err := NewPlan(p)
	if err != nil {
		return err
	}
	s.published.Store(pp)
	return nil
}

// NewPlan indexes a plan's grids for locate.
func NewPlan(p data.Plan) (*Plan, error) {
	grids := make([]spatial.LocatorGrid, len(p.Grids))
	byCode := make(map[string]int, len(p.Grids))
	for i, g := range p.Grids {
		grids[i] = spatial.LocatorGrid{ID: i, Geom: g.Geometry}
		byCode[g.Code] = i
	}
	loc, err := spatial.NewLocator(grids)
	switch {
	case errors.Is(err, spatial.ErrInvalidGeometry):
		return nil, data.Wrap(data.EINVALID, err, "plan %d has an invalid grid geometry: %v", p.ID, err)
	case err != nil:
		return nil, fmt.Errorf("build locator for plan %d: %w", p.ID, err)
	}
	return &Plan{Plan: p, Locator: loc, ByCode: byCode, print: gridsPrint(&p)}, nil
}

// areaLocators builds one exact locator per area level. Area i of areas
// has locator id i.
func areaLocators(areas []data.Area) ([]*spatial.Locator, error) {
	var byLevel [][]spatial.LocatorGrid
	for i, a := range areas {
		if a.Level < 1 {
			continue
		}
		for len(byLevel) < a.Level {
			byLevel = append(byLevel, nil)
		}
		byLevel[a.Level-1] = append(byLevel[a.Level-1], spatial.LocatorGrid{ID: i, Geom: a.Geometry})
	}
	out := make([]*spatial.Locator, len(byLevel))
	for lvl, grids := range byLevel {
		if len(grids) == 0 {
			continue
		}
		loc, err := spatial.NewLocator(grids)
		if err != nil {
			return nil, data.Wrap(data.EINVALID, err, "areas of level %d cannot be indexed: %v", lvl+1, err)
		}
		out[lvl] = loc
	}
	return out, nil
}

// areaRef is an area as locate lists it among a point's parents.
type areaRef struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// areaChains renders, for every area, the JSON array of it and its
// ancestors by parent_code, nearest first. A cycle in parent codes (which
// the importer rejects, but GDAL or psql could write) stops the walk
// instead of looping.
func areaChains(as *Areas) [][]byte {
	out := make([][]byte, len(as.List))
	for i := range as.List {
		var chain []areaRef
		seen := map[int]bool{}
		for j, ok := i, true; ok && !seen[j]; j, ok = as.ByCode[as.List[j].ParentCode] {
			seen[j] = true
			a := as.List[j]
			chain = append(chain, areaRef{Code: a.Code, Name: a.Name, Level: a.Level})
		}
		out[i] = mustJSON(chain)
	}
	return out
}

// gridRef is a grid as locate shows it.
type gridRef struct {
	Code       string  `json:"code"`
	Name       string  `json:"name"`
	ParentCode string  `json:"parent_code"`
	Households int     `json:"households"`
	AreaM2     float64 `json:"area_m2"`
	// Worker is the name of the grid's first worker (the roster's, or,
	// with no roster entry, the grid's own worker field), "" if none.
	Worker  string        `json:"worker"`
	Workers []data.Worker `json:"workers"`
	Chief   *data.Worker  `json:"chief"`
	PlanID  int64         `json:"plan_id"`
}

// renderGrid renders grid i of p with its staff as locate shows it;
// phones only when private.
func renderGrid(p data.Plan, i int, st Staff, private bool) []byte {
	g := p.Grids[i]
	ref := gridRef{Code: g.Code, Name: g.Name, ParentCode: g.ParentCode, Households: g.Households,
		AreaM2: finiteOr0(math.Round(g.AreaM2)), Worker: g.Worker, Workers: []data.Worker{}, PlanID: p.ID}
	for _, w := range st.Workers {
		if !private {
			w = w.Public()
		}
		ref.Workers = append(ref.Workers, w)
	}
	if len(ref.Workers) > 0 {
		ref.Worker = ref.Workers[0].Name
	}
	if st.Chief != nil {
		c := *st.Chief
		if !private {
			c = c.Public()
		}
		ref.Chief = &c
	}
	return mustJSON(ref)
}

// mustJSON encodes plain structs of strings and finite numbers, which
// cannot fail; should one not be, the answer shows null rather than break.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func finiteOr0(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
