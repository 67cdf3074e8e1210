package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/importer"
)

// writeWatch is a listener whose connections count the writes blocked on
// the socket: a server connection blocked in Write has a client that does
// not read.
type writeWatch struct {
	net.Listener
	sndbuf  int          // socket send buffer of each connection, 0 for the system's
	inWrite atomic.Int64 // connections in Write now
	written atomic.Int64 // bytes written, all connections
}

func (l *writeWatch) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok && l.sndbuf > 0 {
		tc.SetWriteBuffer(l.sndbuf)
	}
	return &watchedConn{Conn: c, l: l}, nil
}

type watchedConn struct {
	net.Conn
	l *writeWatch
}

func (c *watchedConn) Write(p []byte) (int, error) {
	c.l.inWrite.Add(1)
	n, err := c.Conn.Write(p)
	c.l.written.Add(int64(n))
	c.l.inWrite.Add(-1)
	return n, err
}

// heapInuse is the heap in use after a full collection.
func heapInuse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// chunkFailStore fails the household read it is armed for (1 the first
// of a request, 2 the second chunk, 0 none), or reads it one feature
// early, as after an insert before it.
type chunkFailStore struct {
	data.Store
	failAt, shiftAt atomic.Int32
	calls           atomic.Int32
}

func (s *chunkFailStore) arm(fail, shift int32) {
	s.calls.Store(0)
	s.failAt.Store(fail)
	s.shiftAt.Store(shift)
}

func (s *chunkFailStore) Items(ctx context.Context, layer data.Layer, q data.Query) (data.Page, error) {
	if layer == data.LayerHouseholds {
		switch s.calls.Add(1) {
		case s.failAt.Load():
			return data.Page{}, data.Errorf(data.EUNAVAILABLE, "store down (simulated)")
		case s.shiftAt.Load():
			q.Offset--
		}
	}
	return s.Store.Items(ctx, layer, q)
}

// streamFixture is a server over the demo's 11,935 household points,
// enough for a page of the maximum size.
type streamFixture struct {
	ts    *httptest.Server
	watch *writeWatch
	store *gpkg.Store
	fail  *chunkFailStore // the store the server reads
}

