package live

import (
	"sync"
	"sync/atomic"

	"github.com/wangge/wangge/data"
)

// The change stream. After the follower has applied a read of the feed
// (so every view shows it), it publishes the entries it read to the
// subscribers: the HTTP change stream (api/changes.go) and whatever else
// wants each change as it happens. A subscriber gets the entries after the
// version it subscribed at, in Seq order, through a channel of fixed size;
// one that lets it fill is dropped (EndOverflow), never waited for and
// never given more memory, and resumes by reading the feed from where it
// stopped. Entries carry no rows: a subscriber reads the current state
// from the views, which may already be newer than the entry (it converges,
// as the follower does).

// DefaultStreamBuffer is the channel size of a subscription when the
// caller gives none: entries a subscriber may fall behind by before it is
// dropped.
const DefaultStreamBuffer = 256

// Reasons a subscription ended (Subscription.Ended).
const (
	// EndClosed: the subscriber closed it, or the service ended every
	// stream (EndStreams: the server is shutting down).
	EndClosed = 1 + iota
	// EndOverflow: the subscriber fell behind by a full buffer.
	EndOverflow
	// EndReload: the follower reloaded every view after the feed was
	// pruned past it; the entries in between were never published.
	EndReload
)

// streamState is the change stream of a Service: its subscribers, and the
// areas and grids by fid that they read.
type streamState struct {
	broadcaster
	fids fidIndexes
}

// broadcaster holds the subscriptions of a Service.
type broadcaster struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	// last is the highest Seq published; entries up to it are in every
	// live subscription's channel or were passed over by its match.
	last atomic.Int64
}

// Subscription is one subscriber to the change stream.
type Subscription struct {
	b     *broadcaster
	c     chan data.Change
	start int64
	match func(data.Change) bool
	ended atomic.Int32
}

// Subscribe registers a subscriber for the changes the follower applies
// after the current version: Start says which (Seq > Start), so that a
// subscriber resuming from an older Seq reads the feed up to Start and the
// channel after it, with no gap and no entry twice. match, which may be
// nil for every entry, chooses the entries the subscriber gets; it runs on
// the follower's goroutine while the broadcaster is locked, so it must be
// quick, must not block, and must not call Subscribe, Close or
// EndStreams; it may read the views (Hazard, Areas, Published, …), which
// already show the entry. Keys entries are never published. buffer ≤ 0
// means DefaultStreamBuffer.
func (s *Service) Subscribe(match func(data.Change) bool, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultStreamBuffer
	}
	b := &s.stream.broadcaster
	sub := &Subscription{b: b, c: make(chan data.Change, buffer), match: match}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Under the lock that publish holds: every entry ≤ the version has
	// been applied, so it is either published already or is being
	// published with Seq ≤ Start (and skipped below); every entry after it
	// is published later, to this subscriber too.
	sub.start = s.Version()
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[sub] = struct{}{}
	return sub
}

// C returns the channel of entries. It is closed when the subscription
// ends; Ended says why.
func (sub *Subscription) C() <-chan data.Change { return sub.c }

// Start returns the version the subscription began at: it carries the
// entries with Seq > Start.
func (sub *Subscription) Start() int64 { return sub.start }

// Ended returns why the subscription ended (EndClosed, EndOverflow,
// EndReload), 0 while it is live.
func (sub *Subscription) Ended() int { return int(sub.ended.Load()) }

// Position returns a Seq up to which the subscriber has been sent every
// entry it matches: at least Start, and the highest Seq published once
// the channel is empty. A subscriber that has taken every entry out of
// the channel may tell its client it stands there (a stream's id).
func (sub *Subscription) Position() int64 {
	// last is read before the channel's length: entries published after
	// that read are newer than it, so an empty channel then means every
	// entry up to it was taken.
	last := sub.b.last.Load()
	if len(sub.c) > 0 || last < sub.start {
		return sub.start
	}
	return last
}

// Close ends the subscription; it may be called more than once.
func (sub *Subscription) Close() {
	sub.b.mu.Lock()
	defer sub.b.mu.Unlock()
	sub.b.end(sub, EndClosed)
}

// end removes sub and closes its channel, once; b.mu is held.
func (b *broadcaster) end(sub *Subscription, why int32) {
	if _, ok := b.subs[sub]; !ok {
		return
	}
	delete(b.subs, sub)
	sub.ended.Store(why)
	close(sub.c)
}

// publish hands the entries of one applied read of the feed, which went up
// to Seq upTo, to every subscriber whose match takes them. A subscriber
// whose channel is full is dropped at once: the follower never waits for
// one.
func (b *broadcaster) publish(changes []data.Change, upTo int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sub := range b.subs {
		for _, c := range changes {
			if c.Seq <= sub.start || c.Layer == data.FeedKeys || sub.match != nil && !sub.match(c) {
				continue
			}
			select {
			case sub.c <- c:
				continue
			default:
			}
			b.end(sub, EndOverflow)
			break
		}
	}
	b.last.Store(upTo)
}

// endAll ends every subscription for why.
func (b *broadcaster) endAll(why int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sub := range b.subs {
		b.end(sub, why)
	}
}

// EndStreams ends every subscription (EndClosed): for a server shutting
// down. Later subscriptions are not refused.
func (s *Service) EndStreams() { s.stream.endAll(EndClosed) }

// Subscribers returns the number of live subscriptions.
func (s *Service) Subscribers() int {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return len(s.stream.subs)
}

// fidIndex maps the fids of one Areas or one Plan to their index, built
// the first time a stream asks for a feature by fid after a swap.
type fidIndex struct {
	of  any // the *Areas or *Plan indexed
	idx map[int64]int
}

// fidIndexes caches the index of the areas and of the published plan.
type fidIndexes struct {
	areas, plan atomic.Pointer[fidIndex]
}

func indexOf(cache *atomic.Pointer[fidIndex], of any, n int, fid func(int) int64) map[int64]int {
	if c := cache.Load(); c != nil && c.of == of {
		return c.idx
	}
	idx := make(map[int64]int, n)
	for i := range n {
		idx[fid(i)] = i
	}
	cache.Store(&fidIndex{of: of, idx: idx})
	return idx
}

// AreaByFID returns the area with fid as the views hold it.
func (s *Service) AreaByFID(fid int64) (data.Area, bool) {
	as := s.Areas()
	if as == nil {
		return data.Area{}, false
	}
	i, ok := indexOf(&s.stream.fids.areas, as, len(as.List), func(i int) int64 { return as.List[i].FID })[fid]
	if !ok {
		return data.Area{}, false
	}
	return as.List[i], true
}

// PublishedGrid returns the grid with fid if it is one of the published
// plan's.
func (s *Service) PublishedGrid(fid int64) (data.Grid, bool) {
	pp := s.Published()
	if pp == nil {
		return data.Grid{}, false
	}
	grids := pp.Plan.Grids
	i, ok := indexOf(&s.stream.fids.plan, pp, len(grids), func(i int) int64 { return grids[i].FID })[fid]
	if !ok {
		return data.Grid{}, false
	}
	return grids[i], true
}
