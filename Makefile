# wangge: `make run` serves the demo on :8080, `make test` runs every test.
GO      ?= go
BIN     := bin/wangge
DB      ?= wangge.gpkg
ADDR    ?= :8080

.PHONY: run build test deps lint fmt bench clean tilesjs

run: deps build
	./$(BIN) serve --demo --db $(DB) --addr $(ADDR)

build:
	$(GO) build -o $(BIN) ./cmd/wangge

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
test: deps lint tilesjs
	scripts/testdb.sh $(GO) test -race -count=1 -timeout 20m ./...

# tilesjs installs the npm packages of the tile client test (test/tiles:
# @mapbox/vector-tile, pbf, @mapbox/mvt-fixtures) from its lock file.
tilesjs:
	@[ -d test/tiles/node_modules/@mapbox/vector-tile ] || npm ci --prefix test/tiles --no-audit --no-fund

fmt:
	gofmt -w .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
