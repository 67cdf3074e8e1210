package data

import (
	_ "embed"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
)

// RiskRules is the configuration of risk colours per grid (红黄蓝三色管理,
// or 红橙黄蓝 with four levels): the levels from the highest risk down, the
// hotspot analysis the hotspot rules read, and the rules. A grid takes the
// highest level any rule gives it, and the rules that gave a level above
// the lowest are its reasons. `wangge serve --risk FILE` reads one; without
// it the built-in default (risk.json) applies. docs/DESIGN.md, "Rollups
// and risk", describes the file.
type RiskRules struct {
	// Levels lists the levels from the highest risk to the lowest; the
	// last is the level of a grid no rule raises.
	Levels   []RiskLevel  `json:"levels"`
	Hotspots RiskHotspots `json:"hotspots"`
	Rules    []RiskRule   `json:"rules"`
}

// RiskLevel is one colour of the palette.
type RiskLevel struct {
	Code  string `json:"code"`
	Zh    string `json:"zh"`
	En    string `json:"en"`
	Color string `json:"color"` // #rrggbb, for maps and the dashboard
}

// RiskHotspots is the Getis-Ord Gi* analysis the hotspot_bin rules read:
// its H3 resolution, and how many days of reports back from the risk's
// time it counts (0: every report, as the map's hotspot layer does).
type RiskHotspots struct {
	Res        int `json:"res"`
	WindowDays int `json:"window_days"`
}

// Risk measures: what a rule compares with its thresholds, per grid.
const (
	// MeasureOpenWeighted is the sum over the grid's open events (neither
	// done nor rejected) of the weight of each one's severity.
	MeasureOpenWeighted = "open_weighted"
	// MeasureOverdue counts the grid's open events past their due time.
	MeasureOverdue = "overdue"
	// MeasureHotspotBin is the highest Gi* hot-spot bin (1–3) among the
	// H3 cells of the grid; 0 when none is a hot spot.
	MeasureHotspotBin = "hotspot_bin"
	// MeasureCameraHouseholds is the share (0–1) of the grid's households
	// that an online camera covers.
	MeasureCameraHouseholds = "camera_households_share"
)

// RiskMeasures lists the measures a rule may use.
func RiskMeasures() []string {
	return []string{MeasureOpenWeighted, MeasureOverdue, MeasureHotspotBin, MeasureCameraHouseholds}
}

