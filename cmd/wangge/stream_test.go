package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The change stream through the real binary (issue 21): GET /v1/changes
// carries a change within a second whoever made it (another replica over
// PostGIS, psql, the CLI on the served GeoPackage), resumes with
// Last-Event-ID with exactly what was missed, never shows a viewer cameras
// or households, and ends when the server stops.

// sseMsg is one block of a stream, stamped when it arrived.
type sseMsg struct {
	id, event, data string
	comments        []string
	at              time.Time
}

// change is the data of a message.
type change struct {
	Seq     int64  `json:"seq"`
	Layer   string `json:"layer"`
	FID     int64  `json:"fid"`
	Op      string `json:"op"`
	At      string `json:"at"`
	Feature *struct {
		Properties map[string]any `json:"properties"`
	} `json:"feature"`
}

func (m sseMsg) change(t *testing.T) change {
	t.Helper()
	var c change
	if err := json.Unmarshal([]byte(m.data), &c); err != nil {
		t.Fatalf("event %s: data %q: %v", m.event, m.data, err)
	}
	if strconv.FormatInt(c.Seq, 10) != m.id || c.Layer != m.event {
		t.Fatalf("message id %s event %s carries %+v", m.id, m.event, c)
	}
	return c
}

// sseClient reads one stream.
type sseClient struct {
	name   string
	blocks chan sseMsg
	cancel context.CancelFunc
}

// openSSE opens GET /v1/changes?query on r (hdr: header names and values
// in pairs) and reads its first blocks: the messages of a replay (or a
// reset) and the Seq where the live changes begin.
func openSSE(t *testing.T, r *replica, name, query string, hdr ...string) (*sseClient, []sseMsg, int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", r.base+"/v1/changes?"+query, nil)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := testClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		res.Body.Close()
		cancel()
		t.Fatalf("%s: GET /v1/changes?%s: %d %s", name, query, res.StatusCode, res.Header.Get("Content-Type"))
	}
	c := &sseClient{name: name, blocks: make(chan sseMsg, 10_000), cancel: cancel}
	go func() {
		defer close(c.blocks)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				m.at = time.Now()
				c.blocks <- m
				m = sseMsg{}
			case strings.HasPrefix(line, ":"):
				m.comments = append(m.comments, strings.TrimSpace(line[1:]))
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "id":
					m.id = v
				case "event":
					m.event = v
				case "data":
					m.data += v
				}
			}
		}
	}()
	t.Cleanup(cancel)
	var head []sseMsg
	for {
		m, ok := c.next(t, 5*time.Second)
		if !ok {
			t.Fatalf("%s: the stream ended after %d blocks", c.name, len(head))
		}
		if m.event == "" && len(m.comments) > 0 && strings.HasPrefix(m.comments[0], "changes after ") {
			n, err := strconv.ParseInt(m.id, 10, 64)
			if err != nil {
				t.Fatalf("%s: block %+v", c.name, m)
			}
			return c, head, n
		}
		head = append(head, m)
	}
}

func (c *sseClient) next(t *testing.T, within time.Duration) (sseMsg, bool) {
	t.Helper()
	select {
	case m, ok := <-c.blocks:
		return m, ok
	case <-time.After(within):
		t.Fatalf("%s: nothing within %v", c.name, within)
	}
	return sseMsg{}, false
}

// until reads messages until stop says so, for up to limit after since,
// and returns them with the arrival of the last.
func (c *sseClient) until(t *testing.T, what string, since time.Time, limit time.Duration, stop func(change) bool) ([]change, time.Duration) {
	t.Helper()
	var got []change
	for {
		select {
		case m, ok := <-c.blocks:
			if !ok {
				t.Fatalf("%s: %s: the stream ended after %v", c.name, what, got)
			}
			if m.event == "" {
				continue
			}
			ch := m.change(t)
			got = append(got, ch)
			if stop(ch) {
				took := m.at.Sub(since)
				if took > limit {
					t.Errorf("%s: %s took %v, more than %v", c.name, what, took.Round(time.Millisecond), limit)
				}
				return got, took
			}
		case <-time.After(time.Until(since.Add(limit + 2*time.Second))):
			t.Fatalf("%s: %s: not seen within %v; got %v", c.name, what, limit, got)
		}
	}
}

