package live

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wangge/wangge/data"
)

// keyLoadWait bounds how long a key check waits for the store when there
// is no snapshot yet; with one, checks never wait.
const keyLoadWait = 2 * time.Second

// keySnapshot holds the stored keys, reloaded by the follower whenever the
// feed shows a key change, so a revocation made anywhere is refused here
// within one poll. Checks read the snapshot without touching the store: a
// stalled database cannot hang them.
type keySnapshot struct {
	store data.Store
	keys  atomic.Pointer[map[string]data.Key]
	load  sync.Mutex // one reload at a time
}

func (k *keySnapshot) reload(ctx context.Context) error {
	k.load.Lock()
	defer k.load.Unlock()
	list, err := k.store.Keys(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]data.Key, len(list))
	for _, key := range list {
		m[key.ID] = key
	}
	k.keys.Store(&m)
	return nil
}

// Key returns the API key id from the last snapshot. Before the first
// snapshot it loads one, waiting at most keyLoadWait.
func (s *Service) Key(ctx context.Context, id string) (data.Key, bool, error) {
	m := s.keys.keys.Load()
	if m == nil {
		ctx, cancel := context.WithTimeout(ctx, keyLoadWait)
		defer cancel()
		if err := s.keys.reload(ctx); err != nil {
			return data.Key{}, false, data.Wrap(data.EUNAVAILABLE, err, "API keys cannot be read from the store; retry shortly")
		}
		m = s.keys.keys.Load()
	}
	key, ok := (*m)[id]
	return key, ok, nil
}
