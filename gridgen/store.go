package gridgen

import (
	"context"

	"github.com/wangge/wangge/data"
)

// Request is what a planner asks for, in terms of what is stored: the
// store supplies the households, the parents and the base plan.
type Request struct {
	Target     int            `json:"target"`
	Grids      map[string]int `json:"grids,omitempty"` // grid count per parent code
	Resolution int            `json:"res,omitempty"`   // 0 = automatic
	BaseID     int64          `json:"base,omitempty"`  // plan to redraw from, 0 = none
	Locked     []string       `json:"lock,omitempty"`  // codes of base grids kept as they are
	// NoStreets draws grids without regard to the streets layer (wangge
	// gridgen --no-streets); by default boundaries follow its streets.
	NoStreets bool `json:"no_streets,omitempty"`
	// Weight is what grids balance: "households" (the default) or
	// "workload" (workload.go), with Workload's mix (none: the default).
	Weight   string    `json:"weight,omitempty"`
	Workload *Workload `json:"workload,omitempty"`
}

// LoadInput reads from store everything Generate needs for r: every
// household point (as Input.Points), the leaf areas (areas no other area names as parent) as
// parents, the streets, the units and the base plan.
func LoadInput(ctx context.Context, store data.Store, r Request) (Input, error) {
	in := Input{Target: r.Target, Grids: r.Grids, Resolution: r.Resolution, Locked: r.Locked}
	if err := validateRequest(r); err != nil {
		return in, err
	}
	areas, err := store.Areas(ctx)
	if err != nil {
		return in, err
	}
	in.Parents = Leaves(areas)
	if len(in.Parents) == 0 {
		return in, data.Errorf(data.EINVALID, "no areas: import the areas grids nest in first (wangge import areas FILE)")
	}
	if in.Points, err = householdPoints(ctx, store); err != nil {
		return in, err
	}
	// Streets are loaded with NoStreets too: the report measures how much
	// of the boundary follows them all the same.
	if in.Streets, err = store.Streets(ctx); err != nil {
		return in, err
	}
	in.NoStreets = r.NoStreets
	in.Weight = r.Weight
	if r.Workload != nil {
		in.Workload = *r.Workload
	}
	if r.Weight == WeightWorkload {
		if in.Hazards, err = store.Hazards(ctx); err != nil {
			return in, err
		}
	}
	if in.Units, err = store.Units(ctx); err != nil {
		return in, err
	}
	if r.BaseID != 0 {
		base, err := store.Plan(ctx, r.BaseID)
		if err != nil {
			if data.ErrorCode(err) == data.ENOTFOUND {
				return in, data.Errorf(data.EINVALID, "base plan %d does not exist", r.BaseID)
			}
			return in, err
		}
		in.Base = &base
	} else if len(r.Locked) > 0 {
		return in, data.Errorf(data.EINVALID, "lock needs a base plan: locked grids are kept from it")
	}
	return in, nil
}

// householdPointer is a store that reads the household points without
// their ids, which gridgen does not use: at a province's 13 million points
// the ids are most of the memory and of the collector's work.
type householdPointer interface {
	HouseholdPoints(ctx context.Context) ([]data.HouseholdPoint, error)
}

// householdPoints reads every household point of store, from
// HouseholdPoints when the store has it.
func householdPoints(ctx context.Context, store data.Store) ([]data.HouseholdPoint, error) {
	if hp, ok := store.(householdPointer); ok {
		return hp.HouseholdPoints(ctx)
	}
	var out []data.HouseholdPoint
	err := store.EachHousehold(ctx, func(h data.Household) error {
		out = append(out, data.HouseholdPoint{Point: h.Point, Households: int32(h.Households)})
		return nil
	})
	return out, err
}

// Leaves returns the areas that are no other area's parent: the areas grids
// nest in.
func Leaves(areas []data.Area) []data.Area {
	parents := map[string]bool{}
	for _, a := range areas {
		if a.ParentCode != "" {
			parents[a.ParentCode] = true
		}
	}
	var out []data.Area
	for _, a := range areas {
		if !parents[a.Code] {
			out = append(out, a)
		}
	}
	return out
}

func validateRequest(r Request) error {
	if r.Target <= 0 && len(r.Grids) == 0 {
		return data.Errorf(data.EINVALID, "target must be a positive number of households per grid, got %d", r.Target)
	}
	if r.Resolution != 0 && (r.Resolution < MinResolution || r.Resolution > MaxResolution) {
		return data.Errorf(data.EINVALID, "res must be from %d to %d (or 0 for automatic), got %d", MinResolution, MaxResolution, r.Resolution)
	}
	if r.Weight != "" && r.Weight != WeightHouseholds && r.Weight != WeightWorkload {
		// Checked before anything is read: a workload plan reads every hazard.
		return data.FieldError(data.EINVALID, "weight", "weight must be %s or %s, got %q", WeightHouseholds, WeightWorkload, r.Weight)
	}
	for code, n := range r.Grids {
		if n <= 0 {
			return data.Errorf(data.EINVALID, "grids for %s must be positive, got %d", code, n)
		}
	}
	return nil
}

// Validate reports the first thing wrong with in, as Generate would, without
// doing the work: an HTTP handler can answer 400 before starting a job.
func (in Input) Validate() error { return validate(in) }