// RiskRule is one rule: a measure of the grid, the events it counts (for
// the event measures), and the thresholds at which it gives each level.
// AtLeast gives a level when the measure is at least its threshold;
// Below when it is under it (coverage). Only levels above the lowest may
// have a threshold, and a higher level needs a stricter one.
type RiskRule struct {
	ID      string `json:"id"`
	Measure string `json:"measure"`
	// Kind, Categories and MinSeverity narrow the events counted by
	// open_weighted and overdue: of this kind of the taxonomy, of these
	// categories, of at least this severity (1–3). Empty: all.
	Kind        string   `json:"kind,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	MinSeverity int      `json:"min_severity,omitempty"`
	// SeverityWeights are the weights of severities 1, 2 and 3 for
	// open_weighted; empty means 1, 2, 3 (the severity itself).
	SeverityWeights []float64          `json:"severity_weights,omitempty"`
	AtLeast         map[string]float64 `json:"at_least,omitempty"`
	Below           map[string]float64 `json:"below,omitempty"`
}

// EventMeasure reports whether the rule counts events.
func (r *RiskRule) EventMeasure() bool {
	return r.Measure == MeasureOpenWeighted || r.Measure == MeasureOverdue
}

// Weight is the weight of an event of severity sev (clamped to 1–3).
func (r *RiskRule) Weight(sev int) float64 {
	sev = min(max(sev, 1), 3)
	if len(r.SeverityWeights) == 3 {
		return r.SeverityWeights[sev-1]
	}
	return float64(sev)
}

// Thresholds returns the rule's thresholds and whether the measure must
// be below them (rather than at least).
func (r *RiskRule) Thresholds() (map[string]float64, bool) {
	if r.Below != nil {
		return r.Below, true
	}
	return r.AtLeast, false
}

// Uses reports whether any rule uses measure m.
func (rr *RiskRules) Uses(m string) bool {
	return slices.ContainsFunc(rr.Rules, func(r RiskRule) bool { return r.Measure == m })
}

// Level returns the level with code.
func (rr *RiskRules) Level(code string) (RiskLevel, bool) {
	i := slices.IndexFunc(rr.Levels, func(l RiskLevel) bool { return l.Code == code })
	if i < 0 {
		return RiskLevel{}, false
	}
	return rr.Levels[i], true
}

// LevelCodes returns the codes of the levels, highest risk first.
func (rr *RiskRules) LevelCodes() []string {
	var out []string
	for _, l := range rr.Levels {
		out = append(out, l.Code)
	}
	return out
}

//go:embed risk.json
var defaultRisk []byte

// DefaultRiskRules returns the built-in risk rules (data/risk.json).
func DefaultRiskRules() *RiskRules { return builtIn(defaultRisk, "risk.json", ParseRiskRules) }

// LoadRiskRules reads a risk rules file.
func LoadRiskRules(path string) (*RiskRules, error) {
	return loadConfig(path, "risk rules", ParseRiskRules)
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ParseRiskRules reads risk rules from r; name is the file, for errors. An
// error names the file and what is wrong: the line of a syntax error, the
// entry and field of a bad value. Categories and kinds are checked against
// a taxonomy by CheckTaxonomy.
func ParseRiskRules(r io.Reader, name string) (*RiskRules, error) {
	var rr RiskRules
	if err := decodeConfig(r, name, &rr); err != nil {
		return nil, err
	}
	if err := rr.validate(); err != nil {
		return nil, Errorf(EINVALID, "%s: %v", name, err)
	}
	return &rr, nil
}

func (rr *RiskRules) validate() error {
	if len(rr.Levels) < 2 || len(rr.Levels) > 5 {
		return fmt.Errorf("levels must list 2 to 5 levels, highest risk first (红黄蓝: red, yellow, blue; 红橙黄蓝: red, orange, yellow, blue), got %d", len(rr.Levels))
	}
	seen := map[string]bool{}
	for i, l := range rr.Levels {
		switch {
		case !codeRE.MatchString(l.Code):
			return fmt.Errorf("levels[%d]: code %q must be lower-case letters, digits and _, starting with a letter, at most 40", i, l.Code)
		case seen[l.Code]:
			return fmt.Errorf("levels[%d]: code %q is used twice", i, l.Code)
		case strings.TrimSpace(l.Zh) == "" || strings.TrimSpace(l.En) == "":
			return fmt.Errorf("levels[%d] (%s): zh and en labels are both required", i, l.Code)
		case !colorRE.MatchString(l.Color):
			return fmt.Errorf("levels[%d] (%s): color must be #rrggbb, got %q", i, l.Code, l.Color)
		}
		seen[l.Code] = true
	}
	// The analysis' own bounds (tiles.MinHotspotRes, MaxHotspotRes).
	if rr.Hotspots.Res < 5 || rr.Hotspots.Res > 11 {
		return fmt.Errorf("hotspots: res must be an H3 resolution from 5 to 11, got %d", rr.Hotspots.Res)
	}
	if rr.Hotspots.WindowDays < 0 {
		return fmt.Errorf("hotspots: window_days must be 0 (every report) or more, got %d", rr.Hotspots.WindowDays)
	}
	if len(rr.Rules) == 0 {
		return fmt.Errorf("rules must have at least one entry")
	}
	ids := map[string]bool{}
	for i, r := range rr.Rules {
		if err := rr.validateRule(&r); err != nil {
			return fmt.Errorf("rules[%d] (%s): %v", i, r.ID, err)
		}
		if ids[r.ID] {
			return fmt.Errorf("rules[%d]: id %q is used twice", i, r.ID)
		}
		ids[r.ID] = true
	}
	return nil
}

func (rr *RiskRules) validateRule(r *RiskRule) error {
	if !codeRE.MatchString(r.ID) {
		return fmt.Errorf("id %q must be lower-case letters, digits and _, starting with a letter, at most 40", r.ID)
	}
	if !slices.Contains(RiskMeasures(), r.Measure) {
		return fmt.Errorf("measure %q is not one of %s", r.Measure, strings.Join(RiskMeasures(), ", "))
	}
	if !r.EventMeasure() {
		switch {
		case r.Kind != "":
			return fmt.Errorf("kind: only the event measures (open_weighted, overdue) count events of a kind")
		case len(r.Categories) > 0:
			return fmt.Errorf("categories: only the event measures (open_weighted, overdue) count events of categories")
		case r.MinSeverity != 0:
			return fmt.Errorf("min_severity: only the event measures (open_weighted, overdue) count events by severity")
		}
	}
	if r.MinSeverity < 0 || r.MinSeverity > 3 {
		return fmt.Errorf("min_severity must be 1, 2 or 3, got %d", r.MinSeverity)
	}
	if len(r.SeverityWeights) > 0 {
		if r.Measure != MeasureOpenWeighted {
			return fmt.Errorf("severity_weights: only open_weighted weighs events")
		}
		if len(r.SeverityWeights) != 3 {
			return fmt.Errorf("severity_weights must have 3 numbers (severity 1, 2, 3), got %d", len(r.SeverityWeights))
		}
		for k, w := range r.SeverityWeights {
			if !(w >= 0) || math.IsInf(w, 0) {
				return fmt.Errorf("severity_weights[%d] must be a number ≥ 0, got %v", k, w)
			}
		}
	}
	below := r.Measure == MeasureCameraHouseholds
	switch {
	case r.AtLeast != nil && r.Below != nil:
		return fmt.Errorf("at_least and below: give one of them")
	case below && r.AtLeast != nil:
		return fmt.Errorf("at_least: %s gives a level when coverage is below a share: use below", r.Measure)
	case !below && r.Below != nil:
		return fmt.Errorf("below: %s gives a level when it is at least a threshold: use at_least", r.Measure)
	}
	th, _ := r.Thresholds()
	field := "at_least"
	if below {
		field = "below"
	}
	if len(th) == 0 {
		return fmt.Errorf("%s: at least one threshold is required", field)
	}
	base := rr.Levels[len(rr.Levels)-1].Code
	prev, prevCode := math.NaN(), ""
	for _, l := range rr.Levels {
		v, ok := th[l.Code]
		if !ok {
			continue
		}
		switch {
		case l.Code == base:
			return fmt.Errorf("%s: %s is the lowest level, which a grid has when no rule raises it; it takes no threshold", field, base)
		case math.IsNaN(v) || math.IsInf(v, 0):
			return fmt.Errorf("%s: %s must be a finite number", field, l.Code)
		case below && (v <= 0 || v > 1):
			return fmt.Errorf("%s: %s must be a share in (0, 1], got %v", field, l.Code, v)
		case !below && v <= 0:
			return fmt.Errorf("%s: %s must be above 0 (every grid is at least 0), got %v", field, l.Code, v)
		case r.Measure == MeasureHotspotBin && (v != math.Trunc(v) || v > 3):
			return fmt.Errorf("%s: %s must be a hot-spot bin, 1, 2 or 3, got %v", field, l.Code, v)
		case !math.IsNaN(prev) && !below && v >= prev:
			return fmt.Errorf("%s: %s (%v) must be lower than %s (%v), a higher level", field, l.Code, v, prevCode, prev)
		case !math.IsNaN(prev) && below && v <= prev:
			return fmt.Errorf("%s: %s (%v) must be higher than %s (%v), a higher level", field, l.Code, v, prevCode, prev)
		}
		prev, prevCode = v, l.Code
	}
	codes := make([]string, 0, len(th))
	for code := range th {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if _, ok := rr.Level(code); !ok {
			return fmt.Errorf("%s: %q is not one of levels (%s)", field, code, strings.Join(rr.LevelCodes(), ", "))
		}
	}
	return nil
}

// CheckTaxonomy checks the kinds and categories the rules name against
// the taxonomy in use; the error names the rule and field.
func (rr *RiskRules) CheckTaxonomy(t *Taxonomy) error {
	for i, r := range rr.Rules {
		if r.Kind != "" && !slices.Contains(t.KindCodes(), r.Kind) {
			return Errorf(EINVALID, "rules[%d] (%s): kind %q is not one of the taxonomy's (%s)", i, r.ID, r.Kind, strings.Join(t.KindCodes(), ", "))
		}
		for _, c := range r.Categories {
			if _, ok := t.Category(c); !ok {
				return Errorf(EINVALID, "rules[%d] (%s): categories: %q is not one of the taxonomy's (%s)", i, r.ID, c, strings.Join(t.CategoryCodes(), ", "))
			}
		}
	}
	return nil
}
