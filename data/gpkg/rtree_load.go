package gpkg

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
)

// A bulk insert into a layer whose R-tree is empty (or nearly: the few rows
// written through the trigger before the bulk path starts) builds the R-tree
// once, at the end, instead of inserting each entry: rtreeLoad packs the
// entries into full nodes in Hilbert order of their centres and writes the
// R-tree's shadow tables (_node, _rowid, _parent) directly, in the format
// of SQLite's rtree module, as GDAL does since 3.6. SQLite's own insert
// costs about 11 µs an entry (it reads and rewrites a node blob for every
// entry); the packed build, about 1.5 µs (BenchmarkImportHouseholds,
// 200,000 points), most of it the _rowid rows. The packed tree is also
// tighter than one grown by inserts, and SQLite's rtreecheck accepts it
// (TestBulkRTree).
//
// Memory stays flat: entries are sorted in runs of rtreeRun, spilled to
// temporary files beside the GeoPackage (not /tmp, which may be memory),
// and merged with a 16 KiB read buffer a run (250 KiB for a million rows);
// each level of the tree above the leaves is spooled the same way. On Unix
// the files are unlinked as soon as they are created, so a crash leaves
// none behind.
type rtreeLoad struct {
	table    string
	dir      string
	nodeSize int // bytes of a node blob, as the table was created with
	run      int // entries sorted in memory before a spill
	buf      []rtreeEntry
	runs     []*spool
	n        int64
}

// rtreeEntry is one R-tree cell with its sort key. box is minx, maxx,
// miny, maxy as the rtree module stores them: float32, rounded outwards.
type rtreeEntry struct {
	key uint64
	id  int64
	box [4]float32
}

// rtreeRun is how many entries are sorted in memory before they are
// spilled to a file: 2 MiB.
const rtreeRun = 64 << 10

// rtreeLoadMax is how many entries an R-tree may hold when the bulk path
// starts for the entries to be moved into the build (the rows written
// through the trigger before it); a fuller R-tree is added to entry by
// entry as before.
const rtreeLoadMax = 4096