func bySource(src string) func(change) bool {
	return func(c change) bool {
		return c.Layer == "hazards" && c.Feature != nil && c.Feature.Properties["source_id"] == src
	}
}

func TestStreamGeoPackage(t *testing.T) {
	bin := buildShipped(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "stream.gpkg")
	srv := startReplica(t, bin, "serve", db, "--demo", "--anonymous", "planner")
	viewerKey := strings.TrimSpace(runWangge(t, bin, "keys", "create", "--role", "viewer", "--name", "stream viewer", "--db", db))
	viewerAuth := []string{"Authorization", "Bearer " + viewerKey}
	mustConverge(t, time.Now(), "the viewer key known to the server", func() error {
		if a, err := srv.do("GET", "/v1/me", nil, viewerAuth...); err != nil || a.status != http.StatusOK {
			return fmt.Errorf("GET /v1/me with the new key: %v %v", a, err)
		}
		return nil
	})
	planner, _, _ := openSSE(t, srv, "planner", "")
	viewer, _, _ := openSSE(t, srv, "viewer", "", viewerAuth...)
	// importHazard runs the CLI and returns when it exited (what the
	// convergence tests measure from); started is when it was started.
	var started time.Time
	importHazard := func(src string, at pt) time.Time {
		csv := filepath.Join(dir, strings.ReplaceAll(src, "/", "_")+".csv")
		writeFile(t, csv, "id,lon,lat,category,severity,status,reported_at\n"+
			fmt.Sprintf("%s,%.7f,%.7f,water,2,reported,2025-06-02T08:30:00Z\n", src, at[0], at[1]))
		started = time.Now()
		runWangge(t, bin, "import", "hazards", csv, "--db", db)
		return time.Now()
	}

	t.Run("CLI import within a second", func(t *testing.T) {
		acked := importHazard("stream/cli", vaduz)
		for _, c := range []*sseClient{planner, viewer} {
			got, took := c.until(t, "the CLI's hazard", acked, convergeLimit, bySource("stream/cli"))
			if last := got[len(got)-1]; last.Op != "insert" || last.Feature.Properties["category"] != "water" {
				t.Errorf("%s: %+v", c.name, last)
			}
			// The message may come before the CLI has exited: it commits,
			// then checkpoints and closes the file.
			t.Logf("%s: message %v after the CLI exited, %v after it started", c.name, took.Round(time.Millisecond), (took + acked.Sub(started)).Round(time.Millisecond))
		}
	})

	t.Run("viewers never get cameras or households", func(t *testing.T) {
		cams := filepath.Join(dir, "cams.csv")
		writeFile(t, cams, "id,lon,lat,azimuth,fov,range_m,status\nstream/cam,9.5210,47.1411,90,60,40,online\n")
		hh := filepath.Join(dir, "hh.csv")
		writeFile(t, hh, "id,lon,lat,households\nstream/hh,9.5211,47.1412,2\n")
		runWangge(t, bin, "import", "cameras", cams, "--db", db)
		runWangge(t, bin, "import", "households", hh, "--db", db)
		acked := importHazard("stream/after-cams", vaduz)
		for _, c := range []*sseClient{planner, viewer} {
			got, _ := c.until(t, "the hazard after the cameras", acked, convergeLimit, bySource("stream/after-cams"))
			layers := map[string]int{}
			for _, ch := range got {
				layers[ch.Layer]++
			}
			wantCams := 0
			if c == planner {
				wantCams = 1
			}
			if layers["cameras"] != wantCams || layers["households"] != 0 || layers["keys"] != 0 {
				t.Errorf("%s saw %v", c.name, layers)
			}
		}
	})

	t.Run("Last-Event-ID resumes with exactly what was missed", func(t *testing.T) {
		before, _, _ := openSSE(t, srv, "viewer-before", "", viewerAuth...)
		first := importHazard("stream/seen", schaan)
		got, _ := before.until(t, "a hazard", first, convergeLimit, bySource("stream/seen"))
		lastID := got[len(got)-1].Seq
		before.cancel()
		var want []string
		for i := range 3 {
			src := fmt.Sprintf("stream/missed%d", i)
			importHazard(src, triesen)
			want = append(want, src)
		}
		cams := filepath.Join(dir, "cams2.csv")
		writeFile(t, cams, "id,lon,lat,azimuth,fov,range_m,status\nstream/cam2,9.5210,47.1411,90,60,40,online\n")
		runWangge(t, bin, "import", "cameras", cams, "--db", db)
		// Time for the replica to apply them, so that they come by the
		// replay rather than live (either way, each comes once).
		time.Sleep(300 * time.Millisecond)
		after, replay, start := openSSE(t, srv, "viewer-after", "", append(viewerAuth, "Last-Event-ID", strconv.FormatInt(lastID, 10))...)
		var srcs []string
		seen := map[int64]bool{}
		note := func(ch change) {
			if seen[ch.Seq] || ch.Seq <= lastID {
				t.Errorf("message %+v twice or not after %d", ch, lastID)
			}
			seen[ch.Seq] = true
			if ch.Layer != "hazards" || ch.Op != "insert" {
				t.Errorf("after %d: %+v, want only the hazards missed", lastID, ch)
				return
			}
			srcs = append(srcs, fmt.Sprint(ch.Feature.Properties["source_id"]))
		}
		for _, m := range replay {
			if ch := m.change(t); ch.Seq > start {
				t.Errorf("replayed %+v beyond the replay's end %d", ch, start)
			} else {
				note(ch)
			}
		}
		t.Logf("%d changes replayed after %d, live from %d", len(replay), lastID, start)
		// Then live, with nothing twice.
		acked := importHazard("stream/live", vaduz)
		want = append(want, "stream/live")
		got, _ = after.until(t, "a live hazard after the replay", acked, convergeLimit, bySource("stream/live"))
		for _, ch := range got {
			note(ch)
		}
		if strings.Join(srcs, " ") != strings.Join(want, " ") {
			t.Errorf("after reconnecting: %v, want exactly %v", srcs, want)
		}
	})

	t.Run("the stream ends when the server stops", func(t *testing.T) {
		began := time.Now()
		srv.stop(t)
		for {
			if _, ok := planner.next(t, 5*time.Second); !ok {
				break
			}
		}
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("stopping with streams open took %v", took)
		}
		// Shutdown did not wait out its 15 s for the streams and fail.
		if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("wangge serve exited with %d after SIGTERM:\n%s", code, tail(srv.log.String(), 2000))
		}
		t.Logf("stopped with two streams open in %v", time.Since(began).Round(time.Millisecond))
	})
}

