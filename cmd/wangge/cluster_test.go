package main

// The replicated cluster of scripts/cluster.sh under load: a PostgreSQL
// primary with a synchronous hot standby, three wangge replicas and HAProxy.
// Mid-run one replica is killed with SIGKILL and the primary is failed over
// (killed, standby promoted); then every replica is restarted one by one.
// Reads never fail, writes come back within 10 s of the promotion, no
// acknowledged write is lost, and every replica ends equal to the store.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wangge/wangge/data/storetest"
)

// cluster is a running scripts/cluster.sh cluster.
type cluster struct {
	t        *testing.T
	env      []string
	base     int
	lb       *replica   // HAProxy
	replicas []*replica // each wangge replica, directly
}

// clusterCmd runs scripts/cluster.sh sub and returns its standard output.
func (c *cluster) run(timeout time.Duration, sub ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"../../scripts/cluster.sh"}, sub...)...)
	cmd.Env = c.env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("cluster.sh %s: %v\n%s%s", strings.Join(sub, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// freePorts finds n consecutive free ports on 127.0.0.1.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(40000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func startCluster(t *testing.T, replicas int) *cluster {
	t.Helper()
	storetest.NeedTool(t, "haproxy", "haproxy")
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/pg_ctl"); err != nil {
		skipOrFail(t, "PostgreSQL 15 server programs not found in /usr/lib/postgresql/15/bin")
	}
	bin := buildWangge(t)
	// PostgreSQL runs as the postgres user when the test runs as root: its
	// directory must be reachable by that user, which t.TempDir is not.
	dir, err := os.MkdirTemp("", "wangge-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	dir = filepath.Join(dir, "c")
	base := freePorts(t, 11+replicas)
	c := &cluster{t: t, base: base,
		env: append(os.Environ(), "WANGGE_CLUSTER_DIR="+dir, "WANGGE_CLUSTER_PORT="+strconv.Itoa(base),
			"WANGGE_REPLICAS="+strconv.Itoa(replicas), "WANGGE_BIN="+bin)}
	t.Cleanup(func() {
		if t.Failed() {
			for i := 1; i <= replicas; i++ {
				if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("wangge-%d.log", i))); err == nil {
					t.Logf("replica %d log (tail):\n%s", i, tail(string(b), 3000))
				}
			}
		}
		if out, err := c.run(2*time.Minute, "down"); err != nil {
			t.Errorf("%v", err)
		} else if testing.Verbose() {
			t.Log(out)
		}
		os.RemoveAll(filepath.Dir(dir))
	})
	start := time.Now()
	if out, err := c.run(10*time.Minute, "up"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("cluster up in %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	}
	c.lb = &replica{name: "haproxy", base: fmt.Sprintf("http://127.0.0.1:%d", base+10)}
	for i := 1; i <= replicas; i++ {
		c.replicas = append(c.replicas, &replica{name: fmt.Sprintf("replica %d", i), base: fmt.Sprintf("http://127.0.0.1:%d", base+10+i)})
	}
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// pg connects to the PostgreSQL server at port base+i (0: pg1, 1: pg2).
func (c *cluster) pg(i int) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/wangge?sslmode=disable", c.base+i))
}

// failure is one request that did not get the answer it should.
type failure struct {
	at   time.Time
	what string
}

// load drives reads and writes through HAProxy until stopped.
type load struct {
	lb      *replica
	spot    pt
	tile    [3]int
	stop    chan struct{}
	wg      sync.WaitGroup
	reads   atomic.Int64
	mu      sync.Mutex
	readErr []failure
	// writes: acknowledged (source id → fid), and those that failed.
	acked    map[string]int64
	writeErr []failure
	writeOK  []time.Time
	// ryw is how long a read with Wangge-Min-Version of a write took.
	ryw []time.Duration
	n   atomic.Int64
}

func (l *load) failRead(what string) {
	l.mu.Lock()
	l.readErr = append(l.readErr, failure{time.Now(), what})
	l.mu.Unlock()
}

func (l *load) reader(seed uint64) {
	defer l.wg.Done()
	rnd := rand.New(rand.NewPCG(seed, 1))
	paths := []string{
		fmt.Sprintf("/v1/locate?lon=%.5f&lat=%.5f", l.spot[0], l.spot[1]),
		fmt.Sprintf("/v1/nearby?lon=%.5f&lat=%.5f&kind=hazards&radius_m=500&limit=20", l.spot[0], l.spot[1]),
		"/collections/hazards/items?limit=5",
		fmt.Sprintf("/tiles/hazards/%d/%d/%d.mvt", l.tile[0], l.tile[1], l.tile[2]),
	}
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		p := paths[rnd.IntN(len(paths))]
		a, err := l.lb.request(10*time.Second, "GET", p, nil)
		l.reads.Add(1)
		switch {
		case err != nil:
			l.failRead(fmt.Sprintf("GET %s: %v", p, err))
		case a.status != http.StatusOK && a.status != http.StatusNoContent:
			l.failRead(fmt.Sprintf("GET %s: %v", p, a))
		}
	}
}

