package data

import (
	"strings"
	"testing"
)

// TestDefaultRiskRules keeps the built-in file valid and as documented:
// four levels, red first, every measure used, checked against the
// built-in taxonomy.
func TestDefaultRiskRules(t *testing.T) {
	rr := DefaultRiskRules()
	if got := strings.Join(rr.LevelCodes(), ","); got != "red,orange,yellow,blue" {
		t.Errorf("levels %s", got)
	}
	for _, m := range RiskMeasures() {
		if !rr.Uses(m) {
			t.Errorf("the default rules do not use %s", m)
		}
	}
	if err := rr.CheckTaxonomy(DefaultTaxonomy()); err != nil {
		t.Error(err)
	}
}

// TestParseRiskRules: each mistake is refused with the entry and field
// named.
func TestParseRiskRules(t *testing.T) {
	levels := `"levels": [{"code": "red", "zh": "红", "en": "Red", "color": "#ff0000"},
		{"code": "yellow", "zh": "黄", "en": "Yellow", "color": "#ffff00"},
		{"code": "blue", "zh": "蓝", "en": "Blue", "color": "#0000ff"}], "hotspots": {"res": 9, "window_days": 30}`
	file := func(rules string) string { return "{" + levels + `, "rules": [` + rules + "]}" }
	tests := []struct {
		name, file, want string
	}{
		{"three levels", file(`{"id": "o", "measure": "overdue", "at_least": {"red": 3, "yellow": 1}}`), ""},
		{"syntax", "{\n\"levels\": [,]}", "test.json:2:"},
		{"type", "{\n\"levels\": 3}", "test.json:2: levels must be"},
		{"unknown field", `{"levelz": []}`, `unknown field "levelz"`},
		{"one level", `{"levels": [{"code": "red", "zh": "红", "en": "Red", "color": "#ff0000"}], "hotspots": {"res": 9}, "rules": []}`, "2 to 5 levels"},
		{"bad colour", strings.Replace(file(`{"id": "o", "measure": "overdue", "at_least": {"red": 1}}`), "#ff0000", "red", 1), "levels[0] (red): color must be #rrggbb"},
		{"level twice", strings.Replace(file(`{"id": "o", "measure": "overdue", "at_least": {"red": 1}}`), `"code": "yellow"`, `"code": "red"`, 1), `levels[1]: code "red" is used twice`},
		{"res", strings.Replace(file(`{"id": "o", "measure": "overdue", "at_least": {"red": 1}}`), `"res": 9`, `"res": 14`, 1), "hotspots: res must be"},
		{"no rules", file(``), "rules must have at least one entry"},
		{"measure", file(`{"id": "o", "measure": "noise", "at_least": {"red": 1}}`), `rules[0] (o): measure "noise" is not one of`},
		{"id", file(`{"id": "Over Due", "measure": "overdue", "at_least": {"red": 1}}`), `rules[0] (Over Due): id "Over Due"`},
		{"id twice", file(`{"id": "o", "measure": "overdue", "at_least": {"red": 1}}, {"id": "o", "measure": "overdue", "at_least": {"red": 2}}`), `rules[1]: id "o" is used twice`},
		{"no threshold", file(`{"id": "o", "measure": "overdue"}`), "rules[0] (o): at_least: at least one threshold"},
		{"unknown level", file(`{"id": "o", "measure": "overdue", "at_least": {"purple": 1}}`), `rules[0] (o): at_least: "purple" is not one of levels (red, yellow, blue)`},
		{"lowest level", file(`{"id": "o", "measure": "overdue", "at_least": {"blue": 1}}`), "blue is the lowest level"},
		{"order", file(`{"id": "o", "measure": "overdue", "at_least": {"red": 1, "yellow": 3}}`), "at_least: yellow (3) must be lower than red (1)"},
		{"zero", file(`{"id": "o", "measure": "overdue", "at_least": {"red": 0}}`), "red must be above 0"},
		{"below for counts", file(`{"id": "o", "measure": "overdue", "below": {"red": 1}}`), "below: overdue gives a level when it is at least"},
		{"at_least for coverage", file(`{"id": "c", "measure": "camera_households_share", "at_least": {"red": 0.5}}`), "at_least: camera_households_share gives a level when coverage is below"},
		{"coverage order", file(`{"id": "c", "measure": "camera_households_share", "below": {"red": 0.5, "yellow": 0.2}}`), "below: yellow (0.2) must be higher than red (0.5)"},
		{"coverage share", file(`{"id": "c", "measure": "camera_households_share", "below": {"red": 30}}`), "below: red must be a share in (0, 1]"},
		{"hotspot bin", file(`{"id": "h", "measure": "hotspot_bin", "at_least": {"red": 2.5}}`), "red must be a hot-spot bin, 1, 2 or 3"},
		{"weights elsewhere", file(`{"id": "o", "measure": "overdue", "severity_weights": [1, 2, 3], "at_least": {"red": 1}}`), "severity_weights: only open_weighted"},
		{"weights count", file(`{"id": "w", "measure": "open_weighted", "severity_weights": [1, 2], "at_least": {"red": 1}}`), "severity_weights must have 3 numbers"},
		{"kind on coverage", file(`{"id": "c", "measure": "camera_households_share", "kind": "dispute", "below": {"red": 0.5}}`), "kind: only the event measures"},
		{"min severity", file(`{"id": "o", "measure": "overdue", "min_severity": 4, "at_least": {"red": 1}}`), "min_severity must be 1, 2 or 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRiskRules(strings.NewReader(tc.file), "test.json")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want it to say %q", err, tc.want)
			case err != nil && ErrorCode(err) != EINVALID:
				t.Errorf("code %s", ErrorCode(err))
			}
		})
	}
	// Kinds and categories are the taxonomy's.
	for rule, want := range map[string]string{
		`{"id": "k", "measure": "overdue", "kind": "noise", "at_least": {"red": 1}}`:                     `rules[0] (k): kind "noise" is not one of the taxonomy's`,
		`{"id": "c", "measure": "open_weighted", "categories": ["fire", "ufo"], "at_least": {"red": 1}}`: `rules[0] (c): categories: "ufo" is not one of the taxonomy's`,
	} {
		rr, err := ParseRiskRules(strings.NewReader(file(rule)), "test.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := rr.CheckTaxonomy(DefaultTaxonomy()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", rule, err, want)
		}
	}
}
