// Package data holds wangge's domain types and their validation, the Store
// and Tx interfaces that the GeoPackage (data/gpkg) and PostGIS
// (data/postgis) stores implement, and what the stores and their callers
// share: the error codes (error.go), the change feed (changes.go), read
// freshness for standbys (freshness.go), roles (auth.go), the one audited
// write (audit.go) that keys and plans go through (keys.go, plans.go), the
// event states, taxonomy, roster and risk rules; and, for both stores, the
// properties each layer serves (columns.go) and the decoding of stored rows
// and geometries (rows.go, geom.go). The importers that fill a store are in
// data/importer.
//
// Coordinates are WGS 84 (EPSG:4326) longitude, latitude everywhere.
package data

import (
	"time"

	"github.com/paulmach/orb"
)

// Layer names a kind of stored feature. The names are also the OGC API
// collection ids and the GeoPackage table names.
type Layer string

// The layers wangge stores.
const (
	LayerHouseholds Layer = "households"
	LayerAreas      Layer = "areas"
	LayerGrids      Layer = "grids"
	LayerHazards    Layer = "hazards"
	LayerCameras    Layer = "cameras"
	LayerStreets    Layer = "streets"
	LayerUnits      Layer = "units"
)

// Layers lists every layer in a stable order.
func Layers() []Layer {
	return []Layer{LayerAreas, LayerGrids, LayerHazards, LayerCameras, LayerHouseholds, LayerStreets, LayerUnits}
}

// ParseLayer returns the layer called name.
func ParseLayer(name string) (Layer, error) {
	for _, l := range Layers() {
		if string(l) == name {
			return l, nil
		}
	}
	return "", Errorf(ENOTFOUND, "unknown collection %q (known: areas, grids, hazards, cameras, households, streets, units)", name)
}

// Household is a residential building or address point with its number of
// households. Household points are personal data: they never leave the server
// to roles that may not see them.
type Household struct {
	FID        int64     // store id, 0 until stored
	ID         string    // source id, unique in the store
	Point      orb.Point // lon, lat
	Households int       // ≥ 1
}

// HouseholdPoint is a household point as grid generation reads it: the
// point and its households, without ids. It holds no pointer, so millions
// of them cost the garbage collector nothing to scan.
type HouseholdPoint struct {
	Point      orb.Point // lon, lat
	Households int32     // ≥ 1
}

// Area is an administrative polygon. Areas nest: Level 1 areas (streets,
// townships) contain level 2 areas (communities, villages); grids are drawn
// inside the leaves of that tree.
type Area struct {
	FID        int64
	Code       string // unique
	Name       string
	NameEn     string
	Level      int    // depth in the nesting tree, 1 = top
	AdminLevel int    // as given by the source (OSM admin_level), 0 if none
	ParentCode string // "" for a top-level area
	OSMID      string
	Geometry   orb.MultiPolygon
}

// Hazard is a reported point problem: an event (events.go), a hazard (隐患)
// or a dispute (矛盾纠纷) by its category's kind, on its way from report to
// closure.
type Hazard struct {
	FID        int64
	ID         string // source id, unique in the store
	Point      orb.Point
	Category   string // a Taxonomy category
	Severity   int    // 1–3
	Status     Status
	ReportedAt time.Time
	Note       string // what the reporter or the last transition said
	Assignee   string // the worker (Worker.ID) handling it, "" if none
	// RespCode and RespLevel are the unit responsible for it: a grid, an
	// area, or the county (RespCounty, code ""); escalation moves them up.
	RespCode  string
	RespLevel int
	// DueAt is when it must be resolved, from its category's deadline at
	// report time; zero when it was not set (older data): the figures then
	// take the category's deadline from the taxonomy in use.
	DueAt      time.Time
	ResolvedAt time.Time // when it was last resolved; zero if it is not
	ClosedAt   time.Time // when it was closed; zero if it is not
}

// Camera is a surveillance camera. Its coverage is the sector of radius
// RangeM metres and opening FOV degrees centred on Azimuth (degrees clockwise
// from north).
type Camera struct {
	FID     int64
	ID      string // source id, unique in the store
	Point   orb.Point
	Azimuth float64 // [0, 360)
	FOV     float64 // (0, 360]
	RangeM  float64 // > 0
	Status  string  // one of CameraStatuses
}

// CameraStatuses returns the accepted camera statuses.
func CameraStatuses() []string { return []string{"online", "offline", "maintenance"} }

// Grid is a management unit: a polygon inside exactly one parent area, made
// from H3 cells clipped to the parent.
type Grid struct {
	FID        int64
	PlanID     int64
	Code       string // parent code + 3-digit sequence
	ParentCode string
	Name       string
	Households int
	AreaM2     float64
	Worker     string   // the grid worker's name, "" until assigned
	Cells      []uint64 // H3 cells at the plan's resolution
	Geometry   orb.MultiPolygon
}