// writer creates hazards near spot, a few a second, and reads each back
// through the balancer with Wangge-Min-Version (read-your-writes).
func (l *load) writer() {
	defer l.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		n := l.n.Add(1)
		src := fmt.Sprintf("cluster/%d", n)
		at := pt{l.spot[0] + float64(n%40)*0.00005, l.spot[1] + float64(n/40%40)*0.00005}
		a, err := l.lb.do("POST", "/collections/hazards/items", map[string]any{"type": "Feature",
			"geometry":   map[string]any{"type": "Point", "coordinates": []float64{at[0], at[1]}},
			"properties": map[string]any{"category": "fire", "severity": 1, "source_id": src}})
		now := time.Now()
		if err != nil || a.status != http.StatusCreated {
			what := fmt.Sprintf("POST %s: %v %v", src, a, err)
			if err == nil && a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") == "" {
				what += " (503 without Retry-After)"
			}
			if err == nil && a.status == http.StatusInternalServerError {
				what += " (a 500)"
			}
			l.mu.Lock()
			l.writeErr = append(l.writeErr, failure{now, what})
			l.mu.Unlock()
			continue
		}
		h, err := writeAnswer(l.lb, "POST", a)
		if err != nil {
			l.mu.Lock()
			l.writeErr = append(l.writeErr, failure{now, err.Error()})
			l.mu.Unlock()
			continue
		}
		l.mu.Lock()
		l.acked[src] = h.FID
		l.writeOK = append(l.writeOK, now)
		l.mu.Unlock()
		v := a.header.Get("Wangge-Version")
		start := time.Now()
		r, err := l.lb.do("GET", fmt.Sprintf("/collections/hazards/items/%d", h.FID), nil, "Wangge-Min-Version", v)
		took := time.Since(start)
		switch {
		case err != nil:
			l.failRead(fmt.Sprintf("read-your-writes GET hazard %d at %s: %v", h.FID, v, err))
		case r.status != http.StatusOK:
			l.failRead(fmt.Sprintf("read-your-writes GET hazard %d at %s: %v", h.FID, v, r))
		default:
			l.mu.Lock()
			l.ryw = append(l.ryw, took)
			l.mu.Unlock()
		}
	}
}

