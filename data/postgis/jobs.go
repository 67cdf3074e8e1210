package postgis

import (
	"context"
	"time"

	"github.com/wangge/wangge/data"
)

var _ data.JobLocker = (*Store)(nil)

// jobLockClass is the first key of the two-key advisory locks of jobs; the
// feed's lock uses the one-key (bigint) form, which PostgreSQL keeps apart.
const jobLockClass = 0x7767 // "wg"

// TryLockJob takes a session advisory lock on a connection held for the
// job: PostgreSQL releases it when that session ends, so a replica killed
// mid-job frees it with its connection.
func (s *Store) TryLockJob(ctx context.Context, name string) (func(), bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, mapErr(ctx, err, "lock job %s", name)
	}
	key := s.feed.channel + "/" + name
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, jobLockClass, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, mapErr(ctx, err, "lock job %s", name)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, jobLockClass, key); err != nil {
			// The session may keep the lock: close it rather than hand
			// it back to the pool.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}
	return release, true, nil
}
