package importer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wangge/wangge/data"
)

// memStore is a data.Store that keeps the importable layers in memory, with
// the transaction semantics the importer relies on: staged writes visible
// at Commit only, ECONFLICT for a duplicate id that leaves the transaction
// usable.
// The driver tests also run against data/gpkg; this store is for counting
// commits and rollbacks and for injecting failures. It embeds the
// interfaces so that methods the importer never calls need no stubs.
type memStore struct {
	data.Store // nil: only Begin, Areas and Count are used
	mu         sync.Mutex
	rows       map[data.Layer][]any // committed records, in insertion order
	commits    int
	rollbacks  int
	failAt     int // the failAt-th Add returns an internal error; 0 = never
	adds       int
}

var _ data.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{rows: make(map[data.Layer][]any)}
}

func (s *memStore) Begin(ctx context.Context) (data.Tx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{s: s, rows: make(map[data.Layer][]any), keys: make(map[data.Layer]map[string]bool)}
	for l, rs := range s.rows {
		tx.rows[l] = append([]any(nil), rs...)
		tx.keys[l] = make(map[string]bool)
		for _, r := range rs {
			tx.keys[l][key(r)] = true
		}
	}
	return tx, nil
}

func key(r any) string {
	switch v := r.(type) {
	case data.Household:
		return v.ID
	case data.Hazard:
		return v.ID
	case data.Camera:
		return v.ID
	case data.Area:
		return v.Code
	case data.Worker:
		return v.ID
	case data.Street:
		return v.ID
	case data.Unit:
		return v.ID
	}
	panic(fmt.Sprintf("memStore: unexpected %T", r))
}

func (s *memStore) count(l data.Layer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows[l])
}

func (s *memStore) Areas(ctx context.Context) ([]data.Area, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []data.Area
	for _, r := range s.rows[data.LayerAreas] {
		out = append(out, r.(data.Area))
	}
	return out, nil
}

func (s *memStore) Workers(ctx context.Context) ([]data.Worker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []data.Worker
	for _, r := range s.rows[LayerWorkers] {
		out = append(out, r.(data.Worker))
	}
	return out, nil
}

func (s *memStore) Count(ctx context.Context, layer data.Layer) (int, error) {
	return s.count(layer), nil
}

type memTx struct {
	data.Tx // nil: plans are not the importer's business
	s       *memStore
	rows    map[data.Layer][]any
	keys    map[data.Layer]map[string]bool
	done    bool
}

func (tx *memTx) add(l data.Layer, r any) (int64, error) {
	if tx.done {
		return 0, errors.New("memTx: transaction is over")
	}
	tx.s.mu.Lock()
	tx.s.adds++
	fail := tx.s.failAt > 0 && tx.s.adds == tx.s.failAt
	tx.s.mu.Unlock()
	if fail {
		return 0, data.Errorf(data.EUNAVAILABLE, "disk on fire")
	}
	k := key(r)
	if tx.keys[l] == nil {
		tx.keys[l] = make(map[string]bool)
	}
	if tx.keys[l][k] {
		return 0, data.Errorf(data.ECONFLICT, "duplicate id %q in %s", k, l)
	}
	tx.keys[l][k] = true
	tx.rows[l] = append(tx.rows[l], r)
	return int64(len(tx.rows[l])), nil
}

func (tx *memTx) AddHousehold(ctx context.Context, h data.Household) (int64, error) {
	return tx.add(data.LayerHouseholds, h)
}
func (tx *memTx) AddArea(ctx context.Context, a data.Area) (int64, error) {
	return tx.add(data.LayerAreas, a)
}
func (tx *memTx) AddHazard(ctx context.Context, h data.Hazard) (int64, error) {
	return tx.add(data.LayerHazards, h)
}
func (tx *memTx) AddCamera(ctx context.Context, c data.Camera) (int64, error) {
	return tx.add(data.LayerCameras, c)
}
func (tx *memTx) AddStreet(ctx context.Context, s data.Street) (int64, error) {
	return tx.add(data.LayerStreets, s)
}
func (tx *memTx) AddUnit(ctx context.Context, u data.Unit) (int64, error) {
	return tx.add(data.LayerUnits, u)
}
func (tx *memTx) AddWorker(ctx context.Context, w data.Worker) error {
	_, err := tx.add(LayerWorkers, w)
	return err
}
func (tx *memTx) ClearWorkers(ctx context.Context) error {
	return tx.Clear(ctx, LayerWorkers)
}
func (tx *memTx) Clear(ctx context.Context, l data.Layer) error {
	tx.rows[l] = nil
	tx.keys[l] = nil
	return nil
}

// Seq is what data.Audited asks before it commits; the importer does not
// use it.
func (tx *memTx) Seq(ctx context.Context) (int64, error) { return 0, nil }

func (tx *memTx) Commit() error {
	if tx.done {
		return errors.New("memTx: transaction is over")
	}
	tx.done = true
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	tx.s.rows = tx.rows
	tx.s.commits++
	return nil
}

func (tx *memTx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	tx.s.rollbacks++
	return nil
}
