package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/wangge/wangge/data"
)

// Options control an import.
type Options struct {
	// SkipInvalid skips bad records (reported all the same) and commits the
	// rest; without it any bad record rolls the whole import back.
	SkipInvalid bool
	// Replace deletes the layer's features first, in the same transaction.
	Replace bool
	// Progress, if set, is called with the number of bytes read so far each
	// time more of the file is read; the CLI draws its progress bar from it.
	Progress func(readBytes int64)
	// Actor, if set, names who imports in the audit log entry the import
	// commits with ("cli:<user>"); "" writes no entry.
	Actor string
	// Report, if set, is called for every bad record as it is found,
	// including those beyond the MaxErrors kept in Result.Errors.
	Report func(RowError)
	// Taxonomy is what hazard categories and worker roles are checked
	// against: the one the server runs with (serve --taxonomy). nil is the
	// built-in data.DefaultTaxonomy().
	Taxonomy *data.Taxonomy
}

// Result sums up an import.
type Result struct {
	Read     int        // records read, good and bad
	Imported int        // records committed; 0 if the import was rolled back
	Rejected int        // bad records, all of them
	Errors   []RowError // the first MaxErrors bad records
	// Notes are what the import assumed about the file, for its report:
	// a GeoJSON file declaring CGCS2000 (EPSG:4490) is read as WGS 84.
	Notes []string
}

// Import reads layer's records from r (name is the file name for messages
// and format detection) and writes them to store in one transaction. See the
// package documentation for the policy on bad records. The error is nil on
// commit; it wraps ErrRejected when bad records made the import roll back,
// and is a *data.Error with EINVALID for a file that cannot be read at all.
func Import(ctx context.Context, store data.Store, layer data.Layer, r io.Reader, name string, opt Options) (Result, error) {
	if opt.Progress != nil {
		r = &progressReader{r: r, fn: opt.Progress}
	}
	rd, err := newReader(r, name, layer, opt.Taxonomy)
	if err != nil {
		return Result{}, err
	}
	im := &importer{store: store, layer: layer, name: name, opt: opt}
	switch layer {
	case data.LayerAreas:
		err = im.areas(ctx, rd)
	default: // points, streets, units, and the roster
		err = im.points(ctx, rd)
	}
	im.res.Notes = rd.Notes()
	return im.res, err
}

// importer is the state of one Import call.
type importer struct {
	store data.Store
	layer data.Layer
	name  string
	opt   Options
	res   Result
	added int // records written to the transaction so far
}

func (im *importer) reject(e RowError) {
	im.res.Rejected++
	if len(im.res.Errors) < MaxErrors {
		im.res.Errors = append(im.res.Errors, e)
	}
	if im.opt.Report != nil {
		im.opt.Report(e)
	}
}

// storeRejected reports whether err is the store refusing one record (which
// leaves the transaction usable) rather than failing.
func storeRejected(err error) bool {
	code := data.ErrorCode(err)
	return code == data.EINVALID || code == data.ECONFLICT
}

// ctxCheckEvery is how many records pass between looks at ctx: often
// enough to stop promptly, rare enough to cost nothing.
const ctxCheckEvery = 1024

// commit runs the import in one transaction, data.Audited's: it clears
// the layer for Replace, runs write, which streams every record into the
// transaction, and commits unless bad records are not to be skipped, with
// the import's entry in the audit log when an Actor is set. Without one
// (the demo's data, tests) no entry is recorded, which data.Audited allows
// for an actor of "" only.
func (im *importer) commit(ctx context.Context, write func(tx data.Tx) error) error {
	_, err := data.Audited(ctx, im.store, im.opt.Actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		if im.opt.Replace {
			wipe := tx.Clear
			if im.layer == LayerWorkers {
				wipe = func(ctx context.Context, _ data.Layer) error { return tx.ClearWorkers(ctx) }
			}
			if err := wipe(ctx, im.layer); err != nil {
				return nil, err
			}
		}
		if err := write(tx); err != nil {
			return nil, err
		}
		if im.res.Rejected > 0 && !im.opt.SkipInvalid {
			return nil, data.Wrap(data.EINVALID, ErrRejected,
				"%s: %d of %d records are invalid, so nothing was imported (skip them with --skip-invalid)",
				im.name, im.res.Rejected, im.res.Read)
		}
		if im.opt.Actor == "" {
			return nil, nil
		}
		// The import's record in the audit log: counts, not rows; the rows
		// are in the layer, and household points stay out of the log.
		after, _ := json.Marshal(map[string]any{"file": im.name, "read": im.res.Read, "imported": im.added,
			"rejected": im.res.Rejected, "replace": im.opt.Replace})
		return []data.AuditEntry{{Action: "import." + string(im.layer), Target: string(im.layer), After: after}}, nil
	})
	if err != nil {
		return err
	}
	im.res.Imported = im.added
	return nil
}

// next returns the next good record, counting every record read and
// reporting the bad ones on the way; io.EOF at the end, or a whole-file
// error.
func (im *importer) next(rd *Reader) (Record, error) {
	for {
		rec, err := rd.Next()
		var re *RowError
		switch {
		case err == nil:
			im.res.Read++
			return rec, nil
		case errors.As(err, &re):
			im.res.Read++
			im.reject(*re)
		default:
			return rec, err
		}
	}
}

// points streams households, hazards, cameras or roster rows into one
// transaction. Valid records are written even after a bad one in the
// default mode, so that the store still finds every duplicate id to
// report; the rollback at the end discards them.
func (im *importer) points(ctx context.Context, rd *Reader) error {
	return im.commit(ctx, func(tx data.Tx) error { return im.writePoints(ctx, tx, rd) })
}

// writePoints writes rd's good records to tx and reports the bad ones.
func (im *importer) writePoints(ctx context.Context, tx data.Tx, rd *Reader) error {
	// A roster's duplicate id within the file is found by a set of the
	// ids seen (a roster is thousands of rows, not millions), so that the
	// reason names the line where the id came first; one already on the
	// roster is the store's ECONFLICT. Points leave duplicates to the
	// store's unique index, so memory stays flat for any file size.
	first := make(map[string]int)
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := im.next(rd)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch im.layer {
		case data.LayerHouseholds:
			_, err = tx.AddHousehold(ctx, rec.Household)
		case data.LayerHazards:
			_, err = tx.AddHazard(ctx, rec.Hazard)
		case data.LayerCameras:
			_, err = tx.AddCamera(ctx, rec.Camera)
		case data.LayerStreets:
			_, err = tx.AddStreet(ctx, rec.Street)
		case data.LayerUnits:
			_, err = tx.AddUnit(ctx, rec.Unit)
		case LayerWorkers:
			id := rec.Worker.ID
			if line, ok := first[id]; ok {
				im.reject(RowError{File: im.name, Line: rec.Line, Reason: fmt.Sprintf("id %q appears twice in the file (first at line %d)", id, line)})
				continue
			}
			first[id] = rec.Line
			if err = tx.AddWorker(ctx, rec.Worker); data.ErrorCode(err) == data.ECONFLICT {
				err = data.Errorf(data.ECONFLICT, "id %q is already on the roster (--replace replaces the whole roster)", id)
			}
		}
		if err != nil {
			if !storeRejected(err) {
				return err
			}
			im.reject(RowError{File: im.name, Line: rec.Line, Feature: rec.Feature, Reason: data.ErrorMessage(err)})
			continue
		}
		im.added++
	}
}

// progressReader reports the bytes read so far after every read.
type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.n += int64(n)
		p.fn(p.n)
	}
	return n, err
}