func startLoad(lb *replica, spot pt, readers int) *load {
	x, y := tileOf(spot, 14)
	l := &load{lb: lb, spot: spot, tile: [3]int{14, x, y}, stop: make(chan struct{}), acked: map[string]int64{}}
	for i := range readers {
		l.wg.Add(1)
		go l.reader(uint64(i + 1))
	}
	l.wg.Add(1)
	go l.writer()
	return l
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// failures returns the failures of fs between from and to.
func failuresBetween(fs []failure, from, to time.Time) []failure {
	var out []failure
	for _, f := range fs {
		if !f.at.Before(from) && !f.at.After(to) {
			out = append(out, f)
		}
	}
	return out
}

func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL servers, HAProxy and three replicas")
	}
	c := startCluster(t, 3)
	spot := pt{9.5090, 47.1290} // Vaduz, south of the centre
	const readers = 4
	l := startLoad(c.lb, spot, readers)
	defer func() {
		select {
		case <-l.stop:
		default:
			l.finish()
		}
	}()
	begin := time.Now()
	time.Sleep(3 * time.Second)

	killed := time.Now()
	if _, err := c.run(time.Minute, "kill-replica", "1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)

	failStart := time.Now()
	out, err := c.run(2*time.Minute, "failover")
	if err != nil {
		t.Fatal(err)
	}
	promoted := time.Now()
	t.Logf("failover:\n%s", out)

	// Writes come back: wait for five in a row after the promotion.
	deadline := time.Now().Add(60 * time.Second)
	for {
		l.mu.Lock()
		ok := 0
		for _, at := range l.writeOK {
			if at.After(promoted) {
				ok++
			}
		}
		lastErr := time.Time{}
		if len(l.writeErr) > 0 {
			lastErr = l.writeErr[len(l.writeErr)-1].at
		}
		l.mu.Unlock()
		if ok >= 5 && time.Since(lastErr) > 2*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not come back within 60 s of the promotion")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)

	restartStart := time.Now()
	if out, err := c.run(5*time.Minute, "restart"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("rolling restart in %v:\n%s", time.Since(restartStart).Round(time.Millisecond), out)
	}
	time.Sleep(2 * time.Second)
	restartEnd := time.Now()
	l.finish()

	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%d reads, %d writes acknowledged, %d writes failed over %v", l.reads.Load(), len(l.acked), len(l.writeErr), time.Since(begin).Round(time.Second))

	// 0 failed reads over the whole run, but for answers the killed replica
	// was sending when it died: HAProxy retries a request on another
	// replica only until the answer starts, so a body cut by a SIGKILL
	// reaches the client cut (at most one a reader, within a second of the
	// kill). Every other failure fails the test.
	var failed, cut int
	for _, f := range l.readErr {
		if f.at.After(killed) && f.at.Before(killed.Add(time.Second)) && strings.Contains(f.what, "reading the answer") && cut < readers {
			cut++
			t.Logf("read cut by the replica kill at +%v: %s", f.at.Sub(begin).Round(time.Millisecond), f.what)
			continue
		}
		if failed++; failed <= 20 {
			t.Errorf("read failed at +%v: %s", f.at.Sub(begin).Round(time.Millisecond), f.what)
		}
	}
	if failed > 0 {
		t.Errorf("%d reads failed", failed)
	}
	// Writes: never a 500 or a 503 without Retry-After; unavailable at most
	// 10 s after the promotion.
	var firstFail, lastFail time.Time
	for _, f := range l.writeErr {
		if strings.Contains(f.what, "(a 500)") || strings.Contains(f.what, "without Retry-After") {
			t.Errorf("write at +%v: %s", f.at.Sub(begin).Round(time.Millisecond), f.what)
		}
		if f.at.After(failStart) {
			if firstFail.IsZero() {
				firstFail = f.at
			}
			lastFail = f.at
		}
	}
	if !lastFail.IsZero() && lastFail.Sub(promoted) > 10*time.Second {
		t.Errorf("writes still failing %v after the promotion (last: %s)", lastFail.Sub(promoted).Round(time.Millisecond),
			l.writeErr[len(l.writeErr)-1].what)
	}
	var firstOK time.Time
	for _, at := range l.writeOK {
		if at.After(promoted) {
			firstOK = at
			break
		}
	}
	t.Logf("timeline: replica killed at +%v; primary killed at +%v; first failed write +%v; promoted +%v; first write after +%v (%v after the promotion)",
		killed.Sub(begin).Round(time.Millisecond), failStart.Sub(begin).Round(time.Millisecond),
		sub(firstFail, begin), promoted.Sub(begin).Round(time.Millisecond), sub(firstOK, begin), sub(firstOK, promoted))
	for _, f := range failuresBetween(l.writeErr, killed.Add(-time.Second), failStart) {
		t.Logf("write failed around the replica kill at +%v: %s", f.at.Sub(begin).Round(time.Millisecond), f.what)
	}
	// A rolling restart under load fails nothing.
	for _, f := range failuresBetween(l.writeErr, restartStart, restartEnd) {
		t.Errorf("write failed during the rolling restart at +%v: %s", f.at.Sub(begin).Round(time.Millisecond), f.what)
	}
	if len(l.ryw) > 0 {
		t.Logf("read-your-writes through the balancer: %d reads, p50 %v, p99 %v, max %v", len(l.ryw),
			percentile(l.ryw, 0.50), percentile(l.ryw, 0.99), slices.Max(l.ryw))
	}

	// Every acknowledged write is in the new primary (pg2).
	pg, err := c.pg(1)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	ctx := context.Background()
	var inRecovery bool
	if err := pg.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || inRecovery {
		t.Fatalf("pg2 is not the primary after the failover: %v %v", inRecovery, err)
	}
	stored := map[string]int64{}
	rows, err := pg.Query(ctx, `SELECT source_id, fid FROM hazards WHERE source_id LIKE 'cluster/%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var src string
		var fid int64
		if err := rows.Scan(&src, &fid); err != nil {
			t.Fatal(err)
		}
		stored[src] = fid
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	lost := 0
	for src, fid := range l.acked {
		if stored[src] != fid {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged write %s (hazard %d) is not in the new primary", src, fid)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(l.acked))
	}
	var last int64
	if err := pg.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM wangge_changes`).Scan(&last); err != nil {
		t.Fatal(err)
	}

	// Every replica (all running again after the restart) shows exactly the
	// store's hazards of this run.
	want := map[int64]bool{}
	for _, fid := range stored {
		want[fid] = true
	}
	for _, r := range c.replicas {
		near, n, err := r.nearby(spot, 1500, "Wangge-Min-Version", strconv.FormatInt(last, 10))
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		if n >= 1000 {
			t.Fatalf("%s: nearby is full (%d): the comparison needs fewer hazards around the spot", r.name, n)
		}
		got := map[int64]bool{}
		for fid, h := range near {
			if strings.HasPrefix(h.SourceID, "cluster/") {
				got[fid] = true
			}
		}
		var missing, extra []int64
		for fid := range want {
			if !got[fid] {
				missing = append(missing, fid)
			}
		}
		for fid := range got {
			if !want[fid] {
				extra = append(extra, fid)
			}
		}
		if len(missing)+len(extra) > 0 {
			t.Errorf("%s disagrees with the store: %d of its hazards missing (%v…), %d not in the store (%v…)", r.name,
				len(missing), missing[:min(5, len(missing))], len(extra), extra[:min(5, len(extra))])
		}
	}
}

// sub is a-b, or 0 when a is unset.
func sub(a, b time.Time) time.Duration {
	if a.IsZero() {
		return 0
	}
	return a.Sub(b).Round(time.Millisecond)
}
