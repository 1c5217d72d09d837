#!/usr/bin/env bash
# The scale-out load benchmark (issue 12 item 4): 3 schedulers and N workers
# of bin/starflow as separate processes against the local PostgreSQL (a
# database of its own, dropped at the end) and Redis (an empty database,
# flushed at the end), at least 100,000 no-op task instances. Flags go to
# internal/benchscale/cmd/benchscale (--workers, --wide-runs, --chain-runs, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "bench-scale on $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
go run ./internal/benchscale/cmd/benchscale --bin bin/starflow "$@"
