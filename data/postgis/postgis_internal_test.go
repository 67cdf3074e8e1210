package postgis

import (
	"testing"
	"time"
)

func TestLockWait(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   time.Duration
	}{
		{map[string]string{}, 0},
		{map[string]string{"statement_timeout": "30s"}, 30 * time.Second},
		{map[string]string{"statement_timeout": "1500"}, 1500 * time.Millisecond},
		{map[string]string{"statement_timeout": "2 min", "lock_timeout": "5s"}, 5 * time.Second},
		{map[string]string{"statement_timeout": "0", "lock_timeout": "0.5h"}, 30 * time.Minute},
		{map[string]string{"statement_timeout": "0"}, 0},
		{map[string]string{"statement_timeout": "soon"}, 30 * time.Second},
	} {
		if got := lockWait(tc.params); got != tc.want {
			t.Errorf("lockWait(%v) = %v, want %v", tc.params, got, tc.want)
		}
	}
}
