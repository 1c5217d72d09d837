#!/usr/bin/env bash
# Runs the benchmarks behind docs/performance.md and prints them as a table:
# one row per benchmark with its time per operation and its own metrics.
set -euo pipefail
cd "$(dirname "$0")/.."

benchtime="${BENCHTIME:-1x}"
pkgs="${BENCH_PKGS:-./...}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "Starflow benchmarks on $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%Y-%m-%d)" >&2
go test -run '^$' -bench "${BENCH:-.}" -benchtime "$benchtime" -timeout "${BENCH_TIMEOUT:-30m}" -benchmem $pkgs | tee "$out" >&2 || true

echo
awk '
/^pkg:/ { pkg = $2; sub(".*/starflow/", "", pkg) }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	row = sprintf("%-22s %-46s", pkg, name)
	for (i = 3; i < NF; i += 2) {
		v = $i; u = $(i + 1)
		if (u == "ns/op") {
			if (v >= 1e9) { v = sprintf("%.2f s", v / 1e9) } else if (v >= 1e6) { v = sprintf("%.2f ms", v / 1e6) } else if (v >= 1e3) { v = sprintf("%.2f µs", v / 1e3) } else { v = v " ns" }
			row = row sprintf("  %12s/op", v)
		} else if (u == "B/op" || u == "allocs/op") {
			continue
		} else {
			row = row sprintf("  %s %s", v, u)
		}
	}
	print row
}' "$out"
