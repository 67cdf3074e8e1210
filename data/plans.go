package data

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SavePlan stores plan, and publishes it if asked, with their audit
// entries for actor, in one transaction. The CLI and the HTTP jobs both
// save plans through it, so both leave the same record.
func SavePlan(ctx context.Context, s Store, plan Plan, publish bool, actor string) (int64, error) {
	// Read before the transaction: a read inside it would need a second
	// connection while the write holds the first.
	before := publishedRecord(ctx, s)
	tx, err := s.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	id, err := tx.SavePlan(ctx, plan)
	if err != nil {
		return 0, err
	}
	report, _ := json.Marshal(map[string]any{"target": plan.Target, "resolution": plan.Resolution, "base": plan.BaseID, "report": plan.Report})
	if err := tx.Audit(ctx, AuditEntry{At: time.Now(), Actor: actor, Action: "plan.generate", Target: fmt.Sprintf("plans/%d", id), After: report}); err != nil {
		return 0, err
	}
	if publish {
		if err := publishAudited(ctx, tx, id, actor, before); err != nil {
			return 0, err
		}
	}
	return id, tx.Commit()
}

// PublishPlan publishes plan id with its audit entry for actor.
func PublishPlan(ctx context.Context, s Store, id int64, actor string) error {
	before := publishedRecord(ctx, s)
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := publishAudited(ctx, tx, id, actor, before); err != nil {
		return err
	}
	return tx.Commit()
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

func publishAudited(ctx context.Context, tx Tx, id int64, actor string, before json.RawMessage) error {
	if err := tx.PublishPlan(ctx, id); err != nil {
		return err
	}
	after, _ := json.Marshal(map[string]int64{"published": id})
	return tx.Audit(ctx, AuditEntry{At: time.Now(), Actor: actor, Action: "plan.publish", Target: fmt.Sprintf("plans/%d", id), Before: before, After: after})
}
