package postgis

import (
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolStats returns the connection pools' statistics, for monitoring: the
// primary's as "primary", and each standby's as "standby1", "standby2", …
// in the order of the read URLs given to Open.
func (s *Store) PoolStats() map[string]*pgxpool.Stat {
	out := make(map[string]*pgxpool.Stat, 1+len(s.standbys))
	out["primary"] = s.pool.Stat()
	for i, sb := range s.standbys {
		out["standby"+strconv.Itoa(i+1)] = sb.pool.Stat()
	}
	return out
}
