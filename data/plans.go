package data

import (
	"context"
	"encoding/json"
	"fmt"
)

// SavePlan stores plan, and publishes it if asked, with their audit
// entries for actor, in one transaction. The CLI and the HTTP jobs both
// save plans through it, so both leave the same record.
func SavePlan(ctx context.Context, s Store, plan Plan, publish bool, actor string) (int64, error) {
	// Read before the transaction: a read inside it would need a second
	// connection while the write holds the first.
	before := publishedRecord(ctx, s)
	var id int64
	_, err := Audited(ctx, s, actor, func(tx Tx) ([]AuditEntry, error) {
		var err error
		if id, err = tx.SavePlan(ctx, plan); err != nil {
			return nil, err
		}
		report, _ := json.Marshal(map[string]any{"target": plan.Target, "resolution": plan.Resolution, "base": plan.BaseID, "report": plan.Report})
		entries := []AuditEntry{{Action: "plan.generate", Target: planTarget(id), After: report}}
		if !publish {
			return entries, nil
		}
		e, err := publishPlan(ctx, tx, id, before)
		return append(entries, e), err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// PublishPlan publishes plan id with its audit entry for actor.
func PublishPlan(ctx context.Context, s Store, id int64, actor string) error {
	before := publishedRecord(ctx, s)
	_, err := Audited(ctx, s, actor, func(tx Tx) ([]AuditEntry, error) {
		e, err := publishPlan(ctx, tx, id, before)
		return []AuditEntry{e}, err
	})
	return err
}

// publishedRecord is the audit log's "before" of a publish: the plan that
// was published, or null.
func publishedRecord(ctx context.Context, s Store) json.RawMessage {
	if p, err := s.PublishedPlan(ctx); err == nil {
		b, _ := json.Marshal(map[string]int64{"published": p.ID})
		return b
	}
	return json.RawMessage("null")
}

// publishPlan publishes plan id in tx and returns the audit entry of it.
func publishPlan(ctx context.Context, tx Tx, id int64, before json.RawMessage) (AuditEntry, error) {
	if err := tx.PublishPlan(ctx, id); err != nil {
		return AuditEntry{}, err
	}
	after, _ := json.Marshal(map[string]int64{"published": id})
	return AuditEntry{Action: "plan.publish", Target: planTarget(id), Before: before, After: after}, nil
}

func planTarget(id int64) string { return fmt.Sprintf("plans/%d", id) }
