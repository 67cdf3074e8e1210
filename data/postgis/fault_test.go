package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
)

// pgBin is where Debian puts the PostgreSQL 15 server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// cluster is a throwaway PostgreSQL server of the test's own, in a temporary
// directory on a free port, so that stopping it disturbs no one else's work
// on the shared server.
type cluster struct {
	t    *testing.T
	dir  string
	port int
	url  string
}

// newCluster initialises and starts a private cluster with PostGIS.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	testURL(t) // the same skip rule as every PostgreSQL test
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL 15 server programs not found in %s (Debian: postgresql-15)", pgBin)
	}
	dir, err := os.MkdirTemp("", "wangge-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	// PostgreSQL refuses to run as root: run it as the postgres user then.
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.run(filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	c.pgctl("start", "-w")
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	conn, err := pgx.Connect(context.Background(), c.url)
	if err != nil {
		t.Fatalf("connect to the private cluster: %v\n%s", err, c.log())
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE EXTENSION postgis`); err != nil {
		t.Fatal(err)
	}
	return c
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (c *cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	if os.Getuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, c.log())
	}
}

func (c *cluster) pgctl(args ...string) {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40", c.port, c.dir)
	c.run(filepath.Join(pgBin, "pg_ctl"), append(args, "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-o", opts)...)
}

func (c *cluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	return string(b)
}

// TestRestart stops the database under load and starts it again: while it
// is down every request fails with 503 problem+json and /readyz says not
// ready; afterwards the same server answers again without a restart.
func TestRestart(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	store, err := postgis.Open(ctx, c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tx, _ := store.Begin(ctx)
	for i := range 200 {
		if _, err := tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprint(i), Point: orb.Point{9.5 + float64(i)/1000, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	items := hs.URL + "/collections/hazards/items?bbox=9.5,47.0,9.6,47.2&limit=5"

	get := func(u string) (int, string, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get(items); code != 200 || !strings.Contains(body, `"numberMatched":101`) {
		t.Fatalf("before: %d %s", code, body)
	}

	// Load: clients that keep asking through the restart. Every answer must
	// be 200 or 503, never a 500 or a hang.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for !stop.Load() {
				res, err := client.Get(items)
				code := -1
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					code = res.StatusCode
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	c.pgctl("stop", "-m", "fast", "-w")

	// Down: 503 with a problem document, and not ready. The first request
	// may meet a pooled connection that just died; it is 503 all the same.
	for range 3 {
		code, ct, body := get(items)
		if code != http.StatusServiceUnavailable || ct != "application/problem+json" {
			t.Errorf("while down: %d %s %s", code, ct, body)
		}
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 503 || p.Detail == "" || strings.Contains(p.Detail, "127.0.0.1") {
			t.Errorf("problem while down: %s", body)
		}
	}
	if code, _, body := get(hs.URL + "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"ready":false`) {
		t.Errorf("readyz while down: %d %s", code, body)
	}
	_, err = store.Hazards(ctx)
	if data.ErrorCode(err) != data.EUNAVAILABLE {
		t.Errorf("Hazards while down: %v (%s), want EUNAVAILABLE", err, data.ErrorCode(err))
	}
	if _, err := store.Begin(ctx); data.ErrorCode(err) != data.EUNAVAILABLE {
		t.Errorf("Begin while down: %v, want EUNAVAILABLE", err)
	}

	c.pgctl("start", "-w")
	// Up again: the pool reconnects by itself.
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, body := get(items)
		if code == 200 && strings.Contains(body, `"numberMatched":101`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 15 s after the restart: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, body := get(hs.URL + "/readyz"); code != 200 {
		t.Errorf("readyz after restart: %d %s", code, body)
	}
	stop.Store(true)
	wg.Wait()
	for code, n := range statuses {
		if code != 200 && code != 503 {
			t.Errorf("%d answers with status %d during the restart", n, code)
		}
	}
	t.Logf("answers during the restart: %v", statuses)
	// Writes work again too.
	tx, err = store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.AddHazard(ctx, data.Hazard{ID: "after", Point: orb.Point{9.5, 47.1}, Category: "water", Severity: 2, Status: "reported", ReportedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestTransactionLostConnection: a write whose connection dies fails with
// EUNAVAILABLE at the next call, which an importer does not take for a bad
// record, and nothing of it is stored.
func TestTransactionLostConnection(t *testing.T) {
	ctx := context.Background()
	// Its own application_name, so that the kill below meets only it (other
	// packages' tests share the database).
	app := fmt.Sprintf("wangge_lost_%d", time.Now().UnixNano())
	s, err := postgis.Open(ctx, withParam(t, freshSchema(t), "application_name", app))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := range 10 {
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprint(i), Point: orb.Point{1, 1}, Households: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Kill the transaction's backend from another connection, as a
	// restart would.
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE state = 'idle in transaction' AND application_name = $1`, app).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d backends, %v; want 1", killed, err)
	}
	_, err = tx.AddHousehold(ctx, data.Household{ID: "next", Point: orb.Point{1, 1}, Households: 1})
	if code := data.ErrorCode(err); code != data.EUNAVAILABLE {
		t.Errorf("Add after the connection died: %v (%s), want EUNAVAILABLE", err, code)
	}
	err = tx.Commit()
	if code := data.ErrorCode(err); code != data.EUNAVAILABLE {
		t.Errorf("Commit after the connection died: %v (%s), want EUNAVAILABLE", err, code)
	}
	if n, err := s.Count(ctx, data.LayerHouseholds); err != nil || n != 0 {
		t.Errorf("households = %d, %v; want 0", n, err)
	}
}

// TestStatementTimeout: a query that waits longer than statement_timeout
// fails with EUNAVAILABLE (503) rather than holding its connection.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s, err := postgis.Open(ctx, withParam(t, u, "statement_timeout", "300ms"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Another session holds the table: the read must wait, then give up.
	locker, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	ltx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ltx.Exec(ctx, `LOCK TABLE hazards IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Items(ctx, data.LayerHazards, data.Query{Limit: 10})
	if data.ErrorCode(err) != data.EUNAVAILABLE || !strings.Contains(data.ErrorMessage(err), "statement timeout") {
		t.Errorf("Items on a locked table: %v (%s), want EUNAVAILABLE naming the statement timeout", err, data.ErrorCode(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}

	// A caller's context that ends first cancels the query the same way
	// (r.Context() when a client goes away), with the context's error.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = s.Hazards(cctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hazards with an expiring context: %v, want context.DeadlineExceeded", err)
	}
	ltx.Rollback(ctx)
	// The pool is still good.
	if n, err := s.Count(ctx, data.LayerHazards); err != nil || n != 0 {
		t.Errorf("Count after timeouts: %d, %v", n, err)
	}
}
