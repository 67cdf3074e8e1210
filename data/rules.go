package data

import (
	"fmt"
	"io"
	"slices"
)

// Notification rules: geofence-style rules of a deployment, "an event of
// category C reported inside area A: notify its grid's workers and chief".
// They are read from a file (--rules) and judged on each new event as the
// change stream and the webhooks hand it on; a notification is a message
// of its own (event notify) next to the event's, with the same Seq, so a
// client that resumes after that Seq has seen both.
//
//	{"rules": [{"name": "fire-in-vaduz", "categories": ["fire"], "area": "LI01",
//	            "notify": ["workers", "chief"]}]}

// NotifyRules is a deployment's rules.
type NotifyRules struct {
	Rules []NotifyRule `json:"rules"`
}

// NotifyRule is one rule.
type NotifyRule struct {
	Name string `json:"name"`
	// Categories the rule takes; empty takes every category.
	Categories []string `json:"categories,omitempty"`
	// Area is the code of the area (with the areas and grids nested in it)
	// where the event must be reported; "" is anywhere.
	Area string `json:"area,omitempty"`
	// Notify is whom: "workers" (the grid's workers), "chief" (its chief).
	Notify []string `json:"notify"`
}

// Whom a rule may notify.
const (
	NotifyWorkers = "workers"
	NotifyChief   = "chief"
)

// LoadNotifyRules reads a rules file; categories are checked against tax
// (areas are data, checked when the rule is judged: an unknown one matches
// nothing).
func LoadNotifyRules(path string, tax *Taxonomy) (*NotifyRules, error) {
	return loadConfig(path, "rules", func(r io.Reader, name string) (*NotifyRules, error) { return ParseNotifyRules(r, name, tax) })
}

// ParseNotifyRules reads rules from r; name is the file, for errors.
func ParseNotifyRules(r io.Reader, name string, tax *Taxonomy) (*NotifyRules, error) {
	var nr NotifyRules
	if err := decodeConfig(r, name, &nr); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, rule := range nr.Rules {
		where := fmt.Sprintf("%s: rules[%d]", name, i)
		if rule.Name == "" || seen[rule.Name] {
			return nil, Errorf(EINVALID, "%s: name %q: want a name of its own", where, rule.Name)
		}
		seen[rule.Name] = true
		for _, c := range rule.Categories {
			if err := tax.CheckCategory(c); err != nil {
				return nil, Errorf(EINVALID, "%s: categories: %v", where, ErrorMessage(err))
			}
		}
		if len(rule.Notify) == 0 {
			return nil, Errorf(EINVALID, "%s: notify: want one or more of %s, %s", where, NotifyWorkers, NotifyChief)
		}
		for _, n := range rule.Notify {
			if n != NotifyWorkers && n != NotifyChief {
				return nil, Errorf(EINVALID, "%s: notify: %q is none of %s, %s", where, n, NotifyWorkers, NotifyChief)
			}
		}
	}
	return &nr, nil
}

// Takes reports whether rule r takes an event of category; the place is
// the caller's to judge (it needs the areas).
func (r NotifyRule) Takes(category string) bool {
	return len(r.Categories) == 0 || slices.Contains(r.Categories, category)
}
