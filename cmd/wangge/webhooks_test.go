package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Webhooks, notification rules and Idempotency-Key through the real binary
// (issues 21 and 22): a receiver gets signed deliveries in Seq order; with
// the receiver down across a restart of wangge, every change arrives once
// it is back; a URL outside the allow-list is refused; a dead receiver is
// paused and resumed; a rule notifies a grid's staff on the stream; a POST
// sent twice with one key makes one hazard.

// receiver is a webhook receiver on a fixed loopback port that can be
// taken down and brought back.
type receiver struct {
	t      *testing.T
	addr   string
	secret string
	mu     sync.Mutex
	got    []delivery
	srv    *http.Server
}

type delivery struct {
	id, event string
	seq       int64
	body      []byte
}

func newReceiver(t *testing.T, secret string) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String(), secret: secret}
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle)}
	go r.srv.Serve(ln)
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if !validSignature(req.Header.Get("Wangge-Signature"), r.secret, body) {
		r.t.Errorf("receiver: bad signature %q on %s", req.Header.Get("Wangge-Signature"), body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := req.Header.Get("Wangge-Delivery")
	_, seqText, _ := strings.Cut(id, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		r.t.Errorf("receiver: Wangge-Delivery %q", id)
	}
	r.mu.Lock()
	r.got = append(r.got, delivery{id: id, event: req.Header.Get("Wangge-Event"), seq: seq, body: body})
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// validSignature checks "t=<unix>,sha256=<hex>" over "<t>.<body>".
func validSignature(header, secret string, body []byte) bool {
	var ts, sum string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "sha256":
			sum = v
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return ts != "" && hmac.Equal([]byte(sum), []byte(want))
}

func (r *receiver) down() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *receiver) up(t *testing.T) {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("receiver back on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// sources waits until the deliveries carry every source id in want and
// returns the hazard deliveries' source ids in the order they came.
func (r *receiver) sources(t *testing.T, want []string, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []string
		for _, d := range r.deliveries() {
			var m struct {
				Feature *struct {
					Properties map[string]any `json:"properties"`
				} `json:"feature"`
			}
			if d.event == "hazards" && json.Unmarshal(d.body, &m) == nil && m.Feature != nil {
				got = append(got, fmt.Sprint(m.Feature.Properties["source_id"]))
			}
		}
		missing := 0
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the receiver has %v, want all of %v", within, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebhooks(t *testing.T) {
	// Replicas started in a subtest live on: they are the top test's.
	top := t
	bin := buildWangge(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "hooks.gpkg")
	const secret = "s3cret-for-the-test-receiver"
	rcv := newReceiver(t, secret)
	// A loopback port nobody listens on, allowed: the dead receiver.
	dead := freeAddr(t)
	rules := filepath.Join(dir, "rules.json")
	serveArgs := func(maxFailures string) []string {
		return []string{"--demo", "--webhook-allow", rcv.addr + "," + dead, "--webhook-backoff", "50ms",
			"--webhook-max-failures", maxFailures, "--rules", rules}
	}
	// The rule's area is filled in once the demo is loaded: a placeholder
	// first (an unknown area matches nothing).
	writeFile(t, rules, `{"rules": [{"name": "fire-here", "categories": ["fire"], "area": "none", "notify": ["workers", "chief"]}]}`)
	srv := startReplica(t, bin, "A", db, serveArgs("1000")...)
	adminKey := strings.TrimSpace(runWangge(t, bin, "keys", "create", "--role", "admin", "--name", "hooks admin", "--db", db))
	admin := []string{"Authorization", "Bearer " + adminKey}
	mustConverge(t, time.Now(), "the admin key known to the server", func() error {
		if a, err := srv.do("GET", "/v1/webhooks", nil, admin...); err != nil || a.status != http.StatusOK {
			return fmt.Errorf("GET /v1/webhooks: %v %v", a, err)
		}
		return nil
	})
	hazardAt := func(r *replica, src string) {
		t.Helper()
		if _, _, err := createHazard(r, vaduz, map[string]any{"category": "water", "severity": 1, "source_id": src}, admin...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a URL outside the allow-list is refused", func(t *testing.T) {
		other := freeAddr(t)
		for _, u := range []string{"http://" + other + "/hook", "http://169.254.169.254/latest/meta-data", "file:///etc/passwd"} {
			a, err := srv.do("POST", "/v1/webhooks", map[string]any{"id": "ssrf", "url": u, "secret": secret}, admin...)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "url") {
				t.Errorf("POST a webhook to %s: %v, want 400 naming the url", u, a)
			}
		}
		if a, _ := srv.do("GET", "/v1/webhooks/ssrf", nil, admin...); a.status != http.StatusNotFound {
			t.Errorf("the refused webhook exists: %v", a)
		}
		viewerKey := strings.TrimSpace(runWangge(t, bin, "keys", "create", "--role", "planner", "--db", db))
		time.Sleep(300 * time.Millisecond)
		if a, _ := srv.do("GET", "/v1/webhooks", nil, "Authorization", "Bearer "+viewerKey); a.status != http.StatusForbidden {
			t.Errorf("a planner lists webhooks: %v, want 403", a)
		}
	})

	a, err := srv.do("POST", "/v1/webhooks", map[string]any{"id": "hotline", "url": "http://" + rcv.addr + "/wangge", "secret": secret,
		"filter": map[string]any{"layers": []string{"hazards"}}}, admin...)
	if err != nil || a.status != http.StatusCreated {
		t.Fatalf("POST /v1/webhooks: %v %v", a, err)
	}
	if strings.Contains(string(a.body), secret) {
		t.Errorf("the answer shows the secret given: %s", a.body)
	}

	t.Run("signed deliveries in Seq order", func(t *testing.T) {
		for i := range 5 {
			hazardAt(srv, fmt.Sprintf("hook/%d", i))
		}
		got := rcv.sources(t, []string{"hook/0", "hook/1", "hook/2", "hook/3", "hook/4"}, 10*time.Second)
		if !slices.Equal(got, []string{"hook/0", "hook/1", "hook/2", "hook/3", "hook/4"}) {
			t.Errorf("order %v", got)
		}
		ds := rcv.deliveries()
		for i := 1; i < len(ds); i++ {
			if ds[i].seq <= ds[i-1].seq {
				t.Errorf("delivery %s after %s", ds[i].id, ds[i-1].id)
			}
		}
	})

	t.Run("receiver down across a restart: every change arrives", func(t *testing.T) {
		rcv.down()
		hazardAt(srv, "hook/while-down-1")
		hazardAt(srv, "hook/while-down-2")
		time.Sleep(300 * time.Millisecond) // attempts fail meanwhile
		srv.stop(t)
		csv := filepath.Join(dir, "down.csv")
		writeFile(t, csv, "id,lon,lat,category,severity,status,reported_at\n"+
			fmt.Sprintf("hook/cli-while-stopped,%.7f,%.7f,water,2,reported,2025-06-02T08:30:00Z\n", vaduz[0], vaduz[1]))
		runWangge(t, bin, "import", "hazards", csv, "--db", db)
		srv = startReplica(top, bin, "A2", db, serveArgs("1000")...)
		hazardAt(srv, "hook/after-restart")
		time.Sleep(300 * time.Millisecond)
		rcv.up(t)
		want := []string{"hook/while-down-1", "hook/while-down-2", "hook/cli-while-stopped", "hook/after-restart"}
		got := rcv.sources(t, want, 15*time.Second)
		var order []string
		for _, s := range got {
			if slices.Contains(want, s) && !slices.Contains(order, s) {
				order = append(order, s)
			}
		}
		if !slices.Equal(order, want) {
			t.Errorf("delivered in the order %v, want %v", order, want)
		}
	})

	t.Run("a dead receiver is paused, the admin sees it and resumes it", func(t *testing.T) {
		srv.stop(t)
		srv = startReplica(top, bin, "A3", db, serveArgs("3")...)
		if a, err := srv.do("POST", "/v1/webhooks", map[string]any{"id": "dead", "url": "http://" + dead + "/x", "secret": secret}, admin...); err != nil || a.status != http.StatusCreated {
			t.Fatalf("POST the dead webhook: %v %v", a, err)
		}
		hazardAt(srv, "hook/for-the-dead")
		var hook struct {
			Paused    bool   `json:"paused"`
			Failures  int    `json:"failures"`
			LastError string `json:"last_error"`
			Lag       int64  `json:"lag"`
		}
		mustConverge(t, time.Now().Add(5*time.Second), "the dead webhook paused", func() error {
			if err := srv.getJSON("/v1/webhooks/dead", &hook, admin...); err != nil {
				return err
			}
			if !hook.Paused {
				return fmt.Errorf("not paused: %+v", hook)
			}
			return nil
		})
		if hook.Failures != 3 || hook.LastError == "" || hook.Lag == 0 {
			t.Errorf("paused webhook %+v: want 3 failures, the last error and a lag", hook)
		}
		a, err := srv.do("PATCH", "/v1/webhooks/dead", map[string]any{"paused": false}, admin...)
		if err != nil || a.status != http.StatusOK || !strings.Contains(string(a.body), `"failures":0`) {
			t.Errorf("resume: %v %v", a, err)
		}
		if a, _ := srv.do("DELETE", "/v1/webhooks/dead", nil, admin...); a.status != http.StatusNoContent {
			t.Errorf("DELETE: %v", a)
		}
	})

	t.Run("a rule notifies the grid's staff", func(t *testing.T) {
		_, code, err := srv.locate(vaduz, admin...)
		if err != nil {
			t.Fatal(err)
		}
		var grids struct {
			Features []struct {
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		if err := srv.getJSON("/collections/grids/items?limit=10000", &grids, admin...); err != nil {
			t.Fatal(err)
		}
		parent := ""
		for _, g := range grids.Features {
			if g.Properties["code"] == code {
				parent = fmt.Sprint(g.Properties["parent_code"])
			}
		}
		if parent == "" {
			t.Fatalf("grid %s not in /collections/grids/items", code)
		}
		srv.stop(t)
		writeFile(t, rules, fmt.Sprintf(`{"rules": [{"name": "fire-here", "categories": ["fire"], "area": %q, "notify": ["workers", "chief"]},
			{"name": "water-here", "categories": ["water"], "area": %q, "notify": ["workers"]}]}`, parent, parent))
		srv = startReplica(top, bin, "A4", db, serveArgs("1000")...)
		notes, _, _ := openSSE(t, srv, "planner", "layer=notify", admin...)
		if _, _, err := createHazard(srv, vaduz, map[string]any{"category": "fire", "severity": 3, "source_id": "hook/fire"}, admin...); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			m, ok := notes.next(t, time.Until(deadline))
			if !ok {
				t.Fatal("no notification within 5 s")
			}
			if m.event != "notify" {
				continue
			}
			var n struct {
				Rule    string   `json:"rule"`
				Grid    string   `json:"grid"`
				Workers []string `json:"workers"`
			}
			if err := json.Unmarshal([]byte(m.data), &n); err != nil {
				t.Fatal(err)
			}
			if n.Rule != "fire-here" || n.Grid != code || len(n.Workers) == 0 {
				t.Errorf("notification %s, want rule fire-here for grid %s naming its staff", m.data, code)
			}
			break
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	bin := buildWangge(t)
	db := filepath.Join(t.TempDir(), "idem.gpkg")
	srv := startReplica(t, bin, "A", db, "--demo", "--anonymous", "planner")
	body := map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{vaduz[0], vaduz[1]}},
		"properties": map[string]any{"category": "fire", "severity": 2, "source_id": "idem/1"}}
	key := []string{"Idempotency-Key", "4a7c0e2e-1b1d-4f7e-9a51-0e6f3f1c2d3b"}
	before := hazardCount(t, srv)
	first, err := srv.do("POST", "/collections/hazards/items", body, key...)
	if err != nil || first.status != http.StatusCreated {
		t.Fatalf("first POST: %v %v", first, err)
	}
	again, err := srv.do("POST", "/collections/hazards/items", body, key...)
	if err != nil || again.status != http.StatusCreated || again.header.Get("Location") != first.header.Get("Location") ||
		again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Errorf("replay: %v (Location %q, replayed %q), want the first answer %v (Location %q)", again, again.header.Get("Location"),
			again.header.Get("Idempotent-Replayed"), first, first.header.Get("Location"))
	}
	if n := hazardCount(t, srv); n != before+1 {
		t.Errorf("%d hazards after two copies of one POST, want %d", n, before+1)
	}
	body["properties"].(map[string]any)["severity"] = 3
	other, err := srv.do("POST", "/collections/hazards/items", body, key...)
	if err != nil || other.status != http.StatusUnprocessableEntity {
		t.Errorf("same key, another body: %v %v, want 422", other, err)
	}
	if a, _ := srv.do("POST", "/collections/hazards/items", body, "Idempotency-Key", strings.Repeat("k", 256)); a.status != http.StatusBadRequest {
		t.Errorf("a key of 256 characters: %v, want 400", a)
	}
}

func TestIdempotencyKeyPostGIS(t *testing.T) {
	c := startPostGISPair(t, "idem")
	body := map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{vaduz[0], vaduz[1]}},
		"properties": map[string]any{"category": "water", "severity": 1, "source_id": "idem/pg"}}
	key := []string{"Idempotency-Key", "pg-replicas-one-write"}
	before := hazardCount(t, c.a)
	// Both copies at once, one to each replica: one write, one answer.
	var wg sync.WaitGroup
	answers := make([]answer, 2)
	for i, r := range []*replica{c.a, c.b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := r.do("POST", "/collections/hazards/items", body, key...)
			if err != nil {
				t.Error(err)
			}
			answers[i] = a
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.status != http.StatusCreated {
			t.Fatalf("copy %d: %v", i, a)
		}
	}
	if answers[0].header.Get("Location") != answers[1].header.Get("Location") {
		t.Errorf("two Locations: %q and %q", answers[0].header.Get("Location"), answers[1].header.Get("Location"))
	}
	// A third copy later, to A.
	third, err := c.a.do("POST", "/collections/hazards/items", body, key...)
	if err != nil || third.header.Get("Location") != answers[0].header.Get("Location") {
		t.Errorf("third copy: %v %v", third, err)
	}
	if n := hazardCount(t, c.b); n != before+1 {
		t.Errorf("%d hazards after three copies of one POST, want %d", n, before+1)
	}
}

// hazardCount is the number of hazards r serves.
func hazardCount(t *testing.T, r *replica) int {
	t.Helper()
	var page struct {
		Matched int `json:"numberMatched"`
	}
	if err := r.getJSON("/collections/hazards/items?limit=1", &page); err != nil {
		t.Fatal(err)
	}
	return page.Matched
}