// TestStreamPostGIS: a stream on replica B carries a hazard created
// through replica A, and one inserted with SQL as psql would, each within
// a second of its commit.
func TestStreamPostGIS(t *testing.T) {
	c := startPostGISPair(t, "stream")
	onB, _, _ := openSSE(t, c.b, "B", "layer=hazards")
	onA, _, _ := openSSE(t, c.a, "A", "layer=hazards")

	h, _, err := createHazard(c.a, vaduz, map[string]any{"category": "fire", "severity": 2, "source_id": "stream/pg-a"})
	if err != nil {
		t.Fatal(err)
	}
	acked := time.Now()
	got, took := onB.until(t, "A's hazard on B", acked, convergeLimit, func(ch change) bool { return ch.FID == h.FID })
	if last := got[len(got)-1]; last.Op != "insert" || last.Feature == nil || last.Feature.Properties["source_id"] != "stream/pg-a" {
		t.Errorf("B: %+v", last)
	}
	t.Logf("created through A → B's stream in %v", took.Round(time.Millisecond))

	ph := hazard{SourceID: "stream/psql", Category: "water", Severity: 1, Status: "reported", ReportedAt: time.Now().UTC().Truncate(time.Millisecond),
		Lon: schaan[0], Lat: schaan[1]}
	fid, err := pgInsertHazard(context.Background(), c.pg, ph)
	if err != nil {
		t.Fatal(err)
	}
	acked = time.Now()
	for _, s := range []*sseClient{onA, onB} {
		_, took := s.until(t, "the psql INSERT", acked, convergeLimit, func(ch change) bool { return ch.FID == fid })
		t.Logf("psql INSERT → %s's stream in %v", s.name, took.Round(time.Millisecond))
	}
}
