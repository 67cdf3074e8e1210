package data

import (
	"encoding/json"
	"slices"
	"time"
)

// Role is what an API key may do. Roles are ordered: each includes the one
// before it.
type Role string

// The roles, from least to most.
const (
	RoleViewer  Role = "viewer"  // tiles and GeoJSON of areas, grids, hazards, cameras, hotspots
	RoleField   Role = "field"   // viewer + locate, nearby, create hazards
	RolePlanner Role = "planner" // field + households, gridgen, plans, hazard and camera edits
	RoleAdmin   Role = "admin"   // planner + keys and the audit log
)

// Roles lists the roles in order.
var Roles = []Role{RoleViewer, RoleField, RolePlanner, RoleAdmin}

// ParseRole returns the role called s.
func ParseRole(s string) (Role, error) {
	if slices.Contains(Roles, Role(s)) {
		return Role(s), nil
	}
	return "", Errorf(EINVALID, "unknown role %q (roles: viewer, field, planner, admin)", s)
}

// Allows reports whether r includes need. The empty role (anonymous
// without public access) allows nothing.
func (r Role) Allows(need Role) bool {
	i, j := slices.Index(Roles, r), slices.Index(Roles, need)
	return i >= 0 && j >= 0 && i >= j
}

// Key is an API key as stored: only a hash of its secret is kept.
type Key struct {
	ID        string    // public part, shown in lists and the audit log
	Role      Role      //
	Name      string    // what the key is for, given by the admin
	Hash      []byte    // SHA-256 of the secret
	CreatedAt time.Time //
	RevokedAt time.Time // zero while the key is valid
}

// AuditEntry records one write: who, when, what, and the state before and
// after (JSON; null when there was none).
type AuditEntry struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`  // key id, "cli:<user>", or "anonymous"
	Action string          `json:"action"` // e.g. hazard.create, plan.publish, import.households, key.revoke
	Target string          `json:"target"` // e.g. hazards/12, plans/3
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Actor, Action string
	Since         time.Time
	Limit, Offset int
}
