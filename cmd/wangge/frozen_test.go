package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestFrozenDatabase: a PostgreSQL cluster of the test's own, frozen with
// SIGSTOP (a stalled disk, a hung VM, a debugger: the server neither
// answers nor closes its connections). wangge serve must keep answering
// what it holds in memory — /healthz, locate and tiles, with an API key —
// within a second each, say on /readyz within 5 s that its feed stopped,
// and recover by itself once the database runs again.
func TestFrozenDatabase(t *testing.T) {
	pgBin := findPostgres(t)
	bin := buildWangge(t)
	cl := startScratchCluster(t, pgBin)
	token := strings.TrimSpace(runWangge(t, bin, "keys", "create", "--role", "planner", "--name", "frozen", "--db", cl.url))
	srv := startReplica(t, bin, "serve", cl.url, "--demo")
	auth := []string{"Authorization", "Bearer " + token}

	// What the frozen server is asked. The tiles are not asked before the
	// freeze, so they are drawn from memory then, not served from a cache.
	x, y := tileOf(vaduz, 14)
	sx, sy := tileOf(schaan, 13)
	asks := []struct {
		what, path string
		hdr        []string
	}{
		{"healthz", "/healthz", nil},
		{"locate with a key", "/v1/locate?lon=9.5209&lat=47.141", auth},
		{"nearby with a key", "/v1/nearby?lon=9.5209&lat=47.141&kind=hazards&radius_m=300", auth},
		{"tile with a key", fmt.Sprintf("/tiles/grids,areas,hazards/14/%d/%d.mvt", x, y), auth},
		{"another tile with a key", fmt.Sprintf("/tiles/grids,hazards/13/%d/%d.mvt", sx, sy), auth},
	}
	for _, a := range asks[:3] {
		if ans, err := srv.do("GET", a.path, nil, a.hdr...); err != nil || ans.status != http.StatusOK {
			t.Fatalf("%s before the freeze: %v %v", a.what, ans, err)
		}
	}

	frozen := cl.freeze(t)
	t.Logf("froze the postmaster and %d other processes of the cluster", len(frozen.pids)-1)
	for round := range 2 { // right away, and again once the pool has stuck connections
		for _, a := range asks {
			start := time.Now()
			ans, err := srv.request(time.Second, "GET", a.path, nil, a.hdr...)
			took := time.Since(start)
			switch {
			case err != nil:
				t.Errorf("frozen database, round %d: %s: no answer within 1 s: %v", round+1, a.what, err)
			case ans.status != http.StatusOK:
				t.Errorf("frozen database, round %d: %s: %v after %v, want 200", round+1, a.what, ans, took.Round(time.Millisecond))
			}
		}
		if round == 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}

	// /readyz answers 503 within 5 s, and names the feed once it has not
	// been read for 3 s: every /readyz started a second after that must.
	// /readyz itself must not hang (it pings the store for up to 2 s).
	var first503, firstFeed time.Duration
	var ready readyAnswer
	for first503 == 0 || firstFeed == 0 {
		started := time.Since(frozen.at)
		if started > 9*time.Second {
			break
		}
		var err error
		ready, err = srv.readyz(3 * time.Second)
		answered := time.Since(frozen.at)
		switch {
		case err != nil:
			t.Fatalf("frozen database, %v in: /readyz: %v", started.Round(time.Millisecond), err)
		case ready.status == http.StatusOK:
		case ready.status != http.StatusServiceUnavailable:
			t.Errorf("frozen database, %v in: /readyz answered %d %v", started.Round(time.Millisecond), ready.status, ready.Checks)
		case first503 == 0:
			first503 = answered
		}
		if f := ready.Checks["feed"]; f != "" && f != "ok" && firstFeed == 0 {
			firstFeed = answered
		} else if firstFeed == 0 && started > 4*time.Second {
			t.Errorf("frozen database: /readyz asked %v after the freeze answered %d with checks %v: the feed is not named", started.Round(time.Millisecond), ready.status, ready.Checks)
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case first503 == 0:
		t.Errorf("frozen database: /readyz never answered 503 in 9 s")
	case first503 > 5*time.Second:
		t.Errorf("frozen database: /readyz answered 503 only %v after the freeze, want within 5 s", first503.Round(time.Millisecond))
	}
	if firstFeed == 0 {
		t.Errorf("frozen database: /readyz never named the feed in 9 s; last checks %v", ready.Checks)
	}
	t.Logf("frozen database: /readyz 503 after %v, naming the feed after %v: %v", first503.Round(time.Millisecond), firstFeed.Round(time.Millisecond), ready.Checks)
	if a, err := srv.request(time.Second, "GET", "/healthz", nil); err != nil || a.status != http.StatusOK {
		t.Errorf("frozen database, %v in: /healthz: %v %v", time.Since(frozen.at).Round(time.Millisecond), a, err)
	}

	thawed := cl.thaw(t, frozen)
	took, err := within(thawed, 5*time.Second, 50*time.Millisecond, func() error {
		r, err := srv.readyz(5 * time.Second)
		if err == nil && r.status != http.StatusOK {
			err = fmt.Errorf("/readyz: %d %v", r.status, r.Checks)
		}
		return err
	})
	if err != nil {
		t.Fatalf("database running again: /readyz not 200 within 5 s: %v", err)
	}
	t.Logf("database running again: /readyz 200 after %v", took.Round(time.Millisecond))
	h, ans, err := createHazard(srv, vaduz, map[string]any{"category": "fire", "severity": 3}, auth...)
	if err != nil {
		t.Fatalf("write after the thaw: %v %v", ans, err)
	}
	near, _, err := srv.nearby(vaduz, 1, auth...)
	if _, ok := near[h.FID]; err != nil || !ok {
		t.Errorf("after the thaw, hazard %d written is not in nearby: %v", h.FID, err)
	}
}

// readyAnswer is /readyz's answer.
type readyAnswer struct {
	status int
	Checks map[string]string `json:"checks"`
}

func (r *replica) readyz(timeout time.Duration) (readyAnswer, error) {
	var out readyAnswer
	a, err := r.request(timeout, "GET", "/readyz", nil)
	if err != nil {
		return out, err
	}
	out.status = a.status
	if err := json.Unmarshal(a.body, &out); err != nil {
		return out, fmt.Errorf("%s: /readyz: %v in %v", r.name, err, a)
	}
	return out, nil
}

// findPostgres returns the directory of initdb, pg_ctl and postgres, the
// newest under /usr/lib/postgresql: missing, the test skips (fails under
// CI).
func findPostgres(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	skipOrFail(t, "no PostgreSQL server under /usr/lib/postgresql/*/bin (Debian: postgresql-15 postgresql-15-postgis-3; scripts/deps.sh installs them)")
	return ""
}

// scratchCluster is a PostgreSQL cluster in a temporary directory.
type scratchCluster struct {
	bin, data string
	url       string
	cred      *syscall.Credential // the postgres user's, when the test runs as root
}

// startScratchCluster runs initdb into a temporary directory and starts
// the cluster on a free port with PostGIS in its postgres database; it is
// stopped when the test ends.
func startScratchCluster(t *testing.T, pgBin string) *scratchCluster {
	t.Helper()
	dir := t.TempDir()
	cl := &scratchCluster{bin: pgBin, data: filepath.Join(dir, "data")}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres, who must
		// reach the directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, fmt.Sprintf("running as root, and no postgres user to run PostgreSQL as: %v", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cl.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	cl.run(t, "initdb", "-D", cl.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	_, port, _ := strings.Cut(freeAddr(t), ":")
	conf := fmt.Sprintf("port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 40\n", port, dir)
	f, err := os.OpenFile(filepath.Join(cl.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cl.run(t, "pg_ctl", "-D", cl.data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cl.signalAll(syscall.SIGCONT) // never leave it frozen
		cmd := cl.command("pg_ctl", "-D", cl.data, "-m", "immediate", "-w", "stop")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	cl.url = "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cl.url)
	if err != nil {
		t.Fatalf("connect to the scratch cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE EXTENSION postgis`); err != nil {
		skipOrFail(t, fmt.Sprintf("PostGIS is not installed for %s (Debian: postgresql-15-postgis-3): %v", pgBin, err))
	}
	return cl
}

func (cl *scratchCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(cl.bin, name), args...)
	if cl.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cl.cred}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (cl *scratchCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := cl.command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// pids returns the postmaster's pid and its descendants'.
func (cl *scratchCluster) pids() []int {
	b, err := os.ReadFile(filepath.Join(cl.data, "postmaster.pid"))
	if err != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil
	}
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 {
			parent[pid], _ = strconv.Atoi(fields[1])
		}
	}
	out := []int{pm}
	for i := 0; i < len(out); i++ {
		for pid, pp := range parent {
			if pp == out[i] && !slices.Contains(out, pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

func (cl *scratchCluster) signalAll(sig syscall.Signal) {
	for _, pid := range cl.pids() {
		syscall.Kill(pid, sig)
	}
}

// frozenSet is what freeze stopped, and when.
type frozenSet struct {
	pids []int
	at   time.Time
}

// freeze stops the postmaster, then all its processes, with SIGSTOP.
func (cl *scratchCluster) freeze(t *testing.T) frozenSet {
	t.Helper()
	pids := cl.pids()
	if len(pids) < 2 {
		t.Fatalf("found the cluster's processes %v: want the postmaster and its children", pids)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP %d: %v", pid, err)
		}
	}
	// Backends forked meanwhile are stopped too.
	for _, pid := range cl.pids() {
		if !slices.Contains(pids, pid) {
			syscall.Kill(pid, syscall.SIGSTOP)
			pids = append(pids, pid)
		}
	}
	return frozenSet{pids, time.Now()}
}

// thaw lets the frozen processes run again and returns when.
func (cl *scratchCluster) thaw(t *testing.T, f frozenSet) time.Time {
	t.Helper()
	for _, pid := range f.pids {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Errorf("SIGCONT %d: %v", pid, err)
		}
	}
	return time.Now()
}
