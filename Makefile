# Switchboard. `make run` starts a dev node; `make test` runs every test,
# including the CQL suite against a real Cassandra it starts itself.

SHELL        := bash
.SHELLFLAGS  := -o pipefail -ec
GO        ?= go
BIN       := bin/switchboard
DATA_DIR  ?= ./data
# Packages whose tests run under the race detector: everything of ours but
# the admin/dashboard packages, which only run multi-node clusters (their
# protoactor-go trips the detector). actors and transport run their
# multi-node tests in the normal pass only.
RACE_PKGS ?= ./storage/... ./cluster/membership/... ./analytics/... ./actors/ ./transport/... ./cmd/...
# Fuzz targets run for FUZZTIME each by `make test` (longer: make fuzz FUZZTIME=5m).
FUZZTIME  ?= 5s
FUZZ_TARGETS := ./transport:FuzzFrame ./transport:FuzzRequest ./transport:FuzzHello ./transport:FuzzSignal ./metrics:FuzzRestore
GOTEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: all build run test test-go fuzz lint generate bench cassandra cassandra-stop clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

run: build
	$(BIN) serve --dev --data-dir $(DATA_DIR) --web 127.0.0.1:8081 --webtransport 127.0.0.1:4434

# test: lint, then all tests (CQL ones against SWITCHBOARD_CQL_HOSTS, or a
# Cassandra started for the run), then the race detector on our packages.
test: lint
	bash scripts/with-cassandra.sh $(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory fuzz

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

test-go:
	@echo "== storage conformance (both backends)"
	$(GO) test $(GOTEST_FLAGS) -run 'TestConformance' -v ./storage/... | grep -E '^(\s*--- |ok|FAIL|PASS)'
	@echo "== all tests"
	$(GO) test $(GOTEST_FLAGS) $$($(GO) list ./... | grep -v /cluster/clustertest)
	@echo "== multi-process cluster tests (alone: they load the shared Cassandra)"
	$(GO) test $(GOTEST_FLAGS) -v ./cluster/clustertest/
	@echo "== race detector"
	$(GO) test $(GOTEST_FLAGS) -race $(RACE_PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# generate: regenerate the committed protobuf code.
generate:
	bash scripts/generate.sh

# bench: a short run of every `switchboard bench` scenario against a fresh
# dev node, reports in bench-results/ (JSON + HTML); BENCH_STORAGE=1 also
# runs the storage benchmarks (both backends; CQL needs a Cassandra).
bench: build
	OUT=bench-results bash bench/make-bench.sh $(BIN)
	@if [ -n "$(BENCH_STORAGE)" ]; then \
		bash scripts/with-cassandra.sh $(GO) test -run '^$$' -bench . -benchtime 2s ./storage/...; \
	fi

# cassandra: start the test database in the background and print the
# SWITCHBOARD_CQL_HOSTS line to export; cassandra-stop stops it.
cassandra:
	@bash scripts/cassandra.sh start

cassandra-stop:
	@bash scripts/cassandra.sh stop

clean:
	rm -rf bin
