package data

import (
	"slices"
	"strings"
	"time"
)

// Events. A hazard (隐患) or dispute (矛盾纠纷) report is an event on its way
// from report to closure (首问负责、闭环管理): it moves through Status
// values by transitions that the state machine below allows, each one
// recorded as an EventStep. Events are stored in the hazards layer, so OGC
// API clients keep reading and writing them as features.

// Status is the state of an event.
type Status string

// The states of an event. The usual path is reported → accepted (受理) →
// assigned (派遣) → in_progress (处置) → resolved (办结) → verified (核查,
// the follow-up visit) → closed (结案). rejected, escalated (上报, to the
// next area level) and reopened leave the usual path.
const (
	StatusReported   Status = "reported"
	StatusAccepted   Status = "accepted"
	StatusAssigned   Status = "assigned"
	StatusInProgress Status = "in_progress"
	StatusResolved   Status = "resolved"
	StatusVerified   Status = "verified"
	StatusClosed     Status = "closed"
	StatusRejected   Status = "rejected"
	StatusEscalated  Status = "escalated"
	StatusReopened   Status = "reopened"
)

// Statuses returns every state, in workflow order.
func Statuses() []Status {
	return []Status{StatusReported, StatusAccepted, StatusAssigned, StatusInProgress, StatusResolved,
		StatusVerified, StatusClosed, StatusRejected, StatusEscalated, StatusReopened}
}

// StatusNames returns the states as strings, in workflow order.
func StatusNames() []string {
	var out []string
	for _, s := range Statuses() {
		out = append(out, string(s))
	}
	return out
}

// ParseStatus returns the state called s.
func ParseStatus(s string) (Status, error) {
	if slices.Contains(Statuses(), Status(s)) {
		return Status(s), nil
	}
	return "", FieldError(EINVALID, "status", "unknown status %q (known: %s)", s, strings.Join(StatusNames(), ", "))
}

// Done reports whether an event in state s has been handled to the end
// (办结): resolved, verified or closed. The closure rate counts these.
func (s Status) Done() bool {
	return s == StatusResolved || s == StatusVerified || s == StatusClosed
}

// Open reports whether an event in state s still waits for handling:
// neither done nor rejected. Only open events can be overdue.
func (s Status) Open() bool { return !s.Done() && s != StatusRejected }

// next lists, per state, the states an event may move to.
func next(s Status) []Status {
	switch s {
	case StatusReported:
		return []Status{StatusAccepted, StatusAssigned, StatusRejected, StatusEscalated}
	case StatusAccepted:
		return []Status{StatusAssigned, StatusInProgress, StatusRejected, StatusEscalated}
	case StatusAssigned:
		// accepted here is the assignee signing for the event (签收).
		return []Status{StatusAccepted, StatusInProgress, StatusResolved, StatusRejected, StatusEscalated}
	case StatusInProgress:
		return []Status{StatusResolved, StatusEscalated}
	case StatusResolved:
		return []Status{StatusVerified, StatusReopened}
	case StatusVerified:
		return []Status{StatusClosed, StatusReopened}
	case StatusClosed, StatusRejected:
		return []Status{StatusReopened}
	case StatusEscalated, StatusReopened:
		return []Status{StatusAccepted, StatusAssigned, StatusInProgress, StatusResolved, StatusRejected, StatusEscalated}
	}
	return nil
}

// Next returns the states an event in state s may move to, whoever asks.
func Next(s Status) []Status { return next(s) }

// fieldMay lists the states a field worker may move an event assigned to
// them into: accept it, handle it, resolve it, or pass it up a level.
// Verifying, closing, rejecting, reopening and assigning are for planners
// (the command centre) and admins.
var fieldMay = []Status{StatusAccepted, StatusInProgress, StatusResolved, StatusEscalated}

// MayEnter reports whether role may move an event into state to; mine is
// whether the event is assigned to the worker the caller's key is tied to.
func MayEnter(role Role, to Status, mine bool) bool {
	switch {
	case role.Allows(RolePlanner):
		return to != StatusReported
	case role == RoleField:
		return mine && slices.Contains(fieldMay, to)
	}
	return false
}

// Allowed returns the states role may move an event from state from into.
func Allowed(role Role, from Status, mine bool) []Status {
	var out []Status
	for _, to := range next(from) {
		if MayEnter(role, to, mine) {
			out = append(out, to)
		}
	}
	return out
}

// CheckTransition returns nil when role may move an event from state from
// into state to. An unknown state is EINVALID; a move the state machine
// does not have is ECONFLICT naming the moves that exist from there; a
// move that exists but is not the caller's to make is EFORBIDDEN naming
// the ones the caller may make.
func CheckTransition(role Role, from, to Status, mine bool) error {
	if _, err := ParseStatus(string(to)); err != nil {
		return err
	}
	if !slices.Contains(next(from), to) {
		return FieldError(ECONFLICT, "status", "an event %s cannot become %s; from %s it may become: %s",
			from, to, from, joinStatuses(next(from)))
	}
	if !MayEnter(role, to, mine) {
		why := "role " + string(role)
		if role == RoleField && !mine {
			why = "the event is not assigned to the worker of this key, so a field key"
		}
		return FieldError(EFORBIDDEN, "status", "%s may not move an event from %s to %s; allowed: %s",
			why, from, to, joinStatuses(Allowed(role, from, mine)))
	}
	return nil
}

func joinStatuses(ss []Status) string {
	if len(ss) == 0 {
		return "none"
	}
	var names []string
	for _, s := range ss {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// EventStep is one transition of an event, kept in the event's history.
type EventStep struct {
	ID       int64     `json:"id"`
	FID      int64     `json:"fid"` // the hazard
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"` // key id, "cli:<user>", "anonymous" or "system" (auto-assignment)
	From     Status    `json:"from"`  // "" for the report itself
	To       Status    `json:"to"`
	Assignee string    `json:"assignee"`  // the worker id after the step, "" if none
	RespCode string    `json:"resp_code"` // the responsible grid or area after the step
	Note     string    `json:"note"`
}

// Validate returns an EINVALID *Error naming the field when s names no
// event, no actor, or a target that is no state. From is kept as it was,
// whatever it was: a status another tool wrote that no state has is what
// a planner's repair moves away from (live.Service.UpdateEvent).
func (s EventStep) Validate() error {
	switch {
	case s.FID <= 0:
		return FieldError(EINVALID, "fid", "an event step needs the event's fid, got %d", s.FID)
	case s.Actor == "":
		return FieldError(EINVALID, "actor", "an event step needs an actor")
	}
	if _, err := ParseStatus(string(s.To)); err != nil {
		return FieldError(EINVALID, "to", "%s", ErrorMessage(err))
	}
	for _, f := range []struct{ name, v string }{{"actor", s.Actor}, {"from", string(s.From)}, {"assignee", s.Assignee}, {"resp_code", s.RespCode}, {"note", s.Note}} {
		if err := CheckText(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// RespCounty is the responsible level above every area: the deployment
// itself (the county), with no code. An event is first the responsibility
// of its grid, whose level is one below the area it lies in (3 under a
// two-level tree of streets and communities); each escalation moves it to
// the parent: the grid's area (a community or village, level 2), that
// area's parent (a street or township, level 1), then the county. An event
// outside every grid starts with the smallest area holding it, or the
// county.
const RespCounty = 0
