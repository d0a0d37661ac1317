# Switchboard. `make run` starts a dev node; `make test` runs every test,
# including the CQL suite against a real Cassandra and the export tests
# against a real Kafka, both started for the run.

SHELL        := bash
.SHELLFLAGS  := -o pipefail -ec
GO        ?= go
BIN       := bin/switchboard
DATA_DIR  ?= ./data
# Packages whose tests run under the race detector: everything of ours but
# the admin/dashboard packages, which only run multi-node clusters (their
# protoactor-go trips the detector). actors and transport run their
# multi-node tests in the normal pass only. Grains passivate with the
# node's own idle sweeper (actors/idle.go), not protoactor-go's
# receive-timeout timer, whose timer goroutine races with the mailbox.
RACE_PKGS ?= ./storage/... ./cluster/membership/... ./analytics/... ./actors/ ./transport/... ./cmd/... ./export/... ./push/...
# Fuzz targets run for FUZZTIME each by `make test` (longer: make fuzz FUZZTIME=5m).
FUZZTIME  ?= 5s
FUZZ_TARGETS := ./transport:FuzzFrame ./transport:FuzzRequest ./transport:FuzzHello ./transport:FuzzSignal ./transport/web:FuzzWebSocketFrames ./analytics:FuzzRestore ./transport:FuzzNodeRequest ./transport:FuzzNodeOps ./cluster/admin:FuzzAdminAPI
GOTEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: all build run test test-go test-ring race-actors fuzz lint generate bench cassandra cassandra-stop cassandra-cluster cassandra-cluster-stop kafka kafka-stop alerts-test clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

run: build
	$(BIN) serve --dev --data-dir $(DATA_DIR) --web 127.0.0.1:8081 --webtransport 127.0.0.1:4434 --visitor-scenes listing

# test: lint, then all tests (CQL ones against SWITCHBOARD_CQL_HOSTS, or a
# Cassandra and a Kafka started for the run), then the race detector on our
# packages. The ring test (make test-ring) is not part of it: it passes but
# takes ~20 minutes on a loaded 2-core machine (docs/PERFORMANCE.md).
test: lint alerts-test
	bash scripts/with-cassandra.sh bash scripts/with-kafka.sh $(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory fuzz

# alerts-test: the Prometheus alert rules against their unit tests.
alerts-test:
	@command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

race-actors:
	$(GO) test $(GOTEST_FLAGS) -race ./actors/

fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZ_TARGETS)

test-go:
	@echo "== storage conformance (both backends)"
	$(GO) test $(GOTEST_FLAGS) -run 'TestConformance' -v ./storage/... | grep -E '^(\s*--- |ok|FAIL|PASS)'
	@echo "== all tests"
	$(GO) test $(GOTEST_FLAGS) $$($(GO) list ./... | grep -v /cluster/clustertest)
	@echo "== multi-process cluster tests (alone: they load the shared Cassandra)"
	$(GO) test $(GOTEST_FLAGS) -v -skip '^TestRing' ./cluster/clustertest/
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

# cassandra-cluster: a 3-node Cassandra ring on 127.0.0.2-4 in the
# background; prints the SWITCHBOARD_CQL_RING_HOSTS line to export.
cassandra-cluster:
	@bash scripts/cassandra-cluster.sh start

cassandra-cluster-stop:
	@bash scripts/cassandra-cluster.sh stop

# test-ring: the failover test on a 3-node ring at replication factor 3
# (one Cassandra node killed mid-run), on SWITCHBOARD_CQL_RING_HOSTS or a
# ring started for the run and stopped after it.
test-ring:
	@if [ -n "$$SWITCHBOARD_CQL_RING_HOSTS" ]; then \
		$(GO) test $(GOTEST_FLAGS) -v -run '^TestRing' ./cluster/clustertest/; \
	else \
		bash scripts/cassandra-cluster.sh with $(GO) test $(GOTEST_FLAGS) -v -run '^TestRing' ./cluster/clustertest/; \
	fi

# kafka: start a single-node KRaft Kafka in the background and print the
# SWITCHBOARD_KAFKA_BROKERS line to export; kafka-stop stops it.
kafka:
	@bash scripts/kafka.sh start

kafka-stop:
	@bash scripts/kafka.sh stop

clean:
	rm -rf bin
