package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wangge/wangge/data"
)

// showWait bounds how long a write waits, after its commit, for the views
// to show it. The write is done by then; a follower this slow is reported
// by Health, and the write is not failed for it.
const showWait = 2 * time.Second

// Written is the result of a write: the feature as stored and the version
// at which every view shows it.
type Written[T any] struct {
	Value   T
	Version int64
}

// CreateHazard stores a new hazard for actor, audited, and returns it with
// its fid once every view shows it.
func (s *Service) CreateHazard(ctx context.Context, actor string, h data.Hazard) (Written[data.Hazard], error) {
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		fid, err := tx.AddHazard(ctx, h)
		if err != nil {
			return nil, err
		}
		h.FID = fid
		return audit("hazard.create", data.LayerHazards, fid, nil, h), nil
	})
	if err != nil {
		return Written[data.Hazard]{}, err
	}
	return Written[data.Hazard]{h, s.shown(ctx, seq)}, nil
}

// CreateCamera is CreateHazard for cameras.
func (s *Service) CreateCamera(ctx context.Context, actor string, c data.Camera) (Written[data.Camera], error) {
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		fid, err := tx.AddCamera(ctx, c)
		if err != nil {
			return nil, err
		}
		c.FID = fid
		return audit("camera.create", data.LayerCameras, fid, nil, c), nil
	})
	if err != nil {
		return Written[data.Camera]{}, err
	}
	return Written[data.Camera]{c, s.shown(ctx, seq)}, nil
}

// UpdateHazard changes hazard fid with change, in one transaction that
// holds the row: two updates of one hazard, from any replica, apply one
// after the other and neither is lost. ifMatch, when not empty, is the
// If-Match header: the update is refused with EPRECONDITION unless it
// names the hazard's current ETag (or is "*"). It is UpdateEvent without a
// move, for actor with every right: the caller has checked who may edit.
func (s *Service) UpdateHazard(ctx context.Context, actor string, fid int64, ifMatch string, change func(*data.Hazard) error) (Written[data.Hazard], error) {
	return s.UpdateEvent(ctx, Who{Actor: actor, Role: data.RoleAdmin}, fid, ifMatch, change, nil)
}

// UpdateCamera is UpdateHazard for cameras.
func (s *Service) UpdateCamera(ctx context.Context, actor string, fid int64, ifMatch string, change func(*data.Camera) error) (Written[data.Camera], error) {
	var c data.Camera
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		before, err := tx.CameraForUpdate(ctx, fid)
		if err != nil {
			return nil, err
		}
		if err := precondition(ifMatch, before.ETag(), data.LayerCameras, fid); err != nil {
			return nil, err
		}
		c = before
		if err := change(&c); err != nil {
			return nil, err
		}
		c.FID = fid
		if err := tx.UpdateCamera(ctx, c); err != nil {
			return nil, err
		}
		return audit("camera.update", data.LayerCameras, fid, before, c), nil
	})
	if err != nil {
		return Written[data.Camera]{}, err
	}
	return Written[data.Camera]{c, s.shown(ctx, seq)}, nil
}

// Delete removes a hazard or camera, holding the row as UpdateHazard does
// and checking ifMatch the same way. It returns the version that shows it.
func (s *Service) Delete(ctx context.Context, actor string, layer data.Layer, fid int64, ifMatch string) (int64, error) {
	seq, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		var before any
		var tag string
		switch layer {
		case data.LayerHazards:
			h, err := tx.HazardForUpdate(ctx, fid)
			if err != nil {
				return nil, err
			}
			before, tag = h, h.ETag()
		case data.LayerCameras:
			c, err := tx.CameraForUpdate(ctx, fid)
			if err != nil {
				return nil, err
			}
			before, tag = c, c.ETag()
		default:
			return nil, data.Errorf(data.EINVALID, "collection %s takes no deletes", layer)
		}
		if err := precondition(ifMatch, tag, layer, fid); err != nil {
			return nil, err
		}
		if err := tx.Delete(ctx, layer, fid); err != nil {
			return nil, err
		}
		return audit(strings.TrimSuffix(string(layer), "s")+".delete", layer, fid, before, nil), nil
	})
	if err != nil {
		return 0, err
	}
	return s.shown(ctx, seq), nil
}

// shown waits until the views show Seq seq and returns the version they
// are at.
func (s *Service) shown(ctx context.Context, seq int64) int64 {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), showWait)
	defer cancel()
	if err := s.WaitFor(ctx, seq); err != nil {
		s.log.Warn("write committed but not yet in this replica's views", "seq", seq, "version", s.Version())
	}
	return max(seq, s.Version())
}

// Shown is shown for writers outside this package (plans, keys): it waits
// until the views show everything committed before the call.
func (s *Service) Shown(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), showWait)
	defer cancel()
	v, err := s.Sync(ctx)
	if err != nil {
		s.log.Warn("write committed but not yet in this replica's views", "err", err, "version", s.Version())
	}
	return max(v, s.Version())
}

// ETag returns the entity tag of a writable feature as stored, the one
// UpdateHazard, UpdateCamera and Delete check If-Match against; "" for
// the layers that take no writes.
func (s *Service) ETag(ctx context.Context, layer data.Layer, fid int64) (string, error) {
	switch layer {
	case data.LayerHazards:
		h, err := s.store.Hazard(ctx, fid)
		return h.ETag(), err
	case data.LayerCameras:
		c, err := s.store.Camera(ctx, fid)
		return c.ETag(), err
	}
	return "", nil
}

// precondition checks an If-Match header against the current ETag.
func precondition(ifMatch, current string, layer data.Layer, fid int64) error {
	return preconditionOf(ifMatch, current, fmt.Sprintf("%s/%d", layer, fid))
}

// preconditionOf is precondition for the record called what.
func preconditionOf(ifMatch, current, what string) error {
	if ifMatch == "" || MatchesETag(ifMatch, current) {
		return nil
	}
	return data.Errorf(data.EPRECONDITION, "%s has changed since the version in If-Match (%s); its current ETag is %s: read it again and reapply your change",
		what, strings.TrimSpace(ifMatch), current)
}

// MatchesETag reports whether an If-Match or If-None-Match header value
// (a comma list of entity tags, or "*") names etag. Comparison is strong,
// as RFC 9110 asks for If-Match; a weak tag never matches.
func MatchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// audit is the audit record of one write to a feature, for data.Audited:
// before and after are the feature as it was and is (nil when none).
func audit(action string, layer data.Layer, fid int64, before, after any) []data.AuditEntry {
	e := data.AuditEntry{Action: action, Target: fmt.Sprintf("%s/%d", layer, fid)}
	if before != nil {
		e.Before, _ = json.Marshal(before)
	}
	if after != nil {
		e.After, _ = json.Marshal(after)
	}
	return []data.AuditEntry{e}
}