// Plan is one complete set of grids. Exactly one plan is published at a time.
type Plan struct {
	ID         int64
	CreatedAt  time.Time
	Target     int   // households per grid
	Resolution int   // H3 resolution of the cells
	BaseID     int64 // the plan this one was redrawn from, 0 if none
	Published  bool
	Report     Report
	Grids      []Grid
}

// Report is the quality report of a plan (DESIGN.md, "Grid generation").
type Report struct {
	Grids             int         `json:"grids"`
	Parents           int         `json:"parents"`
	Households        int         `json:"households"`
	Target            int         `json:"target"`
	Resolution        int         `json:"resolution"`
	ResolutionAuto    bool        `json:"resolution_auto"`
	HouseholdsMin     int         `json:"households_min"`
	HouseholdsMedian  float64     `json:"households_median"`
	HouseholdsMax     int         `json:"households_max"`
	MaxDeviationPct   float64     `json:"max_deviation_pct"`
	WithinTenPct      int         `json:"within_10pct"`
	NonContiguous     int         `json:"non_contiguous"`
	GapAreaM2         float64     `json:"gap_area_m2"`
	OverlapAreaM2     float64     `json:"overlap_area_m2"`
	PolsbyPopperMean  float64     `json:"polsby_popper_mean"`
	PolsbyPopperMin   float64     `json:"polsby_popper_min"`
	CutEdges          int         `json:"cut_edges"`
	HouseholdsMoved   int         `json:"households_moved"`
	HouseholdsOutside int         `json:"households_outside"`
	Parts             int         `json:"parts"`          // separately partitioned pieces of parents (exclaves, islands)
	Cells             int         `json:"cells"`          // cell pieces in the partition graph
	EmptyGrids        int         `json:"empty_grids"`    // grids with no households (parts without any)
	Constrained       int         `json:"constrained"`    // grids that cannot be within ±10 %: heavy cells, locked grids, parts whose households do not split evenly
	ParentAreaM2      float64     `json:"parent_area_m2"` // sum of the parents' areas
	GridAreaM2        float64     `json:"grid_area_m2"`   // sum of the grids' areas
	HeavyCells        []HeavyCell `json:"heavy_cells,omitempty"`
	// InnerBoundaryM is the length of boundary between two grids (not
	// along a parent's edge); StreetSharePct the share of it within 20 m
	// of a street, river or railway. Both are measured only when the
	// streets layer has data (gridgen/streets.go), whether or not the
	// grids were drawn to follow them.
	InnerBoundaryM float64 `json:"inner_boundary_m,omitempty"`
	StreetSharePct float64 `json:"street_share_pct,omitempty"`
	// Weight is "workload" when the grids were balanced by workload
	// (gridgen/workload.go): MaxDeviationPct and WithinTenPct then measure
	// workload, and WorkloadMin/Median/Max give it per grid, in
	// households; "" when they were balanced by households.
	Weight         string  `json:"weight,omitempty"`
	WorkloadMin    float64 `json:"workload_min,omitempty"`
	WorkloadMedian float64 `json:"workload_median,omitempty"`
	WorkloadMax    float64 `json:"workload_max,omitempty"`
	// Units is how many units lie in some grid; UnitsByGrid lists them
	// (source ids) under the grid that holds most of each; UnitsSplit
	// names those that more than one grid covers.
	Units       int                 `json:"units,omitempty"`
	UnitsByGrid map[string][]string `json:"units_by_grid,omitempty"`
	UnitsSplit  []SplitUnit         `json:"units_split,omitempty"`
	// WithoutWorker lists the grids no worker of the roster serves (by the
	// grid's code or an area's above it) when the plan was drawn; a chief
	// alone does not count. Nil when the roster is empty (nobody staffed).
	WithoutWorker  []string `json:"without_worker,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`
	RuntimeSeconds float64  `json:"runtime_seconds"`
}

// SplitUnit is a unit that more than one grid covers.
type SplitUnit struct {
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Kind   string   `json:"kind"`
	AreaM2 float64  `json:"area_m2"`
	Grids  []string `json:"grids"`
	// AcrossParents: the unit straddles the edge of two parent areas,
	// and grids nest in parents, so no grid can hold it whole.
	AcrossParents bool `json:"across_parents,omitempty"`
	// Reason says why gridgen did not keep it whole: across_parents,
	// larger (than twice its parent's average grid), heavy (the part of
	// the plan inside its outline holds more households than one grid may,
	// 110 % of the target), not_connected (no grid could take it and stay
	// one piece), locked (a grid a redraw locked holds part of it), or
	// balance (every grid that could take it would leave balance).
	Reason string `json:"reason"`
	// AlongStreets: a larger unit split only along streets, rivers or
	// railways (each of its blocks between them lies in one grid).
	AlongStreets bool `json:"along_streets,omitempty"`
}

// HeavyCell is an H3 cell with more households than the target: it becomes a
// grid of its own.
type HeavyCell struct {
	Cell       string `json:"cell"`
	GridCode   string `json:"grid_code"`
	Households int    `json:"households"`
}