// startLoad begins a packed build of table's R-tree if it holds at most
// rtreeLoadMax entries, moving them into it; nil if the R-tree is fuller.
func (t *Tx) startLoad(ctx context.Context, table string) (*rtreeLoad, error) {
	r := "rtree_" + table + "_geom"
	var n int
	if err := t.tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s_rowid LIMIT %d)`, r, rtreeLoadMax+1)).Scan(&n); err != nil {
		return nil, mapErr(err, "read the R-tree of %s", table)
	}
	if n > rtreeLoadMax {
		return nil, nil
	}
	var size int
	if err := t.tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT length(data) FROM %s_node WHERE nodeno = 1`, r)).Scan(&size); err != nil {
		return nil, mapErr(err, "read the R-tree of %s", table)
	}
	if (size-4)/rtreeCell < 4 {
		return nil, nil // not a node size SQLite makes; leave it to SQLite
	}
	l := &rtreeLoad{table: table, dir: t.s.tempDir(), nodeSize: size, run: max(t.s.rtreeRun, 1)}
	l.buf = make([]rtreeEntry, 0, l.run) // once, not grown by doubling
	rows, err := t.tx.QueryContext(ctx, fmt.Sprintf(`SELECT id, minx, maxx, miny, maxy FROM %s`, r))
	if err != nil {
		return nil, mapErr(err, "read the R-tree of %s", table)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var b [4]float64
		if err := rows.Scan(&id, &b[0], &b[1], &b[2], &b[3]); err != nil {
			return nil, mapErr(err, "read the R-tree of %s", table)
		}
		// The stored float32 values come back exact, so rounding them
		// outwards again leaves them as they are.
		l.buf = append(l.buf, newEntry(id, orb.Bound{Min: orb.Point{b[0], b[2]}, Max: orb.Point{b[1], b[3]}}))
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "read the R-tree of %s", table)
	}
	rows.Close()
	l.n = int64(len(l.buf))
	if _, err := t.tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s`, r)); err != nil {
		return nil, mapErr(err, "empty the R-tree of %s", table)
	}
	return l, nil
}

// add notes the entry of feature id.
func (l *rtreeLoad) add(id int64, b orb.Bound) error {
	l.buf = append(l.buf, newEntry(id, b))
	l.n++
	if len(l.buf) < l.run {
		return nil
	}
	return l.spill()
}

// spill writes the sorted buffer to a new run file.
func (l *rtreeLoad) spill() error {
	sortEntries(l.buf)
	s := &spool{dir: l.dir}
	l.runs = append(l.runs, s)
	for _, e := range l.buf {
		if err := s.put(e); err != nil {
			return err
		}
	}
	l.buf = l.buf[:0]
	return nil
}

// close removes the load's files.
func (l *rtreeLoad) close() {
	for _, s := range l.runs {
		s.close()
	}
	l.runs = nil
}

// rtreeCell is the bytes of a cell of a 2-D rtree: the id and four float32.
const rtreeCell = 8 + 4*4

// finish writes the packed R-tree into tx, replacing the empty one.
func (l *rtreeLoad) finish(ctx context.Context, t *Tx) error {
	defer l.close()
	if l.n == 0 {
		return nil
	}
	next, err := l.sorted()
	if err != nil {
		return err
	}
	r := "rtree_" + l.table + "_geom"
	for _, q := range []string{`DELETE FROM %s_node`, `DELETE FROM %s_rowid`, `DELETE FROM %s_parent`} {
		if _, err := t.tx.ExecContext(ctx, fmt.Sprintf(q, r)); err != nil {
			return mapErr(err, "build the R-tree of %s", l.table)
		}
	}
	insNode := fmt.Sprintf(`INSERT INTO %s_node (nodeno, data) VALUES (?, ?)`, r)
	// One statement a node for its cells' rows of _rowid (leaves) or
	// _parent (the others): json_each turns the list into rows in C. OR
	// FAIL spares SQLite a statement journal (see recordDeferred): a
	// failure fails the whole build, and Commit refuses it (Tx.broken).
	insRowid := fmt.Sprintf(`INSERT OR FAIL INTO %s_rowid (rowid, nodeno) SELECT value, ? FROM json_each(?)`, r)
	insParent := fmt.Sprintf(`INSERT OR FAIL INTO %s_parent (nodeno, parentnode) SELECT value, ? FROM json_each(?)`, r)
	perNode := int64((l.nodeSize - 4) / rtreeCell)
	count, depth, nodeno := l.n, 0, int64(1)
	blob := make([]byte, l.nodeSize)
	var ids []byte
	for {
		nodes := (count + perNode - 1) / perNode
		root := nodes == 1
		var up *spool
		if !root {
			up = &spool{dir: l.dir, limit: l.run}
			defer up.close()
		}
		for i := range nodes {
			// Spread the entries evenly, so that no node is left with
			// fewer cells than SQLite keeps in a node.
			k := count / nodes
			if i < count%nodes {
				k++
			}
			no := int64(1)
			if !root {
				nodeno++
				no = nodeno
			}
			clear(blob)
			if root {
				binary.BigEndian.PutUint16(blob, uint16(depth))
			}
			binary.BigEndian.PutUint16(blob[2:], uint16(k))
			box := [4]float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.Inf(-1))}
			ids = append(ids[:0], '[')
			for j := range k {
				e, err := next()
				if err != nil {
					return mapErr(err, "build the R-tree of %s", l.table)
				}
				c := blob[4+j*rtreeCell:]
				binary.BigEndian.PutUint64(c, uint64(e.id))
				for d, v := range e.box {
					binary.BigEndian.PutUint32(c[8+4*d:], math.Float32bits(v))
				}
				box[0], box[1] = min(box[0], e.box[0]), max(box[1], e.box[1])
				box[2], box[3] = min(box[2], e.box[2]), max(box[3], e.box[3])
				if j > 0 {
					ids = append(ids, ',')
				}
				ids = strconv.AppendInt(ids, e.id, 10)
			}
			ids = append(ids, ']')
			if _, err := t.exec(ctx, "", insNode, no, blob); err != nil {
				return mapErr(err, "build the R-tree of %s", l.table)
			}
			link := insParent
			if depth == 0 {
				link = insRowid
			}
			if _, err := t.exec(ctx, "", link, no, string(ids)); err != nil {
				return mapErr(err, "build the R-tree of %s", l.table)
			}
			if !root {
				if err := up.put(rtreeEntry{id: no, box: box}); err != nil {
					return err
				}
			}
		}
		if root {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if next, err = up.reader(); err != nil {
			return err
		}
		count, depth = nodes, depth+1
	}
}

// sorted returns the entries in key order, one a call.
func (l *rtreeLoad) sorted() (func() (rtreeEntry, error), error) {
	if len(l.runs) == 0 {
		sortEntries(l.buf)
		i := 0
		return func() (rtreeEntry, error) {
			if i == len(l.buf) {
				return rtreeEntry{}, io.ErrUnexpectedEOF
			}
			i++
			return l.buf[i-1], nil
		}, nil
	}
	if len(l.buf) > 0 {
		if err := l.spill(); err != nil {
			return nil, err
		}
	}
	l.buf = nil
	h := make(mergeHeap, 0, len(l.runs))
	for _, s := range l.runs {
		rd, err := s.reader()
		if err != nil {
			return nil, err
		}
		e, err := rd()
		if err != nil {
			return nil, err
		}
		h = append(h, mergeRun{e, rd})
	}
	heap.Init(&h)
	return func() (rtreeEntry, error) {
		if len(h) == 0 {
			return rtreeEntry{}, io.ErrUnexpectedEOF
		}
		e := h[0].head
		n, err := h[0].next()
		switch {
		case errors.Is(err, io.EOF):
			heap.Pop(&h)
		case err != nil:
			return rtreeEntry{}, err
		default:
			h[0].head = n
			heap.Fix(&h, 0)
		}
		return e, nil
	}, nil
}

type mergeRun struct {
	head rtreeEntry
	next func() (rtreeEntry, error)
}

// mergeHeap merges sorted runs by key.
type mergeHeap []mergeRun

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return h[i].head.key < h[j].head.key }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(mergeRun)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func sortEntries(es []rtreeEntry) {
	slices.SortFunc(es, func(a, b rtreeEntry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
}

// newEntry is the cell of id with bound b, rounded outwards to float32 as
// the rtree module does (rtreeValueDown, rtreeValueUp), so that the box
// holds the geometry; its key is the Hilbert index of the box's centre on
// a 2³² × 2³² grid over the whole globe.
func newEntry(id int64, b orb.Bound) rtreeEntry {
	cx, cy := (b.Min[0]+b.Max[0])/2, (b.Min[1]+b.Max[1])/2
	return rtreeEntry{
		key: hilbert(gridCoord(cx, -180, 360), gridCoord(cy, -90, 180)),
		id:  id,
		box: [4]float32{roundDown(b.Min[0]), roundUp(b.Max[0]), roundDown(b.Min[1]), roundUp(b.Max[1])},
	}
}

func gridCoord(v, lo, span float64) uint32 {
	f := (v - lo) / span * (1 << 32)
	switch {
	case !(f > 0): // NaN too
		return 0
	case f >= 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(f)
}

// roundDown and roundUp are SQLite's rtreeValueDown and rtreeValueUp.
func roundDown(d float64) float32 {
	f := float32(d)
	if float64(f) > d {
		if d < 0 {
			f = float32(d * (1 + 1.0/8388608))
		} else {
			f = float32(d * (1 - 1.0/8388608))
		}
	}
	return f
}

func roundUp(d float64) float32 {
	f := float32(d)
	if float64(f) < d {
		if d < 0 {
			f = float32(d * (1 - 1.0/8388608))
		} else {
			f = float32(d * (1 + 1.0/8388608))
		}
	}
	return f
}

// hilbert is the distance of (x, y) along the Hilbert curve filling the
// 2³² × 2³² grid.
func hilbert(x, y uint32) uint64 {
	var d uint64
	for s := uint32(1) << 31; s > 0; s >>= 1 {
		var rx, ry uint32
		if x&s != 0 {
			rx = 1
		}
		if y&s != 0 {
			ry = 1
		}
		d += uint64(s) * uint64(s) * uint64((3*rx)^ry)
		if ry == 0 {
			if rx == 1 {
				x, y = ^x, ^y
			}
			x, y = y, x
		}
	}
	return d
}

// spool holds entries written once, then read once: in memory up to
// limit of them, in a temporary file beyond.
type spool struct {
	dir   string
	limit int
	mem   []rtreeEntry
	f     *os.File
	w     *bufio.Writer
}

// rtreeEntrySize is the bytes of an entry in a spool file.
const rtreeEntrySize = 8 + 8 + 4*4

func (s *spool) put(e rtreeEntry) error {
	if s.f == nil {
		if len(s.mem) < s.limit {
			s.mem = append(s.mem, e)
			return nil
		}
		f, err := os.CreateTemp(s.dir, ".wangge-rtree-*")
		if err != nil {
			return mapErr(err, "build the R-tree")
		}
		// Unlinked now (on Unix the open file stays readable), so that a
		// crash leaves no file behind; close removes it where this fails.
		_ = os.Remove(f.Name())
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
		mem := s.mem
		s.mem = nil
		for _, m := range mem {
			if err := s.put(m); err != nil {
				return err
			}
		}
	}
	var b [rtreeEntrySize]byte
	binary.LittleEndian.PutUint64(b[0:], e.key)
	binary.LittleEndian.PutUint64(b[8:], uint64(e.id))
	for d, v := range e.box {
		binary.LittleEndian.PutUint32(b[16+4*d:], math.Float32bits(v))
	}
	_, err := s.w.Write(b[:])
	return mapErr(err, "build the R-tree")
}

// reader returns the entries written, one a call, then io.EOF.
func (s *spool) reader() (func() (rtreeEntry, error), error) {
	if s.f == nil {
		i := 0
		return func() (rtreeEntry, error) {
			if i == len(s.mem) {
				return rtreeEntry{}, io.EOF
			}
			i++
			return s.mem[i-1], nil
		}, nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, mapErr(err, "build the R-tree")
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, mapErr(err, "build the R-tree")
	}
	r := bufio.NewReaderSize(s.f, 16<<10) // one a run in a merge: small
	var b [rtreeEntrySize]byte
	return func() (rtreeEntry, error) {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return rtreeEntry{}, io.EOF
			}
			return rtreeEntry{}, mapErr(err, "build the R-tree")
		}
		e := rtreeEntry{key: binary.LittleEndian.Uint64(b[0:]), id: int64(binary.LittleEndian.Uint64(b[8:]))}
		for d := range e.box {
			e.box[d] = math.Float32frombits(binary.LittleEndian.Uint32(b[16+4*d:]))
		}
		return e, nil
	}, nil
}

func (s *spool) close() {
	s.mem = nil
	if s.f != nil {
		s.f.Close()
		_ = os.Remove(s.f.Name())
	}
}

// tempDir is where an R-tree build spills: beside the file, on the disk
// that holds the GeoPackage anyway.
func (s *Store) tempDir() string { return filepath.Dir(s.path) }
