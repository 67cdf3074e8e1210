package data

import "context"

// How fresh a read must be, for stores that read from standbys (PostgreSQL
// hot standbys replaying the primary's WAL) as well as from the primary. A
// standby may be behind; the caller says what it must see, through the
// context, and the store sends the read to a standby that has it or, when
// none has it soon enough, to the primary. Stores without standbys (the
// GeoPackage) are always fresh and ignore both.
//
// The measure is the change feed's Seq: a standby whose feed holds Seq n
// has replayed every change up to n, rows included, because both are
// written in one transaction.

type freshKey struct{}

// primarySeq marks a read that only the primary can answer.
const primarySeq = -1

// ReadAtLeast returns a context whose reads must see the change feed up to
// seq: what this replica already shows (so a read never goes back behind
// its own views) or what a client last wrote (read-your-writes). A later
// call with a lower seq does not lower it.
func ReadAtLeast(ctx context.Context, seq int64) context.Context {
	if cur := ReadFreshness(ctx); cur == primarySeq || cur >= seq {
		return ctx
	}
	return context.WithValue(ctx, freshKey{}, seq)
}

// ReadPrimary returns a context whose reads go to the primary: what asks
// "everything committed so far", which no standby can promise.
func ReadPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, int64(primarySeq))
}

// ReadAny returns a context whose reads may go anywhere again, for work
// that outlives the one that asked for the primary (a follower started
// during start-up) and says its own freshness read by read.
func ReadAny(ctx context.Context) context.Context {
	if ReadFreshness(ctx) == 0 {
		return ctx
	}
	return context.WithValue(ctx, freshKey{}, int64(0))
}

// ReadFreshness returns the Seq reads under ctx must see: 0 for any, -1
// for the primary only.
func ReadFreshness(ctx context.Context) int64 {
	v, _ := ctx.Value(freshKey{}).(int64)
	return v
}
