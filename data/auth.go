package data

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
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
func Roles() []Role { return []Role{RoleViewer, RoleField, RolePlanner, RoleAdmin} }

// ParseRole returns the role called s.
func ParseRole(s string) (Role, error) {
	if slices.Contains(Roles(), Role(s)) {
		return Role(s), nil
	}
	return "", Errorf(EINVALID, "unknown role %q (roles: viewer, field, planner, admin)", s)
}

// Allows reports whether r includes need. The empty role (anonymous
// without public access) allows nothing.
func (r Role) Allows(need Role) bool {
	roles := Roles()
	i, j := slices.Index(roles, r), slices.Index(roles, need)
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
	Worker    string    // the roster's Worker.ID a field key acts for, "" if none
}

// KeyInfo is what may be shown of a key, in the API's answers and in the
// audit log: never its hash.
type KeyInfo struct {
	ID        string     `json:"id"`
	Role      Role       `json:"role"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Worker    string     `json:"worker,omitempty"`
}

// Info returns what may be shown of k.
func (k Key) Info() KeyInfo {
	v := KeyInfo{ID: k.ID, Role: k.Role, Name: k.Name, CreatedAt: k.CreatedAt, Worker: k.Worker}
	if !k.RevokedAt.IsZero() {
		v.RevokedAt = &k.RevokedAt
	}
	return v
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

// tokenPrefix marks wangge API keys, so that secret scanners and people can
// tell them from other tokens.
const tokenPrefix = "wg_"

// NewKey makes an API key for role: the token to show the user once
// ("wg_<id>_<secret>") and the record to store, which keeps only the id and
// a SHA-256 hash of the secret. The secret has 256 random bits, so a fast
// hash is enough: there is nothing to brute-force.
func NewKey(role Role, name string, now time.Time) (string, Key, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Key{}, err
	}
	idBytes := make([]byte, 10)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return "", Key{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", Key{}, err
	}
	id := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(idBytes))
	sec := base64.RawURLEncoding.EncodeToString(secret)
	return tokenPrefix + id + "_" + sec, Key{ID: id, Role: role, Name: name, Hash: HashSecret(sec), CreatedAt: now.UTC()}, nil
}

// ParseToken splits a token into its key id and secret.
func ParseToken(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, tokenPrefix)
	if !found {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	return id, secret, ok && id != "" && secret != ""
}

// HashSecret is the stored form of a key's secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Verify reports whether secret is this key's, in constant time.
func (k Key) Verify(secret string) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), k.Hash) == 1
}
