# wangge: `make run` serves the demo on :8080, `make test` runs every test.
GO      ?= go
BIN     := bin/wangge
DB      ?= wangge.gpkg
ADDR    ?= 127.0.0.1:8080

.PHONY: run build test deps lint fmt bench bench-smoke clean tilesjs validators web browsertest fuzz

# The demo answers requests without a key as a planner, on loopback only:
# a real deployment creates keys (wangge keys create) and leaves anonymous
# access off, or opens reads alone with --public-read.
run: deps build
	./$(BIN) serve --demo --anonymous planner --db $(DB) --addr $(ADDR)

build:
	@$(MAKE) --no-print-directory web || echo "build: map page not built (needs npm: scripts/deps.sh); the binary serves the fallback page" >&2
	$(GO) build -o $(BIN) ./cmd/wangge

# web builds the map page (web/: MapLibre, esbuild) into api/page/dist, which
# go:embed puts in the binary. dist is not committed: without it the binary
# serves api/page/index.html, a small fallback. See docs/DESIGN.md, "Map page".
WEB_SRC := web/index.html web/build.mjs $(wildcard web/src/*) $(wildcard web/src/i18n/*) cmd/glyphs/main.go

web: api/page/dist/index.html

api/page/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build --silent

web/node_modules/.package-lock.json: web/package-lock.json
	npm ci --prefix web --no-audit --no-fund

# browsertest runs the page's unit tests (web/test), then starts the binary
# on the demo data and drives Debian's
# Chromium through the map page (test/browser/map.test.mjs, basemap.test.mjs,
# planner.test.mjs),
# and through the static site of `wangge export --format site` served by a
# plain file server with no wangge (static.test.mjs); screenshots go to
# test/output. Under CI a missing browser is a failure, not a skip.
browsertest: web build test/browser/node_modules/.package-lock.json
	node --test web/test/
	WANGGE_BIN=$(CURDIR)/$(BIN) node --test --test-reporter=spec test/browser/map.test.mjs
	WANGGE_BIN=$(CURDIR)/$(BIN) node --test --test-reporter=spec test/browser/basemap.test.mjs
	WANGGE_BIN=$(CURDIR)/$(BIN) node --test --test-reporter=spec test/browser/planner.test.mjs
	WANGGE_BIN=$(CURDIR)/$(BIN) node --test --test-reporter=spec test/browser/static.test.mjs

test/browser/node_modules/.package-lock.json: test/browser/package-lock.json
	npm ci --prefix test/browser --no-audit --no-fund

# deps installs the Debian packages the tests need, only when missing.
deps:
	@scripts/deps.sh

# staticcheck is pinned and fetched through the module proxy, not go.mod.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# scripts/testdb.sh starts PostgreSQL when needed and sets WANGGE_TEST_PG to
# a fresh database with PostGIS for this run, dropped afterwards.
test: deps web lint tilesjs validators fuzz
	scripts/testdb.sh $(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run 'AllocatesNothing' ./api/
	@$(MAKE) --no-print-directory browsertest

# tilesjs installs the npm packages of the tile client tests (test/tiles:
# @mapbox/vector-tile, pbf, @mapbox/mvt-fixtures, and pmtiles, the reader of
# the tile archive test) from its lock file.
tilesjs:
	@[ -d test/tiles/node_modules/@mapbox/vector-tile ] && [ -d test/tiles/node_modules/pmtiles ] || npm ci --prefix test/tiles --no-audit --no-fund

# validators installs, from their lock file, the validators that
# TestOpenAPIValidators (api/openapi_test.go) runs on the real server's
# /api and /style.json: @apidevtools/swagger-parser,
# @seriousme/openapi-schema-validator and @maplibre/maplibre-gl-style-spec
# (test/validators/validate.mjs).
validators: test/validators/node_modules/.package-lock.json

test/validators/node_modules/.package-lock.json: test/validators/package-lock.json
	npm ci --prefix test/validators --no-audit --no-fund

# fuzz runs every fuzz target (func Fuzz… in a _test.go file) for
# $(FUZZTIME): its seeds, then new inputs. A failing input is written to
# the package's testdata/fuzz/<Name>/; fix the bug and check the file in.
# Go 1.26's fuzz coordinator can fail a run at the -fuzztime boundary with
# a bare "context deadline exceeded" and no input (go.dev/issue/75804): such
# a run, and only such a run, is tried once more.
FUZZTIME ?= 3s

fuzz:
	@for f in $$(grep -rl --include='*_test.go' --exclude-dir=node_modules '^func Fuzz' .); do \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "fuzz $$(dirname $$f) $$name ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f) >/tmp/wangge-fuzz.$$$$.log 2>&1 || \
			{ grep -q 'context deadline exceeded' /tmp/wangge-fuzz.$$$$.log && ! grep -q 'Failing input written' /tmp/wangge-fuzz.$$$$.log && \
				echo "fuzz $$name: the engine's own deadline race (go.dev/issue/75804, fixed in Go 1.27), no input found; once more" && \
				$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f) >/tmp/wangge-fuzz.$$$$.log 2>&1; } || \
				{ tail -40 /tmp/wangge-fuzz.$$$$.log; rm -f /tmp/wangge-fuzz.$$$$.log; exit 1; }; \
		done; \
	done; rm -f /tmp/wangge-fuzz.$$$$.log

fmt:
	gofmt -w .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-smoke runs every benchmark script under bench/ for a few seconds
# with tiny parameters (bench/smoke.sh) and fails if one breaks; peers that
# no package provides (pg_tileserv) are skipped with a line saying so. It
# takes 5–8 minutes on 2 shared cores, too long to sit inside `make test`:
# .ci/run runs it after `make test`. scripts/testdb.sh starts PostgreSQL
# when it is down.
bench-smoke: deps
	scripts/testdb.sh bench/smoke.sh

clean:
	rm -rf bin
