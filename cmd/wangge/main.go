// Command wangge is the wangge service and its tools: serve, import,
// gridgen, export, backup, migrate and keys, one file each (serve.go, …;
// see usage below).
//
// Configuration comes from flags. The settings of a deployment (--db, the
// flags of serve, --taxonomy) take their default from a WANGGE_*
// environment variable (flag --db ⇔ WANGGE_DB, serve --read-db ⇔
// WANGGE_READ_DB), and flags win; the choices of one run (gridgen --target,
// import --replace, keys --role, backup --force, …) are flags only. Each
// subcommand reads its variables where it declares the flag (env, envBool,
// envFloat, envDuration). The log's level and format have no flag:
// WANGGE_LOG_DEBUG and WANGGE_LOG_FORMAT (newLogger).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
)

const usage = `wangge: grids for community governance (网格化管理)

usage:
  wangge serve   [--addr :8080] [--db wangge.gpkg | postgres://…] [--demo] [--durable] [--taxonomy FILE]
  wangge import  households|areas|hazards|cameras|streets|units|workers FILE [--db wangge.gpkg] [--skip-invalid] [--replace]
                 [--taxonomy FILE]
  wangge gridgen --target 300 [--res N] [--base PLAN] [--lock CODE,…] [--publish]
                 [--out grids.geojson] [--report report.json] [--db wangge.gpkg]
  wangge export  --format gpkg|geojson|postgis OUT [--db wangge.gpkg]
  wangge export  --format pmtiles|mbtiles OUT [--layers L,…] [--minzoom 0] [--maxzoom 14]
                 [--bbox minlon,minlat,maxlon,maxlat | --area CODE] [--progress] [--db wangge.gpkg]
                 (the server's tiles in one file; households never, cameras only when named)
  wangge export  --format site OUT_DIR [--title T] [the tile flags above]
                 (a static dashboard: the map page, style.json and a PMTiles archive for a file host)
  wangge backup  OUT.gpkg [--db wangge.gpkg] [--force]
                 (a consistent copy of the GeoPackage, also while it is served)
  wangge migrate [--db postgres://…]
  wangge keys    create --role viewer|field|planner|admin [--name NAME] [--worker ID] | list | revoke ID  [--db …]
                 (create prints the new key on its own line; it is never shown again)
  wangge help

A deployment's settings (--db, serve's flags, --taxonomy) can also be set by
environment variables: --db by WANGGE_DB, --addr by WANGGE_ADDR, and so on;
per-run flags (--target, --replace, --role, --force, …) cannot.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit code: 0 done,
// 1 failed, 2 wrong usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "import":
		err = runImport(ctx, args[1:], stdout, stderr)
	case "export":
		err = runExport(ctx, args[1:], stdout, stderr)
	case "backup":
		err = runBackup(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout, stderr)
	case "gridgen":
		err = runGridgen(ctx, args[1:], stdout, stderr)
	case "keys":
		err = runKeys(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wangge: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "wangge %s: %v\n", args[0], err)
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "wangge %s: %s\n", args[0], message(err))
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ error }

// message is what the CLI prints for err: the data message when there is
// one, else the error itself (the CLI user is the operator, not a client).
func message(err error) string {
	var de *data.Error
	if errors.As(err, &de) && de.Message != "" {
		return de.Message
	}
	return err.Error()
}

// loadTaxonomy reads the --taxonomy file, or gives the built-in taxonomy
// when none is named. A bad file is a mistake on the command line: it is
// read before any store is opened, so nothing is touched for it.
func loadTaxonomy(file string) (*data.Taxonomy, error) {
	if file == "" {
		return data.DefaultTaxonomy(), nil
	}
	t, err := data.LoadTaxonomy(file)
	if err != nil {
		return nil, usageError{fmt.Errorf("--taxonomy: %s", data.ErrorMessage(err))}
	}
	return t, nil
}

// newFlags returns an empty flag set for a subcommand that reports its own
// errors to stderr. It does not read the environment: the flags declared on
// it that have a WANGGE_* variable take it as their default through env and
// its siblings.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// env returns the value of WANGGE_<NAME>, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv("WANGGE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	return def
}

// envBool reports whether WANGGE_<NAME> is 1, true, yes or on.
func envBool(name string) bool {
	switch strings.ToLower(env(name, "")) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// openStore opens the store a --db value names.
func openStore(ctx context.Context, db string, reads ...string) (data.Store, error) {
	return openStoreWith(ctx, db, gpkg.Options{}, reads...)
}

// openStoreWith is openStore with the options of a GeoPackage (serve
// --durable); a PostgreSQL store has none.
func openStoreWith(ctx context.Context, db string, o gpkg.Options, reads ...string) (data.Store, error) {
	if postgis.IsURL(db) {
		return postgis.Open(ctx, db, reads...)
	}
	return gpkg.OpenWith(ctx, db, o)
}

// newLogger returns the logger of the process, writing to w: text, or JSON
// when WANGGE_LOG_FORMAT is json; at debug level when WANGGE_LOG_DEBUG is
// set (envBool), else info.
func newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if envBool("log_debug") {
		opts.Level = slog.LevelDebug
	}
	if env("log_format", "text") == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// envDuration returns WANGGE_<NAME> as a duration, or def when unset or
// not one.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redactURL drops the password from a database URL for the log.
func redactURL(db string) string {
	u, err := url.Parse(db)
	if err != nil || u.User == nil {
		return db
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// envFloat returns WANGGE_<NAME> as a number, or def when unset or not one.
func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(env(name, ""), 64); err == nil {
		return v
	}
	return def
}