// newStreamFixture listens through a writeWatch with socket send buffers
// of sndbuf bytes (0: the system's).
func newStreamFixture(tb testing.TB, sndbuf int) *streamFixture {
	tb.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(tb.TempDir(), "stream.gpkg"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	b, err := demo.Open("households.csv")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := importer.Import(ctx, store, data.LayerHouseholds, bytes.NewReader(b), "households.csv", importer.Options{}); err != nil {
		tb.Fatal(err)
	}
	fail := &chunkFailStore{Store: store}
	srv := New(Config{Store: fail, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	ts := httptest.NewUnstartedServer(srv)
	watch := &writeWatch{Listener: ts.Listener, sndbuf: sndbuf}
	ts.Listener = watch
	ts.Start()
	tb.Cleanup(ts.Close)
	return &streamFixture{ts: ts, watch: watch, store: store, fail: fail}
}

// TestStalledClientsPinLittle opens connections that each ask for a page
// of the maximum size and never read the answer, waits until every one of
// them has the server blocked writing, and measures what they hold on the
// heap. Measured (go test -run TestStalledClientsPinLittle -v ./api/, 50
// clients, a 1.5 MB page of 10,000 household points): built whole and
// then written, 1,539–1,573 KiB a client, the encoding held until the
// write timeout; streamed from the whole page as read from the store,
// 4,372 KiB (the features as read take three times their JSON); streamed
// in chunks of itemsChunk (500) features, 201–224 KiB.
func TestStalledClientsPinLittle(t *testing.T) {
	const (
		clients = 50
		path    = "/collections/households/items?limit=10000" // maxLimit
		// bound is what one stalled client may hold on the heap: a third
		// of what the page built whole holds, twice what a chunk does.
		bound = 512 << 10
	)
	// Little room in the kernel, whatever the host's TCP autotuning (on
	// loopback it takes a whole page): the answer stays in the process,
	// where the test can see it.
	f := newStreamFixture(t, 16<<10)

	// A client that reads: the page is whole and as large as meant.
	res, err := http.Get(f.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(body) < 1<<20 {
		t.Fatalf("reading client: %d, %d bytes, %v", res.StatusCode, len(body), err)
	}

	before := heapInuse()
	// A small receive buffer too, set before connecting so that the
	// window is small from the start.
	dialer := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conns := make([]net.Conn, 0, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range clients {
		c, err := dialer.Dial("tcp", f.watch.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: stalled\r\n\r\n", path); err != nil {
			t.Fatal(err)
		}
	}
	// Stalled: every connection blocked in Write, and no byte written
	// for three polls in a row.
	f.watch.waitFor(t, "every connection blocked writing", func() bool {
		return f.watch.inWrite.Load() == clients
	}, 3)
	after := heapInuse()
	per := (after - before) / clients
	t.Logf("%d stalled clients of a %d-byte page: heap in use %.1f MB → %.1f MB, %.0f KiB a client",
		clients, len(body), float64(before)/1e6, float64(after)/1e6, float64(per)/1024)
	if per > bound {
		t.Errorf("a stalled client holds %d KiB of heap, want at most %d KiB", per>>10, bound>>10)
	}

	// Clients gone: every answer stops, and nothing is left writing.
	for _, c := range conns {
		c.Close()
	}
	f.watch.waitFor(t, "no connection writing", func() bool { return f.watch.inWrite.Load() == 0 }, 1)
}

// waitFor polls until ok has held, with no byte written in between, for
// polls polls in a row; it fails the test after 8 s.
func (l *writeWatch) waitFor(t *testing.T, what string, ok func() bool, polls int) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	last := int64(-1)
	for still := 0; still < polls; {
		if time.Now().After(deadline) {
			t.Fatalf("not after 8 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
		n := l.written.Load()
		if ok() && n == last {
			still++
		} else {
			still = 0
		}
		last = n
	}
}

// TestItemsStreamedAsBuilt: a page written as it is encoded, in chunks
// read one after the other, is byte for byte the FeatureCollection that
// writeJSON writes of the page read at once, also when a chunk starts
// with a feature already written (a write between two chunks).
func TestItemsStreamedAsBuilt(t *testing.T) {
	f := newStreamFixture(t, 0)
	timeStamp := regexp.MustCompile(`"timeStamp":"([^"]*)"`)
	tests := []struct {
		name  string
		query string
		q     data.Query
		shift int32 // read of the request that starts a feature early
	}{
		{"max page", "limit=10000", data.Query{Limit: 10000}, 0},
		{"chunk and a half, between pages", "limit=750&offset=750", data.Query{Limit: 750, Offset: 750}, 0},
		{"last page, short", "limit=10000&offset=5000", data.Query{Limit: 10000, Offset: 5000}, 0},
		{"a chunk exactly", "limit=" + strconv.Itoa(itemsChunk) + "&offset=1", data.Query{Limit: itemsChunk, Offset: 1}, 0},
		{"bbox", "limit=2000&bbox=9.50,47.10,9.55,47.15", data.Query{Limit: 2000, BBox: bboxOf(t, "9.50,47.10,9.55,47.15")}, 0},
		{"past the end", "limit=10&offset=20000", data.Query{Limit: 10, Offset: 20000}, 0},
		{"default", "", data.Query{Limit: defaultLimit}, 0},
		{"chunks overlap", "limit=10000&offset=3", data.Query{Limit: 10000, Offset: 3}, 2},
		{"chunks overlap at the end", "limit=1200", data.Query{Limit: 1200}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/collections/households/items"
			if tc.query != "" {
				path += "?" + tc.query
			}
			f.fail.arm(0, tc.shift)
			defer f.fail.arm(0, 0)
			res, err := http.Get(f.ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != geoJSONType {
				t.Fatalf("%d %s, %v: %.300s", res.StatusCode, res.Header.Get("Content-Type"), err, got)
			}
			page, err := f.store.Items(context.Background(), data.LayerHouseholds, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Links []link }
			m := timeStamp.FindSubmatch(got)
			if err := json.Unmarshal(got, &doc); err != nil || m == nil {
				t.Fatalf("not a FeatureCollection (%v): %.300s", err, got)
			}
			want := featureCollection{Type: "FeatureCollection", Features: make([]*feature, 0, len(page.Features)),
				NumberMatched: page.Matched, NumberReturned: len(page.Features), TimeStamp: string(m[1]), Links: doc.Links}
			for _, f := range page.Features {
				want.Features = append(want.Features, toGeoJSON(f, defaultCRS))
			}
			rec := httptest.NewRecorder()
			if err := writeJSON(rec, http.StatusOK, geoJSONType, want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, rec.Body.Bytes()) {
				i := 0
				for i < min(len(got), rec.Body.Len()) && got[i] == rec.Body.Bytes()[i] {
					i++
				}
				t.Fatalf("%d bytes streamed, %d built; from byte %d:\n got %.200s\nwant %.200s", len(got), rec.Body.Len(), i, got[i:], rec.Body.Bytes()[i:])
			}
			// As before: net/http gives an answer it has whole when the
			// handler returns (under 2 KiB) a Content-Length, and sends
			// a longer one chunked.
			if small := len(got) < 2048; small != (res.ContentLength == int64(len(got))) {
				t.Errorf("%d bytes with Content-Length %d", len(got), res.ContentLength)
			}
		})
	}
}

func bboxOf(t *testing.T, s string) *orb.Bound {
	b, err := parseBBox(s)
	if err != nil {
		t.Fatal(err)
	}
	return &b
}

// TestItemsCutShort: a store that fails before the first byte is a problem
// document with its status; one that fails between chunks cuts the answer
// off, so that no client takes half a page for a whole one.
func TestItemsCutShort(t *testing.T) {
	f := newStreamFixture(t, 0)
	url := f.ts.URL + "/collections/households/items?limit=10000"

	f.fail.arm(1, 0)
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("store down at the first read: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}

	f.fail.arm(2, 0)
	res, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("store down at the second chunk: %d, %d bytes, read error %v; want 200 cut short", res.StatusCode, len(body), err)
	}

	f.fail.arm(0, 0)
	if res, err := http.Get(url); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("after: %v", err)
	} else if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Errorf("after: %v", err)
	}
}

// BenchmarkItemsMaxPage reads the largest page there is, as a client that
// reads at once: what streaming it in chunks costs.
func BenchmarkItemsMaxPage(b *testing.B) {
	f := newStreamFixture(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		res, err := http.Get(f.ts.URL + "/collections/households/items?limit=10000")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || n < 1<<20 {
			b.Fatalf("%d, %d bytes", res.StatusCode, n)
		}
		b.SetBytes(n)
	}
}
