# Starflow: the two commands a fresh machine needs are `make run` and `make test`.
GO        ?= go
BIN       := bin/starflow
PKGS      := ./...
FUZZTIME  ?= 100000x

.PHONY: all build run test check services fuzz bench bench-ui bench-scale clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/starflow

## run: build Starflow and run it standalone on the examples: DAG processor, scheduler and
## workers in one process, state in starflow.db. Ctrl-C stops it cleanly. The first start
## writes starflow.yaml (DAG folder, database, ...): every starflow command run here uses it,
## and later runs read it (edit it to serve another DAG folder).
run: build
	@if [ -f starflow.yaml ] || [ -n "$$STARFLOW_CONFIG" ]; then ./$(BIN) standalone; \
	else ./$(BIN) standalone --dags examples; fi

## test: everything CI runs: formatting, vet, the services, the race-enabled tests, a short fuzz run.
test: check services
	$(GO) test -race -count=1 -timeout 40m $(PKGS)
	$(MAKE) fuzz

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^vendor/')); \
	if [ -n "$$out" ]; then echo "gofmt needs to run on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

services:
	@./scripts/services.sh

## fuzz: a short run of each fuzz target beyond its seed corpus. A count of inputs, not a
## duration: a duration ends while a worker is mid-input and Go reports "context deadline
## exceeded" as a failure.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./starlark/loader
	$(GO) test -run '^$$' -fuzz '^FuzzParseSchedule$$' -fuzztime $(FUZZTIME) ./dags

## bench: the benchmarks behind docs/performance.md, printed as a table.
bench: build
	./scripts/bench.sh

## bench-ui: the server time of every web UI page against 1,000 DAGs and 10,000 runs, on
## SQLite and PostgreSQL (BenchmarkPages in web/ui; part of `make bench` too, once per page).
bench-ui:
	BENCH=BenchmarkPages BENCH_PKGS=./web/ui BENCHTIME=$${BENCHTIME:-10x} ./scripts/bench.sh

## bench-scale: the scale-out load benchmark: 3 schedulers and 2 workers (processes) against
## the local PostgreSQL and Redis, 100,000 no-op task instances; TI/s, hops, commits/TI and
## CPU by process group (docs/performance.md). Not part of `make test`. Flags: BENCH_SCALE_FLAGS.
bench-scale: build
	./scripts/bench-scale.sh $(BENCH_SCALE_FLAGS)

clean:
	rm -rf bin
