#!/usr/bin/env bash
# `make bench`: the benchmark at a million customers (BENCH_SCALE=1.0; smaller for a quick
# look). Sets up what is missing, starts PostgreSQL + Redis, loads the data set into the
# database crm_bench once (bench/generate.py), then measures (bench/run.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
source scripts/services.sh
trap services_stop EXIT
# PostgreSQL sized like a production server on this machine, when this run starts it (a server
# already running is measured as it is; run.py prints its settings and keeps them with the
# results): a quarter of the memory as shared buffers, at most 1 GB (6 GB measured slower
# pages here: every new connection maps the buffers it touches afresh, and the web workers'
# connections are renewed each minute), and room between checkpoints for bulk writes. Set
# CRM_PG_OPTIONS to measure other settings.
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
# (in a container, its memory limit when lower)
limit_mb=$(awk '$1 != "max" {print int($1 / 1048576)}' /sys/fs/cgroup/memory.max 2>/dev/null || true)
if [ -n "$limit_mb" ] && [ "$limit_mb" -gt 0 ] && [ "$limit_mb" -lt "$mem_mb" ]; then mem_mb=$limit_mb; fi
buffers_mb=$(( mem_mb / 4 > 1024 ? 1024 : mem_mb / 4 ))
export CRM_PG_OPTIONS="${CRM_PG_OPTIONS:--c shared_buffers=${buffers_mb}MB -c max_wal_size=4GB}"
services_start
.venv/bin/python -m bench.run "$@"
