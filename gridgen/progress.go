package gridgen

import "math"

// Progress reporting: how the work of every parent is spread over the
// units Options.Progress is given.

// Progress: every parent is progUnits units, split between its stages in
// proportion to their measured share of the time (cell cover, partition,
// grid polygons), and each stage reports the fraction it has done, so the
// bar moves within a parent too (Montevideo is one parent).
const progUnits = 1000

// Where each stage ends, in progress units.
const (
	progCoverEnd     = 450
	progPartitionEnd = 850
)

const (
	stageCover = iota
	stagePartition
	stageGeometry
)

// stageProgress returns the reporter of one stage of parent pi, or nil when
// nobody listens. The reporter may be called from several goroutines.
func (r *run) stageProgress(pi, stage int) func(frac float64) {
	if r.progress == nil {
		return nil
	}
	lo, hi := 0, progCoverEnd
	switch stage {
	case stagePartition:
		lo, hi = progCoverEnd, progPartitionEnd
	case stageGeometry:
		lo, hi = progPartitionEnd, progUnits
	}
	return func(frac float64) {
		u := lo + int(math.Min(1, math.Max(0, frac))*float64(hi-lo))
		r.progMu.Lock()
		defer r.progMu.Unlock()
		if u <= r.progPer[pi] {
			return
		}
		r.progDone += u - r.progPer[pi]
		r.progPer[pi] = u
		r.progress(r.progDone, r.progTot)
	}
}

// report calls fn if it is set.
func report(fn func(float64), frac float64) {
	if fn != nil {
		fn(frac)
	}
}
